//! Exit codes scripts can rely on (documented in the README).

use ferry_admin::AdminError;
use ferry_metadata::MetadataError;

pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const UNREACHABLE: i32 = 3;
pub const AUTHENTICATION_FAILED: i32 = 4;
pub const UNKNOWN_CLUSTER: i32 = 5;
pub const SOME_ITEMS_FAILED: i32 = 6;

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

pub fn code_of(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
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
