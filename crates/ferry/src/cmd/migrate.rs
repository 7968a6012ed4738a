//! `ferry migrate ...`: drives a running `ferry serve` through its HTTP API. Tables by default,
//! the API's JSON with `--json`. A step blocked by a health check prints each failing check and
//! exits with status 7.

use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};
use ferry_console::traffic::{Rates, TrafficReport};
use ferry_console::ErrorKind;
use ferry_control::fleet::InstanceState;
use ferry_control::migration::{
    AccessPoint, BrokerStatus, CheckReport, ClusterEndpoint, Fleet, LeaveReport, LeaveVerdict, Migration,
    MigrationTopic, TopicsAdded, Transition,
};
use ferry_control::task::Timestamp;
use ferry_metadata::import::{ItemOutcome, Outcome as ItemStatus};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cmd::import::kind_name;
use crate::exit::{self, Usage, WithCode};
use crate::table::print as print_table;

#[derive(Args)]
pub struct MigrateArgs {
    /// The Ferry server's API.
    #[arg(long, env = "FERRY_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    server: String,
    /// The API token (printed by `ferry serve` on its first start, or `[api] token` in its ferry.toml).
    #[arg(long, env = "FERRY_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// A PEM file of certificates to trust for an https:// server, besides the usual public
    /// authorities: its own self-signed certificate, or a private CA's.
    #[arg(long, env = "FERRY_CA_CERT", value_name = "FILE", global = true)]
    ca_cert: Option<std::path::PathBuf>,
    /// Who asks, as kept in the topic's history [default: $USER].
    #[arg(long, env = "FERRY_ACTOR", global = true)]
    actor: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// How long to wait for each answer (adding topics imports them; checks ask both clusters).
    #[arg(long, default_value_t = 300, global = true)]
    timeout_secs: u64,
    #[command(subcommand)]
    command: MigrateCommand,
}

#[derive(Subcommand)]
enum MigrateCommand {
    /// Start a migration from a source cluster to a target cluster.
    Create(CreateArgs),
    /// Every migration, newest first.
    List,
    /// One migration: its clusters and each topic's stage and latest check.
    Show(IdArg),
    /// Add topics at Initial (imported to the target first, with their groups).
    AddTopic(AddTopicArgs),
    /// Remove a topic that is at Initial.
    RemoveTopic(TopicArg),
    /// Run the checks toward each topic's next stage.
    Check(TopicsArg),
    /// Move topics one stage forward, behind their checks.
    Proceed(StepArgs),
    /// Move topics one stage back.
    Rollback(StepArgs),
    /// Every transition, oldest first, with actor, reason and ignored checks.
    History(HistoryArgs),
    /// Which consumers reach each cluster through Ferry and which directly.
    Clients(IdArg),
    /// Traffic of each topic through Ferry, per cluster.
    Traffic(IdArg),
    /// The brokers the checks must hear from, and whether each is registered now.
    Brokers(IdArg),
    /// Stop expecting a broker that is gone for good (kept in the history with the reason).
    ForgetBroker(ForgetArgs),
    /// Every Ferry instance sharing the store: up or down, its clients, the stages it applied.
    Fleet,
    /// Stop waiting for a Ferry instance that is gone for good (until it writes a heartbeat again).
    ForgetInstance(InstanceArg),
    /// Complete a migration whose topics are all Completed.
    Complete(IdArg),
    /// Whether clients can leave Ferry: topics Direct, relays empty, who still asks Ferry for
    /// routes. Exits 7 until no client uses a relay.
    Leave(IdArg),
}

#[derive(Args)]
struct InstanceArg {
    /// The instance's name, as `ferry migrate fleet` lists it.
    name: String,
}

#[derive(Args)]
struct IdArg {
    /// The migration's id, as `ferry migrate list` shows it.
    id: i64,
}

#[derive(Args)]
struct TopicArg {
    id: i64,
    topic: String,
}

#[derive(Args)]
struct TopicsArg {
    id: i64,
    #[arg(required = true)]
    topics: Vec<String>,
}

