//! The store's story: tasks created, items recorded and re-recorded, tasks finished into each
//! status, listed and filtered; in memory and in a file that survives reopening, and the same on
//! PostgreSQL (a database per test on the test server: `FERRY_TEST_POSTGRES_URL`, else one
//! started for this run by scripts/postgres.sh).

use ferry_control::store::StoreLocation;
use ferry_control::{
    ItemCounts, ItemKind, ItemRecord, ItemStatus, NewImportTask, Store, StoreError, TaskId, TaskStatus,
};

fn new_task(cluster: &str) -> NewImportTask {
    NewImportTask {
        target_namesrv: "127.0.0.1:9876".into(),
        target_cluster: cluster.into(),
        source: "rocketmq-metadata-export.json".into(),
        mode: "cluster".into(),
    }
}

fn item(kind: ItemKind, name: &str, status: ItemStatus) -> ItemRecord {
    let record = ItemRecord::new(kind, name, name, "default", status);
    if status == ItemStatus::Failed {
        record.with_cause(format!("TOPIC_NOT_EXIST (17): {name} refused by broker-a"))
    } else {
        record
    }
}

async fn task_with(store: &Store, statuses: &[ItemStatus]) -> TaskId {
    let id = store.create_import_task(new_task("Target")).await.unwrap();
    for (i, s) in statuses.iter().enumerate() {
        store.record_item(id, &item(ItemKind::Topic, &format!("t{i}"), *s)).await.unwrap();
    }
    id
}

