//! Typed request headers: each is a struct whose camelCase fields become the frame's `extFields`
//! (stringified, `None` omitted), as `CommandCustomHeader` fields do in Java.

use serde::Serialize;
use serde_json::Value;

use crate::code::RequestCode;
use crate::frame::Frame;

/// A request header with the code it is sent under.
pub trait RequestHeader: Serialize {
    const CODE: RequestCode;

    fn to_frame(&self) -> Frame {
        Frame::request(Self::CODE).with_fields(fields_of(self))
    }
}

/// The extFields of a header: every non-null field as a string.
pub fn fields_of<T: Serialize + ?Sized>(header: &T) -> Vec<(String, String)> {
    match serde_json::to_value(header).expect("headers are plain data") {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::Null => None,
                Value::String(s) => Some((k, s)),
                other => Some((k, other.to_string())),
            })
            .collect(),
        Value::Null => Vec::new(),
        other => panic!("a request header must serialize to an object, got {other}"),
    }
}

macro_rules! header {
    ($(#[$meta:meta])* $name:ident = $code:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fm])* #[serde(skip_serializing_if = "crate::request::is_unset")] pub $field: $ty,)*
        }

        impl RequestHeader for $name {
            const CODE: RequestCode = RequestCode::$code;
        }
    };
}

/// Whether a field is left out of the extFields.
pub fn is_unset<T: Serialize>(v: &T) -> bool {
    matches!(serde_json::to_value(v), Ok(Value::Null))
}

header!(GetRouteInfoRequestHeader = GET_ROUTEINFO_BY_TOPIC {
    topic: String,
    /// 4.9.4+: ask for standard JSON whatever our version says.
    accept_standard_json_only: Option<bool>,
});

header!(GetBrokerClusterInfo = GET_BROKER_CLUSTER_INFO {});

header!(GetAllTopicListFromNameServer = GET_ALL_TOPIC_LIST_FROM_NAMESERVER {});

header!(GetTopicsByClusterRequestHeader = GET_TOPICS_BY_CLUSTER { cluster: String });

header!(
    /// 4.9.8 and 5.3.3 return the whole table in one response (no paging).
    GetAllTopicConfigRequestHeader = GET_ALL_TOPIC_CONFIG {}
);

header!(GetAllSubscriptionGroupRequestHeader = GET_ALL_SUBSCRIPTIONGROUP_CONFIG {});

header!(GetBrokerConfigRequestHeader = GET_BROKER_CONFIG {});

header!(GetBrokerRuntimeInfoRequestHeader = GET_BROKER_RUNTIME_INFO {});

header!(GetConsumeStatsRequestHeader = GET_CONSUME_STATS {
    consumer_group: String,
    topic: Option<String>,
});

header!(GetTopicStatsInfoRequestHeader = GET_TOPIC_STATS_INFO { topic: String });

header!(GetConsumerConnectionListRequestHeader = GET_CONSUMER_CONNECTION_LIST { consumer_group: String });

header!(GetProducerConnectionListRequestHeader = GET_PRODUCER_CONNECTION_LIST { producer_group: String });

header!(CreateTopicRequestHeader = UPDATE_AND_CREATE_TOPIC {
    topic: String,
    default_topic: String,
    read_queue_nums: i32,
    write_queue_nums: i32,
    perm: i32,
    topic_filter_type: String,
    topic_sys_flag: Option<i32>,
    order: bool,
    /// 5.x: `+message.type=FIFO` style.
    attributes: Option<String>,
});

header!(ViewBrokerStatsDataRequestHeader = VIEW_BROKER_STATS_DATA { stats_name: String, stats_key: String });

header!(GetSystemTopicListFromBroker = GET_SYSTEM_TOPIC_LIST_FROM_BROKER {});

header!(GetKvListByNamespaceRequestHeader = GET_KVLIST_BY_NAMESPACE { namespace: String });

header!(PutKvConfigRequestHeader = PUT_KV_CONFIG { namespace: String, key: String, value: String });

header!(GetBrokerAclInfo = GET_BROKER_CLUSTER_ACL_INFO {});

header!(GetBrokerAclConfig = GET_BROKER_CLUSTER_ACL_CONFIG {});

header!(ListUsersRequestHeader = AUTH_LIST_USER { filter: Option<String> });

header!(ListAclsRequestHeader = AUTH_LIST_ACL { subject_filter: Option<String>, resource_filter: Option<String> });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_string_ext_fields_without_unset_ones() {
        let f = GetConsumeStatsRequestHeader { consumer_group: "g".into(), topic: None }.to_frame();
        assert_eq!(f.header.code, 208);
        assert_eq!(f.header.field("consumerGroup"), Some("g"));
        assert!(f.header.field("topic").is_none());

        let f = CreateTopicRequestHeader {
            topic: "T".into(),
            read_queue_nums: 4,
            order: false,
            ..Default::default()
        }
        .to_frame();
        assert_eq!(f.header.field("readQueueNums"), Some("4"));
        assert_eq!(f.header.field("order"), Some("false"));
    }
}
