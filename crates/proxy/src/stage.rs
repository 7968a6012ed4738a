//! What the proxy reads from the migration engine: each topic's stage, as a table it can consult on
//! every route request. The proxy never decides a stage; the control crate writes this table.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// Where a topic is in its move from the source cluster to the target (docs/seamless.md,
/// "Stages"). The order of the variants is the order of the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// All traffic on the source, through Ferry.
    Initial,
    /// Consumers read both clusters, producers write the source.
    DualRead,
    /// Producers write both, consumers read both.
    DualReadWrite,
    /// Producers write the target, consumers drain the source.
    CuttingOver,
    /// All traffic on the target.
    Completed,
    /// All traffic on the target, with no Ferry in between: routes name the target's brokers
    /// themselves instead of relays, while Ferry still answers route lookups. The last step
    /// before clients point their NameServer address at the target and Ferry stops.
    Direct,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Initial,
        Stage::DualRead,
        Stage::DualReadWrite,
        Stage::CuttingOver,
        Stage::Completed,
        Stage::Direct,
    ];

    pub fn next(self) -> Option<Stage> {
        Stage::ALL.get(self as usize + 1).copied()
    }

    pub fn previous(self) -> Option<Stage> {
        (self as usize).checked_sub(1).map(|i| Stage::ALL[i])
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::Initial => "Initial",
            Stage::DualRead => "DualRead",
            Stage::DualReadWrite => "DualReadWrite",
            Stage::CuttingOver => "CuttingOver",
            Stage::Completed => "Completed",
            Stage::Direct => "Direct",
        }
    }

    /// Traffic only on the target: Completed or beyond.
    pub fn done(self) -> bool {
        self >= Stage::Completed
    }

    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the NameServer front builds one topic's route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicPolicy {
    pub stage: Stage,
    /// A side whose queues are shown write-only (producers write them, consumers do not read
    /// them yet). Ordered topics in strict mode use it after a step that moves keys from one
    /// cluster to the other: the new side is not read until the old side's older messages are.
    pub write_only: Option<crate::route::Side>,
    /// Never written on both sides at once: DualReadWrite is written like DualRead, and
    /// CuttingOver moves every producer in one step. Strict-order FIFO topics use it: the Apache
    /// Proxy places a message group on a queue by a consistent hash over the writable queues, which
    /// moves groups between one side's own queues when that set shrinks (docs/seamless.md, "Strict
    /// order"); one switch moves every group from one side to the other, whatever the hash.
    #[serde(default)]
    pub one_write_side: bool,
}

impl TopicPolicy {
    pub fn at(stage: Stage) -> TopicPolicy {
        TopicPolicy { stage, write_only: None, one_write_side: false }
    }

    /// The same policy with `side` held write-only.
    pub fn held(self, side: Option<crate::route::Side>) -> TopicPolicy {
        TopicPolicy { write_only: side, ..self }
    }

    /// The same policy, never written on both sides at once when `one` holds.
    pub fn one_write_side(self, one: bool) -> TopicPolicy {
        TopicPolicy { one_write_side: one, ..self }
    }

    /// Whether going to `to` changes which sides producers write: a strict-order topic's keys
    /// then move from one cluster to the other (holds are not considered).
    pub fn moves_keys(self, to: Stage) -> bool {
        use crate::route::{writable, Side};
        let writes = |p: TopicPolicy| (writable(p, Side::Source), writable(p, Side::Target));
        let (from, to) = (self.held(None), TopicPolicy { stage: to, ..self.held(None) });
        writes(from) != writes(to)
    }
}

/// A policy and the epoch at which it was set: the front records which epoch each client was
/// served, so the engine can tell when a change has reached every client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versioned {
    pub policy: TopicPolicy,
    pub epoch: u64,
    /// When the policy was set.
    pub changed_at: std::time::Instant,
}

/// The topics under migration. Topics absent from it pass through as the source has them.
#[derive(Default)]
pub struct StageTable {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    topics: HashMap<String, Versioned>,
    /// The target cluster (its NameServer list) of each topic, when not the front's default:
    /// migrations to different targets share one front.
    targets: HashMap<String, std::sync::Arc<str>>,
    /// Target brokers clients know by another name (their real name is also a source broker's):
    /// real name to the name shown in routes and rewritten on the relays.
    aliases: HashMap<String, String>,
    epoch: u64,
}

impl StageTable {
    pub fn new() -> StageTable {
        StageTable::default()
    }

    pub fn get(&self, topic: &str) -> Option<Versioned> {
        self.inner.read().expect("stage table lock").topics.get(topic).copied()
    }

    /// Sets a topic's policy; returns the epoch the topic is now at (unchanged if the policy is).
    pub fn set(&self, topic: &str, policy: TopicPolicy) -> u64 {
        let mut inner = self.inner.write().expect("stage table lock");
        if let Some(v) = inner.topics.get(topic) {
            if v.policy == policy {
                return v.epoch;
            }
        }
        inner.epoch += 1;
        let epoch = inner.epoch;
        inner
            .topics
            .insert(topic.to_string(), Versioned { policy, epoch, changed_at: std::time::Instant::now() });
        epoch
    }

