//! The web console in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright
//! from `tests/browser/console.mjs`) against the real `ferry serve` binary, in front of a real
//! 4.9.8 source and 5.3.3 target with real Java producers and consumers. The browser logs in with
//! the token the first start printed, runs a metadata import from a file (a bad workbook first),
//! and walks one topic through the five steps by clicking, asserting what each page shows and
//! saving a screenshot of every step to `target/browser-artifacts/`.
//!
//! This side starts everything and plays the operator's other hand: when the page asks (a line
//! `@@ferry switch-clients` on the script's stdout), it re-points the clients from the source to
//! Ferry, as an operator would after reading step 3, and answers `@@ok switch-clients`.
//!
//! Needs `node` and `chromium` (or `FERRY_CHROMIUM`); `scripts/test.sh` installs both and runs
//! `npm ci` in `tests/browser` (done here too when `node_modules` is missing).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use ferry_metadata::xlsx::{self, Cell};
use ferry_testkit::{
    repo_root, Cluster, ClusterSpec, ConsumeStream, GroupSpec, Harness, ProduceStream, RocketMqVersion,
    RunningConsumer, RunningProducer, TopicSpec,
};
use serde_json::{json, Value};

const TOPIC: &str = "web-orders";
const GROUP: &str = "web-billing";
/// Clients re-read routes and heartbeat every second (30 s by default), so steps settle fast.
const CLIENT_POLL_MS: u64 = 1000;
/// The whole browser run, at most.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Relay ports for this process, away from the other tests' ranges (2000..9100, 10000..19000) and
/// the testkit's (20000..32000).
fn relay_range() -> (u16, u16) {
    let first = 9_100 + (std::process::id() % 9) as u16 * 100;
    (first, first + 49)
}

fn chromium() -> PathBuf {
    let path =
        std::env::var_os("FERRY_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        path.exists(),
        "{} not found: the browser tests need Chromium (scripts/test.sh installs Debian's `chromium`; \
         FERRY_CHROMIUM names another)",
        path.display()
    );
    path
}

/// `tests/browser`, with its locked dependencies installed.
fn browser_tests() -> PathBuf {
    let dir = repo_root().join("tests/browser");
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "the browser tests need Node.js (`node`)");
    if !dir.join("node_modules/playwright-core/package.json").exists() {
        eprintln!("npm ci in {}", dir.display());
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("run npm ci");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    dir
}

fn artifacts() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"));
    let dir = target.join("browser-artifacts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

use common::Serve;

fn serve(dir: &Path) -> Serve {
    let (first, last) = relay_range();
    let config = format!(
        "[proxy]\nnamesrv_listen = \"127.0.0.1:0\"\nrelay_bind = \"127.0.0.1\"\nadvertised_host = \"127.0.0.1\"\n\
         relay_ports = \"{first}-{last}\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n[store]\npath = \"ferry.db\"\n\n\
         [engine]\ntick_secs = 1\nroute_window_secs = 5\n"
    );
    std::fs::write(dir.join("ferry.toml"), config).unwrap();
    common::spawn(common::ferry(), dir, &["--config", "ferry.toml"])
        .unwrap_or_else(|e| panic!("ferry serve did not start: {e}"))
}

impl Serve {
    /// The token the first start generated and printed (no `[api] token` is configured).
    fn printed_token(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let err = self.stderr.lock().unwrap().clone();
            let tokens: Vec<&str> = err
                .lines()
                .filter_map(|l| l.strip_prefix("API token: "))
                .map(|r| r.split_whitespace().next().unwrap())
                .collect();
            if let [token] = tokens.as_slice() {
                assert_eq!(token.len(), 64, "{err}");
                return token.to_string();
            }
            assert!(tokens.len() < 2, "the token is printed once: {err}");
            assert!(Instant::now() < deadline, "no API token printed at the first start:\n{err}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn get(&self, token: &str, path: &str) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let r = reqwest::Client::new()
                .get(format!("{}{path}", self.api))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json().await.unwrap()
        })
    }
}

