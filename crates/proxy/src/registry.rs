//! The clients seen through Ferry: who they are (from heartbeats), which groups they produce and
//! consume in, which topics they subscribe to or write, when they were last heard from and whether
//! a relay connection of theirs is open now. This is half of the "access point" view; the other
//! half, clients still connected to source brokers directly, comes from the clusters' own
//! connection lists (the engine asks them).
//!
//! The registry believes the broker, not the client: the relay records a heartbeat only once the
//! broker has answered it with SUCCESS (an ACL broker refuses one that is unsigned or wrongly
//! signed), and a relay connection speaks for one client id, the first the broker accepted on it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use ferry_remoting::body::HeartbeatData;
use serde::{Deserialize, Serialize};

use crate::route::Side;

/// Groups the Java client registers for its own use, not the application's.
const INTERNAL_PRODUCER_GROUPS: [&str; 2] = ["CLIENT_INNER_PRODUCER", "TOOLS_CONSUMER"];

/// At most this many clients are recorded. One Ferry fronts the brokers of a migration; its real
/// clients number in the hundreds or a few thousand. Each record needs a heartbeat a broker
/// accepted, yet without ACL anyone can send those: the bound keeps a flood of made-up client ids
/// from growing the registry (and every page of the API) without limit. Beyond it a new client id
/// is not recorded, and that is logged now and then; records of silent clients go with `expire`.
pub const MAX_CLIENTS: usize = 10_000;

/// One relay connection, unique within the process.
pub type ConnectionId = u64;

/// Serialized in the API's camelCase; fleet views stored by Ferry 0.1 before that wrote snake_case,
/// which the aliases still read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRecord {
    #[serde(alias = "client_id")]
    pub client_id: String,
    /// The client's own address, as Ferry's relays see it (of its latest accepted heartbeat).
    pub addr: String,
    pub language: String,
    pub version: i32,
    /// Clusters whose brokers this client reached through Ferry.
    pub sides: BTreeSet<Side>,
    #[serde(alias = "producer_groups")]
    pub producer_groups: BTreeSet<String>,
    /// Consumer group to subscribed topics (retry topics included).
    #[serde(alias = "consumer_groups")]
    pub consumer_groups: BTreeMap<String, BTreeSet<String>>,
    /// (producer group, topic) pairs seen in sends.
    pub produced: BTreeSet<(String, String)>,
    #[serde(with = "crate::unix_millis", alias = "last_seen")]
    pub last_seen: SystemTime,
    /// Relay connections open now on which a broker accepted this client's heartbeat (a Java
    /// client has one per broker it heartbeats). 0: the client's connections through Ferry have
    /// all closed; with an old `last_seen`, the client has left (or reaches the brokers another
    /// way).
    pub connections: usize,
}

impl ClientRecord {
    pub fn subscribes(&self, topic: &str) -> bool {
        self.consumer_groups.values().any(|topics| topics.contains(topic))
    }

    pub fn produces(&self, topic: &str) -> bool {
        self.produced.iter().any(|(_, t)| t == topic)
    }

    /// Whether a relay connection of this client is open now.
    pub fn connected(&self) -> bool {
        self.connections > 0
    }
}

/// What a relay knows about the client on the other end of one connection.
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: String,
    pub language: String,
    pub version: i32,
    pub side: Side,
    pub connection: ConnectionId,
}

struct Entry {
    record: ClientRecord,
    /// The open connections `record.connections` counts.
    connections: BTreeSet<ConnectionId>,
}

pub struct ClientRegistry {
    /// By client id, so that lists and pages come sorted.
    clients: RwLock<BTreeMap<String, Entry>>,
    limit: usize,
    full: Throttle,
}

impl Default for ClientRegistry {
    fn default() -> ClientRegistry {
        ClientRegistry::with_limit(MAX_CLIENTS)
    }
}

impl ClientRegistry {
    /// A registry that records at most `limit` clients ([`MAX_CLIENTS`] by default).
    pub fn with_limit(limit: usize) -> ClientRegistry {
        ClientRegistry { clients: RwLock::default(), limit, full: Throttle::new(Duration::from_secs(60)) }
    }

