//! Broker relays: one listening address per backend broker, one upstream connection per client
//! connection. Frames pass both ways as they are (bytes untouched), including the requests brokers
//! send to clients, except where the topic's stage says otherwise ([`crate::verdict`]): a send
//! where nobody reads any more is refused, a pull where the stage does not read is answered "no
//! new message" after a pause, and a held pull's messages are replaced by "no new message" when
//! the stage changed meanwhile. On the way the relay reads headers (never copying bodies) to count
//! traffic and learn who the clients are. One to one relaying means opaques need no rewriting and
//! broker-initiated requests reach the right client by construction (DESIGN.md).
//!
//! Each relay listens on a pair of ports, `p` and `p - 2`: a 4.x client with the VIP channel on
//! sends to port − 2 of the broker address it was given.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferry_remoting::body::HeartbeatData;
use ferry_remoting::code::{RequestCode, ResponseCode};
use ferry_remoting::frame::{self, PREFIX_LEN};
use ferry_remoting::header::{Header, SerializeType};
use ferry_remoting::{fastjson, CodecError, Frame};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::registry::{ClientRegistry, Peer};
use crate::route::Side;
use crate::stage::StageTable;
use crate::traffic::{count_messages, Traffic};
use crate::verdict::{self, Awaited, Op, Seen, Verdict};

/// Requests awaiting a response on one connection, bounded so a client that never reads cannot
/// grow it without limit (beyond the bound, requests pass unobserved).
const MAX_PENDING: usize = 65_536;

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
    /// A way to each client seen in a heartbeat (its latest connection), for requests Ferry sends
    /// clients itself.
    pub channels: Mutex<HashMap<String, mpsc::Sender<Bytes>>>,
    /// Cancelled when the proxy stops: every relayed connection closes with it.
    pub shutdown: CancellationToken,
}

struct Relay {
    assignment: RelayAssignment,
    accept_loops: Vec<JoinHandle<()>>,
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
        let accept_loops = listeners
            .into_iter()
            .map(|l| tokio::spawn(accept_loop(l, a.side, a.backend.clone(), self.ctx.clone())))
            .collect();
        Ok(Relay { assignment: a, accept_loops })
    }
}