ferry_testkit::store_tests! {
    async fn a_new_task_runs_with_no_items(store) {
        let id = store.create_import_task(new_task("Target")).await.unwrap();
        let (task, items) = store.task(id, None).await.unwrap().unwrap();
        assert_eq!(task.id, id);
        assert_eq!(task.kind, "import");
        assert_eq!(task.status, TaskStatus::Running);
        assert_eq!(task.target_cluster, "Target");
        assert_eq!(task.target_namesrv, "127.0.0.1:9876");
        assert_eq!(task.source, "rocketmq-metadata-export.json");
        assert_eq!(task.mode, "cluster");
        assert!(task.finished_at.is_none());
        assert_eq!(task.items(), ItemCounts::default());
        assert!(items.is_empty());
    }

    async fn items_of_every_kind_are_counted_per_kind(store) {
        let id = store.create_import_task(new_task("Target")).await.unwrap();
        let recorded = [
            item(ItemKind::Topic, "orders", ItemStatus::Created),
            item(ItemKind::Topic, "payments", ItemStatus::Unchanged),
            item(ItemKind::Topic, "refunds", ItemStatus::Failed),
            item(ItemKind::Group, "billing", ItemStatus::Updated),
            item(ItemKind::Account, "app", ItemStatus::Failed)
                .with_warnings(vec!["5.x has no white address per account".into()]),
        ];
        for r in &recorded {
            store.record_item(id, r).await.unwrap();
        }
        let (task, items) = store.task(id, None).await.unwrap().unwrap();
        assert_eq!(task.topics, ItemCounts { total: 3, succeeded: 2, unchanged: 1, failed: 1 });
        assert_eq!(task.groups, ItemCounts { total: 1, succeeded: 1, unchanged: 0, failed: 0 });
        assert_eq!(task.accounts, ItemCounts { total: 1, succeeded: 0, unchanged: 0, failed: 1 });
        assert_eq!(task.status, TaskStatus::Running, "counts show progress, the status waits for finish");
        // Topics, then groups, then accounts; each by name. Every field comes back as recorded.
        assert_eq!(items, recorded);
    }

    async fn recording_an_item_again_replaces_it(store) {
        let id = store.create_import_task(new_task("Target")).await.unwrap();
        store.record_item(id, &item(ItemKind::Topic, "orders", ItemStatus::Failed)).await.unwrap();
        let retried = item(ItemKind::Topic, "orders", ItemStatus::Created).with_warnings(vec!["fitted".into()]);
        store.record_item(id, &retried).await.unwrap();
        // Same name, other kind: another item.
        store.record_item(id, &item(ItemKind::Group, "orders", ItemStatus::Created)).await.unwrap();

        let (task, items) = store.task(id, None).await.unwrap().unwrap();
        assert_eq!(task.topics, ItemCounts { total: 1, succeeded: 1, unchanged: 0, failed: 0 });
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], retried, "the cause of the failure is gone with it");
    }

    async fn finishing_gives_the_status_the_items_came_to(store) {
        use ItemStatus::*;
        for (statuses, expected) in [
            (&[][..], TaskStatus::Succeeded),
            (&[Created, Updated, Unchanged][..], TaskStatus::Succeeded),
            (&[Created, Failed][..], TaskStatus::SomeFailed),
            (&[Unchanged, Failed][..], TaskStatus::SomeFailed),
            (&[Failed, Failed][..], TaskStatus::AllFailed),
        ] {
            let id = task_with(&store, statuses).await;
            assert_eq!(store.finish_task(id).await.unwrap(), expected, "{statuses:?}");
            let (task, _) = store.task(id, None).await.unwrap().unwrap();
            assert_eq!(task.status, expected);
            let finished = task.finished_at.expect("finished");
            assert!(finished >= task.created_at);
        }
    }

    async fn failures_across_kinds_make_all_failed_only_when_nothing_succeeded(store) {
        let id = store.create_import_task(new_task("Target")).await.unwrap();
        store.record_item(id, &item(ItemKind::Topic, "a", ItemStatus::Failed)).await.unwrap();
        store.record_item(id, &item(ItemKind::Group, "b", ItemStatus::Failed)).await.unwrap();
        assert_eq!(store.finish_task(id).await.unwrap(), TaskStatus::AllFailed);
        // A retry that succeeds, then finishing again.
        store.record_item(id, &item(ItemKind::Group, "b", ItemStatus::Created)).await.unwrap();
        assert_eq!(store.finish_task(id).await.unwrap(), TaskStatus::SomeFailed);
    }

    async fn tasks_are_listed_newest_first(store) {
        let first = store.create_import_task(new_task("One")).await.unwrap();
        let second = store.create_import_task(new_task("Two")).await.unwrap();
        let third = store.create_import_task(new_task("Three")).await.unwrap();
        store.record_item(second, &item(ItemKind::Group, "g", ItemStatus::Failed)).await.unwrap();
        store.finish_task(second).await.unwrap();

        let tasks = store.tasks().await.unwrap();
        assert_eq!(tasks.iter().map(|t| t.id).collect::<Vec<_>>(), [third, second, first]);
        assert_eq!(tasks.iter().map(|t| t.target_cluster.as_str()).collect::<Vec<_>>(), ["Three", "Two", "One"]);
        assert_eq!(tasks[1].status, TaskStatus::AllFailed);
        assert_eq!(tasks[1].groups.failed, 1);
        assert_eq!(tasks[0].status, TaskStatus::Running);
    }

    async fn items_are_filtered_by_status(store) {
        let id = store.create_import_task(new_task("Target")).await.unwrap();
        store.record_item(id, &item(ItemKind::Topic, "ok", ItemStatus::Created)).await.unwrap();
        store.record_item(id, &item(ItemKind::Topic, "bad", ItemStatus::Failed)).await.unwrap();
        store.record_item(id, &item(ItemKind::Group, "worse", ItemStatus::Failed)).await.unwrap();

        let (task, failed) = store.task(id, Some(ItemStatus::Failed)).await.unwrap().unwrap();
        assert_eq!(failed.iter().map(|i| i.target_name.as_str()).collect::<Vec<_>>(), ["bad", "worse"]);
        assert!(failed.iter().all(|i| i.cause.as_deref().is_some_and(|c| c.contains("TOPIC_NOT_EXIST (17)"))));
        assert_eq!(task.items().total, 3, "the summary counts every item, whatever the filter");
        let (_, unchanged) = store.task(id, Some(ItemStatus::Unchanged)).await.unwrap().unwrap();
        assert!(unchanged.is_empty());
    }

    async fn unknown_tasks_are_none_or_not_found(store) {
        assert!(store.task(TaskId(42), None).await.unwrap().is_none());
        let e = store.finish_task(TaskId(42)).await.unwrap_err();
        assert!(matches!(e, StoreError::TaskNotFound { id: TaskId(42), .. }), "{e}");
        let e =
            store.record_item(TaskId(42), &item(ItemKind::Topic, "t", ItemStatus::Created)).await.unwrap_err();
        assert_eq!(e.to_string(), format!("task 42 not found in {}", store.path().display()));
    }
}

