//! Who may use the API, and the web console's login.
//!
//! One secret lets people in: the API token, from the configuration, else kept in the store, else
//! generated on first start and kept there. It is used two ways:
//!
//! - `Authorization: Bearer <token>` on every request (scripts, `ferry migrate`). Browsers never
//!   attach that header to a cross-site request on their own, so it needs no more protection.
//! - A cookie session for the web console: `POST /api/login` with the token sets `ferry_session`
//!   (HttpOnly, SameSite=Strict) and answers a CSRF token bound to that session. A cookie *is*
//!   sent by browsers on their own, so every cookie-authenticated request that changes something
//!   (any method but GET, HEAD and OPTIONS) must also carry `X-CSRF-Token` with the session's
//!   token, which a page of another site cannot read.
//!
//! Sessions live in memory: a restart of Ferry logs everyone out. [`Auth::authenticate`] is the
//! one place requests are let in.
//!
//! Guessing the token is slowed down the same way whichever way it is tried (a bearer header or
//! the login), by one [`FailureLimiter`] keyed by the peer's address (an IPv6 peer by its /64):
//! every wrong token is answered after [`Limits::delay`] and logged with the peer's address
//! (never the token); after [`Limits::failures`] wrong tokens within [`Limits::window`] the peer is
//! refused outright (`429`, `Retry-After`) for [`Limits::lockout`], doubled at each further lockout
//! up to [`Limits::max_lockout`], whatever it sends, the right token included. At most
//! [`Limits::peers`] peers are remembered. A missing header or an expired session cookie is not a
//! guess and is not counted (a console tab open across a restart sends one on every poll).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ferry_control::{Store, StoreError};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::ApiState;

/// The store setting that keeps the API token when the configuration names none.
pub const TOKEN_SETTING: &str = "api_token";
/// The console's session cookie.
pub const SESSION_COOKIE: &str = "ferry_session";
/// The header a cookie-authenticated change must carry, with the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused this long is gone.
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the least recently used goes first.
const MAX_SESSIONS: usize = 256;

// ------------------------------------------------------------------------------------------------
// Failed attempts, per peer
// ------------------------------------------------------------------------------------------------

/// How hard guessing the token is made, per peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Every wrong token is answered this late.
    pub delay: Duration,
    /// Wrong tokens within [`Limits::window`] before the peer is locked out.
    pub failures: u32,
    /// Failures older than this are forgotten (and so is a peer without newer ones).
    pub window: Duration,
    /// The first lockout; each further one (without a quiet [`Limits::window`] in between)
    /// doubles, up to [`Limits::max_lockout`].
    pub lockout: Duration,
    pub max_lockout: Duration,
    /// Peers remembered at most; past it, the one whose last failure is oldest is forgotten first
    /// (a locked-out peer only after every other).
    pub peers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            delay: Duration::from_millis(400),
            failures: 10,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(3600),
            peers: 4096,
        }
    }
}

/// A peer as the limiter knows it: an IPv4 address, or an IPv6 address's /64 (one host commonly
/// holds a whole /64). An IPv4-mapped IPv6 address is its IPv4 address.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[derive(Clone, Copy, Debug)]
struct PeerRecord {
    /// Failures since the window started.
    failures: u32,
    last_failure: Instant,
    /// Lockouts so far (each doubles the next).
    lockouts: u32,
    locked_until: Option<Instant>,
}

/// What the limiter says of an attempt about to be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Check it.
    Check,
    /// Refused unchecked, for this much longer.
    LockedOut(Duration),
}

/// What a failure led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Failures of this peer within the window, this one included.
    pub count: u32,
    /// Set when this failure locked the peer out: for how long.
    pub locked_for: Option<Duration>,
}

/// Failed authentications per peer, in bounded memory.
#[derive(Debug)]
pub struct FailureLimiter {
    limits: Limits,
    peers: Mutex<HashMap<IpAddr, PeerRecord>>,
}

