//! POP messages in flight, per side, group and topic: what the relays saw handed out by POP
//! answers and not yet acknowledged.
//!
//! A 5.x POP consumer (the Apache Proxy's gRPC consumers, remoting POP consumers) does not hold
//! an offset: the broker moves the group's offset when it hands messages out and writes a
//! checkpoint; the message stays invisible until acked, or comes back after its invisible time
//! (up to hours), from the POP retry topic (B/processor/PopMessageProcessor.java,
//! PopReviveService.java @ rocketmq-all-5.3.3). Offsets therefore do not show it: a source whose
//! backlog is zero may still owe messages to a consumer that has not acked them, and after
//! Completed nobody would read them back. The ledger keeps each handed-out message until its ack
//! through the relay, or until its invisible time (moved by CHANGE_MESSAGE_INVISIBLETIME) has
//! passed plus [`REVIVE_GRACE`]: by then the broker has put it in the POP retry topic, whose
//! backlog the checks read.
//!
//! A message is known by the broker it came from (the relay's backend), whether it was read from
//! the POP retry topic, its queue and its queue offset: the fields an ACK_MESSAGE or a
//! CHANGE_MESSAGE_INVISIBLETIME header names (`queueId`, `offset`, and `topic`, the retry topic
//! for a retry message: the Proxy's `ReceiptHandle.getRealTopic`). BATCH_ACK_MESSAGE (the Proxy
//! with `enableBatchAck`) is not read: its messages leave the ledger at their invisible time, late
//! but never early.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::route::Side;

/// How long after its invisible time a message not acked through Ferry still counts: the broker
/// revives it into the POP retry topic from its checkpoint, not at once.
pub const REVIVE_GRACE: Duration = Duration::from_secs(30);

/// At most this many messages are kept per group, topic and side (older ones are dropped first).
const MAX_PER_GROUP: usize = 100_000;

/// `%RETRY%` ([`MixAll.RETRY_GROUP_TOPIC_PREFIX`]).
const RETRY_PREFIX: &str = "%RETRY%";

/// One handed-out message as the broker knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handed {
    /// The broker (relay backend) that handed it out.
    pub broker: String,
    /// Read from the POP retry topic.
    pub retry: bool,
    pub queue_id: i32,
    pub offset: i64,
}

/// The topic a POP consumer's request names, and whether it names the group's POP retry topic
/// (`%RETRY%group_topic`, or the 5.x `%RETRY%group+topic`: `KeyBuilder.buildPopRetryTopic`
/// L29-44 @ rocketmq-all-5.3.3) rather than the topic itself.
pub fn normal_topic<'a>(topic: &'a str, group: &str) -> (&'a str, bool) {
    let Some(rest) = topic.strip_prefix(RETRY_PREFIX).and_then(|r| r.strip_prefix(group)) else {
        return (topic, false);
    };
    match rest.strip_prefix('+').or_else(|| rest.strip_prefix('_')) {
        Some(t) if !t.is_empty() => (t, true),
        _ => (topic, false),
    }
}

/// Both names of a group's POP retry topic for `topic`.
pub fn pop_retry_topics(group: &str, topic: &str) -> [String; 2] {
    [format!("{RETRY_PREFIX}{group}_{topic}"), format!("{RETRY_PREFIX}{group}+{topic}")]
}

#[derive(Default)]
struct Flight {
    /// Message to the instant after which it no longer counts.
    until: HashMap<Handed, Instant>,
}

/// The ledger of every relay.
#[derive(Default)]
pub struct PopLedger {
    inner: Mutex<HashMap<(Side, String, String), Flight>>,
    /// Groups seen popping, by topic and side.
    poppers: Mutex<BTreeMap<String, BTreeSet<(Side, String)>>>,
}

