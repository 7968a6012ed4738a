//! Topic and subscription group configs as brokers keep them (`topics.json`,
//! `subscriptionGroup.json`) and return them (GET_ALL_TOPIC_CONFIG, GET_ALL_SUBSCRIPTIONGROUP_CONFIG).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `TopicConfig`. Fields a newer broker adds are kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_filter_type: String,
    pub topic_sys_flag: i32,
    pub order: bool,
    /// 5.x: e.g. `{"message.type": "FIFO"}` (stored without the `+` a create request uses).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for TopicConfig {
    /// The defaults of `TopicConfig.java`.
    fn default() -> Self {
        TopicConfig {
            topic_name: String::new(),
            read_queue_nums: 16,
            write_queue_nums: 16,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
            extra: Map::new(),
        }
    }
}

/// `DataVersion`: the broker's config revision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub state_version: i64,
    pub timestamp: i64,
    pub counter: i64,
}

/// `TopicConfigSerializeWrapper` (5.x returns `TopicConfigAndMappingSerializeWrapper`, whose extra
/// static-topic fields land in `extra`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: DataVersion,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SubscriptionGroupConfig`. Every field of the group is kept: those Ferry names, and in `extra`
/// the rest (5.x `groupRetryPolicy`, `consumeTimeoutMinute`, `subscriptionDataSet`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_broadcast_enable: bool,
    pub retry_queue_nums: i32,
    pub retry_max_times: i32,
    pub broker_id: i64,
    pub which_broker_when_consume_slowly: i64,
    pub notify_consumer_ids_changed_enable: bool,
    pub group_sys_flag: i32,
    /// 5.x.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume_message_orderly: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for SubscriptionGroupConfig {
    /// The defaults of `SubscriptionGroupConfig.java`.
    fn default() -> Self {
        SubscriptionGroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_message_orderly: None,
            attributes: BTreeMap::new(),
            extra: Map::new(),
        }
    }
}

/// `SubscriptionGroupWrapper`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    pub data_version: DataVersion,
    /// 5.x: group -> topic -> forbidden bits.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson;

    #[test]
    fn unknown_group_fields_survive_a_round_trip() {
        let body = br#"{"subscriptionGroupTable":{"g":{"groupName":"g","retryMaxTimes":3,"consumeTimeoutMinute":15,"groupRetryPolicy":{"type":"CUSTOMIZED"}}},"dataVersion":{"counter":2,"stateVersion":0,"timestamp":1}}"#;
        let w: SubscriptionGroupWrapper = fastjson::from_slice(body).unwrap();
        let g = &w.subscription_group_table["g"];
        assert_eq!(g.retry_max_times, 3);
        assert!(g.consume_enable, "missing fields take the Java defaults");
        assert_eq!(g.extra["consumeTimeoutMinute"], 15);
        let again: SubscriptionGroupWrapper = fastjson::from_slice(&fastjson::to_vec(&w)).unwrap();
        assert_eq!(again, w);
    }

    #[test]
    fn topic_config_reads_5x_attributes() {
        let body = br#"{"topicConfigTable":{"T":{"attributes":{"message.type":"FIFO"},"order":true,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}},"topicQueueMappingInfoMap":{}}"#;
        let w: TopicConfigSerializeWrapper = fastjson::from_slice(body).unwrap();
        let t = &w.topic_config_table["T"];
        assert_eq!(t.attributes["message.type"], "FIFO");
        assert!(t.order);
        assert!(w.extra.contains_key("topicQueueMappingInfoMap"));
    }
}
