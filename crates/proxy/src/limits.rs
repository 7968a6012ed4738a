//! What one peer, or many, can hold of Ferry through the relays and the NameServer front.
//!
//! - [`Admission`]: a global and a per-peer-address (IP) cap on open connections. A connection
//!   over either is closed as soon as it is accepted, and logged (now and then, with the peer).
//! - [`FrameReader`]: a peer that started a frame must finish it within the frame timeout. A
//!   connection that sends nothing keeps no deadline (clients keep idle connections, and a client
//!   waiting for its broker's answer to a long-polling pull has sent its whole request). Frames
//!   larger than [`SMALL_FRAME`] are read only within a budget of bytes shared by every
//!   connection, so half-sent large frames cannot grow memory without bound: beyond it a peer
//!   waits (its frame's deadline still running) for others to finish theirs.
//! - [`ClientQueue`]: what waits to be written to one peer, bounded in bytes. A sender beyond the
//!   bound waits: the relay stops reading from the broker for that connection (TCP pushes back on
//!   the broker) rather than buffering.
//! - [`raise_open_files`]: the soft open-file limit raised to the hard limit at start, and
//!   [`fit_to_open_files`]: the caps fitted to what the process may open, so that a flood of
//!   connections is refused by Ferry before the process runs out of descriptors (the HTTP API, the
//!   store and connections to clusters need theirs).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::registry::Throttle;

/// A global and a per-peer-address cap on open connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionCaps {
    /// Open connections at most, all peers together.
    pub max: usize,
    /// Open connections at most from one IP address (IPv4-mapped IPv6 counted as IPv4).
    pub per_ip: usize,
}

impl ConnectionCaps {
    /// Relayed client connections (each also holds one to its broker: two descriptors). A Java
    /// client instance opens one connection per broker it uses (two with the VIP channel of old
    /// 4.x clients), so 1,024 from one address is some fifty client instances on a host (or
    /// behind one NAT address) each using ten brokers.
    pub const RELAYS: ConnectionCaps = ConnectionCaps { max: 8_192, per_ip: 1_024 };
    /// NameServer-front connections: one per client instance (plus admin tools).
    pub const FRONT: ConnectionCaps = ConnectionCaps { max: 4_096, per_ip: 256 };
}

/// Frames up to this size are read without taking from the shared budget: every request a
/// client sends but a send with a large body is smaller, and a connection holds at most this much
/// of a frame it has not finished without a share of the budget.
pub const SMALL_FRAME: usize = 64 * 1024;

/// Defaults of the limits on reading frames and queueing answers (see [`crate::RelaySettings`]).
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// A relayed connection whose client has sent nothing for this long, with no answer awaited, is
/// closed (a client reconnects on demand). Longer than the Java remoting client's own idle close,
/// 120 s of no traffic either way (`clientChannelMaxIdleTimeSeconds`, NettySystemConfig L62,
/// NettyRemotingClient L1195 @ 8fc57f1): a client that lets a connection go idle closes it first,
/// so Ferry never closes one under a request the client sends at that moment. Not every client
/// heartbeats on every connection it holds: the Apache Proxy spreads its requests over several
/// connections per broker and heartbeats on none, and a request caught by a close fails (an ack
/// through the Proxy came back as INTERNAL_SERVER_ERROR, the message redelivered, with 10 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(150);
pub const DEFAULT_PARTIAL_FRAME_BUDGET: usize = 256 * 1024 * 1024;
pub const DEFAULT_CLIENT_QUEUE_BYTES: usize = 1024 * 1024;

/// Counts open connections against [`ConnectionCaps`].
pub(crate) struct Admission {
    what: &'static str,
    caps: ConnectionCaps,
    open: Mutex<Open>,
    refused: AtomicU64,
    log: Throttle,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Global,
    PerIp,
}