impl PopLedger {
    /// A POP request of `group` for `topic` through a relay of `side`.
    pub fn popping(&self, side: Side, group: &str, topic: &str) {
        let (topic, _) = normal_topic(topic, group);
        let mut p = self.poppers.lock().expect("poppers lock");
        if !p.get(topic).is_some_and(|s| s.contains(&(side, group.to_string()))) {
            p.entry(topic.to_string()).or_default().insert((side, group.to_string()));
        }
    }

    /// Groups whose POP requests for `topic` went through the relays, with the side.
    pub fn poppers(&self, topic: &str) -> BTreeSet<(Side, String)> {
        self.poppers.lock().expect("poppers lock").get(topic).cloned().unwrap_or_default()
    }

    /// A POP answer handed `messages` out, invisible for `invisible` from `now`.
    pub fn handed_out(
        &self,
        side: Side,
        group: &str,
        topic: &str,
        messages: impl IntoIterator<Item = Handed>,
        invisible: Duration,
        now: Instant,
    ) {
        let (topic, _) = normal_topic(topic, group);
        let mut inner = self.inner.lock().expect("pop ledger lock");
        let flight = inner.entry((side, group.to_string(), topic.to_string())).or_default();
        let until = now + invisible + REVIVE_GRACE;
        for m in messages {
            flight.until.insert(m, until);
        }
        if flight.until.len() > MAX_PER_GROUP {
            flight.until.retain(|_, u| *u > now);
        }
    }

    /// An ACK_MESSAGE the broker accepted: `topic` as the ack names it (the retry topic for a
    /// retry message).
    pub fn acked(&self, side: Side, group: &str, topic: &str, broker: &str, queue_id: i32, offset: i64) {
        let (normal, retry) = normal_topic(topic, group);
        let mut inner = self.inner.lock().expect("pop ledger lock");
        if let Some(f) = inner.get_mut(&(side, group.to_string(), normal.to_string())) {
            f.until.remove(&Handed { broker: broker.to_string(), retry, queue_id, offset });
        }
    }

