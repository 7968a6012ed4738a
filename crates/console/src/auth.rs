//! Who may use the API. Today: one bearer token (`Authorization: Bearer <token>`), from the
//! configuration, else kept in the store, else generated on first start and kept there.
//!
//! Browsers never attach an `Authorization` header to a cross-site request on their own, so a
//! bearer token is also the protection against cross-site request forgery. The web console will add
//! a cookie session; a cookie *is* sent cross-site, so that path must also check a CSRF token (a
//! header matching the session's). Both belong in [`Auth::authenticate`], the one place requests
//! are let in.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferry_control::{Store, StoreError};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::ApiState;

/// The store setting that keeps the API token when the configuration names none.
pub const TOKEN_SETTING: &str = "api_token";

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    /// Holder of the API token.
    Token,
}

pub struct Auth {
    token: String,
}

impl Auth {
    pub fn bearer(token: impl Into<String>) -> Auth {
        Auth { token: token.into() }
    }

    /// Lets a request in, or says why not. The token is compared in constant time.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized("missing Authorization: Bearer <token> header"));
        };
        let given = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
        if bool::from(given.as_bytes().ct_eq(self.token.as_bytes())) {
            Ok(Principal::Token)
        } else {
            Err(ApiError::unauthorized("wrong API token"))
        }
    }
}

/// Middleware in front of `/api/*` and `/metrics`.
pub(crate) async fn require(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    match state.auth.authenticate(request.headers()) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn only_the_exact_bearer_token_is_let_in() {
        let auth = Auth::bearer("s3cr3t-token-value");
        assert!(auth.authenticate(&headers("Bearer s3cr3t-token-value")).is_ok());
        assert!(auth.authenticate(&headers("bearer s3cr3t-token-value")).is_ok());
        for bad in [
            "Bearer s3cr3t-token-valu",
            "Bearer s3cr3t-token-value2",
            "Basic s3cr3t-token-value",
            "Bearer",
            "",
        ] {
            assert!(auth.authenticate(&headers(bad)).is_err(), "{bad:?} let in");
        }
        assert!(auth.authenticate(&HeaderMap::new()).is_err());
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
