//! The document's items read one way, whoever wrote it. A Ferry section is exact (queues per
//! master, per-broker `retryQueueNums`) and wins when present; an Apache `exportMetadata` file
//! only has totals summed over the source masters, and how many masters is known only from
//! `configs` (export.sh files), if at all.

use std::collections::{BTreeMap, BTreeSet};

use ferry_remoting::body::SubscriptionGroupConfig;
use serde_json::Value;

use crate::document::{AclExport, Document, TopicOnBroker};
use crate::system::namespace_of;

/// The broker's stored key of a topic's message type (5.3.3 `TopicAttributes`). Requests that
/// change attributes prefix keys with `+`; stored configs, and so exports, should not.
pub(crate) const MESSAGE_TYPE: &str = "message.type";

pub(crate) struct Source<'a> {
    /// The source cluster's name; empty when the file does not say.
    pub cluster: String,
    /// Source master names; empty when unknown.
    pub brokers: Vec<String>,
    /// Over how many masters Apache totals were summed; `None` when unknown.
    pub masters: Option<usize>,
    /// Whether the items come from a Ferry section (exact per-broker numbers).
    pub ferry: bool,
    /// Sorted by name.
    pub topics: Vec<SourceTopic<'a>>,
    /// Sorted by name.
    pub groups: Vec<SourceGroup<'a>>,
    pub acl: Option<&'a AclExport>,
    /// Every namespace a source name is in.
    pub namespaces: BTreeSet<String>,
}

pub(crate) struct SourceTopic<'a> {
    pub name: &'a str,
    pub queues: SourceQueues,
    pub perm: i32,
    pub order: bool,
    pub topic_sys_flag: i32,
    pub topic_filter_type: &'a str,
    /// In the broker's stored form: keys without a leading `+`.
    pub attributes: BTreeMap<String, String>,
    /// Config fields Ferry has no name for (kept by the reader, not written by an import).
    pub unknown_fields: Vec<String>,
}

/// A topic's queue numbers as the source document gives them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SourceQueues {
    /// Ferry: what each source master had, sorted by master name.
    PerBroker(Vec<TopicOnBroker>),
    /// Apache: sums over `masters` source masters (`None`: unknown; `-b` files hold one
    /// broker's numbers and look the same).
    Total { read: i32, write: i32, masters: Option<usize> },
}

pub(crate) struct SourceGroup<'a> {
    pub name: &'a str,
    pub config: &'a SubscriptionGroupConfig,
    /// Apache sums `retryQueueNums` over the masters; Ferry keeps one master's value.
    pub retry_summed: bool,
}

