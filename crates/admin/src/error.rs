//! The admin crate's error: which address failed and why, in the words an operator uses.

use ferry_remoting::{RequestCode, ResponseCode};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no NameServer address given")]
    NoNameServer,
    #[error("{addr}: unreachable ({detail})")]
    Unreachable { addr: String, detail: String },
    #[error("{addr}: timed out waiting for {op}")]
    Timeout { addr: String, op: RequestCode },
    #[error("{addr}: authentication failed: {remark}")]
    AuthenticationFailed { addr: String, remark: String },
    #[error("{addr}: {op} is not supported by this server version")]
    Unsupported { addr: String, op: RequestCode },
    #[error("{addr}: {op} refused with {code}: {remark}")]
    Refused {
        addr: String,
        op: RequestCode,
        code: ResponseCode,
        remark: String,
    },
    #[error("{addr}: {detail}")]
    Protocol { addr: String, detail: String },
    #[error("cluster '{name}' not found; the NameServer knows: {}", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownCluster { name: String, known: Vec<String> },
    #[error("{path}: {detail}")]
    AclFile { path: String, detail: String },
}

impl AdminError {
    /// Whether another NameServer of the list may do better.
    pub fn is_connectivity(&self) -> bool {
        matches!(
            self,
            AdminError::Unreachable { .. } | AdminError::Timeout { .. }
        )
    }

    /// Turns a remoting error into the operator's vocabulary.
    pub(crate) fn from_remoting(e: ferry_remoting::Error, op: RequestCode) -> AdminError {
        use ferry_remoting::Error as E;
        match e {
            E::Unreachable { addr, source } => AdminError::Unreachable {
                addr,
                detail: source.to_string(),
            },
            E::ConnectTimeout { addr, after } => AdminError::Unreachable {
                addr,
                detail: format!("no connection after {after:?}"),
            },
            E::Timeout { addr, .. } => AdminError::Timeout { addr, op },
            E::Closed { addr } => AdminError::Unreachable {
                addr,
                detail: "connection closed".into(),
            },
            E::Io { addr, source } => AdminError::Unreachable {
                addr,
                detail: source.to_string(),
            },
            E::Codec { addr, source } => AdminError::Protocol {
                addr,
                detail: source.to_string(),
            },
            E::Body {
                addr,
                request,
                reason,
            } => AdminError::Protocol {
                addr,
                detail: format!("{request} returned an unreadable body: {reason}"),
            },
            E::Response {
                addr,
                request,
                code,
                remark,
            } => {
                let remark = remark.unwrap_or_default();
                if code == ResponseCode::REQUEST_CODE_NOT_SUPPORTED {
                    AdminError::Unsupported { addr, op: request }
                } else if is_auth_failure(code, &remark) {
                    AdminError::AuthenticationFailed { addr, remark }
                } else {
                    AdminError::Refused {
                        addr,
                        op: request,
                        code,
                        remark,
                    }
                }
            }
        }
    }
}

/// ACL failures come back as SYSTEM_ERROR or NO_PERMISSION with an `AclException` /
/// `AuthenticationException` message in the remark (4.9.x `PlainAccessValidator`, 5.x auth module).
fn is_auth_failure(code: ResponseCode, remark: &str) -> bool {
    let r = remark.to_ascii_lowercase();
    let mentions_auth = [
        "signature",
        "accesskey",
        "access key",
        "authenticat",
        "aclexception",
        "no acl config",
        "user:",
        "username cannot be null",
    ]
    .iter()
    .any(|w| r.contains(w));
    (code == ResponseCode::SYSTEM_ERROR || code == ResponseCode::NO_PERMISSION) && mentions_auth
}
