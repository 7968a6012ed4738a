//! Ferry's control plane: tasks and the store that keeps them. Import tasks come first; the
//! seamless-migration tasks (stage machine, health checks) will live here too.

mod error;
pub mod store;
pub mod task;

pub use error::StoreError;
pub use store::{default_store_path, Store};
pub use task::{
    ItemCounts, ItemKind, ItemRecord, ItemStatus, NewImportTask, ParseError, TaskId, TaskStatus, TaskSummary,
    Timestamp,
};
