//! Rule 5: every group field kept; 5.x-only group fields and topic message types by version.

use serde_json::json;

use super::*;

fn five_x_group() -> Value {
    json!({
        "consumeMessageOrderly": true, "retryMaxTimes": 3, "consumeTimeoutMinute": 30,
        "groupRetryPolicy": {"type": "EXPONENTIAL", "exponentialRetryPolicy": {"initial": 1000}},
        "subscriptionDataSet": [{"topic": "orders", "expressionType": "TAG", "expression": "*"}],
        "attributes": {"k": "v"}, "futureField": 1
    })
}

#[test]
fn groups_keep_every_field_on_a_5x_target() {
    let doc = ferry_doc(&["broker-a"], json!([]), json!([group("g", five_x_group())]), None);
    let plan = run(&doc, &target(MajorVersion::V5), &ImportOptions::default());
    let g = item(&plan, ItemKind::Group, "g");
    let config = group_config(g);
    let source = &doc.ferry.as_ref().unwrap().groups[0].config;
    assert_eq!(&config, source);
    assert_eq!(config.extra["futureField"], 1);
    assert_eq!(created(g).len(), 2, "on every chosen master");
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
}

#[test]
fn a_4x_target_drops_5x_group_fields_and_names_them() {
    let doc = ferry_doc(&["broker-a"], json!([]), json!([group("g", five_x_group())]), None);
    let plan = run(&doc, &target(MajorVersion::V4), &ImportOptions::default());
    let g = item(&plan, ItemKind::Group, "g");
    let config = group_config(g);
    assert_eq!(config.consume_message_orderly, None);
    assert!(config.extra.is_empty() && config.attributes.is_empty());
    assert_eq!(config.retry_max_times, 3, "4.x fields stay");
    let w = g.warnings.join("\n");
    for name in [
        "consumeMessageOrderly",
        "consumeTimeoutMinute",
        "groupRetryPolicy",
        "subscriptionDataSet",
        "attributes",
        "futureField",
    ] {
        assert!(w.contains(name), "{name} missing from {w}");
    }
}

#[test]
fn subscriptions_follow_their_topics_into_the_namespace() {
    let doc = ferry_doc(&["broker-a"], json!([]), json!([group("g", five_x_group())]), None);
    let options = ImportOptions { mode: Mode::ToNamespace("ns".into()), ..ImportOptions::default() };
    let plan = run(&doc, &target(MajorVersion::V5), &options);
    let config = group_config(item(&plan, ItemKind::Group, "g"));
    assert_eq!(config.extra["subscriptionDataSet"][0]["topic"], "ns%orders");
}

fn fifo_doc(key: &str) -> Document {
    let mut t = topic("t", &[("broker-a", 4, 4)]);
    t["attributes"] = json!({ key: "FIFO" });
    ferry_doc(&["broker-a"], json!([t]), json!([]), None)
}

#[test]
fn message_types_are_kept_on_5x_and_dropped_with_a_warning_on_4x() {
    // Brokers store `message.type`; Ferry's export so far wrote the request form `+message.type`.
    for key in ["message.type", "+message.type"] {
        let plan = run(&fifo_doc(key), &target(MajorVersion::V5), &ImportOptions::default());
        let configs = topic_configs(item(&plan, ItemKind::Topic, "t"));
        assert_eq!(configs[0].1.attributes["message.type"], "FIFO", "{key}");
    }
    let plan = run(&fifo_doc("message.type"), &target(MajorVersion::V4), &ImportOptions::default());
    let t = item(&plan, ItemKind::Topic, "t");
    assert!(topic_configs(t)[0].1.attributes.is_empty());
    assert!(t.warnings.iter().any(|w| w.contains("message.type=FIFO")), "{:?}", t.warnings);
}

#[test]
fn attributes_a_5x_broker_refuses_fail_the_topic() {
    let mut t = topic("t", &[("broker-a", 4, 4)]);
    t["attributes"] = json!({"no.such": "x"});
    let doc = ferry_doc(&["broker-a"], json!([t]), json!([]), None);
    let plan = run(&doc, &target(MajorVersion::V5), &ImportOptions::default());
    assert!(cause(item(&plan, ItemKind::Topic, "t")).contains("'no.such'"));
}
