//! Several Ferry instances sharing one store (a fleet). Clients list every instance as their
//! NameServers; each instance runs the NameServer front and the relays, answers routes naming its
//! own relays, and writes a heartbeat with what it serves and what its front and relays saw (its
//! [`InstanceView`]) to the store. Any instance's checks then count the whole fleet: a step waits
//! until every instance serves the topic's current stage (`fleet-applied`), and `route-settled` and
//! `clients-through-ferry` count every instance's clients. Steps are taken one at a time across the
//! fleet under a lease row in the store (see `store/fleet.rs`).
//!
//! Why each instance writes its view to the store rather than the instances asking each other:
//! the store is the one thing every instance already reaches, an instance that cannot reach it
//! takes no step anyway, and a view read from the store says how old it is (its heartbeat), so an
//! instance gone silent is seen as such instead of being waited on or ignored.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ferry_proxy::{ClientRecord, RelayTraffic, Side, TopicCounts, TopicPolicy};
use serde::{Deserialize, Serialize};

use crate::migration::{MigrationId, RouteHolder};
use crate::task::Timestamp;

/// How long a step lease is held at most: a holder that dies mid-step blocks the fleet's steps
/// no longer than this. A step (its checks read both clusters) takes seconds.
pub const STEP_LEASE: Duration = Duration::from_secs(60);

/// Who this instance is in the fleet, and when another counts as down.
#[derive(Clone, Debug)]
pub struct FleetSettings {
    /// Unique within the fleet; by default the NameServer address clients reach it at.
    pub instance: String,
    /// The NameServer address clients reach this instance at (`host:port`).
    pub namesrv: String,
    /// This instance's HTTP API (`http(s)://host:port`), for operators; may be empty.
    pub api: String,
    /// An instance whose heartbeat is older than this is down.
    pub down_after: Duration,
}

impl FleetSettings {
    /// A lone instance known by its NameServer address.
    pub fn alone(namesrv: &str) -> FleetSettings {
        FleetSettings {
            instance: namesrv.to_string(),
            namesrv: namesrv.to_string(),
            api: String::new(),
            down_after: Duration::from_secs(30),
        }
    }

    /// How often this instance writes its heartbeat: several times within `down_after`.
    pub fn beat(&self) -> Duration {
        (self.down_after / 3).clamp(Duration::from_millis(200), Duration::from_secs(5))
    }
}

/// What one instance serves and saw, as of its latest heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    pub topics: Vec<ServedTopic>,
    /// Every client its relays saw (heartbeats a broker accepted).
    pub clients: Vec<ClientRecord>,
    /// What its relays carried since it started, per topic and side.
    #[serde(default)]
    pub traffic: Vec<(String, Side, TopicCounts)>,
    /// Its relays and their open connections, and the connections open to its front.
    #[serde(default)]
    pub relays: Vec<RelayTraffic>,
    #[serde(default)]
    pub front_connections: usize,
}

/// One migrating topic as an instance serves it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedTopic {
    pub migration: MigrationId,
    pub topic: String,
    /// The stage (and strict-order hold) its NameServer front and relays apply.
    pub policy: TopicPolicy,
    /// Its stage-table epoch of the topic: a holder below it has an older route.
    pub epoch: u64,
    /// Every open client connection of its front that fetched the topic's route.
    pub holders: Vec<RouteHolder>,
    /// Groups whose POP requests for the topic reached the source through its relays, and per
    /// group the POP messages the source handed out through them and not acked yet.
    #[serde(default)]
    pub source_poppers: Vec<String>,
    #[serde(default)]
    pub source_pop_in_flight: BTreeMap<String, u64>,
    /// Per group, when the last of those comes back at the latest (ms since the epoch): if the
    /// instance goes down, what it handed out may be out until then.
    #[serde(default)]
    pub source_pop_until_ms: BTreeMap<String, i64>,
    /// Per group, until when what it handed out before it last restarted may be out (its ledger,
    /// in memory, no longer counts those).
    #[serde(default)]
    pub source_pop_unknown_until_ms: BTreeMap<String, i64>,
}

/// An instance as the store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub name: String,
    pub namesrv: String,
    pub api: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    pub view: InstanceView,
}

impl Instance {
    pub fn served(&self, id: MigrationId, topic: &str) -> Option<&ServedTopic> {
        self.view.topics.iter().find(|t| t.migration == id && t.topic == topic)
    }
}

/// Whether an instance can still be serving clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    /// Its heartbeat is fresh.
    Up,
    /// Its heartbeat is older than `down_after`.
    Down,
}

