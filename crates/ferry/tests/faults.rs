//! Health checks that a fault cannot fool (issue 10), on real everything: a two-master 4.9.8
//! source with two NameServers, a two-master 5.3.3 target, the real `ferry serve` binary (store on
//! disk, engine ticking every second) and real Java producers and consumers pointed only at
//! Ferry's NameServer. One topic walks Initial -> DualRead -> DualReadWrite -> CuttingOver ->
//! Completed while faults are injected on the way:
//!
//! - a. `ferry serve` is killed with SIGKILL after each step and restarted on the same store and
//!   ports: the walk resumes where it was.
//! - d. (DualRead) a source NameServer is killed: Ferry keeps answering routes from the other one
//!   and clients keep producing and consuming. It stays down for the rest of the walk.
//! - c. (DualReadWrite) a target master is killed: producers keep sending (to the other masters),
//!   and the step to CuttingOver is refused naming the broker until it is back.
//! - b. (CuttingOver) a source master holding unconsumed messages of a group is killed: the step
//!   to Completed is refused by `source-backlog-zero` naming the broker, through `ferry migrate
//!   check`/`proceed` and the HTTP API; once it is back and drained the walk completes.
//!
//! Asserted on what the consumers got: every successful send is consumed by every group.
//! A check that lets a step through while it should refuse is recorded and the walk goes on
//! (rolled back where a wrong step would strand messages); the test fails at the end listing
//! every such contract violation, after checking delivery.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::{blockers, failing, free_port, log, now_ms, text};

use ferry_admin::{Admin, AdminOptions};
use ferry_testkit::{
    delivery_report, wait_for_delivery, Cluster, ClusterSpec, ConsumeStream, GroupSpec, Harness, Produce,
    ProduceStream, ReceivedRecord, RocketMqVersion, RunningConsumer, SentRecord, TopicSpec,
};
use serde_json::Value;

const TOKEN: &str = "faults-test-token-0123456789";
const TOPIC: &str = "faults-orders";
const PLAIN: &str = "faults-plain";
/// The group whose consumer is stopped for a while, so that it owes messages on the source.
const LAZY: &str = "faults-lazy";
/// Clients re-read routes and heartbeat every second (30 s by default), so steps settle fast.
const CLIENT_POLL_MS: u64 = 1000;
const STEP_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a refusal is looked for once the fault is in place (checks run every tick).
const REFUSAL_WINDOW: Duration = Duration::from_secs(30);

/// Relay ports for this process: away from the testkit's (20000..32000) and the other tests'
/// ranges (2000..9999, 10000..18999).
fn relay_range() -> (u16, u16) {
    let first = 19_000 + (std::process::id() % 19) as u16 * 50;
    (first, first + 49)
}

// ------------------------------------------------------------------------------------------------
// ferry serve
// ------------------------------------------------------------------------------------------------

/// The real `ferry serve`, on fixed ports so that a restart is found by the clients again.
struct Ferry {
    serve: common::Serve,
    dir: PathBuf,
}

impl std::ops::Deref for Ferry {
    type Target = common::Serve;

    fn deref(&self) -> &common::Serve {
        &self.serve
    }
}

impl std::ops::DerefMut for Ferry {
    fn deref_mut(&mut self) -> &mut common::Serve {
        &mut self.serve
    }
}

fn write_config(dir: &Path, namesrv_port: u16, api_port: u16) {
    let (first, last) = relay_range();
    let config = format!(
        "# written by the faults test\n\
         [proxy]\n\
         namesrv_listen = \"127.0.0.1:{namesrv_port}\"\n\
         relay_bind = \"127.0.0.1\"\n\
         advertised_host = \"127.0.0.1\"\n\
         relay_ports = \"{first}-{last}\"\n\
         \n\
         [api]\n\
         listen = \"127.0.0.1:{api_port}\"\n\
         token = \"{TOKEN}\"\n\
         \n\
         [store]\n\
         path = \"data/ferry.db\"\n\
         \n\
         [engine]\n\
         tick_secs = 1\n\
         route_window_secs = 5\n"
    );
    std::fs::write(dir.join("ferry.toml"), config).unwrap();
}

