//! A fleet of `ferry serve` processes on one PostgreSQL store (docs: fleet design, issue 13), on
//! real everything: a 4.9.8 source and a 5.3.3 target (one master each), the real binary, and
//! real Java producers and consumers whose NameServer list names every instance
//! (`127.0.0.1:P;127.0.0.2:P`: one host, instances told apart by loopback address).
//!
//! - Two instances, 127.0.0.1 and 127.0.0.2, both list each other "up" in `GET /api/fleet`; a
//!   strict-order topic walks Initial -> Completed through instance 1's API, and after each step
//!   both instances report the stage applied.
//! - At DualReadWrite instance 2 is killed with SIGKILL: instance 1 shows it "down" within a
//!   bound, and the step to CuttingOver goes through (`fleet-applied` passes: nothing listens on
//!   its front). Restarted on the same configuration, it is "up" again and applies CuttingOver.
//! - After Completed, a third instance reaches the store through a TCP forwarder in this process,
//!   which is then cut: its `/healthz` answers 503 `store-unreachable`, it takes no step, and its
//!   front and relays keep serving a producer that knows only it. Meanwhile instance 1 refuses a
//!   forward step (`fleet-applied` names it: down, front still accepting) until it is killed;
//!   then it is forgotten with `DELETE /api/fleet/{name}`.
//!
//! Asserted on what the consumers got: every successful send consumed by both groups, no order
//! key out of order in the orderly group; the history has every step.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind as IoErrorKind;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod common;

use common::{blockers, failing, free_port, log, now_ms};

use ferry_admin::{Admin, AdminOptions};
use ferry_testkit::{
    delivery_report, postgres_database, wait_for_delivery, Cluster, ClusterSpec, ConsumeStream, GroupSpec,
    Harness, ProduceStream, ReceivedRecord, RocketMqVersion, RunningConsumer, RunningProducer, SentRecord,
    TopicSpec,
};
use serde_json::{json, Value};

const TOKEN: &str = "fleet-test-token-0123456789";
const ACTOR: &str = "fleet-test";
const TOPIC: &str = "fleet-orders";
/// The orderly group (strict order is asserted on it) and a concurrent one.
const FIFO: &str = "fleet-fifo";
const PLAIN: &str = "fleet-plain";
/// The third instance's name, given in its ferry.toml (the first two take the default).
const PARTITIONED: &str = "fleet-partitioned";
/// Clients re-read routes and heartbeat every second (30 s by default), so steps settle fast.
const CLIENT_POLL_MS: u64 = 1000;
const STEP_TIMEOUT: Duration = Duration::from_secs(180);
/// `[fleet] down_after_secs` of every instance.
const DOWN_AFTER_SECS: u64 = 5;
/// How long a change of the fleet may take to show (down, up again, applied, unhealthy): the
/// down_after window, heartbeats every second, and slack for a loaded machine.
const FLEET_BOUND: Duration = Duration::from_secs(25);

/// Relay ports, the same range for every instance (each binds its own loopback address): the
/// upper half of a 50-port block of 19000..19949, which faults.rs's four brokers (16 ports from
/// the bottom of its block) leave free; away from the testkit's and the other tests' ranges.
fn relay_range() -> (u16, u16) {
    let first = 19_000 + (std::process::id() % 19) as u16 * 50 + 26;
    (first, first + 23)
}

/// A port free on 127.0.0.1, 127.0.0.2 and 127.0.0.3 alike (the instances' fronts share it).
fn free_front_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if ["127.0.0.2", "127.0.0.3"].iter().all(|h| TcpListener::bind((*h, port)).is_ok()) {
            return port;
        }
    }
}

// ------------------------------------------------------------------------------------------------
// HTTP
// ------------------------------------------------------------------------------------------------

/// One request to an instance's API: the status and the JSON answer, or why none came.
fn http(
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Value), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut r = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(TOKEN)
            .header("X-Ferry-Actor", ACTOR)
            .timeout(timeout);
        if let Some(body) = body {
            r = r.json(body);
        }
        let r = r.send().await.map_err(|e| format!("{url}: {e}"))?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| format!("{url}: {e}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    })
}

// ------------------------------------------------------------------------------------------------
// ferry serve
// ------------------------------------------------------------------------------------------------

