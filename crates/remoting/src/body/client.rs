//! What clients tell brokers about themselves: `HeartbeatData` (HEART_BEAT 34 request body;
//! `remoting/.../protocol/heartbeat` in 5.x, `common/.../protocol/heartbeat` in 4.9.x).

use serde::{Deserialize, Serialize};

/// `HeartbeatData`. Note the capital `ID` in `clientID`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub producer_data_set: Vec<ProducerData>,
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x heartbeat V2: subscriptions are left out while they have not changed. fastjson names
    /// it after the getter `isWithoutSub()`: `withoutSub`.
    #[serde(rename = "withoutSub", alias = "isWithoutSub")]
    pub is_without_sub: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub group_name: String,
    /// `CONSUME_ACTIVELY` (pull) or `CONSUME_PASSIVELY` (push).
    pub consume_type: Option<String>,
    /// `CLUSTERING` or `BROADCASTING`.
    pub message_model: Option<String>,
    pub consume_from_where: Option<String>,
    pub subscription_data_set: Vec<SubscriptionData>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub topic: String,
    pub sub_string: String,
    pub expression_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson;

    #[test]
    fn a_java_heartbeat_parses() {
        let body = br#"{"clientID":"10.0.0.5@12345","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"group1","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"}],"unitMode":false}],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"},{"groupName":"pg1"}]}"#;
        let h: HeartbeatData = fastjson::from_slice(body).unwrap();
        assert_eq!(h.client_id, "10.0.0.5@12345");
        assert_eq!(h.producer_data_set[1].group_name, "pg1");
        let c = &h.consumer_data_set[0];
        assert_eq!(c.group_name, "group1");
        assert_eq!(c.message_model.as_deref(), Some("CLUSTERING"));
        assert_eq!(c.subscription_data_set[0].topic, "TopicTest");
        assert!(!h.is_without_sub);
    }

    #[test]
    fn a_v2_heartbeat_without_subscriptions_says_so() {
        let h: HeartbeatData = fastjson::from_slice(br#"{"clientID":"c","heartbeatFingerprint":7,"withoutSub":true,"consumerDataSet":[{"groupName":"g","subscriptionDataSet":[]}]}"#).unwrap();
        assert!(h.is_without_sub);
    }
}