#[derive(Args)]
struct CreateArgs {
    #[arg(long)]
    name: String,
    /// The source's NameServer list, host:port;host:port.
    #[arg(long, value_name = "ADDRS")]
    source_namesrv: String,
    #[arg(long, value_name = "CLUSTER")]
    source_cluster: String,
    #[arg(long, env = "FERRY_SOURCE_ACCESS_KEY", value_name = "KEY")]
    source_access_key: Option<String>,
    /// Prefer the environment variable: flags show in `ps`.
    #[arg(long, env = "FERRY_SOURCE_SECRET_KEY", hide_env_values = true, value_name = "KEY")]
    source_secret_key: Option<String>,
    #[arg(long, value_name = "ADDRS")]
    target_namesrv: String,
    #[arg(long, value_name = "CLUSTER")]
    target_cluster: String,
    #[arg(long, env = "FERRY_TARGET_ACCESS_KEY", value_name = "KEY")]
    target_access_key: Option<String>,
    #[arg(long, env = "FERRY_TARGET_SECRET_KEY", hide_env_values = true, value_name = "KEY")]
    target_secret_key: Option<String>,
}

#[derive(Args)]
struct AddTopicArgs {
    id: i64,
    #[arg(required = true)]
    topics: Vec<String>,
    /// A consumer group to check (repeat it) [default: the groups that committed offsets on the source].
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Ordered topics: the side keys move to is not read before the other is drained.
    #[arg(long)]
    strict_order: bool,
}

#[derive(Args)]
struct StepArgs {
    id: i64,
    #[arg(required = true)]
    topics: Vec<String>,
    /// Take the step although checks fail (needs --reason; both are kept in the history).
    #[arg(long, requires = "reason")]
    ignore_checks: bool,
    /// Why the failing checks may be ignored.
    #[arg(long, requires = "ignore_checks")]
    reason: Option<String>,
}

#[derive(Args)]
struct ForgetArgs {
    id: i64,
    /// `source` or `target`.
    #[arg(long, value_parser = ["source", "target"])]
    side: String,
    /// The broker name, as `ferry migrate brokers` lists it.
    #[arg(long)]
    broker: String,
    /// Why checks may stop waiting for it (decommissioned, merged into another...).
    #[arg(long)]
    reason: String,
}

#[derive(Args)]
struct HistoryArgs {
    id: i64,
    /// Only this topic.
    #[arg(long)]
    topic: Option<String>,
}

/// An error answer of the API (`{"error", "kind", "report"?}`, read into the API's types), or of
/// something else in between (a proxy's page): then only the status and text.
struct Failure {
    kind: Option<ErrorKind>,
    error: String,
    /// The blocking check report of a `blocked` step.
    report: Option<CheckReport>,
    /// The body as it came, for `--json`.
    body: Value,
}

impl Failure {
    fn new(status: StatusCode, text: &str) -> Failure {
        let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        // Field by field: a part this build cannot read (a newer server's) costs only that part.
        let kind = serde_json::from_value::<ErrorKind>(body["kind"].clone()).ok();
        let report = serde_json::from_value::<CheckReport>(body["report"].clone()).ok();
        let error = body["error"].as_str().map_or_else(|| format!("{status}: {text}"), str::to_string);
        Failure { kind, error, report, body }
    }

    fn exit_code(&self) -> i32 {
        match self.kind {
            Some(ErrorKind::Invalid | ErrorKind::NotFound) => exit::USAGE,
            Some(ErrorKind::UnknownCluster) => exit::UNKNOWN_CLUSTER,
            Some(ErrorKind::Unauthorized | ErrorKind::AuthenticationFailed) => exit::AUTHENTICATION_FAILED,
            Some(ErrorKind::Unreachable) => exit::UNREACHABLE,
            Some(ErrorKind::Blocked | ErrorKind::Refused) => exit::REFUSED,
            Some(ErrorKind::Forbidden | ErrorKind::ClusterError | ErrorKind::Internal) | None => {
                exit::FAILURE
            }
        }
    }

    fn into_error(self) -> anyhow::Error {
        let code = self.exit_code();
        // A locked-out address (429) is told when to try again, not how to give a token.
        let locked_out = self.error.starts_with("too many wrong API tokens");
        let message = if self.kind == Some(ErrorKind::Unauthorized) && !locked_out {
            format!(
                "{}: give the server's API token with --token or FERRY_TOKEN (printed by `ferry serve` on its \
                 first start, or [api] token in its ferry.toml)",
                self.error
            )
        } else {
            self.error
        };
        WithCode { code, message }.into()
    }
}

struct Api {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    actor: Option<String>,
}

