//! The seamless migration as the store keeps it and the API shows it.

use std::fmt;

use std::collections::BTreeMap;

use ferry_admin::{Admin, AdminError, AdminOptions, Credentials};
use ferry_proxy::{Side, Stage, TopicPolicy};
use serde::{Deserialize, Serialize};

use crate::store::secrets::StoreKey;
use crate::task::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MigrationId(pub i64);

impl fmt::Display for MigrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How Ferry reaches one cluster. The secret key is kept (checks run again after a restart) but
/// never shown: it is skipped when serialized for the API and redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterEndpoint {
    /// NameServer list, `host:port;host:port`.
    pub namesrv: String,
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(default, skip_serializing)]
    pub secret_key: Option<String>,
}

impl ClusterEndpoint {
    pub fn new(namesrv: impl Into<String>, cluster: impl Into<String>) -> ClusterEndpoint {
        ClusterEndpoint {
            namesrv: namesrv.into(),
            cluster: cluster.into(),
            access_key: None,
            secret_key: None,
        }
    }

    /// An admin client for the cluster, signing with the account when it has one (an empty access
    /// key, as a form sends it, is no account).
    pub fn admin(&self) -> Result<Admin, AdminError> {
        let credentials = match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) if !ak.is_empty() => Some(Credentials::new(ak, sk)),
            _ => None,
        };
        Admin::new(&self.namesrv, AdminOptions { credentials, ..AdminOptions::default() })
    }

    /// The form written to the store: with the secret, encrypted when the store has a key
    /// (`enc:v1:...`, see `store::secrets`), else in plain text.
    pub(crate) fn to_stored(&self, key: Option<&StoreKey>) -> String {
        let secret = match (&self.secret_key, key) {
            (Some(s), Some(key)) => Some(key.seal(s)),
            (secret, None) => secret.clone(),
            (None, Some(_)) => None,
        };
        serde_json::json!({
            "namesrv": self.namesrv,
            "cluster": self.cluster,
            "accessKey": self.access_key,
            "secretKey": secret,
        })
        .to_string()
    }
}

impl fmt::Debug for ClusterEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterEndpoint")
            .field("namesrv", &self.namesrv)
            .field("cluster", &self.cluster)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    Active,
    Completed,
}

impl MigrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationStatus::Active => "active",
            MigrationStatus::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<MigrationStatus> {
        [MigrationStatus::Active, MigrationStatus::Completed].into_iter().find(|v| v.as_str() == s)
    }
}

// Deserialize: the command line reads the API's answers into these (secret keys are never in them).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    pub id: MigrationId,
    pub name: String,
    pub source: ClusterEndpoint,
    pub target: ClusterEndpoint,
    pub status: MigrationStatus,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

/// One topic of a migration and where it stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationTopic {
    pub topic: String,
    /// Consumer groups of the topic whose readiness is checked (and whose retry topics follow).
    pub groups: Vec<String>,
    pub stage: Stage,
    pub strict_order: bool,
    /// Strict order, FIFO topic: never written on both sides at once (`TopicPolicy::one_write_side`).
    /// Decided at the first step from the topic's type on the source.
    #[serde(default)]
    pub one_write_side: bool,
    /// Strict order only: a side held write-only until the other is read up to a barrier.
    pub hold: Option<Hold>,
    /// The latest health check toward the next stage.
    pub last_check: Option<CheckReport>,
    pub updated_at: Timestamp,
}

impl MigrationTopic {
    /// How Ferry's NameServer front and relays serve the topic now.
    pub fn policy(&self) -> TopicPolicy {
        TopicPolicy::at(self.stage)
            .held(self.hold.as_ref().map(|h| h.write_only))
            .one_write_side(self.one_write_side)
    }
}

/// After a step that moves keys of a strict-order topic from one cluster to the other, the side
/// the keys moved to is written but not read until every group has consumed, on the side they
/// left, everything written there before the step: then no key is read out of order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub write_only: Side,
    /// Queues (`broker:queue`) of the other side and their max offsets once every client had
    /// the new route; `None` until then.
    pub barrier: Option<BTreeMap<String, i64>>,
    pub since: Timestamp,
}

