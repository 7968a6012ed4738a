//! Merging a topic's routes from the source and target clusters by its stage (docs/seamless.md,
//! "Stages"). Pure: routes in, route out; the NameServer front does the fetching.
//!
//! The 4.x client publishes only to writable queues and rebalances consumers only over readable
//! ones (`MQClientInstance.topicRouteData2TopicPublishInfo` / `...SubscribeInfo`), so permission
//! bits steer producers and consumers independently.

use std::collections::BTreeSet;

use ferry_remoting::body::{BrokerData, QueueData, TopicRouteData};
use ferry_remoting::code::perm;

use crate::stage::{Stage, TopicPolicy};

/// Which cluster a broker, a queue or a figure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Source,
    Target,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    /// The client keys queues, offsets and locks by broker name: two brokers of one name in one
    /// route would be confused.
    #[error(
        "topic '{topic}': broker name '{broker}' exists in both the source and the target cluster; \
         Ferry cannot merge their routes (rename one cluster's brokers before migrating this topic)"
    )]
    BrokerNameCollision { topic: String, broker: String },
}

/// How a side's queues appear in the merged route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Show {
    Absent,
    AsIs,
    ReadOnly,
    WriteOnly,
}

fn shows(policy: TopicPolicy) -> (Show, Show) {
    let (source, target) = match policy.stage {
        Stage::Initial => (Show::AsIs, Show::Absent),
        Stage::DualRead => (Show::AsIs, Show::ReadOnly),
        Stage::DualReadWrite if policy.one_write_side => (Show::AsIs, Show::ReadOnly),
        Stage::DualReadWrite => (Show::AsIs, Show::AsIs),
        Stage::CuttingOver => (Show::ReadOnly, Show::AsIs),
        Stage::Completed | Stage::Direct => (Show::Absent, Show::AsIs),
    };
    // Only a side that is written can be held write-only.
    let hold = |side: Side, show: Show| match (policy.write_only == Some(side), show) {
        (true, Show::AsIs) => Show::WriteOnly,
        (true, Show::ReadOnly) => Show::Absent,
        _ => show,
    };
    (hold(Side::Source, source), hold(Side::Target, target))
}

/// Whether clients may read `side`'s queues of a topic under `policy` (the relays enforce what
/// the route says: a client acts on a new route only at its next rebalance, up to 20 s later).
pub fn readable(policy: TopicPolicy, side: Side) -> bool {
    let (source, target) = shows(policy);
    matches!(if side == Side::Source { source } else { target }, Show::AsIs | Show::ReadOnly)
}

/// Whether clients may write `side`'s queues of a topic under `policy`.
pub fn writable(policy: TopicPolicy, side: Side) -> bool {
    let (source, target) = shows(policy);
    matches!(if side == Side::Source { source } else { target }, Show::AsIs | Show::WriteOnly)
}

/// The route a client of a migrating topic is given. `relay` maps a broker address of either side
/// to the Ferry relay that fronts it. `None` when neither side contributes a queue (the client
/// then hears "topic not exist", as from a NameServer).
pub fn merge(
    topic: &str,
    policy: TopicPolicy,
    source: Option<&TopicRouteData>,
    target: Option<&TopicRouteData>,
    relay: &mut dyn FnMut(Side, &str) -> String,
) -> Result<Option<TopicRouteData>, RouteError> {
    let (source_show, target_show) = shows(policy);
    if let (Some(s), Some(t), false, false) =
        (source, target, source_show == Show::Absent, target_show == Show::Absent)
    {
        let names: BTreeSet<&str> = s.queue_datas.iter().map(|q| q.broker_name.as_str()).collect();
        if let Some(q) = t.queue_datas.iter().find(|q| names.contains(q.broker_name.as_str())) {
            return Err(RouteError::BrokerNameCollision {
                topic: topic.to_string(),
                broker: q.broker_name.clone(),
            });
        }
    }
    let mut merged = TopicRouteData::default();
    for (side, route, show) in [(Side::Source, source, source_show), (Side::Target, target, target_show)] {
        if let Some(route) = route {
            add_side(&mut merged, side, route, show, relay);
        }
    }
    Ok((!merged.queue_datas.is_empty()).then_some(merged))
}

/// A topic outside the migration: one side's route (the source's, or the target's for a topic
/// only it has) with addresses replaced by relays.
pub fn pass_through(
    side: Side,
    route: &TopicRouteData,
    relay: &mut dyn FnMut(Side, &str) -> String,
) -> TopicRouteData {
    let mut out = route.clone();
    for b in &mut out.broker_datas {
        for addr in b.broker_addrs.values_mut() {
            *addr = relay(side, addr);
        }
    }
    // Filter servers are a removed 4.x feature; their addresses would bypass Ferry.
    out.filter_server_table.clear();
    out
}

