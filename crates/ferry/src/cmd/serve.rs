//! `ferry serve`: the NameServer front clients point at, one relay per broker, the migration
//! engine and the HTTP API, until SIGINT or SIGTERM. Settings come from `--config ferry.toml`
//! (see `docs/ferry.example.toml`), overridden by flags.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use ferry_console::auth::TokenSource;
use ferry_console::{api_token, ApiState, Auth, Overrides, ServeConfig};
use ferry_control::fleet::FleetSettings;
use ferry_control::migration::{Engine, EngineSettings};
use ferry_control::store::{StoreKey, StoreLocation, STORE_KEY_DOC, STORE_KEY_ENV};
use ferry_control::Store;
use ferry_proxy::Proxy;

use crate::cmd::tasks::StoreArgs;
use crate::exit::Usage;

#[derive(Args)]
pub struct ServeArgs {
    /// The configuration file (TOML); without it, the defaults and these flags.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the NameServer front listens, host:port [default: 0.0.0.0:9876].
    #[arg(long, value_name = "ADDR")]
    namesrv_listen: Option<String>,
    /// Where the HTTP API listens, host:port [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    api_listen: Option<String>,
    /// Relay ports, FIRST-LAST; each broker takes a pair (p-2 and p) [default: 30000-30999].
    #[arg(long, value_name = "RANGE")]
    relay_ports: Option<String>,
    /// The host clients reach Ferry at [default: the relay bind address, or this machine's address].
    #[arg(long, value_name = "HOST")]
    advertised_host: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
    /// More logging: -v debug, -vv trace (FERRY_LOG or RUST_LOG, if set, decide instead).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

impl ServeArgs {
    /// The log filter when neither FERRY_LOG nor RUST_LOG is set: a server says what it does.
    pub fn log_filter(&self) -> &'static str {
        match self.verbose {
            0 => "info,sqlx=warn",
            1 => "debug,sqlx=info,hyper=info",
            _ => "trace",
        }
    }
}

fn is_wildcard(host: &str) -> bool {
    host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// This machine's address on its default route (no packet is sent), if it has one.
fn outbound_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// The host clients are told: configured, else the relays' own address, else this machine's.
fn advertised_host(config: &ServeConfig) -> String {
    if let Some(h) = &config.advertised_host {
        return h.clone();
    }
    if !is_wildcard(&config.relay_bind) {
        return config.relay_bind.clone();
    }
    match outbound_address() {
        Some(ip) => ip.to_string(),
        None => {
            tracing::warn!("no address found for this machine; relays are advertised as 127.0.0.1 (set [proxy] advertised_host)");
            "127.0.0.1".into()
        }
    }
}

/// Whether the API is reachable from other machines over plain HTTP: it listens beyond loopback,
/// serves no HTTPS itself and no HTTPS proxy is said to be in front of it.
fn plain_http_beyond_loopback(api: SocketAddr, config: &ServeConfig) -> bool {
    !api.ip().is_loopback() && config.api_tls.is_none() && !config.behind_https_proxy
}

/// The NameServer address clients must use: the front's port at the advertised host when the
/// front listens on every interface.
fn client_namesrv(listening: SocketAddr, advertised: &str) -> String {
    if listening.ip().is_unspecified() {
        match advertised.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]:{}", listening.port()),
            _ => format!("{advertised}:{}", listening.port()),
        }
    } else {
        listening.to_string()
    }
}

/// Said at every start without a store key (secrets given later through the API are kept in plain
/// text too, so not only when the store holds some now).
fn plain_secrets_warning(store: &StoreLocation, plain_now: usize) -> String {
    let protected = match store {
        StoreLocation::File(_) => "the file's mode (0600)",
        StoreLocation::Postgres(_) => "the database's access rights",
    };
    format!(
        "no store key is given: the cluster secret keys of migrations are kept in plain text in {store} \
         ({plain_now} there now), protected only by {protected}. Set {STORE_KEY_ENV} or [store] key_file to \
         32 random bytes in base64 to keep them encrypted ({STORE_KEY_DOC})"
    )
}