impl<'a> Source<'a> {
    pub(crate) fn read(doc: &'a Document) -> Source<'a> {
        let mut source = match &doc.ferry {
            Some(f) => {
                let masters: Vec<String> =
                    f.source.brokers.iter().filter(|b| b.master.is_some()).map(|b| b.name.clone()).collect();
                let count = (!masters.is_empty()).then_some(masters.len());
                let topics = f.topics.iter().map(|t| {
                    let mut brokers = t.brokers.clone();
                    brokers.sort_by(|a, b| a.broker.cmp(&b.broker));
                    let queues = if brokers.is_empty() {
                        // Hand-written or trimmed entries: fall back to the sums.
                        SourceQueues::Total {
                            read: t.read_queue_nums,
                            write: t.write_queue_nums,
                            masters: count,
                        }
                    } else {
                        SourceQueues::PerBroker(brokers)
                    };
                    let mut attributes = stored_attributes(&t.attributes);
                    if let Some(kind) = &t.message_type {
                        attributes.insert(MESSAGE_TYPE.to_string(), kind.clone());
                    }
                    SourceTopic {
                        name: &t.name,
                        queues,
                        perm: t.perm,
                        order: t.order,
                        topic_sys_flag: t.topic_sys_flag,
                        topic_filter_type: &t.topic_filter_type,
                        attributes,
                        unknown_fields: Vec::new(),
                    }
                });
                let groups = f.groups.iter().map(|g| SourceGroup {
                    name: &g.name,
                    config: &g.config,
                    retry_summed: false,
                });
                let mut namespaces: BTreeSet<String> = f.namespaces.iter().cloned().collect();
                namespaces.remove("");
                Source {
                    cluster: f.source.cluster.clone(),
                    brokers: masters,
                    masters: count,
                    ferry: true,
                    topics: topics.collect(),
                    groups: groups.collect(),
                    acl: f.acl.as_ref(),
                    namespaces,
                }
            }
            None => {
                let (cluster, brokers, masters) = apache_scale(&doc.configs);
                let topics = doc.metadata.topic_config_table.iter().map(|(name, t)| SourceTopic {
                    name,
                    queues: SourceQueues::Total {
                        read: t.read_queue_nums,
                        write: t.write_queue_nums,
                        masters,
                    },
                    perm: t.perm,
                    order: t.order,
                    topic_sys_flag: t.topic_sys_flag,
                    topic_filter_type: &t.topic_filter_type,
                    attributes: stored_attributes(&t.attributes),
                    unknown_fields: t.extra.keys().cloned().collect(),
                });
                let groups = doc.metadata.subscription_group_table.iter().map(|(name, g)| SourceGroup {
                    name,
                    config: g,
                    retry_summed: true,
                });
                Source {
                    cluster,
                    brokers,
                    masters,
                    ferry: false,
                    topics: topics.collect(),
                    groups: groups.collect(),
                    acl: None,
                    namespaces: BTreeSet::new(),
                }
            }
        };
        source.topics.sort_by(|a, b| a.name.cmp(b.name));
        source.groups.sort_by(|a, b| a.name.cmp(b.name));
        let names = source.topics.iter().map(|t| t.name);
        let names = names.chain(source.groups.iter().map(|g| g.name));
        let derived: Vec<String> = names.filter_map(namespace_of).map(str::to_string).collect();
        source.namespaces.extend(derived);
        source
    }
}

/// Topic attributes keyed as the broker stores them. Ferry's export up to now copied keys as
/// written in requests (`+message.type`); both forms are accepted.
fn stored_attributes(attributes: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes.iter().map(|(k, v)| (k.strip_prefix('+').unwrap_or(k).to_string(), v.clone())).collect()
}

/// Cluster name, master names and master count from an export.sh `configs` section
/// (`brokerConfigs` keyed by master name, `clusterScale.masterBrokerSize`).
fn apache_scale(configs: &Value) -> (String, Vec<String>, Option<usize>) {
    let broker_configs = configs.get("brokerConfigs").and_then(Value::as_object);
    let mut brokers: Vec<String> = broker_configs.map(|m| m.keys().cloned().collect()).unwrap_or_default();
    brokers.sort();
    let cluster = broker_configs
        .and_then(|m| m.values().find_map(|p| p.get("brokerClusterName")))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let declared = configs
        .get("clusterScale")
        .and_then(|s| s.get("masterBrokerSize"))
        .and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0);
    let masters = declared.or((!brokers.is_empty()).then_some(brokers.len()));
    (cluster, brokers, masters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_master_count_comes_from_cluster_scale_or_broker_configs() {
        let configs = serde_json::json!({
            "brokerConfigs": {"b": {"brokerClusterName": "C"}, "a": {}},
            "clusterScale": {"masterBrokerSize": "3"}
        });
        assert_eq!(
            apache_scale(&configs),
            ("C".to_string(), vec!["a".to_string(), "b".to_string()], Some(3))
        );
        let configs = serde_json::json!({"brokerConfigs": {"a": {}, "b": {}}});
        assert_eq!(apache_scale(&configs).2, Some(2));
        assert_eq!(apache_scale(&Value::Null).2, None);
    }

    #[test]
    fn attributes_are_read_in_the_brokers_stored_form() {
        let a = BTreeMap::from([("+message.type".to_string(), "FIFO".to_string())]);
        assert_eq!(stored_attributes(&a)[MESSAGE_TYPE], "FIFO");
    }
}
