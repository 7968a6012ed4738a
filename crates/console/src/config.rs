//! `ferry.toml`: what `ferry serve` runs. Every key is optional; errors name the file, the line,
//! the key and the problem. Flags given to `ferry serve` override the file ([`Overrides`]).
//!
//! ```toml
//! [proxy]
//! namesrv_listen = "0.0.0.0:9876"   # the NameServer front clients point at
//! relay_bind = "0.0.0.0"            # where relays listen
//! advertised_host = "10.0.0.5"      # the host clients are told to reach relays (and the front) at
//! relay_ports = "30000-30999"       # relay port pairs p-2 and p, one pair per broker
//!
//! [proxy.limits]                    # what peers of the front and the relays can hold of Ferry
//! relay_connections = 8192          # and relay_connections_per_ip, front_connections(_per_ip),
//! frame_timeout_secs = 30           # partial_frame_budget_bytes, client_queue_bytes,
//! idle_timeout_secs = 150           # a relayed client silent this long is let go
//! max_frame_bytes = 16777216        # (see ProxyLimits)
//!
//! [api]
//! listen = "127.0.0.1:8080"
//! token = "..."                     # else kept in the store, generated on first start
//! tls_cert = "cert.pem"             # with tls_key: HTTPS (rustls); both or neither
//! tls_key = "key.pem"
//! behind_https_proxy = false        # true: reached only through an HTTPS proxy (Secure cookie)
//!
//! [store]
//! path = "/var/lib/ferry/ferry.db"  # relative paths are relative to this file
//! # url = "postgresql://ferry@db.internal:5432/ferry"   # instead of path: PostgreSQL (or sqlite://PATH)
//! key_file = "/etc/ferry/store.key" # encrypts secrets in the store; FERRY_STORE_KEY wins over it
//!
//! [engine]
//! route_window_secs = 90
//! tick_secs = 10
//!
//! [fleet]                           # several instances sharing one PostgreSQL store
//! instance = "ferry-1"              # unique in the fleet; default: the NameServer address for clients
//! down_after_secs = 30              # an instance not heard this long is down
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_control::migration::EngineSettings;
use ferry_control::store::StoreLocation;
use ferry_proxy::limits::{
    DEFAULT_CLIENT_QUEUE_BYTES, DEFAULT_FRAME_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_PARTIAL_FRAME_BUDGET,
};
use ferry_proxy::{ConnectionCaps, ProxyConfig};
use ferry_remoting::frame::DEFAULT_MAX_FRAME;
use serde::Deserialize;
use toml::Spanned;

use crate::tls::TlsFiles;

pub const DEFAULT_NAMESRV_LISTEN: &str = "0.0.0.0:9876";
pub const DEFAULT_RELAY_BIND: &str = "0.0.0.0";
pub const DEFAULT_RELAY_PORTS: (u16, u16) = (30000, 30999);
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8080";
/// `[fleet] down_after_secs`: an instance beats several times within it.
pub const DEFAULT_DOWN_AFTER: Duration = Duration::from_secs(30);
/// Shorter tokens are too easy to guess.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Where a bad value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A configuration file, at a line (1-based) when known.
    File { path: PathBuf, line: Option<usize> },
    /// A command-line flag.
    Flag(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {} not found", .0.display())]
    Missing(PathBuf),
    #[error("cannot read configuration file {}: {error}", path.display())]
    Unreadable { path: PathBuf, error: String },
    /// A key (`proxy.relay_ports`), or the file as a whole (empty key), and its problem.
    #[error("{}", describe(origin, key, problem))]
    Invalid { origin: Origin, key: String, problem: String },
}