fn add_side(
    merged: &mut TopicRouteData,
    side: Side,
    route: &TopicRouteData,
    show: Show,
    relay: &mut dyn FnMut(Side, &str) -> String,
) {
    if show == Show::Absent {
        return;
    }
    for q in &route.queue_datas {
        let perm = match show {
            Show::AsIs | Show::Absent => q.perm,
            Show::ReadOnly => q.perm & !perm::WRITE,
            Show::WriteOnly => q.perm & !perm::READ,
        };
        merged.queue_datas.push(QueueData { perm, ..q.clone() });
        if let Some(b) = route.broker_datas.iter().find(|b| b.broker_name == q.broker_name) {
            if !merged.broker_datas.iter().any(|m| m.broker_name == b.broker_name) {
                merged.broker_datas.push(BrokerData {
                    broker_addrs: b.broker_addrs.iter().map(|(id, a)| (*id, relay(side, a))).collect(),
                    ..b.clone()
                });
            }
        }
    }
    // `orderTopicConf` would make the producer ignore permission bits, and static-topic mappings
    // name physical brokers: neither may reach a client of a merged route.
    merged.order_topic_conf = None;
    merged.topic_queue_mapping_by_broker = None;
}

/// Shows a side's brokers under the names clients know them by: `alias` gives the name for a
/// real one (`None`: its own). Two clusters whose brokers share a name (`broker-a` on both, as in
/// Apache's sample configs) can then share one merged route: the client keys queues, offsets and
/// locks by broker name.
pub fn rename(route: &mut TopicRouteData, alias: &dyn Fn(&str) -> Option<String>) {
    for q in &mut route.queue_datas {
        if let Some(a) = alias(&q.broker_name) {
            q.broker_name = a;
        }
    }
    for b in &mut route.broker_datas {
        if let Some(a) = alias(&b.broker_name) {
            b.broker_name = a;
        }
    }
}

