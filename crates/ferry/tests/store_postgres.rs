//! The real `ferry serve` on a PostgreSQL store, in front of a real 4.9.8 cluster (a new database on the test server:
//! `FERRY_TEST_POSTGRES_URL`, else one started for this run by scripts/postgres.sh): started with
//! `--store postgresql://...`, a migration created through the API with an encrypted secret,
//! stopped, started again from ferry.toml's `[store] url`, and the migration read back; the other
//! commands that take `--store` (`ferry tasks`, `ferry store rekey`) on the same database. The
//! URL's password is never printed.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{ok, text};

use ferry_control::migration::MigrationId;
use ferry_control::store::{KeySource, StoreKey};
use ferry_control::Store;
use ferry_testkit::{shared, ClusterSpec, RocketMqVersion};
use serde_json::Value;

const TOKEN: &str = "store-postgres-token-0123456789";
const PASSWORD: &str = "hunter2-not-shown";

/// 32 bytes of 1, then of 2, in base64.
fn key_text(n: u8) -> String {
    ["AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="]
        [usize::from(n) - 1]
        .to_string()
}

fn key(n: u8) -> StoreKey {
    StoreKey::from_base64(&key_text(n), KeySource::Env).unwrap()
}

/// `ferry serve ARGS` in `dir` with the store key `FERRY_STORE_KEY` = key(1).
fn serve(dir: &Path, args: &[&str]) -> common::Serve {
    let mut command = common::ferry();
    command.env("FERRY_STORE_KEY", key_text(1));
    common::spawn(command, dir, args).unwrap_or_else(|e| panic!("ferry serve did not start: {e}"))
}

fn migrate(server: &common::Serve, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["migrate", "--server", &server.api, "--token", TOKEN])
        .args(args)
        .env_remove("FERRY_ACTOR")
        .env_remove("FERRY_SERVER")
        .env_remove("FERRY_TOKEN")
        .env("USER", "store-postgres-test")
        .output()
        .expect("run ferry migrate")
}

