//! `ferry import` between real clusters: a 4.9.8 source, a 5.3.3 and a 4.9.8 target. Each test
//! works on its own names, so tests can share the clusters.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferry_admin::{Admin, AdminOptions};
use ferry_testkit::{shared, Cluster, ClusterSpec, GroupSpec, RocketMqVersion, TopicSpec};
use serde_json::Value;

fn source() -> &'static Cluster {
    shared(ClusterSpec::new("imp-src", RocketMqVersion::V4_9_8))
}

fn target(version: RocketMqVersion) -> &'static Cluster {
    shared(ClusterSpec::new(format!("imp-dst-{version}"), version))
}

/// One store file for this test binary, never the user's own.
fn store_path() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env("FERRY_STORE", store_path().join("ferry.db"))
        .output()
        .expect("run ferry")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exports the source into a temp dir and returns the file.
fn exported(dir: &Path) -> PathBuf {
    let file = dir.join("src.json");
    let s = source();
    let o = ferry(&[
        "export",
        "--no-input",
        "-n",
        s.namesrv_addr(),
        "-c",
        s.cluster_name(),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    file
}

fn import(t: &Cluster, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["import", "-n", t.namesrv_addr(), "-c", t.cluster_name(), "--json"];
    args.extend_from_slice(extra);
    let o = ferry(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, v)
}

fn outcome<'a>(items: &'a Value, target_name: &str) -> &'a Value {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .find(|i| i["targetName"] == target_name)
        .unwrap_or_else(|| panic!("{target_name} not in {items}"))
}

