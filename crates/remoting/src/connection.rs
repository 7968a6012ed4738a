//! An async client connection to a NameServer or broker: many requests in flight on one socket,
//! matched to responses by `opaque`; per-request timeouts; oneway sends; and requests the peer
//! starts (brokers call clients) handed to a [`RequestHandler`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::code::{RequestCode, ResponseCode};
use crate::codec::{FrameCodec, StreamError};
use crate::error::Error;
use crate::frame::{Frame, DEFAULT_MAX_FRAME};

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
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(3),
            max_frame: DEFAULT_MAX_FRAME,
            handler: None,
        }
    }
}

type Pending = Mutex<HashMap<i32, oneshot::Sender<Frame>>>;

struct Shared {
    addr: String,
    pending: Pending,
    closed: AtomicBool,
}

impl Shared {
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // Dropping the senders wakes every waiting request with "closed".
        self.pending.lock().expect("pending lock").clear();
    }
}

/// One TCP connection. Cheap to share behind an `Arc`; closes when dropped.
pub struct Connection {
    shared: Arc<Shared>,
    next_opaque: AtomicI32,
    outgoing: mpsc::Sender<Frame>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Connection {
    pub async fn connect(addr: &str, options: ConnectOptions) -> Result<Connection, Error> {
        let stream = tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::ConnectTimeout {
                addr: addr.to_string(),
                after: options.connect_timeout,
            })?
            .map_err(|source| Error::Unreachable {
                addr: addr.to_string(),
                source,
            })?;
        stream.set_nodelay(true).map_err(|source| Error::Io {
            addr: addr.to_string(),
            source,
        })?;
        Ok(Connection::from_stream(stream, addr.to_string(), options))
    }

    /// Wraps an established stream (`addr` is only used in errors and logs).
    pub fn from_stream(stream: TcpStream, addr: String, options: ConnectOptions) -> Connection {
        let (read_half, write_half) = stream.into_split();
        let codec = FrameCodec {
            max_frame: options.max_frame,
        };
        let shared = Arc::new(Shared {
            addr,
            pending: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        });
        let (tx, mut rx) = mpsc::channel::<Frame>(1024);

        let writer_shared = shared.clone();
        let writer = tokio::spawn(async move {
            let mut sink = FramedWrite::new(write_half, codec);
            while let Some(frame) = rx.recv().await {
                if let Err(e) = sink.send(frame).await {
                    tracing::debug!(peer = %writer_shared.addr, error = %e, "write failed; closing");
                    break;
                }
            }
            writer_shared.close();
        });

        let reader_shared = shared.clone();
        let replies = tx.clone();
        let handler = options.handler.clone();
        let reader = tokio::spawn(async move {
            let mut frames = FramedRead::new(read_half, codec);
            loop {
                match frames.next().await {
                    Some(Ok(frame)) if frame.header.is_response() => {
                        let waiter = reader_shared
                            .pending
                            .lock()
                            .expect("pending lock")
                            .remove(&frame.header.opaque);
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
                        serve_peer_request(request, handler.clone(), replies.clone())
                    }
                    Some(Err(e)) => {
                        match e {
                            StreamError::Codec(e) => {
                                tracing::warn!(peer = %reader_shared.addr, error = %e, "bad frame; closing")
                            }
                            StreamError::Io(e) => {
                                tracing::debug!(peer = %reader_shared.addr, error = %e, "read failed")
                            }
                        }
                        break;
                    }
                    None => break,
                }
            }
            reader_shared.close();
        });

        Connection {
            shared,
            next_opaque: AtomicI32::new(1),
            outgoing: tx,
            tasks: vec![writer, reader],
        }
    }

    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    fn closed(&self) -> Error {
        Error::Closed {
            addr: self.shared.addr.clone(),
        }
    }

    /// Sends a request and waits up to `timeout` for its response (any response code).
    pub async fn request(&self, mut frame: Frame, timeout: Duration) -> Result<Frame, Error> {
        if self.is_closed() {
            return Err(self.closed());
        }
        let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        frame.header.opaque = opaque;
        let code = frame.header.request_code();
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .insert(opaque, tx);
        if self.outgoing.send(frame).await.is_err() {
            self.shared
                .pending
                .lock()
                .expect("pending lock")
                .remove(&opaque);
            return Err(self.closed());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(self.closed()),
            Err(_) => {
                self.shared
                    .pending
                    .lock()
                    .expect("pending lock")
                    .remove(&opaque);
                Err(Error::Timeout {
                    addr: self.shared.addr.clone(),
                    code,
                    after: timeout,
                })
            }
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

    /// Sends without waiting for (or getting) a response.
    pub async fn oneway(&self, frame: Frame) -> Result<(), Error> {
        let mut frame = frame.oneway();
        frame.header.opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        self.outgoing.send(frame).await.map_err(|_| self.closed())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.shared.close();
    }
}

fn serve_peer_request(
    request: Frame,
    handler: Option<Arc<dyn RequestHandler>>,
    replies: mpsc::Sender<Frame>,
) {
    let opaque = request.header.opaque;
    let oneway = request.header.is_oneway();
    let code = request.header.request_code();
    let serialize_type = request.serialize_type;
    tokio::spawn(async move {
        let response = match handler {
            Some(h) => h.handle(request).await,
            None => Some(
                Frame::response(ResponseCode::REQUEST_CODE_NOT_SUPPORTED, opaque)
                    .with_remark(format!("{code} is not supported by Ferry")),
            ),
        };
        if let (Some(mut response), false) = (response, oneway) {
            response.header.opaque = opaque;
            response.header.flag.0 |= crate::header::Flags::RESPONSE;
            response.serialize_type = serialize_type;
            let _ = replies.send(response).await;
        }
    });
}

/// Splits a NameServer address list as RocketMQ writes it: `host:port;host:port`.
pub fn split_addr_list(list: &str) -> Vec<String> {
    list.split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The request code a frame carries, for logs.
pub fn describe(frame: &Frame) -> RequestCode {
    frame.header.request_code()
}
