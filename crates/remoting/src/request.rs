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

/// ACL 1.0 (4.x to 5.3.2) `CreateAccessConfigRequestHeader`: creates the account, or updates the
/// one with this access key. The broker reuses what the request leaves out (`None`) of an existing
/// account, and splits `topicPerms` / `groupPerms` on `,` (`UtilAll.split`); an empty string
/// there becomes one empty entry, which the broker refuses. `Debug` hides the secret key.
#[derive(Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAccessConfigRequestHeader {
    pub access_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub white_remote_address: Option<String>,
    pub admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_topic_perm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_group_perm: Option<String>,
    /// `res=PERM` entries joined with `,`, e.g. `topicA=DENY,topicB=PUB|SUB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_perms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_perms: Option<String>,
}

impl RequestHeader for CreateAccessConfigRequestHeader {
    const CODE: RequestCode = RequestCode::UPDATE_AND_CREATE_ACL_CONFIG;
}

impl std::fmt::Debug for CreateAccessConfigRequestHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateAccessConfigRequestHeader")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

header!(
    /// ACL 2.0 (5.3+): the `UserInfo` body (username, password, userType, userStatus) goes with it.
    CreateUserRequestHeader = AUTH_CREATE_USER { username: String }
);

header!(
    /// ACL 2.0: the broker keeps what the `UserInfo` body leaves out (a blank password, no type or
    /// status).
    UpdateUserRequestHeader = AUTH_UPDATE_USER { username: String }
);

header!(
    /// ACL 2.0: answers a `UserInfo` body, or no body when there is no such user.
    GetUserRequestHeader = AUTH_GET_USER { username: String }
);

header!(
    /// ACL 2.0: the `AclInfo` body goes with it. Policies are merged into the subject's existing
    /// ones, entry by resource (`Acl.updatePolicy`), as for AUTH_UPDATE_ACL.
    CreateAclRequestHeader = AUTH_CREATE_ACL { subject: String }
);

header!(
    /// ACL 2.0: like AUTH_CREATE_ACL, the body's entries replace those on the same resource; the
    /// others stay.
    UpdateAclRequestHeader = AUTH_UPDATE_ACL { subject: String }
);

header!(
    /// ACL 2.0: answers an `AclInfo` body, or no body when the subject has no policies.
    GetAclRequestHeader = AUTH_GET_ACL { subject: String }
);

header!(
    /// ACL 2.0: without `resource` the subject's whole ACL goes; with it, the one entry of that
    /// policy type (`Custom` when unset).
    DeleteAclRequestHeader = AUTH_DELETE_ACL {
        subject: String,
        policy_type: Option<String>,
        resource: Option<String>,
    }
);

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

    /// Field names as in the Java classes: 4.9.8 `CreateAccessConfigRequestHeader`, 5.3.3
    /// `Create/Update/GetUserRequestHeader`, `Create/Update/Get/DeleteAclRequestHeader`.
    #[test]
    fn acl_headers_use_the_java_field_names() {
        let f = CreateAccessConfigRequestHeader {
            access_key: "app-0001".into(),
            secret_key: Some("s3cret-01".into()),
            white_remote_address: Some(String::new()),
            admin: false,
            default_topic_perm: Some("DENY".into()),
            default_group_perm: None,
            topic_perms: Some("a=PUB,b=PUB|SUB".into()),
            group_perms: None,
        }
        .to_frame();
        assert_eq!(f.header.code, 50);
        let keys: Vec<&str> = f.header.ext_fields.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["accessKey", "admin", "defaultTopicPerm", "secretKey", "topicPerms", "whiteRemoteAddress"]
        );
        assert_eq!(f.header.field("admin"), Some("false"));
        assert_eq!(f.header.field("whiteRemoteAddress"), Some(""), "sent: an empty address clears one");
        assert_eq!(f.header.field("topicPerms"), Some("a=PUB,b=PUB|SUB"));

        let f = CreateUserRequestHeader { username: "u".into() }.to_frame();
        assert_eq!((f.header.code, f.header.field("username")), (3001, Some("u")));
        assert_eq!(UpdateUserRequestHeader { username: "u".into() }.to_frame().header.code, 3002);
        assert_eq!(GetUserRequestHeader { username: "u".into() }.to_frame().header.code, 3004);
        let f = CreateAclRequestHeader { subject: "User:u".into() }.to_frame();
        assert_eq!((f.header.code, f.header.field("subject")), (3006, Some("User:u")));
        assert_eq!(UpdateAclRequestHeader { subject: "User:u".into() }.to_frame().header.code, 3007);
        assert_eq!(GetAclRequestHeader { subject: "User:u".into() }.to_frame().header.code, 3009);
        let f = DeleteAclRequestHeader {
            subject: "User:u".into(),
            policy_type: Some("Default".into()),
            resource: Some("Topic:*".into()),
        }
        .to_frame();
        assert_eq!(f.header.code, 3008);
        let keys: Vec<&str> = f.header.ext_fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["policyType", "resource", "subject"]);
    }

    #[test]
    fn the_access_config_header_hides_its_secret_in_debug() {
        let h = CreateAccessConfigRequestHeader {
            access_key: "app-0001".into(),
            secret_key: Some("s3cret-01".into()),
            ..Default::default()
        };
        let shown = format!("{h:?}");
        assert!(shown.contains("app-0001") && !shown.contains("s3cret-01"), "{shown}");
    }
}
