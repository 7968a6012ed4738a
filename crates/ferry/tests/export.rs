//! `ferry export` against real clusters: a 4.9.8 and a 5.3.3 cluster (topics and groups created
//! through the real admin path, `DefaultMQAdminExt`), a 4.9.8 cluster with ACL 1.0, and addresses
//! that do not answer. Clusters start once for this binary.

use std::path::Path;
use std::process::{Command, Output};

use ferry_testkit::{shared, Cluster, ClusterSpec, GroupSpec, RocketMqVersion, TopicSpec};
use serde_json::Value;

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry")).args(args).output().expect("run ferry")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn export(cluster: &Cluster, out: &Path, extra: &[&str]) -> (Output, Option<Value>) {
    let out_s = out.to_str().unwrap();
    let mut args =
        vec!["export", "--no-input", "-n", cluster.namesrv_addr(), "-c", cluster.cluster_name(), "-o", out_s];
    args.extend_from_slice(extra);
    let o = ferry(&args);
    let doc = o.status.success().then(|| serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap());
    (o, doc)
}

fn find<'a>(items: &'a Value, name: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {items}"))
}

/// Creates topics and groups through `DefaultMQAdminExt` and checks the export shows them with the
/// same settings, in Ferry's section and in the Apache-shaped sections.
fn exports_what_the_admin_created(version: RocketMqVersion) {
    let cluster = shared(ClusterSpec::new(format!("exp-{version}"), version));
    let h = cluster.harness();
    h.create_topics(
        cluster.cluster_name(),
        &[
            TopicSpec::new("orders").queues(8, 6),
            TopicSpec::new("fifo-orders").queues(4, 4).order(true),
            TopicSpec::new("read-only").queues(2, 2).perm(4),
            TopicSpec::new("shop%payments").queues(3, 3),
        ],
    )
    .unwrap();
    h.create_groups(
        cluster.cluster_name(),
        &[
            GroupSpec::new("billing").retry_max(5).retry_queues(2).broadcast(false),
            GroupSpec::new("shop%audit").consume_orderly(true),
        ],
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.json");
    let config_files = || {
        ["topics.json", "subscriptionGroup.json"]
            .map(|f| std::fs::read(cluster.store_dir().join("config").join(f)).expect("broker config file"))
    };
    let before = config_files();
    let (o, doc) = export(cluster, &file, &[]);
    assert!(o.status.success(), "stderr: {}", text(&o.stderr));
    assert!(before == config_files(), "export must not change the broker's topics or groups");
    let doc = doc.unwrap();
    let stdout = text(&o.stdout);
    assert!(stdout.contains("topics") && stdout.contains("skipped:"), "{stdout}");

    let ferry = &doc["ferry"];
    assert_eq!(ferry["formatVersion"], 1);
    assert_eq!(ferry["source"]["cluster"], cluster.cluster_name());
    let expected_version = if version.is_5x() { "V5_3_3" } else { "V4_9_8" };
    assert_eq!(ferry["source"]["version"], expected_version);
    assert_eq!(ferry["source"]["brokers"][0]["name"], cluster.broker_name());

    let orders = find(&ferry["topics"], "orders");
    assert_eq!((orders["readQueueNums"].as_i64(), orders["writeQueueNums"].as_i64()), (Some(8), Some(6)));
    assert_eq!(orders["perm"], 6);
    assert_eq!(orders["brokers"][0]["broker"], cluster.broker_name());
    assert_eq!(orders["brokers"][0]["writeQueueNums"], 6);
    assert_eq!(find(&ferry["topics"], "fifo-orders")["order"], true);
    assert_eq!(find(&ferry["topics"], "read-only")["perm"], 4);
    assert_eq!(find(&ferry["topics"], "shop%payments")["namespace"], "shop");

    let billing = find(&ferry["groups"], "billing");
    assert_eq!(billing["config"]["retryMaxTimes"], 5);
    assert_eq!(billing["config"]["retryQueueNums"], 2);
    assert_eq!(billing["config"]["consumeBroadcastEnable"], false);
    assert_eq!(billing["brokers"][0], cluster.broker_name());
    if version.is_5x() {
        assert_eq!(find(&ferry["groups"], "shop%audit")["config"]["consumeMessageOrderly"], true);
    }
    let namespaces: Vec<&str> =
        ferry["namespaces"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(namespaces, vec!["shop"]);

    // System topics and groups are left out and counted.
    let topics = ferry["topics"].as_array().unwrap();
    assert!(topics
        .iter()
        .all(|t| t["name"] != "TBW102" && !t["name"].as_str().unwrap().starts_with("%RETRY%")));
    assert!(ferry["skipped"]["systemTopics"].as_u64().unwrap() > 0);
    assert!(ferry["groups"].as_array().unwrap().iter().all(|g| g["name"] != "TOOLS_CONSUMER"));
    assert!(ferry["skipped"]["systemGroups"].as_u64().unwrap() > 0);

    // The Apache-shaped sections, as export.sh writes them.
    assert_eq!(doc["metadata"]["topicConfigTable"]["orders"]["readQueueNums"], 8);
    assert_eq!(doc["metadata"]["subscriptionGroupTable"]["billing"]["retryMaxTimes"], 5);
    assert!(doc["metadata"]["exportTime"].as_i64().unwrap() > 0);
    assert_eq!(doc["configs"]["brokerConfigs"][cluster.broker_name()]["brokerName"], cluster.broker_name());
    assert_eq!(doc["configs"]["clusterScale"]["masterBrokerSize"], 1);
    let report = &doc["metrics"]["evaluateReport"][cluster.broker_name()];
    assert!(report["runtimeQuota"]["topicSize"].as_u64().unwrap() >= 4, "{report}");

    // --include-system keeps them.
    let (o, doc) = export(cluster, &file, &["--include-system"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc = doc.unwrap();
    find(&doc["ferry"]["topics"], "TBW102");
    find(&doc["ferry"]["groups"], "TOOLS_CONSUMER");
}

#[test]
fn exports_a_4_9_cluster() {
    exports_what_the_admin_created(RocketMqVersion::V4_9_8);
}

#[test]
fn exports_a_5_3_cluster() {
    exports_what_the_admin_created(RocketMqVersion::V5_3_3);
}

fn acl_cluster() -> &'static Cluster {
    shared(ClusterSpec::new("exp-acl", RocketMqVersion::V4_9_8).acl(true))
}

#[test]
fn acl_cluster_exports_with_the_right_keys_and_keeps_secrets_out_unless_asked() {
    let cluster = acl_cluster();
    let acl_file =
        cluster.plain_acl_file().expect("an ACL cluster has a plain_acl.yml").to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acl.json");
    let admin = ferry_testkit::acl::admin();
    let o = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["export", "--no-input", "-n", cluster.namesrv_addr(), "-c", cluster.cluster_name()])
        .args(["-o", file.to_str().unwrap(), "--plain-acl-file", &acl_file])
        .env("FERRY_ACCESS_KEY", &admin.access_key)
        .env("FERRY_SECRET_KEY", &admin.secret_key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    for secret in [&admin.secret_key, &ferry_testkit::acl::user().secret_key] {
        assert!(!written.contains(secret.as_str()), "a secret leaked into the export");
    }
    assert!(!written.contains("secretKey"), "no account carries a secret key field");
    let doc: Value = serde_json::from_str(&written).unwrap();
    let acl = &doc["ferry"]["acl"];
    assert_eq!(acl["kind"], "plain");
    assert_eq!(acl["secretsIncluded"], false);
    let account = find_account(&acl["accounts"], "ferryadmin");
    assert_eq!(account["admin"], true);
    assert!(account.get("secretKey").is_none());
    let user_perms = find_account(&acl["accounts"], "ferryuser")["topicPerms"].as_array().unwrap();
    assert!(user_perms.iter().any(|p| p == "acl-topic-rw=PUB|SUB"), "{user_perms:?}");

    let o = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["export", "--no-input", "-n", cluster.namesrv_addr(), "-c", cluster.cluster_name()])
        .args(["-o", file.to_str().unwrap(), "--plain-acl-file", &acl_file, "--include-secrets"])
        .env("FERRY_ACCESS_KEY", &admin.access_key)
        .env("FERRY_SECRET_KEY", &admin.secret_key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        find_account(&doc["ferry"]["acl"]["accounts"], "ferryadmin")["secretKey"],
        admin.secret_key.as_str()
    );
}

fn find_account<'a>(accounts: &'a Value, ak: &str) -> &'a Value {
    accounts.as_array().unwrap().iter().find(|a| a["accessKey"] == ak).unwrap()
}

