//! The health gates of each step (DESIGN.md, "Health gates"), as pure functions of the evidence
//! gathered from both clusters and from Ferry's own proxy. Each check says in words what it saw.

use std::collections::{BTreeMap, BTreeSet};

use ferry_proxy::Stage;

use crate::migration::model::Check;

/// What the checks look at, gathered by `evidence::gather`.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub topic: String,
    pub groups: Vec<String>,
    pub on_source: bool,
    pub on_target: bool,
    pub groups_missing_on_target: Vec<String>,
    /// Group to the client ids of its consumers connected to the source's / target's brokers.
    pub source_consumers: BTreeMap<String, BTreeSet<String>>,
    pub target_consumers: BTreeMap<String, BTreeSet<String>>,
    /// Groups with 5.x POP consumers (the broker assigns their queues; routes cannot steer them).
    pub pop_groups: Vec<String>,
    /// Client ids Ferry's relays have seen (heartbeats).
    pub through_ferry: BTreeSet<String>,
    /// Clients that asked for the topic's route recently, and those of them still holding an
    /// older stage's route.
    pub route_askers: usize,
    pub route_behind: Vec<String>,
    /// Seconds left before Ferry, freshly started, has heard from every client again.
    pub route_warming_up: Option<u64>,
    /// Now, and how long the source must have been quiet before Completed (ms).
    pub now_ms: i64,
    pub quiet_ms: i64,
    /// The topic's queues on the target, as `broker:queue`.
    pub target_queues: BTreeSet<String>,
    /// Write queues per broker of the topic on each side.
    pub source_writes: Vec<(String, i32)>,
    pub target_writes: Vec<(String, i32)>,
    /// The topic is migrated in strict order.
    pub strict_order: bool,
    /// Store time (ms) of the newest message of the topic on the source, and when the topic
    /// entered its current stage.
    pub source_last_write_ms: Option<i64>,
    pub stage_since_ms: i64,
    /// Messages the source holds back until due: timer messages of this topic (5.x; `None` where
    /// unknown) and delay-level messages of any topic (brokers do not say which).
    pub source_timer_pending: Option<i64>,
    pub source_delayed_pending: i64,
    /// Group to the target queues (`broker:queue`) it has committed an offset on.
    pub target_committed: BTreeMap<String, BTreeSet<String>>,
    /// Group to its backlog on the source: the topic, and its retry topic.
    pub source_backlog: BTreeMap<String, (i64, i64)>,
    /// Group to its backlog of the topic on the target.
    pub target_backlog: BTreeMap<String, i64>,
}

/// The checks guarding `from -> to` (one step, either way).
pub fn gates(from: Stage, to: Stage, e: &Evidence) -> Vec<Check> {
    let forward = to > from;
    match (forward, to) {
        (true, Stage::DualRead) => vec![
            topic_exists("topic-on-source", "source", e.on_source, &e.topic),
            topic_exists("topic-on-target", "target", e.on_target, &e.topic),
            groups_on_target(e),
            clients_through_ferry(e),
            no_direct_consumers_on_target(e),
            no_pop_consumers(e),
        ]
        .into_iter()
        .chain(e.strict_order.then(|| ordered_queue_counts(e)))
        .collect(),
        (true, Stage::DualReadWrite) => {
            vec![route_settled(e), consumers_on_target(e), offsets_on_target(e)]
        }
        (true, Stage::CuttingOver) => vec![route_settled(e), consumers_on_target(e)],
        (true, Stage::Completed) => {
            vec![
                route_settled(e),
                source_writes_stopped(e),
                source_backlog_zero(e),
                source_scheduled_empty(e),
            ]
        }
        // Rolling DualRead back hides the target's queues: nothing may be left there unread.
        (false, Stage::Initial) => vec![target_backlog_zero(e)],
        _ => Vec::new(),
    }
}

fn topic_exists(name: &str, side: &str, exists: bool, topic: &str) -> Check {
    if exists {
        Check::pass(name, format!("topic {topic} exists on the {side}"))
    } else {
        Check::fail(name, format!("topic {topic} does not exist on the {side} cluster (import it first)"))
    }
}

