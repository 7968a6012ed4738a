//! Clusters, brokers and routes as the NameServer describes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `ClusterInfo` (GET_BROKER_CLUSTER_INFO): brokers by name and broker names by cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, Vec<String>>,
}

/// `BrokerData`: one broker name (a master and its slaves) and their addresses by broker id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// Broker id to `ip:port`; id 0 is the master.
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_acting_master: Option<bool>,
}

impl BrokerData {
    pub const MASTER_ID: i64 = 0;

    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&Self::MASTER_ID).map(String::as_str)
    }
}

/// `TopicRouteData` (GET_ROUTEINFO_BY_TOPIC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
    pub broker_datas: Vec<BrokerData>,
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// 5.x static topics; kept as-is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<serde_json::Value>,
}

/// `QueueData`: one broker's queues of a topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    /// Older servers spell it `topicSynFlag`.
    #[serde(alias = "topicSynFlag")]
    pub topic_sys_flag: i32,
}

/// `TopicList` (GET_ALL_TOPIC_LIST_FROM_NAMESERVER, GET_TOPICS_BY_CLUSTER).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    pub topic_list: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson;

    #[test]
    fn cluster_info_with_bare_integer_keys_parses() {
        let body = br#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
        let info: ClusterInfo = fastjson::from_slice(body).unwrap();
        let b = &info.broker_addr_table["broker-a"];
        assert_eq!(b.master_addr(), Some("127.0.0.1:10911"));
        assert_eq!(b.broker_addrs[&1], "127.0.0.1:10921");
        assert_eq!(info.cluster_addr_table["DefaultCluster"], vec!["broker-a"]);
    }

    #[test]
    fn route_written_for_java_has_quoted_integer_keys() {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                cluster: "c".into(),
                broker_name: "b".into(),
                broker_addrs: [(0, "127.0.0.1:10911".to_string())].into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = String::from_utf8(fastjson::to_vec(&route)).unwrap();
        assert!(text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#), "{text}");
        assert!(!text.contains("orderTopicConf"));
    }
}
