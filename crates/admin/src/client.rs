//! The admin client: connections to NameServers and brokers, one per address, reused; requests
//! signed when credentials are set; NameServers tried in turn until one answers, starting with the
//! one that answered last (a dead NameServer is not waited for on every call).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_remoting::addr::split_addr_list;
use ferry_remoting::request::RequestHeader;
use ferry_remoting::{fastjson, ConnectOptions, Connection, Credentials, Frame, RequestCode};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::error::AdminError;

#[derive(Clone, Debug)]
pub struct AdminOptions {
    /// ACL credentials for clusters with `aclEnable=true` (or 5.x authentication).
    pub credentials: Option<Credentials>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for AdminOptions {
    fn default() -> Self {
        AdminOptions {
            credentials: None,
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// A live cluster (or several sharing NameServers), reached through its NameServer list.
pub struct Admin {
    namesrvs: Vec<String>,
    /// Index of the NameServer that answered last: tried first next time.
    preferred: AtomicUsize,
    options: AdminOptions,
    /// One cell per address: connecting to one (perhaps dead) broker never holds up the others.
    connections: std::sync::Mutex<HashMap<String, Arc<OnceCell<Arc<Connection>>>>>,
}

impl Admin {
    /// `namesrv_list` is RocketMQ's `host:port;host:port`.
    pub fn new(namesrv_list: &str, options: AdminOptions) -> Result<Admin, AdminError> {
        let namesrvs = split_addr_list(namesrv_list);
        if namesrvs.is_empty() {
            return Err(AdminError::NoNameServer);
        }
        Ok(Admin {
            namesrvs,
            preferred: AtomicUsize::new(0),
            options,
            connections: std::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn namesrvs(&self) -> &[String] {
        &self.namesrvs
    }

    async fn connection(&self, addr: &str) -> Result<Arc<Connection>, ferry_remoting::Error> {
        let cell =
            self.connections.lock().expect("connections lock").entry(addr.to_string()).or_default().clone();
        let conn = self.connection_in(cell.clone(), addr).await?;
        if !conn.is_closed() {
            return Ok(conn);
        }
        // The peer went away since: replace the cell (unless another call already did) and reconnect.
        let next = {
            let mut conns = self.connections.lock().expect("connections lock");
            match conns.get(addr) {
                Some(current) if !Arc::ptr_eq(current, &cell) => current.clone(),
                _ => {
                    let fresh = Arc::new(OnceCell::new());
                    conns.insert(addr.to_string(), fresh.clone());
                    fresh
                }
            }
        };
        self.connection_in(next, addr).await
    }

    async fn connection_in(
        &self,
        cell: Arc<OnceCell<Arc<Connection>>>,
        addr: &str,
    ) -> Result<Arc<Connection>, ferry_remoting::Error> {
        let options =
            ConnectOptions { connect_timeout: self.options.connect_timeout, ..ConnectOptions::default() };
        let conn =
            cell.get_or_try_init(|| async { Connection::connect(addr, options).await.map(Arc::new) }).await?;
        Ok(conn.clone())
    }

    /// Sends a request to one address and returns the successful response.
    pub async fn call(&self, addr: &str, mut frame: Frame) -> Result<Frame, AdminError> {
        let op = frame.header.request_code();
        if let Some(c) = &self.options.credentials {
            c.sign(&mut frame);
        }
        let result = async {
            let conn = self.connection(addr).await?;
            conn.request_ok(frame, self.options.request_timeout).await
        }
        .await;
        tracing::debug!(peer = addr, code = %op, ok = result.is_ok(), "admin call");
        result.map_err(|e| AdminError::from_remoting(e, op))
    }

    /// Calls with a typed header and parses the body as `T`.
    pub async fn call_typed<H: RequestHeader, T: DeserializeOwned>(
        &self,
        addr: &str,
        header: &H,
    ) -> Result<T, AdminError> {
        let response = self.call(addr, header.to_frame()).await?;
        parse_body(addr, H::CODE, &response.body)
    }

    /// The NameServers in the order to try them: the one that answered last first.
    fn namesrv_order(&self) -> impl Iterator<Item = (usize, &String)> {
        let first = self.preferred.load(Ordering::Relaxed) % self.namesrvs.len();
        self.namesrvs.iter().enumerate().cycle().skip(first).take(self.namesrvs.len())
    }

    /// Calls the NameServers in turn until one answers; connectivity failures move on to the next,
    /// any other error is final. The error of the last one tried is returned.
    pub async fn call_namesrv(&self, frame: Frame) -> Result<(String, Frame), AdminError> {
        let mut last = None;
        for (i, addr) in self.namesrv_order() {
            match self.call(addr, frame.clone()).await {
                Ok(r) => {
                    self.preferred.store(i, Ordering::Relaxed);
                    return Ok((addr.clone(), r));
                }
                Err(e) if e.is_connectivity() => {
                    tracing::info!(peer = %addr, error = %e, "NameServer did not answer");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(AdminError::NoNameServer))
    }

    /// Passes a request on to the NameServers, unsigned and unchanged, and returns the first answer
    /// whatever its code: what a proxy in front of them does for requests it has no opinion on.
    pub async fn forward_namesrv(&self, frame: Frame) -> Result<Frame, AdminError> {
        let op = frame.header.request_code();
        let mut last = None;
        for (i, addr) in self.namesrv_order() {
            let result = async {
                let conn = self.connection(addr).await?;
                conn.request(frame.clone(), self.options.request_timeout).await
            }
            .await
            .map_err(|e| AdminError::from_remoting(e, op));
            match result {
                Ok(r) => {
                    self.preferred.store(i, Ordering::Relaxed);
                    return Ok(r);
                }
                Err(e) if e.is_connectivity() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(AdminError::NoNameServer))
    }

    pub async fn call_namesrv_typed<H: RequestHeader, T: DeserializeOwned>(
        &self,
        header: &H,
    ) -> Result<T, AdminError> {
        let (addr, response) = self.call_namesrv(header.to_frame()).await?;
        parse_body(&addr, H::CODE, &response.body)
    }
}

pub(crate) fn parse_body<T: DeserializeOwned>(
    addr: &str,
    op: RequestCode,
    body: &[u8],
) -> Result<T, AdminError> {
    fastjson::from_slice(body).map_err(|e| AdminError::UnreadableBody {
        addr: addr.to_string(),
        op,
        detail: e.to_string(),
    })
}
