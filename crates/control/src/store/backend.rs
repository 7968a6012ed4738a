//! The two databases a store can live in, and what differs between them.
//!
//! A store holds one pool of its backend's own driver ([`Pool`]). The store's logic is written
//! once: [`on_pool!`] expands a block for each backend with `pool` bound to that backend's pool,
//! so every query, bind and row type is compiled and checked against both drivers. Everything
//! that must differ lives here, behind [`Backend`]: how a write transaction takes its lock, and
//! (for several instances on one PostgreSQL, later) advisory locks and notifications.
//!
//! Why not sqlx's `Any` driver: it encodes and decodes only integers, floats, bool, text and bytes,
//! so every timestamp (a bind or a row field) would be converted by hand at each query; SQLite's
//! connection settings (WAL, synchronous, busy timeout, foreign keys, the one-connection in-memory
//! store) would go through URL parameters or after-connect pragmas instead of
//! `SqliteConnectOptions`; and what a fleet needs next is the Postgres driver's own (`PgListener`
//! for LISTEN/NOTIFY takes a `PgPool`). With two typed pools each backend keeps its natural types
//! (ids as bigint identities, flags as booleans; timestamps as text on both: [`StoredTime`]), and
//! the SQL stays the same: `$n` parameters (SQLite reads `$1` as a named parameter),
//! `ON CONFLICT ... DO UPDATE SET x = excluded.x`, `RETURNING`. The cost: each query is compiled
//! twice.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArgumentBuffer, PgPool, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqlitePool, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Transaction, Type};

pub(super) static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(super) static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A store's connection pool, of one backend or the other.
#[derive(Clone, Debug)]
pub(super) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's own pool (`&SqlitePool` or `&PgPool`): the
/// block is written once and compiled for each backend, so it must end in a value of a type both
/// share (not a driver's own result type: take `rows_affected()` inside).
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::backend::Pool::Sqlite($pool) => $body,
            $crate::store::backend::Pool::Postgres($pool) => $body,
        }
    };
}
pub(super) use on_pool;

impl Pool {
    pub(super) async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// `sqlite` or `postgresql`.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgresql",
        }
    }
}

/// What a backend does its own way.
pub(super) trait Backend: sqlx::Database {
    /// A transaction that no other writer of `table` interleaves with until it ends; readers are
    /// not held up. `table` is one of the store's own table names, never user input.
    async fn begin_exclusive(
        pool: &sqlx::Pool<Self>,
        table: &'static str,
    ) -> Result<Transaction<'static, Self>, sqlx::Error>;
}

impl Backend for Sqlite {
    /// SQLite has one writer per file: `BEGIN IMMEDIATE` takes the write lock at once (waiting
    /// for the busy timeout), so the whole file is written by this transaction alone.
    async fn begin_exclusive(
        pool: &SqlitePool,
        _table: &'static str,
    ) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }
}

impl Backend for Postgres {
    /// `EXCLUSIVE` mode: other transactions still read the table, none writes it until this one
    /// ends (as SQLite's `BEGIN IMMEDIATE` under WAL).
    async fn begin_exclusive(
        pool: &PgPool,
        table: &'static str,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE")).execute(&mut *tx).await?;
        Ok(tx)
    }
}

/// [`Backend::begin_exclusive`] for whichever backend `pool` is.
pub(super) async fn begin_exclusive<DB: Backend>(
    pool: &sqlx::Pool<DB>,
    table: &'static str,
) -> Result<Transaction<'static, DB>, sqlx::Error> {
    DB::begin_exclusive(pool, table).await
}

/// A timestamp as the store keeps it, on both backends: RFC 3339 text in UTC to the nanosecond
/// (`2026-01-02T03:04:05.123456789+00:00`), as sqlx writes a `DateTime` into SQLite. PostgreSQL's
/// `timestamptz` would keep microseconds only, and a value read back would differ from the one
/// written; as text it reads back equal, and `column::timestamptz` still works in SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StoredTime(pub DateTime<Utc>);

impl From<StoredTime> for DateTime<Utc> {
    fn from(t: StoredTime) -> DateTime<Utc> {
        t.0
    }
}

impl Type<Sqlite> for StoredTime {
    fn type_info() -> SqliteTypeInfo {
        <DateTime<Utc> as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <DateTime<Utc> as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for StoredTime {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for StoredTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<StoredTime, BoxDynError> {
        <DateTime<Utc> as Decode<Sqlite>>::decode(value).map(StoredTime)
    }
}

impl Type<Postgres> for StoredTime {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for StoredTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, false), buf)
    }
}

impl<'r> Decode<'r, Postgres> for StoredTime {
    fn decode(value: PgValueRef<'r>) -> Result<StoredTime, BoxDynError> {
        let text = <&str as Decode<Postgres>>::decode(value)?;
        Ok(StoredTime(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[tokio::test]
    async fn both_backends_have_the_same_tables_and_columns() {
        let sqlite = Store::open_in_memory().await.unwrap();
        let postgres = Store::open_postgres(&ferry_testkit::postgres_database("same_columns")).await.unwrap();
        let (Pool::Sqlite(lite), Pool::Postgres(pg)) = (&sqlite.pool, &postgres.pool) else {
            unreachable!("one of each")
        };
        let mut in_sqlite: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
        )
        .fetch_all(lite)
        .await
        .unwrap();
        let mut in_postgres: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
        )
        .fetch_all(pg)
        .await
        .unwrap();
        in_sqlite.sort();
        in_postgres.sort();
        assert!(in_sqlite.len() > 30, "{in_sqlite:?}");
        assert_eq!(in_sqlite, in_postgres);
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let versions =
            |m: &Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert_eq!(
            versions(&SQLITE_MIGRATIONS),
            versions(&POSTGRES_MIGRATIONS),
            "a change to the schema is a migration in migrations/sqlite and migrations/postgres alike"
        );
    }
}
