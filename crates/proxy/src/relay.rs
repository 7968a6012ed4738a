//! Broker relays: one listening address per backend broker, one upstream connection per client
//! connection. Frames pass both ways as they are (bytes untouched), including the requests brokers
//! send to clients, except where the topic's stage says otherwise ([`crate::verdict`]): a send
//! where nobody reads any more is refused, a pull where the stage does not read is answered "no
//! new message" after a pause, and a held pull's messages are replaced by "no new message" when
//! the stage changed meanwhile. On the way the relay reads headers (never copying bodies) to count
//! traffic and learn who the clients are. On a target broker's relay, the few values that name a
//! broker shown to clients under an alias are renamed both ways ([`crate::names`],
//! [`crate::rename`]). One to one relaying means opaques need no rewriting and
//! broker-initiated requests reach the right client by construction.
//!
//! Each relay listens on a pair of ports, `p` and `p - 2`: a 4.x client with the VIP channel on
//! sends to port − 2 of the broker address it was given.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferry_remoting::body::HeartbeatData;
use ferry_remoting::code::{RequestCode, ResponseCode};
use ferry_remoting::frame::{self, PREFIX_LEN};
use ferry_remoting::header::{Header, SerializeType};
use ferry_remoting::{fastjson, CodecError, Frame};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::limits::{
    self, Admission, Admitted, ClientQueue, ConnectionCaps, FrameReader, PartialFrames, QueueReader,
};
use crate::pop::PopLedger;
use crate::registry::{ClientRegistry, ConnectionId, Peer, Throttle, MAX_CLIENTS};
use crate::rename;
use crate::route::Side;
use crate::stage::StageTable;
use crate::traffic::{count_messages, Traffic};
use crate::verdict::{self, Awaited, Op, Seen, Verdict};

/// Requests awaiting a response on one connection, bounded so a client that never reads cannot
/// grow it without limit (beyond the bound, requests pass unobserved).
const MAX_PENDING: usize = 65_536;

/// Heartbeats kept (parsed) until the broker's answer, per connection. A Java client sends one
/// every 30 s; beyond the bound a heartbeat passes unobserved and is not recorded.
const MAX_PENDING_HEARTBEATS: usize = 8;

/// At most this many ways to clients in [`RelayContext::channels`], as many as the registry
/// records clients: each needs a heartbeat the broker accepted, and goes when its connection
/// closes.
pub const MAX_CHANNELS: usize = MAX_CLIENTS;

/// Numbers relay connections, for the registry to count the open ones of a client.
static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A broker address of one side and the relay port clients are given for it (its VIP twin is
/// `port - 2`). Kept by the engine so relays come back on the same ports after a restart:
/// clients still hold the old addresses in their cached routes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayAssignment {
    pub side: Side,
    pub backend: String,
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("no free relay port pair left in {first}..={last} on {host} (each broker needs p and p-2)")]
    PortsExhausted { host: String, first: u16, last: u16 },
    #[error("relay port {port} for broker {backend} cannot be bound on {host}: {source}")]
    Bind { host: String, port: u16, backend: String, source: std::io::Error },
}

#[derive(Clone, Debug)]
pub struct RelaySettings {
    /// Address the relays listen on.
    pub bind_host: String,
    /// Host clients are told to use (differs from `bind_host` behind NAT).
    pub advertised_host: String,
    /// Inclusive range for relay ports.
    pub ports: (u16, u16),
    pub max_frame: usize,
    pub connect_timeout: Duration,
    /// Relayed client connections at most, over all relays ([`ConnectionCaps::RELAYS`]: 8,192 in
    /// all, 1,024 from one IP address), lowered at start to fit the open-file limit. One over a
    /// cap is closed as soon as it is accepted.
    pub connections: ConnectionCaps,
    /// A client (or a NameServer-front peer) that started a frame must finish it within this
    /// (default 30 s). A connection that sends nothing has no deadline, and a client waiting for
    /// its broker's answer (a long-polling pull, held up to 15 s and more) has finished its
    /// request: only frames being sent are timed.
    pub frame_timeout: Duration,
    /// A client connection that sent nothing for this long, and awaits no answer, is closed
    /// ([`limits::DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// Bytes of unfinished frames over 64 KiB ([`limits::SMALL_FRAME`]) held at most, all
    /// connections together (default 256 MiB): beyond it a peer's large frame is not read
    /// further until others finish, within its frame timeout.
    pub partial_frame_budget: usize,
    /// Bytes queued toward one client at most (default 1 MiB): beyond it the relay stops reading
    /// from that client's broker connection until the client has read (a larger frame waits for
    /// an empty queue).
    pub client_queue_bytes: usize,
}

impl RelaySettings {
    /// Everything on `host`, relay ports in `ports`, the other settings at their defaults.
    pub fn on(host: &str, ports: (u16, u16)) -> RelaySettings {
        RelaySettings {
            bind_host: host.into(),
            advertised_host: host.into(),
            ports,
            max_frame: frame::DEFAULT_MAX_FRAME,
            connect_timeout: Duration::from_secs(3),
            connections: ConnectionCaps::RELAYS,
            frame_timeout: limits::DEFAULT_FRAME_TIMEOUT,
            idle_timeout: limits::DEFAULT_IDLE_TIMEOUT,
            partial_frame_budget: limits::DEFAULT_PARTIAL_FRAME_BUDGET,
            client_queue_bytes: limits::DEFAULT_CLIENT_QUEUE_BYTES,
        }
    }
}

/// What every relay shares: where to count and whom to tell.
pub struct RelayContext {
    pub settings: RelaySettings,
    pub traffic: Arc<Traffic>,
    pub registry: Arc<ClientRegistry>,
    pub connections: [AtomicUsize; 2],
    /// The stages the relays enforce: no pull from a queue, no send to a queue, the topic's route
    /// does not allow (clients act on a new route only at their next rebalance).
    pub stages: Arc<StageTable>,
    /// A way to each client, for requests Ferry sends clients itself: a connection on which the
    /// broker accepted a heartbeat of that client id, the latest to claim it. Entries go when
    /// their connection closes; at most [`MAX_CHANNELS`].
    pub(crate) channels: Mutex<HashMap<String, ClientQueue>>,
    /// Cancelled when the proxy stops: every relayed connection closes with it.
    pub shutdown: CancellationToken,
    /// Open relayed connections against [`RelaySettings::connections`].
    pub(crate) admission: Arc<Admission>,
    /// The frame timeout and the budget of large unfinished frames (shared with the front).
    pub(crate) partial: Arc<PartialFrames>,
    /// POP messages handed out and not acked yet, and who pops ([`crate::pop`]).
    pub pops: Arc<PopLedger>,
}

impl RelayContext {
    /// A context with no connection open; the limits from `settings`.
    pub fn new(
        settings: RelaySettings,
        traffic: Arc<Traffic>,
        registry: Arc<ClientRegistry>,
        stages: Arc<StageTable>,
        shutdown: CancellationToken,
    ) -> RelayContext {
        let admission = Admission::new("relay", settings.connections);
        let partial = PartialFrames::new(settings.frame_timeout, settings.partial_frame_budget);
        RelayContext {
            settings,
            traffic,
            registry,
            connections: [AtomicUsize::new(0), AtomicUsize::new(0)],
            stages,
            channels: Mutex::default(),
            shutdown,
            admission,
            partial,
            pops: Arc::default(),
        }
    }
}

struct Relay {
    assignment: RelayAssignment,
    counts: Arc<RelayCounts>,
    accept_loops: Vec<JoinHandle<()>>,
}

/// What went through one relay: which broker addresses clients use through Ferry (a slave's
/// relay pulled from once a master suggested it; none left once clients go direct).
#[derive(Default)]
struct RelayCounts {
    connections: AtomicUsize,
    pulled_messages: AtomicU64,
}

/// One relay's broker, its port and what went through it since Ferry started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayTraffic {
    #[serde(flatten)]
    pub assignment: RelayAssignment,
    /// Client connections open through it now.
    pub connections: usize,
    /// Messages relayed in answers to pulls (`pulled_messages` in fleet views stored by Ferry 0.1).
    #[serde(alias = "pulled_messages")]
    pub pulled_messages: u64,
}

impl Drop for Relay {
    fn drop(&mut self) {
        for h in &self.accept_loops {
            h.abort();
        }
    }
}

/// The relays, one per backend broker address, created on first need.
pub struct RelayTable {
    ctx: Arc<RelayContext>,
    relays: Mutex<HashMap<(Side, String), Relay>>,
}

impl RelayTable {
    pub fn new(ctx: Arc<RelayContext>) -> RelayTable {
        RelayTable { ctx, relays: Mutex::new(HashMap::new()) }
    }

    pub fn context(&self) -> &Arc<RelayContext> {
        &self.ctx
    }

    /// Re-opens relays on the ports they had (after a restart).
    pub fn restore(&self, assignments: &[RelayAssignment]) -> Result<(), RelayError> {
        let mut relays = self.relays.lock().expect("relay table lock");
        for a in assignments {
            let relay = self.open(a.clone())?;
            relays.insert((a.side, a.backend.clone()), relay);
        }
        Ok(())
    }

