//! The store's side of seamless migrations: tasks, topics, transitions, relay ports, settings.

use chrono::Utc;
use ferry_proxy::{RelayAssignment, Side, Stage};
use sqlx::FromRow;

use super::backend::StoredTime;
use super::secrets::{is_sealed, SecretError, SecretProblem};
use super::{on_pool, Store};
use crate::error::StoreError;
use crate::migration::{
    CheckReport, ClusterEndpoint, Forgotten, Migration, MigrationBroker, MigrationId, MigrationStatus,
    MigrationTopic, Transition, TransitionKind,
};

#[derive(FromRow)]
struct MigrationRow {
    id: i64,
    name: String,
    source: String,
    target: String,
    status: String,
    created_at: StoredTime,
    completed_at: Option<StoredTime>,
}

#[derive(FromRow)]
struct TopicRow {
    topic: String,
    groups: String,
    stage: String,
    strict_order: bool,
    one_write_side: bool,
    hold: Option<String>,
    last_check: Option<String>,
    updated_at: StoredTime,
}

#[derive(FromRow)]
struct TransitionRow {
    topic: String,
    action: String,
    from_stage: Option<String>,
    to_stage: Option<String>,
    actor: String,
    reason: Option<String>,
    ignored: String,
    at: StoredTime,
}

#[derive(FromRow)]
struct BrokerRow {
    side: String,
    name: String,
    addr: Option<String>,
    first_seen: StoredTime,
    last_seen: StoredTime,
    forgotten_at: Option<StoredTime>,
    forgotten_by: Option<String>,
    forgotten_reason: Option<String>,
    alias: Option<String>,
}