fn json(o: &Output) -> Value {
    let out = ok(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A ferry.toml for this test; `store_url`: its `[store] url`, if any.
fn write_config(dir: &Path, store_url: Option<&str>) -> String {
    let first = 7_000 + (std::process::id() % 40) as u16 * 50;
    let store = store_url.map(|u| format!("\n[store]\nurl = \"{u}\"\n")).unwrap_or_default();
    let config = format!(
        "[proxy]\n\
         namesrv_listen = \"127.0.0.1:0\"\n\
         relay_bind = \"127.0.0.1\"\n\
         advertised_host = \"127.0.0.1\"\n\
         relay_ports = \"{first}-{}\"\n\
         \n\
         [api]\n\
         listen = \"127.0.0.1:0\"\n\
         token = \"{TOKEN}\"\n\
         {store}\
         \n\
         [engine]\n\
         tick_secs = 3600\n",
        first + 49
    );
    let path = dir.join("ferry.toml");
    std::fs::write(&path, config).unwrap();
    path.to_str().unwrap().to_string()
}

/// `ferry ARGS` in `dir`, with no store but the one given.
fn ferry(dir: &Path, args: &[&str], store_key: Option<u8>) -> Output {
    let mut cmd = common::ferry();
    cmd.args(args).current_dir(dir).env_remove("FERRY_STORE");
    match store_key {
        Some(n) => cmd.env("FERRY_STORE_KEY", key_text(n)),
        None => cmd.env_remove("FERRY_STORE_KEY"),
    };
    cmd.output().unwrap()
}

#[test]
fn serve_on_postgres_keeps_a_migration_across_a_restart() {
    // The test server trusts loopback: any password is accepted, and none may be shown.
    let url = ferry_testkit::postgres_database("serve_restart").replacen(
        "://ferry@",
        &format!("://ferry:{PASSWORD}@"),
        1,
    );
    let shown = url.replace(PASSWORD, "***");
    let dir = tempfile::tempdir().unwrap();

    // Creating a migration reads both clusters: one real cluster stands for both.
    let cluster = shared(ClusterSpec::new("pgstore", RocketMqVersion::V4_9_8));

    // --store on the command line.
    let config = write_config(dir.path(), None);
    let server = serve(dir.path(), &["--config", &config, "--store", &url]);
    assert!(server.namesrv.starts_with("127.0.0.1:"), "serving clients: {}", server.namesrv);
    let created = {
        let mut create = Command::new(env!("CARGO_BIN_EXE_ferry"));
        create
            .args(["migrate", "--server", &server.api, "--token", TOKEN, "create", "--name", "pg walk"])
            .args(["--source-namesrv", cluster.namesrv_addr(), "--source-cluster", cluster.cluster_name()])
            .args(["--target-namesrv", cluster.namesrv_addr(), "--target-cluster", cluster.cluster_name()])
            .arg("--json")
            .args(["--source-access-key", "ak"])
            .env("FERRY_SOURCE_SECRET_KEY", "pg-src-secret")
            .env_remove("FERRY_SERVER")
            .env_remove("FERRY_TOKEN");
        json(&create.output().unwrap())
    };
    let id = created["id"].as_i64().unwrap();
    assert!(!created.to_string().contains("pg-src-secret"), "{created}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "SIGTERM: {status:?}\n{stderr}");
    assert!(!stderr.contains(PASSWORD), "{stderr}");

    // In the database: the secret encrypted under the store key, and read back with it.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::open_postgres(&url).await.unwrap().with_secret_key(key(1)).await.unwrap();
        assert_eq!(store.backend(), "postgresql");
        let m = store.migration(MigrationId(id)).await.unwrap().expect("kept");
        assert_eq!((m.name.as_str(), m.source.secret_key.as_deref()), ("pg walk", Some("pg-src-secret")));
        assert_eq!(store.plain_secrets().await.unwrap(), 0, "encrypted at rest");
        store.close().await;
    });

    // Started again from [store] url in ferry.toml: the same migration.
    let config = write_config(dir.path(), Some(&url));
    let server = serve(dir.path(), &["--config", &config]);
    let back = json(&migrate(&server, &["show", &id.to_string(), "--json"]));
    assert_eq!(back["migration"]["name"], "pg walk", "{back}");
    assert_eq!(back["migration"]["source"]["accessKey"], "ak", "{back}");
    assert!(!back.to_string().contains("pg-src-secret"), "{back}");
    let listed = text(&migrate(&server, &["list"]).stdout);
    assert!(listed.contains("pg walk"), "{listed}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains(PASSWORD), "{stderr}");

    // The other commands that take --store: tasks (read), store rekey (the transaction).
    let o = ferry(dir.path(), &["tasks", "--store", &url], None);
    let out = ok(&o);
    assert_eq!(out.trim(), format!("no tasks in {shown}"), "named without its password");
    std::fs::write(dir.path().join("key2"), key_text(2)).unwrap();
    let o = ferry(dir.path(), &["store", "rekey", "--store", &url, "--new-key-file", "key2"], Some(1));
    let out = ok(&o);
    assert!(out.contains(&format!("store {shown}: 1 secret keys re-encrypted")), "{out}");
    assert!(!out.contains(PASSWORD) && !text(&o.stderr).contains(PASSWORD));
    rt.block_on(async {
        let store = Store::open_postgres(&url).await.unwrap().with_secret_key(key(2)).await.unwrap();
        let m = store.migration(MigrationId(id)).await.unwrap().unwrap();
        assert_eq!(m.source.secret_key.as_deref(), Some("pg-src-secret"), "under the new key now");
        store.close().await;
    });
}

#[test]
fn a_store_url_ferry_cannot_use_is_a_usage_error_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let o = ferry(dir.path(), &["tasks", "--store", &format!("mysql://root:{PASSWORD}@db/ferry")], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("store mysql://root:***@db/ferry: unknown kind of store URL"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");

    // A server that is not there: told at once, named without the password.
    let refused = format!("postgresql://ferry:{PASSWORD}@127.0.0.1:1/ferry");
    let o = ferry(dir.path(), &["tasks", "--store", &refused], None);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("cannot open store postgresql://ferry:***@127.0.0.1:1/ferry"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
}
