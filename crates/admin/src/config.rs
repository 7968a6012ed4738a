//! Topics and subscription groups as each broker holds them.

use std::collections::BTreeMap;

use ferry_remoting::body::{
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper, TopicList,
    TopicRouteData,
};
use ferry_remoting::request::{
    GetAllSubscriptionGroupRequestHeader, GetAllTopicConfigRequestHeader, GetAllTopicListFromNameServer,
    GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader,
};

use crate::client::Admin;
use crate::error::AdminError;

impl Admin {
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
