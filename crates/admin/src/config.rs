//! Topics and subscription groups as each broker holds them.

use std::collections::BTreeMap;

use ferry_remoting::body::KvTable;
use ferry_remoting::body::{
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper, TopicList,
    TopicRouteData,
};
use ferry_remoting::request::{
    GetAllSubscriptionGroupRequestHeader, GetAllTopicConfigRequestHeader, GetAllTopicListFromNameServer,
    GetKvListByNamespaceRequestHeader, GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader,
    PutKvConfigRequestHeader, RequestHeader,
};

use ferry_remoting::ResponseCode;

use crate::client::Admin;
use crate::error::AdminError;

/// The NameServer KV namespace of ordered topics (`NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`): topic
/// to `brokerName:queueNums;...`. On 4.x it is what makes a topic ordered: brokers take `order` from
/// it at registration, not from the create request.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

impl Admin {
    /// Ordered topics as the NameServer records them; empty when none (QUERY_NOT_FOUND).
    pub async fn order_topic_conf(&self) -> Result<BTreeMap<String, String>, AdminError> {
        let header = GetKvListByNamespaceRequestHeader { namespace: ORDER_TOPIC_CONFIG.into() };
        match self.call_namesrv_typed::<_, KvTable>(&header).await {
            Ok(t) => Ok(t.table),
            Err(AdminError::Refused { code, .. }) if code == ResponseCode::QUERY_NOT_FOUND => {
                Ok(BTreeMap::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Records a topic as ordered on every NameServer, as `mqadmin updateTopic -o true` does.
    pub async fn put_order_topic_conf(&self, topic: &str, conf: &str) -> Result<(), AdminError> {
        let header = PutKvConfigRequestHeader {
            namespace: ORDER_TOPIC_CONFIG.into(),
            key: topic.to_string(),
            value: conf.to_string(),
        };
        for addr in self.namesrvs() {
            self.call(addr, header.to_frame()).await?;
        }
        Ok(())
    }

    /// Every topic config of one broker (GET_ALL_TOPIC_CONFIG).
    pub async fn topic_configs(
        &self,
        broker_addr: &str,
    ) -> Result<BTreeMap<String, TopicConfig>, AdminError> {
        let result = self.call_typed(broker_addr, &GetAllTopicConfigRequestHeader::default()).await;
        match empty_table_as_default(result, "No topic in this broker")? {
            Some(wrapper @ TopicConfigSerializeWrapper { .. }) => Ok(wrapper.topic_config_table),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Every subscription group config of one broker (GET_ALL_SUBSCRIPTIONGROUP_CONFIG).
    pub async fn subscription_groups(
        &self,
        broker_addr: &str,
    ) -> Result<BTreeMap<String, SubscriptionGroupConfig>, AdminError> {
        let result = self.call_typed(broker_addr, &GetAllSubscriptionGroupRequestHeader::default()).await;
        match empty_table_as_default(result, "No subscription group in this broker")? {
            Some(wrapper @ SubscriptionGroupWrapper { .. }) => Ok(wrapper.subscription_group_table),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Topic names registered in the NameServer.
    pub async fn topic_list(&self) -> Result<Vec<String>, AdminError> {
        let list: TopicList = self.call_namesrv_typed(&GetAllTopicListFromNameServer {}).await?;
        Ok(list.topic_list)
    }

    /// Topic names of one cluster, as the NameServer has them.
    pub async fn topics_of_cluster(&self, cluster: &str) -> Result<Vec<String>, AdminError> {
        let list: TopicList = self
            .call_namesrv_typed(&GetTopicsByClusterRequestHeader { cluster: cluster.to_string() })
            .await?;
        Ok(list.topic_list)
    }

    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData, AdminError> {
        self.call_namesrv_typed(&GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: Some(true),
        })
        .await
    }
}

/// Brokers answer SYSTEM_ERROR with a fixed remark when a table is empty
/// (`AdminBrokerProcessor.getAllTopicConfig` / `getAllSubscriptionGroup`): that is no error.
fn empty_table_as_default<T>(result: Result<T, AdminError>, remark: &str) -> Result<Option<T>, AdminError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(AdminError::Refused { code, remark: r, .. })
            if code == ferry_remoting::ResponseCode::SYSTEM_ERROR && r.contains(remark) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