/// A producer ordering by key sends it to `hash(key) % n` of its writable queues, listed by broker
/// name (`MQClientInstance.topicRouteData2TopicPublishInfo` sorts them). With as many write queues
/// on each side, and one side's brokers all sorting before the other's, a key that moves does so
/// between the queues of the same index on the two sides, never between two queues of one side,
/// which is what a strict-order hold covers.
fn ordered_queue_counts(e: &Evidence) -> Check {
    const NAME: &str = "ordered-queue-counts";
    let total = |w: &[(String, i32)]| w.iter().map(|(_, n)| i64::from(*n)).sum::<i64>();
    let (source, target) = (total(&e.source_writes), total(&e.target_writes));
    if source != target {
        return Check::fail(
            NAME,
            format!(
                "strict order needs as many write queues on the target as on the source: {source} on the \
                 source, {target} on the target"
            ),
        );
    }
    let names = |w: &[(String, i32)]| w.iter().map(|(b, _)| b.clone()).collect::<BTreeSet<_>>();
    let (s, t) = (names(&e.source_writes), names(&e.target_writes));
    let apart =
        |a: &BTreeSet<String>, b: &BTreeSet<String>| a.last().zip(b.first()).is_none_or(|(x, y)| x < y);
    if apart(&s, &t) || apart(&t, &s) {
        Check::pass(NAME, format!("{source} write queue(s) on each side"))
    } else {
        Check::fail(
            NAME,
            format!(
                "strict order needs one side's broker names to sort before all of the other's (producers list \
                 queues by broker name); source {}, target {}",
                s.into_iter().collect::<Vec<_>>().join(", "),
                t.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    }
}

fn groups_on_target(e: &Evidence) -> Check {
    const NAME: &str = "groups-on-target";
    if e.groups_missing_on_target.is_empty() {
        Check::pass(NAME, format!("all {} group(s) exist on the target", e.groups.len()))
    } else {
        Check::fail(NAME, format!("not on the target yet: {}", e.groups_missing_on_target.join(", ")))
    }
}

/// Consumers of `consumers` whose ids Ferry has not seen: connected some other way.
fn direct(consumers: &BTreeMap<String, BTreeSet<String>>, through_ferry: &BTreeSet<String>) -> Vec<String> {
    consumers
        .iter()
        .flat_map(|(g, ids)| {
            ids.iter().filter(|id| !through_ferry.contains(*id)).map(move |id| format!("{id} ({g})"))
        })
        .collect()
}

fn clients_through_ferry(e: &Evidence) -> Check {
    const NAME: &str = "clients-through-ferry";
    let direct = direct(&e.source_consumers, &e.through_ferry);
    let online: usize = e.source_consumers.values().map(BTreeSet::len).sum();
    if direct.is_empty() {
        Check::pass(NAME, format!("{online} consumer(s) on the source, all through Ferry"))
    } else {
        Check::fail(
            NAME,
            format!(
                "{} consumer(s) reach the source directly, not through Ferry: {} (point their NameServer \
                 address at Ferry)",
                direct.len(),
                direct.join(", ")
            ),
        )
    }
}

fn no_direct_consumers_on_target(e: &Evidence) -> Check {
    const NAME: &str = "no-direct-consumers-on-target";
    let direct = direct(&e.target_consumers, &e.through_ferry);
    if direct.is_empty() {
        Check::pass(NAME, "no consumer of these groups reaches the target directly")
    } else {
        Check::fail(NAME, format!("consumer(s) already on the target without Ferry: {}", direct.join(", ")))
    }
}

fn no_pop_consumers(e: &Evidence) -> Check {
    const NAME: &str = "no-pop-consumers";
    if e.pop_groups.is_empty() {
        Check::pass(NAME, "no group consumes with 5.x POP")
    } else {
        Check::fail(
            NAME,
            format!(
                "{} consume with 5.x POP: the broker assigns POP consumers their queues, so Ferry's routes \
                 cannot move them; switch these consumers to push/pull for the migration",
                e.pop_groups.join(", ")
            ),
        )
    }
}

fn route_settled(e: &Evidence) -> Check {
    const NAME: &str = "route-settled";
    if let Some(secs) = e.route_warming_up {
        return Check::fail(
            NAME,
            format!(
                "Ferry started recently: waiting {secs} s more for every client to ask for its route again"
            ),
        );
    }
    if e.route_behind.is_empty() {
        Check::pass(NAME, format!("all {} recent client(s) have the current route", e.route_askers))
    } else {
        Check::fail(
            NAME,
            format!(
                "{} of {} client(s) still hold the previous route: {} (clients re-read routes every 30 s)",
                e.route_behind.len(),
                e.route_askers,
                e.route_behind.join(", ")
            ),
        )
    }
}

fn consumers_on_target(e: &Evidence) -> Check {
    const NAME: &str = "consumers-on-target";
    let mut missing = Vec::new();
    for (group, ids) in &e.source_consumers {
        let on_target = e.target_consumers.get(group);
        let absent: Vec<&str> =
            ids.iter().filter(|id| !on_target.is_some_and(|t| t.contains(*id))).map(String::as_str).collect();
        if !absent.is_empty() {
            missing.push(format!("{group}: {}", absent.join(", ")));
        }
    }
    let summary = |side: &BTreeMap<String, BTreeSet<String>>| {
        e.groups
            .iter()
            .map(|g| format!("{g} {}", side.get(g).map_or(0, BTreeSet::len)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if missing.is_empty() {
        Check::pass(
            NAME,
            format!(
                "consumers on source [{}], on target [{}]",
                summary(&e.source_consumers),
                summary(&e.target_consumers)
            ),
        )
    } else {
        Check::fail(NAME, format!("not registered on the target yet: {}", missing.join("; ")))
    }
}

fn offsets_on_target(e: &Evidence) -> Check {
    const NAME: &str = "offsets-on-target";
    // A group that has never taken a target queue would start there from the last offset and
    // skip what producers write first.
    let mut missing = Vec::new();
    for group in &e.groups {
        let committed = e.target_committed.get(group);
        let absent: Vec<&str> = e
            .target_queues
            .iter()
            .filter(|q| !committed.is_some_and(|c| c.contains(*q)))
            .map(String::as_str)
            .collect();
        if !absent.is_empty() {
            missing.push(format!("{group} on {}", absent.join(", ")));
        }
    }
    if e.target_queues.is_empty() {
        Check::fail(NAME, "the topic has no queues on the target")
    } else if missing.is_empty() {
        Check::pass(
            NAME,
            format!("every group holds an offset on all {} target queue(s)", e.target_queues.len()),
        )
    } else {
        Check::fail(NAME, format!("no committed offset yet: {}", missing.join("; ")))
    }
}

/// Once every client has the route without source writes, nothing should be stored on the source
/// any more; a recent message there comes from a producer that reaches the source directly (or a
/// client Ferry has not heard from), which would keep writing after Completed.
fn source_writes_stopped(e: &Evidence) -> Check {
    const NAME: &str = "source-writes-stopped";
    match e.source_last_write_ms {
        Some(last) if last > e.stage_since_ms && e.now_ms - last < e.quiet_ms => Check::fail(
            NAME,
            format!(
                "the source stored a message {:.1} s ago, after writes moved to the target; waiting for {:.0} s \
                 without one (a producer that keeps writing there reaches the source directly: point it at Ferry)",
                (e.now_ms - last) as f64 / 1000.0,
                e.quiet_ms as f64 / 1000.0
            ),
        ),
        _ => Check::pass(NAME, "the source is not written any more"),
    }
}

/// A delayed message comes due on the broker that holds it: after Completed nobody reads it there.
fn source_scheduled_empty(e: &Evidence) -> Check {
    const NAME: &str = "source-scheduled-empty";
    let mut waiting = Vec::new();
    if let Some(n) = e.source_timer_pending.filter(|n| *n > 0) {
        waiting.push(format!("{n} timer message(s) of {} not yet due", e.topic));
    }
    if e.source_delayed_pending > 0 {
        waiting.push(format!(
            "{} delay-level message(s) not yet due on the source (of some topic: brokers do not say which; if \
             none is for {}, ignore this check with a reason)",
            e.source_delayed_pending, e.topic
        ));
    }
    if waiting.is_empty() {
        Check::pass(NAME, "no delayed message waiting on the source")
    } else {
        Check::fail(NAME, waiting.join("; "))
    }
}

fn source_backlog_zero(e: &Evidence) -> Check {
    const NAME: &str = "source-backlog-zero";
    let owed: Vec<String> = e
        .source_backlog
        .iter()
        .filter(|(_, (t, r))| *t > 0 || *r > 0)
        .map(|(g, (t, r))| format!("{g}: {t} on the topic, {r} on its retry topic"))
        .collect();
    if owed.is_empty() {
        Check::pass(NAME, "nothing left to consume on the source")
    } else {
        Check::fail(NAME, format!("unconsumed messages on the source: {}", owed.join("; ")))
    }
}

fn target_backlog_zero(e: &Evidence) -> Check {
    const NAME: &str = "target-backlog-zero";
    let owed: Vec<String> =
        e.target_backlog.iter().filter(|(_, n)| **n > 0).map(|(g, n)| format!("{g}: {n}")).collect();
    if owed.is_empty() {
        Check::pass(NAME, "nothing left to consume on the target")
    } else {
        Check::fail(NAME, format!("messages on the target would be stranded: {}", owed.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn evidence() -> Evidence {
        Evidence {
            topic: "orders".into(),
            groups: vec!["billing".into()],
            on_source: true,
            on_target: true,
            source_consumers: [("billing".to_string(), ids(&["c1", "c2"]))].into(),
            target_consumers: BTreeMap::new(),
            through_ferry: ids(&["c1", "c2"]),
            route_askers: 3,
            target_queues: ids(&["t:0", "t:1"]),
            ..Default::default()
        }
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn dual_read_needs_the_topic_on_both_sides_and_every_client_through_ferry() {
        let mut e = evidence();
        assert!(failing(&gates(Stage::Initial, Stage::DualRead, &e)).is_empty());
        e.on_target = false;
        e.groups_missing_on_target = vec!["billing".into()];
        e.through_ferry = ids(&["c1"]);
        e.target_consumers = [("billing".to_string(), ids(&["rogue"]))].into();
        let checks = gates(Stage::Initial, Stage::DualRead, &e);
        assert_eq!(
            failing(&checks),
            ["topic-on-target", "groups-on-target", "clients-through-ferry", "no-direct-consumers-on-target"]
        );
        e.pop_groups = vec!["billing".into()];
        let pop =
            gates(Stage::Initial, Stage::DualRead, &e).into_iter().find(|c| c.name == "no-pop-consumers");
        assert!(pop.is_some_and(|c| !c.passed && c.detail.contains("billing consume with 5.x POP")));
        let direct = checks.iter().find(|c| c.name == "clients-through-ferry").unwrap();
        assert!(direct.detail.contains("c2 (billing)"), "{}", direct.detail);
    }

    #[test]
    fn strict_order_needs_equal_write_queues_and_sides_apart_by_name() {
        let w = |v: &[(&str, i32)]| v.iter().map(|(b, n)| (b.to_string(), *n)).collect::<Vec<_>>();
        let mut e = evidence();
        e.strict_order = true;
        e.source_writes = w(&[("a", 4)]);
        e.target_writes = w(&[("t", 2)]);
        let checks = gates(Stage::Initial, Stage::DualRead, &e);
        assert_eq!(failing(&checks), ["ordered-queue-counts"]);
        assert!(checks.last().unwrap().detail.contains("4 on the source, 2 on the target"));
        e.target_writes = w(&[("t", 4)]);
        assert!(failing(&gates(Stage::Initial, Stage::DualRead, &e)).is_empty());
        e.source_writes = w(&[("a", 2), ("c", 2)]);
        e.target_writes = w(&[("b", 2), ("d", 2)]);
        let checks = gates(Stage::Initial, Stage::DualRead, &e);
        assert!(checks.last().unwrap().detail.contains("source a, c, target b, d"), "{:?}", checks.last());
        e.target_writes = w(&[("x", 2), ("y", 2)]);
        assert!(failing(&gates(Stage::Initial, Stage::DualRead, &e)).is_empty());
    }

    #[test]
    fn writes_move_only_after_every_consumer_took_every_target_queue() {
        let mut e = evidence();
        e.target_consumers = [("billing".to_string(), ids(&["c1"]))].into();
        e.target_committed = [("billing".to_string(), ids(&["t:0"]))].into();
        e.route_behind = vec!["127.0.0.1:5000".into()];
        let checks = gates(Stage::DualRead, Stage::DualReadWrite, &e);
        assert_eq!(failing(&checks), ["route-settled", "consumers-on-target", "offsets-on-target"]);
        assert!(checks[1].detail.contains("billing: c2"), "{}", checks[1].detail);
        assert!(checks[2].detail.contains("billing on t:1"), "{}", checks[2].detail);

        e.target_consumers = [("billing".to_string(), ids(&["c1", "c2"]))].into();
        e.target_committed = [("billing".to_string(), ids(&["t:0", "t:1"]))].into();
        e.route_behind.clear();
        assert!(failing(&gates(Stage::DualRead, Stage::DualReadWrite, &e)).is_empty());
    }

    #[test]
    fn completion_waits_for_the_source_backlog_retry_topic_included() {
        let mut e = evidence();
        e.source_backlog = [("billing".to_string(), (0, 2))].into();
        let checks = gates(Stage::CuttingOver, Stage::Completed, &e);
        assert_eq!(failing(&checks), ["source-backlog-zero"]);
        assert!(checks[2].detail.contains("2 on its retry topic"));
        e.source_backlog = [("billing".to_string(), (0, 0))].into();
        assert!(failing(&gates(Stage::CuttingOver, Stage::Completed, &e)).is_empty());
    }

    #[test]
    fn a_direct_producer_on_the_source_blocks_completion() {
        let mut e = evidence();
        e.stage_since_ms = 1_000_000;
        e.quiet_ms = 10_000;
        e.now_ms = 1_030_000;
        e.source_last_write_ms = Some(999_000);
        assert!(failing(&gates(Stage::CuttingOver, Stage::Completed, &e)).is_empty(), "written before");
        e.source_last_write_ms = Some(1_015_000);
        assert!(failing(&gates(Stage::CuttingOver, Stage::Completed, &e)).is_empty(), "quiet long enough");
        e.source_last_write_ms = Some(1_028_000);
        let checks = gates(Stage::CuttingOver, Stage::Completed, &e);
        assert_eq!(failing(&checks), ["source-writes-stopped"]);
        assert!(checks[1].detail.contains("2.0 s ago"), "{}", checks[1].detail);
    }

    #[test]
    fn delayed_messages_waiting_on_the_source_block_completion() {
        let mut e = evidence();
        e.source_delayed_pending = 3;
        e.source_timer_pending = Some(2);
        let checks = gates(Stage::CuttingOver, Stage::Completed, &e);
        assert_eq!(failing(&checks), ["source-scheduled-empty"]);
        let detail = &checks[3].detail;
        assert!(
            detail.contains("2 timer message(s) of orders") && detail.contains("3 delay-level"),
            "{detail}"
        );
    }

    #[test]
    fn a_freshly_started_ferry_waits_before_calling_a_route_settled() {
        let mut e = evidence();
        e.route_warming_up = Some(42);
        let checks = gates(Stage::DualRead, Stage::DualReadWrite, &e);
        assert!(checks[0].detail.contains("waiting 42 s"), "{}", checks[0].detail);
        assert!(!checks[0].passed);
    }

    #[test]
    fn rolling_back_to_initial_refuses_to_strand_target_messages() {
        let mut e = evidence();
        e.target_backlog = [("billing".to_string(), 5)].into();
        assert_eq!(failing(&gates(Stage::DualRead, Stage::Initial, &e)), ["target-backlog-zero"]);
        assert!(gates(Stage::CuttingOver, Stage::DualReadWrite, &e).is_empty(), "other rollbacks are free");
    }
}
