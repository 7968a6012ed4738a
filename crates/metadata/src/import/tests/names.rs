//! Rules 1 to 3: namespaces, name checks, duplicates, per-task limit, selection.

use serde_json::json;

use super::*;

fn names_doc() -> Document {
    let topics = json!([topic("orders", &[("broker-a", 4, 4)]), topic("shop%pay", &[("broker-a", 4, 4)])]);
    let groups = json!([group("billing", json!({})), group("shop%invoices", json!({}))]);
    ferry_doc(&["broker-a"], topics, groups, None)
}

#[test]
fn to_cluster_keeps_names_and_their_namespaces() {
    let plan = run(&names_doc(), &target(MajorVersion::V5), &ImportOptions::default());
    let orders = item(&plan, ItemKind::Topic, "orders");
    assert_eq!((orders.target_name.as_str(), orders.namespace.as_str()), ("orders", "default"));
    let pay = item(&plan, ItemKind::Topic, "shop%pay");
    assert_eq!((pay.target_name.as_str(), pay.namespace.as_str()), ("shop%pay", "shop"));
    assert_eq!(item(&plan, ItemKind::Group, "shop%invoices").namespace, "shop");
    let expected = vec![
        NamespaceUse { name: "default".into(), found_in_source: true },
        NamespaceUse { name: "shop".into(), found_in_source: true },
    ];
    assert_eq!(plan.namespaces, expected);
}

#[test]
fn to_namespace_prefixes_names_and_replaces_an_old_namespace_with_a_warning() {
    let options = ImportOptions { mode: Mode::ToNamespace("new".into()), ..ImportOptions::default() };
    let plan = run(&names_doc(), &target(MajorVersion::V5), &options);
    let orders = item(&plan, ItemKind::Topic, "orders");
    assert_eq!((orders.target_name.as_str(), orders.namespace.as_str()), ("new%orders", "new"));
    assert!(orders.warnings.is_empty());
    assert_eq!(topic_configs(orders)[0].1.topic_name, "new%orders");
    let pay = item(&plan, ItemKind::Topic, "shop%pay");
    assert_eq!(pay.target_name, "new%pay");
    assert!(pay.warnings.iter().any(|w| w.contains("'shop' replaced by 'new'")), "{:?}", pay.warnings);
    assert_eq!(group_config(item(&plan, ItemKind::Group, "billing")).group_name, "new%billing");
    assert_eq!(plan.namespaces, vec![NamespaceUse { name: "new".into(), found_in_source: false }]);
}

#[test]
fn an_invalid_target_namespace_refuses_the_task() {
    for ns in ["", "a%b", "a b", "ns.1"] {
        let options = ImportOptions { mode: Mode::ToNamespace(ns.into()), ..ImportOptions::default() };
        let err = plan(&names_doc(), &target(MajorVersion::V5), &options).unwrap_err();
        assert!(matches!(err, ImportError::Namespace { .. }), "{ns}: {err}");
    }
}

#[test]
fn invalid_names_fail_naming_the_item_and_the_rule() {
    let long = "t".repeat(120);
    let topics = json!([
        topic("bad topic", &[("broker-a", 4, 4)]),
        topic(&long, &[("broker-a", 4, 4)]),
        topic("ok", &[("broker-a", 4, 4)])
    ]);
    let groups = json!([group("bad.group", json!({}))]);
    let doc = ferry_doc(&["broker-a"], topics, groups, None);
    let options = ImportOptions { mode: Mode::ToNamespace("tenant01".into()), ..ImportOptions::default() };
    let plan = run(&doc, &target(MajorVersion::V5), &options);
    let bad = cause(item(&plan, ItemKind::Topic, "bad topic"));
    assert!(bad.contains("'bad topic'") && bad.contains("TopicValidator.validateTopic"), "{bad}");
    let too_long = cause(item(&plan, ItemKind::Topic, &long));
    assert!(too_long.contains("129 characters") && too_long.contains("127"), "{too_long}");
    let g = cause(item(&plan, ItemKind::Group, "bad.group"));
    assert!(g.contains("'bad.group'") && g.contains("Validators.checkGroup"), "{g}");
    assert!(!item(&plan, ItemKind::Topic, "ok").is_failed());
}