    /// Opens the relays other instances of a fleet assigned (kept in the store) on the same
    /// ports, so that a route names the same ports whichever instance answers. Returns those that
    /// conflict with this instance's own (the broker relayed here on another port, or the port
    /// relaying another broker here, or not free on this host).
    pub fn adopt(&self, stored: &[RelayAssignment]) -> Vec<RelayAssignment> {
        let mut relays = self.relays.lock().expect("relay table lock");
        let mut conflicts = Vec::new();
        for a in stored {
            let key = (a.side, a.backend.clone());
            match relays.get(&key) {
                Some(r) if r.assignment.port == a.port => continue,
                Some(_) => conflicts.push(a.clone()),
                None if relays.values().any(|r| r.assignment.port == a.port) => conflicts.push(a.clone()),
                None => match self.open(a.clone()) {
                    Ok(relay) => {
                        relays.insert(key, relay);
                    }
                    Err(_) => conflicts.push(a.clone()),
                },
            }
        }
        conflicts
    }

    /// The advertised `host:port` of the relay for `backend`, opening one if needed.
    pub fn relay_for(&self, side: Side, backend: &str) -> Result<String, RelayError> {
        let mut relays = self.relays.lock().expect("relay table lock");
        if let Some(r) = relays.get(&(side, backend.to_string())) {
            return Ok(self.advertised(r.assignment.port));
        }
        let taken: Vec<u16> = relays.values().map(|r| r.assignment.port).collect();
        let (first, last) = self.ctx.settings.ports;
        // Pairs (p - 2, p) four apart, so that no pair overlaps another's.
        let mut port = first.saturating_add(2);
        while port <= last {
            if !taken.contains(&port) {
                let a = RelayAssignment { side, backend: backend.to_string(), port };
                if let Ok(relay) = self.open(a) {
                    relays.insert((side, backend.to_string()), relay);
                    return Ok(self.advertised(port));
                }
            }
            port = match port.checked_add(4) {
                Some(p) => p,
                None => break,
            };
        }
        Err(RelayError::PortsExhausted { host: self.ctx.settings.bind_host.clone(), first, last })
    }

    /// Every relay with its traffic, by port.
    pub fn traffic(&self) -> Vec<RelayTraffic> {
        let relays = self.relays.lock().expect("relay table lock");
        let mut all: Vec<_> = relays
            .values()
            .map(|r| RelayTraffic {
                assignment: r.assignment.clone(),
                connections: r.counts.connections.load(Ordering::Relaxed),
                pulled_messages: r.counts.pulled_messages.load(Ordering::Relaxed),
            })
            .collect();
        all.sort_by_key(|t| t.assignment.port);
        all
    }

    pub fn assignments(&self) -> Vec<RelayAssignment> {
        let relays = self.relays.lock().expect("relay table lock");
        let mut all: Vec<_> = relays.values().map(|r| r.assignment.clone()).collect();
        all.sort_by_key(|a| a.port);
        all
    }

    /// Whether `host:port` is one of Ferry's relay addresses (either port of a pair).
    pub fn is_relay(&self, addr: &str) -> bool {
        let Some((host, port)) = addr.rsplit_once(':') else { return false };
        let Ok(port) = port.parse::<u16>() else { return false };
        let hosts = [&self.ctx.settings.advertised_host, &self.ctx.settings.bind_host];
        hosts.iter().any(|h| h.as_str() == host)
            && self.assignments().iter().any(|a| a.port == port || a.port == port + 2)
    }

    fn advertised(&self, port: u16) -> String {
        format!("{}:{port}", self.ctx.settings.advertised_host)
    }

    fn open(&self, a: RelayAssignment) -> Result<Relay, RelayError> {
        let host = &self.ctx.settings.bind_host;
        let bind = |port: u16| -> Result<TcpListener, RelayError> {
            let err =
                |source| RelayError::Bind { host: host.clone(), port, backend: a.backend.clone(), source };
            let l = std::net::TcpListener::bind((host.as_str(), port)).map_err(err)?;
            l.set_nonblocking(true).map_err(err)?;
            TcpListener::from_std(l).map_err(err)
        };
        let vip = a.port.checked_sub(2).ok_or_else(|| RelayError::Bind {
            host: host.clone(),
            port: a.port,
            backend: a.backend.clone(),
            source: std::io::Error::other("port below 2 has no VIP twin"),
        })?;
        let listeners = [bind(a.port)?, bind(vip)?];
        tracing::info!(side = %a.side, backend = %a.backend, port = a.port, "relay open");
        let counts = Arc::new(RelayCounts::default());
        let accept_loops = listeners
            .into_iter()
            .map(|l| {
                let backend = a.backend.clone();
                tokio::spawn(accept_loop(l, a.side, backend, counts.clone(), self.ctx.clone()))
            })
            .collect();
        Ok(Relay { assignment: a, counts, accept_loops })
    }
}

