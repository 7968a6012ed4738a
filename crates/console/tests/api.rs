//! The HTTP API on a real port in front of a real proxy and engine, with a real 4.9.8 source and a
//! 5.3.3 target: authentication, errors and their status codes, a topic imported, moved forward
//! behind its checks (one ignored on purpose, with a reason), rolled back and removed, traffic of
//! a real Java producer through Ferry, metrics, and no secret in any answer. The console's own
//! endpoints (login and CSRF, uploads, templates, a migration's live source) are in `api/console.rs`.

#[path = "api/console.rs"]
mod console;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ferry_admin::{Admin, AdminOptions};
use ferry_console::{ApiState, Auth, OPENAPI_YAML};
use ferry_control::migration::{Engine, EngineSettings};
use ferry_control::Store;
use ferry_proxy::{Proxy, ProxyConfig};
use ferry_testkit::{shared, Cluster, ClusterSpec, GroupSpec, Harness, Produce, RocketMqVersion, TopicSpec};
use reqwest::Method;
use serde_json::{json, Value};

const TOKEN: &str = "api-test-token-0123456789";
const SECRET: &str = "sk-NEVER-SHOWN-7f3a9c";
const TOPIC: &str = "api-orders";
const GROUP: &str = "api-billing";

struct Fixture {
    rt: tokio::runtime::Runtime,
    base: String,
    http: reqwest::Client,
    engine: Arc<Engine>,
    source: &'static Cluster,
    target: &'static Cluster,
    /// Every response body, to look for secrets in.
    bodies: Mutex<Vec<String>>,
    _dir: tempfile::TempDir,
}

/// Relay ports away from the testkit's (20000..32000) and the proxy tests' (10000..19000); the
/// first half for this fixture, the second for `console`'s own Ferry.
fn relay_range() -> (u16, u16) {
    let first = 5_000 + (std::process::id() % 40) as u16 * 100;
    (first, first + 49)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let source = shared(ClusterSpec::new("api-source", RocketMqVersion::V4_9_8));
        let target = shared(ClusterSpec::new("api-target", RocketMqVersion::V5_3_3));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (first, last) = relay_range();
        let (engine, base) = rt.block_on(async {
            let store = Store::open(&dir.path().join("ferry.db")).await.unwrap();
            let proxy = Arc::new(Proxy::start(ProxyConfig::loopback(0, first, last), &[]).await.unwrap());
            // No ticker: the test ticks by hand.
            let settings = EngineSettings {
                route_window: Duration::from_secs(90),
                tick: Duration::from_secs(3600),
                traffic_samples: 10,
                fleet: None,
            };
            let engine = Engine::start(store, proxy, settings).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let state = ApiState::new(engine.clone(), Auth::bearer(TOKEN));
            tokio::spawn(ferry_console::serve(listener, state, std::future::pending()));
            (engine, base)
        });
        Fixture {
            rt,
            base,
            http: reqwest::Client::new(),
            engine,
            source,
            target,
            bodies: Mutex::new(Vec::new()),
            _dir: dir,
        }
    })
}

struct Answer {
    status: u16,
    body: Value,
    text: String,
    content_type: String,
}

impl Fixture {
    fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        actor: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut r = self.http.request(method, &url).timeout(Duration::from_secs(180));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            if let Some(a) = actor {
                r = r.header("X-Ferry-Actor", a);
            }
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let text = resp.text().await.unwrap();
            self.bodies.lock().unwrap().push(text.clone());
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            Answer { status, body, text, content_type }
        })
    }

    fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, Some(TOKEN), None, None)
    }

    fn post(&self, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(TOKEN), None, Some(body))
    }

    fn post_empty(&self, path: &str) -> Answer {
        self.request(Method::POST, path, Some(TOKEN), None, None)
    }

    fn endpoint(&self, c: &Cluster) -> Value {
        json!({ "namesrv": c.namesrv_addr(), "cluster": c.cluster_name() })
    }
}

/// `status`, or a panic showing the answer.
fn expect(a: &Answer, status: u16) -> &Value {
    assert_eq!(a.status, status, "{}", a.text);
    &a.body
}