async fn accept_loop(listener: TcpListener, side: Side, backend: String, ctx: Arc<RelayContext>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = ctx.shutdown.cancelled() => return,
        };
        match accepted {
            Ok((client, addr)) => {
                tokio::spawn(serve_client(client, addr, side, backend.clone(), ctx.clone()));
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
    side: Side,
    backend: String,
    ctx: Arc<RelayContext>,
) {
    let counter = &ctx.connections[side as usize];
    counter.fetch_add(1, Ordering::Relaxed);
    let _counted = Counted(counter);
    let upstream = match tokio::time::timeout(ctx.settings.connect_timeout, TcpStream::connect(&backend))
        .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(%side, %backend, client = %addr, error = %e, "broker unreachable; closing client");
            return;
        }
        Err(_) => {
            tracing::warn!(%side, %backend, client = %addr, "broker connect timed out; closing client");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    // Everything bound for the client goes through one queue: the broker's frames, and answers
    // the relay gives itself.
    let (to_client, queue) = mpsc::channel::<Bytes>(256);
    let state = Arc::new(ConnState {
        side,
        client_addr: addr.to_string(),
        to_client: to_client.clone(),
        pending: Mutex::new(HashMap::new()),
        client_id: Mutex::new(None),
    });
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    let up = to_broker(cr, uw, to_client.clone(), state.clone(), ctx.clone());
    let down = to_client_pump(ur, to_client.clone(), state.clone(), ctx.clone());
    let mut writer = tokio::spawn(write_client(cw, queue));
    // Either side ending ends both: the client reconnects and re-sends, as with a broker restart.
    let ended = tokio::select! {
        r = up => ("client", r),
        r = down => ("broker", r),
        r = &mut writer => ("client", r.unwrap_or(Err(PumpError::ClientGone))),
        _ = ctx.shutdown.cancelled() => ("Ferry", Ok(())),
    };
    // What the broker answered before it closed still reaches the client: a lost answer to a
    // stored send would make the client send it again.
    if ended.0 == "broker" {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while to_client.capacity() < to_client.max_capacity() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writer.abort();
    // Forget the way to this client if it was this connection.
    if let Some(id) = state.client_id.lock().expect("client id lock").as_deref() {
        let mut channels = ctx.channels.lock().expect("channels lock");
        if channels.get(id).is_some_and(|tx| tx.same_channel(&state.to_client)) {
            channels.remove(id);
        }
    }
    match ended {
        (_, Ok(())) => {
            tracing::debug!(%side, %backend, client = %addr, by = ended.0, "relay connection closed")
        }
        (by, Err(e)) => {
            tracing::warn!(%side, %backend, client = %addr, from = by, error = %e, "relay connection dropped")
        }
    }
}

enum Pending {
    Send { topic: String, messages: u64, bytes: u64, started: Instant },
    Pull { topic: String, queue_offset: String },
    Other { started: Instant },
}

struct ConnState {
    side: Side,
    client_addr: String,
    /// The queue of frames bound for the client, for requests Ferry itself sends it.
    to_client: mpsc::Sender<Bytes>,
    pending: Mutex<HashMap<i32, Pending>>,
    /// Learnt from the connection's first heartbeat.
    client_id: Mutex<Option<String>>,
}

#[derive(Debug, thiserror::Error)]
enum PumpError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
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

async fn write_client(mut w: OwnedWriteHalf, mut queue: mpsc::Receiver<Bytes>) -> Result<(), PumpError> {
    while let Some(bytes) = queue.recv().await {
        w.write_all(&bytes).await?;
    }
    Ok(())
}

async fn send_client(to_client: &mpsc::Sender<Bytes>, frame: &Frame) -> Result<(), PumpError> {
    let bytes = frame::encode_to_bytes(frame)?;
    to_client.send(bytes).await.map_err(|_| PumpError::ClientGone)
}

/// A connection's read buffer starts small: most connections are idle most of the time, and a
/// thousand of them must stay cheap.
const READ_BUFFER: usize = 8 * 1024;

/// Reads more bytes into `buf`; false at the end of the stream. Runs of whole frames that pass
/// unchanged leave `buf` as one split-off buffer each, without copying.
async fn read_more(r: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<bool, PumpError> {
    if buf.is_empty() && buf.capacity() > 2 * READ_BUFFER {
        // A large frame went through: give its memory back rather than keep it per connection.
        *buf = BytesMut::with_capacity(READ_BUFFER);
    } else if buf.len() >= 4 {
        // Part of a frame: room for the rest of it (its length word says how much), at least.
        let frame_len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize + 4;
        let want = frame_len.saturating_sub(buf.len()).clamp(READ_BUFFER / 2, 4 * 1024 * 1024);
        if buf.capacity() - buf.len() < want {
            buf.reserve(want);
        }
    } else if buf.capacity() - buf.len() < READ_BUFFER / 2 {
        buf.reserve(READ_BUFFER);
    }
    Ok(r.read_buf(buf).await? > 0)
}

/// Client to broker: requests, and the client's answers to the broker's requests.
async fn to_broker(
    mut r: OwnedReadHalf,
    mut w: OwnedWriteHalf,
    to_client: mpsc::Sender<Bytes>,
    state: Arc<ConnState>,
    ctx: Arc<RelayContext>,
) -> Result<(), PumpError> {
    let max_frame = ctx.settings.max_frame;
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    loop {
        let mut run = 0;
        while let Some(len) = frame::check(&buf[run..], max_frame)? {
            match observe(&buf[run..run + len], Direction::ToBroker, &state, &ctx)? {
                Action::Forward => run += len,
                other => {
                    if run > 0 {
                        w.write_all(&buf.split_to(run)).await?;
                        run = 0;
                    }
                    let _ = buf.split_to(len);
                    match other {
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
        if !read_more(&mut r, &mut buf).await? {
            return Ok(());
        }
    }
}

/// Broker to client: responses, and the broker's own requests.
async fn to_client_pump(
    mut r: OwnedReadHalf,
    to_client: mpsc::Sender<Bytes>,
    state: Arc<ConnState>,
    ctx: Arc<RelayContext>,
) -> Result<(), PumpError> {
    let max_frame = ctx.settings.max_frame;
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    loop {
        let mut run = 0;
        while let Some(len) = frame::check(&buf[run..], max_frame)? {
            match observe(&buf[run..run + len], Direction::ToClient, &state, &ctx)? {
                Action::Forward => run += len,
                Action::Replace(f) | Action::Answer(f, _) => {
                    if run > 0 {
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
        if !read_more(&mut r, &mut buf).await? {
            return Ok(());
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToBroker,
    ToClient,
}

/// Reads what the engine needs from one whole frame and decides what becomes of it. Only the
/// header is decoded; bodies are looked at in place (heartbeats are parsed: small and rare).
fn observe(
    bytes: &[u8],
    dir: Direction,
    state: &ConnState,
    ctx: &RelayContext,
) -> Result<Action, CodecError> {
    let word = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let ty = SerializeType::from_byte((word >> 24) as u8)?;
    let header_len = (word & 0x00FF_FFFF) as usize;
    let header = Header::decode(ty, &bytes[PREFIX_LEN..PREFIX_LEN + header_len])?;
    let body = &bytes[PREFIX_LEN + header_len..];
    let verdict = match (dir, header.is_response()) {
        (Direction::ToBroker, false) => on_client_request(&header, body, state, ctx),
        (Direction::ToClient, true) => on_broker_response(&header, body, state, ctx),
        // Broker-initiated requests and the client's answers pass without a look.
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
        Action::Forward => Action::Forward,
    })
}

/// The stage table's policy for the topic a decision needs, looked up now.
fn policy_of(seen: &Seen<'_>, ctx: &RelayContext) -> Option<crate::stage::TopicPolicy> {
    seen.topic().and_then(|t| ctx.stages.get(t)).map(|v| v.policy)
}

fn on_client_request(header: &Header, body: &[u8], state: &ConnState, ctx: &RelayContext) -> Action {
    let code = header.request_code();
    let now = Instant::now();
    let request = verdict::Request::of(header);
    let seen = Seen::Request(request);
    match verdict::decide(seen, state.side, policy_of(&seen, ctx)) {
        Verdict::Forward => {}
        other => return Action::of(other, header.opaque),
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
        (_, RequestCode::HEART_BEAT) => {
            match fastjson::from_slice::<HeartbeatData>(body) {
                Ok(hb) => {
                    let peer = Peer {
                        addr: state.client_addr.clone(),
                        language: header.language.name().to_string(),
                        version: header.version,
                        side: state.side,
                    };
                    ctx.registry.heartbeat(&peer, &hb);
                    ctx.channels
                        .lock()
                        .expect("channels lock")
                        .insert(hb.client_id.clone(), state.to_client.clone());
                    *state.client_id.lock().expect("client id lock") = Some(hb.client_id);
                }
                Err(e) => tracing::debug!(client = %state.client_addr, error = %e, "unreadable heartbeat"),
            }
            Some(Pending::Other { started: now })
        }
        (_, RequestCode::UNREGISTER_CLIENT) => {
            // Sent once per group the client leaves (`MQClientInstance.unregisterClient`).
            if let Some(id) = header.field("clientID") {
                ctx.registry.unregister(id, header.field("producerGroup"), header.field("consumerGroup"));
            }
            Some(Pending::Other { started: now })
        }
        _ => Some(Pending::Other { started: now }),
    };
    if let (Some(p), false) = (pending, header.is_oneway()) {
        let mut map = state.pending.lock().expect("pending lock");
        if map.len() < MAX_PENDING {
            map.insert(header.opaque, p);
        }
    }
    Action::Forward
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

fn on_broker_response(header: &Header, body: &[u8], state: &ConnState, ctx: &RelayContext) -> Action {
    let Some(pending) = state.pending.lock().expect("pending lock").remove(&header.opaque) else {
        return Action::Forward;
    };
    let code = header.response_code();
    let awaited = match &pending {
        Pending::Pull { topic, queue_offset } => Awaited::Pull { topic, queue_offset },
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
        }
        Pending::Pull { topic, .. } => {
            if code == ResponseCode::SUCCESS {
                ctx.traffic.record_consume(state.side, &topic, count_messages(body), body.len() as u64);
            }
        }
        Pending::Other { started } => ctx.traffic.latency(state.side).record(started.elapsed()),
    }
    Action::Forward
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
        Err(mpsc::error::TrySendError::Closed(_)) => {
            ctx.channels.lock().expect("channels lock").remove(client_id);
            false
        }
        // A client that is not reading will rebalance on its own schedule.
        Err(mpsc::error::TrySendError::Full(_)) => false,
    }
}
