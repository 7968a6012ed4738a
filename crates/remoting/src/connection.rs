//! An async client connection to a NameServer or broker: many requests in flight on one socket,
//! matched to responses by `opaque`; per-request timeouts; oneway sends; and requests the peer
//! starts (brokers call clients) handed to a [`RequestHandler`].
//!
//! Frames are encoded by the caller before they are queued, so a frame that cannot be encoded
//! fails that call alone. When the connection ends, every waiting request learns why (the peer
//! closed, an I/O error, or a frame that broke the stream), and later calls fail at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::codec::FramedRead;

use crate::code::ResponseCode;
use crate::codec::{FrameCodec, StreamError};
use crate::error::{CodecError, Error};
use crate::frame::{self, Frame, DEFAULT_MAX_FRAME};
use crate::header::Flags;

/// Answers requests the peer sends on this connection. `None` means no response (oneway).
pub trait RequestHandler: Send + Sync + 'static {
    fn handle(&self, request: Frame) -> BoxFuture<'static, Option<Frame>>;
}

#[derive(Clone)]
pub struct ConnectOptions {
    pub connect_timeout: Duration,
    pub max_frame: usize,
    /// Without a handler, peer requests get REQUEST_CODE_NOT_SUPPORTED, as the Java client answers.
    pub handler: Option<Arc<dyn RequestHandler>>,
    /// Peer requests handled at once; reading pauses beyond that.
    pub max_peer_requests: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(3),
            max_frame: DEFAULT_MAX_FRAME,
            handler: None,
            max_peer_requests: 64,
        }
    }
}

/// Why the connection ended.
#[derive(Debug)]
enum CloseReason {
    PeerClosed,
    Io(String),
    Codec(CodecError),
    Dropped,
}

type Waiters = HashMap<i32, oneshot::Sender<Frame>>;

struct Shared {
    addr: String,
    /// `None` once closed: a request registers under this lock, so none can slip in after close.
    pending: Mutex<Option<Waiters>>,
    close_reason: OnceLock<CloseReason>,
    closed: tokio::sync::Notify,
}

impl Shared {
    fn close(&self, reason: CloseReason) {
        let _ = self.close_reason.set(reason);
        // Dropping the senders wakes every waiting request.
        self.pending.lock().expect("pending lock").take();
        self.closed.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.pending.lock().expect("pending lock").is_none()
    }

    fn closed_error(&self) -> Error {
        let addr = self.addr.clone();
        match self.close_reason.get() {
            Some(CloseReason::Codec(e)) => Error::Codec { addr, source: e.clone() },
            Some(CloseReason::Io(e)) => Error::Io { addr, source: std::io::Error::other(e.clone()) },
            Some(CloseReason::PeerClosed | CloseReason::Dropped) | None => Error::Closed { addr },
        }
    }
}

/// Removes a request's waiter however the request ends (answered, timed out, or cancelled).
struct PendingGuard<'a> {
    shared: &'a Shared,
    opaque: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.shared.pending.lock().expect("pending lock").as_mut() {
            w.remove(&self.opaque);
        }
    }
}

/// One TCP connection. Share it behind an `Arc`; it closes when dropped.
pub struct Connection {
    shared: Arc<Shared>,
    next_opaque: std::sync::atomic::AtomicI32,
    outgoing: mpsc::Sender<Bytes>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Connection {
    pub async fn connect(addr: &str, options: ConnectOptions) -> Result<Connection, Error> {
        let stream = tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::ConnectTimeout { addr: addr.to_string(), after: options.connect_timeout })?
            .map_err(|source| Error::Unreachable { addr: addr.to_string(), source })?;
        stream.set_nodelay(true).map_err(|source| Error::Io { addr: addr.to_string(), source })?;
        Ok(Connection::from_stream(stream, addr.to_string(), options))
    }

