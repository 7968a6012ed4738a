//! The clients seen through Ferry: who they are (from heartbeats), which groups they produce and
//! consume in, which topics they subscribe to or write, and when they were last heard from.
//! This is half of the "access point" view; the other half, clients still connected to source
//! brokers directly, comes from the clusters' own connection lists (the engine asks them).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::SystemTime;

use ferry_remoting::body::HeartbeatData;
use serde::Serialize;

use crate::route::Side;

/// Groups the Java client registers for its own use, not the application's.
const INTERNAL_PRODUCER_GROUPS: [&str; 2] = ["CLIENT_INNER_PRODUCER", "TOOLS_CONSUMER"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientRecord {
    pub client_id: String,
    /// The client's own address, as Ferry's relays see it.
    pub addr: String,
    pub language: String,
    pub version: i32,
    /// Clusters whose brokers this client reached through Ferry.
    pub sides: BTreeSet<Side>,
    pub producer_groups: BTreeSet<String>,
    /// Consumer group to subscribed topics (retry topics included).
    pub consumer_groups: BTreeMap<String, BTreeSet<String>>,
    /// (producer group, topic) pairs seen in sends.
    pub produced: BTreeSet<(String, String)>,
    #[serde(with = "crate::unix_millis")]
    pub last_seen: SystemTime,
}

impl ClientRecord {
    pub fn subscribes(&self, topic: &str) -> bool {
        self.consumer_groups.values().any(|topics| topics.contains(topic))
    }

    pub fn produces(&self, topic: &str) -> bool {
        self.produced.iter().any(|(_, t)| t == topic)
    }
}

/// What a relay knows about the client on the other end of one connection.
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: String,
    pub language: String,
    pub version: i32,
    pub side: Side,
}

#[derive(Default)]
pub struct ClientRegistry {
    clients: RwLock<HashMap<String, ClientRecord>>,
}

impl ClientRegistry {
    pub fn heartbeat(&self, peer: &Peer, hb: &HeartbeatData) {
        if hb.client_id.is_empty() {
            return;
        }
        let mut clients = self.clients.write().expect("registry lock");
        let c = clients.entry(hb.client_id.clone()).or_insert_with(|| ClientRecord {
            client_id: hb.client_id.clone(),
            addr: peer.addr.clone(),
            language: peer.language.clone(),
            version: peer.version,
            sides: BTreeSet::new(),
            producer_groups: BTreeSet::new(),
            consumer_groups: BTreeMap::new(),
            produced: BTreeSet::new(),
            last_seen: SystemTime::now(),
        });
        c.addr = peer.addr.clone();
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
    }

    /// A send went through: ties the producer group to the topic. The client is known by the
    /// heartbeat of the same connection; sends before the first heartbeat are not attributed.
    pub fn produced(&self, client_id: &str, group: &str, topic: &str) {
        let mut clients = self.clients.write().expect("registry lock");
        if let Some(c) = clients.get_mut(client_id) {
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
        let Some(c) = clients.get_mut(client_id) else { return };
        if producer_group.is_none() && consumer_group.is_none() {
            clients.remove(client_id);
            return;
        }
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

    pub fn clients(&self) -> Vec<ClientRecord> {
        let mut all: Vec<_> = self.clients.read().expect("registry lock").values().cloned().collect();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        all
    }

    /// Clients that subscribe to or write `topic`.
    pub fn clients_of_topic(&self, topic: &str) -> Vec<ClientRecord> {
        self.clients().into_iter().filter(|c| c.subscribes(topic) || c.produces(topic)).collect()
    }

    /// Clients in `group`, as producer or consumer.
    pub fn clients_of_group(&self, group: &str) -> Vec<ClientRecord> {
        self.clients()
            .into_iter()
            .filter(|c| c.producer_groups.contains(group) || c.consumer_groups.contains_key(group))
            .collect()
    }

    /// Forgets clients silent for longer than `max_age` (the Java client heartbeats every 30 s).
    pub fn expire(&self, max_age: std::time::Duration) {
        let now = SystemTime::now();
        self.clients
            .write()
            .expect("registry lock")
            .retain(|_, c| now.duration_since(c.last_seen).map(|d| d <= max_age).unwrap_or(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_remoting::body::{ConsumerData, ProducerData, SubscriptionData};

    fn peer(side: Side) -> Peer {
        Peer { addr: "10.0.0.5:50000".into(), language: "JAVA".into(), version: 409, side }
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
}
