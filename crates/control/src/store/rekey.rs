//! Store key rotation: every secret the store holds re-encrypted under a new key in one
//! transaction (`ferry store rekey`). A secret already under the new key is left as it is, so a
//! second run, or a run after an interrupted one, changes nothing; a secret that opens with
//! neither key refuses the whole run, naming the migration and the side, with nothing written.

use super::backend::begin_exclusive;
use super::secrets::{is_sealed, SecretError, SecretProblem, StoreKey};
use super::{on_pool, Store};
use crate::error::StoreError;
use crate::migration::MigrationId;

/// What a re-key did, counted in secret keys (a migration has up to two: source and target).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Encrypted under the old key before, under the new one now.
    pub reencrypted: usize,
    /// Kept in plain text before (a store without a key), encrypted under the new key now.
    pub encrypted: usize,
    /// Already under the new key (an earlier run): left as they were.
    pub already: usize,
}

impl Rekeyed {
    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        self.reencrypted + self.encrypted > 0
    }
}

/// What becomes of one stored secret.
enum Outcome {
    Reencrypted(String),
    Encrypted(String),
    Already,
}

impl Store {
    /// Re-encrypts every secret key in the store under `new`: those encrypted under `old` (the key
    /// the store runs with today; `None` for a store without one) and those in plain text. All or
    /// nothing: the first secret that opens with neither key fails the call with
    /// [`StoreError::Secret`] (its migration and side) and the transaction is rolled back. The
    /// write lock is taken first, so no other writer interleaves; a `ferry serve` running on this
    /// store would still hold the old key, hence the command asks for it to be stopped.
    pub async fn rekey(&self, old: Option<&StoreKey>, new: &StoreKey) -> Result<Rekeyed, StoreError> {
        // Other writers of `migrations` wait until this commits or rolls back (SQLite: the
        // file's write lock; PostgreSQL: the table's).
        let done = on_pool!(self, |pool| {
            let mut tx = begin_exclusive(pool, "migrations").await.map_err(|e| self.database(e))?;
            let rows: Vec<(i64, String, String, String)> =
                sqlx::query_as("SELECT id, name, source, target FROM migrations ORDER BY id")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| self.database(e))?;
            let mut done = Rekeyed::default();
            for (id, name, source, target) in rows {
                for (side, text) in [("source", source), ("target", target)] {
                    let mut value: serde_json::Value =
                        serde_json::from_str(&text).map_err(|_| self.unreadable_endpoint())?;
                    let Some(stored) = value.get("secretKey").and_then(|s| s.as_str()) else { continue };
                    let sealed = match self.rekey_one(stored, old, new, id, &name, side)? {
                        Outcome::Already => {
                            done.already += 1;
                            continue;
                        }
                        Outcome::Reencrypted(s) => {
                            done.reencrypted += 1;
                            s
                        }
                        Outcome::Encrypted(s) => {
                            done.encrypted += 1;
                            s
                        }
                    };
                    value["secretKey"] = serde_json::Value::String(sealed);
                    let sql = format!("UPDATE migrations SET {side} = $1 WHERE id = $2");
                    sqlx::query(&sql)
                        .bind(value.to_string())
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.database(e))?;
                }
            }
            // Dropping `tx` on an error above rolls it back.
            tx.commit().await.map_err(|e| self.database(e))?;
            done
        });
        if done.changed() {
            tracing::info!(
                store = %self.path.display(),
                reencrypted = done.reencrypted,
                encrypted = done.encrypted,
                already = done.already,
                "store re-keyed"
            );
        }
        Ok(done)
    }

    fn rekey_one(
        &self,
        stored: &str,
        old: Option<&StoreKey>,
        new: &StoreKey,
        id: i64,
        name: &str,
        side: &'static str,
    ) -> Result<Outcome, StoreError> {
        if !is_sealed(stored) {
            return Ok(Outcome::Encrypted(new.seal(stored)));
        }
        let problem = match new.open(stored) {
            Ok(_) => return Ok(Outcome::Already),
            Err(SecretProblem::WrongKey) => match old {
                Some(old) => match old.open(stored) {
                    Ok(plain) => return Ok(Outcome::Reencrypted(new.seal(&plain))),
                    Err(p) => p,
                },
                None => SecretProblem::NoKey,
            },
            Err(p) => p,
        };
        let error = SecretError { migration: MigrationId(id), name: name.to_string(), side, problem };
        Err(StoreError::Secret { path: self.path.to_path_buf(), error })
    }

    fn unreadable_endpoint(&self) -> StoreError {
        StoreError::Unreadable {
            path: self.path.to_path_buf(),
            what: "a cluster endpoint",
            value: "(not shown)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine as _;

    use super::*;
    use crate::migration::ClusterEndpoint;
    use crate::store::KeySource;

    fn key(byte: u8) -> StoreKey {
        let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        StoreKey::from_base64(&text, KeySource::Env).unwrap()
    }

    fn with_secret(namesrv: &str, secret: &str) -> ClusterEndpoint {
        let mut e = ClusterEndpoint::new(namesrv, "c");
        e.access_key = Some("ak".into());
        e.secret_key = Some(secret.into());
        e
    }

    /// Every migration's stored source and target, as written.
    async fn raw(store: &Store) -> Vec<(String, String)> {
        on_pool!(store, |pool| {
            sqlx::query_as("SELECT source, target FROM migrations ORDER BY id").fetch_all(pool).await.unwrap()
        })
    }

    /// The same store (same connection) under another key, or none, without the start-up pass.
    fn under(store: &Store, key: Option<StoreKey>) -> Store {
        Store { secret_key: key.map(Arc::new), ..store.clone() }
    }

    async fn secrets(store: &Store, id: MigrationId) -> Result<(String, String), StoreError> {
        let m = store.migration(id).await?.unwrap();
        Ok((m.source.secret_key.unwrap(), m.target.secret_key.unwrap()))
    }

    ferry_testkit::store_tests! {
        async fn a_rekeyed_store_opens_with_the_new_key_only_and_a_second_run_changes_nothing(opened) {
            let old = opened.with_secret_key(key(1)).await.unwrap();
            let a = old
                .create_migration("a", &with_secret("a:1", "src-a"), &with_secret("b:1", "dst-a"))
                .await
                .unwrap();
            let b = old
                .create_migration("b", &with_secret("a:1", "src-b"), &ClusterEndpoint::new("b:1", "c"))
                .await
                .unwrap();

            let done = old.rekey(Some(&key(1)), &key(2)).await.unwrap();
            assert_eq!(done, Rekeyed { reencrypted: 3, encrypted: 0, already: 0 });
            let text = format!("{:?}", raw(&old).await);
            assert_eq!(text.matches("enc:v1:").count(), 3, "{text}");
            assert!(!text.contains("src-a") && !text.contains("dst-a") && !text.contains("src-b"), "{text}");

            let new = under(&old, None).with_secret_key(key(2)).await.unwrap();
            assert_eq!(secrets(&new, a.id).await.unwrap(), ("src-a".into(), "dst-a".into()));
            assert_eq!(new.migration(b.id).await.unwrap().unwrap().source.secret_key.as_deref(), Some("src-b"));
            let e = under(&old, None).with_secret_key(key(1)).await.unwrap_err().to_string();
            assert!(e.contains("migration 1 (\"a\"): the source cluster's secret key does not decrypt"), "{e}");

            let before = raw(&old).await;
            let again = old.rekey(Some(&key(1)), &key(2)).await.unwrap();
            assert_eq!(again, Rekeyed { reencrypted: 0, encrypted: 0, already: 3 });
            assert!(!again.changed());
            assert_eq!(raw(&old).await, before, "a second run writes nothing");
        }
    }

    ferry_testkit::store_tests! {
        async fn a_secret_the_old_key_does_not_open_refuses_the_run_and_changes_nothing(opened) {
            let store = opened.with_secret_key(key(1)).await.unwrap();
            store
                .create_migration("a", &with_secret("a:1", "src-a"), &with_secret("b:1", "dst-a"))
                .await
                .unwrap();
            // The second migration's target was written under a third key.
            under(&store, Some(key(3)))
                .create_migration("b", &with_secret("a:1", "src-b"), &with_secret("b:1", "dst-b"))
                .await
                .unwrap();
            let before = raw(&store).await;

            let e = store.rekey(Some(&key(1)), &key(2)).await.unwrap_err();
            assert!(matches!(e, StoreError::Secret { .. }), "{e:?}");
            let e = e.to_string();
            assert!(e.contains("migration 2 (\"b\"): the source cluster's secret key does not decrypt"), "{e}");
            assert_eq!(
                raw(&store).await,
                before,
                "the first migration's secrets, re-encrypted first, rolled back"
            );

            // A wrong old key altogether: refused at the first secret, nothing written.
            let e = store.rekey(Some(&key(9)), &key(2)).await.unwrap_err().to_string();
            assert!(e.contains("migration 1 (\"a\"): the source cluster's secret key does not decrypt"), "{e}");
            assert_eq!(raw(&store).await, before);
            assert!(!e.contains("src-") && !e.contains("enc:v1:"), "no secret in the error: {e}");
        }
    }

    ferry_testkit::store_tests! {
        async fn plain_secrets_are_encrypted_and_encrypted_ones_need_the_old_key(opened) {
            let plain = opened;
            let m = plain
                .create_migration("p", &with_secret("a:1", "src-p"), &with_secret("b:1", "dst-p"))
                .await
                .unwrap();
            assert_eq!(plain.plain_secrets().await.unwrap(), 2);

            let done = plain.rekey(None, &key(2)).await.unwrap();
            assert_eq!(done, Rekeyed { reencrypted: 0, encrypted: 2, already: 0 });
            assert_eq!(plain.plain_secrets().await.unwrap(), 0);
            let keyed = under(&plain, Some(key(2)));
            assert_eq!(secrets(&keyed, m.id).await.unwrap(), ("src-p".into(), "dst-p".into()));

            // Encrypted secrets and no old key given: refused, naming what to set.
            let before = raw(&plain).await;
            let e = plain.rekey(None, &key(4)).await.unwrap_err().to_string();
            assert!(e.contains("is stored encrypted and no store key is given"), "{e}");
            assert_eq!(raw(&plain).await, before);
        }
    }
}
