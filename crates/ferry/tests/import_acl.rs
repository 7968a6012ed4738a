//! `ferry import` of ACL accounts between real clusters with ACL on: a 4.9.8 source (ACL 1.0,
//! `plain_acl.yml`), a 4.9.8 target (ACL 1.0) and a 5.3.3 target (ACL 2.0). An imported account
//! is proven by the real Java client producing and consuming on the target with its keys, and
//! being refused where the account has DENY. Tests share the clusters and work on their own names.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use ferry_admin::{Acl, Admin, AdminOptions, PlainAccount, Policy, PolicyEntry, User};
use ferry_remoting::fastjson;
use ferry_remoting::frame::{self, Frame, DEFAULT_MAX_FRAME};
use ferry_remoting::request::{CreateAccessConfigRequestHeader, GetAclRequestHeader, RequestHeader};
use ferry_testkit::{
    consumed_ids, shared, Cluster, ClusterSpec, Consume, Credentials, GroupSpec, Harness, Produce,
    RocketMqVersion, TopicSpec,
};
use serde_json::{json, Value};

/// The account the tests move: added to the source's plain_acl.yml, on no target.
const MOVER: &str = "ferrymover";
const MOVER_SECRET: &str = "ferrymover-secret-789";
const MOVER_ACCOUNT: &str = "
  # Added by crates/ferry/tests/import_acl.rs.
  - accessKey: ferrymover
    secretKey: ferrymover-secret-789
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: DENY
    topicPerms:
      - mover-rw=PUB|SUB
      - mover-deny=DENY
    groupPerms:
      - mover-group=SUB
";

/// The 4.9.8 source, with `ferrymover` and the topics and groups its permissions name.
fn source() -> &'static Cluster {
    static READY: OnceLock<()> = OnceLock::new();
    let s = shared(ClusterSpec::new("acl-src", RocketMqVersion::V4_9_8).acl(true));
    READY.get_or_init(|| {
        let path = s.plain_acl_file().expect("an ACL cluster has a plain_acl.yml");
        let mut text = std::fs::read_to_string(path).unwrap();
        text.push_str(MOVER_ACCOUNT);
        std::fs::write(path, text).unwrap();
        let h = s.harness();
        let topics = ["mover-rw", "mover-deny", "nosec-orders"].map(|t| TopicSpec::new(t).queues(4, 4));
        h.create_topics(s.cluster_name(), &topics).unwrap();
        h.create_groups(s.cluster_name(), &[GroupSpec::new("mover-group"), GroupSpec::new("nosec-group")])
            .unwrap();
    });
    s
}

fn target(version: RocketMqVersion) -> &'static Cluster {
    shared(ClusterSpec::new(format!("acl-dst-{version}"), version).acl(true))
}

fn dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// One store for this test binary, never the user's own.
fn store() -> PathBuf {
    dir().join("ferry.db")
}

/// Runs ferry signing with the admin account every testkit ACL cluster has.
fn ferry(args: &[&str]) -> Output {
    let admin = ferry_testkit::acl::admin();
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env("FERRY_STORE", store())
        .env("FERRY_ACCESS_KEY", &admin.access_key)
        .env("FERRY_SECRET_KEY", &admin.secret_key)
        .output()
        .expect("run ferry")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exports the source (its accounts from its plain_acl.yml), with or without secrets.
fn exported(with_secrets: bool) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let s = source();
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir().join(format!("export-{n}.json"));
    let acl_file = s.plain_acl_file().unwrap().to_str().unwrap();
    let mut args = vec!["export", "--no-input", "-n", s.namesrv_addr(), "-c", s.cluster_name()];
    args.extend(["-o", file.to_str().unwrap(), "--plain-acl-file", acl_file]);
    if with_secrets {
        args.push("--include-secrets");
    }
    let o = ferry(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    file
}

/// `ferry import --json` into `t`; the outcomes, and the whole output for secret checks.
fn import(t: &Cluster, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["import", "-n", t.namesrv_addr(), "-c", t.cluster_name(), "--json"];
    args.extend_from_slice(extra);
    let o = ferry(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, v)
}

fn outcome<'a>(items: &'a Value, kind: &str, name: &str) -> &'a Value {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .find(|i| i["kind"] == kind && i["targetName"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {items}"))
}

