//! Ferry's control plane: import tasks, seamless migrations (the per-topic stage machine, its
//! health checks and the engine that drives the proxy), and the store that keeps them.

mod error;
pub mod fleet;
pub mod migration;
pub mod store;
pub mod task;

pub use error::StoreError;
pub use store::{default_store_path, Store};
pub use task::{
    ItemCounts, ItemKind, ItemRecord, ItemStatus, NewImportTask, ParseError, TaskId, TaskStatus, TaskSummary,
    Timestamp,
};
