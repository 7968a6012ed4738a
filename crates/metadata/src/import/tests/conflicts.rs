//! Rules 6 and 8: what the target already has, and re-runs converging.

use serde_json::json;

use super::*;

fn doc() -> Document {
    let topics = json!([topic("t", &[("src-a", 16, 16), ("src-b", 16, 16)])]);
    let groups = json!([group("g", json!({"retryMaxTimes": 5}))]);
    ferry_doc(&["src-a", "src-b"], topics, groups, None)
}

/// The target after the plan for `doc()` was carried out, with one change on broker-a.
fn changed_target(change: impl Fn(&mut TopicConfig)) -> TargetLayout {
    let first = run(&doc(), &target(MajorVersion::V5), &ImportOptions::default());
    let mut after = first.simulate(&target(MajorVersion::V5));
    change(after.topics.get_mut("broker-a").unwrap().get_mut("t").unwrap());
    after
}

#[test]
fn the_same_config_on_every_master_is_unchanged() {
    let plan = run(&doc(), &changed_target(|_| {}), &ImportOptions::default());
    assert_eq!(item(&plan, ItemKind::Topic, "t").action, Action::Unchanged);
    assert_eq!(item(&plan, ItemKind::Group, "g").action, Action::Unchanged);
}

#[test]
fn a_different_config_fails_showing_both_sides_unless_overwrite() {
    let target = changed_target(|t| t.write_queue_nums = 8);
    let plan = run(&doc(), &target, &ImportOptions::default());
    assert_eq!(
        cause(item(&plan, ItemKind::Topic, "t")),
        "exists with different settings: writeQueueNums 8 on target, 16 in source (broker-a); \
         import with overwrite to update it"
    );
    let options = ImportOptions { overwrite: true, ..ImportOptions::default() };
    let plan = run(&doc(), &target, &options);
    let t = item(&plan, ItemKind::Topic, "t");
    let Action::Update { per_broker, differences } = &t.action else { panic!("{:?}", t.action) };
    assert_eq!(per_broker.len(), 1, "only the master that differs");
    assert_eq!(per_broker[0].0, "broker-a");
    assert_eq!(
        differences[0],
        FieldDifference {
            broker: "broker-a".into(),
            field: "writeQueueNums".into(),
            target: "8".into(),
            source: "16".into()
        }
    );
    assert!(t.warnings.iter().any(|w| w.contains("unchanged on broker-b")), "{:?}", t.warnings);
}

#[test]
fn lowering_read_queues_with_overwrite_is_warned() {
    let target = changed_target(|t| t.read_queue_nums = 32);
    let options = ImportOptions { overwrite: true, queue_range: 1..=64, ..ImportOptions::default() };
    let plan = run(&doc(), &target, &options);
    let t = item(&plan, ItemKind::Topic, "t");
    assert!(t.warnings.iter().any(|w| w.contains("lowered from 32 to 16 on broker-a")), "{:?}", t.warnings);
}

#[test]
fn an_unchangeable_attribute_fails_even_with_overwrite() {
    let target = changed_target(|t| {
        t.attributes.insert("cleanup.policy".into(), "COMPACTION".into());
    });
    let options = ImportOptions { overwrite: true, ..ImportOptions::default() };
    let plan = run(&doc(), &target, &options);
    let c = cause(item(&plan, ItemKind::Topic, "t"));
    assert!(c.contains("cleanup.policy") && c.contains("COMPACTION on target"), "{c}");
}

#[test]
fn group_differences_cover_every_field() {
    let first = run(&doc(), &target(MajorVersion::V5), &ImportOptions::default());
    let mut target = first.simulate(&target(MajorVersion::V5));
    let g = target.groups.get_mut("broker-b").unwrap().get_mut("g").unwrap();
    g.extra.insert("consumeTimeoutMinute".into(), json!(60));
    let plan = run(&doc(), &target, &ImportOptions::default());
    let c = cause(item(&plan, ItemKind::Group, "g"));
    assert!(c.contains("consumeTimeoutMinute 60 on target, 15 in source (broker-b)"), "{c}");
}

#[test]
fn a_master_missing_the_item_gets_it_created_alone() {
    let mut target = changed_target(|_| {});
    target.topics.get_mut("broker-b").unwrap().remove("t");
    let plan = run(&doc(), &target, &ImportOptions::default());
    let t = item(&plan, ItemKind::Topic, "t");
    assert_eq!(topic_configs(t).len(), 1);
    assert_eq!(topic_configs(t)[0].0, "broker-b");
}

#[test]
fn a_plan_carried_out_then_planned_again_is_all_unchanged() {
    let acl = json!({"kind": "plain", "origin": "f", "secretsIncluded": true, "accounts": [
        {"accessKey": "shop-app", "secretKey": "secret-123", "admin": false,
         "defaultTopicPerm": "DENY", "topicPerms": ["orders=PUB|SUB"], "groupPerms": ["g=SUB"]}
    ]});
    let mut t = topic("orders", &[("src-a", 64, 1)]);
    t["attributes"] = json!({"+message.type": "FIFO"});
    let topics = json!([t, topic("shop%pay", &[("src-a", 4, 4), ("src-b", 8, 8)])]);
    let groups = json!([group("g", json!({"consumeTimeoutMinute": 20})), group("h", json!({}))]);
    let doc = ferry_doc(&["src-a", "src-b"], topics, groups, Some(acl));
    for version in [MajorVersion::V4, MajorVersion::V5] {
        for mode in [Mode::ToCluster, Mode::ToNamespace("ns".into())] {
            let options = ImportOptions { mode, ..ImportOptions::default() };
            let mut empty = target(version);
            empty.accounts = Some(TargetAccounts::default());
            let first = run(&doc, &empty, &options);
            assert!(first.items.iter().all(|i| matches!(i.action, Action::Create { .. })), "{first:#?}");
            let again = run(&doc, &first.simulate(&empty), &options);
            for i in &again.items {
                assert_eq!(i.action, Action::Unchanged, "{version:?} {}", i.source_name);
            }
        }
    }
}
