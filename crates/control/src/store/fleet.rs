//! The fleet's rows: each instance's heartbeat and view, and the step lease.

use chrono::{DateTime, Utc};

use super::{on_pool, Pool, Store};
use crate::error::StoreError;
use crate::fleet::{Instance, InstanceView};

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Store {
    /// Writes this instance's heartbeat and view (a new instance is added; a forgotten one is back).
    pub async fn heartbeat(&self, i: &Instance) -> Result<(), StoreError> {
        let view = serde_json::to_string(&i.view).expect("a view is JSON");
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO fleet_instances (name, namesrv, api, started_ms, heartbeat_ms, view)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET
                 namesrv = excluded.namesrv, api = excluded.api, started_ms = excluded.started_ms,
                 heartbeat_ms = excluded.heartbeat_ms, view = excluded.view",
        )
        .bind(&i.name)
        .bind(&i.namesrv)
        .bind(&i.api)
        .bind(millis(i.started_at))
        .bind(millis(i.heartbeat_at))
        .bind(view)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }

    /// Every instance that has written a heartbeat and was not forgotten since, by name.
    pub async fn instances(&self) -> Result<Vec<Instance>, StoreError> {
        let rows: Vec<(String, String, String, i64, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT name, namesrv, api, started_ms, heartbeat_ms, view FROM fleet_instances ORDER BY name"
        )
        .fetch_all(pool)
        .await
        })
        .map_err(|e| self.database(e))?;
        rows.into_iter()
            .map(|(name, namesrv, api, started, beat, view)| {
                let view: InstanceView = serde_json::from_str(&view).map_err(|e| StoreError::Unreadable {
                    path: self.path.to_path_buf(),
                    what: "an instance's view",
                    value: format!("{name}: {e}"),
                })?;
                Ok(Instance { name, namesrv, api, started_at: time(started), heartbeat_at: time(beat), view })
            })
            .collect()
    }

    /// Drops an instance from the fleet until it writes a heartbeat again; whether it was there.
    pub async fn forget_instance(&self, name: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query("DELETE FROM fleet_instances WHERE name = $1")
            .bind(name)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(n > 0)
    }

    /// Takes the step lease for `holder` until `until`, if it is free, run out, or `holder`'s
    /// already: `Ok(None)`. Else `Ok(Some(the holder))`.
    pub async fn take_step_lease(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let taken = on_pool!(self, |pool| sqlx::query(
            "UPDATE step_lease SET holder = $1, expires_ms = $2
             WHERE id = 1 AND (holder = $1 OR holder = '' OR expires_ms < $3)",
        )
        .bind(holder)
        .bind(millis(until))
        .bind(millis(now))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        if taken == 1 {
            return Ok(None);
        }
        let other: String =
            on_pool!(self, |pool| sqlx::query_scalar("SELECT holder FROM step_lease WHERE id = 1")
                .fetch_one(pool)
                .await)
            .map_err(|e| self.database(e))?;
        Ok(Some(other))
    }

    /// Gives the step lease back, if `holder` still has it.
    pub async fn release_step_lease(&self, holder: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE step_lease SET holder = '', expires_ms = 0 WHERE id = 1 AND holder = $1"
        )
        .bind(holder)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }
}

/// The channel a step's end is notified on (PostgreSQL), so that every instance re-reads the
/// stages at once rather than at its next tick.
const STAGE_CHANNEL: &str = "ferry_stage";

/// Stage changes other instances notify, as they come.
pub struct StageChanges {
    listener: sqlx::postgres::PgListener,
    path: std::path::PathBuf,
}

impl StageChanges {
    /// Waits for the next notification; an error means the connection was lost (listen again).
    pub async fn next(&mut self) -> Result<(), StoreError> {
        self.listener
            .recv()
            .await
            .map(|_| ())
            .map_err(|error| StoreError::Database { path: self.path.clone(), error })
    }
}

impl Store {
    /// Tells every instance listening that a step ended (PostgreSQL; nothing on SQLite, where one
    /// instance takes every step).
    pub async fn notify_stage_change(&self) -> Result<(), StoreError> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(STAGE_CHANNEL)
                .execute(pool)
                .await
                .map_err(|e| self.database(e))?;
        }
        Ok(())
    }

    /// Listens for stage changes: `None` on SQLite (no other instance to hear from).
    pub async fn stage_changes(&self) -> Result<Option<StageChanges>, StoreError> {
        let Pool::Postgres(pool) = &self.pool else { return Ok(None) };
        let mut listener =
            sqlx::postgres::PgListener::connect_with(pool).await.map_err(|e| self.database(e))?;
        listener.listen(STAGE_CHANNEL).await.map_err(|e| self.database(e))?;
        Ok(Some(StageChanges { listener, path: self.path.to_path_buf() }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use crate::fleet::{Instance, InstanceView};
    use crate::store::Store;

    fn instance(name: &str, beat: chrono::DateTime<Utc>) -> Instance {
        Instance {
            name: name.into(),
            namesrv: format!("{name}:9876"),
            api: format!("http://{name}:8080"),
            started_at: beat - Duration::seconds(5),
            heartbeat_at: beat,
            view: InstanceView::default(),
        }
    }

    ferry_testkit::store_tests! {
        async fn instances_beat_and_are_forgotten_until_they_beat_again(opened) {
            let store = opened;
            let now = Utc::now();
            store.heartbeat(&instance("ferry-2", now)).await.unwrap();
            store.heartbeat(&instance("ferry-1", now)).await.unwrap();
            let later = now + Duration::seconds(3);
            store.heartbeat(&instance("ferry-1", later)).await.unwrap();
            let all = store.instances().await.unwrap();
            assert_eq!(all.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["ferry-1", "ferry-2"]);
            assert_eq!(all[0].heartbeat_at.timestamp_millis(), later.timestamp_millis());
            assert_eq!(all[0].api, "http://ferry-1:8080");

            assert!(store.forget_instance("ferry-2").await.unwrap());
            assert!(!store.forget_instance("ferry-2").await.unwrap(), "already gone");
            assert_eq!(store.instances().await.unwrap().len(), 1);
            store.heartbeat(&instance("ferry-2", later)).await.unwrap();
            assert_eq!(store.instances().await.unwrap().len(), 2, "back once it beats again");
        }
    }

    ferry_testkit::store_tests! {
        async fn one_instance_holds_the_step_lease_until_it_gives_it_back_or_it_runs_out(opened) {
            let store = opened;
            let now = Utc::now();
            let until = now + Duration::seconds(60);
            assert_eq!(store.take_step_lease("ferry-1", now, until).await.unwrap(), None);
            assert_eq!(store.take_step_lease("ferry-1", now, until).await.unwrap(), None, "its own again");
            assert_eq!(
                store.take_step_lease("ferry-2", now, until).await.unwrap().as_deref(),
                Some("ferry-1")
            );
            // Another's release does not free it.
            store.release_step_lease("ferry-2").await.unwrap();
            assert!(store.take_step_lease("ferry-2", now, until).await.unwrap().is_some());
            store.release_step_lease("ferry-1").await.unwrap();
            assert_eq!(store.take_step_lease("ferry-2", now, until).await.unwrap(), None);
            // A holder that died: its lease runs out.
            let after = until + Duration::seconds(1);
            assert_eq!(store.take_step_lease("ferry-1", after, after + Duration::seconds(60)).await.unwrap(), None);
        }
    }
}
