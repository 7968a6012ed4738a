//! One function per route. Each reads its input, asks the engine (or the proxy, or the store) and
//! answers JSON; errors go through [`ApiError`].

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ferry_control::migration::{
    BatchAction, BrokerStatus, Fleet, LeaveReport, Migration, MigrationBroker, MigrationId, MigrationStatus,
    MigrationTopic, NewMigration, NewTopic, Transition,
};
use ferry_control::{ItemRecord, ItemStatus, TaskId, TaskStatus, TaskSummary};
use ferry_proxy::{route, ClientRecord, LatencySnapshot, RelayAssignment, Side, TopicPolicy};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::traffic::{PerSide, TopicTraffic, TrafficReport};
use crate::ApiState;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The header in which a client may say who asks for a change (`ferry migrate` sends `$USER`). It
/// proves nothing: the history records the authenticated identity, with what the header says only
/// as a note.
pub const ACTOR_HEADER: &str = "x-ferry-actor";
const MAX_ACTOR_CHARS: usize = 200;

/// Who a change is recorded as in the history: the authenticated identity ([`Principal::actor`]:
/// `token`, or `session:` and 8 hex digits), followed by what `X-Ferry-Actor` says when it is
/// given: `token (says alice)`.
fn actor(who: &Principal, headers: &HeaderMap) -> String {
    let says = headers
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().chars().filter(|c| !c.is_control()).take(MAX_ACTOR_CHARS).collect::<String>())
        .filter(|v| !v.is_empty());
    match says {
        Some(says) => format!("{} (says {says})", who.actor()),
        None => who.actor(),
    }
}

pub(crate) fn migration_id(raw: &str) -> ApiResult<MigrationId> {
    raw.trim()
        .parse::<i64>()
        .map(MigrationId)
        .map_err(|_| ApiError::invalid(format!("not a migration id: {raw:?} (ids are numbers)")))
}

/// A JSON body; malformed JSON is a 400 saying where.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("request body: {e}")))
}

/// A JSON body that may be left out entirely.
fn optional_body<T: DeserializeOwned + Default>(bytes: &Bytes) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        body(bytes)
    }
}

// ------------------------------------------------------------------------------------------------
// Outside the API proper
// ------------------------------------------------------------------------------------------------

/// Ready while the store takes this instance's heartbeat; 503 once it has not for the fleet's
/// `down_after` (the instance takes no step then, and keeps relaying with the stages it knew).
pub async fn healthz(State(state): State<ApiState>) -> Response {
    match state.engine.store_health() {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(detail) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "store-unreachable", "detail": detail })),
        )
            .into_response(),
    }
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml; charset=utf-8")], crate::OPENAPI_YAML).into_response()
}

pub async fn metrics(State(state): State<ApiState>) -> ApiResult<Response> {
    let text = crate::metrics::render(&state.engine).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

pub async fn no_route() -> ApiError {
    ApiError::not_found("no such endpoint (see /api/openapi.yaml)")
}

pub async fn wrong_method() -> Response {
    let mut r =
        ApiError::invalid("method not allowed on this endpoint (see /api/openapi.yaml)").into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

// ------------------------------------------------------------------------------------------------
// Migrations
// ------------------------------------------------------------------------------------------------

/// A migration as listed: with how many of its topics there are and how many are Completed (or Direct).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationSummary {
    #[serde(flatten)]
    migration: Migration,
    topic_count: usize,
    completed_topics: usize,
}

#[derive(Serialize)]
pub struct Migrations {
    migrations: Vec<MigrationSummary>,
}

pub async fn list_migrations(
    State(state): State<ApiState>,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Json<Migrations>> {
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(MigrationStatus::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
            ApiError::invalid(format!("status: not a migration status: {s:?} (active or completed)"))
        })?),
        None => None,
    };
    let mut migrations = Vec::new();
    for m in state.engine.migrations().await? {
        if status.is_some_and(|s| s != m.status) {
            continue;
        }
        let topics = state.engine.topics(m.id).await?;
        migrations.push(MigrationSummary {
            topic_count: topics.len(),
            completed_topics: topics.iter().filter(|t| t.stage.done()).count(),
            migration: m,
        });
    }
    Ok(Json(Migrations { migrations }))
}