/// One named gate and the evidence it saw, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl Check {
    pub fn pass(name: &str, detail: impl Into<String>) -> Check {
        Check { name: name.to_string(), passed: true, detail: detail.into() }
    }

    pub fn fail(name: &str, detail: impl Into<String>) -> Check {
        Check { name: name.to_string(), passed: false, detail: detail.into() }
    }
}

/// The checks for one step of one topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub from: Stage,
    pub toward: Stage,
    pub at: Timestamp,
    pub checks: Vec<Check>,
}

impl CheckReport {
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    pub fn failing(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// "name: detail; name: detail" of the failing checks.
    pub fn blockers(&self) -> String {
        self.failing().map(|c| format!("{}: {}", c.name, c.detail)).collect::<Vec<_>>().join("; ")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    Added,
    Forward,
    Rollback,
    Removed,
    /// A strict-order hold ended: the held side is read again.
    Released,
    /// An operator told the migration to stop expecting a broker (its checks no longer wait to
    /// hear from it). Recorded with the topic left empty: it concerns the whole migration.
    BrokerForgotten,
}

impl TransitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Added => "added",
            TransitionKind::Forward => "forward",
            TransitionKind::Rollback => "rollback",
            TransitionKind::Removed => "removed",
            TransitionKind::Released => "released",
            TransitionKind::BrokerForgotten => "broker_forgotten",
        }
    }

    pub fn parse(s: &str) -> Option<TransitionKind> {
        [
            TransitionKind::Added,
            TransitionKind::Forward,
            TransitionKind::Rollback,
            TransitionKind::Removed,
            TransitionKind::Released,
            TransitionKind::BrokerForgotten,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One entry of a topic's history.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub topic: String,
    pub kind: TransitionKind,
    pub from: Option<Stage>,
    pub to: Option<Stage>,
    pub actor: String,
    pub reason: Option<String>,
    /// Checks that failed and were ignored on purpose, with their evidence at the time.
    pub ignored: Vec<Check>,
    pub at: Timestamp,
}

impl Transition {
    /// `kind` of `topic` by `actor`, now; stages, reason and ignored checks added as they apply.
    pub fn new(topic: &str, kind: TransitionKind, actor: &str) -> Transition {
        Transition {
            topic: topic.to_string(),
            kind,
            from: None,
            to: None,
            actor: actor.to_string(),
            reason: None,
            ignored: Vec::new(),
            at: chrono::Utc::now(),
        }
    }

    pub fn stages(self, from: Option<Stage>, to: Option<Stage>) -> Transition {
        Transition { from, to, ..self }
    }

    pub fn reason(self, reason: impl Into<Option<String>>) -> Transition {
        Transition { reason: reason.into(), ..self }
    }

    pub fn ignoring(self, ignored: Vec<Check>) -> Transition {
        Transition { ignored, ..self }
    }
}

/// A broker a migration's checks must hear from. Recorded when first seen in a cluster's layout
/// and never dropped because it disappeared: a master that crashed is simply not listed by the
/// NameServer, and what is not seen must not count as empty ("silence is not zero").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationBroker {
    pub side: Side,
    pub name: String,
    /// The name clients know it by, when its own is also a broker's of the other cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The master's address when last seen registered.
    pub addr: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Set when an operator decided the migration no longer needs this broker.
    pub forgotten: Option<Forgotten>,
}

impl MigrationBroker {
    /// `source broker broker-a (10.0.0.1:10911)`: how checks name it.
    pub fn label(&self) -> String {
        match &self.addr {
            Some(addr) => format!("{} broker {} ({addr})", self.side, self.name),
            None => format!("{} broker {}", self.side, self.name),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Forgotten {
    pub at: Timestamp,
    pub actor: String,
    pub reason: String,
}
