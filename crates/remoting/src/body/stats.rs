//! Offsets, backlog, runtime figures and client connections as brokers report them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fastjson;

/// `MessageQueue`: the key of offset tables, written by fastjson as an object key.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

/// `OffsetWrapper`: one queue's offsets for a group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    pub broker_offset: i64,
    pub consumer_offset: i64,
    /// 5.x.
    pub pull_offset: i64,
    pub last_timestamp: i64,
}

impl OffsetWrapper {
    /// Messages stored but not yet consumed by the group.
    pub fn backlog(&self) -> i64 {
        (self.broker_offset - self.consumer_offset).max(0)
    }
}

/// `ConsumeStats` (GET_CONSUME_STATS).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    #[serde(with = "fastjson::keyed")]
    pub offset_table: Vec<(MessageQueue, OffsetWrapper)>,
    pub consume_tps: f64,
}

/// `TopicOffset`: a queue's min and max offsets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    pub min_offset: i64,
    pub max_offset: i64,
    pub last_update_timestamp: i64,
}

/// `TopicStatsTable` (GET_TOPIC_STATS_INFO).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    #[serde(with = "fastjson::keyed")]
    pub offset_table: Vec<(MessageQueue, TopicOffset)>,
    #[serde(default)]
    pub topic_put_tps: f64,
}

/// `KVTable` (GET_BROKER_RUNTIME_INFO): all values are strings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

/// `BrokerStatsData` (VIEW_BROKER_STATS_DATA): a statistic over the last minute, hour and day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsData {
    pub stats_minute: BrokerStatsItem,
    pub stats_hour: BrokerStatsItem,
    pub stats_day: BrokerStatsItem,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrokerStatsItem {
    pub sum: i64,
    pub tps: f64,
    pub avgpt: f64,
}

impl BrokerStatsData {
    /// The last day's count as `mqadmin statsAll` computes it (`compute24HourSum`): the day's sum,
    /// else the hour's, else the minute's.
    pub fn sum_24h(&self) -> i64 {
        [self.stats_day.sum, self.stats_hour.sum, self.stats_minute.sum]
            .into_iter()
            .find(|s| *s != 0)
            .unwrap_or(0)
    }
}

/// `Connection`: one client as a broker sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    pub client_id: String,
    pub client_addr: String,
    pub language: String,
    pub version: i32,
}

/// `ConsumerConnection` (GET_CONSUMER_CONNECTION_LIST).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    pub subscription_table: BTreeMap<String, serde_json::Value>,
    pub consume_type: Option<String>,
    pub message_model: Option<String>,
    pub consume_from_where: Option<String>,
}

/// `ProducerConnection` (GET_PRODUCER_CONNECTION_LIST).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_stats_with_object_keys_parses_and_computes_backlog() {
        let body = br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"brokerOffset":100,"consumerOffset":98,"lastTimestamp":1700000000000},{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"brokerOffset":5,"consumerOffset":5,"lastTimestamp":0}}}"#;
        let stats: ConsumeStats = fastjson::from_slice(body).unwrap();
        assert_eq!(stats.offset_table.len(), 2);
        let (mq, off) = &stats.offset_table[0];
        assert_eq!((mq.broker_name.as_str(), mq.queue_id), ("broker-a", 1));
        assert_eq!(off.backlog(), 2);
        let total: i64 = stats.offset_table.iter().map(|(_, o)| o.backlog()).sum();
        assert_eq!(total, 2);
    }
}