#[test]
fn reserved_names_fail() {
    let topics = json!([
        topic("TBW102", &[("broker-a", 4, 4)]),
        topic("%RETRY%billing", &[("broker-a", 1, 1)]),
        topic("broker-b", &[("broker-a", 4, 4)]),
        topic("Source_REPLY_TOPIC", &[("broker-a", 4, 4)])
    ]);
    let groups = json!([group("CID_RMQ_SYS_TRANS", json!({})), group("TOOLS_CONSUMER", json!({}))]);
    let doc = ferry_doc(&["broker-a"], topics, groups, None);
    let plan = run(&doc, &target(MajorVersion::V5), &ImportOptions::default());
    assert_eq!(plan.items.len(), 6, "failures are listed, not dropped");
    for i in &plan.items {
        let c = cause(i);
        assert!(c.contains(&format!("'{}'", i.source_name)), "{c}");
    }
    assert!(cause(item(&plan, ItemKind::Topic, "broker-b")).contains("system topic name"));
    assert!(cause(item(&plan, ItemKind::Topic, "%RETRY%billing")).contains("%RETRY%"));
}

#[test]
fn two_sources_with_one_target_name_both_fail_naming_each_other() {
    let topics = json!([
        topic("a%x", &[("broker-a", 4, 4)]),
        topic("b%x", &[("broker-a", 4, 4)]),
        topic("y", &[("broker-a", 4, 4)])
    ]);
    let groups = json!([group("a%g", json!({})), group("g", json!({}))]);
    let doc = ferry_doc(&["broker-a"], topics, groups, None);
    let options = ImportOptions { mode: Mode::ToNamespace("ns".into()), ..ImportOptions::default() };
    let plan = run(&doc, &target(MajorVersion::V5), &options);
    let a = cause(item(&plan, ItemKind::Topic, "a%x"));
    assert!(a.contains("'ns%x'") && a.contains("'b%x'") && a.contains("duplicate"), "{a}");
    assert!(cause(item(&plan, ItemKind::Topic, "b%x")).contains("'a%x'"));
    assert!(!item(&plan, ItemKind::Topic, "y").is_failed());
    assert!(cause(item(&plan, ItemKind::Group, "g")).contains("'a%g'"));
}

#[test]
fn items_past_the_per_task_limit_fail_in_name_order_topics_and_groups_apart() {
    let topics = json!([
        topic("t3", &[("broker-a", 4, 4)]),
        topic("t1", &[("broker-a", 4, 4)]),
        topic("t2", &[("broker-a", 4, 4)])
    ]);
    let groups = json!([group("g1", json!({})), group("g2", json!({})), group("g3", json!({}))]);
    let doc = ferry_doc(&["broker-a"], topics, groups, None);
    let options = ImportOptions { per_task_limit: 2, ..ImportOptions::default() };
    let plan = run(&doc, &target(MajorVersion::V5), &options);
    assert_eq!(plan.items.len(), 6);
    assert!(
        !item(&plan, ItemKind::Topic, "t1").is_failed() && !item(&plan, ItemKind::Topic, "t2").is_failed()
    );
    assert_eq!(cause(item(&plan, ItemKind::Topic, "t3")), "over the per-task limit of 2 topics");
    assert_eq!(cause(item(&plan, ItemKind::Group, "g3")), "over the per-task limit of 2 groups");
    assert!(!item(&plan, ItemKind::Group, "g2").is_failed());
}

#[test]
fn selection_patterns_choose_items_and_unused_patterns_are_reported() {
    let options = ImportOptions {
        selection: Selection {
            topics: Filter::Names(vec!["shop%*".into(), "nothing*".into()]),
            groups: Filter::None,
            accounts: Filter::All,
        },
        ..ImportOptions::default()
    };
    let plan = run(&names_doc(), &target(MajorVersion::V5), &options);
    let names: Vec<&str> = plan.items.iter().map(|i| i.source_name.as_str()).collect();
    assert_eq!(names, vec!["shop%pay"]);
    assert!(plan.warnings.iter().any(|w| w.contains("'nothing*'")), "{:?}", plan.warnings);
}