    /// A CHANGE_MESSAGE_INVISIBLETIME the broker accepted: the message stays out `invisible`
    /// longer from `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn invisible_changed(
        &self,
        side: Side,
        group: &str,
        topic: &str,
        broker: &str,
        queue_id: i32,
        offset: i64,
        invisible: Duration,
        now: Instant,
    ) {
        let (normal, retry) = normal_topic(topic, group);
        let mut inner = self.inner.lock().expect("pop ledger lock");
        if let Some(f) = inner.get_mut(&(side, group.to_string(), normal.to_string())) {
            let key = Handed { broker: broker.to_string(), retry, queue_id, offset };
            if let Some(u) = f.until.get_mut(&key) {
                *u = now + invisible + REVIVE_GRACE;
            }
        }
    }

    /// When the last message of `topic` still out on `side` comes back at the latest, per group
    /// (groups with none out are left out).
    pub fn in_flight_until(&self, side: Side, topic: &str, now: Instant) -> BTreeMap<String, Instant> {
        let mut inner = self.inner.lock().expect("pop ledger lock");
        let mut out = BTreeMap::new();
        for ((s, group, t), f) in inner.iter_mut() {
            if *s != side || t != topic {
                continue;
            }
            f.until.retain(|_, u| *u > now);
            if let Some(last) = f.until.values().max() {
                out.insert(group.clone(), *last);
            }
        }
        out
    }

    /// Messages of `topic` still out on `side`, per group (groups with none are left out).
    pub fn in_flight(&self, side: Side, topic: &str, now: Instant) -> BTreeMap<String, u64> {
        let mut inner = self.inner.lock().expect("pop ledger lock");
        let mut out = BTreeMap::new();
        for ((s, group, t), f) in inner.iter_mut() {
            if *s != side || t != topic {
                continue;
            }
            f.until.retain(|_, u| *u > now);
            if !f.until.is_empty() {
                out.insert(group.clone(), f.until.len() as u64);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(broker: &str, retry: bool, queue_id: i32, offset: i64) -> Handed {
        Handed { broker: broker.into(), retry, queue_id, offset }
    }

    #[test]
    fn retry_topics_name_their_topic_in_both_forms() {
        assert_eq!(normal_topic("orders", "billing"), ("orders", false));
        assert_eq!(normal_topic("%RETRY%billing_orders", "billing"), ("orders", true));
        assert_eq!(normal_topic("%RETRY%billing+orders", "billing"), ("orders", true));
        // The group's own (push consumer) retry topic names no topic.
        assert_eq!(normal_topic("%RETRY%billing", "billing"), ("%RETRY%billing", false));
        assert_eq!(normal_topic("%RETRY%other_orders", "billing"), ("%RETRY%other_orders", false));
        assert_eq!(
            pop_retry_topics("billing", "orders"),
            ["%RETRY%billing_orders".to_string(), "%RETRY%billing+orders".to_string()]
        );
    }

    #[test]
    fn a_message_counts_from_its_pop_until_its_ack_or_its_invisible_time() {
        let l = PopLedger::default();
        let t0 = Instant::now();
        let s = Side::Source;
        let out = [m("b1", false, 0, 7), m("b1", false, 1, 3), m("b1", true, 0, 0), m("b2", false, 0, 7)];
        l.handed_out(s, "billing", "orders", out.clone(), Duration::from_secs(60), t0);
        assert_eq!(l.in_flight(s, "orders", t0), BTreeMap::from([("billing".to_string(), 4)]));
        let until = t0 + Duration::from_secs(60) + REVIVE_GRACE;
        assert_eq!(l.in_flight_until(s, "orders", t0), BTreeMap::from([("billing".to_string(), until)]));
        assert!(l.in_flight(Side::Target, "orders", t0).is_empty(), "sides apart");
        assert!(l.in_flight(s, "other", t0).is_empty(), "topics apart");
        // Acks name the queue and offset; a retry message's ack names the retry topic.
        l.acked(s, "billing", "orders", "b1", 0, 7);
        l.acked(s, "billing", "%RETRY%billing+orders", "b1", 0, 0);
        // Another broker's, or an unknown one's, acks change nothing.
        l.acked(s, "billing", "orders", "b9", 1, 3);
        l.acked(s, "other", "orders", "b1", 1, 3);
        assert_eq!(l.in_flight(s, "orders", t0), BTreeMap::from([("billing".to_string(), 2)]));
        // Past the invisible time and the revive grace, the broker owns it again (retry topic).
        let late = t0 + Duration::from_secs(60) + REVIVE_GRACE + Duration::from_millis(1);
        assert!(l.in_flight(s, "orders", late).is_empty());
    }

    #[test]
    fn a_moved_invisible_time_keeps_the_message_out_longer() {
        let l = PopLedger::default();
        let t0 = Instant::now();
        let s = Side::Source;
        l.handed_out(s, "g", "orders", [m("b1", false, 2, 5)], Duration::from_secs(10), t0);
        let t1 = t0 + Duration::from_secs(5);
        l.invisible_changed(s, "g", "orders", "b1", 2, 5, Duration::from_secs(120), t1);
        let after_first = t0 + Duration::from_secs(10) + REVIVE_GRACE + Duration::from_secs(1);
        assert_eq!(l.in_flight(s, "orders", after_first).get("g"), Some(&1));
        assert!(l.in_flight(s, "orders", t1 + Duration::from_secs(121) + REVIVE_GRACE).is_empty());
    }

    #[test]
    fn poppers_are_learned_per_topic_and_side() {
        let l = PopLedger::default();
        l.popping(Side::Source, "billing", "orders");
        l.popping(Side::Target, "billing", "%RETRY%billing_orders");
        l.popping(Side::Source, "billing", "orders");
        assert_eq!(
            l.poppers("orders"),
            BTreeSet::from([(Side::Source, "billing".to_string()), (Side::Target, "billing".to_string())])
        );
        assert!(l.poppers("other").is_empty());
    }
}
