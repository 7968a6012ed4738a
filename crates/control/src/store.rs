//! The store: tasks and migrations with everything they need after a restart, in one SQLite file
//! (by default `~/.local/share/ferry/ferry.db`) or in a PostgreSQL database (several Ferry
//! instances sharing one migration). Its methods are the only way in; no SQL lives outside this
//! module. Which one is chosen by how the store is named ([`StoreLocation`]: a path or
//! `sqlite://...`, or `postgresql://...`).
//!
//! One implementation for both: every query is written once, inside [`on_pool!`], which compiles
//! it for each backend's own driver (sqlx's `Sqlite` and `Postgres`, not its `Any` driver: see
//! `backend.rs` for why). The SQL is what both read: `$n` parameters, `ON CONFLICT` / `RETURNING`.
//! Each backend has its own embedded migrations (`migrations/sqlite/`, `migrations/postgres/`,
//! the same versions, each in its own column types); what differs in behaviour (how a write
//! transaction locks; later, advisory locks and notifications for a fleet) is in `backend.rs`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection;
use sqlx::FromRow;

use crate::error::StoreError;
use crate::task::{
    ItemCounts, ItemKind, ItemRecord, ItemStatus, NewImportTask, TaskId, TaskStatus, TaskSummary, IMPORT,
};
use ferry_metadata::import::{self, ImportPlan, ItemOutcome};

mod backend;
mod fleet;
mod location;
mod migration;
mod rekey;
pub mod secrets;

use backend::{on_pool, Pool, StoredTime, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
pub use location::{redact_url, StoreLocation, StoreLocationError};
pub use rekey::Rekeyed;

pub use secrets::{
    KeySource, SecretError, SecretProblem, StoreKey, StoreKeyError, STORE_KEY_DOC, STORE_KEY_ENV,
};

/// How long a write waits for another writer (another Ferry process on the same file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a PostgreSQL store waits for a connection (the server down or unreachable).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections a PostgreSQL store keeps at most (each `ferry serve` holds its own pool).
const POSTGRES_CONNECTIONS: u32 = 8;

/// The store's file when none is given: `$FERRY_STORE`, else `ferry/ferry.db` under
/// `$XDG_DATA_HOME`, else under `$HOME/.local/share`, else `ferry.db` in the working directory.
pub fn default_store_path() -> PathBuf {
    store_path_from(|name| std::env::var_os(name))
}

fn store_path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = var("FERRY_STORE") {
        return path;
    }
    let data_home = var("XDG_DATA_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|home| home.join(".local").join("share")));
    match data_home {
        Some(dir) => dir.join("ferry").join("ferry.db"),
        None => PathBuf::from("ferry.db"),
    }
}

fn migration_busy(error: &sqlx::migrate::MigrateError) -> bool {
    use sqlx::migrate::MigrateError as M;
    matches!(error, M::Execute(e) | M::ExecuteMigration(e, _) if is_busy(e))
}

/// SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock for now.
fn is_busy(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5") | Some("6") | Some("517")))
}

/// Ferry's store of tasks. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// The file, `:memory:`, or the PostgreSQL URL without its password; named in every error.
    path: Arc<PathBuf>,
    /// Encrypts the secrets written and opens those read; `None`: written in plain text.
    secret_key: Option<Arc<StoreKey>>,
}

/// Names the store (never a password) and whether it encrypts secrets; never a key.
impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.pool.kind())
            .field("store", &self.path)
            .field("encrypts_secrets", &self.secret_key.is_some())
            .finish()
    }
}

impl Store {
    /// Opens the store `location` names: an SQLite file ([`Store::open`]) or a PostgreSQL
    /// database ([`Store::open_postgres`]).
    pub async fn open_location(location: &StoreLocation) -> Result<Store, StoreError> {
        match location {
            StoreLocation::File(path) => Store::open(path).await,
            StoreLocation::Postgres(url) => Store::open_postgres(url).await,
        }
    }