pub async fn create_migration(State(state): State<ApiState>, bytes: Bytes) -> ApiResult<Response> {
    let new: NewMigration = body(&bytes)?;
    for (side, e) in [("source", &new.source), ("target", &new.target)] {
        if e.namesrv.trim().is_empty() || e.cluster.trim().is_empty() {
            return Err(ApiError::invalid(format!("{side}: namesrv and cluster are required")));
        }
        if e.access_key.is_some() != e.secret_key.is_some() {
            return Err(ApiError::invalid(format!("{side}: give both accessKey and secretKey, or neither")));
        }
    }
    let m = state.engine.create_migration(new).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

/// A migration, its topics (each with its latest check) and the address clients must use.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationDetail {
    migration: Migration,
    topics: Vec<TopicView>,
    ferry_namesrv: String,
}

/// A topic with the clusters its clients read and write at its stage, as the routes show them
/// (the proxy's own rule, so that no page repeats it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicView {
    #[serde(flatten)]
    topic: MigrationTopic,
    reads: Vec<Side>,
    writes: Vec<Side>,
}

impl From<MigrationTopic> for TopicView {
    fn from(topic: MigrationTopic) -> TopicView {
        let policy = topic.policy();
        let sides = |keep: fn(TopicPolicy, Side) -> bool| {
            [Side::Source, Side::Target].into_iter().filter(|s| keep(policy, *s)).collect()
        };
        TopicView { reads: sides(route::readable), writes: sides(route::writable), topic }
    }
}

pub async fn show_migration(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<MigrationDetail>> {
    let id = migration_id(&id)?;
    let migration = state.engine.migration(id).await?;
    let topics = state.engine.topics(id).await?.into_iter().map(TopicView::from).collect();
    Ok(Json(MigrationDetail { migration, topics, ferry_namesrv: state.client_namesrv.clone() }))
}

pub async fn complete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
) -> ApiResult<Json<Migration>> {
    Ok(Json(state.engine.complete(migration_id(&id)?, &actor(&who, &headers)).await?))
}

// ------------------------------------------------------------------------------------------------
// Topics and their steps
// ------------------------------------------------------------------------------------------------

pub async fn add_topics(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let id = migration_id(&id)?;
    let topics: Vec<NewTopic> = body(&bytes)?;
    let actor = actor(&who, &headers);
    let added = state.engine.add_topics(id, topics, &actor).await?;
    Ok(Json(added).into_response())
}

