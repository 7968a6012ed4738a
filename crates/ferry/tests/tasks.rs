//! `ferry tasks` and `ferry task show` on a store file seeded through `ferry_control::Store` (no
//! cluster needed): JSON and table output, filters, and the error for an unknown task.

use std::path::Path;
use std::process::{Command, Output};

use ferry_control::{ItemKind, ItemRecord, ItemStatus, NewImportTask, Store, TaskId};
use serde_json::Value;

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env_remove("FERRY_STORE")
        .output()
        .expect("run ferry")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)))
}

const REFUSED: &str = "broker-a refused: SYSTEM_ERROR (1): the topic name is not allowed";

/// Two tasks: the first finished with one failed topic, the second still running.
async fn seed(path: &Path) -> (TaskId, TaskId) {
    let store = Store::open(path).await.unwrap();
    let first = store
        .create_import_task(NewImportTask {
            target_namesrv: "10.0.0.9:9876".into(),
            target_cluster: "Target".into(),
            source: "rocketmq-metadata-export.json".into(),
            mode: "namespace:shop".into(),
        })
        .await
        .unwrap();
    for item in [
        ItemRecord::new(ItemKind::Topic, "orders", "shop%orders", "shop", ItemStatus::Created)
            .with_warnings(vec!["queues fitted from 64 to 16".into()]),
        ItemRecord::new(ItemKind::Topic, "bad topic", "shop%bad topic", "shop", ItemStatus::Failed)
            .with_cause(REFUSED),
        ItemRecord::new(ItemKind::Group, "billing", "shop%billing", "shop", ItemStatus::Unchanged),
        ItemRecord::new(ItemKind::Account, "app", "app", "default", ItemStatus::Created),
    ] {
        store.record_item(first, &item).await.unwrap();
    }
    store.finish_task(first).await.unwrap();
    let second = store
        .create_import_task(NewImportTask {
            target_namesrv: "10.0.0.9:9876".into(),
            target_cluster: "Other".into(),
            source: "live:10.0.0.1:9876/Source".into(),
            mode: "cluster".into(),
        })
        .await
        .unwrap();
    store.close().await;
    (first, second)
}

#[tokio::test]
async fn tasks_json_lists_newest_first_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ferry.db");
    let (first, second) = seed(&db).await;
    let v = json(&ferry(&["tasks", "--store", db.to_str().unwrap(), "--json"]));
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{v}");
    assert_eq!(tasks[0]["id"], second.0);
    assert_eq!(tasks[0]["status"], "running");
    assert_eq!(tasks[0]["source"], "live:10.0.0.1:9876/Source");
    assert_eq!(tasks[1]["id"], first.0);
    assert_eq!(tasks[1]["kind"], "import");
    assert_eq!(tasks[1]["targetCluster"], "Target");
    assert_eq!(tasks[1]["status"], "someFailed");
    assert_eq!(
        tasks[1]["topics"],
        serde_json::json!({"total": 2, "succeeded": 1, "unchanged": 0, "failed": 1})
    );
    assert_eq!(tasks[1]["groups"]["unchanged"], 1);
    assert_eq!(tasks[1]["accounts"]["succeeded"], 1);
    assert!(tasks[1]["createdAt"].is_string() && tasks[1]["finishedAt"].is_string(), "{v}");

    // The store can also come from the environment, and tasks be filtered by status.
    let o = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["tasks", "--status", "some-failed", "--json"])
        .env("FERRY_STORE", &db)
        .output()
        .unwrap();
    let v = json(&o);
    let ids: Vec<_> = v["tasks"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
    assert_eq!(ids, [first.0]);
}

#[tokio::test]
async fn tasks_table_shows_status_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ferry.db");
    seed(&db).await;
    let o = ferry(&["tasks", "--store", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("ID  KIND    TARGET CLUSTER  TOPICS  GROUPS  ACCOUNTS  CREATED (UTC)"),
        "{out}"
    );
    assert!(lines[1].ends_with("Running"), "{out}");
    assert!(
        lines[2].contains(" Target ") && lines[2].contains("1/2") && lines[2].ends_with("Some failed"),
        "{out}"
    );
    // Columns line up: every row's status starts where the header's does.
    let at = lines[0].find("STATUS").unwrap();
    assert!(lines[1..].iter().all(|l| l[at..].starts_with(['R', 'S'])), "{out}");
}

#[tokio::test]
async fn task_show_filters_failed_items_with_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ferry.db");
    let (first, _) = seed(&db).await;
    let id = first.to_string();
    let v =
        json(&ferry(&["task", "show", &id, "--store", db.to_str().unwrap(), "--status", "failed", "--json"]));
    assert_eq!(v["task"]["id"], first.0);
    assert_eq!(v["task"]["status"], "someFailed");
    assert_eq!(v["task"]["mode"], "namespace:shop");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["kind"], "topic");
    assert_eq!(items[0]["sourceName"], "bad topic");
    assert_eq!(items[0]["targetName"], "shop%bad topic");
    assert_eq!(items[0]["status"], "failed");
    assert_eq!(items[0]["cause"], REFUSED);

    let v = json(&ferry(&["task", "show", &id, "--store", db.to_str().unwrap(), "--json"]));
    let names: Vec<_> = v["items"].as_array().unwrap().iter().map(|i| i["targetName"].clone()).collect();
    assert_eq!(names, ["shop%bad topic", "shop%orders", "shop%billing", "app"], "topics, groups, accounts");

    let o = ferry(&["task", "show", &id, "--store", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with(&format!("task {id} (import): Some failed\n")), "{out}");
    assert!(out.contains("topics:   1 of 2 imported (0 unchanged), 1 failed"), "{out}");
    let failed = out.lines().find(|l| l.starts_with("topic ") && l.contains("failed")).unwrap();
    assert!(failed.ends_with(REFUSED), "{out}");
    assert!(out.contains("warning: queues fitted from 64 to 16"), "{out}");
}

#[tokio::test]
async fn an_unknown_task_is_a_usage_error_naming_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ferry.db");
    seed(&db).await;
    let o = ferry(&["task", "show", "42", "--store", db.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr).trim(), format!("error: task 42 not found in {}", db.display()));
}

#[test]
fn reading_a_missing_store_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none").join("ferry.db");
    let v = json(&ferry(&["tasks", "--store", db.to_str().unwrap(), "--json"]));
    assert_eq!(v["tasks"], serde_json::json!([]));
    let o = ferry(&["task", "show", "1", "--store", db.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(!dir.path().join("none").exists());
}