async fn accept_loop(
    listener: TcpListener,
    side: Side,
    backend: String,
    counts: Arc<RelayCounts>,
    ctx: Arc<RelayContext>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = ctx.shutdown.cancelled() => return,
        };
        match accepted {
            Ok((client, addr)) => {
                // Over a cap: closed at once (dropped), logged by the admission now and then.
                if let Ok(admitted) = ctx.admission.admit(addr) {
                    let relay = (side, backend.clone(), counts.clone());
                    tokio::spawn(serve_client(client, addr, relay, ctx.clone(), admitted));
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: back off rather than spin.
                tracing::warn!(error = %e, "relay accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Counts a connection for as long as it lives.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_client(
    client: TcpStream,
    addr: SocketAddr,
    (side, backend, counts): (Side, String, Arc<RelayCounts>),
    ctx: Arc<RelayContext>,
    _admitted: Admitted,
) {
    let counter = &ctx.connections[side as usize];
    counter.fetch_add(1, Ordering::Relaxed);
    let _counted = Counted(counter);
    counts.connections.fetch_add(1, Ordering::Relaxed);
    let _counted_here = Counted(&counts.connections);
    let upstream = match tokio::time::timeout(ctx.settings.connect_timeout, TcpStream::connect(&backend))
        .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(%side, %backend, client = %addr, error = %e, "broker unreachable; refusing the client's sends");
            let why = format!("Ferry: broker {backend} is unreachable ({e}); nothing was sent to it");
            return refuse_unreachable(client, &why, &ctx).await;
        }
        Err(_) => {
            tracing::warn!(%side, %backend, client = %addr, "broker connect timed out; refusing the client's sends");
            let why = format!("Ferry: broker {backend} did not accept a connection; nothing was sent to it");
            return refuse_unreachable(client, &why, &ctx).await;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    // Everything bound for the client goes through one queue: the broker's frames, and answers
    // the relay gives itself.
    let (to_client, queue) = ClientQueue::new(ctx.settings.client_queue_bytes);
    let state = Arc::new(ConnState {
        side,
        backend: backend.clone(),
        client_addr: addr.to_string(),
        to_client: to_client.clone(),
        pending: Mutex::new(PendingTable::default()),
        connection: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
        client_id: Mutex::new(None),
        warned_other_id: std::sync::atomic::AtomicBool::new(false),
        counts: counts.clone(),
        last_request: Mutex::new(tokio::time::Instant::now()),
    });
    let (mut cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    let up = to_broker(&mut cr, uw, to_client.clone(), state.clone(), ctx.clone());
    let down = to_client_pump(ur, to_client.clone(), state.clone(), ctx.clone());
    let mut writer = tokio::spawn(write_client(cw, queue));
    // Either side ending ends both: the client reconnects and re-sends, as with a broker restart.
    let peer = addr.to_string();
    let ended = tokio::select! {
        // `up` fails with an I/O error only writing to the broker (its reads are the client's):
        // the broker went away, as when `down` hears it close.
        r = up => (if matches!(r, Err(PumpError::Io(_))) { "broker" } else { "client" }, r),
        r = down => ("broker", r),
        r = &mut writer => ("client", r.unwrap_or(Err(PumpError::ClientGone))),
        _ = idle(&state, ctx.settings.idle_timeout) => ("Ferry (client idle)", Ok(())),
        _ = ctx.shutdown.cancelled() => ("Ferry", Ok(())),
    };
    if ended.0 == "broker" {
        // What the client sends from now on reaches no broker: a send is refused at once, so that
        // the producer sends it elsewhere ([`refuse_requests`]).
        let why = format!("Ferry: broker {backend} closed the connection; nothing more was sent to it");
        let _ = tokio::time::timeout(
            REFUSING_WINDOW,
            refuse_requests(&mut cr, &to_client, &why, ctx.settings.max_frame),
        )
        .await;
        // What the broker answered before it closed still reaches the client: a lost answer to
        // a stored send would make the client send it again.
        drain(&to_client).await;
    }
    writer.abort();
    // Forget the way to this client if it was this connection, and count it closed.
    if let Some(id) = state.client_id.lock().expect("client id lock").as_deref() {
        let mut channels = ctx.channels.lock().expect("channels lock");
        if channels.get(id).is_some_and(|tx| tx.same_channel(&state.to_client)) {
            channels.remove(id);
        }
        drop(channels);
        ctx.registry.disconnected(id, state.connection);
    }
    match ended {
        (_, Err(PumpError::Read(e @ limits::ReadError::FrameTimeout { .. }))) => {
            ctx.partial.log_timeout("relay", &peer, &e)
        }
        (_, Ok(())) => {
            tracing::debug!(%side, %backend, client = %addr, by = ended.0, "relay connection closed")
        }
        (by, Err(e)) => {
            tracing::warn!(%side, %backend, client = %addr, from = by, error = %e, "relay connection dropped")
        }
    }
}

/// How long a relay answers the requests it cannot forward before it closes the connection, at
/// the most; it closes sooner once the client has sent nothing for [`REFUSING_QUIET`]. Closing
/// while the client is quiet leaves no request of its in flight to wait out its timeout.
const REFUSING_WINDOW: Duration = Duration::from_secs(10);
const REFUSING_QUIET: Duration = Duration::from_millis(500);

/// A client connection whose broker cannot be reached: its sends are refused for a while
/// ([`refuse_requests`]), then it is closed.
async fn refuse_unreachable(client: TcpStream, why: &str, ctx: &RelayContext) {
    let _ = client.set_nodelay(true);
    let (mut cr, cw) = client.into_split();
    let (to_client, queue) = ClientQueue::new(ctx.settings.client_queue_bytes);
    let writer = tokio::spawn(write_client(cw, queue));
    let refused = tokio::time::timeout(
        REFUSING_WINDOW,
        refuse_requests(&mut cr, &to_client, why, ctx.settings.max_frame),
    );
    tokio::select! {
        _ = refused => {}
        _ = ctx.shutdown.cancelled() => {}
    }
    drain(&to_client).await;
    writer.abort();
}

/// Answers every send the client makes on `r` with `SYSTEM_ERROR` saying `why`, until the client
/// closes, is quiet for [`REFUSING_QUIET`], or sends what is not a frame. None of these sends
/// reached a broker, so refusing them is safe and tells the client at once: the producer sends
/// the message to another broker (`SYSTEM_ERROR` is one of `DefaultMQProducer.retryResponseCodes`,
/// apache/rocketmq 4.9.8). Closing without a word instead would leave each request the client had
/// written unanswered, and a 4.9 client waits out its whole timeout for those (it fails a
/// connection's requests at once only when it closes the connection itself: `NettyRemotingClient`
/// `close` -> `failFast`), where a broker that is down refuses the connection and the producer
/// goes elsewhere at once. Other requests get no answer, as from a broker that is down: an error
/// answer to a consumer's offset query reads, to a 4.9 client, as "no offset stored"
/// (`RemoteBrokerOffsetStore.readOffset` returns -1 on any `MQBrokerException`), which would start
/// the queue over.
async fn refuse_requests<R: AsyncRead + Unpin>(
    mut r: R,
    to_client: &ClientQueue,
    why: &str,
    max_frame: usize,
) -> Result<(), PumpError> {
    let mut buf = BytesMut::with_capacity(limits::READ_BUFFER);
    loop {
        while let Some(len) = frame::check(&buf, max_frame)? {
            let bytes = buf.split_to(len);
            let (ty, raw, _) = parts(&bytes)?;
            let header = Header::decode_fixed(ty, raw)?;
            let send = matches!(Op::of(RequestCode(header.code)), Op::Send { .. });
            if header.is_response() || header.is_oneway() || !send {
                continue;
            }
            let mut answer = Frame::response(ResponseCode::SYSTEM_ERROR, header.opaque).with_remark(why);
            answer.serialize_type = ty;
            send_client(to_client, &answer).await?;
        }
        match tokio::time::timeout(REFUSING_QUIET, limits::read_more(&mut r, &mut buf)).await {
            Ok(Ok(true)) => {}
            Ok(Err(e)) => return Err(e.into()),
            // Closed, or quiet.
            Ok(Ok(false)) | Err(_) => return Ok(()),
        }
    }
}

/// Waits (a second at most) until what is queued for the client was written.
async fn drain(to_client: &ClientQueue) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while to_client.queued() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Relays one client connection between two in-process streams, as `serve_client` does between
/// sockets once its broker connection is open: the same pumps and the same per-frame path
/// (`observe`), until either side ends. For the relay's instruction-count benchmark
/// (`crates/proxy/examples/frame_cost`); not an API.
#[doc(hidden)]
pub async fn relay_streams<C, B>(
    client: C,
    broker: B,
    side: Side,
    backend: &str,
    ctx: Arc<RelayContext>,
) -> Result<(), String>
where
    C: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (to_client, queue) = ClientQueue::new(ctx.settings.client_queue_bytes);
    let state = Arc::new(ConnState {
        side,
        backend: backend.to_string(),
        client_addr: "in-process".into(),
        to_client: to_client.clone(),
        pending: Mutex::new(PendingTable::default()),
        connection: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
        client_id: Mutex::new(None),
        warned_other_id: std::sync::atomic::AtomicBool::new(false),
        counts: Arc::default(),
        last_request: Mutex::new(tokio::time::Instant::now()),
    });
    let (cr, cw) = tokio::io::split(client);
    let (ur, uw) = tokio::io::split(broker);
    let up = to_broker(cr, uw, to_client.clone(), state.clone(), ctx.clone());
    let down = to_client_pump(ur, to_client, state, ctx);
    let ended = tokio::select! {
        r = up => r,
        r = down => r,
        r = write_client(cw, queue) => r,
    };
    ended.map_err(|e| e.to_string())
}

enum Pending {
    Send {
        topic: String,
        messages: u64,
        bytes: u64,
        started: Instant,
    },
    Pull {
        topic: String,
        queue_offset: String,
    },
    /// Recorded in the registry only if the broker accepts it.
    Heartbeat {
        hb: Box<HeartbeatData>,
        language: String,
        version: i32,
        started: Instant,
    },
    /// Applied to the registry only if the broker accepts it.
    Unregister {
        client_id: String,
        producer_group: Option<String>,
        consumer_group: Option<String>,
        started: Instant,
    },
    Other {
        started: Instant,
    },
    /// An admin read whose answer names the broker (consume stats, topic stats): a target broker
    /// shown under an alias is renamed in it, so tools looking through Ferry see the two clusters'
    /// `broker-a` apart.
    NamesBroker {
        started: Instant,
    },
    /// A POP: its answer's messages are handed out whatever the stage is by then
    /// ([`verdict::Awaited::Pop`]). On a target broker, retry messages in the answer carry the
    /// broker's `POP_CK`, with its real name ([`crate::rename`]).
    Pop {
        topic: String,
        group: String,
        started: Instant,
    },
    /// An ACK_MESSAGE or CHANGE_MESSAGE_INVISIBLETIME: the ledger hears of it once the broker
    /// accepts it (`invisible`: the new invisible time of a change).
    PopFollowUp {
        group: String,
        topic: String,
        queue_id: i32,
        offset: i64,
        invisible: Option<Duration>,
        started: Instant,
    },
}

/// The requests of one connection awaiting the broker's answer, by opaque.
#[derive(Default)]
struct PendingTable {
    map: HashMap<i32, Pending>,
    heartbeats: usize,
}

impl PendingTable {
    /// Keeps `p` until the answer to `opaque`, within the bounds (a heartbeat beyond its own bound
    /// is kept for its latency only).
    fn insert(&mut self, opaque: i32, p: Pending) {
        if self.map.len() >= MAX_PENDING {
            return;
        }
        let p = match p {
            Pending::Heartbeat { started, .. } if self.heartbeats >= MAX_PENDING_HEARTBEATS => {
                Pending::Other { started }
            }
            p => p,
        };
        let heartbeat = matches!(p, Pending::Heartbeat { .. });
        if let Some(old) = self.map.insert(opaque, p) {
            self.heartbeats -= usize::from(matches!(old, Pending::Heartbeat { .. }));
        }
        self.heartbeats += usize::from(heartbeat);
    }

    /// Whether the answer to `opaque` is read beyond its code (`on_broker_response`): a target
    /// broker's send answer (a recall handle to rename), a POP's (its messages), and answers
    /// that name the broker (renamed, the header kept whole).
    fn needs_fields(&self, opaque: i32, side: Side) -> bool {
        match self.map.get(&opaque) {
            Some(Pending::Send { .. }) => side == Side::Target,
            Some(Pending::Pop { .. } | Pending::NamesBroker { .. }) => true,
            Some(
                Pending::Pull { .. }
                | Pending::Heartbeat { .. }
                | Pending::Unregister { .. }
                | Pending::Other { .. }
                | Pending::PopFollowUp { .. },
            )
            | None => false,
        }
    }

    fn remove(&mut self, opaque: i32) -> Option<Pending> {
        let p = self.map.remove(&opaque)?;
        self.heartbeats -= usize::from(matches!(p, Pending::Heartbeat { .. }));
        Some(p)
    }
}

struct ConnState {
    side: Side,
    /// The broker this connection relays to.
    backend: String,
    client_addr: String,
    /// The queue of frames bound for the client, for requests Ferry itself sends it.
    to_client: ClientQueue,
    pending: Mutex<PendingTable>,
    connection: ConnectionId,
    /// The client id of the connection's first heartbeat the broker accepted: the connection
    /// speaks for this client and no other.
    client_id: Mutex<Option<String>>,
    /// Whether a heartbeat with another client id was logged (once per connection).
    warned_other_id: std::sync::atomic::AtomicBool,
    /// The relay's own counts.
    counts: Arc<RelayCounts>,
    /// When the client last sent a frame.
    last_request: Mutex<tokio::time::Instant>,
}

/// Ends when the client has sent nothing for `timeout` and awaits no answer from the broker (a
/// long-polling pull is awaited).
async fn idle(state: &ConnState, timeout: Duration) {
    loop {
        let since = state.last_request.lock().expect("last request lock").elapsed();
        if since >= timeout && state.pending.lock().expect("pending lock").map.is_empty() {
            return;
        }
        tokio::time::sleep(timeout.saturating_sub(since).max(Duration::from_secs(1))).await;
    }
}

/// How a heartbeat's client id stands to the connection's own.
#[derive(Debug, PartialEq, Eq)]
enum Claim {
    /// The connection had none: this one is its id from now on.
    First,
    Same,
    /// The connection speaks for another client (its id is given).
    Other(String),
}

/// Claims `id` for a connection whose own id is `own` (set if it had none).
fn claim(own: &mut Option<String>, id: &str) -> Claim {
    match own {
        None => {
            *own = Some(id.to_string());
            Claim::First
        }
        Some(own) if own == id => Claim::Same,
        Some(own) => Claim::Other(own.clone()),
    }
}

/// Records `tx` as the way to `id`: always on the connection's first claim (the client
/// reconnected), otherwise only where there is none or its connection closed. A new id is not
/// recorded beyond `cap` entries.
fn remember_channel(
    channels: &mut HashMap<String, ClientQueue>,
    id: &str,
    tx: &ClientQueue,
    first: bool,
    cap: usize,
) -> Remembered {
    if let Some(old) = channels.get_mut(id) {
        if first || old.is_closed() {
            *old = tx.clone();
            return Remembered::Yes;
        }
        return Remembered::Kept;
    }
    if channels.len() >= cap {
        return Remembered::Full;
    }
    channels.insert(id.to_string(), tx.clone());
    Remembered::Yes
}

#[derive(Debug, PartialEq, Eq)]
enum Remembered {
    Yes,
    /// Another open connection of the client stays its way.
    Kept,
    Full,
}

/// Logs a refused new way to a client now and then.
static CHANNELS_FULL: std::sync::LazyLock<Throttle> =
    std::sync::LazyLock::new(|| Throttle::new(Duration::from_secs(60)));

#[derive(Debug, thiserror::Error)]
enum PumpError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Read(#[from] limits::ReadError),
    #[error("bad frame: {0}")]
    Codec(#[from] CodecError),
    #[error("the client's side of the relay is gone")]
    ClientGone,
}

/// What the relay does with one frame: a [`Verdict`] with Ferry's own answer made into a frame.
enum Action {
    Forward,
    /// Keep a request from the broker and answer it, now or after a pause.
    Answer(Frame, Option<Duration>),
    /// Pass a different frame to the client instead.
    Replace(Frame),
    /// Pass this frame on instead of the one read, the same way (a request renamed on its way to
    /// the broker, [`crate::rename`]).
    Rewrite(Frame),
}

impl Action {
    fn of(verdict: Verdict, opaque: i32) -> Action {
        let frame = verdict.frame(opaque);
        match (verdict, frame) {
            (Verdict::AnswerAfter(pause, _), Some(f)) => Action::Answer(f, Some(pause)),
            (Verdict::Replace(_), Some(f)) => Action::Replace(f),
            (_, Some(f)) => Action::Answer(f, None),
            (_, None) => Action::Forward,
        }
    }
}

async fn write_client<W: AsyncWrite + Unpin>(mut w: W, mut queue: QueueReader) -> Result<(), PumpError> {
    while let Some(queued) = queue.recv().await {
        w.write_all(&queued.bytes).await?;
        // Its room in the queue is given back only now: what the client has not read yet counts.
        drop(queued);
    }
    Ok(())
}

async fn send_client(to_client: &ClientQueue, frame: &Frame) -> Result<(), PumpError> {
    let bytes = frame::encode_to_bytes(frame)?;
    to_client.send(bytes).await.map_err(|_| PumpError::ClientGone)
}

/// Client to broker: requests, and the client's answers to the broker's requests.
async fn to_broker<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut r: R,
    mut w: W,
    to_client: ClientQueue,
    state: Arc<ConnState>,
    ctx: Arc<RelayContext>,
) -> Result<(), PumpError> {
    let max_frame = ctx.settings.max_frame;
    let mut buf = BytesMut::with_capacity(limits::READ_BUFFER);
    let mut reader = FrameReader::new(ctx.partial.clone());
    loop {
        let mut run = 0;
        let mut progressed = false;
        while let Some(len) = frame::check(&buf[run..], max_frame)? {
            if !progressed {
                *state.last_request.lock().expect("last request lock") = tokio::time::Instant::now();
            }
            progressed = true;
            match observe(&buf[run..run + len], Direction::ToBroker, &state, &ctx)? {
                Action::Forward => run += len,
                other => {
                    if run > 0 {
                        w.write_all(&buf.split_to(run)).await?;
                        run = 0;
                    }
                    let _ = buf.split_to(len);
                    match other {
                        Action::Rewrite(f) => w.write_all(&frame::encode_to_bytes(&f)?).await?,
                        Action::Answer(f, None) | Action::Replace(f) => send_client(&to_client, &f).await?,
                        Action::Answer(f, Some(pause)) => {
                            let to_client = to_client.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(pause).await;
                                let _ = send_client(&to_client, &f).await;
                            });
                        }
                        Action::Forward => unreachable!("handled above"),
                    }
                }
            }
        }
        if run > 0 {
            w.write_all(&buf.split_to(run)).await?;
        }
        if !reader.read_more(&mut r, &mut buf, progressed).await? {
            return Ok(());
        }
    }
}

/// Broker to client: responses, and the broker's own requests.
async fn to_client_pump<R: AsyncRead + Unpin>(
    mut r: R,
    to_client: ClientQueue,
    state: Arc<ConnState>,
    ctx: Arc<RelayContext>,
) -> Result<(), PumpError> {
    let max_frame = ctx.settings.max_frame;
    let mut buf = BytesMut::with_capacity(limits::READ_BUFFER);
    loop {
        let mut run = 0;
        while let Some(len) = frame::check(&buf[run..], max_frame)? {
            match observe(&buf[run..run + len], Direction::ToClient, &state, &ctx)? {
                Action::Forward => run += len,
                Action::Replace(f) | Action::Rewrite(f) | Action::Answer(f, _) => {
                    if run > 0 {
                        // Waits while the client's queue is full: the broker is not read meanwhile.
                        to_client
                            .send(buf.split_to(run).freeze())
                            .await
                            .map_err(|_| PumpError::ClientGone)?;
                        run = 0;
                    }
                    let _ = buf.split_to(len);
                    send_client(&to_client, &f).await?;
                }
            }
        }
        if run > 0 {
            to_client.send(buf.split_to(run).freeze()).await.map_err(|_| PumpError::ClientGone)?;
        }
        if !limits::read_more(&mut r, &mut buf).await? {
            return Ok(());
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToBroker,
    ToClient,
}

/// The fields of a client request to a source broker that the relay reads: of a send, its topic,
/// producer group and batch flag ([`on_client_request`], [`send_pending`]); of a pull, its topic
/// and queue offset ([`verdict::Request::of`]); of anything else, all.
fn source_request_fields(code: i32, key: &str) -> bool {
    match Op::of(RequestCode(code)) {
        Op::Send { v2 } => {
            let (topic, group) = Op::send_fields(v2);
            key == topic || key == group || key == "batch"
        }
        Op::Pull => key == "topic" || key == "queueOffset",
        Op::Pop | Op::Other => true,
    }
}

/// One whole frame ([`frame::check`] passed it) as its serialize type, raw header and body.
fn parts(bytes: &[u8]) -> Result<(SerializeType, &[u8], &[u8]), CodecError> {
    let word = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let ty = SerializeType::from_byte((word >> 24) as u8)?;
    let header_end = PREFIX_LEN + (word & 0x00FF_FFFF) as usize;
    Ok((ty, &bytes[PREFIX_LEN..header_end], &bytes[header_end..]))
}

/// Reads what the engine needs from one whole frame and decides what becomes of it. Only the
/// header is decoded; bodies are looked at in place (heartbeats are parsed: small and rare).
fn observe(
    bytes: &[u8],
    dir: Direction,
    state: &ConnState,
    ctx: &RelayContext,
) -> Result<Action, CodecError> {
    let (ty, raw, body) = parts(bytes)?;
    // Most broker answers need only their code and opaque (a send's, a pull's, a heartbeat's):
    // their header fields are read past, not kept.
    let header = match dir {
        Direction::ToClient => {
            let fixed = Header::decode_fixed(ty, raw)?;
            let needs_fields = !fixed.is_response()
                || state.pending.lock().expect("pending lock").needs_fields(fixed.opaque, state.side);
            if needs_fields {
                Header::decode(ty, raw)?
            } else {
                fixed
            }
        }
        // A send or a pull to the source needs a few of its fields (a send's properties, the
        // longest field, are read past); the target's may be renamed, and keep everything.
        Direction::ToBroker if state.side == Side::Source => {
            Header::decode_keeping(ty, raw, &source_request_fields)?
        }
        Direction::ToBroker => Header::decode(ty, raw)?,
    };
    let verdict = match (dir, header.is_response()) {
        (Direction::ToBroker, false) => on_client_request(&header, body, ty, state, ctx),
        (Direction::ToClient, true) => on_broker_response(&header, body, ty, state, ctx),
        (Direction::ToClient, false) => on_broker_request(&header, body, ty, state, ctx),
        // The client's answers to the broker's requests pass without a look.
        _ => Action::Forward,
    };
    // Ferry's own answers in the encoding of the frame they stand for, as a broker would.
    Ok(match verdict {
        Action::Answer(mut f, pause) => {
            f.serialize_type = ty;
            Action::Answer(f, pause)
        }
        Action::Replace(mut f) => {
            f.serialize_type = ty;
            Action::Replace(f)
        }
        Action::Rewrite(mut f) => {
            f.serialize_type = ty;
            Action::Rewrite(f)
        }
        Action::Forward => Action::Forward,
    })
}

/// Requests a broker sends the client. A target broker shown under an alias names itself in a
/// reset of offsets (`RESET_CONSUMER_CLIENT_OFFSET`, matched by the client against its queues by
/// broker name): the alias replaces it. Everything else passes as it is.
fn on_broker_request(
    header: &Header,
    body: &[u8],
    ty: SerializeType,
    state: &ConnState,
    ctx: &RelayContext,
) -> Action {
    if state.side != Side::Target || header.request_code() != RequestCode::RESET_CONSUMER_CLIENT_OFFSET {
        return Action::Forward;
    }
    match crate::names::reset_offset_body(body, &|real| ctx.stages.target_alias(real)) {
        Some(renamed) => {
            Action::Replace(Frame { serialize_type: ty, header: header.clone(), body: renamed.into() })
        }
        None => Action::Forward,
    }
}

/// The stage table's policy for the topic a decision needs, looked up now.
fn policy_of(seen: &Seen<'_>, ctx: &RelayContext) -> Option<crate::stage::TopicPolicy> {
    seen.topic().and_then(|t| ctx.stages.get(t)).map(|v| v.policy)
}

fn on_client_request(
    header: &Header,
    body: &[u8],
    ty: SerializeType,
    state: &ConnState,
    ctx: &RelayContext,
) -> Action {
    let code = header.request_code();
    let now = Instant::now();
    let request = verdict::Request::of(header);
    let seen = Seen::Request(request);
    let mut poll = None;
    match verdict::decide(seen, state.side, policy_of(&seen, ctx)) {
        Verdict::Forward => {}
        // A signed request is passed as it is: changing a field would break its signature.
        Verdict::ShortenPoll(_) if header.ext_fields.contains_key(ferry_remoting::acl::SIGNATURE) => {}
        Verdict::ShortenPoll(d) => poll = Some(d),
        other => return Action::of(other, header.opaque),
    }
    // A target broker shown under an alias is told its real name where it checks it.
    let mut action = match state.side {
        Side::Target => match rename::client_request(ty, header, body, &|a| ctx.stages.target_real_name(a)) {
            rename::ToBroker::Forward => Action::Forward,
            rename::ToBroker::Rewrite(f) => Action::Rewrite(f),
            rename::ToBroker::Refuse(f) => {
                tracing::warn!(
                    client = %state.client_addr,
                    code = %code,
                    "a signed request naming a renamed broker refused: renaming it would break its \
                     ACL signature"
                );
                return Action::Answer(f, None);
            }
        },
        Side::Source => Action::Forward,
    };
    if let Some(d) = poll {
        let mut f = match action {
            Action::Rewrite(f) => f,
            _ => Frame {
                serialize_type: ty,
                header: header.clone(),
                body: bytes::Bytes::copy_from_slice(body),
            },
        };
        f.header.ext_fields.insert("pollTime".into(), d.as_millis().to_string());
        action = Action::Rewrite(f);
    }
    let pending = match (Op::of(code), code) {
        (Op::Send { v2 }, _) => {
            let (topic_field, group_field) = Op::send_fields(v2);
            let batch = code == RequestCode::SEND_BATCH_MESSAGE || header.field("batch") == Some("true");
            send_pending(header, body, topic_field, group_field, batch, state, ctx, now)
        }
        (Op::Pull, _) => request.topic.map(|t| Pending::Pull {
            topic: t.to_string(),
            queue_offset: request.queue_offset.unwrap_or("0").to_string(),
        }),
        (_, RequestCode::HEART_BEAT) => Some(heartbeat_pending(header, body, state, now)),
        (_, RequestCode::UNREGISTER_CLIENT) => match header.field("clientID") {
            // Sent once per group the client leaves (`MQClientInstance.unregisterClient`).
            Some(id) => Some(Pending::Unregister {
                client_id: id.to_string(),
                producer_group: header.field("producerGroup").map(str::to_string),
                consumer_group: header.field("consumerGroup").map(str::to_string),
                started: now,
            }),
            None => Some(Pending::Other { started: now }),
        },
        // QUERY_ASSIGNMENT: a 5.x consumer with client rebalance off (POP mode) is given its
        // queues by the broker, named as the broker knows them (`QueryAssignmentProcessor`).
        (
            _,
            RequestCode::GET_CONSUME_STATS
            | RequestCode::GET_TOPIC_STATS_INFO
            | RequestCode::INVOKE_BROKER_TO_RESET_OFFSET
            | RequestCode::QUERY_ASSIGNMENT,
        ) if state.side == Side::Target => Some(Pending::NamesBroker { started: now }),
        (Op::Pop, _) => {
            let topic = request.topic.unwrap_or_default().to_string();
            let group = header.field("consumerGroup").unwrap_or_default().to_string();
            ctx.pops.popping(state.side, &group, &topic);
            Some(Pending::Pop { topic, group, started: now })
        }
        (_, RequestCode::ACK_MESSAGE | RequestCode::CHANGE_MESSAGE_INVISIBLETIME) => {
            Some(pop_follow_up(header, code, now))
        }
        _ => Some(Pending::Other { started: now }),
    };
    if let (Some(p), false) = (pending, header.is_oneway()) {
        state.pending.lock().expect("pending lock").insert(header.opaque, p);
    }
    action
}

/// An ack or a change of invisible time, as the ledger needs it (header fields of
/// AckMessageRequestHeader / ChangeInvisibleTimeRequestHeader @ rocketmq-all-5.3.3: `consumerGroup`,
/// `topic`, `queueId`, `offset`, `invisibleTime`).
fn pop_follow_up(header: &Header, code: RequestCode, now: Instant) -> Pending {
    let field = |k: &str| header.field(k).unwrap_or_default();
    match (field("queueId").parse(), field("offset").parse()) {
        (Ok(queue_id), Ok(offset)) => Pending::PopFollowUp {
            group: field("consumerGroup").to_string(),
            topic: field("topic").to_string(),
            queue_id,
            offset,
            invisible: (code == RequestCode::CHANGE_MESSAGE_INVISIBLETIME)
                .then(|| Duration::from_millis(field("invisibleTime").parse().unwrap_or(0))),
            started: now,
        },
        _ => Pending::Other { started: now },
    }
}

/// A heartbeat, parsed and kept until the broker answers it: the registry believes the broker,
/// not the client. One for another client than the connection's own is not kept.
fn heartbeat_pending(header: &Header, body: &[u8], state: &ConnState, now: Instant) -> Pending {
    let other = Pending::Other { started: now };
    let hb = match fastjson::from_slice::<HeartbeatData>(body) {
        Ok(hb) if !hb.client_id.is_empty() => hb,
        Ok(_) => return other,
        Err(e) => {
            tracing::debug!(client = %state.client_addr, error = %e, "unreadable heartbeat");
            return other;
        }
    };
    let own = state.client_id.lock().expect("client id lock").clone();
    if let Some(own) = own.filter(|own| *own != hb.client_id) {
        warn_other_id(state, &own, &hb.client_id);
        return other;
    }
    Pending::Heartbeat {
        hb: Box::new(hb),
        language: header.language.name().to_string(),
        version: header.version,
        started: now,
    }
}

fn warn_other_id(state: &ConnState, own: &str, other: &str) {
    if !state.warned_other_id.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            peer = %state.client_addr,
            client = %own,
            other_client = %other,
            "a heartbeat for another client on a connection that speaks for one: not recorded \
             (logged once per connection)"
        );
    }
}

/// The broker accepted a heartbeat: record it if the connection speaks for its client.
fn heartbeat_accepted(
    hb: &HeartbeatData,
    language: String,
    version: i32,
    state: &ConnState,
    ctx: &RelayContext,
) {
    let claimed = claim(&mut state.client_id.lock().expect("client id lock"), &hb.client_id);
    let first = match claimed {
        Claim::First => true,
        Claim::Same => false,
        Claim::Other(own) => return warn_other_id(state, &own, &hb.client_id),
    };
    let peer = Peer {
        addr: state.client_addr.clone(),
        language,
        version,
        side: state.side,
        connection: state.connection,
    };
    if !ctx.registry.heartbeat(&peer, hb) {
        return;
    }
    let mut channels = ctx.channels.lock().expect("channels lock");
    let remembered = remember_channel(&mut channels, &hb.client_id, &state.to_client, first, MAX_CHANNELS);
    drop(channels);
    if remembered == Remembered::Full {
        if let Some(skipped) = CHANNELS_FULL.ready() {
            tracing::warn!(
                limit = MAX_CHANNELS,
                skipped,
                client = %hb.client_id,
                peer = %state.client_addr,
                "too many clients to keep a way to: Ferry cannot ask this one to rebalance"
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn send_pending(
    header: &Header,
    body: &[u8],
    topic_field: &str,
    group_field: &str,
    batch: bool,
    state: &ConnState,
    ctx: &RelayContext,
    now: Instant,
) -> Option<Pending> {
    let topic = header.field(topic_field)?;
    if let (Some(group), Some(id)) =
        (header.field(group_field), state.client_id.lock().expect("client id lock").as_deref())
    {
        ctx.registry.produced(id, group, topic);
    }
    let messages = if batch { count_messages(body) } else { 1 };
    Some(Pending::Send { topic: topic.to_string(), messages, bytes: body.len() as u64, started: now })
}

fn on_broker_response(
    header: &Header,
    body: &[u8],
    ty: SerializeType,
    state: &ConnState,
    ctx: &RelayContext,
) -> Action {
    let Some(pending) = state.pending.lock().expect("pending lock").remove(header.opaque) else {
        return Action::Forward;
    };
    let code = header.response_code();
    let awaited = match &pending {
        Pending::Pull { topic, queue_offset } => Awaited::Pull { topic, queue_offset },
        Pending::Pop { topic, .. } => Awaited::Pop { topic },
        _ => Awaited::Other,
    };
    let seen = Seen::Response { code, awaited };
    match verdict::decide(seen, state.side, policy_of(&seen, ctx)) {
        Verdict::Forward => {}
        other => return Action::of(other, header.opaque),
    }
    match pending {
        Pending::Send { topic, messages, bytes, started } => {
            ctx.traffic.latency(state.side).record(started.elapsed());
            // Stored, even when flushing or replication was slow.
            if matches!(code.0, 0 | 10 | 11 | 12) {
                ctx.traffic.record_produce(state.side, &topic, messages, bytes);
            }
            // A delayed message's recall handle names the broker that stored it.
            if state.side == Side::Target && header.ext_fields.contains_key("recallHandle") {
                let alias = |real: &str| ctx.stages.target_alias(real);
                if let Some(f) = rename::broker_response(ty, rename::Awaited::Send, header, body, &alias) {
                    return Action::Replace(f);
                }
            }
        }
        Pending::Pull { topic, .. } => {
            if code == ResponseCode::SUCCESS {
                let messages = count_messages(body);
                ctx.traffic.record_consume(state.side, &topic, messages, body.len() as u64);
                state.counts.pulled_messages.fetch_add(messages, Ordering::Relaxed);
            }
        }
        Pending::Heartbeat { hb, language, version, started } => {
            ctx.traffic.latency(state.side).record(started.elapsed());
            if code == ResponseCode::SUCCESS {
                heartbeat_accepted(&hb, language, version, state, ctx);
            }
        }
        Pending::Unregister { client_id, producer_group, consumer_group, started } => {
            ctx.traffic.latency(state.side).record(started.elapsed());
            // Only for the client the connection speaks for.
            let own = state.client_id.lock().expect("client id lock").clone();
            if code == ResponseCode::SUCCESS && own.as_deref() == Some(client_id.as_str()) {
                ctx.registry.unregister(&client_id, producer_group.as_deref(), consumer_group.as_deref());
            }
        }
        Pending::Other { started } => ctx.traffic.latency(state.side).record(started.elapsed()),
        Pending::Pop { topic, group, started } => {
            ctx.traffic.latency(state.side).record(started.elapsed());
            if code == ResponseCode::SUCCESS {
                let messages = count_messages(body);
                ctx.traffic.record_consume(state.side, &topic, messages, body.len() as u64);
                pop_handed_out(header, body, &topic, &group, state, ctx);
            }
            if state.side == Side::Source {
                return Action::Forward;
            }
            let alias = |real: &str| ctx.stages.target_alias(real);
            if let Some(f) = rename::broker_response(ty, rename::Awaited::Pop, header, body, &alias) {
                return Action::Replace(f);
            }
        }
        Pending::PopFollowUp { group, topic, queue_id, offset, invisible, started } => {
            ctx.traffic.latency(state.side).record(started.elapsed());
            if code == ResponseCode::SUCCESS {
                let (side, broker) = (state.side, state.backend.as_str());
                match invisible {
                    None => ctx.pops.acked(side, &group, &topic, broker, queue_id, offset),
                    Some(d) => ctx.pops.invisible_changed(
                        side,
                        &group,
                        &topic,
                        broker,
                        queue_id,
                        offset,
                        d,
                        Instant::now(),
                    ),
                }
            }
        }
        Pending::NamesBroker { started } => {
            ctx.traffic.latency(state.side).record(started.elapsed());
            if code == ResponseCode::SUCCESS {
                if let Some(renamed) =
                    crate::names::broker_fields(body, &|real| ctx.stages.target_alias(real))
                {
                    let frame = Frame {
                        serialize_type: SerializeType::Json,
                        header: header.clone(),
                        body: renamed.into(),
                    };
                    return Action::Replace(frame);
                }
            }
        }
    }
    Action::Forward
}

/// The messages of a POP answer into the ledger: each by its queue and queue offset, read from
/// the POP retry topic when it carries `POP_CK` (the broker's own receipt, put only in retry
/// messages: PopMessageProcessor ~L834 @ rocketmq-all-5.3.3) or names a `%RETRY%` topic;
/// invisible for the answer's `invisibleTime`.
fn pop_handed_out(
    header: &Header,
    body: &[u8],
    topic: &str,
    group: &str,
    state: &ConnState,
    ctx: &RelayContext,
) {
    let Ok(messages) = ferry_admin::decode_messages(body) else {
        tracing::debug!(client = %state.client_addr, "a POP answer that does not read as messages");
        return;
    };
    let invisible =
        Duration::from_millis(header.field("invisibleTime").and_then(|t| t.parse().ok()).unwrap_or(0));
    let handed = messages.into_iter().map(|m| crate::pop::Handed {
        broker: state.backend.clone(),
        retry: m.property(rename::POP_CK).is_some() || m.topic.starts_with("%RETRY%"),
        queue_id: m.queue_id,
        offset: m.queue_offset,
    });
    ctx.pops.handed_out(state.side, group, topic, handed, invisible, Instant::now());
}

/// Opaques of requests Ferry itself sends clients, counting down from the top of the range so as
/// not to look like the broker's (which count up from 0).
static NUDGE_OPAQUE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(i32::MAX);

/// Tells `client_id` that the consumers of `group` changed (NOTIFY_CONSUMER_IDS_CHANGED, oneway, as
/// a broker does): the Java client rebalances at once instead of at its next 20-second round, with
/// the route it holds. False when Ferry has no open connection to the client.
pub(crate) fn nudge(ctx: &RelayContext, client_id: &str, group: &str) -> bool {
    let Some(tx) = ctx.channels.lock().expect("channels lock").get(client_id).cloned() else { return false };
    let mut frame = Frame::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED)
        .with_fields([("consumerGroup", group)])
        .oneway();
    frame.header.opaque = NUDGE_OPAQUE.fetch_sub(1, Ordering::Relaxed);
    let Ok(bytes) = frame::encode_to_bytes(&frame) else { return false };
    match tx.try_send(bytes) {
        Ok(()) => true,
        Err(limits::TrySendError::Closed) => {
            ctx.channels.lock().expect("channels lock").remove(client_id);
            false
        }
        // A client that is not reading will rebalance on its own schedule.
        Err(limits::TrySendError::Full) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn a_connection_speaks_for_the_first_client_id_accepted_on_it() {
        let mut own = None;
        assert_eq!(claim(&mut own, "10.0.0.5@1"), Claim::First);
        assert_eq!(claim(&mut own, "10.0.0.5@1"), Claim::Same);
        assert_eq!(claim(&mut own, "10.6.6.6@forged"), Claim::Other("10.0.0.5@1".into()));
        assert_eq!(own.as_deref(), Some("10.0.0.5@1"), "unchanged by another id");
    }

    #[test]
    fn a_way_to_a_client_moves_only_with_its_own_accepted_heartbeat_and_is_bounded() {
        let (a, _ra) = ClientQueue::new(1);
        let (b, _rb) = ClientQueue::new(1);
        let mut map = HashMap::new();
        assert_eq!(remember_channel(&mut map, "c1", &a, true, 2), Remembered::Yes);
        // Another connection of the same client heartbeating again keeps the way where it is...
        assert_eq!(remember_channel(&mut map, "c1", &b, false, 2), Remembered::Kept);
        assert!(map["c1"].same_channel(&a));
        // ...but its first accepted heartbeat (a reconnect) moves it.
        assert_eq!(remember_channel(&mut map, "c1", &b, true, 2), Remembered::Yes);
        assert!(map["c1"].same_channel(&b));
        assert_eq!(remember_channel(&mut map, "c2", &a, true, 2), Remembered::Yes);
        assert_eq!(remember_channel(&mut map, "c3", &a, true, 2), Remembered::Full);
        assert_eq!(map.len(), 2);
        // A way whose connection closed is replaced by any connection of the client.
        let (c, rc) = ClientQueue::new(1);
        assert_eq!(remember_channel(&mut map, "c2", &c, true, 2), Remembered::Yes);
        drop(rc);
        assert_eq!(remember_channel(&mut map, "c2", &a, false, 2), Remembered::Yes);
        assert!(map["c2"].same_channel(&a));
        assert_eq!(MAX_CHANNELS, MAX_CLIENTS);
    }

    fn heartbeat(id: &str) -> Pending {
        let hb = HeartbeatData { client_id: id.into(), ..Default::default() };
        Pending::Heartbeat {
            hb: Box::new(hb),
            language: "JAVA".into(),
            version: 409,
            started: Instant::now(),
        }
    }

    #[test]
    fn pending_heartbeats_are_bounded_per_connection() {
        let mut t = PendingTable::default();
        for opaque in 0..MAX_PENDING_HEARTBEATS as i32 + 3 {
            t.insert(opaque, heartbeat(&format!("c{opaque}")));
        }
        assert_eq!(t.heartbeats, MAX_PENDING_HEARTBEATS);
        let last = MAX_PENDING_HEARTBEATS as i32 + 2;
        assert!(matches!(t.remove(last), Some(Pending::Other { .. })), "kept for its latency only");
        assert!(matches!(t.remove(0), Some(Pending::Heartbeat { .. })));
        assert_eq!(t.heartbeats, MAX_PENDING_HEARTBEATS - 1);
        t.insert(0, heartbeat("again"));
        // An opaque reused replaces what it had.
        t.insert(0, Pending::Other { started: Instant::now() });
        assert_eq!(t.heartbeats, MAX_PENDING_HEARTBEATS - 1);
        assert!(t.remove(12_345).is_none());
        assert_eq!(t.map.len(), MAX_PENDING_HEARTBEATS + 2);
    }

    fn context(registry: ClientRegistry) -> RelayContext {
        RelayContext::new(
            RelaySettings::on("127.0.0.1", (1, 2)),
            Arc::default(),
            Arc::new(registry),
            Arc::default(),
            CancellationToken::new(),
        )
    }

    fn connection(connection: ConnectionId) -> (ConnState, QueueReader) {
        let (to_client, rx) = ClientQueue::new(1024);
        let state = ConnState {
            side: Side::Source,
            backend: "127.0.0.1:10911".into(),
            client_addr: format!("10.0.0.5:{connection}"),
            to_client,
            pending: Mutex::default(),
            connection,
            client_id: Mutex::new(None),
            warned_other_id: Default::default(),
            counts: Arc::default(),
            last_request: Mutex::new(tokio::time::Instant::now()),
        };
        (state, rx)
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_is_idle_only_when_silent_and_awaiting_nothing() {
        let (state, _rx) = connection(1);
        let timeout = Duration::from_secs(60);
        let started = tokio::time::Instant::now();
        // A pull held by the broker is awaited: not idle, however long it takes.
        state.pending.lock().unwrap().insert(7, Pending::Other { started: Instant::now() });
        let awaited = tokio::time::timeout(Duration::from_secs(300), idle(&state, timeout)).await;
        assert!(awaited.is_err(), "idle while an answer was awaited");
        state.pending.lock().unwrap().remove(7);
        // A frame sent now restarts the wait.
        *state.last_request.lock().unwrap() = tokio::time::Instant::now();
        idle(&state, timeout).await;
        let waited = started.elapsed() - Duration::from_secs(300);
        assert!(waited >= timeout && waited <= timeout + Duration::from_secs(1), "{waited:?}");
    }

    /// A heartbeat through the relay and the broker's answer to it.
    fn heartbeat_answered(
        id: &str,
        opaque: i32,
        answer: ResponseCode,
        state: &ConnState,
        ctx: &RelayContext,
    ) {
        let body = format!(
            r#"{{"clientID":"{id}","consumerDataSet":[{{"groupName":"cg","subscriptionDataSet":[{{"topic":"orders"}}]}}],"producerDataSet":[]}}"#
        );
        let mut hb = Frame::request(RequestCode::HEART_BEAT).with_body(body.into_bytes());
        hb.header.opaque = opaque;
        through(&hb, Direction::ToBroker, state, ctx);
        through(&Frame::response(answer, opaque), Direction::ToClient, state, ctx);
    }

    fn through(f: &Frame, dir: Direction, state: &ConnState, ctx: &RelayContext) {
        let bytes = frame::encode_to_bytes(f).unwrap();
        assert!(matches!(observe(&bytes, dir, state, ctx).unwrap(), Action::Forward));
    }

    fn ids(ctx: &RelayContext) -> Vec<String> {
        ctx.registry.clients().into_iter().map(|c| c.client_id).collect()
    }

    #[test]
    fn the_registry_records_a_heartbeat_only_once_the_broker_accepts_it() {
        let ctx = context(ClientRegistry::default());
        let (a, _rx) = connection(1);
        // Refused (as an ACL broker refuses an unsigned heartbeat): nothing recorded, and the
        // connection speaks for no client yet.
        heartbeat_answered("10.6.6.6@forged", 1, ResponseCode::NO_PERMISSION, &a, &ctx);
        heartbeat_answered("10.6.6.6@forged", 2, ResponseCode::SYSTEM_ERROR, &a, &ctx);
        assert!(ids(&ctx).is_empty());
        assert!(ctx.channels.lock().unwrap().is_empty());
        assert!(!nudge(&ctx, "10.6.6.6@forged", "cg"));
        // Accepted: recorded, with a way to the client and the connection counted.
        heartbeat_answered("10.0.0.5@1", 3, ResponseCode::SUCCESS, &a, &ctx);
        assert_eq!(ids(&ctx), ["10.0.0.5@1"]);
        assert_eq!(ctx.registry.clients()[0].connections, 1);
        assert!(ctx.registry.clients()[0].subscribes("orders"));
        // Another id on the same connection, even accepted by the broker, is not recorded.
        heartbeat_answered("10.6.6.6@forged", 4, ResponseCode::SUCCESS, &a, &ctx);
        assert_eq!(ids(&ctx), ["10.0.0.5@1"]);
        // Nor may the connection unregister another client.
        heartbeat_answered("10.0.0.7@2", 5, ResponseCode::SUCCESS, &connection(2).0, &ctx);
        let unregister = |id: &str, opaque: i32, state: &ConnState| {
            let mut f = Frame::request(RequestCode::UNREGISTER_CLIENT)
                .with_fields([("clientID", id), ("consumerGroup", "cg")]);
            f.header.opaque = opaque;
            through(&f, Direction::ToBroker, state, &ctx);
            through(&Frame::response(ResponseCode::SUCCESS, opaque), Direction::ToClient, state, &ctx);
        };
        unregister("10.0.0.7@2", 6, &a);
        assert_eq!(ids(&ctx), ["10.0.0.5@1", "10.0.0.7@2"]);
        unregister("10.0.0.5@1", 7, &a);
        assert_eq!(ids(&ctx), ["10.0.0.7@2"], "its own client, once the broker accepted it");
    }

    #[test]
    fn a_nudge_goes_to_the_connection_that_carried_the_id_and_moves_with_a_reconnect() {
        let ctx = context(ClientRegistry::default());
        let (a, mut rx_a) = connection(1);
        let (b, mut rx_b) = connection(2);
        heartbeat_answered("10.0.0.5@1", 1, ResponseCode::SUCCESS, &a, &ctx);
        // B claims the same id, refused by the broker: the way stays A's.
        heartbeat_answered("10.0.0.5@1", 1, ResponseCode::NO_PERMISSION, &b, &ctx);
        assert!(nudge(&ctx, "10.0.0.5@1", "cg"));
        let sent = rx_a.try_recv().unwrap();
        let f = frame::decode_one(&sent.bytes, frame::DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(f.header.request_code(), RequestCode::NOTIFY_CONSUMER_IDS_CHANGED);
        assert!(rx_b.try_recv().is_none());
        // Accepted on B (the client reconnected): the way moves to B.
        heartbeat_answered("10.0.0.5@1", 2, ResponseCode::SUCCESS, &b, &ctx);
        assert_eq!(ctx.registry.clients()[0].connections, 2);
        assert!(nudge(&ctx, "10.0.0.5@1", "cg"));
        assert!(rx_b.try_recv().is_some() && rx_a.try_recv().is_none());
    }

    #[test]
    fn a_full_registry_keeps_no_way_to_an_unrecorded_client() {
        let ctx = context(ClientRegistry::with_limit(1));
        let (a, _ra) = connection(1);
        let (b, _rb) = connection(2);
        heartbeat_answered("10.0.0.5@1", 1, ResponseCode::SUCCESS, &a, &ctx);
        heartbeat_answered("10.0.0.7@2", 1, ResponseCode::SUCCESS, &b, &ctx);
        assert_eq!(ids(&ctx), ["10.0.0.5@1"]);
        assert_eq!(ctx.channels.lock().unwrap().len(), 1);
    }

    /// The frame the relay passes on for `f` (the same one when it forwards it).
    fn passed(f: &Frame, dir: Direction, state: &ConnState, ctx: &RelayContext) -> (&'static str, Frame) {
        let bytes = frame::encode_to_bytes(f).unwrap();
        match observe(&bytes, dir, state, ctx).unwrap() {
            Action::Forward => ("forward", f.clone()),
            Action::Rewrite(f) => ("rewrite", f),
            Action::Replace(f) => ("replace", f),
            Action::Answer(f, _) => ("answer", f),
        }
    }

    #[test]
    fn a_pop_on_a_side_read_but_not_written_waits_briefly() {
        use crate::stage::{Stage, TopicPolicy};
        let ctx = context(ClientRegistry::default());
        let (source, _rx) = connection(1);
        let (mut target, _rx2) = connection(2);
        target.side = Side::Target;
        let mut pop = Frame::request(RequestCode::POP_MESSAGE).with_fields([
            ("consumerGroup", "g"),
            ("topic", "orders"),
            ("queueId", "-1"),
            ("invisibleTime", "60000"),
            ("pollTime", "20000"),
            ("bornTime", "1700000000000"),
        ]);
        pop.header.opaque = 9;
        // CuttingOver: the source drains, nobody writes it.
        ctx.stages.set("orders", TopicPolicy::at(Stage::CuttingOver));
        let (what, f) = passed(&pop, Direction::ToBroker, &source, &ctx);
        assert_eq!((what, f.header.field("pollTime"), f.header.opaque), ("rewrite", Some("200"), 9));
        assert_eq!(f.header.field("invisibleTime"), Some("60000"), "the rest as it came");
        assert_eq!(passed(&pop, Direction::ToBroker, &target, &ctx).0, "forward", "the target is written");
        // DualRead: the target is read, not written; a short poll already is left alone.
        ctx.stages.set("orders", TopicPolicy::at(Stage::DualRead));
        assert_eq!(passed(&pop, Direction::ToBroker, &target, &ctx).1.header.field("pollTime"), Some("200"));
        let mut short = pop.clone();
        short.header.ext_fields.insert("pollTime".into(), "150".into());
        assert_eq!(passed(&short, Direction::ToBroker, &target, &ctx).0, "forward");
        // Signed: passed as it is (a changed field would break the signature).
        let mut signed = pop.clone();
        ferry_remoting::acl::Credentials::new("app", "secret").sign(&mut signed);
        assert_eq!(passed(&signed, Direction::ToBroker, &target, &ctx).0, "forward");
    }

    #[test]
    fn sends_and_pulls_to_the_source_are_read_for_the_fields_the_relay_needs() {
        use crate::stage::{Stage, TopicPolicy};
        let ctx = context(ClientRegistry::default());
        let (source, _rx) = connection(1);
        *source.client_id.lock().unwrap() = Some("10.0.0.5@1".into());
        // Completed: the source is not read; a pull is answered from its own offset.
        ctx.stages.set("orders", TopicPolicy::at(Stage::Completed));
        let mut pull = Frame::request(RequestCode::PULL_MESSAGE).with_fields([
            ("consumerGroup", "g"),
            ("topic", "orders"),
            ("queueId", "3"),
            ("queueOffset", "42"),
            ("maxMsgNums", "32"),
            ("subscription", "*"),
        ]);
        pull.header.opaque = 3;
        let (what, f) = passed(&pull, Direction::ToBroker, &source, &ctx);
        assert_eq!((what, f.header.opaque, f.header.field("nextBeginOffset")), ("answer", 3, Some("42")));
        // DualReadWrite: a send passes as it came, and is counted for its topic and group.
        ctx.stages.set("orders", TopicPolicy::at(Stage::DualReadWrite));
        let mut send = Frame::request(RequestCode::SEND_MESSAGE_V2).with_fields([
            ("a", "pg"),
            ("b", "orders"),
            ("e", "1"),
            ("i", "KEYS\u{1}k1\u{2}WAIT\u{1}true\u{2}"),
        ]);
        send.header.opaque = 4;
        send.body = bytes::Bytes::from_static(b"hello");
        assert_eq!(passed(&send, Direction::ToBroker, &source, &ctx).0, "forward");
        let awaited = source.pending.lock().unwrap().remove(4);
        match awaited {
            Some(Pending::Send { topic, messages: 1, bytes: 5, .. }) => assert_eq!(topic, "orders"),
            _ => panic!("the send is awaited"),
        }
    }

    #[test]
    fn only_target_relays_rename_and_only_for_a_broker_shown_under_an_alias() {
        let ctx = context(ClientRegistry::default());
        ctx.stages.set_broker_aliases(HashMap::from([("broker-a".to_string(), "zz-broker-a".to_string())]));
        let (mut target, _rx) = connection(1);
        target.side = Side::Target;
        let (source, _rx2) = connection(2);
        let receipt = "5 1718000000000 60000 2 0 zz-broker-a 1 7";
        let mut ack = Frame::request(RequestCode::ACK_MESSAGE).with_fields([
            ("consumerGroup", "g"),
            ("topic", "orders"),
            ("extraInfo", receipt),
        ]);
        ack.header.opaque = 5;
        let (what, f) = passed(&ack, Direction::ToBroker, &target, &ctx);
        assert_eq!(what, "rewrite");
        assert_eq!(f.header.field("extraInfo"), Some("5 1718000000000 60000 2 0 broker-a 1 7"));
        assert_eq!((f.header.opaque, f.serialize_type), (5, SerializeType::Json));
        assert_eq!(
            passed(&ack, Direction::ToBroker, &source, &ctx).0,
            "forward",
            "source relays never rename"
        );
        // Signed: answered by Ferry, nothing sent to the broker.
        let mut signed = ack.clone();
        signed.header.opaque = 6;
        ferry_remoting::acl::Credentials::new("app", "secret").sign(&mut signed);
        let (what, f) = passed(&signed, Direction::ToBroker, &target, &ctx);
        assert_eq!(
            (what, f.header.response_code(), f.header.opaque),
            ("answer", ResponseCode::NO_PERMISSION, 6)
        );
        // No alias any more (a migration without colliding names): nothing renamed.
        ctx.stages.set_broker_aliases(HashMap::new());
        assert_eq!(passed(&ack, Direction::ToBroker, &target, &ctx).0, "forward");
        ctx.stages.set_broker_aliases(HashMap::from([("broker-a".to_string(), "zz-broker-a".to_string())]));

        // A send's answer is renamed only when the relay kept the send (target side), in the
        // encoding it came in.
        let handle = base64::engine::general_purpose::URL_SAFE.encode("v1 orders broker-a 1718000060001 AB");
        let mut send =
            Frame::request(RequestCode::SEND_MESSAGE_V2).with_fields([("a", "pg"), ("b", "orders")]);
        send.header.opaque = 7;
        send.serialize_type = SerializeType::RocketMq;
        let mut answer = Frame::response(ResponseCode::SUCCESS, 7).with_fields([
            ("msgId", "AB"),
            ("queueId", "0"),
            ("queueOffset", "0"),
            ("recallHandle", &handle),
        ]);
        answer.serialize_type = SerializeType::RocketMq;
        for (state, want) in [(&target, "zz-broker-a"), (&source, "broker-a")] {
            assert_eq!(passed(&send, Direction::ToBroker, state, &ctx).0, "forward");
            let (_, f) = passed(&answer, Direction::ToClient, state, &ctx);
            let decoded =
                base64::engine::general_purpose::URL_SAFE.decode(f.header.field("recallHandle").unwrap());
            assert_eq!(
                String::from_utf8(decoded.unwrap()).unwrap(),
                format!("v1 orders {want} 1718000060001 AB")
            );
            assert_eq!(f.serialize_type, SerializeType::RocketMq);
        }

        // QUERY_ASSIGNMENT's answer names queues as the broker knows them.
        let mut query = Frame::request(RequestCode::QUERY_ASSIGNMENT).with_body(&b"{}"[..]);
        query.header.opaque = 8;
        let assigned = br#"{"messageQueueAssignments":[{"messageQueue":{"brokerName":"broker-a","queueId":0,"topic":"orders"},"mode":"POP"}]}"#;
        let answer = Frame::response(ResponseCode::SUCCESS, 8).with_body(&assigned[..]);
        passed(&query, Direction::ToBroker, &target, &ctx);
        let (what, f) = passed(&answer, Direction::ToClient, &target, &ctx);
        assert_eq!(what, "replace");
        assert!(String::from_utf8_lossy(&f.body).contains(r#"{"brokerName":"zz-broker-a","queueId":0"#));
    }
}
