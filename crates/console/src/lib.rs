//! Ferry's HTTP API and web console: JSON over HTTP for everything the migration engine does
//! (migrations, topics and their stages, checks, transitions), what the proxy sees (clients,
//! traffic, relays), metadata imports and their tasks, Prometheus metrics on `/metrics`; and the
//! console's pages on `/` ([`web`]), which use nothing but this API.
//!
//! Every `/api/*` and `/metrics` request needs `Authorization: Bearer <token>` or a console
//! session with its CSRF token ([`auth`]); `/healthz`, `/api/login` and the console's static files
//! do not. The routes are documented in `openapi.yaml` ([`OPENAPI_YAML`], served at
//! `/api/openapi.yaml`); a test keeps [`route_table`] and that document in step.

pub mod auth;
pub mod config;
mod error;
mod handlers;
mod imports;
mod metrics;
mod plan_view;
mod source;
pub mod tls;
pub mod traffic;
mod web;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use ferry_control::migration::Engine;
use tokio::net::TcpListener;

pub use auth::{api_token, ApiToken, Auth, Limits, TokenSource};
pub use config::{ConfigError, Overrides, ServeConfig};
pub use error::{ApiError, ErrorKind, FileProblem};
pub use tls::{TlsError, TlsFiles};

/// The largest request body `POST /api/imports` and its preview take (an upload in base64).
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

/// The OpenAPI 3 document of this API.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// What every handler reads.
#[derive(Clone)]
pub struct ApiState {
    engine: Arc<Engine>,
    auth: Arc<Auth>,
    /// The NameServer address clients are given (the front's, as clients reach it).
    client_namesrv: String,
}

impl ApiState {
    pub fn new(engine: Arc<Engine>, auth: Auth) -> ApiState {
        let client_namesrv = engine.proxy().namesrv_addr().to_string();
        ApiState { engine, auth: Arc::new(auth), client_namesrv }
    }

    /// The address clients must use as their NameServer, when it differs from the one the front
    /// listens on (a wildcard listen address, NAT).
    pub fn with_client_namesrv(mut self, addr: impl Into<String>) -> ApiState {
        self.client_namesrv = addr.into();
        self
    }
}

/// Collects routes and the (method, path) table the OpenAPI test compares with the document.
struct Routes {
    router: Router<ApiState>,
    table: Vec<(Method, &'static str)>,
}

impl Routes {
    fn new() -> Routes {
        Routes { router: Router::new(), table: Vec::new() }
    }

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<ApiState>) -> Routes {
        // A path routed again merges its methods into the first router.
        self.router = self.router.route(path, route);
        self.table.push((method, path));
        self
    }

    fn get<H: Handler<T, ApiState>, T: 'static>(self, path: &'static str, h: H) -> Routes {
        self.add(Method::GET, path, routing::get(h))
    }

    fn post<H: Handler<T, ApiState>, T: 'static>(self, path: &'static str, h: H) -> Routes {
        self.add(Method::POST, path, routing::post(h))
    }

    fn delete<H: Handler<T, ApiState>, T: 'static>(self, path: &'static str, h: H) -> Routes {
        self.add(Method::DELETE, path, routing::delete(h))
    }
}

/// The routes without authentication, and those behind it.
fn routes() -> (Routes, Routes) {
    use handlers as h;
    let upload = || DefaultBodyLimit::max(UPLOAD_LIMIT);
    let open = Routes::new().get("/healthz", h::healthz).post("/api/login", auth::login);
    let guarded = Routes::new()
        .get("/api/session", auth::session)
        .post("/api/logout", auth::logout)
        .get("/metrics", h::metrics)
        .get("/api/openapi.yaml", h::openapi)
        .get("/api/migrations", h::list_migrations)
        .post("/api/migrations", h::create_migration)
        .get("/api/migrations/{id}", h::show_migration)
        .post("/api/migrations/{id}/complete", h::complete)
        .post("/api/migrations/{id}/topics", h::add_topics)
        .delete("/api/migrations/{id}/topics/{topic}", h::remove_topic)
        .post("/api/migrations/{id}/topics/{topic}/check", h::check)
        .post("/api/migrations/{id}/topics/{topic}/proceed", h::proceed)
        .post("/api/migrations/{id}/topics/{topic}/rollback", h::rollback)
        .post("/api/migrations/{id}/batch", h::batch)
        .get("/api/migrations/{id}/history", h::history)
        .get("/api/migrations/{id}/leave", h::leave)
        .get("/api/migrations/{id}/brokers", h::brokers)
        .post("/api/migrations/{id}/brokers/{side}/{broker}/forget", h::forget_broker)
        .get("/api/migrations/{id}/clients", h::access_point)
        .get("/api/migrations/{id}/traffic", h::traffic)
        .get("/api/migrations/{id}/source", source::source)
        .get("/api/fleet", h::fleet)
        .delete("/api/fleet/{name}", h::forget_instance)
        .get("/api/proxy", h::proxy)
        .get("/api/clients", h::clients)
        .get("/api/tasks", h::tasks)
        .get("/api/tasks/{id}", h::task)
        .add(Method::POST, "/api/imports/preview", routing::post(imports::preview).layer(upload()))
        .add(Method::POST, "/api/imports", routing::post(imports::create).layer(upload()))
        .get("/api/templates/{file}", imports::template);
    (open, guarded)
}

/// Every route as (METHOD, path template), e.g. `("GET", "/api/migrations/{id}")`.
pub fn route_table() -> Vec<(String, String)> {
    let (open, guarded) = routes();
    open.table.into_iter().chain(guarded.table).map(|(m, p)| (m.to_string(), p.to_string())).collect()
}

/// The whole application: the API and the console's pages.
pub fn app(state: ApiState) -> Router {
    let (open, guarded) = routes();
    let guarded = guarded
        .router
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require));
    open.router.merge(web::router()).merge(guarded).with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then lets requests in flight finish.
/// Each request knows its peer's address ([`auth::Peer`]), which wrong tokens are counted by.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// As [`serve`], over HTTPS with `tls` ([`TlsFiles::server_config`]). A connection that does not
/// finish its TLS handshake within 10 s is closed (a plain-HTTP request among them); each is
/// logged at debug level with its peer.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let handle = axum_server::Handle::new();
    let stop = {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            // No deadline, as `axum::serve`: idle connections close now, requests in flight finish.
            handle.graceful_shutdown(None);
        })
    };
    let served = axum_server::from_tcp_rustls(listener.into_std()?, RustlsConfig::from_config(tls))?
        .handle(handle)
        .http1_only()
        .accept_error_handler(|peer, e| tracing::debug!(?peer, error = %e, "HTTPS connection not accepted"))
        .serve(app)
        .await;
    stop.abort();
    served
}