fn describe(origin: &Origin, key: &str, problem: &str) -> String {
    match origin {
        Origin::File { path, line } => {
            let at = match line {
                Some(l) => format!("{}:{l}", path.display()),
                None => path.display().to_string(),
            };
            if key.is_empty() {
                format!("{at}: {problem}")
            } else {
                format!("{at}: {key}: {problem}")
            }
        }
        Origin::Flag(flag) => format!("{flag}: {problem}"),
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    proxy: ProxySection,
    #[serde(default)]
    api: ApiSection,
    #[serde(default)]
    store: StoreSection,
    #[serde(default)]
    engine: EngineSection,
    #[serde(default)]
    fleet: FleetSection,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProxySection {
    namesrv_listen: Option<Spanned<String>>,
    relay_bind: Option<Spanned<String>>,
    advertised_host: Option<Spanned<String>>,
    relay_ports: Option<Spanned<String>>,
    /// `[proxy.limits]`: under `[proxy]` since they bound the front's and the relays' peers, not
    /// the HTTP API's.
    #[serde(default)]
    limits: LimitsSection,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    relay_connections: Option<Spanned<i64>>,
    relay_connections_per_ip: Option<Spanned<i64>>,
    front_connections: Option<Spanned<i64>>,
    front_connections_per_ip: Option<Spanned<i64>>,
    frame_timeout_secs: Option<Spanned<i64>>,
    idle_timeout_secs: Option<Spanned<i64>>,
    partial_frame_budget_bytes: Option<Spanned<i64>>,
    client_queue_bytes: Option<Spanned<i64>>,
    max_frame_bytes: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSection {
    listen: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    behind_https_proxy: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    key_file: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineSection {
    route_window_secs: Option<Spanned<i64>>,
    tick_secs: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetSection {
    instance: Option<Spanned<String>>,
    down_after_secs: Option<Spanned<i64>>,
}

/// What peers of the NameServer front and the relays can hold of Ferry (`[proxy.limits]`); the
/// defaults are the proxy's own (see `ferry_proxy::limits`). Connection caps are lowered at start
/// to fit the open-file limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyLimits {
    /// Relayed client connections, all relays together and from one IP address.
    pub relay_connections: ConnectionCaps,
    /// Connections to the NameServer front, in all and from one IP address.
    pub front_connections: ConnectionCaps,
    /// A frame a peer started must be finished within this.
    pub frame_timeout: Duration,
    /// A relayed client connection that sent nothing for this long, awaiting no answer, is closed.
    pub idle_timeout: Duration,
    /// Bytes of unfinished frames over 64 KiB held at most, all connections together.
    pub partial_frame_budget: usize,
    /// Bytes queued toward one slow client at most.
    pub client_queue_bytes: usize,
    /// The largest frame taken from a client or a broker.
    pub max_frame: usize,
}

impl Default for ProxyLimits {
    fn default() -> Self {
        ProxyLimits {
            relay_connections: ConnectionCaps::RELAYS,
            front_connections: ConnectionCaps::FRONT,
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            partial_frame_budget: DEFAULT_PARTIAL_FRAME_BUDGET,
            client_queue_bytes: DEFAULT_CLIENT_QUEUE_BYTES,
            max_frame: DEFAULT_MAX_FRAME,
        }
    }
}

/// Bounds of `[proxy.limits]` (inclusive). Far past what a host can hold, but catching a unit
/// mistake (a size in MiB where bytes are meant, a timeout in milliseconds).
const MAX_CONNECTIONS: u64 = 1 << 20;
const FRAME_TIMEOUT_SECS: (u64, u64) = (1, 3600);
/// Below the clients' 30 s heartbeat a client still using a relay would be cut off between two.
const IDLE_TIMEOUT_SECS: (u64, u64) = (5, 86_400);
/// At least what a frame up to 64 KiB reads outside the budget; at most 64 GiB.
const PARTIAL_FRAME_BUDGET: (u64, u64) = (64 * 1024, 64 << 30);
const CLIENT_QUEUE_BYTES: (u64, u64) = (4 * 1024, 1 << 30);
/// Below 1 MiB, ordinary answers (a topic list, a batch of messages) would be refused; a frame's
/// length is a 32-bit word, and RocketMQ's own default is 16 MiB.
const MAX_FRAME_BYTES: (u64, u64) = (1 << 20, 1 << 30);

/// What `ferry serve` runs with.
#[derive(Clone, PartialEq, Eq)]
pub struct ServeConfig {
    pub namesrv_listen: String,
    pub relay_bind: String,
    /// `None`: the relay bind address if it is a specific one, else found at start.
    pub advertised_host: Option<String>,
    pub relay_ports: (u16, u16),
    pub api_listen: String,
    pub api_token: Option<String>,
    /// Serve the API and console over HTTPS with this certificate and key (`[api] tls_cert`,
    /// `tls_key`); `None`: plain HTTP.
    pub api_tls: Option<TlsFiles>,
    /// The API and console are reached only through a proxy that terminates HTTPS: the session
    /// cookie is marked `Secure`, and listening beyond loopback is not warned about.
    pub behind_https_proxy: bool,
    /// `[store] path` or `url`; `None`: the default store (`--store`, `FERRY_STORE`,
    /// `~/.local/share/ferry/ferry.db`). Shown without its password.
    pub store: Option<StoreLocation>,
    /// A file holding the key (32 bytes in base64) the store's secrets are encrypted with;
    /// `FERRY_STORE_KEY`, when set, wins over it. Neither: secrets are kept in plain text.
    pub store_key_file: Option<PathBuf>,
    pub route_window: Duration,
    pub tick: Duration,
    pub limits: ProxyLimits,
    /// `[fleet] instance`: this instance's name; `None`: the NameServer address clients use.
    pub fleet_instance: Option<String>,
    /// `[fleet] down_after_secs`.
    pub down_after: Duration,
}

impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeConfig")
            .field("namesrv_listen", &self.namesrv_listen)
            .field("relay_bind", &self.relay_bind)
            .field("advertised_host", &self.advertised_host)
            .field("relay_ports", &self.relay_ports)
            .field("api_listen", &self.api_listen)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("api_tls", &self.api_tls)
            .field("behind_https_proxy", &self.behind_https_proxy)
            .field("store", &self.store)
            .field("store_key_file", &self.store_key_file)
            .field("route_window", &self.route_window)
            .field("tick", &self.tick)
            .field("limits", &self.limits)
            .field("fleet_instance", &self.fleet_instance)
            .field("down_after", &self.down_after)
            .finish()
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        let engine = EngineSettings::default();
        ServeConfig {
            namesrv_listen: DEFAULT_NAMESRV_LISTEN.into(),
            relay_bind: DEFAULT_RELAY_BIND.into(),
            advertised_host: None,
            relay_ports: DEFAULT_RELAY_PORTS,
            api_listen: DEFAULT_API_LISTEN.into(),
            api_token: None,
            api_tls: None,
            behind_https_proxy: false,
            store: None,
            store_key_file: None,
            route_window: engine.route_window,
            tick: engine.tick,
            limits: ProxyLimits::default(),
            fleet_instance: None,
            down_after: DEFAULT_DOWN_AFTER,
        }
    }
}

/// Values given on the command line, which win over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub namesrv_listen: Option<String>,
    pub api_listen: Option<String>,
    pub relay_ports: Option<String>,
    pub advertised_host: Option<String>,
}

/// The key at a byte offset, as `section.key` (or the section alone), for toml's own errors,
/// which give a position but not the key.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let section = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find_map(|l| l.strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .map(|s| s.trim().to_string());
    let key =
        line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_string()).filter(|k| !k.is_empty());
    match (section, key) {
        (Some(s), Some(k)) => format!("{s}.{k}"),
        (None, Some(k)) => k,
        (Some(s), None) if !line.trim_start().starts_with('[') => s,
        _ => String::new(),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl ServeConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<ServeConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::Missing(path.to_path_buf()))
            }
            Err(e) => return Err(ConfigError::Unreadable { path: path.to_path_buf(), error: e.to_string() }),
        };
        ServeConfig::parse(path, &text)
    }

    /// Checks the text of a configuration file; `path` names it in errors and anchors relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<ServeConfig, ConfigError> {
        let at = |span: Option<std::ops::Range<usize>>| Origin::File {
            path: path.to_path_buf(),
            line: span.map(|s| line_of(text, s.start)),
        };
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            key: e.span().map(|s| key_at(text, s.start)).unwrap_or_default(),
            origin: at(e.span()),
            problem: e.message().trim().replace('\n', "; "),
        })?;
        let invalid = |key: &str, span: std::ops::Range<usize>, problem: String| ConfigError::Invalid {
            origin: at(Some(span)),
            key: key.to_string(),
            problem,
        };
        let mut c = ServeConfig::default();
        let mut p = file.proxy;
        let proxy_limits = std::mem::take(&mut p.limits);
        if let Some(v) = p.namesrv_listen {
            c.namesrv_listen =
                listen_addr(v.get_ref()).map_err(|e| invalid("proxy.namesrv_listen", v.span(), e))?;
        }
        if let Some(v) = p.relay_bind {
            c.relay_bind = host(v.get_ref()).map_err(|e| invalid("proxy.relay_bind", v.span(), e))?;
        }
        if let Some(v) = p.advertised_host {
            c.advertised_host =
                Some(host(v.get_ref()).map_err(|e| invalid("proxy.advertised_host", v.span(), e))?);
        }
        if let Some(v) = p.relay_ports {
            c.relay_ports = port_range(v.get_ref()).map_err(|e| invalid("proxy.relay_ports", v.span(), e))?;
        }
        if let Some(v) = file.api.listen {
            c.api_listen = listen_addr(v.get_ref()).map_err(|e| invalid("api.listen", v.span(), e))?;
        }
        if let Some(v) = file.api.token {
            let t = v.get_ref().trim();
            if t.chars().count() < MIN_TOKEN_CHARS || t.chars().any(char::is_whitespace) {
                return Err(invalid(
                    "api.token",
                    v.span(),
                    format!("a token needs at least {MIN_TOKEN_CHARS} characters and no spaces"),
                ));
            }
            c.api_token = Some(t.to_string());
        }
        if let Some(v) = file.api.behind_https_proxy {
            c.behind_https_proxy = v;
        }
        let file_path = |key: &str, v: Spanned<String>| -> Result<PathBuf, ConfigError> {
            let raw = v.get_ref().trim();
            if raw.is_empty() {
                return Err(invalid(key, v.span(), "empty path".into()));
            }
            let p = PathBuf::from(raw);
            Ok(if p.is_relative() { path.parent().map(|dir| dir.join(&p)).unwrap_or(p) } else { p })
        };
        let both = "HTTPS needs both api.tls_cert (the certificate) and api.tls_key (its private key)";
        match (file.api.tls_cert, file.api.tls_key) {
            (Some(cert), Some(key)) => {
                let cert = file_path("api.tls_cert", cert)?;
                c.api_tls = Some(TlsFiles { cert, key: file_path("api.tls_key", key)? });
            }
            (Some(cert), None) => {
                return Err(invalid("api.tls_cert", cert.span(), format!("{both}: give api.tls_key too")))
            }
            (None, Some(key)) => {
                return Err(invalid("api.tls_key", key.span(), format!("{both}: give api.tls_cert too")))
            }
            (None, None) => {}
        }
        c.limits = limits(proxy_limits, &invalid)?;
        match (file.store.path, file.store.url) {
            (Some(_), Some(url)) => {
                return Err(invalid(
                    "store.url",
                    url.span(),
                    "give store.path (an SQLite file) or store.url, not both".into(),
                ))
            }
            (Some(v), None) => c.store = Some(StoreLocation::File(file_path("store.path", v)?)),
            (None, Some(v)) => {
                let span = v.span();
                let location = StoreLocation::parse(v.get_ref())
                    .map_err(|e| invalid("store.url", span.clone(), e.to_string()))?;
                // An sqlite:// file is found as store.path is: relative to this file.
                c.store = Some(match location {
                    StoreLocation::File(p) if p.is_relative() => {
                        StoreLocation::File(path.parent().map(|dir| dir.join(&p)).unwrap_or(p))
                    }
                    other => other,
                });
            }
            (None, None) => {}
        }
        if let Some(v) = file.store.key_file {
            c.store_key_file = Some(file_path("store.key_file", v)?);
        }
        let secs = |key: &str, v: Spanned<i64>| -> Result<Duration, ConfigError> {
            match u64::try_from(*v.get_ref()) {
                Ok(n) if n >= 1 => Ok(Duration::from_secs(n)),
                _ => Err(invalid(key, v.span(), format!("{} is not a number of seconds >= 1", v.get_ref()))),
            }
        };
        if let Some(v) = file.engine.route_window_secs {
            c.route_window = secs("engine.route_window_secs", v)?;
        }
        if let Some(v) = file.engine.tick_secs {
            c.tick = secs("engine.tick_secs", v)?;
        }
        if let Some(v) = file.fleet.instance {
            let name = v.get_ref().trim();
            if name.is_empty() || name.len() > 200 || name.chars().any(|ch| ch.is_control() || ch == '/') {
                return Err(invalid(
                    "fleet.instance",
                    v.span(),
                    "a name of 1 to 200 characters without '/' or control characters".to_string(),
                ));
            }
            c.fleet_instance = Some(name.to_string());
        }
        if let Some(v) = file.fleet.down_after_secs {
            c.down_after = secs("fleet.down_after_secs", v)?;
        }
        Ok(c)
    }

    /// Applies command-line flags on top.
    pub fn apply(&mut self, o: Overrides) -> Result<(), ConfigError> {
        let flag = |name: &'static str, problem: String| ConfigError::Invalid {
            origin: Origin::Flag(name),
            key: String::new(),
            problem,
        };
        if let Some(v) = o.namesrv_listen {
            self.namesrv_listen = listen_addr(&v).map_err(|e| flag("--namesrv-listen", e))?;
        }
        if let Some(v) = o.api_listen {
            self.api_listen = listen_addr(&v).map_err(|e| flag("--api-listen", e))?;
        }
        if let Some(v) = o.relay_ports {
            self.relay_ports = port_range(&v).map_err(|e| flag("--relay-ports", e))?;
        }
        if let Some(v) = o.advertised_host {
            self.advertised_host = Some(host(&v).map_err(|e| flag("--advertised-host", e))?);
        }
        Ok(())
    }

    /// How many brokers the relay range can serve (one port pair each).
    pub fn relay_capacity(&self) -> usize {
        let (first, last) = self.relay_ports;
        usize::from((last - first - 2) / 4) + 1
    }

    /// The proxy's settings, with relays advertised at `advertised_host`.
    pub fn proxy_config(&self, advertised_host: &str) -> ProxyConfig {
        let mut c = ProxyConfig::loopback(0, self.relay_ports.0, self.relay_ports.1);
        c.namesrv_listen = self.namesrv_listen.clone();
        c.relays.bind_host = self.relay_bind.clone();
        c.relays.advertised_host = advertised_host.to_string();
        let l = self.limits;
        c.front_connections = l.front_connections;
        c.relays.connections = l.relay_connections;
        c.relays.frame_timeout = l.frame_timeout;
        c.relays.idle_timeout = l.idle_timeout;
        c.relays.partial_frame_budget = l.partial_frame_budget;
        c.relays.client_queue_bytes = l.client_queue_bytes;
        c.relays.max_frame = l.max_frame;
        c
    }

    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings { route_window: self.route_window, tick: self.tick, ..EngineSettings::default() }
    }
}

