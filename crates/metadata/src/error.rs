//! Errors of the metadata crate.

use ferry_admin::AdminError;

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("{source_name}{}: {detail}", location.as_deref().map(|l| format!(", {l}")).unwrap_or_default())]
    Parse { source_name: String, location: Option<String>, detail: String },
    #[error(
        "{source_name}: format version {found} is newer than this Ferry reads ({supported}); upgrade Ferry"
    )]
    UnsupportedVersion { source_name: String, found: u32, supported: u32 },
    #[error("{namesrv}: cluster '{cluster}' has no master broker registered")]
    NoMaster { namesrv: String, cluster: String },
}