impl Admission {
    /// `what` names the listener in logs ("relay", "NameServer front").
    pub(crate) fn new(what: &'static str, caps: ConnectionCaps) -> Arc<Admission> {
        Arc::new(Admission {
            what,
            caps,
            open: Mutex::default(),
            refused: AtomicU64::new(0),
            log: Throttle::new(Duration::from_secs(10)),
        })
    }

    /// Counts a new connection from `peer` in, or says why not (logged now and then with the
    /// peer; the caller closes the connection).
    pub(crate) fn admit(self: &Arc<Admission>, peer: SocketAddr) -> Result<Admitted, Refused> {
        let ip = peer.ip().to_canonical();
        let mut open = self.open.lock().expect("admission lock");
        let from_ip = open.by_ip.get(&ip).copied().unwrap_or(0);
        let refused = if open.total >= self.caps.max {
            Some(Refused::Global)
        } else if from_ip >= self.caps.per_ip {
            Some(Refused::PerIp)
        } else {
            None
        };
        if let Some(why) = refused {
            let total = open.total;
            drop(open);
            self.refused.fetch_add(1, Ordering::Relaxed);
            if let Some(skipped) = self.log.ready() {
                let (limit, open) = match why {
                    Refused::Global => (self.caps.max, total),
                    Refused::PerIp => (self.caps.per_ip, from_ip),
                };
                tracing::warn!(
                    listener = self.what,
                    %peer,
                    cap = if why == Refused::Global { "all peers" } else { "per address" },
                    limit,
                    open,
                    refused_since_last_log = skipped,
                    "connection over the cap: closed at once (logged at most every 10 s)"
                );
            }
            return Err(why);
        }
        open.total += 1;
        *open.by_ip.entry(ip).or_default() += 1;
        Ok(Admitted { admission: self.clone(), ip })
    }

    /// Connections refused since the start.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.open.lock().expect("admission lock").total
    }

    pub(crate) fn caps(&self) -> ConnectionCaps {
        self.caps
    }
}

/// An admitted connection, counted until dropped.
pub(crate) struct Admitted {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().expect("admission lock");
        open.total -= 1;
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

/// The frame timeout and the budget for large unfinished frames, shared by every connection of
/// the relays and the front.
pub(crate) struct PartialFrames {
    timeout: Duration,
    budget: Arc<Semaphore>,
    total: usize,
    log: Throttle,
}

impl PartialFrames {
    pub(crate) fn new(timeout: Duration, budget: usize) -> Arc<PartialFrames> {
        // At least one largest small frame's worth, so that any frame can be read at all.
        let total = budget.clamp(SMALL_FRAME, Semaphore::MAX_PERMITS);
        Arc::new(PartialFrames {
            timeout,
            budget: Arc::new(Semaphore::new(total)),
            total,
            log: Throttle::new(Duration::from_secs(10)),
        })
    }

    /// Logs a connection closed for an unfinished frame, now and then.
    pub(crate) fn log_timeout(&self, listener: &str, peer: &str, e: &ReadError) {
        if let Some(skipped) = self.log.ready() {
            tracing::warn!(
                listener,
                %peer,
                error = %e,
                closed_since_last_log = skipped,
                "connection closed: a frame not finished in time (logged at most every 10 s)"
            );
        }
    }