impl Store {
    pub async fn create_migration(
        &self,
        name: &str,
        source: &ClusterEndpoint,
        target: &ClusterEndpoint,
    ) -> Result<Migration, StoreError> {
        let id: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "INSERT INTO migrations (name, source, target, status, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(source.to_stored(self.secret_key.as_deref()))
        .bind(target.to_stored(self.secret_key.as_deref()))
        .bind(MigrationStatus::Active.as_str())
        .bind(StoredTime(Utc::now()))
        .fetch_one(pool)
        .await)
        .map_err(|e| self.database(e))?;
        self.migration(MigrationId(id)).await?.ok_or_else(|| self.migration_not_found(MigrationId(id)))
    }

    /// Every migration, newest first.
    pub async fn migrations(&self) -> Result<Vec<Migration>, StoreError> {
        let rows: Vec<MigrationRow> =
            on_pool!(self, |pool| sqlx::query_as("SELECT * FROM migrations ORDER BY id DESC")
                .fetch_all(pool)
                .await)
            .map_err(|e| self.database(e))?;
        rows.into_iter().map(|r| self.migration_of(r)).collect()
    }

    pub async fn migration(&self, id: MigrationId) -> Result<Option<Migration>, StoreError> {
        let row: Option<MigrationRow> =
            on_pool!(self, |pool| sqlx::query_as("SELECT * FROM migrations WHERE id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await)
            .map_err(|e| self.database(e))?;
        row.map(|r| self.migration_of(r)).transpose()
    }

    pub async fn complete_migration(&self, id: MigrationId) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE migrations SET status = $1, completed_at = $2 WHERE id = $3"
        )
        .bind(MigrationStatus::Completed.as_str())
        .bind(StoredTime(Utc::now()))
        .bind(id.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }

    /// Adds a topic at Initial; false if the migration already has it.
    pub async fn add_migration_topic(
        &self,
        id: MigrationId,
        topic: &str,
        groups: &[String],
        strict_order: bool,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "INSERT INTO migration_topics
                 (migration_id, topic, groups, stage, strict_order, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (migration_id, topic) DO NOTHING",
        )
        .bind(id.0)
        .bind(topic)
        .bind(serde_json::to_string(groups).expect("a list of strings is JSON"))
        .bind(Stage::Initial.name())
        .bind(strict_order)
        .bind(StoredTime(Utc::now()))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => self.migration_not_found(id),
            _ => self.database(e),
        })?;
        Ok(done == 1)
    }

    pub async fn migration_topics(&self, id: MigrationId) -> Result<Vec<MigrationTopic>, StoreError> {
        let rows: Vec<TopicRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT * FROM migration_topics WHERE migration_id = $1 ORDER BY topic"
        )
        .bind(id.0)
        .fetch_all(pool)
        .await)
        .map_err(|e| self.database(e))?;
        rows.into_iter().map(|r| self.topic_of(r)).collect()
    }

    /// Saves a topic's stage, flags, groups and latest check.
    pub async fn update_migration_topic(
        &self,
        id: MigrationId,
        t: &MigrationTopic,
    ) -> Result<(), StoreError> {
        let last_check = t.last_check.as_ref().map(|c| serde_json::to_string(c).expect("a report is JSON"));
        let hold = t.hold.as_ref().map(|h| serde_json::to_string(h).expect("a hold is JSON"));
        on_pool!(self, |pool| sqlx::query(
            "UPDATE migration_topics
             SET groups = $1, stage = $2, strict_order = $3, hold = $4, last_check = $5,
                 updated_at = $6, one_write_side = $7
             WHERE migration_id = $8 AND topic = $9",
        )
        .bind(serde_json::to_string(&t.groups).expect("a list of strings is JSON"))
        .bind(t.stage.name())
        .bind(t.strict_order)
        .bind(hold)
        .bind(last_check)
        .bind(StoredTime(t.updated_at))
        .bind(t.one_write_side)
        .bind(id.0)
        .bind(&t.topic)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }

    /// Saves only a topic's latest check: checks run beside steps and must not write a stage back.
    pub async fn set_last_check(
        &self,
        id: MigrationId,
        topic: &str,
        report: &CheckReport,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE migration_topics SET last_check = $1 WHERE migration_id = $2 AND topic = $3"
        )
        .bind(serde_json::to_string(report).expect("a report is JSON"))
        .bind(id.0)
        .bind(topic)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }

    pub async fn remove_migration_topic(&self, id: MigrationId, topic: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM migration_topics WHERE migration_id = $1 AND topic = $2"
        )
        .bind(id.0)
        .bind(topic)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }

    pub async fn record_transition(&self, id: MigrationId, t: &Transition) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO migration_transitions
                 (migration_id, topic, action, from_stage, to_stage, actor, reason, ignored, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.0)
        .bind(&t.topic)
        .bind(t.kind.as_str())
        .bind(t.from.map(Stage::name))
        .bind(t.to.map(Stage::name))
        .bind(&t.actor)
        .bind(&t.reason)
        .bind(serde_json::to_string(&t.ignored).expect("checks are JSON"))
        .bind(StoredTime(t.at))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }

    /// A migration's history (of one topic, if given), oldest first.
    pub async fn transitions(
        &self,
        id: MigrationId,
        topic: Option<&str>,
    ) -> Result<Vec<Transition>, StoreError> {
        let rows: Vec<TransitionRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT topic, action, from_stage, to_stage, actor, reason, ignored, at
             FROM migration_transitions
             WHERE migration_id = $1 AND ($2 IS NULL OR topic = $2)
             ORDER BY id",
        )
        .bind(id.0)
        .bind(topic)
        .fetch_all(pool)
        .await)
        .map_err(|e| self.database(e))?;
        rows.into_iter()
            .map(|r| {
                Ok(Transition {
                    kind: TransitionKind::parse(&r.action)
                        .ok_or_else(|| self.unreadable("a transition", &r.action))?,
                    from: r.from_stage.as_deref().map(|s| self.stage(s)).transpose()?,
                    to: r.to_stage.as_deref().map(|s| self.stage(s)).transpose()?,
                    ignored: serde_json::from_str(&r.ignored)
                        .map_err(|_| self.unreadable("checks", &r.ignored))?,
                    topic: r.topic,
                    actor: r.actor,
                    reason: r.reason,
                    at: r.at.0,
                })
            })
            .collect()
    }

    /// Records brokers seen registered now (name and master address) on one side of a migration.
    /// New ones are added; known ones get their address and time refreshed, and a forgotten one
    /// that registers again is remembered again. Brokers not in `seen` are left as they are.
    pub async fn note_brokers(
        &self,
        id: MigrationId,
        side: Side,
        seen: &[(String, String)],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        for (name, addr) in seen {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO migration_brokers (migration_id, side, name, addr, first_seen, last_seen)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (migration_id, side, name) DO UPDATE
                 SET addr = excluded.addr, last_seen = excluded.last_seen,
                     forgotten_at = NULL, forgotten_by = NULL, forgotten_reason = NULL",
            )
            .bind(id.0)
            .bind(side.name())
            .bind(name)
            .bind(addr)
            .bind(StoredTime(now))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
            .map_err(|e| self.database(e))?;
        }
        Ok(())
    }

    /// Every broker a migration has recorded, forgotten ones included, by side then name.
    pub async fn migration_brokers(&self, id: MigrationId) -> Result<Vec<MigrationBroker>, StoreError> {
        let rows: Vec<BrokerRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT side, name, addr, first_seen, last_seen, forgotten_at, forgotten_by, forgotten_reason, alias
             FROM migration_brokers WHERE migration_id = $1 ORDER BY side, name",
        )
        .bind(id.0)
        .fetch_all(pool)
        .await)
        .map_err(|e| self.database(e))?;
        rows.into_iter()
            .map(|r| {
                Ok(MigrationBroker {
                    side: self.side(&r.side)?,
                    forgotten: match (r.forgotten_at, r.forgotten_by, r.forgotten_reason) {
                        (Some(at), Some(actor), Some(reason)) => Some(Forgotten { at: at.0, actor, reason }),
                        _ => None,
                    },
                    name: r.name,
                    alias: r.alias,
                    addr: r.addr,
                    first_seen: r.first_seen.0,
                    last_seen: r.last_seen.0,
                })
            })
            .collect()
    }

    /// Sets the name clients know a broker by, once: a broker that has one keeps it (it is client
    /// state). False when the broker is unknown or already named.
    pub async fn set_broker_alias(
        &self,
        id: MigrationId,
        side: Side,
        name: &str,
        alias: &str,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "UPDATE migration_brokers SET alias = $1
             WHERE migration_id = $2 AND side = $3 AND name = $4 AND alias IS NULL",
        )
        .bind(alias)
        .bind(id.0)
        .bind(side.name())
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(done == 1)
    }

    /// Marks a broker forgotten; false when the migration has no such broker.
    pub async fn forget_broker(
        &self,
        id: MigrationId,
        side: Side,
        name: &str,
        forgotten: &Forgotten,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "UPDATE migration_brokers SET forgotten_at = $1, forgotten_by = $2, forgotten_reason = $3
             WHERE migration_id = $4 AND side = $5 AND name = $6",
        )
        .bind(StoredTime(forgotten.at))
        .bind(&forgotten.actor)
        .bind(&forgotten.reason)
        .bind(id.0)
        .bind(side.name())
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(done == 1)
    }

    pub async fn relay_assignments(&self) -> Result<Vec<RelayAssignment>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT side, backend, port FROM relay_assignments ORDER BY port"
        )
        .fetch_all(pool)
        .await)
        .map_err(|e| self.database(e))?;
        rows.into_iter()
            .map(|(side, backend, port)| {
                let side = self.side(&side)?;
                let port =
                    u16::try_from(port).map_err(|_| self.unreadable("a relay port", &port.to_string()))?;
                Ok(RelayAssignment { side, backend, port })
            })
            .collect()
    }

    /// Adds relay assignments not yet kept: a broker kept already keeps its port, and a port
    /// kept already for another broker (another instance of a fleet took it first) keeps that one.
    pub async fn save_relay_assignments(&self, all: &[RelayAssignment]) -> Result<(), StoreError> {
        for a in all {
            on_pool!(self, |pool| sqlx::query(
                "INSERT INTO relay_assignments (side, backend, port) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(a.side.name())
            .bind(&a.backend)
            .bind(i64::from(a.port))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
            .map_err(|e| self.database(e))?;
        }
        Ok(())
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        on_pool!(self, |pool| sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.database(e))
    }

    /// Keeps `value` unless the key has one already (another instance of a fleet wrote it
    /// first); returns the value kept.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
        )
        .bind(key)
        .bind(value)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(self.setting(key).await?.unwrap_or_else(|| value.to_string()))
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| self.database(e))?;
        Ok(())
    }

    /// How many secret keys the store holds in plain text (written without a store key).
    pub async fn plain_secrets(&self) -> Result<usize, StoreError> {
        let rows: Vec<(i64, String, String)> =
            on_pool!(self, |pool| sqlx::query_as("SELECT id, source, target FROM migrations")
                .fetch_all(pool)
                .await)
            .map_err(|e| self.database(e))?;
        Ok(rows
            .iter()
            .flat_map(|(_, source, target)| [source, target])
            .filter(|text| matches!(stored_secret(text), Some(s) if !is_sealed(&s)))
            .count())
    }

    /// With a store key: encrypts every secret key held in plain text, in place, and checks that
    /// every encrypted one opens. The number encrypted.
    pub(super) async fn seal_plain_secrets(&self) -> Result<usize, StoreError> {
        let Some(key) = self.secret_key.clone() else { return Ok(0) };
        let rows: Vec<(i64, String, String, String)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, name, source, target FROM migrations ORDER BY id"
        )
        .fetch_all(pool)
        .await)
        .map_err(|e| self.database(e))?;
        let mut sealed = 0;
        for (id, name, source, target) in rows {
            for (side, text) in [("source", source), ("target", target)] {
                let mut value: serde_json::Value = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(_) => return Err(self.unreadable("a cluster endpoint", "(not shown)")),
                };
                let Some(secret) = value.get("secretKey").and_then(|s| s.as_str()).map(str::to_string) else {
                    continue;
                };
                if is_sealed(&secret) {
                    key.open(&secret).map_err(|problem| self.secret_error(id, &name, side, problem))?;
                    continue;
                }
                value["secretKey"] = serde_json::Value::String(key.seal(&secret));
                // Only if no one rewrote it meanwhile (another Ferry on the same file).
                let sql = format!("UPDATE migrations SET {side} = $1 WHERE id = $2 AND {side} = $3");
                let done = on_pool!(self, |pool| sqlx::query(&sql)
                    .bind(value.to_string())
                    .bind(id)
                    .bind(&text)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected()))
                .map_err(|e| self.database(e))?;
                sealed += usize::try_from(done).unwrap_or(0);
            }
        }
        Ok(sealed)
    }

    fn migration_of(&self, r: MigrationRow) -> Result<Migration, StoreError> {
        let endpoint = |side: &'static str, text: &str| -> Result<ClusterEndpoint, StoreError> {
            let mut e: ClusterEndpoint = serde_json::from_str(text)
                .map_err(|_| self.unreadable("a cluster endpoint", "(not shown)"))?;
            if let Some(stored) = e.secret_key.take() {
                e.secret_key = Some(if is_sealed(&stored) {
                    let key = self.secret_key.as_deref();
                    key.ok_or(SecretProblem::NoKey)
                        .and_then(|key| key.open(&stored))
                        .map_err(|problem| self.secret_error(r.id, &r.name, side, problem))?
                } else {
                    stored
                });
            }
            Ok(e)
        };
        Ok(Migration {
            id: MigrationId(r.id),
            source: endpoint("source", &r.source)?,
            target: endpoint("target", &r.target)?,
            name: r.name,
            status: MigrationStatus::parse(&r.status)
                .ok_or_else(|| self.unreadable("a migration status", &r.status))?,
            created_at: r.created_at.0,
            completed_at: r.completed_at.map(Into::into),
        })
    }

    fn topic_of(&self, r: TopicRow) -> Result<MigrationTopic, StoreError> {
        let last_check: Option<CheckReport> = r
            .last_check
            .as_deref()
            .map(|c| serde_json::from_str(c).map_err(|_| self.unreadable("a check report", c)))
            .transpose()?;
        Ok(MigrationTopic {
            groups: serde_json::from_str(&r.groups)
                .map_err(|_| self.unreadable("a group list", &r.groups))?,
            stage: self.stage(&r.stage)?,
            topic: r.topic,
            strict_order: r.strict_order,
            one_write_side: r.one_write_side,
            hold: r
                .hold
                .as_deref()
                .map(|h| serde_json::from_str(h).map_err(|_| self.unreadable("a hold", h)))
                .transpose()?,
            last_check,
            updated_at: r.updated_at.0,
        })
    }

    fn side(&self, s: &str) -> Result<Side, StoreError> {
        match s {
            "source" => Ok(Side::Source),
            "target" => Ok(Side::Target),
            _ => Err(self.unreadable("a side", s)),
        }
    }

    fn stage(&self, s: &str) -> Result<Stage, StoreError> {
        Stage::parse(s).ok_or_else(|| self.unreadable("a stage", s))
    }

    fn unreadable(&self, what: &'static str, value: &str) -> StoreError {
        StoreError::Unreadable { path: self.path.to_path_buf(), what, value: value.to_string() }
    }

    /// A secret that cannot be read, as a store error: `store <file>: ... migration 3 ("move"):
    /// the source cluster's secret key ...: set FERRY_STORE_KEY or [store] key_file ...`.
    fn secret_error(&self, id: i64, name: &str, side: &'static str, problem: SecretProblem) -> StoreError {
        let error = SecretError { migration: MigrationId(id), name: name.to_string(), side, problem };
        StoreError::Secret { path: self.path.to_path_buf(), error }
    }

    fn migration_not_found(&self, id: MigrationId) -> StoreError {
        StoreError::MigrationNotFound { id, path: self.path.to_path_buf() }
    }
}

