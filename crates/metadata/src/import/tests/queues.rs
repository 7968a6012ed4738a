//! Rule 4: queue numbers from Ferry and Apache documents onto the target's masters.

use serde_json::json;

use super::*;

fn reads(item: &PlannedItem) -> Vec<(String, i32, i32)> {
    topic_configs(item).into_iter().map(|(b, t)| (b, t.read_queue_nums, t.write_queue_nums)).collect()
}

#[test]
fn per_broker_gives_each_target_master_its_source_masters_queues() {
    let topics = json!([topic("t", &[("src-b", 8, 8), ("src-a", 4, 6)])]);
    let doc = ferry_doc(&["src-a", "src-b"], topics, json!([]), None);
    let plan = run(&doc, &target(MajorVersion::V5), &ImportOptions::default());
    let expected = vec![("broker-a".to_string(), 4, 6), ("broker-b".to_string(), 8, 8)];
    assert_eq!(reads(item(&plan, ItemKind::Topic, "t")), expected);
    assert!(plan.queue_mapping_explained.contains("paired by position"), "{}", plan.queue_mapping_explained);
}

#[test]
fn cluster_total_spreads_the_sum_over_the_target_masters() {
    let topics = json!([topic("t", &[("src-a", 8, 8), ("src-b", 8, 8), ("src-c", 8, 8)])]);
    let doc = ferry_doc(&["src-a", "src-b", "src-c"], topics, json!([]), None);
    let options = ImportOptions { queue_mapping: QueueMapping::ClusterTotal, ..ImportOptions::default() };
    let plan = run(&doc, &target(MajorVersion::V5), &options);
    let expected = vec![("broker-a".to_string(), 12, 12), ("broker-b".to_string(), 12, 12)];
    assert_eq!(reads(item(&plan, ItemKind::Topic, "t")), expected);
    assert!(plan.queue_mapping_explained.starts_with("Cluster total"));
}

#[test]
fn apache_totals_are_divided_by_the_source_masters_when_known() {
    let doc = apache_doc(&[("t", 16, 12)], json!({}), Some(2));
    let plan = run(&doc, &target(MajorVersion::V5), &ImportOptions::default());
    let expected = vec![("broker-a".to_string(), 8, 6), ("broker-b".to_string(), 8, 6)];
    assert_eq!(reads(item(&plan, ItemKind::Topic, "t")), expected);
    assert!(plan.queue_mapping_explained.contains("divided by 2"));

    let unknown = apache_doc(&[("t", 16, 12)], json!({}), None);
    let plan = run(&unknown, &target(MajorVersion::V5), &ImportOptions::default());
    assert_eq!(reads(item(&plan, ItemKind::Topic, "t"))[0], ("broker-a".to_string(), 16, 12));
    assert!(plan.warnings.iter().any(|w| w.contains("how many source masters")), "{:?}", plan.warnings);
}

#[test]
fn numbers_outside_the_range_are_fitted_with_a_warning_naming_the_master() {
    let topics = json!([topic("t", &[("src-a", 64, 2)])]);
    let doc = ferry_doc(&["src-a"], topics, json!([]), None);
    let plan = run(&doc, &target(MajorVersion::V5), &ImportOptions::default());
    let t = item(&plan, ItemKind::Topic, "t");
    assert_eq!(reads(t), vec![("broker-a".to_string(), 16, 3)]);
    assert!(
        t.warnings.contains(&"read queues fitted from 64 to 16 on broker-a".to_string()),
        "{:?}",
        t.warnings
    );
    assert!(t.warnings.contains(&"write queues fitted from 2 to 3 on broker-a".to_string()));
}

#[test]
fn apache_retry_queue_nums_are_divided_by_the_source_masters_with_a_warning() {
    let groups = json!({"g": {"groupName": "g", "retryQueueNums": 4}});
    let plan =
        run(&apache_doc(&[], groups.clone(), Some(2)), &target(MajorVersion::V5), &ImportOptions::default());
    let g = item(&plan, ItemKind::Group, "g");
    assert_eq!(group_config(g).retry_queue_nums, 2);
    assert!(g.warnings.iter().any(|w| w.contains("retryQueueNums 4")), "{:?}", g.warnings);

    let plan = run(&apache_doc(&[], groups, None), &target(MajorVersion::V5), &ImportOptions::default());
    assert_eq!(group_config(item(&plan, ItemKind::Group, "g")).retry_queue_nums, 1);
}