/// Starts `ferry serve --config ferry.toml` in `dir`; retries for a while when a port is still
/// held by the process just killed.
fn start_ferry(dir: &Path) -> Ferry {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match try_start_ferry(dir) {
            Ok(f) => return f,
            Err(e) if Instant::now() < deadline => {
                eprintln!("ferry serve not up yet: {e}");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("ferry serve did not start: {e}"),
        }
    }
}

fn try_start_ferry(dir: &Path) -> Result<Ferry, String> {
    let serve = common::spawn(common::ferry(), dir, &["--config", "ferry.toml"])?;
    Ok(Ferry { serve, dir: dir.to_path_buf() })
}

impl Ferry {
    /// SIGKILL (no shutdown, nothing saved on the way out), then a new process on the same store,
    /// configuration and ports.
    fn kill_and_restart(&mut self) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "ferry serve was killed: {status:?}");
        let dir = self.dir.clone();
        let (api, namesrv) = (self.api.clone(), self.namesrv.clone());
        *self = start_ferry(&dir);
        assert_eq!((&self.api, &self.namesrv), (&api, &namesrv), "restarted on the same addresses");
    }

    fn migrate(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["migrate", "--server", &self.api, "--token", TOKEN])
            .args(args)
            .env_remove("FERRY_ACTOR")
            .env_remove("FERRY_SERVER")
            .env_remove("FERRY_TOKEN")
            .env("USER", "faults-test")
            .output()
            .expect("run ferry migrate")
    }

    fn migrate_ok(&self, args: &[&str]) -> String {
        let o = self.migrate(args);
        assert!(
            o.status.success(),
            "ferry migrate {args:?}: {:?}\nstdout:\n{}\nstderr:\n{}\nserve stderr (tail):\n{}",
            o.status,
            text(&o.stdout),
            text(&o.stderr),
            self.stderr_tail()
        );
        text(&o.stdout)
    }

    /// A POST to the HTTP API: the status and the JSON answer.
    fn post(&self, path: &str) -> (u16, Value) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let r = reqwest::Client::new()
                .post(format!("{}{path}", self.api))
                .bearer_auth(TOKEN)
                .header("X-Ferry-Actor", "faults-test")
                .timeout(Duration::from_secs(120))
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {path}: {e}"));
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
        })
    }

    fn stage(&self, id: &str) -> String {
        let shown: Value = serde_json::from_str(&self.migrate_ok(&["show", id, "--json"])).unwrap();
        let topic = shown["topics"].as_array().unwrap().iter().find(|t| t["topic"] == TOPIC).unwrap();
        topic["stage"].as_str().unwrap().to_string()
    }

    /// The checks toward the next stage, run now (the API's `check`).
    fn check(&self, id: &str) -> Value {
        let (status, report) = self.post(&format!("/api/migrations/{id}/topics/{TOPIC}/check"));
        assert_eq!(status, 200, "check: {report}");
        report
    }
}

// ------------------------------------------------------------------------------------------------
// The walk
// ------------------------------------------------------------------------------------------------

struct Walk {
    start: Instant,
    id: String,
    /// Checks that let a step through where they should have refused it, and other broken
    /// promises; the test fails with all of them at the end.
    violations: Vec<String>,
}

impl Walk {
    fn log(&self, what: impl AsRef<str>) {
        log(self.start, what);
    }

    fn stage(&self, ferry: &Ferry) -> String {
        ferry.stage(&self.id)
    }