/// A metadata document (mqadmin exportMetadata's shape): three topics to import, one that exists
/// on the target with other queue numbers (it fails, showing both sides), and a group.
fn document(path: &Path) {
    let topic = |name: &str, queues: i32, order: bool| {
        json!({ "topicName": name, "readQueueNums": queues, "writeQueueNums": queues, "perm": 6,
                "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": order })
    };
    let doc = json!({
        "topicConfigTable": {
            "imp-a": topic("imp-a", 4, false),
            "imp-b": topic("imp-b", 8, true),
            "imp-c": topic("imp-c", 4, false),
            "imp-conflict": topic("imp-conflict", 4, false),
        },
        "subscriptionGroupTable": { "imp-g": { "groupName": "imp-g", "retryMaxTimes": 5 } },
    });
    std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// A workbook with a bad number (Topics!B3) and a bad bool (Topics!D4).
fn bad_workbook(path: &Path) {
    let bytes = xlsx::plain_workbook(&[(
        "Topics",
        vec![
            vec!["Topic".into(), "Read queues".into(), "Write queues".into(), "Order".into()],
            vec!["wb-good".into(), Cell::Number(4.0), Cell::Number(4.0), Cell::Bool(false)],
            vec!["wb-bad-number".into(), "abc".into(), Cell::Number(4.0), Cell::Empty],
            vec!["wb-bad-bool".into(), Cell::Number(4.0), Cell::Number(4.0), "maybe".into()],
        ],
    )])
    .unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn consumer(h: &Harness, instance: &str) -> RunningConsumer {
    let c = h
        .consume_stream(
            &ConsumeStream::new(TOPIC, GROUP)
                .instance(instance)
                .from_first()
                .poll_namesrv_ms(CLIENT_POLL_MS)
                .heartbeat_ms(CLIENT_POLL_MS),
        )
        .unwrap();
    c.wait_ready(Duration::from_secs(60)).unwrap();
    c
}

fn producer(h: &Harness, instance: &str) -> RunningProducer {
    let p = h
        .produce_stream(
            &ProduceStream::new(TOPIC, "web-producers")
                .instance(instance)
                .rate(20)
                .poll_namesrv_ms(CLIENT_POLL_MS)
                .heartbeat_ms(CLIENT_POLL_MS),
        )
        .unwrap();
    p.wait_ready(Duration::from_secs(60)).unwrap();
    p
}

#[test]
fn in_chromium_an_operator_logs_in_imports_a_file_and_walks_a_topic_through_the_five_steps() {
    let chromium = chromium();
    let scripts = browser_tests();
    let shots = artifacts();

    let source = Cluster::start(ClusterSpec::new("console-source", RocketMqVersion::V4_9_8)).unwrap();
    let target = Cluster::start(ClusterSpec::new("console-target", RocketMqVersion::V5_3_3)).unwrap();
    let sh = source.harness();
    sh.create_topics(
        source.cluster_name(),
        &[
            TopicSpec::new(TOPIC).queues(4, 4),
            TopicSpec::new("web-bulk").queues(20, 20),
            TopicSpec::new("web-refunds").queues(2, 2),
        ],
    )
    .unwrap();
    sh.create_groups(source.cluster_name(), &[GroupSpec::new(GROUP)]).unwrap();
    target
        .harness()
        .create_topics(target.cluster_name(), &[TopicSpec::new("imp-conflict").queues(8, 8)])
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (doc, workbook) = (dir.path().join("metadata.json"), dir.path().join("topics-with-errors.xlsx"));
    document(&doc);
    bad_workbook(&workbook);

    // Before the migration the clients use the source directly.
    let mut direct = Some((consumer(&sh, "direct-consumer"), producer(&sh, "direct-producer")));

    let server = serve(dir.path());
    let token = server.printed_token();
    let through_ferry = Harness::new(server.namesrv.clone());
    let mut switched: Option<([RunningConsumer; 2], RunningProducer)> = None;

    let mut node = Command::new("node")
        .arg("console.mjs")
        .current_dir(&scripts)
        .env("FERRY_URL", &server.api)
        .env("FERRY_TOKEN", &token)
        .env("FERRY_NAMESRV", &server.namesrv)
        .env("FERRY_SOURCE_NAMESRV", source.namesrv_addr())
        .env("FERRY_SOURCE_CLUSTER", source.cluster_name())
        .env("FERRY_TARGET_NAMESRV", target.namesrv_addr())
        .env("FERRY_TARGET_CLUSTER", target.cluster_name())
        .env("FERRY_DOCUMENT", &doc)
        .env("FERRY_BAD_WORKBOOK", &workbook)
        .env("FERRY_ARTIFACTS", &shots)
        .env("FERRY_CHROMIUM", &chromium)
        .env("FERRY_TIMEOUT_MS", BROWSER_TIMEOUT.as_millis().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run node tests/browser/console.mjs");
    let mut to_node = node.stdin.take().unwrap();
    let from_node = BufReader::new(node.stdout.take().unwrap());
    let started = Instant::now();
    for line in from_node.lines().map_while(Result::ok) {
        eprintln!("[browser {:>5.1}s] {line}", started.elapsed().as_secs_f32());
        match line.strip_prefix("@@ferry ") {
            Some("switch-clients") => {
                // What step 3 asks of the operator: the NameServer address, changed to Ferry's.
                if let Some((c, p)) = direct.take() {
                    c.stop().unwrap();
                    p.stop().unwrap();
                }
                let consumers = [
                    consumer(&through_ferry, "ferry-consumer-1"),
                    consumer(&through_ferry, "ferry-consumer-2"),
                ];
                switched = Some((consumers, producer(&through_ferry, "ferry-producer")));
                writeln!(to_node, "@@ok switch-clients").unwrap();
                to_node.flush().unwrap();
            }
            Some(other) => panic!("the browser test asked for something unknown: {other}"),
            None => {}
        }
    }
    let status = node.wait().unwrap();
    eprintln!("screenshots: {}", shots.display());
    assert!(status.success(), "the browser test failed ({status}); screenshots in {}", shots.display());

    // What the browser did is what the API says.
    let migrations = server.get(&token, "/api/migrations");
    let m = &migrations["migrations"][0];
    assert_eq!((m["status"].as_str(), m["completedTopics"].as_i64()), (Some("completed"), Some(1)), "{m}");
    let detail = server.get(&token, &format!("/api/migrations/{}", m["id"]));
    assert_eq!(detail["topics"][0]["topic"], TOPIC);
    assert_eq!(detail["topics"][0]["stage"], "Completed");
    let tasks = server.get(&token, "/api/tasks?status=someFailed");
    assert!(
        tasks["tasks"].as_array().unwrap().iter().any(|t| t["source"] == "metadata.json"),
        "the import from the file: {tasks}"
    );
    let shots_taken = std::fs::read_dir(&shots).unwrap().count();
    assert!(shots_taken >= 15, "a screenshot of every step: {shots_taken} in {}", shots.display());
    let (consumers, producer) = switched.expect("the clients were switched to Ferry");
    producer.stop().unwrap();
    for c in consumers {
        c.stop().unwrap();
    }
}
