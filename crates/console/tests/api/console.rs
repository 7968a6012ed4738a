//! The endpoints the web console adds, on the same real clusters: its pages (open, with a strict
//! content policy), the login with a session cookie whose changes need the session's CSRF token,
//! uploaded documents and workbooks previewed (every bad cell placed) and imported as tasks, the
//! templates, and a migration's source read live with each item's status.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ferry_admin::{Admin, AdminOptions};
use ferry_console::{ApiState, Auth, Limits};
use ferry_control::migration::{Engine, EngineSettings};
use ferry_control::Store;
use ferry_metadata::xlsx::{self, Cell, ReadOptions};
use ferry_proxy::{Proxy, ProxyConfig};
use ferry_testkit::{Consume, GroupSpec, Produce, TopicSpec};
use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};

use super::{fixture, relay_range, Fixture, TOKEN};

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
    bytes: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
}

/// A request to `base` with the given headers and raw body.
fn send(
    f: &Fixture,
    base: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let url = format!("{base}{path}");
    f.rt.block_on(async {
        let mut r = f.http.request(method, &url).timeout(Duration::from_secs(180));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.body(b);
        }
        let resp = r.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, body, bytes }
    })
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn post_json(f: &Fixture, base: &str, path: &str, body: &Value) -> Reply {
    let auth = bearer();
    send(
        f,
        base,
        Method::POST,
        path,
        &[("authorization", &auth), ("content-type", "application/json")],
        Some(body.to_string().into_bytes()),
    )
}

fn get(f: &Fixture, base: &str, path: &str) -> Reply {
    let auth = bearer();
    send(f, base, Method::GET, path, &[("authorization", &auth)], None)
}

fn upload(name: &str, bytes: &[u8]) -> Value {
    json!({ "name": name, "content": base64::engine::general_purpose::STANDARD.encode(bytes) })
}

fn target_of(f: &Fixture) -> Value {
    json!({ "namesrv": f.target.namesrv_addr(), "cluster": f.target.cluster_name() })
}

/// Topics row 3 has a bad number and row 4 a bad bool; Groups row 3 a bad number.
fn bad_workbook() -> Vec<u8> {
    xlsx::plain_workbook(&[
        (
            "Topics",
            vec![
                vec!["Topic".into(), "Read queues".into(), "Write queues".into(), "Order".into()],
                vec!["cw-good-1".into(), Cell::Number(4.0), Cell::Number(4.0), Cell::Bool(false)],
                vec!["cw-bad-number".into(), "abc".into(), Cell::Number(4.0), Cell::Empty],
                vec!["cw-bad-bool".into(), Cell::Number(4.0), Cell::Number(4.0), "maybe".into()],
            ],
        ),
        (
            "Groups",
            vec![
                vec!["Group".into(), "Retry max times".into()],
                vec!["cw-group".into(), Cell::Number(4.0)],
                vec!["cw-group-bad".into(), "often".into()],
            ],
        ),
    ])
    .unwrap()
}

fn names(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|i| i["sourceName"].as_str().unwrap().to_string()).collect()
}

fn item<'a>(items: &'a Value, name: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sourceName"] == name)
        .unwrap_or_else(|| panic!("{name} in {items}"))
}

#[test]
fn the_console_pages_are_open_and_allow_nothing_from_elsewhere() {
    let f = fixture();
    let page = send(f, &f.base, Method::GET, "/", &[], None);
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"), "{}", page.header("content-type"));
    assert!(
        page.text().contains("<script type=\"module\" src=\"/assets/app.js\"></script>"),
        "{}",
        page.text()
    );
    let csp = page.header("content-security-policy");
    for rule in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(rule), "{rule} not in {csp}");
    }
    let js = send(f, &f.base, Method::GET, "/assets/pages/steps/topics.js", &[], None);
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.text().contains("/batch"), "the page calls the API");
    assert_eq!(send(f, &f.base, Method::GET, "/assets/nothing.js", &[], None).status, 404);
    // The data is not open.
    assert_eq!(send(f, &f.base, Method::GET, "/api/tasks", &[], None).status, 401);
}