/// Where one instance listens and what store it uses.
#[derive(Clone)]
struct Site {
    /// Its loopback address: front, relays and what it advertises.
    host: &'static str,
    front: u16,
    api: u16,
    store: String,
    /// `[fleet] instance`; None: the default, `<advertised host>:<front port>`.
    instance: Option<&'static str>,
}

impl Site {
    fn name(&self) -> String {
        self.instance.map(str::to_string).unwrap_or_else(|| format!("{}:{}", self.host, self.front))
    }

    fn front(&self) -> String {
        format!("{}:{}", self.host, self.front)
    }
}

fn write_config(dir: &Path, site: &Site) {
    let (first, last) = relay_range();
    let Site { host, front, api, store, .. } = site;
    let instance = site.instance.map(|n| format!("instance = \"{n}\"\n")).unwrap_or_default();
    let config = format!(
        "# written by the fleet test\n\
         [proxy]\n\
         namesrv_listen = \"{host}:{front}\"\n\
         relay_bind = \"{host}\"\n\
         advertised_host = \"{host}\"\n\
         relay_ports = \"{first}-{last}\"\n\
         \n\
         [api]\n\
         listen = \"127.0.0.1:{api}\"\n\
         token = \"{TOKEN}\"\n\
         \n\
         [store]\n\
         url = \"{store}\"\n\
         \n\
         [engine]\n\
         tick_secs = 1\n\
         route_window_secs = 5\n\
         \n\
         [fleet]\n\
         down_after_secs = {DOWN_AFTER_SECS}\n\
         {instance}"
    );
    std::fs::write(dir.join("ferry.toml"), config).unwrap();
}

/// One `ferry serve` of the fleet, restartable on the same configuration.
struct Ferry {
    serve: common::Serve,
    /// Its ferry.toml's folder, removed when the last handle goes.
    dir: Arc<tempfile::TempDir>,
    site: Site,
}

impl std::ops::Deref for Ferry {
    type Target = common::Serve;

    fn deref(&self) -> &common::Serve {
        &self.serve
    }
}

/// Starts `ferry serve --config ferry.toml` in `dir`; retries for a while when a port is still
/// held by the process just killed.
fn start_ferry(dir: Arc<tempfile::TempDir>, site: &Site) -> Ferry {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut command = common::ferry();
        // Every instance reads the store's secrets alike: in plain text, as no key is given.
        command.env_remove("FERRY_STORE_KEY");
        match common::spawn(command, dir.path(), &["--config", "ferry.toml"]) {
            Ok(serve) => return Ferry { serve, dir, site: site.clone() },
            Err(e) if Instant::now() < deadline => {
                eprintln!("ferry serve ({}) not up yet: {e}", site.name());
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("ferry serve ({}) did not start: {e}", site.name()),
        }
    }
}

fn launch(site: Site) -> Ferry {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    write_config(dir.path(), &site);
    let ferry = start_ferry(dir, &site);
    assert_eq!(ferry.namesrv, site.front(), "the front clients are told");
    ferry
}

impl Ferry {
    fn name(&self) -> String {
        self.site.name()
    }

    /// SIGKILL: no shutdown, nothing saved on the way out.
    fn kill(&mut self) {
        self.serve.child.kill().unwrap(); // SIGKILL on Unix
        let status = self.serve.child.wait().unwrap();
        assert!(!status.success(), "ferry serve was killed: {status:?}");
    }

    /// A new process on the same configuration (the store, ports and name).
    fn restart(&mut self) {
        let (dir, site) = (self.dir.clone(), self.site.clone());
        *self = start_ferry(dir, &site);
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(method, &format!("{}{path}", self.api), body, Duration::from_secs(120)).unwrap_or_else(|e| {
            panic!("{} ({}): {e}\nserve stderr (tail):\n{}", path, self.name(), self.stderr_tail())
        })
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, body)
    }

    /// `GET /api/fleet`, which must answer.
    fn fleet(&self) -> Value {
        let (status, body) = self.get("/api/fleet");
        assert_eq!(status, 200, "GET /api/fleet on {}: {body}", self.name());
        body
    }

    /// `GET /healthz`: the status and body, or why nothing came.
    fn healthz(&self) -> Result<(u16, Value), String> {
        http(reqwest::Method::GET, &format!("{}/healthz", self.api), None, Duration::from_secs(10))
    }
}

/// The entry of `name` in a `GET /api/fleet` answer.
fn member<'a>(fleet: &'a Value, name: &str) -> Option<&'a Value> {
    fleet["instances"].as_array()?.iter().find(|i| i["name"] == name)
}