    /// Bytes of the budget taken now by large frames being read.
    pub(crate) fn taken(&self) -> usize {
        self.total - self.budget.available_permits()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a frame started {after:?} ago is not finished ({buffered} bytes of it read)")]
    FrameTimeout { after: Duration, buffered: usize },
}

/// A connection's read buffer starts small: most connections are idle most of the time, and
/// thousands of them must stay cheap.
pub(crate) const READ_BUFFER: usize = 8 * 1024;

/// The length of the frame at the front of `buf` (its 4-byte length word plus what it counts).
fn frame_len(buf: &[u8]) -> Option<usize> {
    (buf.len() >= 4).then(|| u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize + 4)
}

/// Reads more bytes into `buf`; false at the end of the stream. Runs of whole frames that pass
/// unchanged leave `buf` as one split-off buffer each, without copying. No deadline: for peers
/// Ferry trusts (brokers). A socket's read half, or an in-process stream in the relay's benchmark.
pub(crate) async fn read_more<R: AsyncRead + Unpin>(r: &mut R, buf: &mut BytesMut) -> std::io::Result<bool> {
    if buf.is_empty() && buf.capacity() > 2 * READ_BUFFER {
        // A large frame went through: give its memory back rather than keep it per connection.
        *buf = BytesMut::with_capacity(READ_BUFFER);
    } else if let Some(frame_len) = frame_len(buf) {
        // Part of a frame: room for the rest of it (its length word says how much), at least.
        let want = frame_len.saturating_sub(buf.len()).clamp(READ_BUFFER / 2, 4 * 1024 * 1024);
        if buf.capacity() - buf.len() < want {
            buf.reserve(want);
        }
    } else if buf.capacity() - buf.len() < READ_BUFFER / 2 {
        buf.reserve(READ_BUFFER);
    }
    Ok(r.read_buf(buf).await? > 0)
}

/// Reads from a peer Ferry does not trust: an unfinished frame has a deadline, and a large one
/// a share of the budget.
pub(crate) struct FrameReader {
    shared: Arc<PartialFrames>,
    /// When the frame at the front of the buffer started.
    started: Option<Instant>,
    /// The budget share of the large frame at the front of the buffer.
    permit: Option<OwnedSemaphorePermit>,
}

impl FrameReader {
    pub(crate) fn new(shared: Arc<PartialFrames>) -> FrameReader {
        FrameReader { shared, started: None, permit: None }
    }