/// SIGINT and SIGTERM, listened for from the moment this is made (before Ferry says it is up, so
/// that a signal sent right after never meets the default action).
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    #[cfg(unix)]
    fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {})
    }

    #[cfg(unix)]
    async fn wait(mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let mut config = match &args.config {
        Some(path) => ServeConfig::load(path).map_err(|e| Usage(e.to_string()))?,
        None => ServeConfig::default(),
    };
    config
        .apply(Overrides {
            namesrv_listen: args.namesrv_listen.clone(),
            api_listen: args.api_listen.clone(),
            relay_ports: args.relay_ports.clone(),
            advertised_host: args.advertised_host.clone(),
        })
        .map_err(|e| Usage(e.to_string()))?;
    // A certificate or key that cannot be served with stops the start before anything opens.
    let tls = match &config.api_tls {
        Some(files) => Some(files.server_config().map_err(|e| Usage(e.to_string()))?),
        None => None,
    };
    // --store (or FERRY_STORE) first, then the file, then the default.
    let store_location = args.store.location_or(config.store.as_ref())?;

    let store = Store::open_location(&store_location).await?;
    // FERRY_STORE_KEY first, then [store] key_file; a bad one stops the start (exit 2).
    let store = match StoreKey::resolve(config.store_key_file.as_deref()).map_err(|e| Usage(e.to_string()))? {
        Some((key, from)) => {
            let store = store.with_secret_key(key).await?;
            tracing::info!(key = %from, "secret keys in the store are encrypted at rest");
            store
        }
        None => {
            let warning = plain_secrets_warning(&store_location, store.plain_secrets().await?);
            tracing::warn!(store = %store_location, "{warning}");
            eprintln!("warning: {warning}");
            store
        }
    };
    let token = api_token(&store, config.api_token.as_deref()).await?;
    if token.source == TokenSource::Generated {
        eprintln!("API token: {} (saved in the store; set [api] token to choose your own)", token.value);
    }

    let advertised = advertised_host(&config);
    let assignments = store.relay_assignments().await?;
    let proxy = Arc::new(
        Proxy::start(config.proxy_config(&advertised), &assignments).await.context("starting the proxy")?,
    );
    let listener = tokio::net::TcpListener::bind(&config.api_listen)
        .await
        .with_context(|| format!("the API cannot listen on {}", config.api_listen))?;
    let api_addr = listener.local_addr()?;
    if plain_http_beyond_loopback(api_addr, &config) {
        let warning = format!(
            "the API and console listen on {api_addr}, beyond loopback, over plain HTTP: the API token and \
             session cookies cross the network readable by anyone on the way. Listen on 127.0.0.1 (an SSH \
             tunnel reaches it), serve HTTPS with [api] tls_cert and tls_key, or put an HTTPS proxy in \
             front and set [api] behind_https_proxy = true"
        );
        tracing::warn!(api = %api_addr, "{warning}");
        eprintln!("warning: {warning}");
    }
    let front = proxy.namesrv_addr();
    let for_clients = client_namesrv(front, &advertised);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let fleet = FleetSettings {
        instance: config.fleet_instance.clone().unwrap_or_else(|| for_clients.clone()),
        namesrv: for_clients.clone(),
        // Where an operator reaches it: the advertised host when the API listens everywhere.
        api: format!("{scheme}://{}", client_namesrv(api_addr, &advertised)),
        down_after: config.down_after,
    };
    let instance = fleet.instance.clone();
    let settings = EngineSettings { fleet: Some(fleet), ..config.engine_settings() };
    let engine = Engine::start(store.clone(), proxy.clone(), settings)
        .await
        .context("starting the migration engine")?;
    let ticker = engine.spawn_ticker();

    let signals = StopSignals::install().context("listening for SIGINT and SIGTERM")?;
    let (first, last) = config.relay_ports;
    println!("Ferry is serving.");
    println!("  NameServer for clients: {for_clients}  (listening on {front})");
    println!("  console: {scheme}://{api_addr}/  (log in with the API token)");
    println!(
        "  API: {scheme}://{api_addr}  (Authorization: Bearer <token>; documented at /api/openapi.yaml)"
    );
    println!(
        "  relays: {} ports {first}-{last}, advertised as {advertised} (room for {} brokers)",
        config.relay_bind,
        config.relay_capacity()
    );
    println!("  store: {store_location}  (instance {instance} in the fleet sharing it)");
    tracing::info!(
        namesrv = %for_clients, api = %api_addr, https = tls.is_some(), relays_restored = assignments.len(),
        "ferry serve started"
    );
    if let Some(files) = &config.api_tls {
        tracing::info!(cert = %files.cert.display(), key = %files.key.display(), "the API and console serve HTTPS");
    }

    let shutdown = {
        let store = store.clone();
        let proxy = proxy.clone();
        async move {
            let signal = signals.wait().await;
            tracing::info!(%signal, "stopping: relay ports saved, then requests in flight finish");
            // Clients hold relay addresses in their cached routes: the next start reopens them.
            if let Err(e) = store.save_relay_assignments(&proxy.relay_assignments()).await {
                tracing::error!(error = %e, "relay ports not saved");
            }
        }
    };
    let auth = Auth::bearer(token.value).served_over_tls(tls.is_some() || config.behind_https_proxy);
    let state = ApiState::new(engine.clone(), auth).with_client_namesrv(for_clients);
    let served = match tls {
        Some(tls) => ferry_console::serve_tls(listener, tls, state, shutdown).await,
        None => ferry_console::serve(listener, state, shutdown).await,
    };
    ticker.abort();
    proxy.stop();
    drop(engine);
    store.close().await;
    served.context("serving the API")?;
    eprintln!("ferry serve: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_console::TlsFiles;

    #[test]
    fn clients_are_given_the_advertised_host_when_the_front_listens_everywhere() {
        let any: SocketAddr = "0.0.0.0:9876".parse().unwrap();
        assert_eq!(client_namesrv(any, "10.0.0.5"), "10.0.0.5:9876");
        assert_eq!(client_namesrv(any, "ferry.example.com"), "ferry.example.com:9876");
        assert_eq!(client_namesrv(any, "fd00::5"), "[fd00::5]:9876");
        let one: SocketAddr = "10.0.0.7:9876".parse().unwrap();
        assert_eq!(client_namesrv(one, "10.0.0.5"), "10.0.0.7:9876");
    }

    #[test]
    fn plain_http_beyond_loopback_is_warned_about() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        let plain = ServeConfig::default();
        assert!(!plain_http_beyond_loopback(at("127.0.0.1:8080"), &plain));
        assert!(!plain_http_beyond_loopback(at("[::1]:8080"), &plain));
        assert!(plain_http_beyond_loopback(at("0.0.0.0:8080"), &plain));
        assert!(plain_http_beyond_loopback(at("[::]:8080"), &plain));
        assert!(plain_http_beyond_loopback(at("10.0.0.5:8080"), &plain));
        let proxied = ServeConfig { behind_https_proxy: true, ..ServeConfig::default() };
        assert!(!plain_http_beyond_loopback(at("10.0.0.5:8080"), &proxied), "an HTTPS proxy in front");
        let tls = TlsFiles { cert: "cert.pem".into(), key: "key.pem".into() };
        let https = ServeConfig { api_tls: Some(tls), ..ServeConfig::default() };
        assert!(!plain_http_beyond_loopback(at("0.0.0.0:8443"), &https), "Ferry serves HTTPS itself");
    }

    #[test]
    fn the_plain_secrets_warning_says_what_to_set_and_where_to_read() {
        let w = plain_secrets_warning(&StoreLocation::File("/var/lib/ferry/ferry.db".into()), 2);
        assert!(w.contains("plain text in /var/lib/ferry/ferry.db (2 there now)"), "{w}");
        assert!(w.contains("Set FERRY_STORE_KEY or [store] key_file"), "{w}");
        assert!(w.contains("docs/seamless.md"), "{w}");
    }

    #[test]
    fn relays_are_advertised_at_their_bind_address_unless_told_otherwise() {
        let mut c = ServeConfig { relay_bind: "10.0.0.4".into(), ..ServeConfig::default() };
        assert_eq!(advertised_host(&c), "10.0.0.4");
        c.advertised_host = Some("ferry.example.com".into());
        assert_eq!(advertised_host(&c), "ferry.example.com");
        assert!(
            is_wildcard("0.0.0.0") && is_wildcard("::") && is_wildcard("[::]") && !is_wildcard("10.0.0.4")
        );
    }
}