    /// `ferry migrate proceed` until the step is taken (exit 7 while a check blocks).
    fn proceed(&self, ferry: &Ferry, to: &str) {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            let o = ferry.migrate(&["proceed", &self.id, TOPIC]);
            let out = text(&o.stdout);
            match o.status.code() {
                Some(0) => {
                    assert!(out.contains(&format!("{TOPIC}: now at {to}")), "{out}");
                    self.log(format!("{TOPIC} is now {to} (after {:.1} s)", started.elapsed().as_secs_f32()));
                    return;
                }
                Some(7) => {
                    if out != last {
                        self.log(format!("toward {to}: {}", out.trim()));
                        last = out;
                    }
                    assert!(
                        started.elapsed() < STEP_TIMEOUT,
                        "{TOPIC} never became ready for {to}: {last}\nserve stderr:\n{}",
                        ferry.stderr_tail()
                    );
                    std::thread::sleep(Duration::from_millis(500));
                }
                _ => panic!("proceed toward {to}: {:?}\n{out}\n{}", o.status, text(&o.stderr)),
            }
        }
    }

    /// Fault a: SIGKILL `ferry serve` at `stage` and restart it; the stage is kept.
    fn kill_ferry(&self, ferry: &mut Ferry, stage: &str) {
        // Apart from the step in time, so that a failed send says which of the two it met.
        std::thread::sleep(Duration::from_millis(1500));
        let t = Instant::now();
        ferry.kill_and_restart();
        self.log(format!(
            "ferry serve killed (-9) at {stage} and restarted in {:.1} s",
            t.elapsed().as_secs_f32()
        ));
        assert_eq!(ferry.stage(&self.id), stage, "the stage survives a killed ferry serve");
    }

    /// Polls the checks toward the next stage until one fails whose name is `check` (any check
    /// when None) and whose detail names `broker`. Returns that report, or None (recorded as a
    /// violation) when the window passed with the checks passing or naming something else.
    fn expect_refusal(
        &mut self,
        ferry: &Ferry,
        check: Option<&str>,
        broker: &str,
        why: &str,
    ) -> Option<Value> {
        let started = Instant::now();
        let mut last = Value::Null;
        while started.elapsed() < REFUSAL_WINDOW {
            let report = ferry.check(&self.id);
            let named =
                failing(&report).iter().any(|(n, d)| check.is_none_or(|c| c == n) && d.contains(broker));
            if named {
                self.log(format!("refused as it should be ({why}): {}", blockers(&report)));
                return Some(report);
            }
            last = report;
            std::thread::sleep(Duration::from_millis(1000));
        }
        let seen = if failing(&last).is_empty() { "every check passed".to_string() } else { blockers(&last) };
        self.violations.push(format!(
            "{why}: toward {} no failing check{} named {broker} within {REFUSAL_WINDOW:?}; last report: {seen}",
            last["toward"].as_str().unwrap_or("?"),
            check.map(|c| format!(" {c}")).unwrap_or_default(),
        ));
        self.log(format!("VIOLATION: {}", self.violations.last().unwrap()));
        None
    }

    /// `ferry migrate proceed` while a fault should block it: exit 7, the broker named on a FAIL
    /// line (of `check` when given). Returns whether the step was (wrongly) taken.
    fn expect_proceed_refused(
        &mut self,
        ferry: &Ferry,
        check: Option<&str>,
        broker: &str,
        why: &str,
    ) -> bool {
        let o = ferry.migrate(&["proceed", &self.id, TOPIC]);
        let out = text(&o.stdout);
        match o.status.code() {
            Some(7) => {
                let named = out.lines().any(|l| {
                    l.trim_start().starts_with(&format!("FAIL {}", check.unwrap_or(""))) && l.contains(broker)
                });
                if !named {
                    self.violations.push(format!(
                        "{why}: `ferry migrate proceed` refused but named no {broker} on a FAIL{} line:\n{out}",
                        check.map(|c| format!(" {c}")).unwrap_or_default()
                    ));
                }
                false
            }
            Some(0) => {
                self.violations.push(format!("{why}: `ferry migrate proceed` took the step: {}", out.trim()));
                self.log(format!("VIOLATION: {}", self.violations.last().unwrap()));
                true
            }
            _ => panic!("proceed: {:?}\n{out}\n{}", o.status, text(&o.stderr)),
        }
    }
}

/// Successful sends stored after `since_ms` (producer clock), per broker name.
fn sends_since(sent: &[SentRecord], since_ms: i64) -> Vec<&SentRecord> {
    sent.iter().filter(|s| s.is_ok() && s.timestamp_ms > since_ms).collect()
}

