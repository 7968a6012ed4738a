//! Tests of [`plan`](super::plan), one file per rule group; documents are built from JSON so
//! that fields added to the document types later do not break them.

mod accounts;
mod conflicts;
mod groups;
mod names;
mod props;
mod queues;

use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use serde_json::{json, Value};

use super::*;
use crate::document::Document;

pub(super) const MASTERS: [&str; 2] = ["broker-a", "broker-b"];

/// A Ferry document read from cluster `Source` with the given masters.
pub(super) fn ferry_doc(sources: &[&str], topics: Value, groups: Value, acl: Option<Value>) -> Document {
    let brokers: Vec<Value> =
        sources.iter().map(|b| json!({"name": b, "master": "10.0.0.1:10911"})).collect();
    let mut ferry = json!({
        "formatVersion": 1, "exportedBy": "ferry test", "exportTime": "2026-01-01T00:00:00Z",
        "source": {"cluster": "Source", "brokers": brokers},
        "topics": topics, "groups": groups, "namespaces": [], "skipped": {}
    });
    if let Some(acl) = acl {
        ferry["acl"] = acl;
    }
    serde_json::from_value(json!({ "ferry": ferry })).unwrap()
}

/// A Ferry topic entry with its queues on each source master.
pub(super) fn topic(name: &str, on: &[(&str, i32, i32)]) -> Value {
    let brokers: Vec<Value> = on
        .iter()
        .map(|(b, r, w)| json!({"broker": b, "readQueueNums": r, "writeQueueNums": w, "perm": 6}))
        .collect();
    json!({
        "name": name,
        "readQueueNums": on.iter().map(|x| x.1).sum::<i32>(),
        "writeQueueNums": on.iter().map(|x| x.2).sum::<i32>(),
        "perm": 6, "order": false, "topicSysFlag": 0, "topicFilterType": "SINGLE_TAG",
        "brokers": brokers
    })
}

pub(super) fn group(name: &str, config: Value) -> Value {
    let mut config = config;
    config["groupName"] = json!(name);
    json!({"name": name, "brokers": ["broker-a"], "config": config})
}

/// An export.sh file: totals over `masters` source masters (`None`: not said).
pub(super) fn apache_doc(topics: &[(&str, i32, i32)], groups: Value, masters: Option<usize>) -> Document {
    let table: serde_json::Map<String, Value> = topics
        .iter()
        .map(|(n, r, w)| {
            let t = json!({"topicName": n, "readQueueNums": r, "writeQueueNums": w, "perm": 6});
            (n.to_string(), t)
        })
        .collect();
    let configs = match masters {
        Some(m) => json!({"clusterScale": {"masterBrokerSize": m}}),
        None => json!({}),
    };
    serde_json::from_value(json!({
        "configs": configs,
        "metadata": {"topicConfigTable": table, "subscriptionGroupTable": groups}
    }))
    .unwrap()
}

pub(super) fn target(version: MajorVersion) -> TargetLayout {
    TargetLayout::new("Target", version, MASTERS.iter().map(|s| s.to_string()).collect())
}

pub(super) fn run(doc: &Document, target: &TargetLayout, options: &ImportOptions) -> ImportPlan {
    plan(doc, target, options).unwrap()
}

pub(super) fn item<'p>(plan: &'p ImportPlan, kind: ItemKind, source_name: &str) -> &'p PlannedItem {
    plan.items
        .iter()
        .find(|i| i.kind == kind && i.source_name == source_name)
        .unwrap_or_else(|| panic!("no {kind:?} '{source_name}' in {:#?}", plan.items))
}

pub(super) fn cause(item: &PlannedItem) -> &str {
    match &item.action {
        Action::Fail { cause } => cause,
        other => panic!("{} should fail, is {other:?}", item.source_name),
    }
}

/// The configs an item creates.
pub(super) fn created(item: &PlannedItem) -> &[(String, Config)] {
    match &item.action {
        Action::Create { per_broker } => per_broker,
        other => panic!("{} should be created, is {other:?}", item.source_name),
    }
}

pub(super) fn topic_configs(item: &PlannedItem) -> Vec<(String, TopicConfig)> {
    created(item)
        .iter()
        .map(|(b, c)| match c {
            Config::Topic(t) => (b.clone(), t.clone()),
            other => panic!("not a topic config: {other:?}"),
        })
        .collect()
}

pub(super) fn group_config(item: &PlannedItem) -> SubscriptionGroupConfig {
    match &created(item)[0].1 {
        Config::Group(g) => g.clone(),
        other => panic!("not a group config: {other:?}"),
    }
}

pub(super) fn account_config(item: &PlannedItem) -> AccountConfig {
    match &created(item)[0].1 {
        Config::Account(a) => a.clone(),
        other => panic!("not an account config: {other:?}"),
    }
}