fn status_of(items: &Value, kind: &str, name: &str) -> String {
    outcome(items, kind, name)["outcome"]["status"].as_str().unwrap_or_default().to_string()
}

fn assert_no_secret(what: &str, bytes: &[u8], secrets: &[&str]) {
    let shown = text(bytes);
    for s in secrets {
        assert!(!shown.contains(s), "a secret key shows in {what}");
    }
}

fn all_unchanged(items: &Value) {
    for item in items.as_array().unwrap() {
        assert_eq!(item["outcome"]["status"], "unchanged", "{item}");
    }
}

fn admin_of(c: &Cluster) -> Admin {
    let creds = ferry_testkit::acl::admin();
    let credentials = Some(ferry_admin::Credentials::new(creds.access_key, creds.secret_key));
    Admin::new(c.namesrv_addr(), AdminOptions { credentials, ..AdminOptions::default() }).unwrap()
}

/// The imported account works on `t` with the real Java client: it produces to and consumes
/// from the topic it has PUB|SUB on, and is refused on the one it has DENY on.
fn mover_works_on(t: &Cluster) {
    let h = Harness::new(t.namesrv_addr()).with_credentials(Credentials::new(MOVER, MOVER_SECRET));
    let sent = h.produce(&Produce::new("mover-rw", 5)).expect("ferrymover may publish to mover-rw");
    let got = h
        .consume(&Consume::new("mover-rw", "mover-group", sent.len()).from_first().timeout_secs(90))
        .expect("ferrymover may consume mover-rw as mover-group");
    let sent_ids: std::collections::BTreeSet<&str> = sent.iter().map(|m| m.msg_id.as_str()).collect();
    assert_eq!(consumed_ids(&got), sent_ids);
    let refused = h.produce(&Produce::new("mover-deny", 1)).expect_err("mover-deny is DENY for ferrymover");
    // 4.9.8: "No default permission for topic:mover-deny" (its wording for an owned DENY too; the
    // default here is PUB|SUB); 5.3.3: "User:ferrymover has no permission to access Topic:mover-deny".
    let why = refused.to_string().to_lowercase();
    assert!(why.contains("permission") && why.contains("topic:mover-deny"), "refused for its ACL: {why}");
}

fn selection(file: &Path) -> Vec<&str> {
    vec![
        "--from",
        file.to_str().unwrap(),
        "--topics",
        "mover-*",
        "--groups",
        "mover-*",
        "--account",
        MOVER,
        "--account",
        "ferryuser,ferryadmin",
    ]
}