impl FailureLimiter {
    pub fn new(limits: Limits) -> FailureLimiter {
        FailureLimiter { limits, peers: Mutex::new(HashMap::new()) }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether an attempt from `peer` may be checked at all.
    pub fn admit(&self, peer: IpAddr, now: Instant) -> Admission {
        let peers = self.peers.lock().expect("limiter lock");
        match peers.get(&peer_key(peer)).and_then(|r| r.locked_until) {
            Some(until) if until > now => Admission::LockedOut(until - now),
            _ => Admission::Check,
        }
    }

    /// Records a wrong token from `peer`.
    pub fn failed(&self, peer: IpAddr, now: Instant) -> Failure {
        let key = peer_key(peer);
        let limits = self.limits;
        let mut peers = self.peers.lock().expect("limiter lock");
        if !peers.contains_key(&key) && peers.len() >= limits.peers {
            Self::make_room(&mut peers, &limits, now);
        }
        let record = peers.entry(key).or_insert(PeerRecord {
            failures: 0,
            last_failure: now,
            lockouts: 0,
            locked_until: None,
        });
        // Quiet since the last failure, or since the last lockout ended: start afresh.
        let since = record.locked_until.map_or(record.last_failure, |u| u.max(record.last_failure));
        let locked = record.locked_until.is_some_and(|u| u > now);
        if !locked && now.saturating_duration_since(since) > limits.window {
            *record = PeerRecord { failures: 0, last_failure: now, lockouts: 0, locked_until: None };
        }
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        let count = record.failures;
        let mut locked_for = None;
        if count >= limits.failures && !locked {
            let factor = 1u32.checked_shl(record.lockouts.min(20)).unwrap_or(u32::MAX);
            let lockout = limits.lockout.saturating_mul(factor).min(limits.max_lockout);
            record.lockouts = record.lockouts.saturating_add(1);
            record.locked_until = Some(now + lockout);
            // Counted afresh after the lockout.
            record.failures = 0;
            locked_for = Some(lockout);
        }
        Failure { count, locked_for }
    }

    /// Records the right token from `peer`: its failures are forgotten (a lockout in force, which
    /// another request may just have started, still runs out).
    pub fn succeeded(&self, peer: IpAddr, now: Instant) {
        let key = peer_key(peer);
        let mut peers = self.peers.lock().expect("limiter lock");
        if peers.get(&key).is_some_and(|r| r.locked_until.is_none_or(|u| u <= now)) {
            peers.remove(&key);
        }
    }

    /// Peers remembered now.
    pub fn tracked(&self) -> usize {
        self.peers.lock().expect("limiter lock").len()
    }

    /// Forgets peers with nothing left to remember, then, while still full, the one whose last
    /// failure is oldest, preferring peers that are not locked out.
    fn make_room(peers: &mut HashMap<IpAddr, PeerRecord>, limits: &Limits, now: Instant) {
        peers.retain(|_, r| {
            let since = r.locked_until.map_or(r.last_failure, |u| u.max(r.last_failure));
            now.saturating_duration_since(since) <= limits.window
        });
        while peers.len() >= limits.peers.max(1) {
            let victim = peers
                .iter()
                .min_by_key(|(_, r)| (r.locked_until.is_some_and(|u| u > now), r.last_failure))
                .map(|(k, _)| *k);
            match victim {
                Some(k) => peers.remove(&k),
                None => break,
            };
        }
    }
}

/// The address a request came from, when the server was started with it (see [`crate::serve`]);
/// otherwise 0.0.0.0, so that every such request shares one limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(pub IpAddr);

impl Peer {
    fn of(extensions: &axum::http::Extensions) -> Peer {
        Peer(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer::of(&parts.extensions))
    }
}

/// The answer to a locked-out peer: `429` with `Retry-After`, kind `unauthorized`.
fn locked_out(left: Duration) -> Response {
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    let mut response =
        ApiError::unauthorized(format!("too many wrong API tokens from your address: try again in {secs} s"))
            .into_response();
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Where the API token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `[api] token` in the configuration.
    Config,
    /// Kept in the store from an earlier start.
    Store,
    /// Made just now and saved in the store: show it once.
    Generated,
}

#[derive(Clone)]
pub struct ApiToken {
    pub value: String,
    pub source: TokenSource,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken").field("value", &"<redacted>").field("source", &self.source).finish()
    }
}