/// Strict order under a hold: keeps in `current` the brokers of `last` whose master it lacks (a
/// master that crashed leaves the NameServer's route), with their last queues and addresses, and
/// returns their names. A producer ordering by key picks `hash(key) % writable queues`: were a
/// broker's queues to leave the route, every key would move, some of them from the held side to
/// the read one, and be read ahead of their older messages. With the queue set kept, sends of the
/// keys on the dead master fail instead (the Java client does not move a selector send to another
/// queue), which is RocketMQ's own strict order: unavailable rather than out of order.
pub fn keep_lost_brokers(current: &mut TopicRouteData, last: &TopicRouteData) -> Vec<String> {
    let has_master = |r: &TopicRouteData, name: &str| {
        r.broker_datas.iter().any(|b| b.broker_name == name && b.master_addr().is_some())
    };
    let lost: Vec<String> = last
        .queue_datas
        .iter()
        .map(|q| q.broker_name.clone())
        .filter(|name| has_master(last, name) && !has_master(current, name))
        .collect();
    for name in &lost {
        current.queue_datas.retain(|q| &q.broker_name != name);
        current.broker_datas.retain(|b| &b.broker_name != name);
        current.queue_datas.extend(last.queue_datas.iter().filter(|q| &q.broker_name == name).cloned());
        current.broker_datas.extend(last.broker_datas.iter().filter(|b| &b.broker_name == name).cloned());
    }
    current.queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    current.broker_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    lost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(broker: &str, addr: &str, queues: i32) -> TopicRouteData {
        TopicRouteData {
            order_topic_conf: Some(format!("{broker}:{queues}")),
            queue_datas: vec![QueueData {
                broker_name: broker.into(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: 6,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![BrokerData {
                cluster: format!("{broker}-cluster"),
                broker_name: broker.into(),
                broker_addrs: [(0, addr.to_string()), (1, format!("{addr}1"))].into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn relay(side: Side, addr: &str) -> String {
        format!("ferry-{side}({addr})")
    }

    /// (broker, perm) per queue data of the merged route.
    fn perms(policy: TopicPolicy) -> Vec<(String, i32)> {
        let s = route("broker-s", "10.0.0.1:10911", 4);
        let t = route("broker-t", "10.0.0.2:10911", 8);
        let merged = merge("orders", policy, Some(&s), Some(&t), &mut relay).unwrap().unwrap();
        merged.queue_datas.iter().map(|q| (q.broker_name.clone(), q.perm)).collect()
    }

    fn p(v: &[(&str, i32)]) -> Vec<(String, i32)> {
        v.iter().map(|(b, p)| (b.to_string(), *p)).collect()
    }

    #[test]
    fn each_stage_shows_the_queues_of_the_design_table() {
        assert_eq!(perms(TopicPolicy::at(Stage::Initial)), p(&[("broker-s", 6)]));
        assert_eq!(perms(TopicPolicy::at(Stage::DualRead)), p(&[("broker-s", 6), ("broker-t", 4)]));
        assert_eq!(perms(TopicPolicy::at(Stage::DualReadWrite)), p(&[("broker-s", 6), ("broker-t", 6)]));
        assert_eq!(perms(TopicPolicy::at(Stage::CuttingOver)), p(&[("broker-s", 4), ("broker-t", 6)]));
        assert_eq!(perms(TopicPolicy::at(Stage::Completed)), p(&[("broker-t", 6)]));
    }

    #[test]
    fn a_topic_written_on_one_side_at_a_time_moves_every_producer_at_cutting_over() {
        let one = |stage| TopicPolicy::at(stage).one_write_side(true);
        assert_eq!(perms(one(Stage::DualRead)), p(&[("broker-s", 6), ("broker-t", 4)]));
        assert_eq!(perms(one(Stage::DualReadWrite)), p(&[("broker-s", 6), ("broker-t", 4)]));
        assert_eq!(perms(one(Stage::CuttingOver)), p(&[("broker-s", 4), ("broker-t", 6)]));
        assert_eq!(
            perms(one(Stage::DualReadWrite).held(Some(Side::Source))),
            p(&[("broker-s", 2), ("broker-t", 4)])
        );
        use Stage::*;
        #[rustfmt::skip]
        let table = [
            // from,        to,            keys move (both sides written between), (one side at a time)
            (Initial,       DualRead,      false, false),
            (DualRead,      DualReadWrite, true,  false),
            (DualReadWrite, CuttingOver,   true,  true),
            (CuttingOver,   Completed,     false, false),
            (Completed,     Direct,        false, false),
            (Direct,        Completed,     false, false),
            (CuttingOver,   DualReadWrite, true,  true),
            (DualReadWrite, DualRead,      true,  false),
            (DualRead,      Initial,       false, false),
        ];
        for (from, to, both, one_side) in table {
            assert_eq!(TopicPolicy::at(from).moves_keys(to), both, "{from} -> {to}");
            assert_eq!(one(from).moves_keys(to), one_side, "{from} -> {to}, one side at a time");
            let held = TopicPolicy::at(from).held(Some(Side::Target));
            assert_eq!(held.moves_keys(to), both, "{from} -> {to}: a hold does not change it");
        }
    }

    #[test]
    fn a_held_side_is_written_but_not_read() {
        let hold = |stage, side| TopicPolicy::at(stage).held(Some(side));
        assert_eq!(perms(hold(Stage::DualReadWrite, Side::Target)), p(&[("broker-s", 6), ("broker-t", 2)]));
        assert_eq!(perms(hold(Stage::DualReadWrite, Side::Source)), p(&[("broker-s", 2), ("broker-t", 6)]));
        assert_eq!(perms(hold(Stage::CuttingOver, Side::Target)), p(&[("broker-s", 4), ("broker-t", 2)]));
        assert_eq!(perms(hold(Stage::DualRead, Side::Source)), p(&[("broker-s", 2), ("broker-t", 4)]));
        assert_eq!(perms(hold(Stage::Completed, Side::Source)), p(&[("broker-t", 6)]));
    }

    #[test]
    fn relays_enforce_what_routes_say() {
        let drw_held = TopicPolicy::at(Stage::DualReadWrite).held(Some(Side::Target));
        assert!(writable(drw_held, Side::Target) && !readable(drw_held, Side::Target));
        assert!(readable(drw_held, Side::Source) && writable(drw_held, Side::Source));
        let cutting = TopicPolicy::at(Stage::CuttingOver);
        assert!(readable(cutting, Side::Source) && !writable(cutting, Side::Source));
        let done = TopicPolicy::at(Stage::Completed);
        assert!(!readable(done, Side::Source) && !writable(done, Side::Source));
        assert!(!readable(TopicPolicy::at(Stage::Initial), Side::Target));
    }

    #[test]
    fn every_broker_address_is_a_relay_and_order_conf_is_stripped() {
        let s = route("broker-s", "10.0.0.1:10911", 4);
        let t = route("broker-t", "10.0.0.2:10911", 8);
        let m = merge("orders", TopicPolicy::at(Stage::DualReadWrite), Some(&s), Some(&t), &mut relay)
            .unwrap()
            .unwrap();
        assert_eq!(m.order_topic_conf, None);
        assert_eq!(m.broker_datas.len(), 2);
        assert_eq!(m.broker_datas[0].broker_addrs[&0], "ferry-source(10.0.0.1:10911)");
        assert_eq!(m.broker_datas[0].broker_addrs[&1], "ferry-source(10.0.0.1:109111)");
        assert_eq!(m.broker_datas[1].broker_addrs[&0], "ferry-target(10.0.0.2:10911)");
        assert_eq!(m.broker_datas[1].cluster, "broker-t-cluster");
    }

    #[test]
    fn a_shared_broker_name_is_refused_with_its_name() {
        let s = route("broker-a", "10.0.0.1:10911", 4);
        let t = route("broker-a", "10.0.0.2:10911", 4);
        let err =
            merge("orders", TopicPolicy::at(Stage::DualRead), Some(&s), Some(&t), &mut relay).unwrap_err();
        assert!(err.to_string().contains("broker name 'broker-a'"), "{err}");
        // Where only one side shows, there is nothing to confuse.
        assert!(merge("orders", TopicPolicy::at(Stage::Initial), Some(&s), Some(&t), &mut relay).is_ok());
    }

    #[test]
    fn a_missing_side_contributes_nothing_and_no_queues_is_no_route() {
        let s = route("broker-s", "10.0.0.1:10911", 4);
        let m =
            merge("orders", TopicPolicy::at(Stage::DualRead), Some(&s), None, &mut relay).unwrap().unwrap();
        assert_eq!(m.queue_datas.len(), 1);
        assert_eq!(merge("orders", TopicPolicy::at(Stage::Completed), Some(&s), None, &mut relay), Ok(None));
    }

    #[test]
    fn pass_through_rewrites_addresses_and_keeps_the_rest() {
        let s = route("broker-s", "10.0.0.1:10911", 4);
        let out = pass_through(Side::Source, &s, &mut relay);
        assert_eq!(out.order_topic_conf, s.order_topic_conf);
        assert_eq!(out.queue_datas, s.queue_datas);
        assert_eq!(out.broker_datas[0].broker_addrs[&0], "ferry-source(10.0.0.1:10911)");
        let t = pass_through(Side::Target, &s, &mut relay);
        assert_eq!(t.broker_datas[0].broker_addrs[&0], "ferry-target(10.0.0.1:10911)");
    }

    #[test]
    fn a_held_topic_keeps_the_queues_of_a_master_that_left_the_route() {
        let mut both = route("broker-a", "10.0.0.1:10911", 4);
        let b = route("broker-b", "10.0.0.2:10911", 4);
        both.queue_datas.extend(b.queue_datas);
        both.broker_datas.extend(b.broker_datas);
        // broker-a crashed: the NameServer lists broker-b only.
        let mut now = route("broker-b", "10.0.0.2:10911", 4);
        assert_eq!(keep_lost_brokers(&mut now, &both), ["broker-a"]);
        assert_eq!(now.queue_datas, both.queue_datas);
        assert_eq!(now.broker_datas, both.broker_datas);
        // Its master gone, its slave still listed: the master's address comes back too.
        let mut slave_only = both.clone();
        slave_only.broker_datas[0].broker_addrs.remove(&0);
        assert_eq!(keep_lost_brokers(&mut slave_only, &both), ["broker-a"]);
        assert_eq!(slave_only.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
        // Nothing lost: unchanged.
        let mut same = both.clone();
        assert!(keep_lost_brokers(&mut same, &both).is_empty());
        assert_eq!(same, both);
    }

    #[test]
    fn colliding_target_brokers_are_shown_under_their_alias_and_merge() {
        let s = route("broker-a", "10.0.0.1:10911", 4);
        let mut t = route("broker-a", "10.0.0.2:10911", 4);
        let policy = TopicPolicy::at(Stage::DualReadWrite);
        assert!(merge("orders", policy, Some(&s), Some(&t), &mut relay).is_err(), "refused as they are");
        rename(&mut t, &|real| (real == "broker-a").then(|| "zz-broker-a".to_string()));
        let merged = merge("orders", policy, Some(&s), Some(&t), &mut relay).unwrap().unwrap();
        let names: Vec<&str> = merged.broker_datas.iter().map(|b| b.broker_name.as_str()).collect();
        assert_eq!(names, ["broker-a", "zz-broker-a"]);
        assert_eq!(merged.broker_datas[1].broker_addrs[&0], "ferry-target(10.0.0.2:10911)");
        assert_eq!(merged.queue_datas[1].broker_name, "zz-broker-a");
    }
}
