//! Consumer offsets and backlog per group, summed over a cluster's masters.

use ferry_remoting::body::{ConsumeStats, ConsumerConnection, MessageQueue, OffsetWrapper};
use ferry_remoting::request::{GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader};
use ferry_remoting::ResponseCode;
use serde::Serialize;

use crate::client::Admin;
use crate::cluster::Cluster;
use crate::error::AdminError;

/// A group's offsets on every queue of a cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOffsets {
    pub group: String,
    pub queues: Vec<(MessageQueue, OffsetWrapper)>,
    pub consume_tps: f64,
}

impl GroupOffsets {
    pub fn backlog(&self) -> i64 {
        self.queues.iter().map(|(_, o)| o.backlog()).sum()
    }

    pub fn backlog_of_topic(&self, topic: &str) -> i64 {
        self.queues.iter().filter(|(q, _)| q.topic == topic).map(|(_, o)| o.backlog()).sum()
    }
}

impl Admin {
    /// GET_CONSUME_STATS on one broker. A group unknown to the broker yields no queues.
    pub async fn consume_stats(
        &self,
        broker_addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats, AdminError> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.map(str::to_string),
        };
        match self.call_typed(broker_addr, &header).await {
            Err(AdminError::Refused { code, .. })
                if code == ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST
                    || code == ResponseCode::CONSUMER_NOT_ONLINE =>
            {
                Ok(ConsumeStats::default())
            }
            other => other,
        }
    }

    /// Offsets and backlog of `group` over every master of `cluster`.
    pub async fn group_offsets(&self, cluster: &Cluster, group: &str) -> Result<GroupOffsets, AdminError> {
        let mut all = GroupOffsets { group: group.to_string(), ..Default::default() };
        for (_, master) in cluster.masters() {
            let stats = self.consume_stats(master, group, None).await?;
            all.queues.extend(stats.offset_table);
            all.consume_tps += stats.consume_tps;
        }
        all.queues.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    /// Consumers of `group` connected to one broker; empty when none is online.
    pub async fn consumer_connections(
        &self,
        broker_addr: &str,
        group: &str,
    ) -> Result<ConsumerConnection, AdminError> {
        let header = GetConsumerConnectionListRequestHeader { consumer_group: group.to_string() };
        match self.call_typed(broker_addr, &header).await {
            Err(AdminError::Refused { code, .. }) if code == ResponseCode::CONSUMER_NOT_ONLINE => {
                Ok(ConsumerConnection::default())
            }
            other => other,
        }
    }
}

/// Committed offsets of one broker: (topic, group) to queue id to offset.
pub type CommittedOffsets =
    std::collections::BTreeMap<(String, String), std::collections::BTreeMap<i32, i64>>;

/// The broker keys its offset table `topic@group`; neither name may hold `@` (both are
/// `[%|a-zA-Z0-9_-]`), so the first `@` splits them. A key without one is not an offset's.
fn split_offset_key(key: &str) -> Option<(String, String)> {
    key.split_once('@').map(|(t, g)| (t.to_string(), g.to_string()))
}

impl Admin {
    /// GET_ALL_CONSUMER_OFFSET on one broker: every committed offset it keeps, by topic and
    /// group, to queue id to offset. Unlike consume stats, which show 0 for a queue with no
    /// commit, a queue absent here has never been committed by that group.
    pub async fn committed_offsets(&self, broker_addr: &str) -> Result<CommittedOffsets, AdminError> {
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Wrapper {
            offset_table: std::collections::BTreeMap<String, std::collections::BTreeMap<i32, i64>>,
        }
        let op = ferry_remoting::RequestCode::GET_ALL_CONSUMER_OFFSET;
        let response = self.call(broker_addr, ferry_remoting::Frame::request(op)).await?;
        if response.body.is_empty() {
            return Ok(Default::default());
        }
        let w: Wrapper = ferry_remoting::fastjson::from_slice(&response.body).map_err(|e| {
            AdminError::UnreadableBody { addr: broker_addr.to_string(), op, detail: e.to_string() }
        })?;
        Ok(w.offset_table.into_iter().filter_map(|(k, q)| split_offset_key(&k).map(|k| (k, q))).collect())
    }
}

impl Admin {
    /// Subscription group names on any master of `cluster`.
    pub async fn group_names(&self, cluster: &Cluster) -> Result<Vec<String>, AdminError> {
        let mut names = std::collections::BTreeSet::new();
        for (_, master) in cluster.masters() {
            names.extend(self.subscription_groups(master).await?.into_keys());
        }
        Ok(names.into_iter().collect())
    }

    /// Offsets of many groups at once, `concurrency` requests in flight, in the order given.
    pub async fn groups_offsets(
        &self,
        cluster: &Cluster,
        groups: &[String],
        concurrency: usize,
    ) -> Result<Vec<GroupOffsets>, AdminError> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        stream::iter(groups)
            .map(|g| self.group_offsets(cluster, g))
            .buffered(concurrency.max(1))
            .try_collect()
            .await
    }
}

#[cfg(test)]
mod offset_key_tests {
    use super::split_offset_key;

    #[test]
    fn an_offset_key_splits_at_its_at_sign() {
        let pair = |t: &str, g: &str| Some((t.to_string(), g.to_string()));
        assert_eq!(split_offset_key("orders@billing"), pair("orders", "billing"));
        assert_eq!(split_offset_key("%RETRY%billing@billing"), pair("%RETRY%billing", "billing"));
        assert_eq!(split_offset_key("ns%orders@ns%billing"), pair("ns%orders", "ns%billing"));
        assert_eq!(split_offset_key("no-at-sign"), None);
    }
}
