//! The real `ferry serve` binary with a configuration file and a store on disk, driven by the real
//! `ferry migrate` over HTTP, in front of a real 4.9.8 source and 5.3.3 target: a topic added,
//! moved, blocked by a check and moved anyway with a reason; SIGTERM saves relay ports and exits
//! 0; a restart on the same store has the same stages and reopens the same relays.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::{ok, text};

use ferry_admin::{Admin, AdminOptions};
use ferry_control::Store;
use ferry_testkit::{shared, ClusterSpec, GroupSpec, RocketMqVersion, TopicSpec};
use serde_json::Value;

const TOKEN: &str = "serve-test-token-0123456789";

/// Relay ports for this process, away from the testkit's (20000..32000) and other tests' ranges;
/// `part` splits them between the tests of this binary.
fn relay_range(part: u16) -> (u16, u16) {
    let first = 2_000 + (std::process::id() % 30) as u16 * 100 + part * 50;
    (first, first + 49)
}

type Server = common::Serve;

/// Starts `ferry serve` and waits until it says where it listens.
fn serve(dir: &Path, args: &[&str]) -> Server {
    serve_with(common::ferry(), dir, args)
}

/// `ferry serve` started as systemd starts a service, with a low soft open-file limit (its hard
/// limit as it was).
fn serve_with_soft_nofile(dir: &Path, args: &[&str], soft: u64) -> Server {
    let mut sh = Command::new("sh");
    sh.args(["-c", &format!("ulimit -Sn {soft} && exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_ferry")]);
    serve_with(sh, dir, args)
}

fn serve_with(command: Command, dir: &Path, args: &[&str]) -> Server {
    common::spawn(command, dir, args).unwrap_or_else(|e| panic!("ferry serve did not start: {e}"))
}

impl Server {
    fn migrate(&self, args: &[&str]) -> Output {
        self.migrate_with_token(TOKEN, args)
    }

    fn migrate_with_token(&self, token: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["migrate", "--server", &self.api, "--token", token])
            .args(args)
            .env_remove("FERRY_ACTOR")
            .env_remove("FERRY_SERVER")
            .env_remove("FERRY_TOKEN")
            .env("USER", "serve-test")
            .output()
            .expect("run ferry migrate")
    }
}

