//! Clusters and their brokers: what the NameServer knows, and what each broker says of itself.

use std::collections::BTreeMap;

use ferry_remoting::body::{BrokerStatsData, ClusterInfo, KvTable, TopicList};
use ferry_remoting::request::{
    GetBrokerClusterInfo, GetBrokerConfigRequestHeader, GetBrokerRuntimeInfoRequestHeader,
    GetSystemTopicListFromBroker, RequestHeader, ViewBrokerStatsDataRequestHeader,
};
use serde::Serialize;

use crate::client::{parse_body, Admin};
use crate::error::AdminError;

/// One broker name: a master and its slaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Broker {
    pub name: String,
    pub cluster: String,
    /// Address of broker id 0, when a master is registered.
    pub master: Option<String>,
    /// Broker id to address, ids above 0.
    pub slaves: BTreeMap<i64, String>,
}

/// A cluster and its brokers, sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub name: String,
    pub brokers: Vec<Broker>,
}

impl Cluster {
    pub fn masters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.brokers.iter().filter_map(|b| b.master.as_deref().map(|m| (b.name.as_str(), m)))
    }
}

impl Admin {
    pub async fn cluster_info(&self) -> Result<ClusterInfo, AdminError> {
        self.call_namesrv_typed(&GetBrokerClusterInfo {}).await
    }

    /// Every cluster the NameServers know, with its brokers.
    pub async fn clusters(&self) -> Result<Vec<Cluster>, AdminError> {
        let info = self.cluster_info().await?;
        Ok(clusters_of(&info))
    }

    /// One cluster by name; an unknown name lists the known ones and names the NameServer asked.
    pub async fn cluster(&self, name: &str) -> Result<Cluster, AdminError> {
        let (namesrv, response) = self.call_namesrv(GetBrokerClusterInfo {}.to_frame()).await?;
        let info: ClusterInfo = parse_body(&namesrv, GetBrokerClusterInfo::CODE, &response.body)?;
        let clusters = clusters_of(&info);
        let known = clusters.iter().map(|c| c.name.clone()).collect();
        clusters.into_iter().find(|c| c.name == name).ok_or(AdminError::UnknownCluster {
            namesrv,
            name: name.to_string(),
            known,
        })
    }

    /// The broker's configuration (GET_BROKER_CONFIG): `java.util.Properties` text.
    pub async fn broker_config(&self, broker_addr: &str) -> Result<BTreeMap<String, String>, AdminError> {
        let response = self.call(broker_addr, GetBrokerConfigRequestHeader {}.to_frame()).await?;
        Ok(parse_properties(&String::from_utf8_lossy(&response.body)))
    }

    /// Runtime figures (GET_BROKER_RUNTIME_INFO), including `brokerVersionDesc`.
    pub async fn broker_runtime_info(
        &self,
        broker_addr: &str,
    ) -> Result<BTreeMap<String, String>, AdminError> {
        let table: KvTable = self.call_typed(broker_addr, &GetBrokerRuntimeInfoRequestHeader {}).await?;
        Ok(table.table)
    }

    /// The system topics a broker keeps (GET_SYSTEM_TOPIC_LIST_FROM_BROKER).
    pub async fn system_topics_of_broker(&self, broker_addr: &str) -> Result<Vec<String>, AdminError> {
        let list: TopicList = self.call_typed(broker_addr, &GetSystemTopicListFromBroker {}).await?;
        Ok(list.topic_list)
    }

    /// One statistic of a broker (VIEW_BROKER_STATS_DATA), e.g. `TOPIC_PUT_NUMS` of a topic.
    pub async fn broker_stats(
        &self,
        broker_addr: &str,
        name: &str,
        key: &str,
    ) -> Result<BrokerStatsData, AdminError> {
        let header =
            ViewBrokerStatsDataRequestHeader { stats_name: name.to_string(), stats_key: key.to_string() };
        self.call_typed(broker_addr, &header).await
    }
}

pub fn clusters_of(info: &ClusterInfo) -> Vec<Cluster> {
    info.cluster_addr_table
        .iter()
        .map(|(name, broker_names)| {
            let mut brokers: Vec<Broker> = broker_names
                .iter()
                .map(|bn| {
                    let data = info.broker_addr_table.get(bn);
                    Broker {
                        name: bn.clone(),
                        cluster: name.clone(),
                        master: data.and_then(|d| d.master_addr()).map(str::to_string),
                        slaves: data
                            .map(|d| {
                                d.broker_addrs
                                    .iter()
                                    .filter(|(id, _)| **id > 0)
                                    .map(|(i, a)| (*i, a.clone()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect();
            brokers.sort_by(|a, b| a.name.cmp(&b.name));
            Cluster { name: name.clone(), brokers }
        })
        .collect()
}

/// `key=value` lines as `MixAll.properties2String` writes them.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_text_parses() {
        let p =
            parse_properties("brokerName=broker-a\nbrokerClusterName=C\n\nmessageDelayLevel=1s 5s\nx=a=b\n");
        assert_eq!(p["brokerName"], "broker-a");
        assert_eq!(p["messageDelayLevel"], "1s 5s");
        assert_eq!(p["x"], "a=b");
    }
}
