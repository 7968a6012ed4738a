//! `.xlsx` workbooks between real clusters: a 4.9.8 source exported to a workbook and imported into
//! a 5.3.3 target; a 5.x workbook's message types on the target and back; a malformed workbook
//! refused with the place of each error, or imported row by row with --valid-rows-only. Each test
//! works on its own names, so the two clusters are shared.

use std::path::Path;
use std::process::{Command, Output};

use ferry_admin::{Admin, AdminOptions};
use ferry_metadata::xlsx::{self, Cell, ReadOptions};
use ferry_testkit::{shared, Cluster, ClusterSpec, GroupSpec, RocketMqVersion, TopicSpec};
use serde_json::Value;

fn source() -> &'static Cluster {
    shared(ClusterSpec::new("xlsx-src", RocketMqVersion::V4_9_8))
}

fn target() -> &'static Cluster {
    shared(ClusterSpec::new("xlsx-dst", RocketMqVersion::V5_3_3))
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

fn import(t: &Cluster, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["import", "-n", t.namesrv_addr(), "-c", t.cluster_name(), "--json"];
    args.extend_from_slice(extra);
    let o = ferry(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, v)
}

fn status<'a>(items: &'a Value, target_name: &str) -> &'a Value {
    let item = items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .find(|i| i["targetName"] == target_name)
        .unwrap_or_else(|| panic!("{target_name} not in {items}"));
    &item["outcome"]["status"]
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["targetName"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn admin_of(c: &Cluster) -> Admin {
    Admin::new(c.namesrv_addr(), AdminOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_4_9_cluster_exported_to_xlsx_imports_into_5_3() {
    let s = source();
    s.harness()
        .create_topics(
            s.cluster_name(),
            &[
                TopicSpec::new("x-orders").queues(8, 6),
                TopicSpec::new("x-read-only").queues(4, 4).perm(4),
                TopicSpec::new("shop%x-fifo").queues(4, 4).order(true),
            ],
        )
        .unwrap();
    s.harness()
        .create_groups(
            s.cluster_name(),
            &[
                GroupSpec::new("x-billing").retry_max(5).retry_queues(2).broadcast(false),
                GroupSpec::new("shop%x-audit"),
            ],
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("src.xlsx");
    let file_s = file.to_str().unwrap();
    let o = ferry(&["export", "--no-input", "-n", s.namesrv_addr(), "-c", s.cluster_name(), "-o", file_s]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("4.x workbook"), "{}", text(&o.stdout));

    // The workbook holds the source's topics and groups, one row each (one master).
    let read =
        xlsx::read_workbook(&std::fs::read(&file).unwrap(), "src.xlsx", ReadOptions::default()).unwrap();
    let f = read.document.ferry.as_ref().unwrap();
    let orders = f.topics.iter().find(|t| t.name == "x-orders").unwrap();
    assert_eq!((orders.read_queue_nums, orders.write_queue_nums, orders.perm), (8, 6, 6));
    assert!(orders.brokers.is_empty(), "on every master: {orders:?}");
    assert!(f.topics.iter().find(|t| t.name == "shop%x-fifo").unwrap().order);
    assert_eq!(f.groups.iter().find(|g| g.name == "x-billing").unwrap().config.retry_max_times, 5);

    let t = target();
    let selection = ["--from", file_s, "--topics", "x-*,shop%x-*", "--groups", "x-*,shop%x-*"];
    let (o, items) = import(t, &selection);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    for name in ["x-orders", "x-read-only", "shop%x-fifo", "x-billing", "shop%x-audit"] {
        assert_eq!(status(&items, name), "created", "{name}: {items}");
    }

    let admin = admin_of(t);
    let topics = admin.topic_configs(t.broker_addr()).await.unwrap();
    assert_eq!((topics["x-orders"].read_queue_nums, topics["x-orders"].write_queue_nums), (8, 6));
    assert_eq!(topics["x-read-only"].perm, 4);
    assert!(topics["shop%x-fifo"].order, "{:?}", topics["shop%x-fifo"]);
    let groups = admin.subscription_groups(t.broker_addr()).await.unwrap();
    let billing = &groups["x-billing"];
    assert_eq!((billing.retry_max_times, billing.retry_queue_nums), (5, 2));
    assert!(!billing.consume_broadcast_enable);
    assert!(groups.contains_key("shop%x-audit"));

    // diff reads the workbook too: our items are the same on both sides.
    let o = ferry(&["diff", "-n", t.namesrv_addr(), "-c", t.cluster_name(), "--from", file_s, "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let diff: Value = serde_json::from_slice(&o.stdout).unwrap();
    let same: Vec<&str> =
        diff["same"].as_array().unwrap().iter().filter_map(|e| e["name"].as_str()).collect();
    for name in ["x-orders", "x-read-only", "shop%x-fifo", "x-billing", "shop%x-audit"] {
        assert!(same.contains(&name), "{name} not the same: {diff}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5_x_workbook_sets_message_types_on_5_3_and_exports_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("five.xlsx");
    let t = target();
    let bytes = xlsx::plain_workbook(&[(
        "Topics",
        vec![
            vec!["Topic".into(), "Read queues".into(), "Write queues".into(), "Message type".into()],
            vec!["f-fifo".into(), Cell::Number(4.0), Cell::Number(4.0), "FIFO".into()],
            vec!["f-delay".into(), Cell::Number(3.0), Cell::Number(3.0), "delay".into()],
        ],
    )])
    .unwrap();
    std::fs::write(&file, bytes).unwrap();
    let (o, items) = import(t, &["--from", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    assert_eq!(status(&items, "f-fifo"), "created", "{items}");
    let topics = admin_of(t).topic_configs(t.broker_addr()).await.unwrap();
    assert_eq!(topics["f-fifo"].attributes.get("message.type").map(String::as_str), Some("FIFO"));
    assert_eq!(topics["f-delay"].attributes.get("message.type").map(String::as_str), Some("DELAY"));

    // The 5.3 target exported to a workbook: a 5.x one, message types in their column.
    let back = dir.path().join("target.xlsx");
    let o = ferry(&[
        "export",
        "--no-input",
        "-n",
        t.namesrv_addr(),
        "-c",
        t.cluster_name(),
        "-o",
        back.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("5.x workbook"), "{}", text(&o.stdout));
    let read =
        xlsx::read_workbook(&std::fs::read(&back).unwrap(), "target.xlsx", ReadOptions::default()).unwrap();
    let f = read.document.ferry.unwrap();
    let fifo = f.topics.iter().find(|t| t.name == "f-fifo").unwrap();
    assert_eq!((fifo.message_type.as_deref(), fifo.read_queue_nums), (Some("FIFO"), 4));
}

/// Topics row 3 has a bad number and row 4 a bad bool; Groups row 3 a bad number.
fn malformed(path: &Path) {
    let bytes = xlsx::plain_workbook(&[
        (
            "Topics",
            vec![
                vec!["Topic".into(), "Read queues".into(), "Write queues".into(), "Order".into()],
                vec!["m-good-1".into(), Cell::Number(4.0), Cell::Number(4.0), Cell::Bool(false)],
                vec!["m-bad-number".into(), "abc".into(), Cell::Number(4.0), Cell::Empty],
                vec!["m-bad-bool".into(), Cell::Number(4.0), Cell::Number(4.0), "maybe".into()],
                vec!["m-good-2".into(), Cell::Number(3.0), Cell::Number(3.0), Cell::Empty],
            ],
        ),
        (
            "Groups",
            vec![
                vec!["Group".into(), "Retry max times".into()],
                vec!["m-group".into(), Cell::Number(4.0)],
                vec!["m-group-bad".into(), "often".into()],
            ],
        ),
    ])
    .unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_sheet_is_refused_naming_each_place_unless_valid_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.xlsx");
    malformed(&file);
    let file_s = file.to_str().unwrap();
    let t = target();
    let admin = admin_of(t);

    let (o, _) = import(t, &["--from", file_s]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", text(&o.stderr), text(&o.stdout));
    let stderr = text(&o.stderr);
    for place in [
        "Topics!B3: read queues \"abc\" is not a whole number",
        "Topics!D4: order \"maybe\" is not TRUE or FALSE",
        "Groups!B3: retry max times \"often\" is not a whole number",
        "--valid-rows-only",
    ] {
        assert!(stderr.contains(place), "{place} not in: {stderr}");
    }
    let topics = admin.topic_configs(t.broker_addr()).await.unwrap();
    let groups = admin.subscription_groups(t.broker_addr()).await.unwrap();
    for name in ["m-good-1", "m-good-2", "m-bad-number", "m-bad-bool"] {
        assert!(!topics.contains_key(name), "{name} must not reach the target");
    }
    assert!(!groups.contains_key("m-group"), "no group of a refused workbook reaches the target");

    // diff refuses it the same way.
    let o = ferry(&["diff", "-n", t.namesrv_addr(), "-c", t.cluster_name(), "--from", file_s]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));

    // With --valid-rows-only the valid rows go in, the bad ones are reported.
    let (o, items) = import(t, &["--from", file_s, "--valid-rows-only"]);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("warning: row left out: Topics!B3: read queues \"abc\""), "{stderr}");
    assert!(stderr.contains("warning: row left out: Groups!B3"), "{stderr}");
    let mut imported = names(&items);
    imported.sort();
    assert_eq!(imported, ["m-good-1", "m-good-2", "m-group"], "{items}");
    for name in ["m-good-1", "m-good-2", "m-group"] {
        assert_eq!(status(&items, name), "created", "{items}");
    }
    let topics = admin.topic_configs(t.broker_addr()).await.unwrap();
    assert_eq!(topics["m-good-2"].read_queue_nums, 3);
    assert!(topics.contains_key("m-good-1"));
    assert!(!topics.contains_key("m-bad-number") && !topics.contains_key("m-bad-bool"));
    let groups = admin.subscription_groups(t.broker_addr()).await.unwrap();
    assert_eq!(groups["m-group"].retry_max_times, 4);
    assert!(!groups.contains_key("m-group-bad"));
}

/// A few KB that name the last cell of a sheet (XFD1048576) used to make the reader build the whole
/// grid and abort on a 512 GiB allocation; now the sheet is refused naming the cell, at once.
#[test]
fn a_workbook_with_a_cell_at_the_far_corner_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let far = dir.path().join("far.xlsx");
    let mut rows: Vec<Vec<Cell>> = vec![Vec::new(); 1_048_576];
    rows[0] = vec!["Topic".into(), "Read queues".into(), "Write queues".into()];
    rows[1] = vec!["orders".into(), Cell::Number(4.0), Cell::Number(4.0)];
    rows[1_048_575] = vec![Cell::Empty; 16_384];
    rows[1_048_575][16_383] = "far".into();
    let bytes = xlsx::plain_workbook(&[("Topics", rows)]).unwrap();
    assert!(bytes.len() < 20_000, "{}", bytes.len());
    std::fs::write(&far, bytes).unwrap();
    let out = dir.path().join("x.json");
    let o = ferry(&["export", "--no-input", "--from", far.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Topics!XFD1048576: cell is past row 100000"), "{stderr}");
    assert!(!out.exists());

    // Direct, as the console reads an upload.
    let err =
        xlsx::read_workbook(&std::fs::read(&far).unwrap(), "far.xlsx", ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("Topics!XFD1048576"), "{err}");
}
