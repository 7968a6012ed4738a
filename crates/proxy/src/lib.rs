//! Ferry's proxy: what clients talk to once they point their NameServer address at Ferry.
//!
//! - [`namesrv`]: the NameServer front, answering routes merged by stage ([`route`]).
//! - [`relay`]: one relay per backend broker, frames passed both ways as they are except where the
//!   topic's stage refuses or answers them ([`verdict`]), and where a target broker shown under an
//!   alias is named in a value ([`names`], [`rename`]).
//! - [`limits`]: what peers can hold of Ferry: connection caps (global and per address), a
//!   deadline for unfinished frames, a byte budget for large ones, a bound in bytes on what waits
//!   for a slow client, and the open-file limit raised at start.
//! - [`traffic`] and [`registry`]: what the relays learn on the way; the registry only from
//!   heartbeats the broker accepted, one client per relay connection.
//!
//! The proxy reads stages from a [`StageTable`]; it never decides them (the control crate does).

pub mod limits;
pub mod names;
pub mod namesrv;
pub mod pop;
pub mod registry;
pub mod relay;
pub mod rename;
pub mod route;
pub mod stage;
pub mod traffic;
pub mod verdict;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use limits::{ConnectionCaps, OpenFiles};
pub use namesrv::{RouteFetch, RouteWatch, Upstreams};
pub use registry::{ClientRecord, ClientRegistry, MAX_CLIENTS};
pub use relay::{RelayAssignment, RelayError, RelaySettings, RelayTraffic};
pub use route::{RouteError, Side};
pub use stage::{Stage, StageTable, TopicPolicy, Versioned};
pub use traffic::{LatencySnapshot, TopicCounts, Traffic};

#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Where the NameServer front listens: the address clients are given.
    pub namesrv_listen: String,
    /// Connections to the NameServer front at most ([`ConnectionCaps::FRONT`]: 4,096 in all, 256
    /// from one IP address), lowered at start to fit the open-file limit. Its peers share the
    /// relays' frame timeout, large-frame budget and queue bound.
    pub front_connections: ConnectionCaps,
    pub relays: RelaySettings,
}