/// What `instance` says of the topic: (stage, applied).
fn serves(instance: &Value, id: &str) -> Option<(String, bool)> {
    let same_id = |v: &Value| v.as_i64().map(|n| n.to_string()).or(v.as_str().map(str::to_string));
    let t = instance["topics"]
        .as_array()?
        .iter()
        .find(|t| t["topic"] == TOPIC && same_id(&t["migration"]).as_deref() == Some(id))?;
    Some((t["stage"].as_str().unwrap_or("?").to_string(), t["applied"] == true))
}

/// Short form of a fleet for the log: `name state clients stage(applied)`.
fn summary(fleet: &Value, id: &str) -> String {
    let Some(all) = fleet["instances"].as_array() else { return fleet.to_string() };
    all.iter()
        .map(|i| {
            let topic = match serves(i, id) {
                Some((stage, applied)) => format!("{stage}{}", if applied { "" } else { " (not applied)" }),
                None => "-".to_string(),
            };
            format!(
                "{} {} (heartbeat {}s ago, {} clients, {topic})",
                i["name"].as_str().unwrap_or("?"),
                i["state"].as_str().unwrap_or("?"),
                i["heartbeatAgeSecs"],
                i["clients"]
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Polls `f` every half second until it says Ok or `bound` passed; panics with its last word.
fn within<T>(bound: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> (T, Duration) {
    let started = Instant::now();
    loop {
        match f() {
            Ok(t) => return (t, started.elapsed()),
            Err(last) if started.elapsed() > bound => panic!("{what}: not within {bound:?}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The store through a forwarder that can be cut
// ------------------------------------------------------------------------------------------------

/// A TCP forwarder to PostgreSQL in this process. Cutting it closes its port (new connections are
/// refused) and drops the open ones: the instance behind it loses its store as in a partition,
/// while PostgreSQL and the other instances go on.
struct Forwarder {
    port: u16,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Forwarder {
    fn start(upstream: String) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Non-blocking, so that the accept loop sees the cut and drops the listener.
        listener.set_nonblocking(true).unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (stop, open) = (cut.clone(), conns.clone());
        let accept = std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(e) if e.kind() == IoErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Err(_) => continue,
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                let mut open = open.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Forwarder { port, cut, conns, accept: Some(accept) }
    }

    fn cut(&mut self) {
        self.cut.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            accept.join().unwrap();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.cut();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// `url` (`postgresql://[user@]host:port/db[?...]`) split into the server's `host:port` and the
/// same URL naming `127.0.0.1:{port}` instead.
fn via_port(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap_or_else(|| panic!("not a URL: {url}"));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, server) = match authority.rsplit_once('@') {
        Some((user, server)) => (format!("{user}@"), server),
        None => (String::new(), authority),
    };
    assert!(!server.is_empty(), "the forwarder needs a TCP server in the URL: {url}");
    let server = if server.contains(':') { server.to_string() } else { format!("{server}:5432") };
    (server, format!("{scheme}://{user}127.0.0.1:{port}/{path}"))
}

// ------------------------------------------------------------------------------------------------
// The walk
// ------------------------------------------------------------------------------------------------

struct Walk {
    start: Instant,
    id: String,
    /// Promises of the design found broken where the test can go on; it fails with all of them
    /// at the end, after checking delivery.
    violations: Vec<String>,
}

impl Walk {
    fn log(&self, what: impl AsRef<str>) {
        log(self.start, what);
    }

    fn violation(&mut self, what: String) {
        self.log(format!("VIOLATION: {what}"));
        self.violations.push(what);
    }

    fn topic_path(&self, action: &str) -> String {
        format!("/api/migrations/{}/topics/{TOPIC}/{action}", self.id)
    }

    /// The step `action` (proceed or rollback) through `ferry`'s API, retried while a check
    /// blocks it or another instance holds the lease (409), until it is taken.
    fn step(&self, ferry: &Ferry, action: &str, to: &str) {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            let (status, body) = ferry.post(&self.topic_path(action), None);
            match status {
                200 => {
                    assert_eq!(body["stage"], to, "{action} toward {to}: {body}");
                    self.log(format!(
                        "{TOPIC} is now {to} ({action} through {}, after {:.1} s)",
                        ferry.name(),
                        started.elapsed().as_secs_f32()
                    ));
                    return;
                }
                409 => {
                    let why = match body["report"].is_object() {
                        true => blockers(&body["report"]),
                        false => body["error"].as_str().unwrap_or("").to_string(),
                    };
                    if why != last {
                        self.log(format!("toward {to}: 409 {}: {why}", body["kind"]));
                        last = why;
                    }
                    assert!(
                        started.elapsed() < STEP_TIMEOUT,
                        "{TOPIC} never became ready for {to}: {last}\nserve stderr ({}):\n{}",
                        ferry.name(),
                        ferry.stderr_tail()
                    );
                    std::thread::sleep(Duration::from_millis(500));
                }
                _ => panic!(
                    "{action} toward {to} through {}: {status} {body}\nserve stderr:\n{}",
                    ferry.name(),
                    ferry.stderr_tail()
                ),
            }
        }
    }

    /// Every observer's `GET /api/fleet` lists every one of `members` up and serving `stage`,
    /// applied.
    fn wait_applied(&self, observers: &[&Ferry], members: &[&Ferry], stage: &str) {
        for o in observers {
            let what = format!("{} sees {:?} up with {stage} applied", o.name(), names(members));
            let (fleet, took) = within(FLEET_BOUND, &what, || {
                let fleet = o.fleet();
                for m in members {
                    let Some(i) = member(&fleet, &m.name()) else {
                        return Err(format!("{} not listed: {fleet}", m.name()));
                    };
                    if i["state"] != "up" || serves(i, &self.id) != Some((stage.to_string(), true)) {
                        return Err(summary(&fleet, &self.id));
                    }
                }
                Ok(fleet)
            });
            self.log(format!(
                "{} (after {:.1} s): {}",
                o.name(),
                took.as_secs_f32(),
                summary(&fleet, &self.id)
            ));
        }
    }

    /// Every instance's front answers the topic's route naming its own relays, on the same ports
    /// (kept in the store) for the same brokers: a client is served alike whichever it asks.
    fn same_routes(&mut self, ferries: &[&Ferry], stage: &str) {
        let routes: Vec<(String, Result<Relays, String>)> =
            ferries.iter().map(|f| (f.name(), route_via(&f.site.front()))).collect();
        let mut seen: Option<&Relays> = None;
        for (name, route) in &routes {
            match (route, seen) {
                (Err(e), _) => {
                    self.violation(format!("{stage}: {name} answers no usable route for {TOPIC}: {e}"))
                }
                (Ok(r), Some(first)) if r != first => self.violation(format!(
                    "{stage}: the instances' routes differ (broker, relay port): {routes:?}"
                )),
                (Ok(r), _) => seen = Some(r),
            }
        }
        self.log(format!("{stage}: routes {routes:?}"));
    }

    /// `observer` lists `name` in `state` within the bound: how long that took.
    fn wait_state(&self, observer: &Ferry, name: &str, state: &str, since: Instant) -> Duration {
        let what = format!("{} sees {name} {state}", observer.name());
        let (fleet, _) = within(FLEET_BOUND, &what, || {
            let fleet = observer.fleet();
            match member(&fleet, name) {
                Some(i) if i["state"] == state => Ok(fleet),
                _ => Err(summary(&fleet, &self.id)),
            }
        });
        let took = since.elapsed();
        self.log(format!("{what} {:.1} s after: {}", took.as_secs_f32(), summary(&fleet, &self.id)));
        took
    }
}

fn names(ferries: &[&Ferry]) -> Vec<String> {
    ferries.iter().map(|f| f.name()).collect()
}

/// (broker name, relay port) of every broker address in a route.
type Relays = BTreeSet<(String, String)>;

/// The topic's route as the front at `front` answers it: (broker, relay port) of every address,
/// each of which must be on the front's own host (its relays).
fn route_via(front: &str) -> Result<Relays, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let route = rt.block_on(async {
        let admin = Admin::new(front, AdminOptions::default()).map_err(|e| e.to_string())?;
        admin.topic_route(TOPIC).await.map_err(|e| e.to_string())
    })?;
    let host = front.rsplit_once(':').map_or(front, |(h, _)| h);
    let mut relays = BTreeSet::new();
    for b in &route.broker_datas {
        for addr in b.broker_addrs.values() {
            match addr.rsplit_once(':') {
                Some((h, port)) if h == host => relays.insert((b.broker_name.clone(), port.to_string())),
                _ => return Err(format!("{addr} of {} is not a relay of {host}: {route:?}", b.broker_name)),
            };
        }
    }
    if relays.is_empty() {
        return Err(format!("no broker address: {route:?}"));
    }
    Ok(relays)
}

/// Successful sends returned after `since_ms` (producer clock).
fn sends_since(sent: &[SentRecord], since_ms: i64) -> Vec<&SentRecord> {
    sent.iter().filter(|s| s.is_ok() && s.timestamp_ms > since_ms).collect()
}

#[test]
fn a_fleet_of_two_walks_a_topic_through_a_killed_instance_and_a_partitioned_one_takes_no_step() {
    let start = Instant::now();
    let source_spec = ClusterSpec::new("fleet-src", RocketMqVersion::V4_9_8);
    let target_spec = ClusterSpec::new("fleet-tgt", RocketMqVersion::V5_3_3);
    let t = std::thread::spawn(move || Cluster::start(target_spec));
    let source = Cluster::start(source_spec).unwrap_or_else(|e| panic!("source: {e}"));
    let target = t.join().unwrap().unwrap_or_else(|e| panic!("target: {e}"));
    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(TOPIC).queues(4, 4)]).unwrap();
    sh.create_groups(
        source.cluster_name(),
        &[GroupSpec::new(FIFO).consume_orderly(true), GroupSpec::new(PLAIN)],
    )
    .unwrap();
    let store = postgres_database("fleet");
    log(start, format!("clusters up: source {}, target {}", source.namesrv_addr(), target.namesrv_addr()));

    // Two instances on one store: same front port and relay range, each on its own address.
    let front = free_front_port();
    let site =
        |host: &'static str| Site { host, front, api: free_port(), store: store.clone(), instance: None };
    let one = launch(site("127.0.0.1"));
    let mut two = launch(site("127.0.0.2"));
    log(start, format!("instances {} (API {}) and {} (API {})", one.name(), one.api, two.name(), two.api));
    for f in [&one, &two] {
        assert_eq!(f.fleet()["self"], f.name(), "GET /api/fleet names the instance answering");
    }

    let (status, created) = one.post(
        "/api/migrations",
        Some(&json!({
            "name": "fleet",
            "source": {"namesrv": source.namesrv_addr(), "cluster": source.cluster_name()},
            "target": {"namesrv": target.namesrv_addr(), "cluster": target.cluster_name()},
        })),
    );
    assert_eq!(status, 201, "create: {created}");
    let id = created["id"].as_i64().unwrap_or_else(|| panic!("an id: {created}")).to_string();
    let (status, added) = one.post(
        &format!("/api/migrations/{id}/topics"),
        Some(&json!([{"topic": TOPIC, "groups": [FIFO, PLAIN], "strictOrder": true}])),
    );
    assert_eq!(status, 200, "add topic: {added}");
    assert_eq!(added["added"], json!([TOPIC]), "{added}");
    let items = added["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["outcome"]["status"] != "failed"), "imported to the target: {added}");
    let mut walk = Walk { start, id: id.clone(), violations: Vec::new() };
    walk.wait_applied(&[&one, &two], &[&one, &two], "Initial");
    walk.same_routes(&[&one, &two], "Initial");

    // Real clients, given every instance.
    let h = Harness::new(format!("{};{}", one.site.front(), two.site.front()));
    let consume = |group: &str, instance: &str, orderly: bool| -> RunningConsumer {
        let mut c = ConsumeStream::new(TOPIC, group)
            .instance(instance)
            .from_first()
            .poll_namesrv_ms(CLIENT_POLL_MS)
            .heartbeat_ms(CLIENT_POLL_MS);
        if orderly {
            c = c.orderly();
        }
        h.consume_stream(&c).unwrap()
    };
    let consumers =
        [consume(FIFO, "fifo-1", true), consume(FIFO, "fifo-2", true), consume(PLAIN, "plain-1", false)];
    for c in &consumers {
        c.wait_ready(Duration::from_secs(60)).unwrap();
    }
    let produce = |h: &Harness, instance: &str, ordered: bool| -> RunningProducer {
        let mut p = ProduceStream::new(TOPIC, format!("fleet-pg-{instance}"))
            .instance(instance)
            .rate(20)
            .poll_namesrv_ms(CLIENT_POLL_MS)
            .heartbeat_ms(CLIENT_POLL_MS);
        if ordered {
            p = p.ordered_keys(16);
        }
        let p = h.produce_stream(&p).unwrap();
        p.wait_ready(Duration::from_secs(60)).unwrap();
        p
    };
    let producers = [produce(&h, "ordered", true), produce(&h, "unordered", false)];
    walk.log("clients up (2 orderly consumers, 1 concurrent, an ordered and an unordered producer at 20/s)");
    std::thread::sleep(Duration::from_secs(3));

    walk.step(&one, "proceed", "DualRead");
    walk.wait_applied(&[&one, &two], &[&one, &two], "DualRead");
    walk.same_routes(&[&one, &two], "DualRead");
    walk.step(&one, "proceed", "DualReadWrite");
    walk.wait_applied(&[&one, &two], &[&one, &two], "DualReadWrite");

    // ---- Instance 2 killed at DualReadWrite: down within the bound, and the walk goes on.
    std::thread::sleep(Duration::from_secs(2));
    let (killed, killed_ms) = (Instant::now(), now_ms());
    two.kill();
    walk.log(format!("{} killed (-9)", two.name()));
    let took = walk.wait_state(&one, &two.name(), "down", killed);
    assert!(took <= FLEET_BOUND, "down after {took:?}");
    // What fleet-applied says of it now: nothing listens on its front.
    let (status, report) = one.post(&walk.topic_path("check"), None);
    assert_eq!(status, 200, "check: {report}");
    let fleet_check =
        report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "fleet-applied").cloned();
    walk.log(format!("toward CuttingOver with {} down, fleet-applied: {fleet_check:?}", two.name()));
    assert!(fleet_check.is_some(), "a forward step is checked by fleet-applied: {report}");
    walk.step(&one, "proceed", "CuttingOver");
    walk.wait_applied(&[&one], &[&one], "CuttingOver");

    let restarted = Instant::now();
    two.restart();
    walk.log(format!("{} restarted in {:.1} s", two.name(), restarted.elapsed().as_secs_f32()));
    walk.wait_state(&one, &two.name(), "up", restarted);
    walk.wait_applied(&[&one, &two], &[&one, &two], "CuttingOver");
    walk.same_routes(&[&one, &two], "CuttingOver, restarted");
    walk.step(&one, "proceed", "Completed");
    walk.wait_applied(&[&one, &two], &[&one, &two], "Completed");

    // ---- A third instance whose store goes away.
    let (pg_server, _) = via_port(&store, 0);
    let mut forwarder = Forwarder::start(pg_server);
    let (_, forwarded) = via_port(&store, forwarder.port);
    let mut three = launch(Site {
        host: "127.0.0.3",
        front,
        api: free_port(),
        store: forwarded,
        instance: Some(PARTITIONED),
    });
    walk.wait_applied(&[&one, &three], &[&one, &two, &three], "Completed");
    let (status, health) = three.healthz().unwrap();
    assert_eq!((status, &health["status"]), (200, &json!("ok")), "healthz with the store: {health}");
    // A producer that knows only the third instance.
    let h3 = Harness::new(three.site.front());
    let lone = produce(&h3, "lone", false);
    std::thread::sleep(Duration::from_secs(3));

    let cut = Instant::now();
    forwarder.cut();
    walk.log(format!("{PARTITIONED}: its store connection cut"));
    let ((status, health), took) =
        within(FLEET_BOUND, "healthz 503 once the store is gone", || match three.healthz() {
            Ok((503, body)) => Ok((503, body)),
            Ok((status, body)) => Err(format!("{status} {body}")),
            Err(e) => Err(format!("{e}\nserve stderr (tail):\n{}", three.stderr_tail())),
        });
    walk.log(format!("{PARTITIONED} /healthz {:.1} s after the cut: {status} {health}", took.as_secs_f32()));
    assert_eq!(health["status"], "store-unreachable", "{health}");
    let unhealthy_ms = now_ms();
    let (status, health) = one.healthz().unwrap();
    assert_eq!(status, 200, "{} keeps its store: {health}", one.name());

    // It takes no step, either way: its store cannot record one.
    for (action, toward) in [("proceed", "Direct"), ("rollback", "CuttingOver")] {
        let answer = http(
            reqwest::Method::POST,
            &format!("{}{}", three.api, walk.topic_path(action)),
            None,
            Duration::from_secs(60),
        );
        match answer {
            Ok((status, body)) if (200..300).contains(&status) => panic!(
                "{PARTITIONED}, without its store, took the step {action} toward {toward}: {status} {body}"
            ),
            Ok((status, body)) => walk.log(format!("{PARTITIONED}: {action} refused: {status} {body}")),
            Err(e) => walk.violation(format!("{PARTITIONED}: {action} without its store got no answer: {e}")),
        }
    }
    // Its front answers routes, naming its own relays.
    match route_via(&three.site.front()) {
        Ok(route) => walk.log(format!("{PARTITIONED} without its store answers the route: {route:?}")),
        Err(e) => walk.violation(format!("{PARTITIONED} without its store answers no usable route: {e}")),
    }

    // ---- The others see it down, its front still open: a forward step waits for it.
    walk.wait_state(&one, PARTITIONED, "down", cut);
    walk.step(&one, "rollback", "CuttingOver");
    walk.wait_applied(&[&one, &two], &[&one, &two], "CuttingOver");
    let named =
        |report: &Value| failing(report).iter().any(|(n, d)| n == "fleet-applied" && d.contains(PARTITIONED));
    let looked = Instant::now();
    loop {
        let (status, report) = one.post(&walk.topic_path("check"), None);
        assert_eq!(status, 200, "check: {report}");
        if named(&report) {
            walk.log(format!("toward Completed with {PARTITIONED} down but open: {}", blockers(&report)));
            break;
        }
        if looked.elapsed() > Duration::from_secs(30) {
            let seen =
                if failing(&report).is_empty() { "every check passed".into() } else { blockers(&report) };
            walk.violation(format!(
                "toward Completed, {PARTITIONED} down with its front accepting connections: fleet-applied \
                 did not name it within 30 s; last report: {seen}"
            ));
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let (status, body) = one.post(&walk.topic_path("proceed"), None);
    let mut completed = false;
    match (status, named(&body["report"])) {
        (409, true) => walk.log(format!("proceed refused: {}", blockers(&body["report"]))),
        (200, _) => {
            completed = true;
            walk.violation(format!(
                "toward Completed, {PARTITIONED} down with its front accepting connections: the step was taken"
            ))
        }
        _ => walk.violation(format!(
            "toward Completed: {status} without fleet-applied naming {PARTITIONED}: {body}"
        )),
    }

    // The lone producer kept sending through the partitioned instance all along.
    let lone_sent = lone.stop().unwrap();
    let after = sends_since(&lone_sent, unhealthy_ms);
    let seconds = (now_ms() - unhealthy_ms) / 1000;
    walk.log(format!("{PARTITIONED} without its store relayed {} sends in {seconds} s", after.len()));
    assert!(
        after.len() as i64 >= seconds * 20 / 2,
        "{PARTITIONED} keeps relaying without its store: {} successful sends in {seconds} s",
        after.len()
    );

    // Gone for good: its front refuses, fleet-applied lets the step through; then it is forgotten.
    three.kill();
    drop(forwarder);
    walk.log(format!("{PARTITIONED} killed (-9)"));
    if !completed {
        walk.step(&one, "proceed", "Completed");
    }
    walk.wait_applied(&[&one, &two], &[&one, &two], "Completed");
    let (status, body) = one.call(reqwest::Method::DELETE, &format!("/api/fleet/{PARTITIONED}"), None);
    assert!((200..300).contains(&status), "DELETE /api/fleet/{PARTITIONED}: {status} {body}");
    for f in [&one, &two] {
        let fleet = f.fleet();
        assert!(member(&fleet, PARTITIONED).is_none(), "forgotten: {fleet}");
        walk.log(format!("{}: {}", f.name(), summary(&fleet, &id)));
    }

    // ---- Everything sent successfully was consumed by both groups, in order where it must be.
    std::thread::sleep(Duration::from_secs(3));
    let mut sent = lone_sent;
    for p in producers {
        sent.extend(p.stop().unwrap());
    }
    for group in [FIFO, PLAIN] {
        let of_group: Vec<&RunningConsumer> = consumers.iter().filter(|c| c.group() == group).collect();
        let missing = wait_for_delivery(&sent, &of_group, Duration::from_secs(120)).unwrap();
        assert!(
            missing.is_empty(),
            "{group}: {} sends never consumed, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
    }
    let stops: Vec<_> = consumers
        .into_iter()
        .map(|c| {
            let group = c.group().to_string();
            std::thread::spawn(move || (group, c.stop().unwrap()))
        })
        .collect();
    let mut received: Vec<(String, Vec<ReceivedRecord>)> = Vec::new();
    for (group, got) in stops.into_iter().map(|t| t.join().unwrap()) {
        match received.iter_mut().find(|(g, _)| *g == group) {
            Some((_, all)) => all.extend(got),
            None => received.push((group, got)),
        }
    }
    // Failed sends: allowed once an instance is gone (a relay gone mid-request), not while every
    // instance runs. Told per producer and error, with when (test clock).
    let t0 = now_ms() - start.elapsed().as_millis() as i64;
    let at = |ms: i64| (ms - t0) as f64 / 1000.0;
    let mut failures: BTreeMap<(String, String), (usize, i64, i64)> = BTreeMap::new();
    for s in sent.iter().filter(|s| !s.is_ok()) {
        let producer = s.key.rsplit_once('-').map_or(s.key.as_str(), |(p, _)| p).to_string();
        let error = s.error.as_deref().or(s.status.as_deref()).unwrap_or("?");
        let error = error.lines().next().unwrap_or("").chars().take(200).collect();
        let e = failures.entry((producer, error)).or_insert((0, s.timestamp_ms, s.timestamp_ms));
        e.0 += 1;
        e.2 = s.timestamp_ms;
    }
    for ((producer, error), (n, first, last)) in &failures {
        walk.log(format!("{producer}: {n} sends failed [{:.1}s..{:.1}s]: {error}", at(*first), at(*last)));
    }
    let early: Vec<&SentRecord> = sent.iter().filter(|s| !s.is_ok() && s.timestamp_ms < killed_ms).collect();
    if let Some(first) = early.first() {
        walk.violation(format!(
            "{} sends failed while every instance ran (before {} was killed at [{:.1}s]), from [{:.1}s] to \
             [{:.1}s], e.g. {}: {}",
            early.len(),
            two.name(),
            at(killed_ms),
            at(first.timestamp_ms),
            at(early.last().unwrap().timestamp_ms),
            first.key,
            first.error.as_deref().unwrap_or("?").lines().next().unwrap_or("")
        ));
    }
    let by_group: Vec<(&str, &[ReceivedRecord])> =
        received.iter().map(|(g, r)| (g.as_str(), r.as_slice())).collect();
    let report = delivery_report(&sent, &by_group);
    walk.log(format!("{report}"));
    assert!(report.all_delivered(), "{report}");
    let fifo = report.group(FIFO).unwrap();
    assert!(fifo.out_of_order.is_empty(), "{FIFO}: order keys out of order: {:?}", fifo.out_of_order);
    for b in source.brokers().iter().chain(target.brokers()) {
        assert!(report.sent_per_broker.contains_key(&b.name), "traffic reached {}: {report}", b.name);
    }

    // ---- The history has every step, in order, by this test.
    let (status, history) = one.get(&format!("/api/migrations/{id}/history?topic={TOPIC}"));
    assert_eq!(status, 200, "history: {history}");
    let steps: Vec<(String, String, String)> = history["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "forward" || t["kind"] == "rollback")
        .map(|t| {
            // The API names the token and what the client said.
            assert!(t["actor"].as_str().is_some_and(|a| a.contains(ACTOR)), "{t}");
            let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("from"), s("to"))
        })
        .collect();
    walk.log(format!("history: {steps:?}"));
    let expected: Vec<(String, String, String)> = [
        ("forward", "Initial", "DualRead"),
        ("forward", "DualRead", "DualReadWrite"),
        ("forward", "DualReadWrite", "CuttingOver"),
        ("forward", "CuttingOver", "Completed"),
        ("rollback", "Completed", "CuttingOver"),
        ("forward", "CuttingOver", "Completed"),
    ]
    .iter()
    .map(|(k, f, t)| (k.to_string(), f.to_string(), t.to_string()))
    .collect();
    if steps != expected {
        walk.violation(format!("the history's steps {steps:?}, where {expected:?} were taken: {history}"));
    }
    let kinds = history["transitions"].as_array().unwrap();
    assert!(kinds.iter().any(|t| t["kind"] == "added"), "the topic's addition in the history: {history}");

    let (status, body) = one.post(&format!("/api/migrations/{id}/complete"), None);
    assert_eq!(status, 200, "complete: {body}");
    walk.log("done");
    assert!(
        walk.violations.is_empty(),
        "{} broken promise(s) of the fleet:\n- {}",
        walk.violations.len(),
        walk.violations.join("\n- ")
    );
}