impl Api {
    fn new(args: &MigrateArgs) -> Result<Api> {
        let raw = args.server.trim();
        let with_scheme = if raw.contains("://") { raw.to_string() } else { format!("http://{raw}") };
        let base = Url::parse(&with_scheme).map_err(|e| Usage(format!("--server {raw}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Usage(format!("--server {raw}: give an http:// or https:// address")).into());
        }
        let mut http = reqwest::Client::builder().timeout(Duration::from_secs(args.timeout_secs.max(1)));
        if let Some(file) = &args.ca_cert {
            let pem = std::fs::read(file).map_err(|e| Usage(format!("--ca-cert {}: {e}", file.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Usage(format!("--ca-cert {}: no PEM certificate in it", file.display())))?;
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().map_err(|e| anyhow::anyhow!("HTTP client: {e}"))?;
        let actor =
            args.actor.clone().or_else(|| std::env::var("USER").ok()).filter(|a| !a.trim().is_empty());
        Ok(Api { http, base, token: args.token.clone().filter(|t| !t.is_empty()), actor })
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().expect("an http URL has a path");
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One request. `Ok(Err(failure))` is an error answer; `Err` means no answer at all.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<std::result::Result<Value, Failure>> {
        let url = self.url(segments, query);
        let mut request = self.http.request(method, url.clone());
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        if let Some(a) = &self.actor {
            request = request.header("X-Ferry-Actor", a.trim());
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.map_err(|e| {
            // reqwest's own words are only "error sending request": the cause (refused, a
            // certificate not trusted ...) is in its sources.
            let mut why = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                why = format!("{why}: {c}");
                cause = c.source();
            }
            let hint = if self.base.scheme() == "https" {
                "is `ferry serve` running, and its certificate trusted (--ca-cert)? --server or FERRY_SERVER"
            } else {
                "is `ferry serve` running? --server or FERRY_SERVER"
            };
            WithCode {
                code: exit::UNREACHABLE,
                message: format!("no answer from the Ferry server at {}: {why} ({hint})", self.base),
            }
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| WithCode {
            code: exit::UNREACHABLE,
            message: format!("reading the answer of {url}: {e}"),
        })?;
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
                return Ok(Ok(Value::Null));
            }
            return Ok(Ok(serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{url} answered something that is not JSON ({e}): {text}"))?));
        }
        Ok(Err(Failure::new(status, &text)))
    }

    /// A request whose error answer is the command's error.
    async fn must(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Value> {
        self.call(method, segments, query, body).await?.map_err(Failure::into_error)
    }
}

pub async fn run(args: MigrateArgs) -> Result<()> {
    let api = Api::new(&args)?;
    let json = args.json;
    let print_json = |v: &Value| -> Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    };
    match args.command {
        MigrateCommand::Create(c) => {
            let endpoint =
                |namesrv: &str, cluster: &str, ak: &Option<String>, sk: &Option<String>| -> Result<Value> {
                    if ak.is_some() != sk.is_some() {
                        return Err(Usage(
                            "give both the access key and the secret key of a cluster, or neither".into(),
                        )
                        .into());
                    }
                    let mut e = json!({ "namesrv": namesrv, "cluster": cluster });
                    if let (Some(ak), Some(sk)) = (ak, sk) {
                        e["accessKey"] = json!(ak);
                        e["secretKey"] = json!(sk);
                    }
                    Ok(e)
                };
            let body = json!({
                "name": c.name,
                "source": endpoint(&c.source_namesrv, &c.source_cluster, &c.source_access_key, &c.source_secret_key)?,
                "target": endpoint(&c.target_namesrv, &c.target_cluster, &c.target_access_key, &c.target_secret_key)?,
            });
            let m = api.must(Method::POST, &["api", "migrations"], &[], Some(body)).await?;
            if json {
                return print_json(&m);
            }
            let m: Migration = decode(m, "the new migration")?;
            println!("migration {} created: {}", m.id, m.name);
            println!("source:  {}", endpoint_text(&m.source));
            println!("target:  {}", endpoint_text(&m.target));
            println!("next:    ferry migrate add-topic {} TOPIC...", m.id);
        }
        MigrateCommand::List => {
            let v = api.must(Method::GET, &["api", "migrations"], &[], None).await?;
            if json {
                return print_json(&v);
            }
            #[derive(Deserialize)]
            struct Migrations {
                migrations: Vec<Migration>,
            }
            let all = decode::<Migrations>(v, "the migrations")?.migrations;
            if all.is_empty() {
                println!("no migrations");
                return Ok(());
            }
            let rows = all
                .iter()
                .map(|m| {
                    vec![
                        m.id.to_string(),
                        m.name.clone(),
                        m.status.as_str().to_string(),
                        endpoint_text(&m.source),
                        endpoint_text(&m.target),
                        time(&m.created_at),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "STATUS", "SOURCE", "TARGET", "CREATED (UTC)"], rows);
        }
        MigrateCommand::Show(a) => {
            let id = a.id.to_string();
            let v = api.must(Method::GET, &["api", "migrations", &id], &[], None).await?;
            if json {
                return print_json(&v);
            }
            print_migration(decode(v, "the migration")?);
        }
        MigrateCommand::AddTopic(a) => {
            let id = a.id.to_string();
            let topics: Vec<Value> = a
                .topics
                .iter()
                .map(|t| {
                    let mut v = json!({ "topic": t, "strictOrder": a.strict_order });
                    if !a.groups.is_empty() {
                        v["groups"] = json!(a.groups);
                    }
                    v
                })
                .collect();
            let v = api
                .must(Method::POST, &["api", "migrations", &id, "topics"], &[], Some(json!(topics)))
                .await?;
            if json {
                print_json(&v)?;
            }
            let added: TopicsAdded = decode(v, "the added topics")?;
            let items = &added.items;
            let failed: Vec<(&ItemOutcome, &str)> = items
                .iter()
                .filter_map(|i| match &i.outcome {
                    ItemStatus::Failed(cause) => Some((i, cause.as_str())),
                    _ => None,
                })
                .collect();
            if !json {
                if !added.added.is_empty() {
                    println!("added to migration {id} at Initial: {}", added.added.join(", "));
                }
                if !added.already_there.is_empty() {
                    println!("already in migration {id}: {}", added.already_there.join(", "));
                }
                let count = |o: ItemStatus| items.iter().filter(|i| i.outcome == o).count();
                println!(
                    "import task {}: {} created, {} updated, {} unchanged, {} failed (ferry task show {})",
                    added.import_task,
                    count(ItemStatus::Created),
                    count(ItemStatus::Updated),
                    count(ItemStatus::Unchanged),
                    failed.len(),
                    added.import_task
                );
                for (i, cause) in &failed {
                    println!("  failed {} {}: {cause}", kind_name(i.kind), i.target_name);
                }
            }
            if !failed.is_empty() {
                return Err(exit::SomeItemsFailed { failed: failed.len(), total: items.len() }.into());
            }
        }
        MigrateCommand::RemoveTopic(a) => {
            let id = a.id.to_string();
            api.must(Method::DELETE, &["api", "migrations", &id, "topics", &a.topic], &[], None).await?;
            if json {
                return print_json(&json!({ "removed": a.topic }));
            }
            println!("removed {} from migration {id}", a.topic);
        }
        MigrateCommand::Check(a) => {
            let id = a.id.to_string();
            let mut results = Vec::new();
            let mut outcome = Outcome::default();
            for topic in &a.topics {
                match api
                    .call(Method::POST, &["api", "migrations", &id, "topics", topic, "check"], &[], None)
                    .await?
                {
                    Ok(report) => {
                        let typed: CheckReport = decode(report.clone(), "a check report")?;
                        let ready = typed.ready();
                        if !json {
                            print_report(topic, &typed);
                        }
                        if !ready {
                            outcome.note(exit::REFUSED, format!("{topic} is not ready"));
                        }
                        results.push(json!({ "topic": topic, "ok": ready, "report": report }));
                    }
                    Err(f) => {
                        if !json {
                            eprintln!("{topic}: {}", f.error);
                        }
                        outcome.note(f.exit_code(), format!("{topic}: {}", f.error));
                        results.push(json!({ "topic": topic, "ok": false, "error": f.body }));
                    }
                }
            }
            if json {
                print_json(&json!({ "results": results }))?;
            }
            return outcome.finish("checked");
        }
        MigrateCommand::Proceed(s) => return step(&api, json, "proceed", s).await,
        MigrateCommand::Rollback(s) => return step(&api, json, "rollback", s).await,
        MigrateCommand::History(h) => {
            let id = h.id.to_string();
            let query: Vec<(&str, &str)> = h.topic.as_deref().map(|t| ("topic", t)).into_iter().collect();
            let v = api.must(Method::GET, &["api", "migrations", &id, "history"], &query, None).await?;
            if json {
                return print_json(&v);
            }
            #[derive(Deserialize)]
            struct History {
                transitions: Vec<Transition>,
            }
            let all = decode::<History>(v, "the history")?.transitions;
            if all.is_empty() {
                println!("no transitions");
                return Ok(());
            }
            let rows = all
                .iter()
                .map(|t| {
                    let step = match (t.from, t.to) {
                        (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
                        (Some(a), Some(_)) => a.to_string(),
                        (None, Some(b)) => format!("-> {b}"),
                        (Some(a), None) => format!("{a} ->"),
                        (None, None) => String::new(),
                    };
                    let mut note: Vec<String> = t.reason.iter().map(|r| format!("reason: {r}")).collect();
                    for c in &t.ignored {
                        note.push(format!("ignored {}: {}", c.name, c.detail));
                    }
                    vec![
                        time(&t.at),
                        t.topic.clone(),
                        t.kind.as_str().to_string(),
                        step,
                        t.actor.clone(),
                        note.join("\n"),
                    ]
                })
                .collect();
            print_table(&["AT (UTC)", "TOPIC", "KIND", "STAGE", "ACTOR", "NOTE"], rows);
        }
        MigrateCommand::Clients(a) => {
            let id = a.id.to_string();
            let v = api.must(Method::GET, &["api", "migrations", &id, "clients"], &[], None).await?;
            if json {
                return print_json(&v);
            }
            let v: AccessPoint = decode(v, "the clients")?;
            println!("clients must use NameServer {}", v.ferry_namesrv);
            if v.groups.is_empty() {
                println!("no consumer groups in this migration");
            } else {
                let ids = |l: &[String]| if l.is_empty() { "-".to_string() } else { l.join(", ") };
                let rows = v
                    .groups
                    .iter()
                    .map(|g| {
                        vec![
                            g.group.clone(),
                            if g.switched { "yes".into() } else { "no".into() },
                            ids(&g.source_through_ferry),
                            ids(&g.source_direct),
                            ids(&g.target_through_ferry),
                            ids(&g.target_direct),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        "GROUP",
                        "SWITCHED",
                        "SOURCE VIA FERRY",
                        "SOURCE DIRECT",
                        "TARGET VIA FERRY",
                        "TARGET DIRECT",
                    ],
                    rows,
                );
            }
            for t in &v.topics {
                let clients: Vec<String> =
                    t.clients.iter().map(|c| format!("{} ({})", c.client_id, c.addr)).collect();
                println!(
                    "{}: {}",
                    t.topic,
                    if clients.is_empty() {
                        "no client seen through Ferry".to_string()
                    } else {
                        clients.join(", ")
                    }
                );
            }
        }
        MigrateCommand::Brokers(a) => {
            let id = a.id.to_string();
            let v = api.must(Method::GET, &["api", "migrations", &id, "brokers"], &[], None).await?;
            if json {
                return print_json(&v);
            }
            #[derive(Deserialize)]
            struct Brokers {
                brokers: Vec<BrokerStatus>,
            }
            let rows = decode::<Brokers>(v, "the brokers")?
                .brokers
                .into_iter()
                .map(|b| {
                    let state = match (&b.broker.forgotten, b.registered) {
                        (Some(f), _) => format!("forgotten by {}: {}", f.actor, f.reason),
                        (None, Some(true)) => "registered".into(),
                        (None, Some(false)) => "NOT REGISTERED: checks that need this side fail".into(),
                        (None, None) => "unknown (NameServer unreachable)".into(),
                    };
                    let b = b.broker;
                    vec![
                        b.side.to_string(),
                        b.name,
                        b.alias.unwrap_or_default(),
                        b.addr.unwrap_or_default(),
                        time(&b.last_seen),
                        state,
                    ]
                })
                .collect();
            print_table(&["SIDE", "BROKER", "CLIENTS SEE", "MASTER", "LAST SEEN (UTC)", "STATE"], rows);
        }
        MigrateCommand::Leave(a) => {
            let id = a.id.to_string();
            let v = api.must(Method::GET, &["api", "migrations", &id, "leave"], &[], None).await?;
            if json {
                print_json(&v)?;
            }
            let v: LeaveReport = decode(v, "the leave report")?;
            if !json {
                println!("{}", v.say);
                let relays: Vec<Vec<String>> = v
                    .relays_in_use
                    .iter()
                    .map(|r| {
                        vec![
                            r.side.to_string(),
                            r.broker.clone(),
                            r.port.to_string(),
                            r.connections.to_string(),
                        ]
                    })
                    .collect();
                if !relays.is_empty() {
                    println!();
                    print_table(&["SIDE", "BROKER", "RELAY PORT", "CONNECTIONS"], relays);
                }
                let clients: Vec<Vec<String>> = v
                    .clients_on_relays
                    .iter()
                    .map(|c| vec![c.client_id.clone(), c.addr.clone(), c.connections.to_string()])
                    .collect();
                if !clients.is_empty() {
                    println!();
                    print_table(&["CLIENT ON A RELAY", "HOST", "CONNECTIONS"], clients);
                }
            }
            match v.verdict {
                LeaveVerdict::PointClientsAtTarget | LeaveVerdict::SafeToStop => {}
                _ => return Err(WithCode { code: exit::REFUSED, message: v.say }.into()),
            }
        }
        MigrateCommand::Fleet => {
            let v = api.must(Method::GET, &["api", "fleet"], &[], None).await?;
            if json {
                return print_json(&v);
            }
            let rows = decode::<Fleet>(v, "the fleet")?
                .instances
                .into_iter()
                .map(|i| {
                    let name = if i.this { format!("{} (this one)", i.name) } else { i.name };
                    let state = match i.state {
                        InstanceState::Up => "up".to_string(),
                        InstanceState::Down => format!("DOWN: not heard for {} s", i.heartbeat_age_secs),
                    };
                    let behind: Vec<String> = i
                        .topics
                        .iter()
                        .filter(|t| !t.applied)
                        .map(|t| format!("{} ({})", t.topic, t.stage))
                        .collect();
                    let stages = if behind.is_empty() {
                        format!("all {} applied", i.topics.len())
                    } else {
                        format!("behind: {}", behind.join(", "))
                    };
                    vec![name, i.namesrv, state, i.clients.to_string(), stages, i.api]
                })
                .collect();
            print_table(&["INSTANCE", "NAMESERVER", "STATE", "CLIENTS", "STAGES", "API"], rows);
        }
        MigrateCommand::ForgetInstance(a) => {
            api.must(Method::DELETE, &["api", "fleet", &a.name], &[], None).await?;
            if json {
                return print_json(&json!({ "forgotten": a.name }));
            }
            println!("the fleet no longer waits for {} (until it writes a heartbeat again)", a.name);
        }
        MigrateCommand::ForgetBroker(f) => {
            let id = f.id.to_string();
            let path = ["api", "migrations", &id, "brokers", &f.side, &f.broker, "forget"];
            let v = api.must(Method::POST, &path, &[], Some(json!({ "reason": f.reason }))).await?;
            if json {
                return print_json(&v);
            }
            println!(
                "migration {id} no longer expects {} broker {}: checks stop waiting for it (kept in the history)",
                f.side, f.broker
            );
        }
        MigrateCommand::Traffic(a) => {
            let id = a.id.to_string();
            let v = api.must(Method::GET, &["api", "migrations", &id, "traffic"], &[], None).await?;
            if json {
                return print_json(&v);
            }
            let report: TrafficReport = decode(v, "the migration's traffic")?;
            let mut rows = Vec::new();
            for t in &report.topics {
                let sides = [
                    ("source", t.current.source, t.rates.as_ref().map(|r| r.per_second.source)),
                    ("target", t.current.target, t.rates.as_ref().map(|r| r.per_second.target)),
                ];
                for (side, c, rate) in sides {
                    let rate = |f: fn(&Rates) -> f64| {
                        rate.as_ref().map_or("-".to_string(), |r| format!("{:.1}/s", f(r)))
                    };
                    rows.push(vec![
                        t.topic.clone(),
                        t.stage.to_string(),
                        side.to_string(),
                        c.produced_messages.to_string(),
                        rate(|r| r.produced_messages),
                        c.consumed_messages.to_string(),
                        rate(|r| r.consumed_messages),
                        format!("{} / {}", bytes(c.produced_bytes), bytes(c.consumed_bytes)),
                    ]);
                }
            }
            if rows.is_empty() {
                println!("no topics in migration {id}");
                return Ok(());
            }
            print_table(
                &["TOPIC", "STAGE", "SIDE", "PRODUCED", "RATE", "CONSUMED", "RATE", "BYTES IN / OUT"],
                rows,
            );
        }
        MigrateCommand::Complete(a) => {
            let id = a.id.to_string();
            let m = api.must(Method::POST, &["api", "migrations", &id, "complete"], &[], None).await?;
            if json {
                return print_json(&m);
            }
            let m: Migration = decode(m, "the completed migration")?;
            println!(
                "migration {id} completed at {} UTC",
                m.completed_at.as_ref().map(time).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// The exit code of a command that goes over several topics: the first failure's.
#[derive(Default)]
struct Outcome {
    first: Option<(i32, String)>,
    failures: usize,
}

impl Outcome {
    fn note(&mut self, code: i32, message: String) {
        self.failures += 1;
        self.first.get_or_insert((code, message));
    }

    fn finish(self, what: &str) -> Result<()> {
        match self.first {
            None => Ok(()),
            Some((code, message)) if self.failures == 1 => Err(WithCode { code, message }.into()),
            Some((code, message)) => Err(WithCode {
                code,
                message: format!("{} topics not {what}; first: {message}", self.failures),
            }
            .into()),
        }
    }
}

async fn step(api: &Api, json: bool, action: &str, s: StepArgs) -> Result<()> {
    let id = s.id.to_string();
    let body = s.reason.as_ref().map(|r| json!({ "ignoreChecks": s.ignore_checks, "reason": r }));
    let mut results = Vec::new();
    let mut outcome = Outcome::default();
    for topic in &s.topics {
        match api
            .call(Method::POST, &["api", "migrations", &id, "topics", topic, action], &[], body.clone())
            .await?
        {
            Ok(t) => {
                if !json {
                    let moved: MigrationTopic = decode(t.clone(), "the topic after the step")?;
                    let ignored =
                        s.reason.as_deref().map(|r| format!(" (checks ignored: {r})")).unwrap_or_default();
                    println!("{topic}: now at {}{ignored}", moved.stage);
                }
                results.push(json!({ "topic": topic, "ok": true, "result": t }));
            }
            Err(f) => {
                if !json {
                    if let Some(report) = f.report.as_ref().filter(|_| f.kind == Some(ErrorKind::Blocked)) {
                        println!("{topic}: blocked toward {}:", report.toward);
                        for c in report.failing() {
                            println!("  FAIL {}: {}", c.name, c.detail);
                        }
                    } else {
                        eprintln!("{topic}: {}", f.error);
                    }
                }
                let message = if f.kind == Some(ErrorKind::Blocked) {
                    format!(
                        "{topic} blocked by checks (to go ahead anyway: --ignore-checks --reason \"...\")"
                    )
                } else {
                    format!("{topic}: {}", f.error)
                };
                outcome.note(f.exit_code(), message);
                results.push(json!({ "topic": topic, "ok": false, "error": f.body }));
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&json!({ "results": results }))?);
    }
    outcome.finish(if action == "proceed" { "moved forward" } else { "rolled back" })
}

/// An answer of the API read into the type it was written from; `what` names it in the error.
fn decode<T: DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| anyhow::anyhow!("the server's answer for {what} is not as expected: {e}"))
}

fn print_report(topic: &str, report: &CheckReport) {
    let verdict = if report.ready() { "ready" } else { "not ready" };
    if report.from == report.toward {
        println!("{topic}: at {}, the last stage", report.from);
        return;
    }
    println!("{topic}: {} -> {}: {verdict}", report.from, report.toward);
    for c in &report.checks {
        let mark = if c.passed { "ok  " } else { "FAIL" };
        println!("  {mark} {}: {}", c.name, c.detail);
    }
}

/// `GET /api/migrations/{id}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    migration: Migration,
    topics: Vec<MigrationTopic>,
    ferry_namesrv: String,
}

fn print_migration(v: Shown) {
    let m = &v.migration;
    println!("migration {} {}: {}", m.id, m.name, m.status.as_str());
    println!("source:   {}", endpoint_text(&m.source));
    println!("target:   {}", endpoint_text(&m.target));
    println!("created:  {} UTC", time(&m.created_at));
    if let Some(at) = &m.completed_at {
        println!("complete: {} UTC", time(at));
    }
    println!("clients:  NameServer {}", v.ferry_namesrv);
    println!();
    if v.topics.is_empty() {
        println!("no topics yet: ferry migrate add-topic {} TOPIC...", m.id);
        return;
    }
    let rows = v
        .topics
        .iter()
        .map(|t| {
            let mut stage = t.stage.to_string();
            if let Some(hold) = &t.hold {
                stage.push_str(&format!(" ({} write-only)", hold.write_only));
            }
            let check = match &t.last_check {
                None => "-".to_string(),
                Some(c) => {
                    let f: Vec<&str> = c.failing().map(|c| c.name.as_str()).collect();
                    if f.is_empty() {
                        format!("ready for {}", c.toward)
                    } else {
                        format!("blocked toward {}: {}", c.toward, f.join(", "))
                    }
                }
            };
            vec![
                t.topic.clone(),
                stage,
                if t.strict_order { "strict".into() } else { "-".into() },
                if t.groups.is_empty() { "-".into() } else { t.groups.join(", ") },
                check,
            ]
        })
        .collect();
    print_table(&["TOPIC", "STAGE", "ORDER", "GROUPS", "LAST CHECK"], rows);
}

fn endpoint_text(e: &ClusterEndpoint) -> String {
    let ak = e.access_key.as_ref().map(|ak| format!(", access key {ak}")).unwrap_or_default();
    format!("{} at {}{ak}", e.cluster, e.namesrv)
}

/// `2025-05-01 10:22:03`.
fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn bytes(n: u64) -> String {
    let n = n as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.1} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(server: &str) -> Result<Api> {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: MigrateArgs,
        }
        let cli = Cli::try_parse_from(["ferry", "--server", server, "list"]).unwrap();
        Api::new(&cli.args)
    }

    #[test]
    fn topic_names_are_escaped_in_paths() {
        let a = api("127.0.0.1:8080").unwrap();
        let url = a.url(&["api", "migrations", "1", "topics", "shop%orders/x", "proceed"], &[]);
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/api/migrations/1/topics/shop%25orders%2Fx/proceed");
        let url = a.url(&["api", "migrations", "1", "history"], &[("topic", "a&b")]);
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/api/migrations/1/history?topic=a%26b");
        let a = api("http://ferry:9000/").unwrap();
        assert_eq!(a.url(&["api", "migrations"], &[]).as_str(), "http://ferry:9000/api/migrations");
    }

    #[test]
    fn http_and_https_servers_only() {
        assert_eq!(api("https://ferry:8443").unwrap().base.as_str(), "https://ferry:8443/");
        let e = api("ftp://ferry:8443").err().unwrap();
        assert!(e.to_string().contains("give an http:// or https:// address"), "{e}");
    }

    #[test]
    fn answers_are_read_into_the_apis_types_and_shown_to_the_second() {
        let m: Migration = decode(
            json!({
                "id": 7, "name": "move", "status": "active", "createdAt": "2025-05-01T10:22:03.123456Z",
                "completedAt": null,
                "source": {"namesrv": "10.0.0.1:9876", "cluster": "src", "accessKey": "ak"},
                "target": {"namesrv": "10.0.0.2:9876", "cluster": "dst"}
            }),
            "a migration",
        )
        .unwrap();
        assert_eq!(time(&m.created_at), "2025-05-01 10:22:03");
        assert_eq!(endpoint_text(&m.source), "src at 10.0.0.1:9876, access key ak");
        assert_eq!(endpoint_text(&m.target), "dst at 10.0.0.2:9876");
        let err = decode::<Migration>(json!({"id": "seven"}), "a migration").unwrap_err().to_string();
        assert!(err.starts_with("the server's answer for a migration is not as expected"), "{err}");
    }

    #[test]
    fn error_answers_are_read_into_the_apis_error_and_map_to_exit_codes() {
        let f = |body: &str| Failure::new(StatusCode::CONFLICT, body);
        let code = |kind: &str| f(&format!(r#"{{"error": "x", "kind": "{kind}"}}"#)).exit_code();
        assert_eq!(code("blocked"), exit::REFUSED);
        assert_eq!(code("refused"), exit::REFUSED);
        assert_eq!(code("unreachable"), exit::UNREACHABLE);
        assert_eq!(code("unauthorized"), exit::AUTHENTICATION_FAILED);
        assert_eq!(code("unknown_cluster"), exit::UNKNOWN_CLUSTER);
        assert_eq!(code("not_found"), exit::USAGE);
        assert_eq!(code("internal"), exit::FAILURE);

        let blocked = f(r#"{"error": "checks failed", "kind": "blocked", "report": {"from": "DualRead",
            "toward": "DualReadWrite", "at": "2025-05-01T10:22:03Z",
            "checks": [{"name": "source-backlog-zero", "passed": false, "detail": "cg: 12 behind"}]}}"#);
        assert_eq!(blocked.kind, Some(ErrorKind::Blocked));
        let report = blocked.report.expect("the blocking report");
        assert_eq!(report.failing().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["source-backlog-zero"]);

        // A report this build cannot read leaves the kind; a kind it does not know, the words; a
        // page that is not the API's, the status.
        let unread = f(r#"{"error": "checks failed", "kind": "blocked", "report": {"from": "Elsewhere"}}"#);
        assert_eq!(
            (unread.kind, unread.report.is_none(), unread.exit_code()),
            (Some(ErrorKind::Blocked), true, exit::REFUSED)
        );
        let newer = f(r#"{"error": "a newer server's refusal", "kind": "something_new"}"#);
        assert_eq!(
            (newer.kind, newer.error.as_str(), newer.exit_code()),
            (None, "a newer server's refusal", exit::FAILURE)
        );
        let page = f("<html>bad gateway</html>");
        assert_eq!((page.kind, page.error.as_str()), (None, "409 Conflict: <html>bad gateway</html>"));
    }
}