#[tokio::test]
async fn a_store_file_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("ferry.db");
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.path(), path);
    let id = store.create_import_task(new_task("Target")).await.unwrap();
    let recorded = item(ItemKind::Topic, "orders", ItemStatus::Failed);
    store.record_item(id, &recorded).await.unwrap();
    store.finish_task(id).await.unwrap();
    assert!(dir.path().join("nested/ferry.db-wal").is_file(), "the file is in WAL mode");
    store.close().await;
    drop(store);
    assert!(path.is_file(), "the file and its folder are created");

    let store = Store::open(&path).await.unwrap();
    let tasks = store.tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].status, TaskStatus::AllFailed);
    let (_, items) = store.task(id, None).await.unwrap().unwrap();
    assert_eq!(items, [recorded]);
    // Ids keep growing after a reopen.
    let next = store.create_import_task(new_task("Target")).await.unwrap();
    assert!(next > id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    clones_share(Store::open(&dir.path().join("ferry.db")).await.unwrap()).await;
    let url = ferry_testkit::postgres_database("clones_share_one_store");
    clones_share(Store::open_postgres(&url).await.unwrap()).await;
}

/// 20 writers at once through clones of one store.
async fn clones_share(store: Store) {
    let id = store.create_import_task(new_task("Target")).await.unwrap();
    let writers: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.record_item(id, &item(ItemKind::Topic, &format!("t{i:02}"), ItemStatus::Created)).await
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap().unwrap();
    }
    assert_eq!(store.finish_task(id).await.unwrap(), TaskStatus::Succeeded);
    assert_eq!(store.tasks().await.unwrap()[0].topics.succeeded, 20);
}

#[tokio::test]
async fn an_unusable_path_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let path = blocker.join("ferry.db");
    let e = Store::open(&path).await.unwrap_err();
    assert!(matches!(e, StoreError::CreateDir { .. }), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

#[tokio::test]
async fn a_postgres_store_survives_reopening() {
    let url = ferry_testkit::postgres_database("survives_reopening");
    let location = StoreLocation::parse(&url).unwrap();
    assert_eq!(location, StoreLocation::Postgres(url.clone()));
    let store = Store::open_location(&location).await.unwrap();
    assert_eq!(store.backend(), "postgresql");
    assert_eq!(store.path().display().to_string(), url, "no password in it to hide");
    let id = store.create_import_task(new_task("Target")).await.unwrap();
    let recorded = item(ItemKind::Topic, "orders", ItemStatus::Failed);
    store.record_item(id, &recorded).await.unwrap();
    store.finish_task(id).await.unwrap();
    store.close().await;
    drop(store);

    let store = Store::open_location(&location).await.unwrap();
    let tasks = store.tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].status, TaskStatus::AllFailed);
    let (_, items) = store.task(id, None).await.unwrap().unwrap();
    assert_eq!(items, [recorded], "every field, timestamps to the nanosecond, as recorded");
    let next = store.create_import_task(new_task("Target")).await.unwrap();
    assert!(next > id, "ids keep growing after a reopen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_openers_of_a_new_postgres_database_all_get_it() {
    let url = ferry_testkit::postgres_database("several_openers");
    let openers: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::open_postgres(&url).await })
        })
        .collect();
    for o in openers {
        let store = o.await.unwrap().unwrap();
        assert!(store.tasks().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_postgres_password_never_shows_in_errors() {
    // Nothing listens on port 1: the error names the store, without its password.
    let e = Store::open_postgres("postgresql://ferry:hunter2@127.0.0.1:1/ferry").await.unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e:?}");
    let (text, debug) = (e.to_string(), format!("{e:?}"));
    assert!(text.contains("cannot open store postgresql://ferry:***@127.0.0.1:1/ferry"), "{text}");
    assert!(!text.contains("hunter2") && !debug.contains("hunter2"), "{text} {debug}");

    let url = ferry_testkit::postgres_database("password_never_shows");
    let with_password = url.replacen("://ferry@", "://ferry:hunter2@", 1);
    let store = Store::open_postgres(&with_password).await.unwrap();
    assert!(!store.path().display().to_string().contains("hunter2"));
    assert!(!format!("{store:?}").contains("hunter2"));
    let e = store.finish_task(TaskId(42)).await.unwrap_err().to_string();
    assert!(e.contains("ferry:***@") && !e.contains("hunter2"), "{e}");
}