    /// Wraps an established stream (`addr` is only used in errors and logs).
    pub fn from_stream(stream: TcpStream, addr: String, options: ConnectOptions) -> Connection {
        let (read_half, mut write_half) = stream.into_split();
        let shared = Arc::new(Shared {
            addr,
            pending: Mutex::new(Some(HashMap::new())),
            close_reason: OnceLock::new(),
            closed: tokio::sync::Notify::new(),
        });
        let (tx, mut rx) = mpsc::channel::<Bytes>(1024);

        let writer_shared = shared.clone();
        let writer = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if let Err(e) = write_half.write_all(&bytes).await {
                    tracing::debug!(peer = %writer_shared.addr, error = %e, "write failed; closing");
                    writer_shared.close(CloseReason::Io(e.to_string()));
                    break;
                }
            }
        });

        let reader_shared = shared.clone();
        let replies = tx.clone();
        let writer_abort = writer.abort_handle();
        let codec = FrameCodec { max_frame: options.max_frame };
        let reader = tokio::spawn(async move {
            let mut frames = FramedRead::new(read_half, codec);
            let permits = Arc::new(Semaphore::new(options.max_peer_requests.max(1)));
            let reason = loop {
                match frames.next().await {
                    Some(Ok(frame)) if frame.header.is_response() => {
                        let waiter = reader_shared
                            .pending
                            .lock()
                            .expect("pending lock")
                            .as_mut()
                            .and_then(|w| w.remove(&frame.header.opaque));
                        match waiter {
                            Some(w) => {
                                let _ = w.send(frame);
                            }
                            None => tracing::debug!(
                                peer = %reader_shared.addr, opaque = frame.header.opaque,
                                "response for no pending request (timed out?)"
                            ),
                        }
                    }
                    Some(Ok(request)) => {
                        let permit =
                            permits.clone().acquire_owned().await.expect("semaphore is never closed");
                        serve_peer_request(request, options.handler.clone(), replies.clone(), permit);
                    }
                    Some(Err(StreamError::Codec(e))) => {
                        tracing::warn!(peer = %reader_shared.addr, error = %e, "bad frame; closing");
                        break CloseReason::Codec(e);
                    }
                    Some(Err(StreamError::Io(e))) => break CloseReason::Io(e.to_string()),
                    None => break CloseReason::PeerClosed,
                }
            };
            reader_shared.close(reason);
            writer_abort.abort();
        });

        Connection {
            shared,
            next_opaque: std::sync::atomic::AtomicI32::new(1),
            outgoing: tx,
            tasks: vec![writer, reader],
        }
    }

    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    /// Resolves once the connection is closed, for whatever reason.
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.is_closed() {
                return;
            }
            notified.await;
        }
    }

    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Requests waiting for their response.
    pub fn pending_requests(&self) -> usize {
        self.shared.pending.lock().expect("pending lock").as_ref().map_or(0, HashMap::len)
    }

    fn next_opaque(&self) -> i32 {
        self.next_opaque.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    fn encode(&self, frame: &Frame) -> Result<Bytes, Error> {
        let mut buf = BytesMut::new();
        frame::encode(frame, &mut buf)
            .map_err(|source| Error::Codec { addr: self.shared.addr.clone(), source })?;
        Ok(buf.freeze())
    }

    /// Sends a request and waits up to `timeout`, sending included, for its response (any code).
    pub async fn request(&self, mut frame: Frame, timeout: Duration) -> Result<Frame, Error> {
        let opaque = self.next_opaque();
        frame.header.opaque = opaque;
        let code = frame.header.request_code();
        let bytes = self.encode(&frame)?;
        let (tx, rx) = oneshot::channel();
        match self.shared.pending.lock().expect("pending lock").as_mut() {
            Some(w) => w.insert(opaque, tx),
            None => return Err(self.shared.closed_error()),
        };
        let _guard = PendingGuard { shared: &self.shared, opaque };
        let exchange = async {
            self.outgoing.send(bytes).await.map_err(|_| self.shared.closed_error())?;
            rx.await.map_err(|_| self.shared.closed_error())
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout { addr: self.shared.addr.clone(), code, after: timeout }),
        }
    }

    /// Sends a request and checks that the answer is SUCCESS; otherwise a `Response` error with the
    /// peer's code and remark.
    pub async fn request_ok(&self, frame: Frame, timeout: Duration) -> Result<Frame, Error> {
        let request = frame.header.request_code();
        let response = self.request(frame, timeout).await?;
        if response.header.code == ResponseCode::SUCCESS.0 {
            Ok(response)
        } else {
            Err(Error::Response {
                addr: self.shared.addr.clone(),
                request,
                code: response.header.response_code(),
                remark: response.header.remark,
            })
        }
    }

    /// Queues a request that gets no response.
    pub async fn oneway(&self, frame: Frame) -> Result<(), Error> {
        let mut frame = frame.oneway();
        frame.header.opaque = self.next_opaque();
        let bytes = self.encode(&frame)?;
        if self.is_closed() {
            return Err(self.shared.closed_error());
        }
        self.outgoing.send(bytes).await.map_err(|_| self.shared.closed_error())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.shared.close(CloseReason::Dropped);
    }
}

/// Answers one peer request in its own task; a panicking handler gets SYSTEM_ERROR, not silence.
fn serve_peer_request(
    request: Frame,
    handler: Option<Arc<dyn RequestHandler>>,
    replies: mpsc::Sender<Bytes>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let opaque = request.header.opaque;
    let oneway = request.header.is_oneway();
    let code = request.header.request_code();
    let serialize_type = request.serialize_type;
    tokio::spawn(async move {
        let _permit = permit;
        let response = match handler {
            Some(h) => match tokio::spawn(h.handle(request)).await {
                Ok(r) => r,
                Err(e) => Some(
                    Frame::response(ResponseCode::SYSTEM_ERROR, opaque)
                        .with_remark(format!("handler failed: {e}")),
                ),
            },
            None => Some(
                Frame::response(ResponseCode::REQUEST_CODE_NOT_SUPPORTED, opaque)
                    .with_remark(format!("{code} is not supported by Ferry")),
            ),
        };
        let Some(mut response) = response.filter(|_| !oneway) else {
            return;
        };
        response.header.opaque = opaque;
        response.header.flag.0 |= Flags::RESPONSE;
        // Answer in the encoding the peer used.
        response.serialize_type = serialize_type;
        match frame::encode_to_bytes(&response) {
            Ok(bytes) => {
                let _ = replies.send(bytes).await;
            }
            Err(e) => {
                tracing::warn!(%code, error = %e, "response to a peer request cannot be encoded")
            }
        }
    });
}
