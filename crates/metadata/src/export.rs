//! Export: read a live cluster into a [`Document`]. Only reads; never writes to the source.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::Utc;
use ferry_admin::{Admin, AdminError, Cluster, PlainAclConfig};
use ferry_remoting::body::{BrokerStatsData, SubscriptionGroupConfig, TopicConfig};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Map, Value};

use crate::document::*;
use crate::error::MetadataError;
use crate::system;

#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Keep system topics, retry/DLQ topics and system groups.
    pub include_system: bool,
    /// Write ACL secret keys and passwords. Off unless asked for.
    pub include_secrets: bool,
    /// A broker host's `plain_acl.yml`: 4.9.x cannot list ACL accounts over the wire.
    pub plain_acl_file: Option<PathBuf>,
    /// Brokers read at once.
    pub concurrency: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { include_system: false, include_secrets: false, plain_acl_file: None, concurrency: 8 }
    }
}

/// Progress of an export, for a progress bar.
#[derive(Clone, Debug)]
pub enum ExportStep {
    /// The number of brokers to read.
    Brokers(usize),
    /// One broker read.
    BrokerRead(String),
}

/// What one master holds, read in one go.
struct BrokerSnapshot {
    name: String,
    addr: String,
    topics: BTreeMap<String, TopicConfig>,
    groups: BTreeMap<String, SubscriptionGroupConfig>,
    config: BTreeMap<String, String>,
    /// Err: why the runtime figures could not be read (the export goes on without them).
    runtime: Result<BTreeMap<String, String>, String>,
    system_topics: BTreeSet<String>,
    trans_stats: Option<BrokerStatsData>,
    schedule_stats: Option<BrokerStatsData>,
    /// What could not be read from this broker, in words.
    warnings: Vec<String>,
}

async fn read_broker(admin: &Admin, name: &str, addr: &str) -> Result<BrokerSnapshot, AdminError> {
    // Topics first: on an ACL cluster this is where wrong credentials show.
    let topics = admin.topic_configs(addr).await?;
    let (groups, config, system_topics) = tokio::try_join!(
        admin.subscription_groups(addr),
        admin.broker_config(addr),
        admin.system_topics_of_broker(addr),
    )?;
    let runtime = runtime_info(admin, addr).await;
    let (trans, schedule) = tokio::join!(
        admin.broker_stats(addr, "TOPIC_PUT_NUMS", "RMQ_SYS_TRANS_HALF_TOPIC"),
        admin.broker_stats(addr, "TOPIC_PUT_NUMS", "SCHEDULE_TOPIC_XXXX"),
    );
    let mut warnings = Vec::new();
    if let Err(e) = &runtime {
        warnings.push(format!("runtime figures of broker {name} not read: {e}"));
    }
    let mut collected = |what: &str, r: Result<BrokerStatsData, AdminError>| match r {
        Ok(stats) => Some(stats),
        // As `mqadmin exportMetrics`: a statistic the broker has not collected is simply absent.
        Err(AdminError::Refused { .. }) => None,
        Err(e) => {
            warnings.push(format!("{what} of broker {name} not read: {e}"));
            None
        }
    };
    let trans_stats = collected("transaction statistics", trans);
    let schedule_stats = collected("delay message statistics", schedule);
    Ok(BrokerSnapshot {
        name: name.to_string(),
        addr: addr.to_string(),
        topics,
        groups,
        config,
        runtime,
        system_topics: system_topics.into_iter().collect(),
        trans_stats,
        schedule_stats,
        warnings,
    })
}

