//! Errors of the control crate. Each names the store it concerns (a file, or `:memory:`).

use std::path::PathBuf;

use crate::migration::MigrationId;
use crate::task::TaskId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create store {} or its folder: {error}", path.display())]
    CreateDir { path: PathBuf, error: std::io::Error },
    #[error("cannot open store {}: {error}", path.display())]
    Open { path: PathBuf, error: sqlx::Error },
    #[error("cannot bring store {} up to date: {error}", path.display())]
    Migrate { path: PathBuf, error: sqlx::migrate::MigrateError },
    #[error("store {}: {error}", path.display())]
    Database { path: PathBuf, error: sqlx::Error },
    #[error("task {id} not found in {}", path.display())]
    TaskNotFound { id: TaskId, path: PathBuf },
    #[error("migration {id} not found in {}", path.display())]
    MigrationNotFound { id: MigrationId, path: PathBuf },
    /// A cluster's secret key the store holds encrypted and cannot open with the key given (or
    /// without one): the operator must give the key it was written with.
    #[error("store {}: {error}", path.display())]
    Secret { path: PathBuf, error: crate::store::SecretError },
    /// Written by another (newer?) Ferry: a value this one does not know.
    #[error("store {} holds {what} {value:?}, which this Ferry does not know", path.display())]
    Unreadable { path: PathBuf, what: &'static str, value: String },
}