#[test]
fn faults_at_every_step_fool_no_check_and_lose_nothing() {
    let start = Instant::now();
    // Both clusters boot side by side (mostly waiting on JVMs).
    let source_spec = ClusterSpec::new("faults-src", RocketMqVersion::V4_9_8).masters(2).namesrvs(2);
    let target_spec = ClusterSpec::new("faults-tgt", RocketMqVersion::V5_3_3).masters(2);
    let t = std::thread::spawn(move || Cluster::start(target_spec));
    let source = Cluster::start(source_spec).unwrap_or_else(|e| panic!("source: {e}"));
    let target = t.join().unwrap().unwrap_or_else(|e| panic!("target: {e}"));
    log(
        start,
        format!(
            "clusters up: source {} ({:?}, NameServers {}), target {} ({:?})",
            source.cluster_name(),
            source.brokers().iter().map(|b| &b.name).collect::<Vec<_>>(),
            source.namesrv_addr(),
            target.cluster_name(),
            target.brokers().iter().map(|b| &b.name).collect::<Vec<_>>()
        ),
    );
    let src_a = source.brokers()[0].name.clone();
    let tgt_b = target.brokers()[1].name.clone();

    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(TOPIC).queues(4, 4)]).unwrap();
    sh.create_groups(source.cluster_name(), &[GroupSpec::new(PLAIN), GroupSpec::new(LAZY)]).unwrap();

    // ferry serve, on ports of its own that a restart takes again.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    write_config(dir.path(), free_port(), free_port());
    let mut ferry = start_ferry(dir.path());
    let created: Value = serde_json::from_str(&ferry.migrate_ok(&[
        "create",
        "--name",
        "faults",
        "--source-namesrv",
        source.namesrv_addr(),
        "--source-cluster",
        source.cluster_name(),
        "--target-namesrv",
        target.namesrv_addr(),
        "--target-cluster",
        target.cluster_name(),
        "--json",
    ]))
    .unwrap();
    let id = created["id"].as_i64().unwrap().to_string();
    let out = ferry.migrate_ok(&["add-topic", &id, TOPIC, "--group", PLAIN, "--group", LAZY]);
    assert!(out.contains("0 failed"), "{out}");
    let mut walk = Walk { start, id: id.clone(), violations: Vec::new() };

    // Real clients, pointed at Ferry only.
    let h = Harness::new(&ferry.namesrv);
    let consume = |group: &str, instance: &str| -> RunningConsumer {
        let c = ConsumeStream::new(TOPIC, group)
            .instance(instance)
            .from_first()
            .poll_namesrv_ms(CLIENT_POLL_MS)
            .heartbeat_ms(CLIENT_POLL_MS);
        h.consume_stream(&c).unwrap()
    };
    let plain = [consume(PLAIN, "plain-1"), consume(PLAIN, "plain-2")];
    let lazy = consume(LAZY, "lazy-1");
    for c in plain.iter().chain([&lazy]) {
        c.wait_ready(Duration::from_secs(60)).unwrap();
    }
    let producer = h
        .produce_stream(
            &ProduceStream::new(TOPIC, "faults-pg")
                .instance("faults-producer")
                .rate(40)
                .poll_namesrv_ms(CLIENT_POLL_MS)
                .heartbeat_ms(CLIENT_POLL_MS),
        )
        .unwrap();
    producer.wait_ready(Duration::from_secs(60)).unwrap();
    walk.log("clients up (2 plain consumers, 1 lazy consumer, 1 producer at 40/s)");
    std::thread::sleep(Duration::from_secs(2));

    // ---- DualRead: a (Ferry killed), d (a source NameServer killed).
    walk.proceed(&ferry, "DualRead");
    walk.kill_ferry(&mut ferry, "DualRead");

    let killed_at = now_ms();
    source.kill_namesrv(0).unwrap();
    walk.log(format!("source NameServer {} killed (-9)", source.namesrv_addrs()[0]));
    std::thread::sleep(Duration::from_secs(6));
    // Clients keep producing: the successful sends from 2 s to 6 s after the kill.
    let during = producer.sent().unwrap();
    let window: Vec<SentRecord> = sends_since(&during, killed_at + 2_000)
        .into_iter()
        .filter(|s| s.timestamp_ms <= killed_at + 6_000)
        .cloned()
        .collect();
    assert!(
        window.len() >= 80,
        "a source NameServer down: producers kept sending? {} successful sends 2..6 s after",
        window.len()
    );
    // Routes still come from Ferry, with both source masters, for an old client and a new one.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let route = rt.block_on(async {
        let admin = Admin::new(&ferry.namesrv, AdminOptions::default()).unwrap();
        admin.topic_route(TOPIC).await
    });
    match route {
        Ok(route) => {
            let brokers: Vec<&str> = route.broker_datas.iter().map(|b| b.broker_name.as_str()).collect();
            for b in source.brokers() {
                assert!(
                    brokers.contains(&b.name.as_str()),
                    "{} missing from Ferry's route: {route:?}",
                    b.name
                );
            }
        }
        Err(e) => {
            walk.violations.push(format!("a source NameServer down: Ferry's route for {TOPIC} failed: {e}"))
        }
    }
    // A topic created now, which Ferry cannot have a cached route for: a new client gets its
    // route through Ferry from the NameServer still up.
    const FRESH: &str = "faults-fresh";
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(FRESH).queues(2, 2)]).unwrap();
    match h.produce(&Produce::new(FRESH, 5).group("faults-oneshot")) {
        Ok(sent) => assert_eq!(sent.len(), 5),
        Err(e) => walk.violations.push(format!(
            "a source NameServer down: a new client could not send to a new topic through Ferry: {e}"
        )),
    }
    let missing = wait_for_delivery(&window, &[&plain[0], &plain[1]], Duration::from_secs(30)).unwrap();
    assert!(missing.is_empty(), "a source NameServer down: {} sends not consumed", missing.len());
    walk.log(format!(
        "a source NameServer down: {} sends 2..6 s after, all consumed; the NameServer stays down",
        window.len()
    ));

    // ---- DualReadWrite: a, then c (a target master killed).
    walk.proceed(&ferry, "DualReadWrite");
    walk.kill_ferry(&mut ferry, "DualReadWrite");
    std::thread::sleep(Duration::from_secs(3));

    let killed_at = now_ms();
    target.kill_broker(&tgt_b).unwrap();
    walk.log(format!("target master {tgt_b} killed (-9)"));
    std::thread::sleep(Duration::from_secs(8));
    // Producers keep sending, to the other masters: the sends from 2 s to 8 s after the kill.
    let during = producer.sent().unwrap();
    let window: Vec<&SentRecord> = sends_since(&during, killed_at + 2_000)
        .into_iter()
        .filter(|s| s.timestamp_ms <= killed_at + 8_000)
        .collect();
    let per: std::collections::BTreeMap<&str, usize> = window.iter().fold(Default::default(), |mut m, s| {
        *m.entry(s.broker_name.as_deref().unwrap_or("?")).or_default() += 1;
        m
    });
    let attempts: Vec<&SentRecord> = during
        .iter()
        .filter(|s| s.timestamp_ms > killed_at + 2_000 && s.timestamp_ms <= killed_at + 8_000)
        .collect();
    let slow: Vec<String> = attempts
        .iter()
        .filter(|s| s.elapsed_ms >= 500)
        .map(|s| format!("{} ms {}", s.elapsed_ms, s.error.as_deref().unwrap_or("ok")))
        .collect();
    walk.log(format!(
        "a target master down: successful sends 2..8 s after, per broker: {per:?}; {} attempts ended then, \
         those of 500 ms or more: {slow:?}",
        attempts.len()
    ));
    assert!(window.len() >= 120, "producers keep sending with a target master down: {per:?}");
    // A send in flight on the dead master when it died waits out its timeout, as it would without
    // Ferry; any later one that reaches its relay is refused at once (the producer sends it to
    // another broker) rather than left to wait 3 s.
    let waited: Vec<String> = during
        .iter()
        .filter(|s| s.timestamp_ms - s.elapsed_ms > killed_at + 100 && s.elapsed_ms >= 2_000)
        .map(|s| format!("{} ({} ms): {}", s.key, s.elapsed_ms, s.error.as_deref().unwrap_or("ok")))
        .collect();
    assert!(waited.is_empty(), "sends begun after the kill waited out their timeout: {waited:?}");
    assert!(!per.contains_key(tgt_b.as_str()), "no send succeeds on the dead master: {per:?}");
    assert!(per.len() >= 3, "sends go to the other masters of both clusters: {per:?}");
    let refused = walk.expect_refusal(&ferry, None, &tgt_b, "a target master down during DualReadWrite");
    let mut at_cutting_over = false;
    if refused.is_some() {
        at_cutting_over =
            walk.expect_proceed_refused(&ferry, None, &tgt_b, "a target master down during DualReadWrite");
    }
    let t = target.restart_broker(&tgt_b).unwrap();
    walk.log(format!("target master {tgt_b} restarted in {:.1} s", t.as_secs_f32()));

    // ---- CuttingOver: the lazy group stops consuming first, so it owes messages on the source.
    let lazy_first = lazy.stop().unwrap();
    walk.log(format!("lazy consumer stopped after {} deliveries", lazy_first.len()));
    std::thread::sleep(Duration::from_secs(4));
    if !at_cutting_over {
        walk.proceed(&ferry, "CuttingOver");
    }
    walk.kill_ferry(&mut ferry, "CuttingOver");

    // b: the backlog is there (on both source masters), then one of them dies.
    let owed =
        walk.expect_refusal(&ferry, Some("source-backlog-zero"), LAZY, "the lazy group owes the source");
    assert!(owed.is_some(), "the lazy group's backlog on the source blocks Completed");
    source.kill_broker(&src_a).unwrap();
    walk.log(format!("source master {src_a} killed (-9) with the lazy group's backlog on it"));
    // The lazy group comes back and drains what it can reach: the other source master and the
    // target. What waits on the dead master cannot be consumed.
    let lazy2 = consume(LAZY, "lazy-2");
    lazy2.wait_ready(Duration::from_secs(60)).unwrap();
    let consumed_first: std::collections::HashSet<&str> =
        lazy_first.iter().map(|r| r.msg_id.as_str()).collect();
    let reachable: Vec<SentRecord> = producer
        .sent()
        .unwrap()
        .into_iter()
        .filter(|s| s.is_ok() && s.broker_name.as_deref() != Some(src_a.as_str()))
        .filter(|s| !s.msg_id.as_deref().is_some_and(|m| consumed_first.contains(m)))
        .collect();
    let missing = wait_for_delivery(&reachable, &[&lazy2], Duration::from_secs(60)).unwrap();
    assert!(missing.is_empty(), "the lazy group drains the live brokers: {} missing", missing.len());
    walk.log("the lazy group drained the live masters");

    let why = "a source master holding backlog down during CuttingOver";
    let mut completed_wrongly = false;
    if walk.expect_refusal(&ferry, Some("source-backlog-zero"), &src_a, why).is_some() {
        // The CLI says so too: check and proceed, exit 7, the broker on the FAIL line.
        let o = ferry.migrate(&["check", &id, TOPIC]);
        let out = text(&o.stdout);
        if o.status.code() != Some(7)
            || !out.lines().any(|l| l.contains("FAIL source-backlog-zero") && l.contains(&src_a))
        {
            walk.violations
                .push(format!("{why}: `ferry migrate check` ({:?}) did not name {src_a}:\n{out}", o.status));
        }
        completed_wrongly = walk.expect_proceed_refused(&ferry, Some("source-backlog-zero"), &src_a, why);
        if !completed_wrongly {
            // And the HTTP API: 409 blocked, the report naming the broker.
            let (status, body) = ferry.post(&format!("/api/migrations/{id}/topics/{TOPIC}/proceed"));
            let named = failing(&body["report"])
                .iter()
                .any(|(n, d)| n == "source-backlog-zero" && d.contains(&src_a));
            if status == 200 {
                completed_wrongly = true;
                walk.violations.push(format!("{why}: the API's proceed took the step: {body}"));
            } else if status != 409 || body["kind"] != "blocked" || !named {
                walk.violations.push(format!(
                    "{why}: the API's proceed answered {status} without naming {src_a}: {body}"
                ));
            }
        }
    } else if walk.stage(&ferry) == "CuttingOver" {
        completed_wrongly = walk.expect_proceed_refused(&ferry, Some("source-backlog-zero"), &src_a, why);
    }
    let t = source.restart_broker(&src_a).unwrap();
    walk.log(format!("source master {src_a} restarted in {:.1} s", t.as_secs_f32()));
    if completed_wrongly {
        // Completed hides the source: back to CuttingOver so the lazy group can drain it.
        walk.log("rolling back to CuttingOver to drain the source");
        ferry.migrate_ok(&["rollback", &id, TOPIC]);
    }
    walk.proceed(&ferry, "Completed");
    walk.kill_ferry(&mut ferry, "Completed");
    let restarted_at = now_ms();
    std::thread::sleep(Duration::from_secs(5));

    // ---- Everything sent successfully was consumed by both groups.
    let mut sent = producer.stop().unwrap();
    let after_restart = sends_since(&sent, restarted_at + 1_000);
    assert!(!after_restart.is_empty(), "producers send again after the last restart");
    let target_names: Vec<&str> = target.brokers().iter().map(|b| b.name.as_str()).collect();
    assert!(
        after_restart.iter().all(|s| target_names.contains(&s.broker_name.as_deref().unwrap_or(""))),
        "after Completed every send goes to the target"
    );
    let missing = wait_for_delivery(&sent, &[&plain[0], &plain[1]], Duration::from_secs(90)).unwrap();
    assert!(
        missing.is_empty(),
        "{PLAIN}: {} sends never consumed, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let lazy_owed: Vec<SentRecord> = sent
        .iter()
        .filter(|s| !s.msg_id.as_deref().is_some_and(|m| consumed_first.contains(m)))
        .cloned()
        .collect();
    let missing = wait_for_delivery(&lazy_owed, &[&lazy2], Duration::from_secs(90)).unwrap();
    assert!(
        missing.is_empty(),
        "{LAZY}: {} sends never consumed, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    // Consumers take a few seconds each to shut down: all at once.
    let [p1, p2] = plain;
    let stops: Vec<_> =
        [p1, p2, lazy2].into_iter().map(|c| std::thread::spawn(move || c.stop().unwrap())).collect();
    let mut stopped: Vec<Vec<ReceivedRecord>> = stops.into_iter().map(|t| t.join().unwrap()).collect();
    let lazy_later = stopped.pop().unwrap();
    let plain_got: Vec<ReceivedRecord> = stopped.into_iter().flatten().collect();
    let from_killed = lazy_later.iter().filter(|r| r.broker_name.as_deref() == Some(src_a.as_str())).count();
    walk.log(format!("the lazy group read {from_killed} messages of {src_a} once it was back"));
    assert!(from_killed > 0, "the lazy group owed messages on {src_a} when it was killed");
    let mut lazy_got = lazy_first;
    lazy_got.extend(lazy_later);
    sent.sort_by_key(|s| s.n);
    // Failed sends are allowed (a relay or broker gone mid-request); show when and why.
    let t0 = now_ms() - start.elapsed().as_millis() as i64;
    for s in sent.iter().filter(|s| !s.is_ok()) {
        let error = s.error.as_deref().or(s.status.as_deref()).unwrap_or("?");
        walk.log(format!(
            "a send failed at [{:>6.1}s] after {} ms: {}",
            (s.timestamp_ms - t0) as f64 / 1000.0,
            s.elapsed_ms,
            error.chars().take(400).collect::<String>()
        ));
    }
    let report = delivery_report(&sent, &[(PLAIN, &plain_got), (LAZY, &lazy_got)]);
    walk.log(format!("{report}"));
    assert!(report.all_delivered(), "{report}");
    for b in source.brokers().iter().chain(target.brokers()) {
        assert!(report.sent_per_broker.contains_key(&b.name), "traffic reached {}: {report}", b.name);
    }

    let history: Value =
        serde_json::from_str(&ferry.migrate_ok(&["history", &id, "--topic", TOPIC, "--json"])).unwrap();
    let kinds: Vec<&str> =
        history["transitions"].as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
    walk.log(format!("history: {kinds:?}"));
    ferry.migrate_ok(&["complete", &id]);
    walk.log("done");

    assert!(
        walk.violations.is_empty(),
        "{} contract violation(s) under faults:\n- {}",
        walk.violations.len(),
        walk.violations.join("\n- ")
    );
}
