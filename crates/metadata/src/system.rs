//! System topics and groups, which an export leaves out by default (`TopicValidator`, `MixAll` in
//! apache/rocketmq 4.9.8 and 5.3.3). Brokers also report their runtime system topics (cluster and
//! broker names, trace and reply topics) through GET_SYSTEM_TOPIC_LIST_FROM_BROKER.

const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

const SYSTEM_GROUPS: &[&str] = &[
    "DEFAULT_PRODUCER",
    "DEFAULT_CONSUMER",
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "__MONITOR_CONSUMER",
    "CLIENT_INNER_PRODUCER",
    "SELF_TEST_P_GROUP",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_ONSAPI_PULL",
    "CID_RMQ_SYS_TRANS",
    "SCHEDULE_CONSUMER",
];

const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

pub const RETRY_PREFIX: &str = "%RETRY%";
pub const DLQ_PREFIX: &str = "%DLQ%";
pub const LMQ_PREFIX: &str = "%LMQ%";

/// A topic that belongs to RocketMQ itself, not to the business.
pub fn is_system_topic(name: &str, cluster: &str, broker_names: &[String]) -> bool {
    SYSTEM_TOPICS.contains(&name)
        || name.starts_with(SYSTEM_TOPIC_PREFIX)
        || name == cluster
        || name == format!("{cluster}_REPLY_TOPIC")
        || broker_names.iter().any(|b| b == name)
}

/// `%RETRY%<group>` and `%DLQ%<group>`: they follow their group, not exported as topics.
pub fn is_retry_or_dlq_topic(name: &str) -> bool {
    name.starts_with(RETRY_PREFIX) || name.starts_with(DLQ_PREFIX)
}

pub fn is_system_group(name: &str) -> bool {
    SYSTEM_GROUPS.contains(&name) || name.starts_with(SYSTEM_GROUP_PREFIX)
}

/// The namespace of a name in the 4.x form `NS%name` (`%RETRY%NS%group` too): the part before
/// the first `%`, if any.
pub fn namespace_of(name: &str) -> Option<&str> {
    let bare = name.strip_prefix(RETRY_PREFIX).or_else(|| name.strip_prefix(DLQ_PREFIX)).unwrap_or(name);
    match bare.split_once('%') {
        Some((ns, rest)) if !ns.is_empty() && !rest.is_empty() => Some(ns),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_are_recognised() {
        let brokers = vec!["broker-a".to_string()];
        assert!(is_system_topic("TBW102", "C", &brokers));
        assert!(is_system_topic("rmq_sys_wheel_timer", "C", &brokers));
        assert!(is_system_topic("C", "C", &brokers));
        assert!(is_system_topic("C_REPLY_TOPIC", "C", &brokers));
        assert!(is_system_topic("broker-a", "C", &brokers));
        assert!(!is_system_topic("orders", "C", &brokers));
        assert!(is_system_group("CID_RMQ_SYS_X"));
        assert!(is_system_group("TOOLS_CONSUMER"));
        assert!(!is_system_group("billing"));
        assert!(is_retry_or_dlq_topic("%RETRY%g"));
    }

    #[test]
    fn namespaces_are_the_part_before_percent() {
        assert_eq!(namespace_of("shop%orders"), Some("shop"));
        assert_eq!(namespace_of("%RETRY%shop%billing"), Some("shop"));
        assert_eq!(namespace_of("orders"), None);
        assert_eq!(namespace_of("%RETRY%billing"), None);
    }
}
