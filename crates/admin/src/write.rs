//! The only operations that change a cluster: creating or updating topics and subscription groups
//! on one broker. Used by imports into a target cluster, never by export.

use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use ferry_remoting::request::{CreateTopicRequestHeader, RequestHeader};
use ferry_remoting::{fastjson, Frame, RequestCode};

use crate::client::Admin;
use crate::error::AdminError;

impl Admin {
    /// UPDATE_AND_CREATE_TOPIC on one broker. `attributes` (5.x) are sent in the request form
    /// `+message.type=FIFO,+k=v`; leave them empty for a 4.x broker.
    pub async fn create_or_update_topic(
        &self,
        broker_addr: &str,
        topic: &TopicConfig,
    ) -> Result<(), AdminError> {
        let attributes = (!topic.attributes.is_empty()).then(|| {
            topic
                .attributes
                .iter()
                .map(|(k, v)| {
                    let key = if k.starts_with('+') { k.clone() } else { format!("+{k}") };
                    if v.is_empty() {
                        key
                    } else {
                        format!("{key}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        });
        let header = CreateTopicRequestHeader {
            topic: topic.topic_name.clone(),
            default_topic: "TBW102".into(),
            read_queue_nums: topic.read_queue_nums,
            write_queue_nums: topic.write_queue_nums,
            perm: topic.perm,
            topic_filter_type: topic.topic_filter_type.clone(),
            topic_sys_flag: Some(topic.topic_sys_flag),
            order: topic.order,
            attributes,
        };
        self.call(broker_addr, header.to_frame()).await.map(drop)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on one broker: the whole config as the body.
    pub async fn create_or_update_group(
        &self,
        broker_addr: &str,
        group: &SubscriptionGroupConfig,
    ) -> Result<(), AdminError> {
        let frame = Frame::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(fastjson::to_vec(group));
        self.call(broker_addr, frame).await.map(drop)
    }
}