pub async fn remove_topic(
    State(state): State<ApiState>,
    Path((id, topic)): Path<(String, String)>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    state.engine.remove_topic(migration_id(&id)?, &topic, &actor(&who, &headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn check(
    State(state): State<ApiState>,
    Path((id, topic)): Path<(String, String)>,
) -> ApiResult<Response> {
    let report = state.engine.check(migration_id(&id)?, &topic).await?;
    Ok(Json(report).into_response())
}

/// The body of a step: checks are ignored only on purpose, with a reason for the history.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepBody {
    #[serde(default)]
    ignore_checks: bool,
    #[serde(default)]
    reason: Option<String>,
}

/// `Some(reason)` when checks are to be ignored.
fn ignore_reason(ignore_checks: bool, reason: Option<&str>) -> ApiResult<Option<String>> {
    let reason = reason.map(str::trim);
    match (ignore_checks, reason) {
        (true, Some(r)) if !r.is_empty() => Ok(Some(r.to_string())),
        (true, _) => Err(ApiError::invalid(
            "ignoreChecks needs a reason: say why the failing checks may be ignored (it is kept in the history)",
        )),
        (false, Some(r)) if !r.is_empty() => {
            Err(ApiError::invalid("a reason is recorded only with ignoreChecks: true"))
        }
        (false, _) => Ok(None),
    }
}

pub async fn proceed(
    State(state): State<ApiState>,
    Path((id, topic)): Path<(String, String)>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<TopicView>> {
    let id = migration_id(&id)?;
    let b: StepBody = optional_body(&bytes)?;
    let ignore = ignore_reason(b.ignore_checks, b.reason.as_deref())?;
    Ok(Json(state.engine.proceed(id, &topic, ignore.as_deref(), &actor(&who, &headers)).await?.into()))
}

pub async fn rollback(
    State(state): State<ApiState>,
    Path((id, topic)): Path<(String, String)>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<TopicView>> {
    let id = migration_id(&id)?;
    let b: StepBody = optional_body(&bytes)?;
    let ignore = ignore_reason(b.ignore_checks, b.reason.as_deref())?;
    Ok(Json(state.engine.rollback(id, &topic, ignore.as_deref(), &actor(&who, &headers)).await?.into()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchBody {
    action: BatchAction,
    topics: Vec<String>,
    #[serde(default)]
    ignore_checks: bool,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Serialize)]
pub struct BatchResults {
    results: Vec<ferry_control::migration::BatchResult>,
}

pub async fn batch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<BatchResults>> {
    let id = migration_id(&id)?;
    let b: BatchBody = body(&bytes)?;
    if b.topics.is_empty() {
        return Err(ApiError::invalid("topics: name at least one topic"));
    }
    let ignore = ignore_reason(b.ignore_checks, b.reason.as_deref())?;
    if ignore.is_some() && b.action == BatchAction::Check {
        return Err(ApiError::invalid("ignoreChecks applies to proceed and rollback, not to check"));
    }
    let results =
        state.engine.batch(id, b.action, &b.topics, ignore.as_deref(), &actor(&who, &headers)).await?;
    Ok(Json(BatchResults { results }))
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    topic: Option<String>,
}

#[derive(Serialize)]
pub struct History {
    transitions: Vec<Transition>,
}

pub async fn history(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let id = migration_id(&id)?;
    let topic = q.topic.as_deref().filter(|t| !t.is_empty());
    Ok(Json(History { transitions: state.engine.history(id, topic).await? }))
}

/// Whether clients can leave Ferry for the target, and who holds it up.
pub async fn leave(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<LeaveReport>> {
    Ok(Json(state.engine.leave(migration_id(&id)?).await?))
}

#[derive(Serialize)]
pub struct Brokers {
    brokers: Vec<BrokerStatus>,
}

/// The brokers whose answers the migration's checks need, and whether each is registered now.
pub async fn brokers(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<Brokers>> {
    Ok(Json(Brokers { brokers: state.engine.brokers(migration_id(&id)?).await? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForgetBody {
    reason: String,
}

/// An operator's recorded decision that a broker is gone for good: checks stop waiting for it.
pub async fn forget_broker(
    State(state): State<ApiState>,
    Path((id, side, broker)): Path<(String, String, String)>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<MigrationBroker>> {
    let id = migration_id(&id)?;
    let side = match side.as_str() {
        "source" => Side::Source,
        "target" => Side::Target,
        other => return Err(ApiError::invalid(format!("side: '{other}' is neither source nor target"))),
    };
    let b: ForgetBody = body(&bytes)?;
    Ok(Json(state.engine.forget_broker(id, side, &broker, &b.reason, &actor(&who, &headers)).await?))
}

// ------------------------------------------------------------------------------------------------
// Fleet
// ------------------------------------------------------------------------------------------------

/// Every Ferry instance sharing the store: up or down, the stage each serves of each topic.
pub async fn fleet(State(state): State<ApiState>) -> ApiResult<Json<Fleet>> {
    Ok(Json(state.engine.fleet().await?))
}

/// An operator's word that an instance is gone for good: `fleet-applied` stops waiting for it.
pub async fn forget_instance(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    state.engine.forget_instance(&name, &actor(&who, &headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn access_point(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let mut ap = state.engine.access_point(migration_id(&id)?).await?;
    ap.ferry_namesrv = state.client_namesrv.clone();
    Ok(Json(ap).into_response())
}

// ------------------------------------------------------------------------------------------------
// Traffic
// ------------------------------------------------------------------------------------------------

pub async fn traffic(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<TrafficReport>> {
    let id = migration_id(&id)?;
    let proxy = state.engine.proxy();
    let mut topics = Vec::new();
    for t in state.engine.topics(id).await? {
        let now = PerSide {
            source: proxy.traffic.topic(&t.topic, Side::Source),
            target: proxy.traffic.topic(&t.topic, Side::Target),
        };
        let samples = state.engine.traffic(&t.topic);
        topics.push(TopicTraffic::new(t.topic, t.stage, samples, now));
    }
    Ok(Json(TrafficReport { topics }))
}

// ------------------------------------------------------------------------------------------------
// The proxy and its clients
// ------------------------------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageView {
    topic: String,
    /// The stage and, for strict-order topics, the side held write-only.
    #[serde(flatten)]
    policy: TopicPolicy,
    /// Grows with every change of any topic's route; clients report which one they hold.
    epoch: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyView {
    /// Where the NameServer front listens.
    namesrv_listen: String,
    /// The NameServer address clients are given.
    ferry_namesrv: String,
    relays: Vec<RelayAssignment>,
    connections: PerSide<usize>,
    latency: PerSide<LatencySnapshot>,
    stages: Vec<StageView>,
}

pub async fn proxy(State(state): State<ApiState>) -> Json<ProxyView> {
    let p = state.engine.proxy();
    Json(ProxyView {
        namesrv_listen: p.namesrv_addr().to_string(),
        ferry_namesrv: state.client_namesrv.clone(),
        relays: p.relay_assignments(),
        connections: PerSide { source: p.connections(Side::Source), target: p.connections(Side::Target) },
        latency: PerSide {
            source: p.traffic.latency(Side::Source).snapshot(),
            target: p.traffic.latency(Side::Target).snapshot(),
        },
        stages: p
            .stages
            .topics()
            .into_iter()
            .map(|(topic, v)| StageView { topic, policy: v.policy, epoch: v.epoch })
            .collect(),
    })
}

/// A page of clients: at most this many at once, whatever is asked.
const MAX_CLIENTS_PAGE: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

#[derive(Serialize)]
pub struct Clients {
    /// How many clients Ferry knows in all; `clients` is the page asked for, by client id.
    total: usize,
    offset: usize,
    limit: usize,
    clients: Vec<ClientRecord>,
}

pub async fn clients(State(state): State<ApiState>, Query(q): Query<PageQuery>) -> Json<Clients> {
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_CLIENTS_PAGE);
    let (total, clients) = state.engine.proxy().registry.page(q.offset, limit);
    Json(Clients { total, offset: q.offset, limit, clients })
}

// ------------------------------------------------------------------------------------------------
// Import tasks
// ------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
}

#[derive(Serialize)]
pub struct Tasks {
    tasks: Vec<TaskSummary>,
}

pub async fn tasks(State(state): State<ApiState>, Query(q): Query<StatusQuery>) -> ApiResult<Json<Tasks>> {
    let status: Option<TaskStatus> = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse().map_err(|e| ApiError::invalid(format!("status: {e}")))?),
        None => None,
    };
    let mut tasks = state.engine.store().tasks().await?;
    if let Some(status) = status {
        tasks.retain(|t| t.status == status);
    }
    Ok(Json(Tasks { tasks }))
}

#[derive(Serialize)]
pub struct TaskDetail {
    task: TaskSummary,
    items: Vec<ItemRecord>,
}

pub async fn task(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
) -> ApiResult<Json<TaskDetail>> {
    let id: TaskId =
        id.parse().map_err(|_| ApiError::invalid(format!("not a task id: {id:?} (ids are numbers)")))?;
    let status: Option<ItemStatus> = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse().map_err(|e| ApiError::invalid(format!("status: {e}")))?),
        None => None,
    };
    match state.engine.store().task(id, status).await? {
        Some((task, items)) => Ok(Json(TaskDetail { task, items })),
        None => Err(ApiError::not_found(format!("task {id} not found"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignoring_checks_takes_a_reason_and_a_reason_takes_ignoring() {
        assert_eq!(ignore_reason(false, None).unwrap(), None);
        assert_eq!(ignore_reason(false, Some("  ")).unwrap(), None);
        assert_eq!(ignore_reason(true, Some(" canary ")).unwrap().as_deref(), Some("canary"));
        assert!(ignore_reason(true, None).is_err());
        assert!(ignore_reason(true, Some(" ")).is_err());
        assert!(ignore_reason(false, Some("why")).is_err());
    }

    #[test]
    fn the_actor_is_who_authenticated_and_the_header_only_a_note() {
        let token = Principal::Token;
        let session = Principal::Session("0123456789abcdef0123456789abcdef".into());
        let mut h = HeaderMap::new();
        assert_eq!(actor(&token, &h), "token");
        assert_eq!(actor(&session, &h), "session:01234567");
        h.insert(ACTOR_HEADER, "  alice ".parse().unwrap());
        assert_eq!(actor(&token, &h), "token (says alice)");
        assert_eq!(actor(&session, &h), "session:01234567 (says alice)");
        // Whatever the header claims, the identity comes first.
        h.insert(ACTOR_HEADER, "token".parse().unwrap());
        assert_eq!(actor(&session, &h), "session:01234567 (says token)");
        h.insert(ACTOR_HEADER, "x".repeat(500).parse().unwrap());
        assert_eq!(actor(&token, &h), format!("token (says {})", "x".repeat(MAX_ACTOR_CHARS)));
        h.insert(ACTOR_HEADER, "   ".parse().unwrap());
        assert_eq!(actor(&token, &h), "token");
    }
}