/// The token: the configured one, else the store's, else a new one saved in the store.
pub async fn api_token(store: &Store, configured: Option<&str>) -> Result<ApiToken, StoreError> {
    if let Some(t) = configured {
        return Ok(ApiToken { value: t.to_string(), source: TokenSource::Config });
    }
    if let Some(t) = store.setting(TOKEN_SETTING).await?.filter(|t| !t.is_empty()) {
        return Ok(ApiToken { value: t, source: TokenSource::Store });
    }
    // Two instances of a fleet starting on a new store: the first token written is everyone's.
    let generated = generate_token();
    let mut value = store.setting_or_insert(TOKEN_SETTING, &generated).await?;
    if value.is_empty() {
        store.set_setting(TOKEN_SETTING, &generated).await?;
        value = generated.clone();
    }
    let source = if value == generated { TokenSource::Generated } else { TokenSource::Store };
    Ok(ApiToken { value, source })
}

/// 32 bytes from the operating system's generator, as 64 hex digits.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the operating system's random number generator");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// Holder of the API token, sent as a bearer token.
    Token,
    /// A logged-in console session (by its id).
    Session(String),
}

impl Principal {
    /// Who a migration's history records for this request: `token` (the bearer token's holder) or
    /// `session:` and the first 8 hex digits of the console session's id (never the whole id, which
    /// would let a reader of the history take the session over).
    pub fn actor(&self) -> String {
        match self {
            Principal::Token => "token".to_string(),
            Principal::Session(id) => format!("session:{}", id.get(..8).unwrap_or(id)),
        }
    }
}

struct Session {
    csrf: String,
    last_seen: Instant,
}

pub struct Auth {
    token: String,
    sessions: Mutex<HashMap<String, Session>>,
    limiter: FailureLimiter,
    /// The API is served over TLS: the session cookie is `Secure`.
    tls: bool,
}

/// Why a request was not let in.
#[derive(Debug)]
pub struct Refusal {
    pub error: ApiError,
    /// A wrong token (or a malformed Authorization header): a guess, counted against the peer.
    pub guess: bool,
}

impl Refusal {
    fn guess(error: ApiError) -> Refusal {
        Refusal { error, guess: true }
    }

    fn other(error: ApiError) -> Refusal {
        Refusal { error, guess: false }
    }
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Methods that change nothing, so need no CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

impl Auth {
    /// Lets in the holder of `token`, by bearer header or by a session opened with it.
    pub fn bearer(token: impl Into<String>) -> Auth {
        Auth {
            token: token.into(),
            sessions: Mutex::new(HashMap::new()),
            limiter: FailureLimiter::new(Limits::default()),
            tls: false,
        }
    }

    /// With other limits on wrong tokens per peer.
    pub fn with_limits(mut self, limits: Limits) -> Auth {
        self.limiter = FailureLimiter::new(limits);
        self
    }

    /// Says whether the API is served over TLS, which makes the session cookie `Secure` (a
    /// browser then never sends it over plain HTTP): by Ferry itself (`[api] tls_cert`), or by a
    /// TLS proxy in front of it.
    pub fn served_over_tls(mut self, tls: bool) -> Auth {
        self.tls = tls;
        self
    }

    pub fn limiter(&self) -> &FailureLimiter {
        &self.limiter
    }

    /// Whether `given` is the API token (compared in constant time).
    pub fn is_token(&self, given: &str) -> bool {
        same(given, &self.token)
    }