    /// Connects to the PostgreSQL database at `url` (`postgresql://user[:password]@host[:port]/db`)
    /// and brings its tables up to date. The database must exist; Ferry creates its tables. Errors
    /// and logs name the URL without its password. Several Ferry processes may open the same
    /// database at once: sqlx's migrator holds an advisory lock while it works.
    pub async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let name = PathBuf::from(redact_url(url));
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| StoreError::Open { path: name.clone(), error })?
            .application_name("ferry");
        // One connection first: a server that refuses, or a bad user or database, is told at once
        // in the server's words (the pool would retry until its timeout and say only that).
        let first = PgConnection::connect_with(&options)
            .await
            .map_err(|error| StoreError::Open { path: name.clone(), error })?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|error| StoreError::Open { path: name.clone(), error })?;
        POSTGRES_MIGRATIONS
            .run(&pool)
            .await
            .map_err(|error| StoreError::Migrate { path: name.clone(), error })?;
        tracing::debug!(store = %name.display(), "store open");
        Ok(Store { pool: Pool::Postgres(pool), path: Arc::new(name), secret_key: None })
    }

    /// Opens the store at `path`, creating the file and its folder if missing and bringing its
    /// tables up to date. The file is in WAL mode, so readers never wait for a writer.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        // Migrations keep cluster credentials: a folder Ferry creates is its owner's alone (0700),
        // and so is the file (0600) from the moment it exists; SQLite gives its -wal and -shm files
        // the mode of the database file.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut folder = std::fs::DirBuilder::new();
            folder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
            folder.create(dir).map_err(|error| StoreError::CreateDir { path: path.to_path_buf(), error })?;
        }
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        match file.open(path) {
            // An empty file is an empty database to SQLite.
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(StoreError::CreateDir { path: path.to_path_buf(), error }),
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // Two Ferry processes opening a new store at once (two commands, or `ferry serve` and an
        // import) contend for the switch to WAL and the migrations: a busy database is waited for.
        let mut attempt = 0;
        let pool = loop {
            match SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(error) if is_busy(&error) && attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(StoreError::Open { path: path.to_path_buf(), error }),
            }
        };
        // A store made before the file was created 0600 is narrowed too.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|error| StoreError::CreateDir { path: path.to_path_buf(), error })?;
        }
        Store::migrated(pool, path.to_path_buf()).await
    }

    /// A store that lives as long as this value (and its clones), for tests.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|error| StoreError::Open { path: path.clone(), error })?
            .foreign_keys(true);
        // Each connection to `:memory:` is a database of its own: keep exactly one, for ever.
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|error| StoreError::Open { path: path.clone(), error })?;
        Store::migrated(pool, path).await
    }

    async fn migrated(pool: sqlx::SqlitePool, path: PathBuf) -> Result<Store, StoreError> {
        let mut attempt = 0;
        loop {
            match SQLITE_MIGRATIONS.run(&pool).await {
                Ok(()) => break,
                // Busy, or another process applied the same migration first (then the next
                // round finds it applied).
                Err(error) if attempt < 50 && (migration_busy(&error) || attempt < 3) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(StoreError::Migrate { path: path.clone(), error }),
            }
        }
        tracing::debug!(store = %path.display(), "store open");
        Ok(Store { pool: Pool::Sqlite(pool), path: Arc::new(path), secret_key: None })
    }

    /// This store with secrets encrypted at rest under `key`: secret keys written from now on are
    /// encrypted, and encrypted ones are read. One pass first, at this call: secret keys an
    /// earlier Ferry (or a run without a key) wrote in plain text are encrypted in place, and
    /// every encrypted one is checked to open with `key`, so that a wrong key is told now, naming
    /// a migration, rather than at its next check.
    pub async fn with_secret_key(mut self, key: StoreKey) -> Result<Store, StoreError> {
        self.secret_key = Some(Arc::new(key));
        let sealed = self.seal_plain_secrets().await?;
        if sealed > 0 {
            tracing::info!(store = %self.path.display(), secrets = sealed, "plain secret keys encrypted in the store");
        }
        Ok(self)
    }

    /// Whether secrets are encrypted at rest (a store key was given).
    pub fn encrypts_secrets(&self) -> bool {
        self.secret_key.is_some()
    }

    /// The file this store keeps (`:memory:` for an in-memory store), or for PostgreSQL its URL
    /// without the password: how the store is named to people.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sqlite` or `postgresql`.
    pub fn backend(&self) -> &'static str {
        self.pool.kind()
    }

    /// Waits for every connection to close. Dropping the store closes them too, in the background.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records a new import task, Running and with no items yet.
    pub async fn create_import_task(&self, new: NewImportTask) -> Result<TaskId, StoreError> {
        let id: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "INSERT INTO tasks (kind, target_namesrv, target_cluster, source, mode, created_at, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id",
        )
        .bind(IMPORT)
        .bind(&new.target_namesrv)
        .bind(&new.target_cluster)
        .bind(&new.source)
        .bind(&new.mode)
        .bind(StoredTime(Utc::now()))
        .bind(TaskStatus::Running.as_str())
        .fetch_one(pool)
        .await)
        .map_err(|e| self.database(e))?;
        tracing::debug!(store = %self.path.display(), task = id, "import task created");
        Ok(TaskId(id))
    }

    /// Records the result of one item of `task`, replacing an earlier result for the same kind
    /// and target name. Allowed after the task finished; finish it again to update its status.
    pub async fn record_item(&self, task: TaskId, item: &ItemRecord) -> Result<(), StoreError> {
        let warnings = serde_json::to_string(&item.warnings).expect("a list of strings is JSON");
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO task_items
                 (task_id, kind, target_name, source_name, namespace, status, cause, warnings, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (task_id, kind, target_name) DO UPDATE SET
                 source_name = excluded.source_name,
                 namespace = excluded.namespace,
                 status = excluded.status,
                 cause = excluded.cause,
                 warnings = excluded.warnings,
                 updated_at = excluded.updated_at",
        )
        .bind(task.0)
        .bind(item.kind.as_str())
        .bind(&item.target_name)
        .bind(&item.source_name)
        .bind(&item.namespace)
        .bind(item.status.as_str())
        .bind(&item.cause)
        .bind(warnings)
        .bind(StoredTime(item.updated_at))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => self.not_found(task),
            _ => self.database(e),
        })?;
        Ok(())
    }

    /// Marks `task` finished now, with the status its items came to: Succeeded if none failed
    /// (or there are none), All failed if every one did, Some failed otherwise.
    pub async fn finish_task(&self, task: TaskId) -> Result<TaskStatus, StoreError> {
        let counts = self.counts(Some(task)).await?.remove(&task).unwrap_or_default();
        let status = TaskStatus::finished(counts.topics.plus(counts.groups).plus(counts.accounts));
        let done = on_pool!(self, |pool| sqlx::query(
            "UPDATE tasks SET status = $1, finished_at = $2 WHERE id = $3"
        )
        .bind(status.as_str())
        .bind(StoredTime(Utc::now()))
        .bind(task.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        if done == 0 {
            return Err(self.not_found(task));
        }
        tracing::debug!(store = %self.path.display(), task = task.0, %status, "task finished");
        Ok(status)
    }

    /// Carries out an import `plan` on the target `cluster` as `task`: each item is recorded as it
    /// finishes (by a writer of its own, so a slow store does not hold the import back), then the
    /// task is finished. `on_item` sees every outcome as it comes. An item that cannot be recorded
    /// does not stop the import (what it did to the target is done either way), but the task's
    /// record is then incomplete, and its status may say less than happened: the first such error
    /// is returned once the task is finished. Running the import again records every item (those
    /// done come back unchanged). The one way to run an import as a task: `ferry import`, the
    /// API's imports and a migration's topics all come here.
    pub async fn carry_out_import(
        &self,
        task: TaskId,
        target: &ferry_admin::Admin,
        cluster: &ferry_admin::Cluster,
        plan: &ImportPlan,
        concurrency: usize,
        on_item: &(dyn Fn(&ItemOutcome) + Sync),
    ) -> Result<(Vec<ItemOutcome>, TaskStatus), StoreError> {
        let (records, mut to_record) = tokio::sync::mpsc::unbounded_channel::<ItemRecord>();
        let recorder = {
            let store = self.clone();
            tokio::spawn(async move {
                let mut first_error = None;
                while let Some(item) = to_record.recv().await {
                    if let Err(e) = store.record_item(task, &item).await {
                        tracing::error!(%task, error = %e, item = %item.target_name, "recording an item failed");
                        first_error.get_or_insert(e);
                    }
                }
                first_error
            })
        };
        let record = |o: &ItemOutcome| {
            let _ = records.send(ItemRecord::from(o));
            on_item(o);
        };
        let outcomes = import::execute(target, cluster, plan, concurrency, &record).await;
        drop(records);
        let unrecorded = match recorder.await {
            Ok(first_error) => first_error,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let status = self.finish_task(task).await?;
        match unrecorded {
            Some(e) => Err(e),
            None => Ok((outcomes, status)),
        }
    }

    /// Every task, newest first, with its item counts so far.
    pub async fn tasks(&self) -> Result<Vec<TaskSummary>, StoreError> {
        let rows: Vec<TaskRow> =
            on_pool!(self, |pool| sqlx::query_as(&format!("{SELECT_TASKS} ORDER BY id DESC"))
                .fetch_all(pool)
                .await)
            .map_err(|e| self.database(e))?;
        let mut counts = self.counts(None).await?;
        rows.into_iter()
            .map(|row| {
                let counts = counts.remove(&TaskId(row.id));
                self.summary(row, counts)
            })
            .collect()
    }

    /// One task and its items (only those with `status`, if given), topics first, then groups,
    /// then accounts, each by target name. `None` if the store has no such task.
    pub async fn task(
        &self,
        id: TaskId,
        status: Option<ItemStatus>,
    ) -> Result<Option<(TaskSummary, Vec<ItemRecord>)>, StoreError> {
        let row: Option<TaskRow> =
            on_pool!(self, |pool| sqlx::query_as(&format!("{SELECT_TASKS} WHERE id = $1"))
                .bind(id.0)
                .fetch_optional(pool)
                .await)
            .map_err(|e| self.database(e))?;
        let Some(row) = row else { return Ok(None) };
        let summary = self.summary(row, self.counts(Some(id)).await?.remove(&id))?;
        let filter = if status.is_some() { "AND status = $2" } else { "" };
        let sql = format!(
            "SELECT kind, source_name, target_name, namespace, status, cause, warnings, updated_at
             FROM task_items
             WHERE task_id = $1 {filter}
             ORDER BY CASE kind WHEN 'topic' THEN 0 WHEN 'group' THEN 1 ELSE 2 END, target_name"
        );
        let rows: Vec<ItemRow> = on_pool!(self, |pool| {
            let mut query = sqlx::query_as(&sql).bind(id.0);
            if let Some(status) = status {
                query = query.bind(status.as_str());
            }
            query.fetch_all(pool).await
        })
        .map_err(|e| self.database(e))?;
        let items = rows.into_iter().map(|row| self.item(row)).collect::<Result<_, _>>()?;
        Ok(Some((summary, items)))
    }

    /// Item counts per task (of one task, or of all).
    async fn counts(&self, task: Option<TaskId>) -> Result<HashMap<TaskId, KindCounts>, StoreError> {
        let filter = if task.is_some() { "WHERE task_id = $1" } else { "" };
        let sql = format!(
            "SELECT task_id, kind, status, COUNT(*) AS n FROM task_items {filter}
             GROUP BY task_id, kind, status"
        );
        let rows: Vec<CountRow> = on_pool!(self, |pool| {
            let mut query = sqlx::query_as(&sql);
            if let Some(task) = task {
                query = query.bind(task.0);
            }
            query.fetch_all(pool).await
        })
        .map_err(|e| self.database(e))?;
        let mut out: HashMap<TaskId, KindCounts> = HashMap::new();
        for row in rows {
            let kind: ItemKind = self.parse("item kind", &row.kind)?;
            let status: ItemStatus = self.parse("item status", &row.status)?;
            let n = u32::try_from(row.n).unwrap_or(u32::MAX);
            let counts = out.entry(TaskId(row.task_id)).or_default();
            match kind {
                ItemKind::Topic => counts.topics.add(status, n),
                ItemKind::Group => counts.groups.add(status, n),
                ItemKind::Account => counts.accounts.add(status, n),
            }
        }
        Ok(out)
    }

    fn summary(&self, row: TaskRow, counts: Option<KindCounts>) -> Result<TaskSummary, StoreError> {
        let counts = counts.unwrap_or_default();
        Ok(TaskSummary {
            id: TaskId(row.id),
            status: self.parse("task status", &row.status)?,
            kind: row.kind,
            target_cluster: row.target_cluster,
            target_namesrv: row.target_namesrv,
            source: row.source,
            mode: row.mode,
            created_at: row.created_at.0,
            finished_at: row.finished_at.map(Into::into),
            topics: counts.topics,
            groups: counts.groups,
            accounts: counts.accounts,
        })
    }

    fn item(&self, row: ItemRow) -> Result<ItemRecord, StoreError> {
        let warnings = serde_json::from_str(&row.warnings).map_err(|_| StoreError::Unreadable {
            path: self.path.to_path_buf(),
            what: "item warnings",
            value: row.warnings.clone(),
        })?;
        Ok(ItemRecord {
            kind: self.parse("item kind", &row.kind)?,
            status: self.parse("item status", &row.status)?,
            source_name: row.source_name,
            target_name: row.target_name,
            namespace: row.namespace,
            cause: row.cause,
            warnings,
            updated_at: row.updated_at.0,
        })
    }

    fn parse<T: FromStr>(&self, what: &'static str, value: &str) -> Result<T, StoreError> {
        value.parse().map_err(|_| StoreError::Unreadable {
            path: self.path.to_path_buf(),
            what,
            value: value.to_string(),
        })
    }

    fn database(&self, error: sqlx::Error) -> StoreError {
        StoreError::Database { path: self.path.to_path_buf(), error }
    }

    fn not_found(&self, id: TaskId) -> StoreError {
        StoreError::TaskNotFound { id, path: self.path.to_path_buf() }
    }
}

const SELECT_TASKS: &str = "SELECT id, kind, target_namesrv, target_cluster, source, mode, created_at,
     finished_at, status FROM tasks";

#[derive(FromRow)]
struct TaskRow {
    id: i64,
    kind: String,
    target_namesrv: String,
    target_cluster: String,
    source: String,
    mode: String,
    created_at: StoredTime,
    finished_at: Option<StoredTime>,
    status: String,
}

#[derive(FromRow)]
struct ItemRow {
    kind: String,
    source_name: String,
    target_name: String,
    namespace: String,
    status: String,
    cause: Option<String>,
    warnings: String,
    updated_at: StoredTime,
}

#[derive(FromRow)]
struct CountRow {
    task_id: i64,
    kind: String,
    status: String,
    n: i64,
}

#[derive(Default)]
struct KindCounts {
    topics: ItemCounts,
    groups: ItemCounts,
    accounts: ItemCounts,
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn several_openers_of_a_new_store_all_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferry.db");
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(async move { Store::open(&path).await })
            })
            .collect();
        for o in openers {
            let store = o.await.unwrap().unwrap();
            assert!(store.tasks().await.unwrap().is_empty());
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_store_and_its_folders_are_the_owners_alone_from_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("share/ferry/ferry.db");
        let store = Store::open(&path).await.unwrap();
        store.tasks().await.unwrap();
        assert_eq!(mode(&dir.path().join("share")), 0o700);
        assert_eq!(mode(&dir.path().join("share/ferry")), 0o700);
        assert_eq!(mode(&path), 0o600);
        let wal = dir.path().join("share/ferry/ferry.db-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600, "SQLite gives the WAL the database's mode");
        store.close().await;

        // A folder that was there is left as it is; an older store's file is narrowed.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = open.join("ferry.db");
        std::fs::write(&old, b"").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        Store::open(&old).await.unwrap().close().await;
        assert_eq!(mode(&open), 0o755);
        assert_eq!(mode(&old), 0o600);
    }

    fn path_with(vars: &[(&str, &str)]) -> PathBuf {
        store_path_from(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v)))
    }

    #[test]
    fn the_default_store_follows_the_environment() {
        let home = [("HOME", "/home/ops")];
        assert_eq!(path_with(&home), Path::new("/home/ops/.local/share/ferry/ferry.db"));
        let xdg = [("HOME", "/home/ops"), ("XDG_DATA_HOME", "/data")];
        assert_eq!(path_with(&xdg), Path::new("/data/ferry/ferry.db"));
        let relative_xdg = [("HOME", "/home/ops"), ("XDG_DATA_HOME", "data")];
        assert_eq!(path_with(&relative_xdg), Path::new("/home/ops/.local/share/ferry/ferry.db"));
        let explicit = [("HOME", "/home/ops"), ("XDG_DATA_HOME", "/data"), ("FERRY_STORE", "/tmp/f.db")];
        assert_eq!(path_with(&explicit), Path::new("/tmp/f.db"));
        assert_eq!(path_with(&[("FERRY_STORE", ""), ("HOME", "")]), Path::new("ferry.db"));
    }
}