    /// A heartbeat the broker accepted on `peer`'s connection (the relay checks that the
    /// connection speaks for this client id). False when it was not recorded: no client id, or
    /// a new client while the registry is full.
    pub fn heartbeat(&self, peer: &Peer, hb: &HeartbeatData) -> bool {
        if hb.client_id.is_empty() {
            return false;
        }
        let mut clients = self.clients.write().expect("registry lock");
        if !clients.contains_key(&hb.client_id) && clients.len() >= self.limit {
            drop(clients);
            if let Some(skipped) = self.full.ready() {
                tracing::warn!(
                    limit = self.limit,
                    skipped,
                    client = %hb.client_id,
                    peer = %peer.addr,
                    "client registry full: new clients are not recorded"
                );
            }
            return false;
        }
        let e = clients.entry(hb.client_id.clone()).or_insert_with(|| Entry {
            record: ClientRecord {
                client_id: hb.client_id.clone(),
                addr: peer.addr.clone(),
                language: peer.language.clone(),
                version: peer.version,
                sides: BTreeSet::new(),
                producer_groups: BTreeSet::new(),
                consumer_groups: BTreeMap::new(),
                produced: BTreeSet::new(),
                last_seen: SystemTime::now(),
                connections: 0,
            },
            connections: BTreeSet::new(),
        });
        e.connections.insert(peer.connection);
        let c = &mut e.record;
        c.connections = e.connections.len();
        c.addr = peer.addr.clone();
        c.language = peer.language.clone();
        c.version = peer.version;
        c.last_seen = SystemTime::now();
        c.sides.insert(peer.side);
        for p in &hb.producer_data_set {
            if !INTERNAL_PRODUCER_GROUPS.contains(&p.group_name.as_str()) {
                c.producer_groups.insert(p.group_name.clone());
            }
        }
        for cd in &hb.consumer_data_set {
            let topics = c.consumer_groups.entry(cd.group_name.clone()).or_default();
            // A V2 heartbeat without subscriptions means "unchanged".
            if !hb.is_without_sub {
                *topics = cd.subscription_data_set.iter().map(|s| s.topic.clone()).collect();
            }
        }
        true
    }

    /// A relay connection on which `client_id`'s heartbeats were accepted has closed.
    pub fn disconnected(&self, client_id: &str, connection: ConnectionId) {
        let mut clients = self.clients.write().expect("registry lock");
        if let Some(e) = clients.get_mut(client_id) {
            e.connections.remove(&connection);
            e.record.connections = e.connections.len();
        }
    }

    /// A send went through: ties the producer group to the topic. The client is known by the
    /// accepted heartbeat of the same connection; sends before it are not attributed.
    pub fn produced(&self, client_id: &str, group: &str, topic: &str) {
        let mut clients = self.clients.write().expect("registry lock");
        if let Some(e) = clients.get_mut(client_id) {
            let c = &mut e.record;
            c.last_seen = SystemTime::now();
            if !c.produced.iter().any(|(g, t)| g == group && t == topic) {
                c.produced.insert((group.to_string(), topic.to_string()));
            }
        }
    }

    /// `UNREGISTER_CLIENT`: the client left a producer or consumer group (it sends one per group
    /// when it shuts down). The client is forgotten once it is in no group.
    pub fn unregister(&self, client_id: &str, producer_group: Option<&str>, consumer_group: Option<&str>) {
        let mut clients = self.clients.write().expect("registry lock");
        let Some(e) = clients.get_mut(client_id) else { return };
        if producer_group.is_none() && consumer_group.is_none() {
            clients.remove(client_id);
            return;
        }
        let c = &mut e.record;
        if let Some(g) = producer_group {
            c.producer_groups.remove(g);
            c.produced.retain(|(pg, _)| pg != g);
        }
        if let Some(g) = consumer_group {
            c.consumer_groups.remove(g);
        }
        if c.producer_groups.is_empty() && c.consumer_groups.is_empty() {
            clients.remove(client_id);
        }
    }

    /// Every client, by client id.
    pub fn clients(&self) -> Vec<ClientRecord> {
        self.clients.read().expect("registry lock").values().map(|e| e.record.clone()).collect()
    }

