//! Client traffic as brokers see it, for switching clients from one cluster to another: who consumes
//! a group (client ids, subscribed topics), when a topic last received a message, and a group's
//! backlog over the topics it reads.

use std::collections::{BTreeMap, BTreeSet};

use ferry_remoting::body::TopicStatsTable;
use ferry_remoting::request::GetTopicStatsInfoRequestHeader;
use ferry_remoting::ResponseCode;
use serde::Serialize;

use crate::client::Admin;
use crate::cluster::Cluster;
use crate::error::AdminError;
use crate::offsets::GroupOffsets;

/// The prefix of a group's retry topic (`%RETRY%<group>`).
const RETRY_PREFIX: &str = "%RETRY%";

/// The consumers of one group connected to a cluster, over all its masters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConsumers {
    pub group: String,
    /// Distinct client ids (a client connects to every master; it counts once).
    pub client_ids: BTreeSet<String>,
    /// Topics the connected consumers subscribe to, retry topics left out.
    pub topics: BTreeSet<String>,
}

impl GroupConsumers {
    pub fn online(&self) -> usize {
        self.client_ids.len()
    }
}

/// When a topic last received a message on a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicWrites {
    pub topic: String,
    /// Whether any master of the cluster has the topic.
    pub exists: bool,
    /// Messages stored (sum of max offsets over queues).
    pub max_offset_total: i64,
    /// Store time (ms since the epoch) of the newest message of any queue; `None` when empty.
    pub last_write_ms: Option<i64>,
}

impl Admin {
    /// GET_TOPIC_STATS_INFO on one broker: min/max offset and the newest message's store time per
    /// queue. A topic the broker does not have yields an empty table.
    pub async fn topic_stats(&self, broker_addr: &str, topic: &str) -> Result<TopicStatsTable, AdminError> {
        let header = GetTopicStatsInfoRequestHeader { topic: topic.to_string() };
        match self.call_typed(broker_addr, &header).await {
            Err(AdminError::Refused { code, .. }) if code == ResponseCode::TOPIC_NOT_EXIST => {
                Ok(TopicStatsTable::default())
            }
            other => other,
        }
    }

    /// The newest write to `topic` over every master of `cluster`.
    pub async fn topic_writes(&self, cluster: &Cluster, topic: &str) -> Result<TopicWrites, AdminError> {
        let mut w = TopicWrites { topic: topic.to_string(), ..Default::default() };
        for (_, master) in cluster.masters() {
            let stats = self.topic_stats(master, topic).await?;
            w.exists |= !stats.offset_table.is_empty();
            for (_, o) in &stats.offset_table {
                w.max_offset_total += o.max_offset;
                if o.max_offset > 0 && o.last_update_timestamp > 0 {
                    w.last_write_ms = Some(w.last_write_ms.unwrap_or(0).max(o.last_update_timestamp));
                }
            }
        }
        Ok(w)
    }

    /// Consumers of `group` online on any master of `cluster`.
    pub async fn group_consumers(
        &self,
        cluster: &Cluster,
        group: &str,
    ) -> Result<GroupConsumers, AdminError> {
        let mut c = GroupConsumers { group: group.to_string(), ..Default::default() };
        for (_, master) in cluster.masters() {
            let conns = self.consumer_connections(master, group).await?;
            c.client_ids.extend(conns.connection_set.into_iter().map(|x| x.client_id));
            c.topics.extend(conns.subscription_table.into_keys().filter(|t| !t.starts_with(RETRY_PREFIX)));
        }
        Ok(c)
    }

    /// `group`'s offsets on `cluster` over what it has committed (retry topic included) and over
    /// `topics` too, which count from offset 0 where the group never committed: messages the group
    /// has not read yet are owed, whether or not it ever consumed.
    pub async fn group_backlog(
        &self,
        cluster: &Cluster,
        group: &str,
        topics: &BTreeSet<String>,
    ) -> Result<GroupOffsets, AdminError> {
        let mut all = self.group_offsets(cluster, group).await?;
        let seen: BTreeSet<String> = all.queues.iter().map(|(q, _)| q.topic.clone()).collect();
        for topic in topics.iter().filter(|t| !seen.contains(*t)) {
            for (_, master) in cluster.masters() {
                let stats = self.consume_stats(master, group, Some(topic)).await?;
                all.queues.extend(stats.offset_table.into_iter().filter(|(q, _)| &q.topic == topic));
            }
        }
        all.queues.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    /// Topic names on any master of `cluster`.
    pub async fn topic_names(&self, cluster: &Cluster) -> Result<BTreeSet<String>, AdminError> {
        let mut names = BTreeSet::new();
        for (_, master) in cluster.masters() {
            names.extend(self.topic_configs(master).await?.into_keys());
        }
        Ok(names)
    }
}

/// Backlog per topic of a group's offsets.
pub fn backlog_by_topic(offsets: &GroupOffsets) -> BTreeMap<String, i64> {
    let mut by = BTreeMap::new();
    for (q, o) in &offsets.queues {
        *by.entry(q.topic.clone()).or_insert(0) += o.backlog();
    }
    by
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_remoting::body::{MessageQueue, OffsetWrapper};

    #[test]
    fn topic_stats_table_parses_with_object_keys() {
        let body = br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":1700000000123,"maxOffset":7,"minOffset":0},{"brokerName":"b","queueId":1,"topic":"T"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}}}"#;
        let t: TopicStatsTable = ferry_remoting::fastjson::from_slice(body).unwrap();
        assert_eq!(t.offset_table.len(), 2);
        let newest = t.offset_table.iter().map(|(_, o)| o.last_update_timestamp).max();
        assert_eq!(newest, Some(1700000000123));
    }

    #[test]
    fn backlog_is_summed_per_topic() {
        let q = |t: &str, i| MessageQueue { topic: t.into(), broker_name: "b".into(), queue_id: i };
        let o = |b, c| OffsetWrapper { broker_offset: b, consumer_offset: c, ..Default::default() };
        let g = GroupOffsets {
            group: "g".into(),
            queues: vec![(q("T", 0), o(10, 4)), (q("T", 1), o(3, 3)), (q("%RETRY%g", 0), o(2, 0))],
            consume_tps: 0.0,
        };
        let by = backlog_by_topic(&g);
        assert_eq!(by["T"], 6);
        assert_eq!(by["%RETRY%g"], 2);
    }
}