    /// Lets a request in, or says why not: a bearer token wins over a session cookie; a session
    /// must carry its CSRF token on anything but GET, HEAD and OPTIONS.
    pub fn authenticate(&self, method: &Method, headers: &HeaderMap) -> Result<Principal, Refusal> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let given = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .ok_or_else(|| {
                    Refusal::guess(ApiError::unauthorized(
                        "the Authorization header must be `Bearer <token>`",
                    ))
                })?;
            return if self.is_token(given) {
                Ok(Principal::Token)
            } else {
                Err(Refusal::guess(ApiError::unauthorized("wrong API token")))
            };
        }
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Err(Refusal::other(ApiError::unauthorized(
                "missing Authorization: Bearer <token> header (or log in to the console)",
            )));
        };
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let Some(session) = sessions.get_mut(id) else {
            return Err(Refusal::other(ApiError::unauthorized("the session has ended: log in again")));
        };
        if session.last_seen.elapsed() > SESSION_IDLE {
            sessions.remove(id);
            return Err(Refusal::other(ApiError::unauthorized("the session has ended: log in again")));
        }
        if !is_safe(method) {
            let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same(given, &session.csrf) {
                return Err(Refusal::other(ApiError::forbidden(
                    "a change made with a session cookie needs the session's X-CSRF-Token header",
                )));
            }
        }
        session.last_seen = Instant::now();
        Ok(Principal::Session(id.to_string()))
    }

    /// A new session: (its id, its CSRF token).
    fn open_session(&self) -> (String, String) {
        let (id, csrf) = (generate_token(), generate_token());
        let mut sessions = self.sessions.lock().expect("sessions lock");
        sessions.retain(|_, s| s.last_seen.elapsed() <= SESSION_IDLE);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| k.clone()) {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), Session { csrf: csrf.clone(), last_seen: Instant::now() });
        (id, csrf)
    }

    fn csrf_of(&self, id: &str) -> Option<String> {
        self.sessions.lock().expect("sessions lock").get(id).map(|s| s.csrf.clone())
    }

    fn close_session(&self, id: &str) {
        self.sessions.lock().expect("sessions lock").remove(id);
    }
}

/// A wrong token from `peer` (`via` the bearer header or the login): logged with the peer's
/// address, counted, and answered late.
async fn wrong_token(auth: &Auth, peer: IpAddr, via: &'static str, error: ApiError) -> Response {
    let failure = auth.limiter.failed(peer, Instant::now());
    match failure.locked_for {
        Some(lockout) => tracing::warn!(
            %peer, via, failures = failure.count, lockout_secs = lockout.as_secs(),
            "authentication failed: {}; the peer is locked out", error.error
        ),
        None => {
            tracing::warn!(%peer, via, failures = failure.count, "authentication failed: {}", error.error)
        }
    }
    tokio::time::sleep(auth.limiter.limits().delay).await;
    error.into_response()
}

/// Middleware in front of `/api/*` (but login) and `/metrics`.
pub(crate) async fn require(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let peer = Peer::of(request.extensions()).0;
    if let Admission::LockedOut(left) = state.auth.limiter.admit(peer, Instant::now()) {
        tracing::warn!(%peer, path = %request.uri().path(), "request refused: the peer is locked out");
        return locked_out(left);
    }
    match state.auth.authenticate(request.method(), request.headers()) {
        Ok(principal) => {
            if principal == Principal::Token {
                state.auth.limiter.succeeded(peer, Instant::now());
            }
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(Refusal { error, guess: true }) => wrong_token(&state.auth, peer, "bearer", error).await,
        Err(Refusal { error, guess: false }) => error.into_response(),
    }
}

// ------------------------------------------------------------------------------------------------
// Login, logout, the session
// ------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    token: String,
}

/// What the console keeps in memory after logging in (the CSRF token is never in a cookie).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// `session` (a console login) or `token` (a bearer token).
    via: &'static str,
    /// The header a cookie-authenticated change must carry; absent for bearer tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_header: Option<&'static str>,
}

fn session_cookie(id: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("a cookie of hex digits")
}

