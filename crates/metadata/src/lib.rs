//! The metadata document: topics, subscription groups and ACL accounts of a cluster, in the shape
//! Apache's export script writes plus Ferry's own versioned detail; and the export that reads it
//! from a live cluster.

pub mod document;
mod error;
pub mod export;
pub mod import;
pub mod system;
pub mod xlsx;

pub use document::{Document, DEFAULT_FILE_NAME, FORMAT_VERSION};
pub use error::MetadataError;
pub use export::{export_cluster, ExportOptions, ExportStep};
