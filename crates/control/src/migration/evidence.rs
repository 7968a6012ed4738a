//! Gathering what the health checks look at: both clusters through their admin APIs, and Ferry's
//! own proxy (who came through it, who has which route).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferry_admin::{Admin, AdminError, Cluster};
use ferry_proxy::Proxy;
use ferry_remoting::ResponseCode;

use crate::migration::checks::Evidence;
use crate::migration::model::MigrationTopic;

/// The two clusters of a migration, connected.
pub struct Clusters {
    pub source: Admin,
    pub target: Admin,
    pub source_cluster: String,
    pub target_cluster: String,
}

impl Clusters {
    pub async fn source_layout(&self) -> Result<Cluster, AdminError> {
        self.source.cluster(&self.source_cluster).await
    }

    pub async fn target_layout(&self) -> Result<Cluster, AdminError> {
        self.target.cluster(&self.target_cluster).await
    }
}

/// A topic's queues on one side: readable ones as `broker:queue`, and write queues per broker.
struct SideQueues {
    read: BTreeSet<String>,
    writes: Vec<(String, i32)>,
}

/// The topic's queues on a side; `None` when it does not exist there.
async fn queues(admin: &Admin, topic: &str) -> Result<Option<SideQueues>, AdminError> {
    match admin.topic_route(topic).await {
        Ok(route) => Ok(Some(SideQueues {
            read: route
                .queue_datas
                .iter()
                .flat_map(|q| (0..q.read_queue_nums).map(move |i| format!("{}:{i}", q.broker_name)))
                .collect(),
            writes: route.queue_datas.iter().map(|q| (q.broker_name.clone(), q.write_queue_nums)).collect(),
        })),
        Err(AdminError::Refused { code, .. }) if code == ResponseCode::TOPIC_NOT_EXIST => Ok(None),
        Err(e) => Err(e),
    }
}

/// Client ids of `group`'s consumers on every master of `cluster`.
pub(crate) async fn consumers(
    admin: &Admin,
    cluster: &Cluster,
    group: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let mut ids = BTreeSet::new();
    for (_, master) in cluster.masters() {
        ids.extend(
            admin.consumer_connections(master, group).await?.connection_set.into_iter().map(|c| c.client_id),
        );
    }
    Ok(ids)
}

/// Whether some consumer of `group` on `cluster` pops messages (5.x POP): the broker assigns it
/// queues itself, so routes cannot steer it.
async fn pops(admin: &Admin, cluster: &Cluster, group: &str) -> Result<bool, AdminError> {
    for (_, master) in cluster.masters() {
        let c = admin.consumer_connections(master, group).await?;
        if c.consume_type.as_deref() == Some("CONSUME_POP") {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn gather(
    clusters: &Clusters,
    proxy: &Proxy,
    topic: &MigrationTopic,
    route_window: Duration,
    warming_up: Option<u64>,
) -> Result<Evidence, AdminError> {
    let name = topic.topic.as_str();
    let source = clusters.source_layout().await?;
    let target = clusters.target_layout().await?;
    let source_queues = queues(&clusters.source, name).await?;
    let target_queues = queues(&clusters.target, name).await?;
    let target_groups: BTreeSet<String> = clusters.target.group_names(&target).await?.into_iter().collect();

    let mut e = Evidence {
        topic: name.to_string(),
        groups: topic.groups.clone(),
        on_source: source_queues.is_some(),
        source_writes: source_queues.as_ref().map(|q| q.writes.clone()).unwrap_or_default(),
        target_writes: target_queues.as_ref().map(|q| q.writes.clone()).unwrap_or_default(),
        strict_order: topic.strict_order,
        source_last_write_ms: clusters.source.topic_writes(&source, name).await?.last_write_ms,
        stage_since_ms: topic.updated_at.timestamp_millis(),
        source_timer_pending: None,
        source_delayed_pending: 0,
        on_target: target_queues.is_some(),
        target_queues: target_queues.map(|q| q.read).unwrap_or_default(),
        groups_missing_on_target: topic
            .groups
            .iter()
            .filter(|g| !target_groups.contains(*g))
            .cloned()
            .collect(),
        through_ferry: proxy.registry.clients().into_iter().map(|c| c.client_id).collect(),
        ..Evidence::default()
    };

    for (_, master) in source.masters() {
        e.source_delayed_pending += clusters.source.pending_delayed(master).await?;
        if let Some(n) = clusters.source.pending_timer(master, name).await? {
            *e.source_timer_pending.get_or_insert(0) += n;
        }
    }

    let epoch = proxy.stages.get(name).map_or(0, |v| v.epoch);
    let recent = proxy.routes.recent(name, route_window);
    e.route_askers = recent.len();
    e.route_warming_up = warming_up;
    e.quiet_ms = route_window.as_millis().min(30_000) as i64 / 3;
    e.now_ms = chrono::Utc::now().timestamp_millis();
    e.route_behind = recent
        .iter()
        .filter(|f| f.epoch < epoch)
        .map(|f| {
            format!("{} (has {})", f.client, f.stage.map_or("the source's route".into(), |s| s.to_string()))
        })
        .collect();

    let mut committed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (broker, master) in target.masters() {
        for (key, queues) in clusters.target.committed_offsets(master).await? {
            if let Some(group) = key.strip_prefix(name).and_then(|rest| rest.strip_prefix('@')) {
                committed
                    .entry(group.to_string())
                    .or_default()
                    .extend(queues.keys().map(|q| format!("{broker}:{q}")));
            }
        }
    }
    e.target_committed = committed;

    for group in &topic.groups {
        if pops(&clusters.source, &source, group).await? || pops(&clusters.target, &target, group).await? {
            e.pop_groups.push(group.clone());
        }
        e.source_consumers.insert(group.clone(), consumers(&clusters.source, &source, group).await?);
        e.target_consumers.insert(group.clone(), consumers(&clusters.target, &target, group).await?);
        let retry = format!("%RETRY%{group}");
        let on_source =
            clusters.source.group_backlog(&source, group, &[name.to_string(), retry.clone()].into()).await?;
        e.source_backlog
            .insert(group.clone(), (on_source.backlog_of_topic(name), on_source.backlog_of_topic(&retry)));
        let on_target =
            clusters.target.group_backlog(&target, group, &[name.to_string(), retry.clone()].into()).await?;
        e.target_backlog
            .insert(group.clone(), on_target.backlog_of_topic(name) + on_target.backlog_of_topic(&retry));
    }
    Ok(e)
}

/// Consumer groups that have taken `topic` on the source (a committed offset on any master):
/// the default set of groups a topic's checks cover.
pub async fn groups_of_topic(clusters: &Clusters, topic: &str) -> Result<Vec<String>, AdminError> {
    let source = clusters.source_layout().await?;
    let mut groups = BTreeSet::new();
    for (_, master) in source.masters() {
        for key in clusters.source.committed_offsets(master).await?.into_keys() {
            if let Some(group) = key.strip_prefix(topic).and_then(|rest| rest.strip_prefix('@')) {
                groups.insert(group.to_string());
            }
        }
    }
    Ok(groups.into_iter().collect())
}