/// `POST /api/login`: the API token in, a session cookie and its CSRF token out. Only JSON is
/// taken, which an HTML form of another site cannot send.
pub async fn login(
    State(state): State<ApiState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    if let Admission::LockedOut(left) = state.auth.limiter.admit(peer, Instant::now()) {
        tracing::warn!(%peer, "console login refused: the peer is locked out");
        return locked_out(left);
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return ApiError::invalid(
            "log in with a JSON body: Content-Type: application/json, {\"token\": \"...\"}",
        )
        .into_response();
    }
    let login: Login = match serde_json::from_slice(&bytes) {
        Ok(l) => l,
        Err(e) => return ApiError::invalid(format!("request body: {e}")).into_response(),
    };
    if !state.auth.is_token(login.token.trim()) {
        return wrong_token(&state.auth, peer, "login", ApiError::unauthorized("wrong API token")).await;
    }
    state.auth.limiter.succeeded(peer, Instant::now());
    let (id, csrf) = state.auth.open_session();
    tracing::info!(%peer, "console login");
    let info = SessionInfo { via: "session", csrf_token: Some(csrf), csrf_header: Some(CSRF_HEADER) };
    let mut response = Json(info).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&id, SESSION_IDLE.as_secs(), state.auth.tls));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/session`: who is asking, and for a console session its CSRF token (a page reload
/// loses it from memory; a page of another site cannot read this answer).
pub async fn session(State(state): State<ApiState>, Extension(who): Extension<Principal>) -> Response {
    let info = match &who {
        Principal::Token => SessionInfo { via: "token", csrf_token: None, csrf_header: None },
        Principal::Session(id) => {
            SessionInfo { via: "session", csrf_token: state.auth.csrf_of(id), csrf_header: Some(CSRF_HEADER) }
        }
    };
    let mut response = Json(info).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /api/logout`: ends the console session and clears its cookie.