fn admin_of(c: &Cluster) -> Admin {
    Admin::new(c.namesrv_addr(), AdminOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_4_9_document_imports_into_5_3_and_a_rerun_changes_nothing() {
    let s = source();
    s.harness()
        .create_topics(
            s.cluster_name(),
            &[
                TopicSpec::new("a-orders").queues(8, 8),
                TopicSpec::new("a-wide").queues(64, 64),
                TopicSpec::new("shop%a-payments").queues(4, 4).order(true),
            ],
        )
        .unwrap();
    s.harness()
        .create_groups(
            s.cluster_name(),
            &[GroupSpec::new("a-billing").retry_max(5), GroupSpec::new("shop%a-audit")],
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = exported(dir.path());
    let t = target(RocketMqVersion::V5_3_3);
    let sel = ["--from", file.to_str().unwrap(), "--topics", "a-*,shop%a-*", "--groups", "a-*,shop%a-*"];

    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    for name in ["a-orders", "a-wide", "shop%a-payments", "a-billing", "shop%a-audit"] {
        assert_eq!(outcome(&items, name)["outcome"]["status"], "created", "{name}: {items}");
    }
    let wide = outcome(&items, "a-wide");
    assert!(
        wide["warnings"].to_string().contains("64") && wide["warnings"].to_string().contains("16"),
        "{wide}"
    );

    // The target really has them, with the source's settings.
    let admin = admin_of(t);
    let topics = admin.topic_configs(t.broker_addr()).await.unwrap();
    assert_eq!((topics["a-orders"].read_queue_nums, topics["a-orders"].write_queue_nums), (8, 8));
    assert_eq!(topics["a-wide"].write_queue_nums, 16, "fitted into 3..=16");
    assert!(
        topics["shop%a-payments"].order,
        "{:?} / {}",
        topics["shop%a-payments"],
        outcome(&items, "shop%a-payments")
    );
    let order_conf = admin.order_topic_conf().await.unwrap();
    assert_eq!(
        order_conf.get("shop%a-payments").map(String::as_str),
        Some(format!("{}:4", t.broker_name()).as_str())
    );
    let groups = admin.subscription_groups(t.broker_addr()).await.unwrap();
    assert_eq!(groups["a-billing"].retry_max_times, 5);
    assert!(groups.contains_key("shop%a-audit"));

    // Again: nothing is created twice, nothing changes.
    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for item in items.as_array().unwrap() {
        assert_eq!(item["outcome"]["status"], "unchanged", "{item}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn namespace_mode_puts_every_item_in_the_chosen_namespace_on_a_4_9_target() {
    let s = source();
    s.harness().create_topics(s.cluster_name(), &[TopicSpec::new("b-orders").queues(4, 4)]).unwrap();
    s.harness().create_groups(s.cluster_name(), &[GroupSpec::new("b-billing")]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = exported(dir.path());
    let t = target(RocketMqVersion::V4_9_8);
    let (o, items) = import(
        t,
        &[
            "--from",
            file.to_str().unwrap(),
            "--mode",
            "namespace",
            "--namespace",
            "biz",
            "--topics",
            "b-*",
            "--groups",
            "b-*",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(outcome(&items, "biz%b-orders")["outcome"]["status"], "created");
    assert_eq!(outcome(&items, "biz%b-billing")["namespace"], "biz");
    let admin = admin_of(t);
    assert!(admin.topic_configs(t.broker_addr()).await.unwrap().contains_key("biz%b-orders"));
    assert!(admin.subscription_groups(t.broker_addr()).await.unwrap().contains_key("biz%b-billing"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_fails_showing_both_sides_until_overwrite_updates_it() {
    let s = source();
    s.harness().create_topics(s.cluster_name(), &[TopicSpec::new("c-orders").queues(8, 8)]).unwrap();
    let t = target(RocketMqVersion::V4_9_8);
    t.harness().create_topics(t.cluster_name(), &[TopicSpec::new("c-orders").queues(4, 4)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = exported(dir.path());
    let sel = ["--from", file.to_str().unwrap(), "--topics", "c-*", "--no-groups"];

    let (o, items) = import(t, &sel);
    assert_eq!(o.status.code(), Some(6), "some items failed: {}", text(&o.stderr));
    let cause = outcome(&items, "c-orders")["outcome"]["cause"].as_str().unwrap().to_string();
    assert!(cause.contains('4') && cause.contains('8'), "both sides shown: {cause}");
    let admin = admin_of(t);
    assert_eq!(admin.topic_configs(t.broker_addr()).await.unwrap()["c-orders"].write_queue_nums, 4);

    // The task is on record with the failed item and its cause.
    let o = ferry(&["tasks", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let tasks: Value = serde_json::from_slice(&o.stdout).unwrap();
    let task = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["targetCluster"] == t.cluster_name() && x["status"] == "allFailed")
        .unwrap_or_else(|| panic!("no failed task on {} in {tasks}", t.cluster_name()));
    let id = task["id"].to_string();
    let o = ferry(&["task", "show", &id, "--status", "failed", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    let failed = shown["items"].as_array().unwrap();
    assert!(
        failed.iter().any(|i| i["targetName"] == "c-orders" && i["cause"].as_str().unwrap().contains('8')),
        "{shown}"
    );
    assert!(failed.iter().all(|i| i["status"] == "failed"), "{shown}");

    let mut with_overwrite = sel.to_vec();
    with_overwrite.push("--overwrite");
    let (o, items) = import(t, &with_overwrite);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(outcome(&items, "c-orders")["outcome"]["status"], "updated");
    assert_eq!(admin.topic_configs(t.broker_addr()).await.unwrap()["c-orders"].write_queue_nums, 8);
}

#[test]
fn a_live_source_imports_directly_and_the_per_task_limit_fails_the_rest() {
    let s = source();
    s.harness()
        .create_topics(
            s.cluster_name(),
            &[
                TopicSpec::new("d-1").queues(4, 4),
                TopicSpec::new("d-2").queues(4, 4),
                TopicSpec::new("d-3").queues(4, 4),
            ],
        )
        .unwrap();
    let t = target(RocketMqVersion::V5_3_3);
    let (o, items) = import(
        t,
        &[
            "--source-namesrv",
            s.namesrv_addr(),
            "--source-cluster",
            s.cluster_name(),
            "--topics",
            "d-*",
            "--no-groups",
            "--limit",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(6), "{}", text(&o.stderr));
    assert_eq!(outcome(&items, "d-1")["outcome"]["status"], "created");
    assert_eq!(outcome(&items, "d-2")["outcome"]["status"], "created");
    let over = outcome(&items, "d-3")["outcome"]["cause"].as_str().unwrap();
    assert!(over.contains("over the per-task limit"), "{over}");
}

#[test]
fn a_malformed_document_is_refused_naming_the_place_and_writing_nothing() {
    let t = target(RocketMqVersion::V4_9_8);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"metadata\": {\"topicConfigTable\": {\"e-x\": {,}}}\n}").unwrap();
    let o =
        ferry(&["import", "-n", t.namesrv_addr(), "-c", t.cluster_name(), "--from", bad.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.json") && stderr.contains("line 2"), "{stderr}");
}

#[test]
fn plan_prints_what_would_happen_and_writes_nothing() {
    let s = source();
    s.harness().create_topics(s.cluster_name(), &[TopicSpec::new("f-orders").queues(4, 4)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = exported(dir.path());
    let t = target(RocketMqVersion::V4_9_8);
    let o = ferry(&[
        "import",
        "-n",
        t.namesrv_addr(),
        "-c",
        t.cluster_name(),
        "--from",
        file.to_str().unwrap(),
        "--topics",
        "f-*",
        "--no-groups",
        "--plan",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("f-orders") && out.contains("create on"), "{out}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let topics = rt.block_on(admin_of(t).topic_configs(t.broker_addr())).unwrap();
    assert!(!topics.contains_key("f-orders"), "--plan wrote to the target");
}

#[test]
fn diff_shows_missing_different_same_and_extra_field_by_field() {
    let s = source();
    s.harness()
        .create_topics(
            s.cluster_name(),
            &[
                TopicSpec::new("g-same").queues(4, 4),
                TopicSpec::new("g-diff").queues(8, 8),
                TopicSpec::new("g-missing").queues(4, 4),
            ],
        )
        .unwrap();
    let t = target(RocketMqVersion::V5_3_3);
    t.harness()
        .create_topics(
            t.cluster_name(),
            &[
                TopicSpec::new("g-same").queues(4, 4),
                TopicSpec::new("g-diff").queues(4, 4),
                TopicSpec::new("g-extra").queues(4, 4),
            ],
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = exported(dir.path());
    let o = ferry(&[
        "diff",
        "-n",
        t.namesrv_addr(),
        "-c",
        t.cluster_name(),
        "--from",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let diff: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names = |k: &str| -> Vec<String> {
        diff[k].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_string()).collect()
    };
    assert!(names("missing").contains(&"g-missing".to_string()), "{diff}");
    assert!(names("same").contains(&"g-same".to_string()), "{diff}");
    assert!(names("extra").contains(&"g-extra".to_string()), "{diff}");
    let different =
        diff["different"].as_array().unwrap().iter().find(|e| e["name"] == "g-diff").expect("g-diff differs");
    let details = different["details"].to_string();
    assert!(
        details.contains("writeQueueNums") && details.contains('4') && details.contains('8'),
        "{details}"
    );
    assert!(!names("extra").iter().any(|n| n == "TBW102"), "system topics are not listed as extra");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let topics = rt.block_on(admin_of(t).topic_configs(t.broker_addr())).unwrap();
    assert!(!topics.contains_key("g-missing"), "diff wrote to the target");
}