/// The `secretKey` of a stored endpoint, if it has one.
fn stored_secret(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("secretKey")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::migration::Check;
    use crate::store::{KeySource, StoreKey};

    ferry_testkit::store_tests! {
        async fn a_migration_its_topics_and_history_round_trip(opened) {
            let store = opened;
            let mut source = ClusterEndpoint::new("10.0.0.1:9876", "src");
            source.access_key = Some("ak".into());
            source.secret_key = Some("very-secret".into());
            let m = store
                .create_migration("move", &source, &ClusterEndpoint::new("10.0.0.2:9876", "dst"))
                .await
                .unwrap();
            assert_eq!(m.source.secret_key.as_deref(), Some("very-secret"), "kept for checks after a restart");
            assert!(!serde_json::to_string(&m).unwrap().contains("very-secret"), "never shown");
            assert!(!format!("{m:?}").contains("very-secret"));

            assert!(store.add_migration_topic(m.id, "orders", &["billing".into()], true).await.unwrap());
            assert!(!store.add_migration_topic(m.id, "orders", &[], false).await.unwrap(), "added once");
            let mut t = store.migration_topics(m.id).await.unwrap().remove(0);
            assert_eq!(
                (t.stage, t.strict_order, t.groups.clone()),
                (Stage::Initial, true, vec!["billing".to_string()])
            );
            assert!(!t.one_write_side, "decided at the first step");
            t.stage = Stage::DualRead;
            t.one_write_side = true;
            t.last_check = Some(CheckReport {
                from: Stage::DualRead,
                toward: Stage::DualReadWrite,
                at: Utc::now(),
                checks: vec![Check::fail("route-settled", "1 client behind")],
            });
            store.update_migration_topic(m.id, &t).await.unwrap();
            let back = store.migration_topics(m.id).await.unwrap().remove(0);
            assert_eq!((back.stage, back.one_write_side), (Stage::DualRead, true));
            assert_eq!(back.last_check, t.last_check);

            let tr = Transition {
                topic: "orders".into(),
                kind: TransitionKind::Forward,
                from: Some(Stage::Initial),
                to: Some(Stage::DualRead),
                actor: "ops".into(),
                reason: Some("checked by hand".into()),
                ignored: vec![Check::fail("clients-through-ferry", "10.0.0.9@1 direct")],
                at: Utc::now(),
            };
            store.record_transition(m.id, &tr).await.unwrap();
            let h = store.transitions(m.id, Some("orders")).await.unwrap();
            assert_eq!(h.len(), 1);
            assert_eq!(h[0].ignored, tr.ignored);
            assert!(store.transitions(m.id, Some("other")).await.unwrap().is_empty());

            let err = store.add_migration_topic(MigrationId(99), "x", &[], false).await.unwrap_err();
            assert!(err.to_string().contains("migration 99 not found"), "{err}");
        }
    }

    ferry_testkit::store_tests! {
        async fn brokers_are_kept_when_they_disappear_and_forgotten_only_on_purpose(opened) {
            let store = opened;
            let m = store
                .create_migration(
                    "move",
                    &ClusterEndpoint::new("a:9876", "src"),
                    &ClusterEndpoint::new("b:9876", "dst"),
                )
                .await
                .unwrap();
            let seen =
                |v: &[(&str, &str)]| v.iter().map(|(n, a)| (n.to_string(), a.to_string())).collect::<Vec<_>>();
            store
                .note_brokers(
                    m.id,
                    Side::Source,
                    &seen(&[("broker-a", "10.0.0.1:10911"), ("broker-b", "10.0.0.2:10911")]),
                )
                .await
                .unwrap();
            // broker-a is down: only broker-b is listed now, at a new address.
            store.note_brokers(m.id, Side::Source, &seen(&[("broker-b", "10.0.0.3:10911")])).await.unwrap();
            let all = store.migration_brokers(m.id).await.unwrap();
            let names: Vec<_> = all.iter().map(|b| (b.name.as_str(), b.addr.as_deref())).collect();
            assert_eq!(names, [("broker-a", Some("10.0.0.1:10911")), ("broker-b", Some("10.0.0.3:10911"))]);
            assert_eq!(all[0].label(), "source broker broker-a (10.0.0.1:10911)");

            let why = Forgotten { at: Utc::now(), actor: "ops".into(), reason: "decommissioned".into() };
            assert!(store.forget_broker(m.id, Side::Source, "broker-a", &why).await.unwrap());
            assert!(!store.forget_broker(m.id, Side::Target, "broker-a", &why).await.unwrap(), "no such broker");
            assert_eq!(store.migration_brokers(m.id).await.unwrap()[0].forgotten, Some(why));
            store.note_brokers(m.id, Side::Source, &seen(&[("broker-a", "10.0.0.1:10911")])).await.unwrap();
            assert_eq!(store.migration_brokers(m.id).await.unwrap()[0].forgotten, None, "back, so heard again");

            assert!(store.set_broker_alias(m.id, Side::Source, "broker-b", "zz-broker-b").await.unwrap());
            assert!(
                !store.set_broker_alias(m.id, Side::Source, "broker-b", "other").await.unwrap(),
                "kept once set"
            );
            assert_eq!(store.migration_brokers(m.id).await.unwrap()[1].alias.as_deref(), Some("zz-broker-b"));
        }
    }

    fn key(byte: u8) -> StoreKey {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        StoreKey::from_base64(&text, KeySource::Env).unwrap()
    }

    async fn stored(store: &Store, id: MigrationId) -> String {
        let (source, target): (String, String) = on_pool!(store, |pool| {
            sqlx::query_as("SELECT source, target FROM migrations WHERE id = $1")
                .bind(id.0)
                .fetch_one(pool)
                .await
                .unwrap()
        });
        format!("{source} {target}")
    }

    fn with_secret(namesrv: &str, secret: &str) -> ClusterEndpoint {
        let mut e = ClusterEndpoint::new(namesrv, "c");
        e.access_key = Some("ak".into());
        e.secret_key = Some(secret.into());
        e
    }

    ferry_testkit::store_tests! {
        async fn with_a_key_secrets_are_stored_encrypted_and_read_back(opened) {
            let store = opened.with_secret_key(key(1)).await.unwrap();
            assert!(store.encrypts_secrets());
            let m = store
                .create_migration(
                    "move",
                    &with_secret("a:9876", "src-secret"),
                    &with_secret("b:9876", "dst-secret"),
                )
                .await
                .unwrap();
            assert_eq!(m.source.secret_key.as_deref(), Some("src-secret"));
            assert_eq!(m.target.secret_key.as_deref(), Some("dst-secret"));
            let text = stored(&store, m.id).await;
            assert!(!text.contains("src-secret") && !text.contains("dst-secret"), "{text}");
            assert_eq!(text.matches("\"secretKey\":\"enc:v1:").count(), 2, "{text}");
            assert!(text.contains("\"accessKey\":\"ak\""), "only the secret is encrypted: {text}");
            assert_eq!(store.plain_secrets().await.unwrap(), 0);
            let back = store.migrations().await.unwrap().remove(0);
            assert_eq!(back.source, m.source);
            assert_eq!(back.target, m.target);
            // An endpoint without a secret stays without one.
            let none = store
                .create_migration(
                    "bare",
                    &ClusterEndpoint::new("a:9876", "c"),
                    &ClusterEndpoint::new("b:9876", "c"),
                )
                .await
                .unwrap();
            assert!(stored(&store, none.id).await.contains("\"secretKey\":null"));
            assert_eq!(store.migration(none.id).await.unwrap().unwrap().source.secret_key, None);
        }
    }

    ferry_testkit::store_tests! {
        async fn an_encrypted_secret_without_its_key_is_an_error_naming_the_migration(opened) {
            let keyed = opened.with_secret_key(key(1)).await.unwrap();
            let m = keyed
                .create_migration(
                    "move",
                    &with_secret("a:9876", "src-secret"),
                    &ClusterEndpoint::new("b:9876", "c"),
                )
                .await
                .unwrap();

            let without = Store { secret_key: None, ..keyed.clone() };
            let e = without.migrations().await.unwrap_err().to_string();
            assert!(
                e.contains(&format!(
                    "migration {} (\"move\"): the source cluster's secret key is stored encrypted",
                    m.id
                )) && e.contains("no store key is given: set FERRY_STORE_KEY or [store] key_file"),
                "{e}"
            );
            assert!(!e.contains("src-secret") && !e.contains("enc:v1"), "{e}");
            assert!(without.migration(m.id).await.is_err());

            let wrong = Store { secret_key: Some(Arc::new(key(2))), ..keyed.clone() };
            let e = wrong.migration(m.id).await.unwrap_err().to_string();
            assert!(
                e.contains("does not decrypt with the store key given") && e.contains("FERRY_STORE_KEY"),
                "{e}"
            );
            assert!(!e.contains("src-secret"), "{e}");
            // Given at start, the wrong key is told at once.
            let e = without.clone().with_secret_key(key(2)).await.unwrap_err().to_string();
            assert!(
                e.contains("migration 1 (\"move\"): the source cluster's secret key does not decrypt"),
                "{e}"
            );

            let damaged = r#"{"namesrv":"a:9876","cluster":"c","secretKey":"enc:v1:AAAA"}"#;
            on_pool!(keyed, |pool| {
                sqlx::query("UPDATE migrations SET target = $1").bind(damaged).execute(pool).await.unwrap();
            });
            let e = keyed.migration(m.id).await.unwrap_err().to_string();
            assert!(e.contains("the target cluster's secret key is stored as an encrypted value"), "{e}");
        }
    }

    ferry_testkit::store_tests! {
        async fn plain_secrets_of_older_stores_read_and_are_encrypted_once_a_key_is_given(opened) {
            let plain = opened;
            assert!(!plain.encrypts_secrets());
            let m = plain
                .create_migration(
                    "old",
                    &with_secret("a:9876", "src-secret"),
                    &with_secret("b:9876", "dst-secret"),
                )
                .await
                .unwrap();
            assert!(
                stored(&plain, m.id).await.contains("\"secretKey\":\"src-secret\""),
                "as before, without a key"
            );
            assert_eq!(plain.plain_secrets().await.unwrap(), 2);

            let keyed = plain.clone().with_secret_key(key(1)).await.unwrap();
            let text = stored(&keyed, m.id).await;
            assert!(!text.contains("src-secret") && !text.contains("dst-secret"), "{text}");
            assert_eq!(keyed.plain_secrets().await.unwrap(), 0);
            let back = keyed.migration(m.id).await.unwrap().unwrap();
            assert_eq!(back.source.secret_key.as_deref(), Some("src-secret"));
            assert_eq!(back.target.secret_key.as_deref(), Some("dst-secret"));
            assert_eq!(back.source.access_key.as_deref(), Some("ak"));
            // A second start with the same key has nothing left to do and changes nothing.
            let again = keyed.clone().with_secret_key(key(1)).await.unwrap();
            assert_eq!(stored(&again, m.id).await, text);

            // Plain text still reads with a key (a row written by a Ferry without one, meanwhile).
            on_pool!(plain, |pool| {
                sqlx::query("UPDATE migrations SET source = $1")
                    .bind(with_secret("a:9876", "later").to_stored(None))
                    .execute(pool)
                    .await
                    .unwrap();
            });
            assert_eq!(keyed.migration(m.id).await.unwrap().unwrap().source.secret_key.as_deref(), Some("later"));
        }
    }

    ferry_testkit::store_tests! {
        async fn relay_ports_are_kept_once(opened) {
            let store = opened;
            let a = RelayAssignment { side: Side::Source, backend: "10.0.0.1:10911".into(), port: 30002 };
            store.save_relay_assignments(std::slice::from_ref(&a)).await.unwrap();
            let moved = RelayAssignment { port: 30006, ..a.clone() };
            store.save_relay_assignments(&[moved]).await.unwrap();
            assert_eq!(store.relay_assignments().await.unwrap(), vec![a.clone()]);
            // Another instance gave the same port to another broker: the first keeps it.
            let other = RelayAssignment { backend: "10.0.0.2:10911".into(), ..a.clone() };
            store.save_relay_assignments(&[other]).await.unwrap();
            assert_eq!(store.relay_assignments().await.unwrap(), vec![a]);
        }
    }

    ferry_testkit::store_tests! {
        async fn a_setting_written_first_is_kept_by_a_later_writer(opened) {
            let store = opened;
            assert_eq!(store.setting_or_insert("api_token", "first").await.unwrap(), "first");
            assert_eq!(store.setting_or_insert("api_token", "second").await.unwrap(), "first");
            assert_eq!(store.setting("api_token").await.unwrap().as_deref(), Some("first"));
        }
    }
}