    /// Sets the names target brokers are shown under (real name to alias); an empty map shows
    /// every broker under its own name. A change serves every migrating topic anew.
    pub fn set_broker_aliases(&self, aliases: HashMap<String, String>) {
        let mut inner = self.inner.write().expect("stage table lock");
        if inner.aliases != aliases {
            inner.aliases = aliases;
            inner.epoch += 1;
            let epoch = inner.epoch;
            for v in inner.topics.values_mut() {
                v.epoch = epoch;
            }
        }
    }

    /// The name clients know a target broker by.
    pub fn target_alias(&self, real: &str) -> Option<String> {
        self.inner.read().expect("stage table lock").aliases.get(real).cloned()
    }

    /// The real name of the target broker clients know as `alias`.
    pub fn target_real_name(&self, alias: &str) -> Option<String> {
        let inner = self.inner.read().expect("stage table lock");
        inner.aliases.iter().find(|(_, a)| a.as_str() == alias).map(|(real, _)| real.clone())
    }

    /// Every target broker shown under another name, real name to alias.
    pub fn broker_aliases(&self) -> HashMap<String, String> {
        self.inner.read().expect("stage table lock").aliases.clone()
    }

    /// Some topic is migrating and every one is Direct (retry and dead-letter topics included).
    pub fn all_direct(&self) -> bool {
        let inner = self.inner.read().expect("stage table lock");
        !inner.topics.is_empty() && inner.topics.values().all(|v| v.policy.stage == Stage::Direct)
    }

    pub fn remove(&self, topic: &str) {
        let mut inner = self.inner.write().expect("stage table lock");
        inner.targets.remove(topic);
        if inner.topics.remove(topic).is_some() {
            inner.epoch += 1;
        }
    }

    /// Sets the target cluster a topic moves to (its NameServer list); call before `set`.
    pub fn set_target(&self, topic: &str, namesrv: &str) {
        let mut inner = self.inner.write().expect("stage table lock");
        if inner.targets.get(topic).is_none_or(|t| &**t != namesrv) {
            inner.targets.insert(topic.to_string(), namesrv.into());
            // A topic already in the table must be served anew.
            if let Some(v) = inner.topics.get(topic).copied() {
                inner.epoch += 1;
                let epoch = inner.epoch;
                inner.topics.insert(
                    topic.to_string(),
                    Versioned { epoch, changed_at: std::time::Instant::now(), ..v },
                );
            }
        }
    }

    /// The target a topic moves to, if set.
    pub fn target(&self, topic: &str) -> Option<std::sync::Arc<str>> {
        self.inner.read().expect("stage table lock").targets.get(topic).cloned()
    }

    pub fn topics(&self) -> Vec<(String, Versioned)> {
        let inner = self.inner.read().expect("stage table lock");
        let mut all: Vec<_> = inner.topics.iter().map(|(t, v)| (t.clone(), *v)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_direct_needs_a_topic_and_every_one_direct() {
        let table = StageTable::default();
        assert!(!table.all_direct(), "nothing migrating");
        table.set("orders", TopicPolicy::at(Stage::Direct));
        table.set("%RETRY%billing", TopicPolicy::at(Stage::Completed));
        assert!(!table.all_direct());
        table.set("%RETRY%billing", TopicPolicy::at(Stage::Direct));
        assert!(table.all_direct());
    }

    #[test]
    fn stages_walk_in_order_both_ways() {
        assert_eq!(Stage::Initial.next(), Some(Stage::DualRead));
        assert_eq!(Stage::Completed.next(), Some(Stage::Direct));
        assert_eq!(Stage::Direct.next(), None);
        assert_eq!(Stage::Direct.previous(), Some(Stage::Completed));
        assert!(Stage::Direct.done() && Stage::Completed.done() && !Stage::CuttingOver.done());
        assert_eq!(Stage::Initial.previous(), None);
        assert_eq!(Stage::CuttingOver.previous(), Some(Stage::DualReadWrite));
        assert_eq!(Stage::parse("dualreadwrite"), Some(Stage::DualReadWrite));
        assert_eq!(Stage::parse("nope"), None);
    }

    #[test]
    fn a_topic_names_its_own_target_and_a_new_one_is_served_anew() {
        let t = StageTable::new();
        t.set_target("orders", "10.0.0.2:9876");
        let e1 = t.set("orders", TopicPolicy::at(Stage::DualRead));
        assert_eq!(t.target("orders").as_deref(), Some("10.0.0.2:9876"));
        t.set_target("orders", "10.0.0.2:9876");
        assert_eq!(t.get("orders").unwrap().epoch, e1, "the same target changes nothing");
        t.set_target("orders", "10.0.0.3:9876");
        assert!(t.get("orders").unwrap().epoch > e1);
        t.remove("orders");
        assert_eq!(t.target("orders"), None);
    }

    #[test]
    fn epoch_moves_only_when_a_policy_changes() {
        let t = StageTable::new();
        let e1 = t.set("orders", TopicPolicy::at(Stage::Initial));
        assert_eq!(t.set("orders", TopicPolicy::at(Stage::Initial)), e1);
        let e2 = t.set("orders", TopicPolicy::at(Stage::DualRead));
        assert!(e2 > e1);
        assert_eq!(t.get("orders").unwrap().policy.stage, Stage::DualRead);
        t.remove("orders");
        assert!(t.get("orders").is_none());
    }
}