#[test]
fn acl_cluster_refuses_wrong_or_missing_keys_with_authentication_failed() {
    let cluster = acl_cluster();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("never.json");
    for creds in [Some(("ferryadmin", "not-the-secret")), Some(("nobody", "whatever-secret")), None] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.args(["export", "--no-input", "-n", cluster.namesrv_addr(), "-c", cluster.cluster_name()])
            .args(["-o", file.to_str().unwrap()])
            .env_remove("FERRY_ACCESS_KEY")
            .env_remove("FERRY_SECRET_KEY");
        if let Some((ak, sk)) = creds {
            cmd.env("FERRY_ACCESS_KEY", ak).env("FERRY_SECRET_KEY", sk);
        }
        let o = cmd.output().unwrap();
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{creds:?}: {stderr}");
        assert!(stderr.contains("authentication failed"), "{stderr}");
        assert!(stderr.contains(cluster.broker_addr()), "the error names the broker: {stderr}");
        if let Some((_, sk)) = creds {
            assert!(!stderr.contains(sk), "the secret must not appear in errors");
        }
        assert!(!file.exists(), "nothing is written on failure");
    }
}

#[test]
fn unreachable_namesrv_and_unknown_cluster_fail_cleanly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let o = ferry(&["export", "--no-input", "-n", &addr, "-c", "any"]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&addr) && stderr.contains("unreachable"), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{stderr}");

    let cluster =
        shared(ClusterSpec::new(format!("exp-{}", RocketMqVersion::V4_9_8), RocketMqVersion::V4_9_8));
    let o = ferry(&["export", "--no-input", "-n", cluster.namesrv_addr(), "-c", "no-such-cluster"]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("no-such-cluster") && stderr.contains(cluster.cluster_name()), "{stderr}");

    let o = ferry(&["export", "--no-input"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

#[test]
fn a_namesrv_that_never_answers_times_out() {
    // Accepts connections (the kernel's backlog) but never reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let started = std::time::Instant::now();
    let o = ferry(&["export", "--no-input", "-n", &addr, "-c", "any", "--timeout-secs", "1"]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&addr) && stderr.contains("timed out"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    drop(silent);
}

#[test]
fn a_plain_acl_file_that_does_not_parse_is_a_usage_error_naming_the_file() {
    let cluster =
        shared(ClusterSpec::new(format!("exp-{}", RocketMqVersion::V4_9_8), RocketMqVersion::V4_9_8));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("plain_acl.yml");
    std::fs::write(&bad, "accounts:\n  - accessKey: [unclosed\n").unwrap();
    let out = dir.path().join("out.json");
    let o = ferry(&[
        "export",
        "--no-input",
        "-n",
        cluster.namesrv_addr(),
        "-c",
        cluster.cluster_name(),
        "-o",
        out.to_str().unwrap(),
        "--plain-acl-file",
        bad.to_str().unwrap(),
    ]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("plain_acl.yml") && stderr.contains("line 2"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn acl2_cluster_exports_users_and_policies_without_passwords() {
    let cluster = shared(ClusterSpec::new("exp-acl2", RocketMqVersion::V5_3_3).acl(true));
    let admin = ferry_testkit::acl::admin();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acl2.json");
    let o = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["export", "--no-input", "-n", cluster.namesrv_addr(), "-c", cluster.cluster_name()])
        .args(["-o", file.to_str().unwrap()])
        .env("FERRY_ACCESS_KEY", &admin.access_key)
        .env("FERRY_SECRET_KEY", &admin.secret_key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains(&admin.secret_key), "a password leaked into the export");
    let doc: Value = serde_json::from_str(&written).unwrap();
    let acl = &doc["ferry"]["acl"];
    assert_eq!(acl["kind"], "acl2");
    let users = acl["users"].as_array().unwrap();
    assert!(users.iter().any(|u| u["username"] == "ferryuser" && u["password"].is_null()), "{users:?}");
    assert!(acl["policies"].as_array().unwrap().iter().any(|p| p["subject"] == "User:ferryuser"));
    assert!(text(&o.stdout).contains("ACL accounts"), "{}", text(&o.stdout));
}

/// `ferry export --from <from> -o <out>` under `umask`, in a shell so that the umask is the
/// process's own from its start.
#[cfg(unix)]
fn export_under_umask(umask: &str, from: &Path, out: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" export --no-input --from \"$1\" -o \"$2\""))
        .arg(env!("CARGO_BIN_EXE_ferry"))
        .arg(from)
        .arg(out)
        .output()
        .expect("run ferry under sh")
}

#[cfg(unix)]
fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A Ferry document with one topic, and an ACL section with or without secrets.
fn document_with_accounts(secrets: bool) -> String {
    let key = if secrets { r#","secretKey":"s3cret""# } else { "" };
    format!(
        r#"{{"ferry":{{"formatVersion":1,"exportedBy":"test","exportTime":"2026-01-01T00:00:00Z","source":{{}},
  "topics":[{{"name":"orders","readQueueNums":4,"writeQueueNums":4,"perm":6}}],"groups":[],"namespaces":[],"skipped":{{}},
  "acl":{{"kind":"plain","origin":"plain_acl.yml","secretsIncluded":{secrets},
    "accounts":[{{"accessKey":"app"{key},"admin":false,"topicPerms":[],"groupPerms":[]}}]}}}}}}"#
    )
}