/// `[proxy.limits]`, each value in its bounds and each cap per address within its total.
fn limits(
    s: LimitsSection,
    invalid: &dyn Fn(&str, std::ops::Range<usize>, String) -> ConfigError,
) -> Result<ProxyLimits, ConfigError> {
    let mut l = ProxyLimits::default();
    let within =
        |name: &str, v: &Spanned<i64>, (min, max): (u64, u64), unit: &str| -> Result<u64, ConfigError> {
            match u64::try_from(*v.get_ref()) {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(invalid(
                    &format!("proxy.limits.{name}"),
                    v.span(),
                    format!("{} is out of range: {min} to {max}{unit}", v.get_ref()),
                )),
            }
        };
    // Bounds are far below usize::MAX on 64-bit hosts; a 32-bit host saturates.
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let caps = |total: &Option<Spanned<i64>>,
                per_ip: &Option<Spanned<i64>>,
                names: (&str, &str),
                mut caps: ConnectionCaps|
     -> Result<ConnectionCaps, ConfigError> {
        if let Some(v) = total {
            caps.max = size(within(names.0, v, (1, MAX_CONNECTIONS), " connections")?);
        }
        if let Some(v) = per_ip {
            caps.per_ip = size(within(names.1, v, (1, MAX_CONNECTIONS), " connections")?);
            if caps.per_ip > caps.max {
                return Err(invalid(
                    &format!("proxy.limits.{}", names.1),
                    v.span(),
                    format!(
                        "{} is more than {} ({}): at most that many from one address",
                        caps.per_ip, names.0, caps.max
                    ),
                ));
            }
        }
        Ok(caps)
    };
    l.relay_connections = caps(
        &s.relay_connections,
        &s.relay_connections_per_ip,
        ("relay_connections", "relay_connections_per_ip"),
        l.relay_connections,
    )?;
    l.front_connections = caps(
        &s.front_connections,
        &s.front_connections_per_ip,
        ("front_connections", "front_connections_per_ip"),
        l.front_connections,
    )?;
    if let Some(v) = &s.frame_timeout_secs {
        l.frame_timeout =
            Duration::from_secs(within("frame_timeout_secs", v, FRAME_TIMEOUT_SECS, " seconds")?);
    }
    if let Some(v) = &s.idle_timeout_secs {
        l.idle_timeout = Duration::from_secs(within("idle_timeout_secs", v, IDLE_TIMEOUT_SECS, " seconds")?);
    }
    if let Some(v) = &s.partial_frame_budget_bytes {
        l.partial_frame_budget =
            size(within("partial_frame_budget_bytes", v, PARTIAL_FRAME_BUDGET, " bytes")?);
    }
    if let Some(v) = &s.client_queue_bytes {
        l.client_queue_bytes = size(within("client_queue_bytes", v, CLIENT_QUEUE_BYTES, " bytes")?);
    }
    if let Some(v) = &s.max_frame_bytes {
        l.max_frame = size(within("max_frame_bytes", v, MAX_FRAME_BYTES, " bytes")?);
    }
    Ok(l)
}