fn error_of(a: &Answer) -> String {
    a.body["error"].as_str().unwrap_or_else(|| panic!("no error in {}", a.text)).to_string()
}

fn failing_checks(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn requests_without_the_token_are_refused_and_healthz_is_open() {
    let f = fixture();
    for path in ["/api/migrations", "/metrics", "/api/openapi.yaml", "/api/no-such-thing"] {
        let a = f.request(Method::GET, path, None, None, None);
        assert_eq!(a.status, 401, "{path} without a token: {}", a.text);
        assert_eq!(a.body["kind"], "unauthorized", "{}", a.text);
        let a = f.request(Method::GET, path, Some("api-test-token-0123456788"), None, None);
        assert_eq!(a.status, 401, "{path} with a wrong token: {}", a.text);
        assert!(error_of(&a).contains("wrong API token"));
    }
    let a = f.request(Method::POST, "/api/migrations", None, None, Some(json!({"name": "x"})));
    assert_eq!(a.status, 401, "a change without a token is refused before its body is read");
    let a = f.request(Method::GET, "/healthz", None, None, None);
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["status"], "ok");

    assert_eq!(f.get("/api/migrations").status, 200);
    let a = f.get("/api/no-such-thing");
    assert_eq!((a.status, a.body["kind"].as_str()), (404, Some("not_found")), "{}", a.text);
}

#[test]
fn the_openapi_document_is_served() {
    let f = fixture();
    let a = f.get("/api/openapi.yaml");
    assert_eq!(a.status, 200);
    assert!(a.content_type.starts_with("application/yaml"), "{}", a.content_type);
    assert_eq!(a.text, OPENAPI_YAML);
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let f = fixture();
    let a = f.post("/api/migrations", json!({ "name": "no clusters" }));
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(error_of(&a).contains("source"), "{}", a.text);
    let a = f.request(Method::POST, "/api/migrations", Some(TOKEN), None, None);
    assert_eq!(a.status, 400, "an empty body: {}", a.text);
    let a = f.get("/api/migrations/abc");
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(error_of(&a).contains("not a migration id"));
    let a = f.get("/api/migrations/999999");
    assert_eq!((a.status, a.body["kind"].as_str()), (404, Some("not_found")), "{}", a.text);
    let a = f.get("/api/tasks/999999");
    assert_eq!(a.status, 404, "{}", a.text);
    let a = f.get("/api/tasks?status=bogus");
    assert_eq!(a.status, 400, "{}", a.text);
    let a = f.request(Method::DELETE, "/api/migrations", Some(TOKEN), None, None);
    assert_eq!(a.status, 405, "{}", a.text);
}