#[test]
fn plain_accounts_import_into_a_4_9_acl_target_work_there_and_a_rerun_changes_nothing() {
    let t = target(RocketMqVersion::V4_9_8);
    let file = exported(true);
    let mut sel = selection(&file);
    sel.extend(["--target-acl-file", t.plain_acl_file().unwrap().to_str().unwrap()]);

    let (o, plan) = import(t, &[sel.as_slice(), &["--plan"]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_secret("the plan", &o.stdout, &[MOVER_SECRET]);
    assert!(text(&o.stdout).contains("<redacted>"), "{plan}");

    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    assert_no_secret("the output", &[o.stdout.as_slice(), &o.stderr].concat(), &[MOVER_SECRET]);
    for (kind, name) in [("Topic", "mover-rw"), ("Topic", "mover-deny"), ("Group", "mover-group")] {
        assert_eq!(status_of(&items, kind, name), "created", "{items}");
    }
    assert_eq!(status_of(&items, "Account", MOVER), "created", "{items}");
    // The target has the testkit accounts already, the same as the source's.
    assert_eq!(status_of(&items, "Account", "ferryuser"), "unchanged", "{items}");
    assert_eq!(status_of(&items, "Account", "ferryadmin"), "unchanged", "{items}");

    mover_works_on(t);

    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}", text(&o.stderr));
    all_unchanged(&items);
    assert_no_secret("the task store", &std::fs::read(store()).unwrap(), &[MOVER_SECRET]);

    // diff compares accounts the same way.
    let acl_file = t.plain_acl_file().unwrap().to_str().unwrap();
    let o = ferry(&[
        "diff",
        "-n",
        t.namesrv_addr(),
        "-c",
        t.cluster_name(),
        "--from",
        file.to_str().unwrap(),
        "--target-acl-file",
        acl_file,
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_secret("the diff", &o.stdout, &[MOVER_SECRET]);
    let diff: Value = serde_json::from_slice(&o.stdout).unwrap();
    let same = diff["same"].as_array().unwrap();
    for name in [MOVER, "ferryuser", "ferryadmin"] {
        assert!(same.iter().any(|e| e["kind"] == "account" && e["name"] == name), "{name}: {diff}");
    }
}

#[test]
fn plain_accounts_map_onto_5_3_users_and_policies_that_the_java_client_can_use() {
    let t = target(RocketMqVersion::V5_3_3);
    let file = exported(true);
    let sel = selection(&file);

    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    assert_no_secret("the output", &[o.stdout.as_slice(), &o.stderr].concat(), &[MOVER_SECRET]);
    assert_eq!(status_of(&items, "Account", MOVER), "created", "{items}");
    // The broker migrated the testkit accounts from the same plain_acl.yml (AuthMigrator): Ferry's
    // mapping gives the same users and policies.
    assert_eq!(status_of(&items, "Account", "ferryuser"), "unchanged", "{items}");
    assert_eq!(status_of(&items, "Account", "ferryadmin"), "unchanged", "{items}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let admin = admin_of(t);
    let user = rt.block_on(admin.acl_user(t.broker_addr(), MOVER)).unwrap().expect("the user exists");
    assert_eq!(user.user_type.as_deref(), Some("Normal"));
    let acl = rt.block_on(admin.acl_of(t.broker_addr(), "User:ferrymover")).unwrap().expect("its policies");
    let default = acl.policies.iter().find(|p| p.policy_type.as_deref() == Some("Default")).unwrap();
    assert!(default.entries.iter().any(|e| e.resource.as_deref() == Some("Topic:*")), "{acl:?}");

    mover_works_on(t);

    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}", text(&o.stderr));
    all_unchanged(&items);
    assert_no_secret("the task store", &std::fs::read(store()).unwrap(), &[MOVER_SECRET]);
}

#[test]
fn a_document_without_secrets_fails_each_account_and_still_imports_topics_and_groups() {
    let t = target(RocketMqVersion::V5_3_3);
    let file = exported(false);
    let (o, items) =
        import(t, &["--from", file.to_str().unwrap(), "--topics", "nosec-*", "--groups", "nosec-*"]);
    assert_eq!(o.status.code(), Some(6), "some items failed: {}", text(&o.stderr));
    assert_eq!(status_of(&items, "Topic", "nosec-orders"), "created", "{items}");
    assert_eq!(status_of(&items, "Group", "nosec-group"), "created", "{items}");
    for account in ["ferryadmin", "ferryuser", MOVER] {
        let item = outcome(&items, "Account", account);
        assert_eq!(item["outcome"]["status"], "failed", "{item}");
        let cause = item["outcome"]["cause"].as_str().unwrap();
        assert!(cause.contains(account) && cause.contains("--include-secrets"), "{cause}");
    }
}

/// A copy of a document with one more plain account.
fn with_account(file: &Path, account: Value, name: &str) -> PathBuf {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    doc["ferry"]["acl"]["accounts"].as_array_mut().unwrap().push(account);
    let out = dir().join(name);
    std::fs::write(&out, serde_json::to_vec(&doc).unwrap()).unwrap();
    out
}

#[test]
fn an_account_the_5_3_target_has_otherwise_fails_until_overwrite_makes_it_exactly_the_sources() {
    let t = target(RocketMqVersion::V5_3_3);
    let admin = admin_of(t);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let old = User {
        username: "ferrystale".into(),
        password: Some("stale-password-1".into()),
        user_type: Some("Normal".into()),
        user_status: None,
    };
    let entry = |resource: &str, action: &str| PolicyEntry {
        resource: Some(resource.into()),
        actions: vec![action.into()],
        source_ips: vec![],
        decision: Some("Allow".into()),
    };
    let old_acl = Acl {
        subject: "User:ferrystale".into(),
        policies: vec![Policy {
            policy_type: Some("Custom".into()),
            entries: vec![entry("Topic:mover-rw", "Pub"), entry("Topic:stale-topic", "Sub")],
        }],
    };
    rt.block_on(admin.create_acl_user(t.broker_addr(), &old)).unwrap();
    rt.block_on(admin.create_acl(t.broker_addr(), &old_acl)).unwrap();

    let account = json!({"accessKey": "ferrystale", "secretKey": "fresh-secret-22", "admin": false,
        "topicPerms": ["mover-rw=PUB|SUB"], "groupPerms": []});
    let file = with_account(&exported(true), account, "stale-5.json");
    let sel = ["--from", file.to_str().unwrap(), "--no-topics", "--no-groups", "--accounts", "ferrystale"];

    let (o, items) = import(t, &sel);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o.stderr));
    let cause = outcome(&items, "Account", "ferrystale")["outcome"]["cause"].as_str().unwrap().to_string();
    assert!(cause.contains("password") && cause.contains("stale-topic"), "both sides shown: {cause}");
    assert_no_secret("the cause", cause.as_bytes(), &["stale-password-1", "fresh-secret-22"]);

    let (o, items) = import(t, &[sel.as_slice(), &["--overwrite"]].concat());
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    assert_eq!(status_of(&items, "Account", "ferrystale"), "updated", "{items}");
    let user = rt.block_on(admin.acl_user(t.broker_addr(), "ferrystale")).unwrap().unwrap();
    assert_eq!(user.password.as_deref(), Some("fresh-secret-22"));
    let acl = rt.block_on(admin.acl_of(t.broker_addr(), "User:ferrystale")).unwrap().unwrap();
    let entries: Vec<(&str, Vec<&str>)> = acl
        .policies
        .iter()
        .flat_map(|p| &p.entries)
        .map(|e| (e.resource.as_deref().unwrap(), e.actions.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(entries, vec![("Topic:mover-rw", vec!["Pub", "Sub"])], "the stale entry is gone");

    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}", text(&o.stderr));
    all_unchanged(&items);
}

#[test]
fn an_account_the_4_9_target_has_otherwise_is_updated_with_overwrite_and_then_converges() {
    let t = target(RocketMqVersion::V4_9_8);
    let admin = admin_of(t);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let old = PlainAccount {
        access_key: "ferrystale".into(),
        secret_key: "stale-secret-1".into(),
        white_remote_address: Some("10.1.1.*".into()),
        admin: false,
        default_topic_perm: Some("PUB".into()),
        default_group_perm: Some("SUB".into()),
        topic_perms: vec!["stale-topic=SUB".into()],
        group_perms: vec![],
    };
    rt.block_on(admin.create_or_update_plain_account(t.broker_addr(), &old)).unwrap();

    let account = json!({"accessKey": "ferrystale", "secretKey": "fresh-secret-22", "admin": false,
        "topicPerms": ["mover-rw=PUB|SUB"], "groupPerms": []});
    let file = with_account(&exported(true), account, "stale-4.json");
    let acl_file = t.plain_acl_file().unwrap().to_str().unwrap();
    let sel = [
        "--from",
        file.to_str().unwrap(),
        "--no-topics",
        "--no-groups",
        "--accounts",
        "ferrystale",
        "--target-acl-file",
        acl_file,
    ];

    let (o, items) = import(t, &sel);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o.stderr));
    let cause = outcome(&items, "Account", "ferrystale")["outcome"]["cause"].as_str().unwrap().to_string();
    assert!(cause.contains("defaultTopicPerm PUB on target, DENY in source"), "{cause}");
    assert_no_secret("the cause", cause.as_bytes(), &["stale-secret-1", "fresh-secret-22"]);

    let (o, items) = import(t, &[sel.as_slice(), &["--overwrite"]].concat());
    assert!(o.status.success(), "{}\n{}", text(&o.stderr), text(&o.stdout));
    assert_eq!(status_of(&items, "Account", "ferrystale"), "updated", "{items}");
    let file = ferry_admin::PlainAclConfig::read(t.plain_acl_file().unwrap()).unwrap();
    let now = file.accounts.iter().find(|a| a.access_key == "ferrystale").unwrap();
    assert_eq!(now.secret_key, "fresh-secret-22");
    assert_eq!(now.topic_perms, vec!["mover-rw=PUB|SUB"]);
    assert_eq!(now.white_remote_address, None, "cleared");

    let (o, items) = import(t, &sel);
    assert!(o.status.success(), "{}", text(&o.stderr));
    all_unchanged(&items);
}