#[test]
fn a_console_session_reads_freely_and_changes_only_with_its_csrf_token() {
    let f = fixture();
    let base = &f.base;
    let json_type = ("content-type", "application/json");
    let login = |token: &str| {
        send(
            f,
            base,
            Method::POST,
            "/api/login",
            &[json_type],
            Some(json!({ "token": token }).to_string().into()),
        )
    };

    let wrong = login("api-test-token-wrong-one");
    assert_eq!((wrong.status, wrong.body["kind"].as_str()), (401, Some("unauthorized")), "{}", wrong.text());
    assert!(wrong.header("set-cookie").is_empty());
    let form = send(
        f,
        base,
        Method::POST,
        "/api/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("token={TOKEN}").into_bytes()),
    );
    assert_eq!(form.status, 400, "a form (what another site can send) is not a login: {}", form.text());

    let ok = login(TOKEN);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let set_cookie = ok.headers.get(SET_COOKIE).unwrap().to_str().unwrap().to_string();
    for attribute in ["ferry_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{attribute} not in {set_cookie}");
    }
    let csrf = ok.body["csrfToken"].as_str().unwrap().to_string();
    assert_eq!(csrf.len(), 64);
    assert!(!set_cookie.contains(&csrf), "the CSRF token is never in a cookie");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let with_cookie = |method: Method, path: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut h = vec![(COOKIE.as_str(), cookie.as_str()), json_type];
        if let Some(c) = csrf {
            h.push(("x-csrf-token", c));
        }
        send(f, base, method, path, &h, body.map(|b| b.to_string().into_bytes()))
    };

    let session = with_cookie(Method::GET, "/api/session", None, None);
    assert_eq!(session.status, 200, "{}", session.text());
    assert_eq!(
        (session.body["via"].as_str(), session.body["csrfToken"].as_str()),
        (Some("session"), Some(csrf.as_str()))
    );
    assert_eq!(
        with_cookie(Method::GET, "/api/migrations", None, None).status,
        200,
        "reads need no CSRF token"
    );

    // A change: refused without the token, or with another; let through with it (and then
    // refused for what it is, here an empty upload).
    let change = json!({ "target": target_of(f) });
    for bad in [None, Some("0".repeat(64).as_str())] {
        let r = with_cookie(Method::POST, "/api/imports/preview", bad, Some(change.clone()));
        assert_eq!((r.status, r.body["kind"].as_str()), (403, Some("forbidden")), "{}", r.text());
        assert!(r.body["error"].as_str().unwrap().contains("X-CSRF-Token"), "{}", r.text());
    }
    let r = with_cookie(Method::POST, "/api/imports/preview", Some(&csrf), Some(change.clone()));
    assert_eq!((r.status, r.body["kind"].as_str()), (400, Some("invalid")), "{}", r.text());
    assert!(r.body["error"].as_str().unwrap().contains("give the source"), "{}", r.text());
    // Bearer clients are unchanged: no CSRF token.
    let r = post_json(f, base, "/api/imports/preview", &change);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = get(f, base, "/api/session");
    assert_eq!(r.body["via"], "token");

    let out = with_cookie(Method::POST, "/api/logout", Some(&csrf), None);
    assert_eq!(out.status, 204, "{}", out.text());
    assert!(out.header("set-cookie").contains("Max-Age=0"), "{}", out.header("set-cookie"));
    let after = with_cookie(Method::GET, "/api/session", None, None);
    assert_eq!(after.status, 401, "the session is gone: {}", after.text());
}