pub async fn logout(State(state): State<ApiState>, Extension(who): Extension<Principal>) -> Response {
    if let Principal::Session(id) = &who {
        state.auth.close_session(id);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0, state.auth.tls));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn bearer(auth: &str) -> HeaderMap {
        headers(&[("authorization", auth)])
    }

    #[test]
    fn only_the_exact_bearer_token_is_let_in() {
        let auth = Auth::bearer("s3cr3t-token-value");
        let get = Method::GET;
        assert_eq!(auth.authenticate(&get, &bearer("Bearer s3cr3t-token-value")).unwrap(), Principal::Token);
        assert!(auth.authenticate(&Method::POST, &bearer("bearer s3cr3t-token-value")).is_ok());
        for bad in [
            "Bearer s3cr3t-token-valu",
            "Bearer s3cr3t-token-value2",
            "Basic s3cr3t-token-value",
            "Bearer",
            "",
        ] {
            let e = auth.authenticate(&get, &bearer(bad)).unwrap_err();
            assert!(e.guess, "{bad:?} counts as a guess");
        }
        assert!(!auth.authenticate(&get, &HeaderMap::new()).unwrap_err().guess, "no header is no guess");
    }

    #[test]
    fn a_session_reads_freely_but_changes_only_with_its_csrf_token() {
        let auth = Auth::bearer("s3cr3t-token-value");
        let (id, csrf) = auth.open_session();
        let (other_id, other_csrf) = auth.open_session();
        assert_ne!(csrf, other_csrf);
        let cookie = format!("theme=dark; {SESSION_COOKIE}={id}");
        let h = headers(&[("cookie", &cookie)]);
        assert_eq!(auth.authenticate(&Method::GET, &h).unwrap(), Principal::Session(id.clone()));
        let e = auth.authenticate(&Method::POST, &h).unwrap_err();
        assert!(!e.guess, "a missing CSRF token is not a guess of the API token");
        let e = e.error;
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert!(e.error.contains("X-CSRF-Token"), "{}", e.error);
        let wrong = headers(&[("cookie", &cookie), (CSRF_HEADER, &other_csrf)]);
        assert!(auth.authenticate(&Method::DELETE, &wrong).is_err(), "another session's token");
        let right = headers(&[("cookie", &cookie), (CSRF_HEADER, &csrf)]);
        assert_eq!(auth.authenticate(&Method::POST, &right).unwrap(), Principal::Session(id.clone()));

        let unknown = headers(&[("cookie", &format!("{SESSION_COOKIE}=feed"))]);
        let e = auth.authenticate(&Method::GET, &unknown).unwrap_err();
        assert_eq!(
            (e.error.status(), e.guess),
            (StatusCode::UNAUTHORIZED, false),
            "a stale cookie is no guess"
        );
        auth.close_session(&id);
        assert_eq!(auth.authenticate(&Method::GET, &h).unwrap_err().error.status(), StatusCode::UNAUTHORIZED);
        let other = headers(&[("cookie", &format!("{SESSION_COOKIE}={other_id}"))]);
        assert!(auth.authenticate(&Method::GET, &other).is_ok(), "other sessions stay");
    }

    #[test]
    fn a_bearer_header_wins_over_a_cookie() {
        let auth = Auth::bearer("s3cr3t-token-value");
        let (id, _) = auth.open_session();
        let cookie = format!("{SESSION_COOKIE}={id}");
        let h = headers(&[("cookie", &cookie), ("authorization", "Bearer nope")]);
        assert!(auth.authenticate(&Method::GET, &h).is_err(), "a wrong bearer token is not rescued");
        let h = headers(&[("cookie", &cookie), ("authorization", "Bearer s3cr3t-token-value")]);
        assert_eq!(auth.authenticate(&Method::POST, &h).unwrap(), Principal::Token, "no CSRF token needed");
    }

    #[test]
    fn sessions_are_bounded() {
        let auth = Auth::bearer("s3cr3t-token-value");
        let (first, _) = auth.open_session();
        for _ in 0..MAX_SESSIONS {
            auth.open_session();
        }
        assert_eq!(auth.sessions.lock().unwrap().len(), MAX_SESSIONS);
        assert!(auth.csrf_of(&first).is_none(), "the least recently used went first");
    }

    fn limits() -> Limits {
        Limits {
            delay: Duration::ZERO,
            failures: 3,
            window: Duration::from_secs(600),
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(150),
            peers: 4,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_peer_is_locked_out_after_its_failures_and_the_lockout_doubles() {
        let limiter = FailureLimiter::new(limits());
        let (peer, other) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let t0 = Instant::now();
        assert_eq!(limiter.failed(peer, t0), Failure { count: 1, locked_for: None });
        assert_eq!(limiter.failed(peer, t0), Failure { count: 2, locked_for: None });
        assert_eq!(limiter.admit(peer, t0), Admission::Check);
        let third = limiter.failed(peer, t0 + Duration::from_secs(1));
        assert_eq!(third, Failure { count: 3, locked_for: Some(Duration::from_secs(60)) });
        assert_eq!(
            limiter.admit(peer, t0 + Duration::from_secs(11)),
            Admission::LockedOut(Duration::from_secs(50))
        );
        assert_eq!(limiter.admit(other, t0), Admission::Check, "another peer is not concerned");
        // Over: checked again; three more failures lock it out twice as long, then the cap.
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(limiter.admit(peer, t1), Admission::Check);
        for _ in 0..2 {
            assert_eq!(limiter.failed(peer, t1).locked_for, None);
        }
        assert_eq!(limiter.failed(peer, t1).locked_for, Some(Duration::from_secs(120)));
        let t2 = t1 + Duration::from_secs(120);
        assert_eq!(limiter.admit(peer, t2), Admission::Check);
        for _ in 0..2 {
            limiter.failed(peer, t2);
        }
        assert_eq!(limiter.failed(peer, t2).locked_for, Some(Duration::from_secs(150)), "capped");
        // Quiet for a window after the lockout: forgotten, the first lockout is short again.
        let t3 = t2 + Duration::from_secs(150 + 601);
        assert_eq!(limiter.failed(peer, t3), Failure { count: 1, locked_for: None });
        limiter.failed(peer, t3);
        assert_eq!(limiter.failed(peer, t3).locked_for, Some(Duration::from_secs(60)));
    }

    #[test]
    fn the_right_token_forgets_failures_but_not_a_lockout_in_force() {
        let limiter = FailureLimiter::new(limits());
        let peer = ip("10.0.0.1");
        let now = Instant::now();
        limiter.failed(peer, now);
        limiter.failed(peer, now);
        limiter.succeeded(peer, now);
        assert_eq!(limiter.failed(peer, now).count, 1, "counted afresh");
        limiter.failed(peer, now);
        assert!(limiter.failed(peer, now).locked_for.is_some());
        limiter.succeeded(peer, now);
        assert!(matches!(limiter.admit(peer, now), Admission::LockedOut(_)));
    }

    #[test]
    fn ipv6_peers_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let limiter = FailureLimiter::new(limits());
        let now = Instant::now();
        limiter.failed(ip("2001:db8:1:2::1"), now);
        limiter.failed(ip("2001:db8:1:2:ffff::9"), now);
        assert!(limiter.failed(ip("2001:db8:1:2:abcd::7"), now).locked_for.is_some(), "one /64");
        assert_eq!(limiter.admit(ip("2001:db8:1:3::1"), now), Admission::Check, "another /64");
        limiter.failed(ip("192.0.2.7"), now);
        limiter.failed(ip("::ffff:192.0.2.7"), now);
        assert!(limiter.failed(ip("192.0.2.7"), now).locked_for.is_some());
        assert_eq!(limiter.tracked(), 2);
    }

    #[test]
    fn peers_tracked_are_capped_and_locked_out_ones_go_last() {
        let limiter = FailureLimiter::new(limits());
        let t0 = Instant::now();
        let locked = ip("10.0.0.99");
        for _ in 0..3 {
            limiter.failed(locked, t0);
        }
        for i in 0..10_000u32 {
            let peer = IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i));
            limiter.failed(peer, t0 + Duration::from_millis(u64::from(i)));
            assert!(limiter.tracked() <= 4);
        }
        assert!(matches!(limiter.admit(locked, t0 + Duration::from_secs(20)), Admission::LockedOut(_)));
        // Peers with nothing left to remember make room first.
        let later = t0 + Duration::from_secs(3600);
        limiter.failed(ip("10.0.0.1"), later);
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn the_cookie_is_secure_when_served_over_tls() {
        let plain = session_cookie("abcd", 60, false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
        let tls = session_cookie("abcd", 60, true);
        assert!(tls.to_str().unwrap().ends_with("; Secure"), "{tls:?}");
        assert!(Auth::bearer("s3cr3t-token-value").served_over_tls(true).tls);
    }

    #[tokio::test]
    async fn a_locked_out_peer_is_answered_429_with_retry_after() {
        let response = locked_out(Duration::from_millis(2500));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }

    #[test]
    fn the_actor_is_the_authenticated_identity_without_the_session_id() {
        assert_eq!(Principal::Token.actor(), "token");
        let id = generate_token();
        let actor = Principal::Session(id.clone()).actor();
        assert_eq!(actor, format!("session:{}", &id[..8]));
        assert!(!actor.contains(&id));
    }

    #[test]
    fn generated_tokens_are_long_and_differ() {
        let (a, b) = (generate_token(), generate_token());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn a_generated_token_is_kept_in_the_store_and_a_configured_one_wins() {
        let store = Store::open_in_memory().await.unwrap();
        let first = api_token(&store, None).await.unwrap();
        assert_eq!(first.source, TokenSource::Generated);
        let again = api_token(&store, None).await.unwrap();
        assert_eq!(again.source, TokenSource::Store);
        assert_eq!(again.value, first.value);
        let configured = api_token(&store, Some("from-the-config-file")).await.unwrap();
        assert_eq!(
            (configured.source, configured.value.as_str()),
            (TokenSource::Config, "from-the-config-file")
        );
        assert!(!format!("{configured:?}").contains("from-the-config-file"));
    }
}