    /// How many clients are recorded.
    pub fn len(&self) -> usize {
        self.clients.read().expect("registry lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One page of the clients sorted by client id: the total, and up to `limit` clients from
    /// position `offset` (none past the end).
    pub fn page(&self, offset: usize, limit: usize) -> (usize, Vec<ClientRecord>) {
        let clients = self.clients.read().expect("registry lock");
        let page = clients.values().skip(offset).take(limit).map(|e| e.record.clone()).collect();
        (clients.len(), page)
    }

    /// Clients that subscribe to or write `topic`.
    pub fn clients_of_topic(&self, topic: &str) -> Vec<ClientRecord> {
        self.clients_where(|c| c.subscribes(topic) || c.produces(topic))
    }

    /// Clients in `group`, as producer or consumer.
    pub fn clients_of_group(&self, group: &str) -> Vec<ClientRecord> {
        self.clients_where(|c| c.producer_groups.contains(group) || c.consumer_groups.contains_key(group))
    }

    fn clients_where(&self, keep: impl Fn(&ClientRecord) -> bool) -> Vec<ClientRecord> {
        let clients = self.clients.read().expect("registry lock");
        clients.values().map(|e| &e.record).filter(|c| keep(c)).cloned().collect()
    }

    /// Forgets clients silent for longer than `max_age` (the Java client heartbeats every 30 s).
    pub fn expire(&self, max_age: Duration) {
        let now = SystemTime::now();
        self.clients
            .write()
            .expect("registry lock")
            .retain(|_, e| now.duration_since(e.record.last_seen).map(|d| d <= max_age).unwrap_or(true));
    }
}

/// Lets a repeated event be logged once in a while rather than each time: `ready` says when, and
/// how many were passed over since the last time.
pub(crate) struct Throttle {
    every: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    pub(crate) fn new(every: Duration) -> Throttle {
        Throttle { every, state: Mutex::new((None, 0)) }
    }

    /// `Some(skipped since the last time)` when the event may be logged now.
    pub(crate) fn ready(&self) -> Option<u64> {
        let mut state = self.state.lock().expect("throttle lock");
        let (last, skipped) = &mut *state;
        if last.is_some_and(|t| t.elapsed() < self.every) {
            *skipped += 1;
            return None;
        }
        *last = Some(Instant::now());
        Some(std::mem::take(skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_remoting::body::{ConsumerData, ProducerData, SubscriptionData};

    fn peer(side: Side) -> Peer {
        on(side, 1)
    }

    fn on(side: Side, connection: ConnectionId) -> Peer {
        Peer {
            addr: format!("10.0.0.5:{}", 50000 + connection),
            language: "JAVA".into(),
            version: 409,
            side,
            connection,
        }
    }

    fn producer(id: &str) -> HeartbeatData {
        HeartbeatData {
            client_id: id.into(),
            producer_data_set: vec![ProducerData { group_name: "pg".into() }],
            ..Default::default()
        }
    }

    fn ids(records: &[ClientRecord]) -> Vec<&str> {
        records.iter().map(|c| c.client_id.as_str()).collect()
    }

    fn heartbeat(subs: &[&str], without_sub: bool) -> HeartbeatData {
        HeartbeatData {
            client_id: "10.0.0.5@1".into(),
            producer_data_set: vec![
                ProducerData { group_name: "CLIENT_INNER_PRODUCER".into() },
                ProducerData { group_name: "pg".into() },
            ],
            consumer_data_set: vec![ConsumerData {
                group_name: "cg".into(),
                subscription_data_set: subs
                    .iter()
                    .map(|t| SubscriptionData { topic: t.to_string(), ..Default::default() })
                    .collect(),
                ..Default::default()
            }],
            is_without_sub: without_sub,
        }
    }

    #[test]
    fn heartbeats_build_the_view_per_topic_and_group() {
        let r = ClientRegistry::default();
        r.heartbeat(&peer(Side::Source), &heartbeat(&["orders", "%RETRY%cg"], false));
        r.heartbeat(&peer(Side::Target), &heartbeat(&[], true));
        r.produced("10.0.0.5@1", "pg", "payments");
        let c = &r.clients()[0];
        assert_eq!(c.sides, [Side::Source, Side::Target].into());
        assert_eq!(c.producer_groups, ["pg".to_string()].into(), "internal groups are left out");
        assert!(c.subscribes("orders"), "a V2 heartbeat without subscriptions keeps the old ones");
        assert_eq!(r.clients_of_topic("payments").len(), 1);
        assert_eq!(r.clients_of_topic("other").len(), 0);
        assert_eq!(r.clients_of_group("cg").len(), 1);
        r.unregister("10.0.0.5@1", Some("pg"), None);
        assert_eq!(r.clients_of_group("cg").len(), 1, "still a consumer");
        assert!(r.clients_of_group("pg").is_empty());
        r.unregister("10.0.0.5@1", None, Some("cg"));
        assert!(r.clients().is_empty(), "in no group any more");
    }

    #[test]
    fn sends_of_unknown_clients_are_not_attributed() {
        let r = ClientRegistry::default();
        r.produced("nobody", "pg", "orders");
        assert!(r.clients().is_empty());
    }

    #[test]
    fn open_connections_are_counted_until_they_close() {
        let r = ClientRegistry::default();
        assert!(r.heartbeat(&on(Side::Source, 1), &producer("c1")));
        assert!(r.heartbeat(&on(Side::Source, 1), &producer("c1")), "again on the same connection");
        assert!(r.heartbeat(&on(Side::Target, 2), &producer("c1")));
        let c = &r.clients()[0];
        assert_eq!((c.connections, c.connected()), (2, true));
        assert_eq!(c.addr, "10.0.0.5:50002", "the latest connection's address");
        r.disconnected("c1", 1);
        r.disconnected("c1", 1);
        r.disconnected("nobody", 2);
        assert_eq!(r.clients()[0].connections, 1);
        r.disconnected("c1", 2);
        let c = &r.clients()[0];
        assert_eq!((c.connections, c.connected()), (0, false), "left, but kept until it expires");
        r.heartbeat(&on(Side::Source, 3), &producer("c1"));
        assert_eq!(r.clients()[0].connections, 1, "back on a new connection");
        r.expire(Duration::from_secs(60));
        assert_eq!(r.len(), 1, "heard from just now");
        std::thread::sleep(Duration::from_millis(5));
        r.expire(Duration::ZERO);
        assert!(r.is_empty());
    }

    #[test]
    fn a_full_registry_records_no_new_client_but_keeps_the_known_ones() {
        let r = ClientRegistry::with_limit(3);
        for id in ["a", "b", "c"] {
            assert!(r.heartbeat(&peer(Side::Source), &producer(id)));
        }
        assert!(!r.heartbeat(&peer(Side::Source), &producer("d")));
        assert_eq!(ids(&r.clients()), ["a", "b", "c"]);
        assert!(r.heartbeat(&on(Side::Target, 9), &producer("b")), "a known client is still heard");
        assert!(r.clients()[1].sides.contains(&Side::Target));
        r.unregister("a", None, None);
        assert!(r.heartbeat(&peer(Side::Source), &producer("d")), "room again");
        assert_eq!(ids(&r.clients()), ["b", "c", "d"]);
        assert!(!r.heartbeat(&peer(Side::Source), &producer("")), "no client id, nothing to record");
        assert_eq!(MAX_CLIENTS, 10_000);
    }

    #[test]
    fn pages_come_sorted_by_client_id_with_the_total() {
        let r = ClientRegistry::default();
        for id in ["e", "b", "d", "a", "c"] {
            r.heartbeat(&peer(Side::Source), &producer(id));
        }
        let (total, page) = r.page(1, 2);
        assert_eq!((total, ids(&page)), (5, vec!["b", "c"]));
        let (total, page) = r.page(4, 10);
        assert_eq!((total, ids(&page)), (5, vec!["e"]));
        assert_eq!(r.page(5, 10), (5, vec![]));
        assert_eq!(r.page(usize::MAX, usize::MAX), (5, vec![]));
        assert_eq!(r.page(0, 0), (5, vec![]));
        assert_eq!(ids(&r.page(0, usize::MAX).1), ids(&r.clients()));
        assert_eq!(ClientRegistry::default().page(0, 10), (0, vec![]));
    }

    #[test]
    fn a_throttle_lets_one_through_per_period_and_counts_the_rest() {
        let t = Throttle::new(Duration::from_secs(3600));
        assert_eq!(t.ready(), Some(0));
        assert_eq!(t.ready(), None);
        assert_eq!(t.ready(), None);
        let t = Throttle::new(Duration::ZERO);
        assert_eq!(t.ready(), Some(0));
        assert_eq!(t.ready(), Some(0));
    }
}