fn json(o: &Output) -> Value {
    let out = ok(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn write_config(dir: &Path, relays: (u16, u16), api: &str, token: Option<&str>) -> std::path::PathBuf {
    let token = token.map(|t| format!("token = \"{t}\"\n")).unwrap_or_default();
    let config = format!(
        "# written by the serve test\n\
         [proxy]\n\
         namesrv_listen = \"127.0.0.1:0\"\n\
         relay_bind = \"127.0.0.1\"\n\
         advertised_host = \"127.0.0.1\"\n\
         relay_ports = \"{}-{}\"\n\
         \n\
         [api]\n\
         listen = \"{api}\"\n\
         {token}\
         \n\
         [store]\n\
         path = \"data/ferry.db\"\n\
         \n\
         [engine]\n\
         tick_secs = 3600\n",
        relays.0, relays.1
    );
    let path = dir.join("ferry.toml");
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn serve_and_migrate_on_real_clusters_then_restart_on_the_same_store() {
    let source = shared(ClusterSpec::new("serve-source", RocketMqVersion::V4_9_8));
    let target = shared(ClusterSpec::new("serve-target", RocketMqVersion::V5_3_3));
    let (topic, group) = ("serve-orders", "serve-billing");
    let h = source.harness();
    h.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(2, 2)]).unwrap();
    h.create_groups(source.cluster_name(), &[GroupSpec::new(group)]).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let relays = relay_range(0);
    let config = write_config(dir.path(), relays, "127.0.0.1:0", Some(TOKEN));
    let config = config.to_str().unwrap();
    let server = serve(dir.path(), &["--config", config]);
    assert!(server.namesrv.starts_with("127.0.0.1:"), "{}", server.namesrv);
    assert!(!server.stderr.lock().unwrap().contains("API token:"), "a configured token is not printed");

    // Wrong token: refused, exit 4.
    let o = server.migrate_with_token("not-the-token-at-all", &["list"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("wrong API token"), "{}", text(&o.stderr));

    let created = json(&server.migrate(&[
        "create",
        "--name",
        "serve walk",
        "--source-namesrv",
        source.namesrv_addr(),
        "--source-cluster",
        source.cluster_name(),
        "--target-namesrv",
        target.namesrv_addr(),
        "--target-cluster",
        target.cluster_name(),
        "--json",
    ]));
    let id = created["id"].as_i64().unwrap().to_string();
    assert!(ok(&server.migrate(&["list"])).contains("serve walk"));

    let out = ok(&server.migrate(&["add-topic", &id, topic, "--group", group]));
    assert!(out.contains(&format!("added to migration {id} at Initial: {topic}")), "{out}");
    assert!(out.contains("0 failed"), "{out}");

    let out = ok(&server.migrate(&["proceed", &id, topic]));
    assert!(out.contains(&format!("{topic}: now at DualRead")), "{out}");

    // The group never took a target queue: blocked, each failing check named, exit 7.
    let o = server.migrate(&["proceed", &id, topic]);
    assert_eq!(o.status.code(), Some(7), "{}\n{}", text(&o.stdout), text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains(&format!("{topic}: blocked toward DualReadWrite:")), "{out}");
    assert!(out.contains("FAIL offsets-on-target: "), "{out}");
    assert!(text(&o.stderr).contains("--ignore-checks --reason"), "{}", text(&o.stderr));
    let o = server.migrate(&["check", &id, topic]);
    assert_eq!(o.status.code(), Some(7), "not ready is status 7 too");
    assert!(text(&o.stdout).contains("DualRead -> DualReadWrite: not ready"), "{}", text(&o.stdout));

    // Ignoring takes a reason.
    let o = server.migrate(&["proceed", &id, topic, "--ignore-checks"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let out = ok(&server.migrate(&[
        "proceed",
        &id,
        topic,
        "--ignore-checks",
        "--reason",
        "serve test: no consumers",
        "--actor",
        "carol",
    ]));
    assert!(
        out.contains(&format!("{topic}: now at DualReadWrite (checks ignored: serve test: no consumers)")),
        "{out}"
    );

    let history = json(&server.migrate(&["history", &id, "--topic", topic, "--json"]));
    let transitions = history["transitions"].as_array().unwrap();
    let kinds: Vec<&str> = transitions.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["added", "forward", "forward"]);
    let last = transitions.last().unwrap();
    assert_eq!(last["actor"], "token (says carol)", "who authenticated, and who the client says it is");
    assert_eq!(last["reason"], "serve test: no consumers");
    assert!(last["ignored"].as_array().unwrap().iter().any(|c| c["name"] == "offsets-on-target"), "{last}");
    assert_eq!(transitions[1]["actor"], "token (says serve-test)", "the claimed actor defaults to $USER");
    let table = ok(&server.migrate(&["history", &id]));
    assert!(
        table.contains("DualRead -> DualReadWrite") && table.contains("ignored offsets-on-target"),
        "{table}"
    );

    let o = server.migrate(&["remove-topic", &id, topic]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
    let o = server.migrate(&["show", "999999"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));

    // A client asks Ferry for the route: relays open for both clusters (DualReadWrite).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let admin = Admin::new(&server.namesrv, AdminOptions::default()).unwrap();
        let route = admin.topic_route(topic).await.unwrap();
        assert_eq!(route.queue_datas.len(), 2, "both clusters' queues: {route:?}");
    });

    // The other tables, read from the API's answers.
    let clients = ok(&server.migrate(&["clients", &id]));
    assert!(clients.contains(&format!("clients must use NameServer {}", server.namesrv)), "{clients}");
    let brokers = ok(&server.migrate(&["brokers", &id]));
    assert!(brokers.contains(source.broker_name()) && brokers.contains("registered"), "{brokers}");
    let fleet = ok(&server.migrate(&["fleet"]));
    assert!(fleet.contains("(this one)") && fleet.contains("up"), "{fleet}");
    let traffic = ok(&server.migrate(&["traffic", &id]));
    assert!(traffic.contains(topic) && traffic.contains("DualReadWrite"), "{traffic}");
    // Not Direct yet: leaving is refused (exit 7), saying what to do next.
    let o = server.migrate(&["leave", &id]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(topic), "{}", text(&o.stdout));

    let (status, stderr) = server.stop();
    assert!(status.success(), "SIGTERM: {status:?}\n{stderr}");
    assert!(stderr.contains("ferry serve: stopped"), "{stderr}");

    // The relay ports were saved on the way out (the ticker saves them only once an hour here).
    let store_path = dir.path().join("data/ferry.db");
    let saved = rt.block_on(async {
        let store = Store::open(&store_path).await.unwrap();
        let saved = store.relay_assignments().await.unwrap();
        store.close().await;
        saved
    });
    assert_eq!(saved.len(), 2, "{saved:?}");
    assert!(saved.iter().all(|a| (relays.0..=relays.1).contains(&a.port)), "{saved:?}");
    assert!(saved.iter().any(|a| a.backend == source.broker_addr()), "{saved:?}");

    // Restarted on the same store: same stage, same relay ports listening again.
    let server = serve(dir.path(), &["--config", config]);
    let shown = json(&server.migrate(&["show", &id, "--json"]));
    assert_eq!(shown["topics"][0]["topic"], topic);
    assert_eq!(shown["topics"][0]["stage"], "DualReadWrite", "{shown}");
    let table = ok(&server.migrate(&["show", &id]));
    assert!(table.contains(topic) && table.contains("DualReadWrite"), "{table}");
    for a in &saved {
        std::net::TcpStream::connect(("127.0.0.1", a.port))
            .unwrap_or_else(|e| panic!("relay {} not reopened on {}: {e}", a.backend, a.port));
    }
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn configuration_errors_flags_and_the_generated_token() {
    let dir = tempfile::tempdir().unwrap();
    let relays = relay_range(1);

    // A missing file and a bad range: exit 2, naming the file, the line and the key.
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ferry"))
            .arg("serve")
            .args(args)
            .current_dir(dir.path())
            .env_remove("FERRY_STORE")
            .output()
            .unwrap()
    };
    let o = run(&["--config", "nowhere.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("configuration file nowhere.toml not found"), "{}", text(&o.stderr));
    std::fs::write(dir.path().join("bad.toml"), "[proxy]\n\nrelay_ports = \"30000-30001\"\n").unwrap();
    let o = run(&["--config", "bad.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("bad.toml:3: proxy.relay_ports: "), "{}", text(&o.stderr));
    let o = run(&["--relay-ports", "40000-39000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--relay-ports: "), "{}", text(&o.stderr));

    // No token configured: one is made, printed once, kept in the store. The file's API address
    // (a port that cannot be bound) gives way to the flag's.
    let config = write_config(dir.path(), relays, "127.0.0.1:1", None);
    let config = config.to_str().unwrap();
    let server = serve(dir.path(), &["--config", config, "--api-listen", "127.0.0.1:0"]);
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    let token = stderr
        .lines()
        .find_map(|l| l.strip_prefix("API token: "))
        .unwrap_or_else(|| panic!("no token printed: {stderr}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 64, "{token}");
    assert!(stderr.contains("(saved in the store; set [api] token to choose your own)"), "{stderr}");

    let server = serve(dir.path(), &["--config", config, "--api-listen", "127.0.0.1:0"]);
    let out = ok(&server.migrate_with_token(&token, &["list"]));
    assert_eq!(out.trim(), "no migrations");
    let o = server.migrate(&["list"]);
    assert_eq!(o.status.code(), Some(4), "the test's usual token is not this server's");
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("API token:"), "printed once only: {stderr}");
}

/// A connection to `to` from the loopback address `from` (127.0.0.x), as a stranger elsewhere.
async fn connect_from(from: &str, to: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let s = tokio::net::TcpSocket::new_v4()?;
    s.bind(format!("{from}:0").parse().unwrap())?;
    s.connect(to).await
}

/// `GET /healthz` on a fresh connection, within `within`.
fn healthz(api: &str, within: Duration) -> Result<String, String> {
    use std::io::Write;
    let addr = api.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(within)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: ferry\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| format!("read: {e}"))?;
    Ok(answer)
}

#[test]
fn healthz_and_the_front_answer_under_hundreds_of_unfinished_frames() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), relay_range(1), "127.0.0.1:0", Some(TOKEN));
    // As under systemd's default soft limit (the issue saw 300): Ferry raises it at start.
    let server = serve_with_soft_nofile(dir.path(), &["--config", config.to_str().unwrap()], 300);
    let front: std::net::SocketAddr = server.namesrv.parse().unwrap();
    assert!(healthz(&server.api, Duration::from_secs(5)).unwrap().contains("200 OK"));

    // 400 connections from one address, each starting a frame and never finishing it: the front
    // takes 256 (its cap per address) and closes the rest at once.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let attackers = rt.block_on(async {
        let mut all = Vec::new();
        for _ in 0..400 {
            match connect_from("127.0.0.2", front).await {
                Ok(mut s) => {
                    use tokio::io::AsyncWriteExt;
                    // A 1,000-byte frame with a 2-byte JSON header: 12 bytes of it sent.
                    let _ = s.write_all(&[0, 0, 3, 228, 0, 0, 0, 2, b'{', b'}', 1, 2]).await;
                    all.push(s);
                }
                Err(e) => panic!("connect {}: {e}", all.len()),
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        all
    });
    let closed = attackers
        .iter()
        .filter(|s| {
            let mut b = [0u8; 1];
            match s.try_read(&mut b) {
                Ok(n) => n == 0,
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            }
        })
        .count();

    // /healthz answers at once, and the front still answers a client of its own.
    let started = Instant::now();
    let health = healthz(&server.api, Duration::from_secs(5));
    assert!(
        health.as_ref().is_ok_and(|h| h.contains("200 OK")),
        "/healthz under attack: {health:?}\n{}",
        server.stderr.lock().unwrap()
    );
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let admin = Admin::new(&server.namesrv, AdminOptions::default()).unwrap();
    let answer = rt.block_on(admin.topic_route("healthz-topic")).unwrap_err().to_string();
    assert!(answer.contains("no source cluster yet"), "the front's own answer: {answer}");
    assert_eq!(closed, 400 - 256, "over the front's cap per address");
    drop(attackers);
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("open-file limit"), "what it got is logged: {stderr}");
}