/// `host:port` (IPv6 as `[::1]:port`).
fn listen_addr(v: &str) -> Result<String, String> {
    let v = v.trim();
    let bad = || format!("{v:?} is not host:port (for example 0.0.0.0:9876)");
    let (h, port) = v.rsplit_once(':').ok_or_else(bad)?;
    if h.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// A host name or address, without a port.
fn host(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Err("empty host".into());
    }
    if v.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!("{v:?} is not a host name or address"));
    }
    let bracketed = v.starts_with('[') && v.ends_with(']');
    if !bracketed && v.matches(':').count() == 1 {
        return Err(format!("{v:?}: give the host without a port"));
    }
    Ok(v.to_string())
}

/// `first-last`, inclusive, room for at least one pair (`p - 2`, `p`).
fn port_range(v: &str) -> Result<(u16, u16), String> {
    let v = v.trim();
    let bad = || format!("{v:?} is not a port range like 30000-30999");
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let first: u16 = a.trim().parse().map_err(|_| bad())?;
    let last: u16 = b.trim().parse().map_err(|_| bad())?;
    if first == 0 {
        return Err(format!("{v:?}: port 0 is not a port"));
    }
    if last < first {
        return Err(format!("{v:?}: the range ends before it starts"));
    }
    if last - first < 2 {
        return Err(format!(
            "{v:?} holds no port pair: each broker's relay needs two ports, p-2 and p (old clients send \
             to port - 2), so the range must span at least 3 ports; give one port pair per broker of both \
             clusters, e.g. 30000-30999"
        ));
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServeConfig, ConfigError> {
        ServeConfig::parse(Path::new("/etc/ferry/ferry.toml"), text)
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn the_store_is_a_path_or_a_url_and_its_password_never_shows() {
        let c = parse("[store]\nurl = \"postgresql://ferry:hunter2@db:5432/ferry\"\n").unwrap();
        assert_eq!(c.store, Some(StoreLocation::Postgres("postgresql://ferry:hunter2@db:5432/ferry".into())));
        assert!(!format!("{c:?}").contains("hunter2"), "{c:?}");
        let c = parse("[store]\nurl = \"sqlite://data/ferry.db\"\n").unwrap();
        assert_eq!(
            c.store,
            Some(StoreLocation::File("/etc/ferry/data/ferry.db".into())),
            "relative to the file"
        );
        let e = err("[store]\npath = \"f.db\"\nurl = \"postgresql://u@h/db\"\n");
        assert!(e.contains(":3: store.url: give store.path (an SQLite file) or store.url, not both"), "{e}");
        let e = err("[store]\nurl = \"mysql://root:hunter2@h/db\"\n");
        assert!(e.contains("store.url: store mysql://root:***@h/db: unknown kind of store URL"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn every_key_is_read() {
        let c = parse(
            r#"
            [proxy]
            namesrv_listen = "0.0.0.0:19876"
            relay_bind = "10.0.0.5"
            advertised_host = "ferry.example.com"
            relay_ports = "31000-31099"
            [proxy.limits]
            relay_connections = 100
            relay_connections_per_ip = 10
            front_connections = 50
            front_connections_per_ip = 5
            frame_timeout_secs = 7
            idle_timeout_secs = 45
            partial_frame_budget_bytes = 1_048_576
            client_queue_bytes = 65536
            max_frame_bytes = 4_194_304
            [api]
            listen = "127.0.0.1:18080"
            token = "0123456789abcdef0123"
            tls_cert = "tls/cert.pem"
            tls_key = "/secure/key.pem"
            behind_https_proxy = true
            [store]
            path = "data/ferry.db"
            key_file = "store.key"
            [engine]
            route_window_secs = 60
            tick_secs = 5
            [fleet]
            instance = "ferry-2"
            down_after_secs = 12
            "#,
        )
        .unwrap();
        assert_eq!(c.fleet_instance.as_deref(), Some("ferry-2"));
        assert_eq!(c.down_after, Duration::from_secs(12));
        assert_eq!(c.namesrv_listen, "0.0.0.0:19876");
        assert_eq!(c.relay_bind, "10.0.0.5");
        assert_eq!(c.advertised_host.as_deref(), Some("ferry.example.com"));
        assert_eq!(c.relay_ports, (31000, 31099));
        assert_eq!(c.relay_capacity(), 25);
        assert_eq!(c.api_listen, "127.0.0.1:18080");
        assert_eq!(c.api_token.as_deref(), Some("0123456789abcdef0123"));
        assert!(c.behind_https_proxy);
        let tls = c.api_tls.as_ref().unwrap();
        assert_eq!(tls.cert, Path::new("/etc/ferry/tls/cert.pem"), "relative to the file");
        assert_eq!(tls.key, Path::new("/secure/key.pem"));
        assert_eq!(
            c.limits,
            ProxyLimits {
                relay_connections: ConnectionCaps { max: 100, per_ip: 10 },
                front_connections: ConnectionCaps { max: 50, per_ip: 5 },
                frame_timeout: Duration::from_secs(7),
                idle_timeout: Duration::from_secs(45),
                partial_frame_budget: 1 << 20,
                client_queue_bytes: 64 * 1024,
                max_frame: 4 << 20,
            }
        );
        assert_eq!(c.store, Some(StoreLocation::File("/etc/ferry/data/ferry.db".into())));
        assert_eq!(c.store_key_file.as_deref(), Some(Path::new("/etc/ferry/store.key")));
        assert_eq!((c.route_window, c.tick), (Duration::from_secs(60), Duration::from_secs(5)));
        assert!(!format!("{c:?}").contains("0123456789abcdef0123"), "the token is not in Debug");
    }

    #[test]
    fn an_empty_file_means_the_defaults() {
        assert_eq!(parse("").unwrap(), ServeConfig::default());
    }

    #[test]
    fn errors_name_the_file_line_key_and_problem() {
        let e = err("[proxy]\nnamesrv_listen = \"0.0.0.0:9876\"\nrelay_ports = \"30000-30001\"\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:3: proxy.relay_ports: "), "{e}");
        assert!(e.contains("p-2 and p"), "{e}");

        let e = err("[proxy]\nrelay_ports = \"30999-30000\"\n");
        assert!(e.contains(":2: proxy.relay_ports:") && e.contains("ends before it starts"), "{e}");

        let e = err("[proxy]\nrelay_ports = \"many\"\n");
        assert!(e.contains("not a port range"), "{e}");

        let e = err("[api]\nlisten = \"8080\"\n");
        assert!(e.contains(":2: api.listen:"), "{e}");

        let e = err("[api]\ntoken = \"short\"\n");
        assert!(e.contains(":2: api.token:") && !e.contains("short"), "the token is not repeated: {e}");

        let e = err("[store]\nkey_file = \" \"\n");
        assert!(e.contains(":2: store.key_file: empty path"), "{e}");

        let e = err("\n[engine]\ntick_secs = 0\n");
        assert!(e.contains(":3: engine.tick_secs:"), "{e}");

        // HTTPS takes both files or neither, each error placed at the one given.
        let e = err("[api]\ntls_cert = \"cert.pem\"\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:2: api.tls_cert: HTTPS needs both"), "{e}");
        assert!(e.ends_with("give api.tls_key too"), "{e}");
        let e = err("[api]\nlisten = \"127.0.0.1:8443\"\ntls_key = \"key.pem\"\n");
        assert!(
            e.starts_with("/etc/ferry/ferry.toml:3: api.tls_key: ") && e.ends_with("give api.tls_cert too"),
            "{e}"
        );
        let e = err("[api]\ntls_cert = \"\"\ntls_key = \"key.pem\"\n");
        assert!(e.contains(":2: api.tls_cert: empty path"), "{e}");

        // Unknown keys and wrong types are toml's own errors, with the line.
        let e = err("[proxy]\nrelay_port = \"30000-30999\"\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:2: proxy.relay_port: unknown field"), "{e}");
        let e = err("[fleet]\ninstance = \"a/b\"\n");
        assert!(e.contains(":2: fleet.instance: a name of 1 to 200 characters"), "{e}");
        let e = err("[fleet]\ndown_after_secs = 0\n");
        assert!(e.contains(":2: fleet.down_after_secs: 0 is not a number of seconds"), "{e}");
        let e = err("[engine]\n\ntick_secs = \"10\"\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:3: engine.tick_secs: invalid type"), "{e}");
        let e = err("[api]\nlisten = 8080\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:2: api.listen: invalid type"), "{e}");
        let e = err("[proxi]\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:1: unknown field `proxi`"), "{e}");
        let e = err("[proxy\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:1: "), "{e}");
    }

    #[test]
    fn bad_limits_are_refused_naming_the_key_and_the_range() {
        let limit =
            |line: &str| err(&format!("[proxy]\nrelay_bind = \"0.0.0.0\"\n\n[proxy.limits]\n{line}\n"));
        for (line, key, problem) in [
            ("relay_connections = 0", "relay_connections", "0 is out of range: 1 to 1048576 connections"),
            ("front_connections_per_ip = -3", "front_connections_per_ip", "-3 is out of range"),
            ("frame_timeout_secs = 0", "frame_timeout_secs", "0 is out of range: 1 to 3600 seconds"),
            ("frame_timeout_secs = 30000", "frame_timeout_secs", "30000 is out of range"),
            ("idle_timeout_secs = 2", "idle_timeout_secs", "2 is out of range: 5 to 86400 seconds"),
            (
                "partial_frame_budget_bytes = 1024",
                "partial_frame_budget_bytes",
                "1024 is out of range: 65536 to ",
            ),
            ("client_queue_bytes = 0", "client_queue_bytes", "0 is out of range: 4096 to 1073741824 bytes"),
            ("max_frame_bytes = 16", "max_frame_bytes", "16 is out of range: 1048576 to 1073741824 bytes"),
            ("max_frame_bytes = 4294967296", "max_frame_bytes", "is out of range"),
            (
                "relay_connections_per_ip = 9000",
                "relay_connections_per_ip",
                "9000 is more than relay_connections (8192)",
            ),
        ] {
            let e = limit(line);
            assert!(e.starts_with(&format!("/etc/ferry/ferry.toml:5: proxy.limits.{key}: ")), "{line}: {e}");
            assert!(e.contains(problem), "{line}: {e}");
        }
        // A cap per address is checked against the total given beside it.
        let e = err("[proxy.limits]\nfront_connections = 10\nfront_connections_per_ip = 11\n");
        assert!(
            e.contains(":3: proxy.limits.front_connections_per_ip: 11 is more than front_connections (10)"),
            "{e}"
        );
        let ok = parse("[proxy.limits]\nfront_connections = 10\nfront_connections_per_ip = 10\n").unwrap();
        assert_eq!(ok.limits.front_connections, ConnectionCaps { max: 10, per_ip: 10 });
        // Unknown keys and wrong types, with the line and the whole key.
        let e = err("[proxy.limits]\nframe_timeout = 30\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:2: proxy.limits.frame_timeout: unknown field"), "{e}");
        let e = err("[proxy.limits]\nmax_frame_bytes = \"16MiB\"\n");
        assert!(e.starts_with("/etc/ferry/ferry.toml:2: proxy.limits.max_frame_bytes: invalid type"), "{e}");
    }

    #[test]
    fn the_documented_example_is_valid() {
        let example = include_str!("../../../docs/ferry.example.toml");
        let c = ServeConfig::parse(Path::new("docs/ferry.example.toml"), example).unwrap();
        assert_eq!(c.advertised_host.as_deref(), Some("10.0.0.5"));
        assert_eq!(c.relay_capacity(), 250);
        assert_eq!(
            ServeConfig { advertised_host: None, ..c },
            ServeConfig::default(),
            "the rest is the defaults"
        );
    }

    #[test]
    fn a_missing_file_says_so() {
        let e = ServeConfig::load(Path::new("/nonexistent/ferry.toml")).unwrap_err();
        assert_eq!(e, ConfigError::Missing("/nonexistent/ferry.toml".into()));
        assert_eq!(e.to_string(), "configuration file /nonexistent/ferry.toml not found");
    }

    #[test]
    fn flags_win_and_are_named_in_errors() {
        let mut c = parse("[proxy]\nrelay_ports = \"30000-30999\"\n").unwrap();
        c.apply(Overrides {
            relay_ports: Some("40000-40010".into()),
            advertised_host: Some("10.1.1.1".into()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(c.relay_ports, (40000, 40010));
        assert_eq!(c.relay_capacity(), 3);
        assert_eq!(c.advertised_host.as_deref(), Some("10.1.1.1"));
        let e = c.apply(Overrides { relay_ports: Some("40000".into()), ..Overrides::default() }).unwrap_err();
        assert!(e.to_string().starts_with("--relay-ports: "), "{e}");
        let e = c
            .apply(Overrides { advertised_host: Some("10.1.1.1:9876".into()), ..Overrides::default() })
            .unwrap_err();
        assert!(e.to_string().contains("without a port"), "{e}");
    }

    #[test]
    fn the_proxy_config_carries_every_setting() {
        let c = ServeConfig { relay_bind: "10.0.0.4".into(), ..ServeConfig::default() };
        let p = c.proxy_config("10.0.0.5");
        assert_eq!(p.namesrv_listen, DEFAULT_NAMESRV_LISTEN);
        assert_eq!(p.relays.bind_host, "10.0.0.4");
        assert_eq!(p.relays.advertised_host, "10.0.0.5");
        assert_eq!(p.relays.ports, DEFAULT_RELAY_PORTS);
        let defaults = ferry_proxy::RelaySettings::on("127.0.0.1", DEFAULT_RELAY_PORTS);
        assert_eq!(
            (p.front_connections, p.relays.connections, p.relays.frame_timeout, p.relays.max_frame),
            (ConnectionCaps::FRONT, defaults.connections, defaults.frame_timeout, defaults.max_frame),
            "the defaults are the proxy's"
        );
        assert_eq!(
            (p.relays.partial_frame_budget, p.relays.client_queue_bytes),
            (defaults.partial_frame_budget, defaults.client_queue_bytes)
        );

        let limits = ProxyLimits {
            relay_connections: ConnectionCaps { max: 100, per_ip: 10 },
            front_connections: ConnectionCaps { max: 50, per_ip: 5 },
            frame_timeout: Duration::from_secs(7),
            idle_timeout: Duration::from_secs(45),
            partial_frame_budget: 1 << 20,
            client_queue_bytes: 64 * 1024,
            max_frame: 4 << 20,
        };
        let p = ServeConfig { limits, ..c }.proxy_config("10.0.0.5");
        assert_eq!(
            (p.front_connections, p.relays.connections),
            (limits.front_connections, limits.relay_connections)
        );
        assert_eq!(p.relays.frame_timeout, limits.frame_timeout);
        assert_eq!(p.relays.idle_timeout, limits.idle_timeout);
        assert_eq!(p.relays.partial_frame_budget, limits.partial_frame_budget);
        assert_eq!(p.relays.client_queue_bytes, limits.client_queue_bytes);
        assert_eq!(p.relays.max_frame, limits.max_frame);
    }
}