/// What the checks know of one instance for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetMember {
    pub name: String,
    pub namesrv: String,
    /// The instance whose checks these are (its view is live, not read from the store).
    pub this: bool,
    pub heartbeat_age_ms: i64,
    pub state: InstanceState,
    /// The policy it serves for the topic; `None`: it does not serve the topic.
    pub serves: Option<TopicPolicy>,
    /// A down instance's NameServer front: `Some(true)` refuses connections (nothing listens
    /// there, so no client is on it), `Some(false)` accepts them, `None` did not answer at all.
    pub front_refuses: Option<bool>,
}

/// Per topic and side, messages and bytes carried.
pub type Counts = BTreeMap<(String, Side), TopicCounts>;

/// What the whole fleet carried, in totals that never go back (so rates between two samples stay
/// true): an instance counts from zero again when it restarts, so what its earlier run counted is
/// kept as a base, and an instance that left (down, forgotten) keeps its last counts.
#[derive(Debug, Default)]
pub struct FleetTraffic {
    /// Per instance, the start of its run and the latest counts of that run.
    runs: HashMap<String, (Timestamp, Counts)>,
    /// Counts of runs that ended.
    base: Counts,
}

impl FleetTraffic {
    /// Takes an instance's latest counts (of the run started at `started`).
    pub fn observe(&mut self, instance: &str, started: Timestamp, counts: &[(String, Side, TopicCounts)]) {
        let counts: Counts = counts.iter().map(|(t, s, c)| ((t.clone(), *s), *c)).collect();
        if let Some((run, last)) = self.runs.get(instance) {
            if *run != started {
                for (k, c) in last {
                    *self.base.entry(k.clone()).or_default() += *c;
                }
            }
        }
        self.runs.insert(instance.to_string(), (started, counts));
    }

    /// The fleet's totals.
    pub fn total(&self) -> Counts {
        let mut all = self.base.clone();
        for (_, counts) in self.runs.values() {
            for (k, c) in counts {
                *all.entry(k.clone()).or_default() += *c;
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;

    fn produced(n: u64) -> TopicCounts {
        TopicCounts { produced_messages: n, ..TopicCounts::default() }
    }

    #[test]
    fn fleet_totals_never_go_back_when_an_instance_restarts_or_leaves() {
        let t0 = Utc::now();
        let t1 = t0 + Duration::seconds(30);
        let orders = |n| vec![("orders".to_string(), Side::Source, produced(n))];
        let total = |f: &FleetTraffic| {
            f.total().get(&("orders".to_string(), Side::Source)).map_or(0, |c| c.produced_messages)
        };
        let mut f = FleetTraffic::default();
        // (instance, its run's start, its count now, the fleet's total after)
        let table = [
            ("ferry-1", t0, 10, 10),
            ("ferry-2", t0, 5, 15),
            ("ferry-1", t0, 12, 17),
            // ferry-2 restarts: counts from zero, its 5 are kept.
            ("ferry-2", t1, 1, 18),
            ("ferry-2", t1, 4, 21),
            // ferry-1 is down: its row keeps its last view, the same counts again.
            ("ferry-1", t0, 12, 21),
        ];
        for (instance, started, count, expected) in table {
            f.observe(instance, started, &orders(count));
            assert_eq!(total(&f), expected, "{instance} at {count}");
        }
    }

    #[test]
    fn a_view_stored_by_ferry_0_1_in_snake_case_still_reads() {
        let stored = r#"{"topics": [], "frontConnections": 3,
            "clients": [{"client_id": "10.0.0.1@1", "addr": "10.0.0.1:5000", "language": "JAVA", "version": 1,
                "sides": ["source"], "producer_groups": ["pg"], "consumer_groups": {"cg": ["orders"]},
                "produced": [["pg", "orders"]], "last_seen": 1700000000000, "connections": 2}],
            "traffic": [["orders", "source", {"produced_messages": 7, "produced_bytes": 70,
                "consumed_messages": 5, "consumed_bytes": 50}]],
            "relays": [{"side": "source", "backend": "10.0.0.9:10911", "port": 30911, "connections": 2,
                "pulled_messages": 5}]}"#;
        let view: InstanceView = serde_json::from_str(stored).unwrap();
        assert_eq!(view.clients[0].client_id, "10.0.0.1@1");
        assert_eq!(view.clients[0].consumer_groups["cg"].len(), 1);
        assert_eq!(
            view.traffic[0].2,
            TopicCounts {
                produced_messages: 7,
                produced_bytes: 70,
                consumed_messages: 5,
                consumed_bytes: 50
            }
        );
        assert_eq!(view.relays[0].pulled_messages, 5);
        // Written again, in the API's one case; and read back the same.
        let written = serde_json::to_string(&view).unwrap();
        assert!(!written.contains("_"), "{written}");
        assert_eq!(serde_json::from_str::<InstanceView>(&written).unwrap(), view);
    }
}
