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
    Refused { addr: String, op: RequestCode, code: ResponseCode, remark: String },
    #[error("{addr}: {detail}")]
    Protocol { addr: String, detail: String },
    #[error("{addr}: {op} returned a body Ferry cannot read: {detail}")]
    UnreadableBody { addr: String, op: RequestCode, detail: String },
    #[error("{addr}: connection lost ({detail})")]
    ConnectionLost { addr: String, detail: String },
    #[error("{namesrv}: cluster '{name}' not found; the NameServer knows: {}", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownCluster { namesrv: String, name: String, known: Vec<String> },
    #[error("{path}: {detail}")]
    AclFile { path: String, detail: String },
}

impl AdminError {
    /// The address of the NameServer or broker that failed, where there is one.
    pub fn addr(&self) -> Option<&str> {
        match self {
            AdminError::Unreachable { addr, .. }
            | AdminError::Timeout { addr, .. }
            | AdminError::AuthenticationFailed { addr, .. }
            | AdminError::Unsupported { addr, .. }
            | AdminError::Refused { addr, .. }
            | AdminError::Protocol { addr, .. }
            | AdminError::UnreadableBody { addr, .. }
            | AdminError::ConnectionLost { addr, .. } => Some(addr),
            AdminError::UnknownCluster { namesrv, .. } => Some(namesrv),
            AdminError::NoNameServer | AdminError::AclFile { .. } => None,
        }
    }

    /// Whether another NameServer of the list may do better.
    pub fn is_connectivity(&self) -> bool {
        matches!(
            self,
            AdminError::Unreachable { .. } | AdminError::Timeout { .. } | AdminError::ConnectionLost { .. }
        )
    }

    /// Turns a remoting error into the operator's vocabulary.
    pub(crate) fn from_remoting(e: ferry_remoting::Error, op: RequestCode) -> AdminError {
        use ferry_remoting::Error as E;
        match e {
            E::Unreachable { addr, source } => AdminError::Unreachable { addr, detail: source.to_string() },
            E::ConnectTimeout { addr, after } => {
                AdminError::Unreachable { addr, detail: format!("no connection after {after:?}") }
            }
            E::Timeout { addr, .. } => AdminError::Timeout { addr, op },
            E::Closed { addr } => AdminError::ConnectionLost { addr, detail: "closed by the peer".into() },
            E::Io { addr, source } => AdminError::ConnectionLost { addr, detail: source.to_string() },
            E::Codec { addr, source } => AdminError::Protocol { addr, detail: source.to_string() },
            E::Response { addr, request, code, remark } => {
                let remark = remark.unwrap_or_default();
                if code == ResponseCode::REQUEST_CODE_NOT_SUPPORTED {
                    AdminError::Unsupported { addr, op: request }
                } else if is_auth_failure(code, &remark) {
                    AdminError::AuthenticationFailed { addr, remark }
                } else {
                    AdminError::Refused { addr, op: request, code, remark }
                }
            }
        }
    }
}

/// Authentication failures as brokers report them: 4.9.x answers SYSTEM_ERROR with the
/// `AclException` text (`PlainPermissionManager.validate`); 5.3.x answers NO_PERMISSION with the
/// authenticator's message (`DefaultAuthenticationHandler`: user not found or disabled, signature
/// check failed, username missing). Authorization refusals ("has no permission") are not this.
fn is_auth_failure(code: ResponseCode, remark: &str) -> bool {
    if code == ResponseCode::SYSTEM_ERROR {
        return remark.contains("AclException");
    }
    if code == ResponseCode::NO_PERMISSION {
        let r = remark.to_ascii_lowercase();
        return ["signature", "is not found", "is disabled", "username cannot be null", "accesskey"]
            .iter()
            .any(|w| r.contains(w));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_credential_errors_count_as_authentication_failures() {
        let e = ResponseCode::SYSTEM_ERROR;
        assert!(is_auth_failure(
            e,
            "org.apache.rocketmq.acl.common.AclException: Check signature failed for accessKey=x"
        ));
        assert!(is_auth_failure(ResponseCode::NO_PERMISSION, "User:bob is not found."));
        assert!(is_auth_failure(ResponseCode::NO_PERMISSION, "check signature failed."));
        assert!(!is_auth_failure(
            e,
            "java.lang.IllegalStateException: The authenticationMetadataProvider is not configured."
        ));
        assert!(!is_auth_failure(
            ResponseCode::NO_PERMISSION,
            "User:bob has no permission to access Topic:a"
        ));
    }
}