/// A broker answers GET_BROKER_RUNTIME_INFO with SYSTEM_ERROR for its first seconds, until its TPS
/// sampling has a first value (`NoSuchElementException` from `StoreStatsService`): retry briefly.
async fn runtime_info(admin: &Admin, addr: &str) -> Result<BTreeMap<String, String>, String> {
    let mut attempt = 0;
    loop {
        match admin.broker_runtime_info(addr).await {
            Ok(table) => return Ok(table),
            Err(AdminError::Refused { .. }) if attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TopicKind {
    User,
    System,
    RetryOrDlq,
}

/// What a topic is, by RocketMQ's rules and the broker's own list of its system topics.
fn topic_kind(s: &BrokerSnapshot, name: &str, cluster: &Cluster, broker_names: &[String]) -> TopicKind {
    if system::is_retry_or_dlq_topic(name) {
        TopicKind::RetryOrDlq
    } else if s.system_topics.contains(name) || system::is_system_topic(name, &cluster.name, broker_names) {
        TopicKind::System
    } else {
        TopicKind::User
    }
}

/// Reads `cluster_name` through `admin` into a document.
pub async fn export_cluster(
    admin: &Admin,
    cluster_name: &str,
    options: &ExportOptions,
    progress: &(dyn Fn(ExportStep) + Sync),
) -> Result<Document, MetadataError> {
    let cluster = admin.cluster(cluster_name).await?;
    let masters: Vec<(String, String)> =
        cluster.masters().map(|(n, a)| (n.to_string(), a.to_string())).collect();
    if masters.is_empty() {
        let namesrv = admin.namesrvs().join(";");
        return Err(MetadataError::NoMaster { namesrv, cluster: cluster_name.to_string() });
    }
    progress(ExportStep::Brokers(masters.len()));
    // Owned items: a closure over `&(String, String)` would make the future impossible to prove
    // `Send` (rustc #102211), and servers run exports on multi-threaded runtimes.
    let mut snapshots: Vec<BrokerSnapshot> = stream::iter(masters.clone())
        .map(|(name, addr)| async move {
            let s = read_broker(admin, &name, &addr).await?;
            progress(ExportStep::BrokerRead(name));
            Ok::<_, AdminError>(s)
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await?;
    snapshots.sort_by(|a, b| a.name.cmp(&b.name));

    let mut warnings: Vec<String> = snapshots.iter().flat_map(|s| s.warnings.iter().cloned()).collect();
    // On 4.x a topic is ordered when the NameServer says so; brokers only learn it at registration.
    let ordered: BTreeSet<String> = match admin.order_topic_conf().await {
        Ok(conf) => conf.into_keys().collect(),
        Err(e) => {
            warnings.push(format!("the NameServer's ordered topics (ORDER_TOPIC_CONFIG) not read: {e}"));
            BTreeSet::new()
        }
    };
    let acl = read_acl(admin, &snapshots, options, &mut warnings).await?;
    Ok(assemble(admin.namesrvs(), &cluster, &snapshots, &ordered, acl, options, warnings))
}

fn assemble(
    namesrvs: &[String],
    cluster: &Cluster,
    snapshots: &[BrokerSnapshot],
    ordered: &BTreeSet<String>,
    acl: Option<AclExport>,
    options: &ExportOptions,
    warnings: Vec<String>,
) -> Document {
    let broker_names: Vec<String> = cluster.brokers.iter().map(|b| b.name.clone()).collect();
    let mut skipped_system = BTreeSet::new();
    let mut skipped_retry = BTreeSet::new();
    let mut skipped_groups = BTreeSet::new();
    let mut topics: BTreeMap<String, TopicEntry> = BTreeMap::new();
    let mut groups: BTreeMap<String, GroupEntry> = BTreeMap::new();

    for s in snapshots {
        for (name, t) in &s.topics {
            if !options.include_system {
                match topic_kind(s, name, cluster, &broker_names) {
                    TopicKind::User => {}
                    TopicKind::RetryOrDlq => {
                        skipped_retry.insert(name.clone());
                        continue;
                    }
                    TopicKind::System => {
                        skipped_system.insert(name.clone());
                        continue;
                    }
                }
            }
            let entry = topics.entry(name.clone()).or_insert_with(|| TopicEntry {
                name: name.clone(),
                namespace: system::namespace_of(name).map(str::to_string),
                perm: t.perm,
                order: t.order || ordered.contains(name),
                topic_sys_flag: t.topic_sys_flag,
                topic_filter_type: t.topic_filter_type.clone(),
                // Brokers store attribute keys without the `+` of the create request
                // (`AttributeUtil.alterCurrentAttributes`); accept both.
                message_type: t
                    .attributes
                    .get("message.type")
                    .or_else(|| t.attributes.get("+message.type"))
                    .cloned(),
                attributes: t.attributes.clone(),
                ..Default::default()
            });
            entry.read_queue_nums += t.read_queue_nums;
            entry.write_queue_nums += t.write_queue_nums;
            entry.brokers.push(TopicOnBroker {
                broker: s.name.clone(),
                read_queue_nums: t.read_queue_nums,
                write_queue_nums: t.write_queue_nums,
                perm: t.perm,
            });
        }
        for (name, g) in &s.groups {
            if !options.include_system && system::is_system_group(name) {
                skipped_groups.insert(name.clone());
                continue;
            }
            let entry = groups.entry(name.clone()).or_insert_with(|| GroupEntry {
                name: name.clone(),
                namespace: system::namespace_of(name).map(str::to_string),
                brokers: Vec::new(),
                config: g.clone(),
            });
            entry.brokers.push(s.name.clone());
        }
    }

    let namespaces: BTreeSet<String> = topics
        .values()
        .filter_map(|t| t.namespace.clone())
        .chain(groups.values().filter_map(|g| g.namespace.clone()))
        .collect();
    let now = Utc::now();
    let version = snapshots.iter().filter_map(|s| runtime_of(s).get("brokerVersionDesc").cloned()).min();

    Document {
        configs: apache_configs(namesrvs, cluster, snapshots),
        metadata: apache_metadata(snapshots, &topics, &groups, now.timestamp_millis()),
        metrics: apache_metrics(snapshots, cluster, &broker_names),
        ferry: Some(FerryDetail {
            format_version: FORMAT_VERSION,
            exported_by: format!("ferry {}", env!("CARGO_PKG_VERSION")),
            export_time: now,
            source: SourceCluster {
                namesrv_addr: namesrvs.join(";"),
                cluster: cluster.name.clone(),
                version,
                brokers: cluster
                    .brokers
                    .iter()
                    .map(|b| BrokerEntry {
                        name: b.name.clone(),
                        master: b.master.clone(),
                        slaves: b.slaves.clone(),
                        version: snapshots
                            .iter()
                            .find(|s| s.name == b.name)
                            .and_then(|s| runtime_of(s).get("brokerVersionDesc").cloned()),
                    })
                    .collect(),
            },
            topics: topics.into_values().collect(),
            groups: groups.into_values().collect(),
            acl,
            namespaces: namespaces.into_iter().collect(),
            skipped: Skipped {
                system_topics: skipped_system.len(),
                retry_and_dlq_topics: skipped_retry.len(),
                system_groups: skipped_groups.len(),
            },
            warnings,
        }),
    }
}

/// `exportMetadata`: the exported topics and groups with queue numbers (and `retryQueueNums`)
/// summed over the masters, exactly as Apache writes them.
fn apache_metadata(
    snapshots: &[BrokerSnapshot],
    topics: &BTreeMap<String, TopicEntry>,
    groups: &BTreeMap<String, GroupEntry>,
    export_time: i64,
) -> ApacheMetadata {
    let mut topic_config_table = BTreeMap::new();
    for (name, t) in topics {
        let first = snapshots.iter().find_map(|s| s.topics.get(name)).cloned().unwrap_or_default();
        topic_config_table.insert(
            name.clone(),
            TopicConfig {
                read_queue_nums: t.read_queue_nums,
                write_queue_nums: t.write_queue_nums,
                order: t.order,
                ..first
            },
        );
    }
    let mut subscription_group_table = BTreeMap::new();
    for (name, g) in groups {
        let retry_queue_nums =
            snapshots.iter().filter_map(|s| s.groups.get(name)).map(|c| c.retry_queue_nums).sum();
        subscription_group_table
            .insert(name.clone(), SubscriptionGroupConfig { retry_queue_nums, ..g.config.clone() });
    }
    ApacheMetadata { topic_config_table, subscription_group_table, export_time: Some(export_time) }
}

/// The broker properties `mqadmin exportConfigs` keeps.
const EXPORTED_BROKER_CONFIG_KEYS: &[&str] = &[
    "brokerClusterName",
    "brokerId",
    "brokerName",
    "brokerRole",
    "fileReservedTime",
    "filterServerNums",
    "flushDiskType",
    "maxMessageSize",
    "messageDelayLevel",
    "msgTraceTopicName",
    "slaveReadEnable",
    "traceOn",
    "traceTopicEnable",
    "useTLS",
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
];

fn apache_configs(namesrvs: &[String], cluster: &Cluster, snapshots: &[BrokerSnapshot]) -> Value {
    let mut broker_configs = Map::new();
    for s in snapshots {
        let kept: Map<String, Value> = EXPORTED_BROKER_CONFIG_KEYS
            .iter()
            .filter_map(|k| s.config.get(*k).map(|v| (k.to_string(), Value::String(v.clone()))))
            .collect();
        broker_configs.insert(s.name.clone(), Value::Object(kept));
    }
    json!({
        "brokerConfigs": broker_configs,
        "clusterScale": {
            "namesrvSize": namesrvs.len(),
            "masterBrokerSize": cluster.masters().count(),
            "slaveBrokerSize": cluster.brokers.iter().map(|b| b.slaves.len()).sum::<usize>(),
        }
    })
}

/// `exportMetrics`: per-broker sizing figures and their totals.
fn apache_metrics(snapshots: &[BrokerSnapshot], cluster: &Cluster, broker_names: &[String]) -> Value {
    let num =
        |m: &BTreeMap<String, String>, k: &str| m.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let first_tps = |m: &BTreeMap<String, String>, k: &str| {
        m.get(k).and_then(|v| v.split(' ').next()).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
    };
    let mut report = Map::new();
    let (mut t_in, mut t_out, mut t_trans, mut t_sched) = (0.0, 0.0, 0.0, 0.0);
    let (mut d_in, mut d_out, mut d_trans, mut d_sched) = (0i64, 0i64, 0i64, 0i64);
    for s in snapshots {
        let r = runtime_of(s);
        let normal_in = first_tps(r, "putTps");
        let normal_out = first_tps(r, "getTransferredTps").max(first_tps(r, "getTransferedTps"));
        let trans_in = s.trans_stats.as_ref().map(|b| b.stats_minute.tps).unwrap_or(0.0);
        let sched_in = s.schedule_stats.as_ref().map(|b| b.stats_minute.tps).unwrap_or(0.0);
        let day_in = num(r, "msgPutTotalTodayMorning") - num(r, "msgPutTotalYesterdayMorning");
        let day_out = num(r, "msgGetTotalTodayMorning") - num(r, "msgGetTotalYesterdayMorning");
        let day_trans = s.trans_stats.as_ref().map(BrokerStatsData::sum_24h).unwrap_or(0);
        let day_sched = s.schedule_stats.as_ref().map(BrokerStatsData::sum_24h).unwrap_or(0);
        (t_in, t_out, t_trans, t_sched) =
            (t_in + normal_in, t_out + normal_out, t_trans + trans_in, t_sched + sched_in);
        (d_in, d_out, d_trans, d_sched) =
            (d_in + day_in, d_out + day_out, d_trans + day_trans, d_sched + day_sched);
        report.insert(
            s.name.clone(),
            json!({
                "runtimeEnv": {
                    "cpuNum": s.config.get("clientCallbackExecutorThreads"),
                    "totalMemKBytes": r.get("totalMemKBytes"),
                },
                "runtimeQuota": {
                    "diskRatio": {
                        "commitLogDiskRatio": r.get("commitLogDiskRatio"),
                        "consumeQueueDiskRatio": r.get("consumeQueueDiskRatio"),
                    },
                    "tps": {
                        "normalInTps": normal_in, "normalOutTps": normal_out,
                        "transInTps": trans_in, "scheduleInTps": sched_in,
                    },
                    "oneDayNum": {
                        "normalOneDayInNum": day_in, "normalOneDayOutNum": day_out,
                        "transOneDayInNum": day_trans, "scheduleOneDayInNum": day_sched,
                    },
                    "messageAverageSize": r.get("putMessageAverageSize"),
                    // As `getUserTopicConfig` / `getUserSubscriptionGroup` count them.
                    "topicSize": s.topics.keys().filter(|t| topic_kind(s, t, cluster, broker_names) == TopicKind::User).count(),
                    "groupSize": s.groups.keys().filter(|g| !system::is_system_group(g)).count(),
                },
                "runtimeVersion": {
                    "rocketmqVersion": r.get("brokerVersionDesc"),
                },
                "brokerAddr": s.addr,
            }),
        );
    }
    json!({
        "evaluateReport": report,
        "totalData": {
            "totalTps": {
                "totalNormalInTps": t_in, "totalNormalOutTps": t_out,
                "totalTransInTps": t_trans, "totalScheduleInTps": t_sched,
            },
            "totalOneDayNum": {
                "normalOneDayInNum": d_in, "normalOneDayOutNum": d_out,
                "transOneDayInNum": d_trans, "scheduleOneDayInNum": d_sched,
            },
        },
    })
}

/// `MQVersion.Version` ordinals: ACL 1.0 is served over the wire from 5.0 until 5.3.3 dropped it;
/// ACL 2.0 users and policies exist from 5.3.0.
const V5_0_0: i32 = 413;
const V5_3_0: i32 = 473;
const V5_3_3: i32 = 479;

async fn read_acl(
    admin: &Admin,
    snapshots: &[BrokerSnapshot],
    options: &ExportOptions,
    warnings: &mut Vec<String>,
) -> Result<Option<AclExport>, MetadataError> {
    if let Some(path) = &options.plain_acl_file {
        let config = PlainAclConfig::read(path)?;
        return Ok(Some(plain_export(config, path.display().to_string(), options.include_secrets)));
    }
    let Some(first) = snapshots.first() else {
        return Ok(None);
    };
    // Unknown when the runtime figures could not be read: then try what the config says is on.
    let version = runtime_of(first).get("brokerVersion").and_then(|v| v.parse::<i32>().ok());
    let flag = |k: &str| first.config.get(k).is_some_and(|v| v == "true");
    let acl1_on = flag("aclEnable");
    let acl2_on = flag("authenticationEnabled") || flag("authorizationEnabled");
    if acl2_on && version.is_none_or(|v| v >= V5_3_0) {
        match tokio::try_join!(admin.acl_users(&first.addr), admin.acl_policies(&first.addr)) {
            Ok((users, policies)) if users.is_empty() && policies.is_empty() => return Ok(None),
            Ok((mut users, policies)) => {
                if !options.include_secrets {
                    users.iter_mut().for_each(|u| u.password = None);
                }
                return Ok(Some(AclExport {
                    kind: "acl2".into(),
                    origin: first.addr.clone(),
                    secrets_included: options.include_secrets,
                    users,
                    policies,
                    ..Default::default()
                }));
            }
            Err(e @ AdminError::AuthenticationFailed { .. }) => return Err(e.into()),
            Err(AdminError::Unsupported { .. }) => {}
            Err(e) => warnings.push(format!(
                "ACL users and policies not read from {} ({e}); is authentication enabled with a metadata provider?",
                first.addr
            )),
        }
    }
    if !acl1_on {
        return Ok(None);
    }
    if version.is_some_and(|v| (V5_0_0..V5_3_3).contains(&v)) {
        match admin.plain_acl_config(&first.addr).await {
            Ok(config) => {
                return Ok(Some(plain_export(config, first.addr.clone(), options.include_secrets)));
            }
            Err(e @ AdminError::AuthenticationFailed { .. }) => return Err(e.into()),
            Err(e) => warnings.push(format!("ACL 1.0 accounts not read from {}: {e}", first.addr)),
        }
    } else {
        warnings.push(format!(
            "broker {} has aclEnable=true, but 4.x brokers do not list ACL accounts over the wire: \
             pass the broker host's conf/plain_acl.yml with --plain-acl-file",
            first.name
        ));
    }
    Ok(None)
}

/// ACL 1.0 accounts as the document keeps them: secret keys only when asked for.
fn plain_export(config: PlainAclConfig, origin: String, include_secrets: bool) -> AclExport {
    AclExport {
        kind: "plain".into(),
        origin,
        secrets_included: include_secrets,
        global_white_remote_addresses: config.global_white_remote_addresses,
        accounts: config
            .accounts
            .into_iter()
            .map(|a| AclAccount {
                access_key: a.access_key,
                secret_key: include_secrets.then_some(a.secret_key),
                white_remote_address: a.white_remote_address,
                admin: a.admin,
                default_topic_perm: a.default_topic_perm,
                default_group_perm: a.default_group_perm,
                topic_perms: a.topic_perms,
                group_perms: a.group_perms,
            })
            .collect(),
        ..Default::default()
    }
}

fn runtime_of(s: &BrokerSnapshot) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    s.runtime.as_ref().unwrap_or(&EMPTY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_admin::Broker;

    fn snapshot(name: &str, topics: &[(&str, i32, i32)], groups: &[(&str, i32)]) -> BrokerSnapshot {
        BrokerSnapshot {
            name: name.into(),
            addr: format!("{name}:10911"),
            topics: topics
                .iter()
                .map(|(t, r, w)| {
                    let c = TopicConfig {
                        topic_name: t.to_string(),
                        read_queue_nums: *r,
                        write_queue_nums: *w,
                        ..TopicConfig::default()
                    };
                    (t.to_string(), c)
                })
                .collect(),
            groups: groups
                .iter()
                .map(|(g, retry)| {
                    let c = SubscriptionGroupConfig {
                        group_name: g.to_string(),
                        retry_queue_nums: *retry,
                        ..SubscriptionGroupConfig::default()
                    };
                    (g.to_string(), c)
                })
                .collect(),
            config: [("brokerName".to_string(), name.to_string())].into(),
            runtime: Ok([("brokerVersionDesc".to_string(), "V4_9_8".to_string())].into()),
            system_topics: ["C".to_string()].into(),
            trans_stats: None,
            schedule_stats: None,
            warnings: vec![],
        }
    }

    #[test]
    fn two_masters_are_summed_for_apache_and_kept_apart_for_ferry() {
        let cluster = Cluster {
            name: "C".into(),
            brokers: ["broker-a", "broker-b"]
                .iter()
                .map(|b| Broker {
                    name: b.to_string(),
                    cluster: "C".into(),
                    master: Some(format!("{b}:10911")),
                    slaves: [(1, format!("{b}-s:10911"))].into(),
                })
                .collect(),
        };
        let snapshots = vec![
            snapshot(
                "broker-a",
                &[("orders", 8, 8), ("TBW102", 8, 8), ("%RETRY%g", 1, 1), ("C", 1, 1)],
                &[("g", 1)],
            ),
            snapshot("broker-b", &[("orders", 4, 2), ("only-b", 3, 3)], &[("g", 1), ("TOOLS_CONSUMER", 1)]),
        ];
        let mut snapshots = snapshots;
        snapshots[1]
            .topics
            .get_mut("only-b")
            .unwrap()
            .attributes
            .insert("message.type".into(), "FIFO".into());
        let ordered: BTreeSet<String> = ["only-b".to_string()].into();
        let options = ExportOptions::default();
        let doc = assemble(&["ns:9876".into()], &cluster, &snapshots, &ordered, None, &options, vec![]);

        let apache = &doc.metadata;
        assert_eq!(apache.topic_config_table["orders"].read_queue_nums, 12);
        assert_eq!(apache.topic_config_table["orders"].write_queue_nums, 10);
        assert_eq!(apache.subscription_group_table["g"].retry_queue_nums, 2, "inflated as Apache does");

        let ferry = doc.ferry.unwrap();
        let orders = ferry.topics.iter().find(|t| t.name == "orders").unwrap();
        assert_eq!(orders.brokers.len(), 2);
        assert_eq!((orders.brokers[1].broker.as_str(), orders.brokers[1].write_queue_nums), ("broker-b", 2));
        assert_eq!(ferry.groups[0].brokers, vec!["broker-a", "broker-b"]);
        assert_eq!(ferry.groups[0].config.retry_queue_nums, 1, "Ferry keeps the per-broker value");
        assert_eq!(ferry.skipped, Skipped { system_topics: 2, retry_and_dlq_topics: 1, system_groups: 1 });
        assert_eq!(ferry.topics.len(), 2);
        let only_b = ferry.topics.iter().find(|t| t.name == "only-b").unwrap();
        assert_eq!(only_b.message_type.as_deref(), Some("FIFO"));
        assert!(only_b.order, "ordered by the NameServer's ORDER_TOPIC_CONFIG");
        assert!(doc.metadata.topic_config_table["only-b"].order);
        assert!(!doc.metadata.topic_config_table["orders"].order);

        assert_eq!(doc.configs["clusterScale"]["masterBrokerSize"], 2);
        assert_eq!(doc.configs["clusterScale"]["slaveBrokerSize"], 2);
        assert_eq!(doc.metrics["evaluateReport"]["broker-a"]["runtimeQuota"]["topicSize"], 1);
        assert_eq!(doc.metrics["evaluateReport"]["broker-b"]["runtimeQuota"]["groupSize"], 1);
    }
}