#[cfg(unix)]
#[test]
fn an_export_without_secrets_honours_the_umask_and_one_with_secrets_is_the_owners_alone() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.json");
    std::fs::write(&plain, document_with_accounts(false)).unwrap();
    let secret = dir.path().join("secret.json");
    std::fs::write(&secret, document_with_accounts(true)).unwrap();

    for (umask, from, out, want) in [
        ("022", &plain, "a.json", 0o644),
        ("027", &plain, "b.json", 0o640),
        ("077", &plain, "c.json", 0o600),
        ("002", &plain, "d.json", 0o664),
        ("077", &plain, "e.xlsx", 0o600),
        ("022", &plain, "f.xlsx", 0o644),
        ("000", &secret, "g.json", 0o600),
        ("022", &secret, "h.json", 0o600),
    ] {
        let out = dir.path().join(out);
        let o = export_under_umask(umask, from, &out);
        assert!(o.status.success(), "umask {umask} {}: {}", out.display(), text(&o.stderr));
        assert_eq!(mode_of(&out), want, "umask {umask}, {}", out.display());
    }
    // The secret went through, and only into the 0600 file.
    let written = std::fs::read_to_string(dir.path().join("g.json")).unwrap();
    assert!(written.contains("s3cret"));

    // Writing over a file replaces it with the mode a new file gets: never wider than the umask.
    let out = dir.path().join("a.json");
    let o = export_under_umask("077", &plain, &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(mode_of(&out), 0o600);
}

#[test]
fn a_document_with_a_value_out_of_range_is_refused_naming_line_item_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("big.json");
    let doc = document_with_accounts(false).replace("\"writeQueueNums\":4", "\"writeQueueNums\":99999999999");
    std::fs::write(&from, format!("\u{feff}{doc}")).unwrap();
    let out = dir.path().join("out.json");
    let o = ferry(&["export", "--no-input", "--from", from.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("big.json, line 2, column 65: ferry.topics[0] (orders).writeQueueNums: 99999999999 is out of range"),
        "{stderr}"
    );
    assert!(!out.exists());
}