#[test]
fn a_topic_walks_forward_and_back_through_the_api() {
    let f = fixture();
    let (source, target) = (f.source, f.target);

    // Creating: a wrong NameServer address and an unknown cluster are named.
    let a = f.post(
        "/api/migrations",
        json!({
            "name": "wrong address",
            "source": { "namesrv": "127.0.0.1:1", "cluster": source.cluster_name() },
            "target": f.endpoint(target),
        }),
    );
    assert_eq!(a.status, 502, "{}", a.text);
    assert_eq!(a.body["kind"], "unreachable");
    assert!(error_of(&a).contains("unreachable"), "{}", a.text);
    let a = f.post(
        "/api/migrations",
        json!({
            "name": "wrong cluster",
            "source": f.endpoint(source),
            "target": { "namesrv": target.namesrv_addr(), "cluster": "api-no-such-cluster" },
        }),
    );
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["kind"], "unknown_cluster");
    assert!(error_of(&a).contains("api-no-such-cluster"), "{}", a.text);

    // Created with ACL credentials for the source (which has no ACL, so it ignores them): the
    // access key is shown, the secret key never.
    let mut src = f.endpoint(source);
    src["accessKey"] = json!("api-ak");
    src["secretKey"] = json!(SECRET);
    let a =
        f.post("/api/migrations", json!({ "name": "api walk", "source": src, "target": f.endpoint(target) }));
    let m = expect(&a, 201).clone();
    assert_eq!(m["source"]["accessKey"], "api-ak");
    assert!(m["source"].get("secretKey").is_none(), "{m}");
    assert_eq!(m["status"], "active");
    let id = m["id"].as_i64().unwrap();
    let a = f.post(
        "/api/migrations",
        json!({ "name": "again", "source": f.endpoint(source), "target": f.endpoint(target) }),
    );
    assert_eq!(
        (a.status, a.body["kind"].as_str()),
        (409, Some("refused")),
        "one migration per target: {}",
        a.text
    );
    let list = f.get("/api/migrations");
    assert!(expect(&list, 200)["migrations"].as_array().unwrap().iter().any(|m| m["id"] == id));

    // A topic and its group, on the source only.
    let h = source.harness();
    h.create_topics(source.cluster_name(), &[TopicSpec::new(TOPIC).queues(4, 4)]).unwrap();
    h.create_groups(source.cluster_name(), &[GroupSpec::new(GROUP)]).unwrap();

    // Adding it imports it (and its group) to the target, as a task.
    let a = f.post(&format!("/api/migrations/{id}/topics"), json!([{ "topic": TOPIC, "groups": [GROUP] }]));
    let added = expect(&a, 200).clone();
    assert_eq!(added["added"], json!([TOPIC]));
    let task = added["importTask"].as_i64().unwrap();
    let a = f.get(&format!("/api/tasks/{task}"));
    let t = expect(&a, 200);
    assert_eq!(t["task"]["targetCluster"], target.cluster_name());
    let items = t["items"].as_array().unwrap();
    let status_of = |kind: &str, name: &str| {
        items.iter().find(|i| i["kind"] == kind && i["targetName"] == name).map(|i| i["status"].clone())
    };
    assert_eq!(status_of("topic", TOPIC), Some(json!("created")), "{}", a.text);
    assert_eq!(status_of("group", GROUP), Some(json!("created")), "{}", a.text);
    let a = f.get("/api/tasks?status=succeeded");
    assert!(expect(&a, 200)["tasks"].as_array().unwrap().iter().any(|t| t["id"] == task), "{}", a.text);
    f.rt.block_on(async {
        let admin = Admin::new(target.namesrv_addr(), AdminOptions::default()).unwrap();
        admin.topic_route(TOPIC).await.expect("the topic is on the target now");
    });
    let a = f.post(&format!("/api/migrations/{id}/topics"), json!([{ "topic": TOPIC, "groups": [GROUP] }]));
    assert_eq!(expect(&a, 200)["alreadyThere"], json!([TOPIC]));

    let topic_path = format!("/api/migrations/{id}/topics/{TOPIC}");

    // The brokers the checks must hear from: both clusters' masters, recorded at creation.
    let a = f.get(&format!("/api/migrations/{id}/brokers"));
    let brokers = expect(&a, 200)["brokers"].as_array().unwrap().clone();
    let names: Vec<(&str, &str, bool)> = brokers
        .iter()
        .map(|b| (b["side"].as_str().unwrap(), b["name"].as_str().unwrap(), b["registered"] == true))
        .collect();
    assert_eq!(
        names,
        [("source", source.broker_name(), true), ("target", target.broker_name(), true)],
        "{}",
        a.text
    );
    // A source master the migration saw and that is not registered now (as after a crash):
    // silence is not zero, so every check needing the source fails, naming it.
    f.rt.block_on(f.engine.store().note_brokers(
        ferry_control::migration::MigrationId(id),
        ferry_proxy::Side::Source,
        &[("api-gone-broker".to_string(), "127.0.0.1:1".to_string())],
    ))
    .unwrap();
    let a = f.post_empty(&format!("{topic_path}/check"));
    let report = expect(&a, 200).clone();
    assert_eq!(
        failing_checks(&report),
        [
            "clusters-reachable",
            "topic-on-source",
            "clients-through-ferry",
            "no-pop-consumers",
            "no-mixed-consumers"
        ],
        "{}",
        a.text
    );
    for c in report["checks"].as_array().unwrap().iter().filter(|c| c["passed"] == false) {
        let detail = c["detail"].as_str().unwrap();
        assert!(
            detail.contains(
                "source master api-gone-broker (127.0.0.1:1) is not registered with the NameServer"
            ),
            "{detail}"
        );
    }
    let a = f.post_empty(&format!("{topic_path}/proceed"));
    assert_eq!((a.status, a.body["kind"].as_str()), (409, Some("blocked")), "{}", a.text);
    assert!(error_of(&a).contains("api-gone-broker"), "{}", a.text);
    let forget = |side: &str, name: &str, body: Value| {
        f.request(
            Method::POST,
            &format!("/api/migrations/{id}/brokers/{side}/{name}/forget"),
            Some(TOKEN),
            Some("carol"),
            Some(body),
        )
    };
    let a = forget("source", "api-gone-broker", json!({ "reason": " " }));
    assert_eq!(a.status, 400, "a reason is needed: {}", a.text);
    let a = forget("source", source.broker_name(), json!({ "reason": "wrong one" }));
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(error_of(&a).contains("is registered now"), "{}", a.text);
    let a = forget("target", "api-gone-broker", json!({ "reason": "x" }));
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(error_of(&a).contains(target.broker_name()), "the known ones are named: {}", a.text);
    let a = forget("sideways", "api-gone-broker", json!({ "reason": "x" }));
    assert_eq!(a.status, 400, "{}", a.text);
    let a = forget("source", "api-gone-broker", json!({ "reason": "decommissioned last week" }));
    // The history records who authenticated (the token); the header is only a note.
    assert_eq!(expect(&a, 200)["forgotten"]["actor"], "token (says carol)", "{}", a.text);
    let a = f.get(&format!("/api/migrations/{id}/history"));
    let last = expect(&a, 200)["transitions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "broker_forgotten", "{last}");
    assert!(last["reason"].as_str().unwrap().contains("api-gone-broker"), "{last}");
    assert!(last["reason"].as_str().unwrap().contains("decommissioned last week"), "{last}");

    // Initial -> DualRead: no consumer anywhere, so every gate passes.
    let a = f.post_empty(&format!("{topic_path}/check"));
    let report = expect(&a, 200);
    assert_eq!((report["from"].as_str(), report["toward"].as_str()), (Some("Initial"), Some("DualRead")));
    assert!(failing_checks(report).is_empty(), "{}", a.text);
    let a = f.post_empty(&format!("{topic_path}/proceed"));
    let moved = expect(&a, 200);
    assert_eq!(moved["stage"], "DualRead");
    // Where clients read and write, as the routes show it.
    assert_eq!((&moved["reads"], &moved["writes"]), (&json!(["source", "target"]), &json!(["source"])));

    // DualRead -> DualReadWrite: the group never took a target queue, so writes may not move.
    let a = f.post_empty(&format!("{topic_path}/proceed"));
    assert_eq!((a.status, a.body["kind"].as_str()), (409, Some("blocked")), "{}", a.text);
    let report = &a.body["report"];
    assert_eq!(
        (report["from"].as_str(), report["toward"].as_str()),
        (Some("DualRead"), Some("DualReadWrite"))
    );
    assert!(failing_checks(report).contains(&"offsets-on-target".to_string()), "{}", a.text);
    assert!(error_of(&a).contains("offsets-on-target"));

    // Ignoring checks takes a reason.
    for body in [json!({ "ignoreChecks": true }), json!({ "ignoreChecks": true, "reason": "  " })] {
        let a = f.post(&format!("{topic_path}/proceed"), body);
        assert_eq!((a.status, a.body["kind"].as_str()), (400, Some("invalid")), "{}", a.text);
        assert!(error_of(&a).contains("reason"));
    }
    let a = f.post(&format!("{topic_path}/proceed"), json!({ "reason": "no flag" }));
    assert_eq!(a.status, 400, "{}", a.text);
    let a = f.post(&format!("{topic_path}/proceed"), json!({ "ignoreChecks": true, "reasn": "typo" }));
    assert_eq!(a.status, 400, "unknown fields are refused: {}", a.text);
    let a = f.request(
        Method::POST,
        &format!("{topic_path}/proceed"),
        Some(TOKEN),
        Some("alice"),
        Some(json!({ "ignoreChecks": true, "reason": "no consumer yet in this test" })),
    );
    assert_eq!(expect(&a, 200)["stage"], "DualReadWrite");

    let a = f.get(&format!("/api/migrations/{id}/history?topic={TOPIC}"));
    let transitions = expect(&a, 200)["transitions"].as_array().unwrap().clone();
    assert_eq!(transitions[0]["kind"], "added");
    let last = transitions.last().unwrap();
    assert_eq!(last["kind"], "forward");
    assert_eq!((last["from"].as_str(), last["to"].as_str()), (Some("DualRead"), Some("DualReadWrite")));
    assert_eq!(last["actor"], "token (says alice)");
    assert_eq!(last["reason"], "no consumer yet in this test");
    let ignored: Vec<&str> =
        last["ignored"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(ignored.contains(&"offsets-on-target"), "{last}");
    assert!(last["ignored"].as_array().unwrap().iter().all(|c| c["passed"] == false && c["detail"] != ""));
    let forward_without_reason = &transitions[transitions.len() - 2];
    assert_eq!(
        (forward_without_reason["actor"].as_str(), forward_without_reason["reason"].is_null()),
        (Some("token"), true)
    );

    // Only a topic at Initial can be removed.
    let a = f.request(Method::DELETE, &topic_path, Some(TOKEN), None, None);
    assert_eq!((a.status, a.body["kind"].as_str()), (409, Some("refused")), "{}", a.text);
    assert!(error_of(&a).contains("Initial"), "{}", a.text);

    let a = f.get(&format!("/api/migrations/{id}"));
    let detail = expect(&a, 200);
    assert_eq!(detail["migration"]["id"], id);
    assert_eq!(detail["topics"][0]["topic"], TOPIC);
    assert_eq!(detail["topics"][0]["stage"], "DualReadWrite");
    assert_eq!(detail["topics"][0]["writes"], json!(["source", "target"]));
    assert_eq!(detail["topics"][0]["groups"], json!([GROUP]));
    assert_eq!(detail["ferryNamesrv"], f.engine.proxy().namesrv_addr().to_string());

    let a = f.get("/metrics");
    assert_eq!(a.status, 200);
    assert!(a.content_type.starts_with("text/plain; version=0.0.4"), "{}", a.content_type);
    let stage_line = format!("ferry_migration_topic_stage{{migration=\"{id}\",topic=\"{TOPIC}\"}} 2\n");
    assert!(a.text.contains(&stage_line), "{}", a.text);
    assert!(a.text.contains("# TYPE ferry_request_latency_seconds histogram"));

    // Back one step (no check), then check again: the latest check shows in the detail and as
    // the ready gauge.
    let a = f.post_empty(&format!("{topic_path}/rollback"));
    assert_eq!(expect(&a, 200)["stage"], "DualRead");
    let a = f.post(
        &format!("/api/migrations/{id}/batch"),
        json!({ "action": "check", "topics": [TOPIC, "api-not-in-it"] }),
    );
    let results = expect(&a, 200)["results"].as_array().unwrap().clone();
    assert_eq!(results[0]["ok"], true, "{}", a.text);
    assert_eq!(results[0]["report"]["toward"], "DualReadWrite");
    assert_eq!(results[1]["ok"], false);
    assert!(results[1]["error"].as_str().unwrap().contains("api-not-in-it"));
    let a = f.post(
        &format!("/api/migrations/{id}/batch"),
        json!({ "action": "proceed", "topics": [TOPIC], "ignoreChecks": true }),
    );
    assert_eq!(a.status, 400, "{}", a.text);
    let a = f.get(&format!("/api/migrations/{id}"));
    assert_eq!(expect(&a, 200)["topics"][0]["lastCheck"]["toward"], "DualReadWrite");
    let a = f.get("/metrics");
    let ready_line = format!("ferry_migration_topic_ready{{migration=\"{id}\",topic=\"{TOPIC}\"}} 0\n");
    assert!(a.text.contains(&ready_line), "{}", a.text);

    // Back to Initial: nothing was written on the target, so nothing is stranded.
    let a = f.post_empty(&format!("{topic_path}/rollback"));
    assert_eq!(expect(&a, 200)["stage"], "Initial");
    let a = f.post_empty(&format!("{topic_path}/rollback"));
    assert_eq!(
        (a.status, a.body["kind"].as_str()),
        (409, Some("refused")),
        "nothing before Initial: {}",
        a.text
    );

    // A real producer through Ferry: counted per topic and side, with rates once sampled twice.
    let ferry_namesrv = f.engine.proxy().namesrv_addr().to_string();
    f.rt.block_on(f.engine.tick()).unwrap();
    let sent = Harness::new(ferry_namesrv.clone()).produce(&Produce::new(TOPIC, 6)).unwrap();
    assert_eq!(sent.len(), 6);
    f.rt.block_on(f.engine.tick()).unwrap();
    f.rt.block_on(f.engine.tick()).unwrap();
    let a = f.get(&format!("/api/migrations/{id}/traffic"));
    let traffic = expect(&a, 200)["topics"][0].clone();
    assert_eq!(traffic["topic"], TOPIC);
    assert_eq!(traffic["current"]["source"]["producedMessages"], 6, "{traffic}");
    assert_eq!(traffic["current"]["target"]["producedMessages"], 0, "{traffic}");
    assert!(traffic["samples"].as_array().unwrap().len() >= 2, "{traffic}");
    assert_eq!(
        traffic["rates"]["perSecond"]["source"]["producedMessages"], 0.0,
        "nothing sent between the samples"
    );
    let a = f.get("/metrics");
    let produced = format!("ferry_produced_messages_total{{topic=\"{TOPIC}\",side=\"source\"}} 6\n");
    assert!(a.text.contains(&produced), "{}", a.text);
    assert!(a.text.contains("ferry_relays{side=\"source\"} 1\n"), "{}", a.text);

    let a = f.get("/api/proxy");
    let proxy = expect(&a, 200);
    assert_eq!(proxy["ferryNamesrv"], ferry_namesrv);
    let relays = proxy["relays"].as_array().unwrap();
    assert!(
        relays.iter().any(|r| r["side"] == "source" && r["backend"] == source.broker_addr()),
        "{}",
        a.text
    );
    assert!(proxy["latency"]["source"]["count"].as_u64().unwrap() > 0, "{}", a.text);
    assert!(proxy["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["topic"] == TOPIC && s["stage"] == "Initial"));
    let a = f.get("/api/clients?limit=5000");
    let page = expect(&a, 200);
    assert!(page["clients"].is_array(), "{}", a.text);
    assert_eq!((page["offset"].as_u64(), page["limit"].as_u64()), (Some(0), Some(1000)), "pages are capped");
    assert!(page["total"].as_u64().unwrap() >= page["clients"].as_array().unwrap().len() as u64);
    let a = f.get(&format!("/api/migrations/{id}/clients"));
    let ap = expect(&a, 200);
    assert_eq!(ap["groups"][0]["group"], GROUP, "{}", a.text);
    assert_eq!(ap["groups"][0]["switched"], true, "no consumer anywhere: {}", a.text);

    // Removed at Initial; the migration cannot complete without topics.
    let a = f.request(Method::DELETE, &topic_path, Some(TOKEN), Some("bob"), None);
    assert_eq!(a.status, 204, "{}", a.text);
    let a = f.get(&format!("/api/migrations/{id}/history"));
    let last = expect(&a, 200)["transitions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["actor"].as_str()), (Some("removed"), Some("token (says bob)")));
    let a = f.post_empty(&format!("{topic_path}/proceed"));
    assert_eq!(a.status, 404, "{}", a.text);
    let a = f.post_empty(&format!("/api/migrations/{id}/complete"));
    assert_eq!((a.status, a.body["kind"].as_str()), (409, Some("refused")), "{}", a.text);

    // No answer ever carried the secret key.
    let bodies = f.bodies.lock().unwrap();
    assert!(bodies.len() > 30);
    for b in bodies.iter() {
        assert!(!b.contains(SECRET), "a response carried the secret key: {b}");
    }
}
