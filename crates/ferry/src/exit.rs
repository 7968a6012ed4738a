//! Exit codes scripts can rely on (documented in the README).

use ferry_admin::AdminError;
use ferry_metadata::MetadataError;

pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const UNREACHABLE: i32 = 3;
pub const AUTHENTICATION_FAILED: i32 = 4;
pub const UNKNOWN_CLUSTER: i32 = 5;
pub const SOME_ITEMS_FAILED: i32 = 6;
/// `ferry migrate`: a step the server refused: a health check blocks it (each failing check is
/// printed), or the topic's or migration's state does not allow it.
pub const REFUSED: i32 = 7;

/// An import that ran, but not every item made it (each item's cause is printed above).
#[derive(Debug)]
pub struct SomeItemsFailed {
    pub failed: usize,
    pub total: usize,
}

impl std::fmt::Display for SomeItemsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} items failed", self.failed, self.total)
    }
}

impl std::error::Error for SomeItemsFailed {}

/// A usage error raised by Ferry itself (a missing flag when not in a terminal, a bad path).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// An error that knows its exit code (`ferry migrate` maps the API's error kinds to the codes above).
#[derive(Debug)]
pub struct WithCode {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for WithCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WithCode {}

pub fn code_of(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if let Some(w) = cause.downcast_ref::<WithCode>() {
            return w.code;
        }
        if cause.is::<Usage>() {
            return USAGE;
        }
        if cause.is::<SomeItemsFailed>() {
            return SOME_ITEMS_FAILED;
        }
        let admin =
            cause.downcast_ref::<AdminError>().or_else(|| match cause.downcast_ref::<MetadataError>() {
                Some(MetadataError::Admin(a)) => Some(a),
                _ => None,
            });
        match admin {
            Some(AdminError::Unreachable { .. } | AdminError::Timeout { .. } | AdminError::NoNameServer) => {
                return UNREACHABLE
            }
            Some(AdminError::AuthenticationFailed { .. }) => return AUTHENTICATION_FAILED,
            Some(AdminError::UnknownCluster { .. }) => return UNKNOWN_CLUSTER,
            Some(AdminError::AclFile { .. }) => return USAGE,
            Some(_) => return FAILURE,
            None => {}
        }
        if let Some(MetadataError::NoMaster { .. }) = cause.downcast_ref::<MetadataError>() {
            return UNKNOWN_CLUSTER;
        }
    }
    FAILURE
}