impl ProxyConfig {
    /// Everything on loopback, relay ports from `first_relay_port` (tests, the demo).
    pub fn loopback(namesrv_port: u16, first_relay_port: u16, last_relay_port: u16) -> ProxyConfig {
        ProxyConfig {
            namesrv_listen: format!("127.0.0.1:{namesrv_port}"),
            front_connections: ConnectionCaps::FRONT,
            relays: RelaySettings::on("127.0.0.1", (first_relay_port, last_relay_port)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the NameServer front cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error(transparent)]
    Relay(#[from] RelayError),
}

/// A running proxy. Dropping it stops the NameServer front and every relay.
pub struct Proxy {
    pub stages: Arc<StageTable>,
    pub traffic: Arc<Traffic>,
    pub registry: Arc<ClientRegistry>,
    pub routes: Arc<RouteWatch>,
    /// POP messages handed out through the relays and not acked yet, and the groups that pop.
    pub pops: Arc<pop::PopLedger>,
    relays: Arc<relay::RelayTable>,
    front: Arc<namesrv::FrontContext>,
    namesrv_addr: SocketAddr,
    front_task: JoinHandle<()>,
    shutdown: CancellationToken,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.front_task.abort();
    }
}

impl Proxy {
    /// Starts the front and re-opens relays on the ports they had before (`restore`). Raises the
    /// process's soft open-file limit to its hard limit first, and fits the connection caps into
    /// it (logged).
    pub async fn start(mut config: ProxyConfig, restore: &[RelayAssignment]) -> Result<Proxy, ProxyError> {
        let files = limits::raise_open_files();
        let (relay_caps, front_caps, lowered) =
            limits::fit_to_open_files(config.relays.connections, config.front_connections, files.soft);
        if lowered {
            tracing::warn!(
                open_files = ?files.soft,
                relays = relay_caps.max,
                relays_per_ip = relay_caps.per_ip,
                front = front_caps.max,
                front_per_ip = front_caps.per_ip,
                "connection caps lowered to fit the open-file limit (raise its hard limit, \
                 LimitNOFILE= under systemd, for more)"
            );
        }
        config.relays.connections = relay_caps;
        let shutdown = CancellationToken::new();
        let stages = Arc::new(StageTable::new());
        let traffic = Arc::new(Traffic::default());
        let registry = Arc::new(ClientRegistry::default());
        let max_frame = config.relays.max_frame;
        let queue_bytes = config.relays.client_queue_bytes;
        let relay_ctx = relay::RelayContext::new(
            config.relays,
            traffic.clone(),
            registry.clone(),
            stages.clone(),
            shutdown.clone(),
        );
        let partial = relay_ctx.partial.clone();
        let pops = relay_ctx.pops.clone();
        let relays = Arc::new(relay::RelayTable::new(Arc::new(relay_ctx)));
        relays.restore(restore)?;
        let listener = TcpListener::bind(&config.namesrv_listen)
            .await
            .map_err(|source| ProxyError::Listen { addr: config.namesrv_listen.clone(), source })?;
        let namesrv_addr = listener
            .local_addr()
            .map_err(|source| ProxyError::Listen { addr: config.namesrv_listen, source })?;
        let routes = Arc::new(RouteWatch::default());
        let front = Arc::new(namesrv::FrontContext {
            stages: stages.clone(),
            targets: std::sync::Mutex::new(std::collections::HashMap::new()),
            relays: relays.clone(),
            upstreams: RwLock::new(None),
            watch: routes.clone(),
            max_frame,
            shutdown: shutdown.clone(),
            admission: limits::Admission::new("NameServer front", front_caps),
            partial,
            queue_bytes,
        });
        let front_task = tokio::spawn(namesrv::serve(listener, front.clone()));
        tracing::info!(addr = %namesrv_addr, "NameServer front listening");
        Ok(Proxy {
            stages,
            traffic,
            registry,
            routes,
            pops,
            relays,
            front,
            namesrv_addr,
            front_task,
            shutdown,
        })
    }

    /// Closes the front, every relay and every relayed connection, as a stopped process would.
    /// Dropping the proxy does the same.
    pub fn stop(&self) {
        self.shutdown.cancel();
        self.front_task.abort();
    }

    /// The address the NameServer front is bound to (perhaps `0.0.0.0:9876`).
    pub fn namesrv_addr(&self) -> SocketAddr {
        self.namesrv_addr
    }

    /// The NameServer address clients are told to use: the advertised host (clients behind NAT)
    /// with the front's port.
    pub fn client_namesrv_addr(&self) -> String {
        format!("{}:{}", self.relays.context().settings.advertised_host, self.namesrv_addr.port())
    }

    /// Sets (or replaces) the clusters behind the front.
    pub fn set_upstreams(&self, upstreams: Upstreams) {
        *self.front.upstreams.write().expect("upstreams lock") = Some(Arc::new(upstreams));
    }

    pub fn relay_assignments(&self) -> Vec<RelayAssignment> {
        self.relays.assignments()
    }

    /// Opens relays on the ports other instances of a fleet assigned; returns the conflicting ones
    /// ([`relay::RelayTable::adopt`]).
    pub fn adopt_relays(&self, stored: &[RelayAssignment]) -> Vec<RelayAssignment> {
        self.relays.adopt(stored)
    }

    /// Every relay with its open connections and the messages pulled through it.
    pub fn relay_traffic(&self) -> Vec<relay::RelayTraffic> {
        self.relays.traffic()
    }

    /// Whether a client address a broker reports is one of Ferry's relays: a client connected to
    /// a broker from elsewhere reached it directly, not through Ferry.
    pub fn is_relay_addr(&self, addr: &str) -> bool {
        self.relays.is_relay(addr)
    }

    /// Asks every consumer of `topic` seen through Ferry to rebalance now (as brokers do when a
    /// group's members change), so that a new route takes effect at once rather than at the
    /// client's next rebalance, up to 20 s later. Returns how many clients were asked: each on a
    /// relay connection where the broker accepted its heartbeat.
    pub fn nudge_consumers(&self, topic: &str) -> usize {
        let ctx = self.relays.context();
        let mut asked = 0;
        for c in self.registry.clients().into_iter().filter(|c| c.connected()) {
            let groups = c.consumer_groups.iter().filter(|(_, topics)| topics.contains(topic));
            if let Some((group, _)) = groups.into_iter().next() {
                // One notice per client: it rebalances all its consumers.
                asked += usize::from(relay::nudge(ctx, &c.client_id, group));
            }
        }
        asked
    }

    /// Client connections open through the relays of one side.
    pub fn connections(&self, side: Side) -> usize {
        self.relays.context().connections[side as usize].load(Ordering::Relaxed)
    }

    /// What the connection limits see now.
    pub fn limits(&self) -> LimitsSnapshot {
        let ctx = self.relays.context();
        LimitsSnapshot {
            relay_caps: ctx.admission.caps(),
            relay_connections: ctx.admission.open(),
            relay_refused: ctx.admission.refused(),
            front_caps: self.front.admission.caps(),
            front_connections: self.front.admission.open(),
            front_refused: self.front.admission.refused(),
            partial_frame_bytes: ctx.partial.taken(),
        }
    }
}

/// Connections open and refused by the caps, and bytes of large unfinished frames held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitsSnapshot {
    /// The relays' caps in force (perhaps lowered to fit the open-file limit).
    pub relay_caps: ConnectionCaps,
    pub relay_connections: usize,
    /// Relay connections closed at accept for a cap, since the start.
    pub relay_refused: u64,
    pub front_caps: ConnectionCaps,
    pub front_connections: usize,
    pub front_refused: u64,
    /// Of the budget for large unfinished frames.
    pub partial_frame_bytes: usize,
}

/// Timestamps as Unix milliseconds in JSON.
pub(crate) mod unix_millis {
    use std::time::{SystemTime, UNIX_EPOCH};

    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0))
    }

    // Read back when another Ferry instance of a fleet publishes its clients through the store.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let millis = <u64 as serde::Deserialize>::deserialize(d)?;
        Ok(UNIX_EPOCH + std::time::Duration::from_millis(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

    #[tokio::test]
    async fn the_soft_open_file_limit_is_raised_to_the_hard_limit_at_start() {
        let hard = getrlimit(Resource::Nofile).maximum;
        // As systemd starts a service: a soft limit well below the hard one.
        let low = hard.map_or(512, |h| h.min(512));
        setrlimit(Resource::Nofile, Rlimit { current: Some(low), maximum: hard }).unwrap();
        let proxy = Proxy::start(ProxyConfig::loopback(0, 0, 0), &[]).await.unwrap();
        let now = getrlimit(Resource::Nofile);
        assert_eq!(now.current, hard, "soft raised to the hard limit");
        assert_eq!(now.maximum, hard);
        // The caps fit what it got.
        let l = proxy.limits();
        let (relays, front, _) =
            limits::fit_to_open_files(ConnectionCaps::RELAYS, ConnectionCaps::FRONT, now.current);
        assert_eq!((l.relay_caps, l.front_caps), (relays, front));
    }

    #[tokio::test]
    async fn relays_another_instance_assigned_open_on_the_same_ports() {
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (a, b) = (free(), free());
        let proxy = Proxy::start(ProxyConfig::loopback(0, 0, 0), &[]).await.unwrap();
        let stored =
            |backend: &str, port| RelayAssignment { side: Side::Source, backend: backend.into(), port };
        assert!(proxy.adopt_relays(&[stored("10.0.0.1:10911", a)]).is_empty());
        assert_eq!(proxy.relay_assignments(), vec![stored("10.0.0.1:10911", a)]);
        assert!(std::net::TcpStream::connect(("127.0.0.1", a)).is_ok(), "the relay listens");
        // Adopting again changes nothing; a conflict is returned and this instance's relay kept.
        assert!(proxy.adopt_relays(&[stored("10.0.0.1:10911", a)]).is_empty());
        let conflicts = [stored("10.0.0.1:10911", b), stored("10.0.0.2:10911", a)];
        assert_eq!(proxy.adopt_relays(&conflicts), conflicts.to_vec());
        assert_eq!(proxy.relay_assignments(), vec![stored("10.0.0.1:10911", a)]);
    }
}