#[test]
fn an_uploaded_workbook_is_previewed_with_every_bad_cell_placed_and_refused_on_import() {
    let f = fixture();
    let request = |valid_rows_only: bool| json!({ "file": upload("bad.xlsx", &bad_workbook()), "target": target_of(f), "validRowsOnly": valid_rows_only });
    let r = post_json(f, &f.base, "/api/imports/preview", &request(false));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body["valid"], false, "{}", r.text());
    let problems: Vec<(String, String)> = r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["place"].as_str().unwrap().to_string(), p["problem"].as_str().unwrap().to_string()))
        .collect();
    for (place, problem) in [
        ("Topics!B3", "read queues \"abc\" is not a whole number"),
        ("Topics!D4", "order \"maybe\" is not TRUE or FALSE"),
        ("Groups!B3", "retry max times \"often\" is not a whole number"),
    ] {
        assert!(
            problems.iter().any(|(pl, pr)| pl == place && pr.starts_with(problem)),
            "{place}: {problem} not in {problems:?}"
        );
    }
    assert!(r.body["problems"].as_array().unwrap().iter().all(|p| p["rowOnly"] == true));

    let r = post_json(f, &f.base, "/api/imports", &request(false));
    assert_eq!((r.status, r.body["kind"].as_str()), (400, Some("invalid")), "{}", r.text());
    assert_eq!(r.body["problems"].as_array().unwrap().len(), 3, "{}", r.text());

    // Only the valid rows: the others are listed, the valid ones planned against the target.
    let r = post_json(f, &f.base, "/api/imports/preview", &request(true));
    assert_eq!(r.body["valid"], true, "{}", r.text());
    assert_eq!(r.body["format"], "xlsx");
    assert_eq!(names(&r.body["topics"]), ["cw-good-1"], "{}", r.text());
    assert_eq!(names(&r.body["groups"]), ["cw-group"], "{}", r.text());
    assert_eq!(item(&r.body["topics"], "cw-good-1")["action"], "create");
    assert_eq!(r.body["problems"].as_array().unwrap().len(), 3);

    // Broken JSON: the line and column.
    let r = post_json(
        f,
        &f.base,
        "/api/imports/preview",
        &json!({ "file": upload("broken.json", b"{\"topicConfigTable\": {\n  \"x\": 1,,\n}}"), "target": target_of(f) }),
    );
    assert_eq!(r.body["valid"], false, "{}", r.text());
    let place = r.body["problems"][0]["place"].as_str().unwrap();
    assert!(place.contains("line 2"), "{}", r.text());
}

/// A Topics sheet with one topic and a cell at the far corner, XFD1048576: a few KB that describe
/// 17 billion cells.
fn far_corner_workbook() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Topics").unwrap();
    for (j, h) in ["Topic", "Read queues", "Write queues"].iter().enumerate() {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "cw-far").unwrap();
    ws.write_number(1, 1, 4.0).unwrap();
    ws.write_number(1, 2, 4.0).unwrap();
    ws.write_string(1_048_575, 16_383, "far").unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn a_workbook_past_the_limits_is_refused_at_once_naming_the_cell_and_ferry_stays_up() {
    let f = fixture();
    let bytes = far_corner_workbook();
    assert!(bytes.len() < 20_000, "{}", bytes.len());
    for (path, valid_rows_only) in
        [("/api/imports/preview", false), ("/api/imports/preview", true), ("/api/imports", false)]
    {
        let started = Instant::now();
        let r = post_json(
            f,
            &f.base,
            path,
            &json!({ "file": upload("far.xlsx", &bytes), "target": target_of(f), "validRowsOnly": valid_rows_only }),
        );
        let took = started.elapsed();
        assert_eq!((r.status, r.body["kind"].as_str()), (400, Some("invalid")), "{path}: {}", r.text());
        let error = r.body["error"].as_str().unwrap();
        assert!(error.contains("Topics!XFD1048576") && error.contains("100000 rows"), "{error}");
        assert_eq!(r.body["problems"][0]["place"], "Topics!XFD1048576", "{}", r.text());
        assert!(took < Duration::from_secs(2), "{path} took {took:?}");
    }
    // Several at once, with /healthz asked meanwhile: it answers, and so does everything after.
    let http = f.http.clone();
    let body = json!({ "file": upload("far.xlsx", &bytes), "target": target_of(f) }).to_string();
    let (statuses, health) = f.rt.block_on(async {
        let uploads: Vec<_> = (0..6)
            .map(|_| {
                let (http, body) = (http.clone(), body.clone());
                let url = format!("{}/api/imports/preview", f.base);
                tokio::spawn(async move {
                    let r = http
                        .post(url)
                        .bearer_auth(TOKEN)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    r.status().as_u16()
                })
            })
            .collect();
        let started = Instant::now();
        let health = http.get(format!("{}/healthz", f.base)).send().await.unwrap().status().as_u16();
        let health_took = started.elapsed();
        let mut statuses = Vec::new();
        for u in uploads {
            statuses.push(u.await.unwrap());
        }
        (statuses, (health, health_took))
    });
    assert_eq!(statuses, [400; 6]);
    assert_eq!(health.0, 200);
    assert!(health.1 < Duration::from_secs(1), "/healthz took {:?}", health.1);
    let r = send(f, &f.base, Method::GET, "/healthz", &[], None);
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ok")), "{}", r.text());
}