    /// Reads more into `buf`, whose whole frames the caller has taken off (`progressed`: at least
    /// one since the last call, so what is left is a new frame).
    pub(crate) async fn read_more<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        buf: &mut BytesMut,
        progressed: bool,
    ) -> Result<bool, ReadError> {
        if progressed || buf.is_empty() {
            self.started = None;
            self.permit = None;
        }
        if buf.is_empty() {
            // Nothing started: no deadline, however long the peer stays silent.
            return Ok(read_more(r, buf).await?);
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        let deadline = started + self.shared.timeout;
        let timed_out =
            |buf: &BytesMut| ReadError::FrameTimeout { after: started.elapsed(), buffered: buf.len() };
        if let (None, Some(len)) = (&self.permit, frame_len(buf)) {
            if len > SMALL_FRAME {
                let share = len.min(self.shared.total) as u32;
                let acquire = self.shared.budget.clone().acquire_many_owned(share);
                match tokio::time::timeout_at(deadline, acquire).await {
                    Ok(Ok(permit)) => self.permit = Some(permit),
                    Ok(Err(_)) => unreachable!("the budget is never closed"),
                    Err(_) => return Err(timed_out(buf)),
                }
            }
        }
        match tokio::time::timeout_at(deadline, read_more(r, buf)).await {
            Ok(read) => Ok(read?),
            Err(_) => Err(timed_out(buf)),
        }
    }
}

/// Frames waiting to be written to one peer, bounded in bytes: the sender of a frame that does
/// not fit waits until the writer has written enough (a frame larger than the whole bound waits
/// for an empty queue).
#[derive(Clone)]
pub(crate) struct ClientQueue {
    tx: mpsc::UnboundedSender<Queued>,
    bytes: Arc<Semaphore>,
    cap: usize,
}

/// A frame and its place in the bound, given back once written.
pub(crate) struct Queued {
    pub bytes: Bytes,
    _room: OwnedSemaphorePermit,
}

/// The writer's end. Dropping it wakes every waiting sender (they get `Closed`).
pub(crate) struct QueueReader {
    rx: mpsc::UnboundedReceiver<Queued>,
    bytes: Arc<Semaphore>,
}

impl Drop for QueueReader {
    fn drop(&mut self) {
        self.bytes.close();
    }
}

impl QueueReader {
    pub(crate) async fn recv(&mut self) -> Option<Queued> {
        self.rx.recv().await
    }

    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Option<Queued> {
        self.rx.try_recv().ok()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TrySendError {
    Full,
    Closed,
}

/// The peer's side is gone.
#[derive(Debug)]
pub(crate) struct Closed;

impl ClientQueue {
    pub(crate) fn new(cap: usize) -> (ClientQueue, QueueReader) {
        let cap = cap.clamp(1, u32::MAX as usize);
        let (tx, rx) = mpsc::unbounded_channel();
        let bytes = Arc::new(Semaphore::new(cap));
        (ClientQueue { tx, bytes: bytes.clone(), cap }, QueueReader { rx, bytes })
    }

    fn room(&self, bytes: &Bytes) -> u32 {
        bytes.len().clamp(1, self.cap) as u32
    }

    /// Queues `bytes`, waiting for room.
    pub(crate) async fn send(&self, bytes: Bytes) -> Result<(), Closed> {
        let room = self.bytes.clone().acquire_many_owned(self.room(&bytes)).await.map_err(|_| Closed)?;
        self.tx.send(Queued { bytes, _room: room }).map_err(|_| Closed)
    }

    /// Queues `bytes` if there is room now.
    pub(crate) fn try_send(&self, bytes: Bytes) -> Result<(), TrySendError> {
        let room = match self.bytes.clone().try_acquire_many_owned(self.room(&bytes)) {
            Ok(room) => room,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(TrySendError::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => return Err(TrySendError::Full),
        };
        self.tx.send(Queued { bytes, _room: room }).map_err(|_| TrySendError::Closed)
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.cap - self.bytes.available_permits()
    }

    pub(crate) fn same_channel(&self, other: &ClientQueue) -> bool {
        self.tx.same_channel(&other.tx)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// What the open-file limit is after [`raise_open_files`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit before.
    pub was: Option<u64>,
    /// The soft limit now (`None`: unlimited).
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Raises the soft open-file limit (RLIMIT_NOFILE) to the hard limit, as far as the system lets
/// (systemd's default soft limit of 1,024 is about 500 relayed clients), and logs what it got.
pub fn raise_open_files() -> OpenFiles {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let before = getrlimit(Resource::Nofile);
    let mut now = before;
    if before.current.is_some() && before.current != before.maximum {
        let wanted = Rlimit { current: before.maximum, maximum: before.maximum };
        match setrlimit(Resource::Nofile, wanted) {
            Ok(()) => now = getrlimit(Resource::Nofile),
            Err(e) => tracing::warn!(
                soft = ?before.current,
                hard = ?before.maximum,
                error = %e,
                "the open-file limit cannot be raised to its hard limit"
            ),
        }
    }
    let got = OpenFiles { was: before.current, soft: now.current, hard: now.maximum };
    let show = |v: Option<u64>| v.map_or_else(|| "unlimited".to_string(), |n| n.to_string());
    tracing::info!(
        was = %show(got.was),
        soft = %show(got.soft),
        hard = %show(got.hard),
        "open-file limit (raised to the hard limit)"
    );
    got
}

/// Descriptors kept for everything but relayed and front connections: the HTTP API, the store,
/// connections to NameServers and brokers of the engine, logs.
pub const RESERVED_FILES: u64 = 256;

/// Fits the caps of the relays (two descriptors a connection: the client's and the broker's) and
/// of the front (one) into `open_files`, less [`RESERVED_FILES`]: three quarters for relays, a
/// quarter for the front. Caps that fit are kept as they are; the result says whether any was
/// lowered.
pub fn fit_to_open_files(
    relays: ConnectionCaps,
    front: ConnectionCaps,
    open_files: Option<u64>,
) -> (ConnectionCaps, ConnectionCaps, bool) {
    let Some(files) = open_files else { return (relays, front, false) };
    let usable = files.saturating_sub(RESERVED_FILES) as usize;
    if relays.max.saturating_mul(2).saturating_add(front.max) <= usable {
        return (relays, front, false);
    }
    let fit = |caps: ConnectionCaps, max: usize| {
        let max = caps.max.min(max.max(1));
        ConnectionCaps { max, per_ip: caps.per_ip.min(max) }
    };
    (fit(relays, usable * 3 / 4 / 2), fit(front, usable / 4), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str, port: u16) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), port)
    }

    #[test]
    fn connections_are_capped_per_address_and_in_all() {
        let a = Admission::new("test", ConnectionCaps { max: 3, per_ip: 2 });
        let one = a.admit(peer("10.0.0.1", 1)).unwrap();
        let two = a.admit(peer("10.0.0.1", 2)).unwrap();
        assert_eq!(a.admit(peer("10.0.0.1", 3)).err(), Some(Refused::PerIp));
        // The same address as IPv4-mapped IPv6 is the same peer.
        assert_eq!(a.admit(peer("::ffff:10.0.0.1", 4)).err(), Some(Refused::PerIp));
        let three = a.admit(peer("10.0.0.2", 1)).unwrap();
        assert_eq!(a.admit(peer("10.0.0.3", 1)).err(), Some(Refused::Global));
        assert_eq!((a.open(), a.refused()), (3, 3));
        drop(one);
        let _again = a.admit(peer("10.0.0.1", 5)).unwrap();
        drop((two, three));
        assert_eq!(a.open(), 1);
        assert_eq!(a.open.lock().unwrap().by_ip.len(), 1, "nothing kept of addresses gone");
    }

    #[tokio::test]
    async fn a_queue_is_bounded_in_bytes_and_wakes_its_senders_when_its_reader_goes() {
        let (q, mut r) = ClientQueue::new(100);
        q.send(Bytes::from(vec![0; 60])).await.unwrap();
        assert_eq!(q.try_send(Bytes::from(vec![0; 50])), Err(TrySendError::Full));
        q.try_send(Bytes::from(vec![0; 40])).unwrap();
        assert_eq!(q.queued(), 100);
        // A sender beyond the bound waits until the writer has written.
        let waiting = tokio::spawn({
            let q = q.clone();
            async move { q.send(Bytes::from(vec![0; 30])).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        let first = r.recv().await.unwrap();
        assert_eq!(first.bytes.len(), 60);
        drop(first);
        waiting.await.unwrap().unwrap();
        assert_eq!(q.queued(), 70);
        // A frame larger than the bound waits for an empty queue, then goes.
        let big = tokio::spawn({
            let q = q.clone();
            async move { q.send(Bytes::from(vec![0; 500])).await }
        });
        drop(r.recv().await);
        drop(r.recv().await);
        big.await.unwrap().unwrap();
        assert_eq!(q.queued(), 100);
        let stuck = tokio::spawn({
            let q = q.clone();
            async move { q.send(Bytes::from(vec![0; 10])).await }
        });
        drop(r);
        assert!(stuck.await.unwrap().is_err(), "a sender waiting on a closed queue is woken");
        assert_eq!(q.try_send(Bytes::from_static(b"x")), Err(TrySendError::Closed));
        assert!(q.is_closed());
    }

    #[test]
    fn caps_are_fitted_to_the_open_file_limit() {
        let (relays, front) = (ConnectionCaps::RELAYS, ConnectionCaps::FRONT);
        assert_eq!(fit_to_open_files(relays, front, None), (relays, front, false));
        assert_eq!(fit_to_open_files(relays, front, Some(1 << 20)), (relays, front, false));
        // systemd's default soft limit.
        let (r, f, lowered) = fit_to_open_files(relays, front, Some(1024));
        assert!(lowered);
        assert_eq!((r.max, f.max), (288, 192));
        assert!(r.max * 2 + f.max + RESERVED_FILES as usize <= 1024);
        assert!(r.per_ip <= r.max && f.per_ip <= f.max);
        let (r, f, _) = fit_to_open_files(relays, front, Some(10));
        assert!(r.max >= 1 && f.max >= 1);
    }
}