/// Sends one request, signed with the admin account, over a plain socket; the raw answer.
fn exchange(addr: &str, mut request: Frame) -> Vec<u8> {
    let admin = ferry_testkit::acl::admin();
    request.header.opaque = 77;
    ferry_remoting::Credentials::new(admin.access_key, admin.secret_key).sign(&mut request);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&frame::encode_to_bytes(&request).unwrap()).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).unwrap();
    [len.to_vec(), rest].concat()
}

/// With `FERRY_RECORD_FRAMES=1`, keeps a frame for the replay tests of `crates/admin`.
fn record(name: &str, bytes: &[u8]) {
    if std::env::var_os("FERRY_RECORD_FRAMES").is_some() {
        let dir = ferry_testkit::repo_root().join("crates/remoting/tests/frames");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Answers of real brokers to the ACL requests Ferry sends, read off the socket: they decode and
/// parse as Ferry reads them.
#[test]
fn real_brokers_answer_acl_requests_as_ferry_reads_them() {
    // 5.3.3: the policies of the testkit's ferryuser, migrated by the broker at boot.
    let t = target(RocketMqVersion::V5_3_3);
    let raw = exchange(t.broker_addr(), GetAclRequestHeader { subject: "User:ferryuser".into() }.to_frame());
    record("5.3.3-broker-auth-get-acl.bin", &raw);
    let reply = frame::decode_one(&raw, DEFAULT_MAX_FRAME).unwrap();
    assert_eq!((reply.header.code, reply.header.opaque), (0, 77), "{:?}", reply.header.remark);
    let acl: Acl = fastjson::from_slice(&reply.body).unwrap();
    assert_eq!(acl.subject, "User:ferryuser");
    let deny = acl
        .policies
        .iter()
        .flat_map(|p| &p.entries)
        .find(|e| e.resource.as_deref() == Some("Topic:acl-topic-deny"));
    let deny = deny.unwrap_or_else(|| panic!("{acl:?}"));
    assert_eq!((deny.actions.clone(), deny.decision.as_deref()), (vec!["All".to_string()], Some("Deny")));

    // 4.9.8: a permission the broker refuses (Permission.checkResourcePerms), answered with 209,
    // its UPDATE_AND_CREATE_ACL_CONFIG_FAILED. Nothing is written.
    let t = target(RocketMqVersion::V4_9_8);
    let header = CreateAccessConfigRequestHeader {
        access_key: "ferrybadperm".into(),
        secret_key: Some("ferrybadperm-1".into()),
        topic_perms: Some("t=PUBSUB".into()),
        ..CreateAccessConfigRequestHeader::default()
    };
    let raw = exchange(t.broker_addr(), header.to_frame());
    record("4.9.8-broker-update-acl-config-refused.bin", &raw);
    let reply = frame::decode_one(&raw, DEFAULT_MAX_FRAME).unwrap();
    assert_eq!(reply.header.code, 209, "{:?}", reply.header.remark);
    assert!(reply.header.remark.as_deref().unwrap_or_default().contains("t=PUBSUB"), "{:?}", reply.header);
}