#[test]
fn an_uploaded_document_is_imported_as_a_task_with_a_result_per_item() {
    let f = fixture();
    // On the target already, with other queue numbers: that item fails, showing both sides.
    f.target
        .harness()
        .create_topics(f.target.cluster_name(), &[TopicSpec::new("cd-conflict").queues(8, 8)])
        .unwrap();
    let topic = |name: &str, queues: i32| {
        json!({ "topicName": name, "readQueueNums": queues, "writeQueueNums": queues, "perm": 6,
                "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": false })
    };
    let doc = json!({
        "topicConfigTable": {
            "cd-a": topic("cd-a", 4), "cd-b": topic("cd-b", 20), "cd-skipped": topic("cd-skipped", 4),
            "cd-conflict": topic("cd-conflict", 4),
        },
        "subscriptionGroupTable": { "cd-group": { "groupName": "cd-group", "retryMaxTimes": 5 } },
    });
    let file = upload("cd.json", doc.to_string().as_bytes());

    let r = post_json(f, &f.base, "/api/imports/preview", &json!({ "file": file, "target": target_of(f) }));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!((r.body["valid"].as_bool(), r.body["format"].as_str()), (Some(true), Some("apache")));
    let topics = &r.body["topics"];
    assert_eq!(names(topics), ["cd-a", "cd-b", "cd-conflict", "cd-skipped"]);
    assert_eq!(item(topics, "cd-a")["action"], "create");
    assert_eq!(item(topics, "cd-a")["topic"]["readQueueNums"], 4);
    let fitted = item(topics, "cd-b")["warnings"].to_string();
    assert!(fitted.contains("fitted from 20 to 16"), "queue numbers fitted with a warning: {fitted}");
    let conflict = item(topics, "cd-conflict");
    assert_eq!(conflict["action"], "fail", "{conflict}");
    assert!(conflict["cause"].as_str().unwrap().contains('8'), "both sides shown: {conflict}");
    assert_eq!(item(&r.body["groups"], "cd-group")["group"]["retryMaxTimes"], 5);

    // Into a namespace: the names it would have.
    let r = post_json(
        f,
        &f.base,
        "/api/imports/preview",
        &json!({ "file": file, "target": target_of(f), "mode": "namespace", "namespace": "cdns" }),
    );
    assert_eq!(item(&r.body["topics"], "cd-a")["targetName"], "cdns%cd-a", "{}", r.text());
    let r = post_json(
        f,
        &f.base,
        "/api/imports/preview",
        &json!({ "file": file, "target": target_of(f), "mode": "namespace" }),
    );
    assert_eq!(r.status, 400, "a namespace must be named: {}", r.text());

    // The chosen items, as a task; its items fill in as they finish.
    let r = post_json(
        f,
        &f.base,
        "/api/imports",
        &json!({ "file": file, "target": target_of(f), "topics": ["cd-a", "cd-conflict"], "groups": ["cd-group"] }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.body["planned"], 3, "{}", r.text());
    assert_eq!(r.body["task"]["source"], "cd.json");
    let id = r.body["task"]["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let task = loop {
        let t = get(f, &f.base, &format!("/api/tasks/{id}"));
        if t.body["task"]["status"] != "running" {
            break t.body;
        }
        assert!(Instant::now() < deadline, "task {id} never finished: {}", t.text());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(task["task"]["status"], "someFailed", "{task}");
    let status_of = |name: &str| {
        task["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["sourceName"] == name)
            .map(|i| i["status"].clone())
    };
    assert_eq!(status_of("cd-a"), Some(json!("created")), "{task}");
    assert_eq!(status_of("cd-group"), Some(json!("created")), "{task}");
    assert_eq!(status_of("cd-conflict"), Some(json!("failed")), "{task}");
    assert_eq!(status_of("cd-skipped"), None, "not chosen: {task}");
    f.rt.block_on(async {
        let admin = Admin::new(f.target.namesrv_addr(), AdminOptions::default()).unwrap();
        let topics = admin.topic_configs(f.target.broker_addr()).await.unwrap();
        assert_eq!(topics["cd-a"].read_queue_nums, 4);
        assert_eq!(topics["cd-conflict"].read_queue_nums, 8, "a failed item leaves the target alone");
        assert!(!topics.contains_key("cd-skipped"));
    });
}

#[test]
fn templates_are_workbooks_for_a_4_x_or_a_5_x_target() {
    let f = fixture();
    for file in ["4.x.xlsx", "5.x.xlsx"] {
        let r = get(f, &f.base, &format!("/api/templates/{file}"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("content-type"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert!(r.header("content-disposition").contains(&format!("ferry-template-{file}")));
        assert!(r.bytes.starts_with(b"PK\x03\x04"));
        let read = xlsx::read_workbook(&r.bytes, file, ReadOptions::default()).unwrap();
        let doc = read.document.ferry.unwrap();
        assert!(doc.topics.is_empty() && doc.groups.is_empty(), "an empty template to fill in");
    }
    assert_eq!(get(f, &f.base, "/api/templates/6.x.xlsx").status, 404);
    assert_eq!(send(f, &f.base, Method::GET, "/api/templates/4.x.xlsx", &[], None).status, 401);
}

/// A Ferry of its own (store, proxy, engine, API) with `auth`, in the fixture's runtime: its base
/// address. It opens no relay unless a migration of its own asks for one.
fn start_ferry(auth: Auth) -> String {
    let f = fixture();
    let (first, _) = relay_range();
    let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
    f.rt.block_on(async {
        let store = Store::open(&dir.path().join("ferry.db")).await.unwrap();
        let proxy =
            Arc::new(Proxy::start(ProxyConfig::loopback(0, first + 50, first + 99), &[]).await.unwrap());
        let settings = EngineSettings { tick: Duration::from_secs(3600), ..EngineSettings::default() };
        let engine = Engine::start(store, proxy, settings).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(ferry_console::serve(listener, ApiState::new(engine, auth), std::future::pending()));
        base
    })
}

/// A Ferry of its own in front of the same clusters: a target takes part in one active migration
/// per store, and the walk test has its own.
fn other_ferry() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| start_ferry(Auth::bearer(TOKEN)))
}

#[test]
fn wrong_tokens_from_a_peer_are_answered_late_then_refused_whatever_it_sends() {
    let f = fixture();
    // Its own Ferry: the shared one must not lock out the loopback address every test uses.
    let limits = Limits {
        delay: Duration::from_millis(300),
        failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(3),
        max_lockout: Duration::from_secs(3),
        peers: 16,
    };
    let base = start_ferry(Auth::bearer(TOKEN).with_limits(limits));
    let base = base.as_str();
    let with = |token: &str| {
        let auth = format!("Bearer {token}");
        let started = Instant::now();
        let r = send(f, base, Method::GET, "/api/migrations", &[("authorization", &auth)], None);
        (r, started.elapsed())
    };
    assert_eq!(with(TOKEN).0.status, 200);
    // A missing header is no guess: not delayed, not counted.
    for _ in 0..5 {
        let r = send(f, base, Method::GET, "/api/migrations", &[], None);
        assert_eq!(r.status, 401, "{}", r.text());
    }
    // Wrong bearer tokens, and a wrong login, each answered late.
    for _ in 0..2 {
        let (r, took) = with("api-test-token-guess-0000");
        assert_eq!((r.status, r.body["kind"].as_str()), (401, Some("unauthorized")), "{}", r.text());
        assert!(took >= Duration::from_millis(300), "answered after {took:?}");
    }
    let started = Instant::now();
    let login = send(
        f,
        base,
        Method::POST,
        "/api/login",
        &[("content-type", "application/json")],
        Some(json!({ "token": "api-test-token-guess-0001" }).to_string().into_bytes()),
    );
    assert_eq!(login.status, 401, "{}", login.text());
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Three failures: the peer is refused at once, the right token included, by either way in.
    let (r, took) = with(TOKEN);
    assert_eq!((r.status, r.body["kind"].as_str()), (429, Some("unauthorized")), "{}", r.text());
    assert!(took < Duration::from_millis(300), "refused unchecked: {took:?}");
    let retry: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=3).contains(&retry), "Retry-After: {retry}");
    assert!(r.body["error"].as_str().unwrap().contains("too many wrong API tokens"), "{}", r.text());
    let login = send(
        f,
        base,
        Method::POST,
        "/api/login",
        &[("content-type", "application/json")],
        Some(json!({ "token": TOKEN }).to_string().into_bytes()),
    );
    assert_eq!(login.status, 429, "{}", login.text());
    assert!(login.header("set-cookie").is_empty());
    // What needs no token still answers; so does another Ferry for the same address.
    assert_eq!(send(f, base, Method::GET, "/healthz", &[], None).status, 200);
    assert_eq!(get(f, &f.base, "/api/migrations").status, 200);

    // Once the lockout is over, the right token gets in again.
    std::thread::sleep(Duration::from_millis(3100));
    assert_eq!(with(TOKEN).0.status, 200);
}

#[test]
fn a_migrations_source_is_listed_live_with_each_items_status() {
    let f = fixture();
    let base = other_ferry();
    let (topic, bulk, group) = ("cs-orders", "cs-bulk", "cs-billing");
    let h = f.source.harness();
    h.create_topics(
        f.source.cluster_name(),
        &[TopicSpec::new(topic).queues(4, 4), TopicSpec::new(bulk).queues(20, 20)],
    )
    .unwrap();
    h.create_groups(f.source.cluster_name(), &[GroupSpec::new(group)]).unwrap();
    // The group commits offsets on the topic, on the source.
    h.produce(&Produce::new(topic, 3)).unwrap();
    h.consume(&Consume::new(topic, group, 3).from_first()).unwrap();

    let endpoint =
        |c: &ferry_testkit::Cluster| json!({ "namesrv": c.namesrv_addr(), "cluster": c.cluster_name() });
    let r = post_json(
        f,
        base,
        "/api/migrations",
        &json!({ "name": "source list", "source": endpoint(f.source), "target": endpoint(f.target) }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.body["id"].as_i64().unwrap();

    let listed = |name: &str, kind: &str| -> Value {
        let r = get(f, base, &format!("/api/migrations/{id}/source"));
        assert_eq!(r.status, 200, "{}", r.text());
        let key = if kind == "topics" { "topic" } else { "group" };
        r.body[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t[key] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in {}", r.text()))
    };
    let t = listed(topic, "topics");
    assert_eq!((t["status"].as_str(), t["stage"].is_null()), (Some("to_import"), true), "{t}");
    assert_eq!(t["consumerGroups"], json!([group]), "{t}");
    assert_eq!(t["plan"]["action"], "create", "{t}");
    let b = listed(bulk, "topics");
    assert!(b["plan"]["warnings"].to_string().contains("read queues fitted from 20 to 16"), "{b}");
    let g = listed(group, "groups");
    assert_eq!(g["status"], "to_import", "{g}");
    assert!(g["topics"].as_array().unwrap().contains(&json!(topic)), "{g}");

    // Confirmed: imported with its group, part of the migration at Initial.
    let r = post_json(
        f,
        base,
        &format!("/api/migrations/{id}/topics"),
        &json!([{ "topic": topic, "groups": [group] }]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let t = listed(topic, "topics");
    assert_eq!((t["status"].as_str(), t["stage"].as_str()), (Some("imported"), Some("Initial")), "{t}");
    assert_eq!(t["groups"], json!([group]));
    assert_eq!(listed(group, "groups")["status"], "imported");

    // A group confirmed alone: imported from the migration's source to its target, as a task.
    let other_group = "cs-audit";
    h.create_groups(f.source.cluster_name(), &[GroupSpec::new(other_group)]).unwrap();
    assert_eq!(listed(other_group, "groups")["status"], "to_import");
    let r = post_json(
        f,
        base,
        "/api/imports",
        &json!({ "migration": id, "topics": [], "groups": [other_group], "accounts": [] }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.body["task"]["source"].as_str().unwrap().starts_with("live:"), "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(60);
    while listed(other_group, "groups")["status"] != "imported" {
        assert!(Instant::now() < deadline, "{other_group} never imported");
        std::thread::sleep(Duration::from_millis(300));
    }

    // Listed with topic counts, by status.
    let all = get(f, base, "/api/migrations?status=active");
    let m = &all.body["migrations"][0];
    assert_eq!(
        (m["id"].as_i64(), m["topicCount"].as_i64(), m["completedTopics"].as_i64()),
        (Some(id), Some(1), Some(0)),
        "{m}"
    );
    assert_eq!(get(f, base, "/api/migrations?status=completed").body["migrations"], json!([]));
    assert_eq!(get(f, base, "/api/migrations?status=paused").status, 400);
    assert_eq!(get(f, base, "/api/migrations/999/source").status, 404);

    // The source's credentials are never in an answer.
    let r = get(f, base, &format!("/api/migrations/{id}/source"));
    assert!(!r.text().contains("secretKey"), "{}", r.text());
}
