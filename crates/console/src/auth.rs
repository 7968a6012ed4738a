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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
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
/// A wrong token at login is answered this late, to slow down guessing.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(400);

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
    let value = generate_token();
    store.set_setting(TOKEN_SETTING, &value).await?;
    Ok(ApiToken { value, source: TokenSource::Generated })
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

struct Session {
    csrf: String,
    last_seen: Instant,
}

pub struct Auth {
    token: String,
    sessions: Mutex<HashMap<String, Session>>,
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
        Auth { token: token.into(), sessions: Mutex::new(HashMap::new()) }
    }

    /// Whether `given` is the API token (compared in constant time).
    pub fn is_token(&self, given: &str) -> bool {
        same(given, &self.token)
    }

    /// Lets a request in, or says why not: a bearer token wins over a session cookie; a session
    /// must carry its CSRF token on anything but GET, HEAD and OPTIONS.
    pub fn authenticate(&self, method: &Method, headers: &HeaderMap) -> Result<Principal, ApiError> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let given = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
            return if self.is_token(given) {
                Ok(Principal::Token)
            } else {
                Err(ApiError::unauthorized("wrong API token"))
            };
        }
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized(
                "missing Authorization: Bearer <token> header (or log in to the console)",
            ));
        };
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let Some(session) = sessions.get_mut(id) else {
            return Err(ApiError::unauthorized("the session has ended: log in again"));
        };
        if session.last_seen.elapsed() > SESSION_IDLE {
            sessions.remove(id);
            return Err(ApiError::unauthorized("the session has ended: log in again"));
        }
        if !is_safe(method) {
            let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same(given, &session.csrf) {
                return Err(ApiError::forbidden(
                    "a change made with a session cookie needs the session's X-CSRF-Token header",
                ));
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

/// Middleware in front of `/api/*` (but login) and `/metrics`.
pub(crate) async fn require(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    match state.auth.authenticate(request.method(), request.headers()) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
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

fn session_cookie(id: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .expect("a cookie of hex digits")
}

/// `POST /api/login`: the API token in, a session cookie and its CSRF token out. Only JSON is
/// taken, which an HTML form of another site cannot send.
pub async fn login(State(state): State<ApiState>, headers: HeaderMap, bytes: Bytes) -> Response {
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
        tokio::time::sleep(FAILED_LOGIN_DELAY).await;
        tracing::info!("console login refused: wrong API token");
        return ApiError::unauthorized("wrong API token").into_response();
    }
    let (id, csrf) = state.auth.open_session();
    tracing::info!("console login");
    let info = SessionInfo { via: "session", csrf_token: Some(csrf), csrf_header: Some(CSRF_HEADER) };
    let mut response = Json(info).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&id, SESSION_IDLE.as_secs()));
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
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0));
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
            assert!(auth.authenticate(&get, &bearer(bad)).is_err(), "{bad:?} let in");
        }
        assert!(auth.authenticate(&get, &HeaderMap::new()).is_err());
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
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert!(e.error.contains("X-CSRF-Token"), "{}", e.error);
        let wrong = headers(&[("cookie", &cookie), (CSRF_HEADER, &other_csrf)]);
        assert!(auth.authenticate(&Method::DELETE, &wrong).is_err(), "another session's token");
        let right = headers(&[("cookie", &cookie), (CSRF_HEADER, &csrf)]);
        assert_eq!(auth.authenticate(&Method::POST, &right).unwrap(), Principal::Session(id.clone()));

        let unknown = headers(&[("cookie", &format!("{SESSION_COOKIE}=feed"))]);
        assert_eq!(auth.authenticate(&Method::GET, &unknown).unwrap_err().status(), StatusCode::UNAUTHORIZED);
        auth.close_session(&id);
        assert_eq!(auth.authenticate(&Method::GET, &h).unwrap_err().status(), StatusCode::UNAUTHORIZED);
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
