//! The health gates of each step (docs/seamless.md, "Health checks"), as pure functions of the evidence
//! gathered from both clusters and from Ferry's own proxy. Each check says in words what it saw.
//!
//! Silence is not zero: a check that needs a side's brokers fails while any broker the migration
//! expects there is unheard (not registered, unreachable, timed out, refused), naming it, rather
//! than summing over the brokers that happen to answer.

use std::collections::{BTreeMap, BTreeSet};

use ferry_proxy::{Side, Stage, TopicPolicy};

use crate::fleet::{FleetMember, InstanceState};
use crate::migration::model::Check;

/// A broker (or a side's NameServers) the evidence needed and could not hear from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unheard {
    pub side: Side,
    /// How it is named: `source master broker-a (10.0.0.1:10911)`, `target NameServer`.
    pub what: String,
    /// Why: `is not registered with the NameServer`, or the error of the call that failed.
    pub why: String,
}

impl Unheard {
    fn say(&self) -> String {
        format!("{} {}", self.what, self.why)
    }
}

/// One client connection's latest fetch of the topic's route through Ferry's NameServer front.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteHolder {
    /// The client's NameServer connection (`host:port`).
    pub client: String,
    /// The stage-table epoch and stage of the route it was given (`None`: the source's own route).
    pub epoch: u64,
    pub stage: Option<Stage>,
    pub fetched_ms: i64,
    /// How often this client re-reads the route, learnt from its own fetches.
    pub every_ms: Option<i64>,
}

/// A client that uses the topic as the relays saw it (subscribed by heartbeat, or sending).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicUser {
    pub client_id: String,
    /// The host of its relay connection.
    pub host: String,
}

/// A strict-order hold as the checks see it: the side held write-only and what still keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldEvidence {
    pub write_only: Side,
    /// Queues some group has not read up to the barrier, in words; `Err` when the side that must
    /// be read could not be heard from (a queue Ferry cannot read blocks the release).
    pub behind: Result<Vec<String>, String>,
}

/// Half (prepared) transactional messages of the topic on one source master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceHalves {
    /// How the master is named: `source master broker-a (10.0.0.1:10911)`.
    pub broker: String,
    /// Transactions of the topic still prepared there; `Err` with the reason when the broker does
    /// not let Ferry tell (an account that cannot read the system topics, a version Ferry does
    /// not know).
    pub outstanding: Result<u64, String>,
}

/// What the checks look at, gathered by `evidence::gather`.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub topic: String,
    pub groups: Vec<String>,
    /// Brokers (or NameServers) the migration expects to hear from and did not.
    pub unheard: Vec<Unheard>,
    /// Brokers heard from, per side (names), for the words of `clusters-reachable`.
    pub heard: BTreeMap<Side, BTreeSet<String>>,
    pub on_source: bool,
    pub on_target: bool,
    pub groups_missing_on_target: Vec<String>,
    /// Group to the client ids of its consumers connected to the source's / target's brokers.
    pub source_consumers: BTreeMap<String, BTreeSet<String>>,
    pub target_consumers: BTreeMap<String, BTreeSet<String>>,
    /// Groups with 5.x POP consumers (the broker assigns their queues; routes cannot steer them).
    pub pop_groups: Vec<String>,
    /// Client ids Ferry's relays have seen (heartbeats the broker accepted).
    pub through_ferry: BTreeSet<String>,
    /// The topic's stage-table epoch, every open client connection that fetched its route, and
    /// every client the relays saw use it.
    pub route_epoch: u64,
    pub route_holders: Vec<RouteHolder>,
    pub topic_users: Vec<TopicUser>,
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
    /// Strict order: the hold the topic is under, if any.
    pub hold: Option<HoldEvidence>,
    /// Store time (ms) of the newest message of the topic on the source, and when the topic
    /// entered its current stage.
    pub source_last_write_ms: Option<i64>,
    pub stage_since_ms: i64,
    /// Messages the source holds back until due: timer messages of this topic (5.x; `None` where
    /// unknown) and delay-level messages of any topic (brokers do not say which).
    pub source_timer_pending: Option<i64>,
    pub source_delayed_pending: i64,
    /// Half (prepared) transactional messages of the topic, per registered source master. Read
    /// only while the topic is CuttingOver (the one step that needs them); `None`: not read.
    pub source_halves: Option<Vec<SourceHalves>>,
    /// Group to the target queues (`broker:queue`) it has committed an offset on.
    pub target_committed: BTreeMap<String, BTreeSet<String>>,
    /// Group to its backlog on the source: the topic, and its retry topics (the group's own, and
    /// for a group seen popping there its POP retry topics).
    pub source_backlog: BTreeMap<String, (i64, i64)>,
    /// Groups whose POP requests for the topic reached the source through Ferry's relays.
    pub source_poppers: BTreeSet<String>,
    /// Group to the POP messages of the topic the source handed out through Ferry's relays and
    /// that are not acked yet (nor past their invisible time).
    pub source_pop_in_flight: BTreeMap<String, u64>,
    /// Group to the time (ms) until which POP messages of the topic handed out on the source may
    /// still be out without any live ledger counting them: handed out by a Ferry instance before
    /// it restarted, or by one now down. Each with who handed them out.
    pub source_pop_unknown_until: BTreeMap<String, (i64, String)>,
    /// Group to its backlog of the topic on the target.
    pub target_backlog: BTreeMap<String, i64>,
    /// Other topics migrating to the same target that are not Completed yet, with their stage.
    pub undone_topics: Vec<(String, Stage)>,
    /// The topic's `message.type` (5.x attribute) per side, read for the first step only; `None`
    /// inside: the topic has none there (4.x).
    pub message_types: BTreeMap<Side, Option<String>>,
    /// The stage (and hold) the store says the topic is at, which every instance must serve.
    pub policy: Option<TopicPolicy>,
    /// Every Ferry instance sharing the store (this one included), and what it serves of the topic.
    pub fleet: Vec<FleetMember>,
}

/// Whether a strict-order topic is to be written on one side at a time, decided at its first step
/// from the type the source gives it: the Apache Proxy places a FIFO topic's message groups by a
/// consistent hash, which moves groups between one side's own queues when both sides were written
/// and then one is not (`SendMessageActivity.SendMessageQueueSelector`, rocketmq-all-5.3.3). A
/// type not read counts as FIFO: one switch keeps order whatever the producers hash by.
pub fn writes_one_side(e: &Evidence) -> bool {
    e.strict_order
        && match e.message_types.get(&Side::Source) {
            Some(Some(t)) => t.eq_ignore_ascii_case("FIFO"),
            Some(None) => false,
            None => true,
        }
}

/// `Err(failing check)` while a side `name` needs has an unheard broker: the check cannot be
/// proved, whatever the brokers that did answer say. `cannot` says what is unproved.
fn hear(e: &Evidence, name: &str, sides: &[Side], cannot: &str) -> Result<(), Check> {
    let unheard: Vec<String> =
        e.unheard.iter().filter(|u| sides.contains(&u.side)).map(Unheard::say).collect();
    if unheard.is_empty() {
        Ok(())
    } else {
        Err(Check::fail(name, format!("{}: {cannot}", unheard.join("; "))))
    }
}

const BOTH: [Side; 2] = [Side::Source, Side::Target];

/// The checks guarding `from -> to` (one step, either way).
pub fn gates(from: Stage, to: Stage, e: &Evidence) -> Vec<Check> {
    let forward = to > from;
    let checks = match (forward, to) {
        (true, Stage::DualRead) => vec![
            clusters_reachable(e),
            topic_exists("topic-on-source", Side::Source, e.on_source, e),
            topic_exists("topic-on-target", Side::Target, e.on_target, e),
            groups_on_target(e),
            clients_through_ferry(e),
            no_direct_consumers_on_target(e),
            no_pop_consumers(e),
            no_mixed_consumers(e),
            message_type_kept(e),
            fleet_applied(e),
        ]
        .into_iter()
        .chain(e.strict_order.then(|| ordered_queue_counts(e)))
        .collect(),
        (true, Stage::DualReadWrite) => vec![
            clusters_reachable(e),
            route_settled(e),
            consumers_on_target(e),
            offsets_on_target(e),
            fleet_applied(e),
        ],
        (true, Stage::CuttingOver) => {
            vec![clusters_reachable(e), route_settled(e), consumers_on_target(e), fleet_applied(e)]
        }
        (true, Stage::Completed) => {
            vec![
                clusters_reachable(e),
                route_settled(e),
                source_writes_stopped(e),
                source_backlog_zero(e),
                source_scheduled_empty(e),
                source_half_messages(e),
                pop_in_flight(e),
                no_mixed_consumers(e),
                fleet_applied(e),
            ]
        }
        (true, Stage::Direct) => vec![target_reachable(e), migration_done(e), fleet_applied(e)],
        // Rolling DualRead back hides the target's queues: nothing may be left there unread.
        (false, Stage::Initial) => vec![target_backlog_zero(e)],
        // Other steps back are free: an operator rolling back during a fault must not be stopped.
        _ => Vec::new(),
    };
    // While a strict-order hold is on, every step waits for it (the step would move keys again, or
    // end the hold), except to Completed and back to Initial: their drain checks (source- and
    // target-backlog-zero) ask for more than the hold waits for. A FIFO topic's DualReadWrite ->
    // DualRead moves no keys, yet would end the hold on the source with the target not read.
    let waits_for_hold = !matches!(to, Stage::Completed | Stage::Initial);
    checks.into_iter().chain(waits_for_hold.then(|| order_hold(e)).flatten()).collect()
}

/// Every Ferry instance serves the topic's current stage: a client on an instance that has not
/// applied the last step still has the routes before it, so the next step waits for it. An
/// instance gone silent is not taken as done: it passes only if its NameServer front refuses
/// connections (nothing listens there, so no client can be on it) or an operator forgot it.
pub fn fleet_applied(e: &Evidence) -> Check {
    const NAME: &str = "fleet-applied";
    let Some(policy) = e.policy else {
        return Check::fail(NAME, "the topic's stage in the store is not known");
    };
    let said = |p: &TopicPolicy| match p.write_only {
        Some(side) => format!("{} ({side} write-only)", p.stage),
        None => p.stage.to_string(),
    };
    if e.fleet.is_empty() {
        return Check::fail(NAME, "no Ferry instance has said what it serves yet");
    }
    let mut serving = Vec::new();
    let mut gone = Vec::new();
    let mut waiting = Vec::new();
    for m in &e.fleet {
        let age = m.heartbeat_age_ms.max(0) / 1000;
        match (m.state, m.serves) {
            (InstanceState::Up, Some(p)) if p == policy => serving.push(m.name.clone()),
            (InstanceState::Up, Some(p)) => waiting.push(format!("{} still serves {}", m.name, said(&p))),
            (InstanceState::Up, None) => waiting.push(format!("{} does not serve the topic yet", m.name)),
            (InstanceState::Down, _) => match m.front_refuses {
                Some(true) => gone.push(format!(
                    "{} is down (not heard for {age} s, its NameServer front at {} refuses connections)",
                    m.name, m.namesrv
                )),
                Some(false) => waiting.push(format!(
                    "{} has not been heard for {age} s and its NameServer front at {} still accepts connections: \
                     its clients may hold older routes (if it is gone for good, forget it: DELETE /api/fleet/{})",
                    m.name, m.namesrv, m.name
                )),
                None => waiting.push(format!(
                    "{} has not been heard for {age} s and its NameServer front at {} does not answer: it may \
                     still serve clients (if it is gone for good, forget it: DELETE /api/fleet/{})",
                    m.name, m.namesrv, m.name
                )),
            },
        }
    }
    if waiting.is_empty() {
        let gone = if gone.is_empty() { String::new() } else { format!("; {}", gone.join("; ")) };
        Check::pass(
            NAME,
            format!("every Ferry instance serves {}: {}{gone}", said(&policy), serving.join(", ")),
        )
    } else {
        Check::fail(
            NAME,
            format!("not every Ferry instance serves {} yet: {}", said(&policy), waiting.join("; ")),
        )
    }
}

/// The target keeps the topic's message type: a 5.x broker (and the Apache Proxy in front of gRPC
/// clients) checks a message against its topic's type, so a FIFO, delay or transactional topic
/// migrated to a NORMAL one (or the other way) refuses sends once producers write the target.
fn message_type_kept(e: &Evidence) -> Check {
    const NAME: &str = "message-type";
    let (Some(source), Some(target)) =
        (e.message_types.get(&Side::Source), e.message_types.get(&Side::Target))
    else {
        return Check::fail(NAME, "the topic's message type was not read on both clusters");
    };
    let normal = |t: &Option<String>| t.as_deref().unwrap_or("NORMAL").to_string();
    match (source, target) {
        (None, _) if normal(target) == "NORMAL" => {
            Check::pass(NAME, format!("the source has no message type (4.x); the target's is {}", normal(target)))
        }
        (None, Some(t)) => Check::fail(
            NAME,
            format!(
                "the source has no message type (4.x) but the target's topic is {t}: producers of plain messages \
                 would be refused there (mqadmin updateTopic -a +message.type=NORMAL on the target, or import the \
                 topic again)"
            ),
        ),
        (Some(_), _) if normal(source) == normal(target) => {
            Check::pass(NAME, format!("{} on both clusters", normal(source)))
        }
        _ => Check::fail(
            NAME,
            format!(
                "the topic is {} on the source but {} on the target: sends of that type would be refused there \
                 (import the topic again with --overwrite, or mqadmin updateTopic -a +message.type={} on the target)",
                normal(source),
                normal(target),
                normal(source)
            ),
        ),
    }
}

/// Every broker the migration expects, on both sides, answered.
fn clusters_reachable(e: &Evidence) -> Check {
    const NAME: &str = "clusters-reachable";
    if let Err(c) = hear(e, NAME, &BOTH, "checks that need it cannot be proved") {
        return c;
    }
    let names = |side: Side| {
        e.heard.get(&side).map(|b| b.iter().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default()
    };
    Check::pass(
        NAME,
        format!(
            "heard from every expected broker: source [{}], target [{}]",
            names(Side::Source),
            names(Side::Target)
        ),
    )
}

/// Every expected target broker answered: clients are about to be sent to them.
fn target_reachable(e: &Evidence) -> Check {
    const NAME: &str = "target-reachable";
    if let Err(c) = hear(e, NAME, &[Side::Target], "clients would be sent to a broker Ferry cannot reach") {
        return c;
    }
    let names = e.heard.get(&Side::Target).map(|b| b.iter().cloned().collect::<Vec<_>>().join(", "));
    Check::pass(NAME, format!("heard from every expected target broker: [{}]", names.unwrap_or_default()))
}

/// Direct only once every topic migrating to the target is Completed: a client keeps one address
/// per broker name for all its topics (`MQClientInstance.brokerAddrTable`, last route wins), so a
/// topic still relayed and one direct would each move the other's traffic on or off the relays.
fn migration_done(e: &Evidence) -> Check {
    const NAME: &str = "migration-done";
    if e.undone_topics.is_empty() {
        return Check::pass(NAME, "every topic migrating to this target is Completed");
    }
    let open: Vec<String> = e.undone_topics.iter().map(|(t, s)| format!("{t} ({s})")).collect();
    Check::fail(
        NAME,
        format!(
            "topics migrating to this target are not Completed yet: {}; clients share one address per broker \
             for all their topics, so none goes direct before all are done",
            open.join(", ")
        ),
    )
}

pub const ORDER_HOLD: &str = "order-hold";

/// Strict order: a step that moves keys again waits until the hold of the last one is released
/// (every group read the old side up to the barrier).
fn order_hold(e: &Evidence) -> Option<Check> {
    const NAME: &str = ORDER_HOLD;
    let hold = e.hold.as_ref()?;
    Some(match &hold.behind {
        Ok(behind) if behind.is_empty() => Check::pass(NAME, "older messages all consumed"),
        Ok(behind) => Check::fail(
            NAME,
            format!(
                "the {} is held write-only until older messages on the other side are consumed: {}",
                hold.write_only,
                behind.join("; ")
            ),
        ),
        Err(why) => Check::fail(
            NAME,
            format!(
                "the {} is held write-only and the other side cannot be read to release it: {why}",
                hold.write_only
            ),
        ),
    })
}

fn topic_exists(name: &str, side: Side, exists: bool, e: &Evidence) -> Check {
    let topic = &e.topic;
    if let Err(c) = hear(e, name, &[side], "the topic's queues there cannot all be seen") {
        return c;
    }
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
    if let Err(c) = hear(e, NAME, &BOTH, "the topic's write queues cannot all be counted") {
        return c;
    }
    let total = |w: &[(String, i32)]| w.iter().map(|(_, n)| i64::from(*n)).sum::<i64>();
    let (source, target) = (total(&e.source_writes), total(&e.target_writes));
    if writes_one_side(e) {
        return Check::pass(
            NAME,
            format!(
                "a FIFO topic is written on one side at a time (CuttingOver moves every message group at once): \
                 {source} write queue(s) on the source, {target} on the target"
            ),
        );
    }
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
    if let Err(c) = hear(e, NAME, &[Side::Target], "whether every group exists there cannot be told") {
        return c;
    }
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
    if let Err(c) = hear(e, NAME, &[Side::Source], "the consumers connected there cannot all be listed") {
        return c;
    }
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
    if let Err(c) = hear(e, NAME, &[Side::Target], "the consumers connected there cannot all be listed") {
        return c;
    }
    let direct = direct(&e.target_consumers, &e.through_ferry);
    if direct.is_empty() {
        Check::pass(NAME, "no consumer of these groups reaches the target directly")
    } else {
        Check::fail(NAME, format!("consumer(s) already on the target without Ferry: {}", direct.join(", ")))
    }
}

fn no_pop_consumers(e: &Evidence) -> Check {
    const NAME: &str = "no-pop-consumers";
    if let Err(c) = hear(e, NAME, &BOTH, "how every consumer consumes cannot be told") {
        return c;
    }
    if e.pop_groups.is_empty() {
        Check::pass(NAME, "no group has remoting POP consumers whose queues the broker assigns")
    } else {
        Check::fail(
            NAME,
            format!(
                "{} consume with 5.x POP over remoting, registered with the broker: the broker assigns \
                 these consumers their queues from its own cluster's view (QUERY_ASSIGNMENT), so Ferry's \
                 routes cannot move them; switch them to push/pull for the migration (gRPC consumers \
                 behind the Apache Proxy are not affected: they never register with brokers, and the \
                 Proxy reads by the routes Ferry gives it)",
                e.pop_groups.join(", ")
            ),
        )
    }
}

/// No group has both remoting consumers registered with the source and POP consumers (gRPC, behind
/// the Apache Proxy) seen through the relays. RocketMQ does not coordinate the two in one group: the
/// broker's rebalance never sees gRPC consumers (the Proxy keeps them, `ClusterConsumerManager`),
/// both write the group's one offset table (`PopMessageProcessor`, `ConsumerOffsetManager`), and the
/// 5.x docs forbid mixing consumer types in a group. Messages are consumed twice, offsets move under
/// each other, and the backlog checks read those offsets. Remoting POP consumers are
/// `no-pop-consumers`'s.
fn no_mixed_consumers(e: &Evidence) -> Check {
    const NAME: &str = "no-mixed-consumers";
    if let Err(c) = hear(e, NAME, &[Side::Source], "which groups have remoting consumers cannot be told") {
        return c;
    }
    let mixed: Vec<String> = e
        .source_poppers
        .iter()
        .filter(|g| !e.pop_groups.contains(g))
        .filter_map(|g| {
            let ids = e.source_consumers.get(g).filter(|ids| !ids.is_empty())?;
            Some(format!("{g} (remoting: {})", ids.iter().cloned().collect::<Vec<_>>().join(", ")))
        })
        .collect();
    if mixed.is_empty() {
        return Check::pass(NAME, "no group mixes remoting consumers with POP consumers seen through Ferry");
    }
    Check::fail(
        NAME,
        format!(
            "remoting consumers registered with the source share a group with POP consumers seen through \
             Ferry (gRPC consumers behind the Apache Proxy): {}; RocketMQ does not coordinate the two kinds in \
             one group (each reads every message, both move the group's one offset), so the backlog cannot be \
             told: give the gRPC consumers a group of their own",
            mixed.join("; ")
        ),
    )
}

/// The host of a `host:port` address.
fn host(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

/// "asks every ~30 s, next expected in 12 s" from what a client's own fetches taught.
fn cadence(h: &RouteHolder, now_ms: i64) -> String {
    match h.every_ms {
        Some(every) => {
            let due = (h.fetched_ms + every - now_ms) / 1000;
            let next = match due {
                1.. => format!("next expected in {due} s"),
                0 => "expected now".to_string(),
                _ => format!("overdue by {} s", -due),
            };
            format!("asks every ~{} s, {next}", (every + 500) / 1000)
        }
        None => format!("asked once, {} s ago", (now_ms - h.fetched_ms).max(0) / 1000),
    }
}

/// Settled means every client of the topic has the current route: every open connection that
/// ever fetched it (not only those that asked recently: a short window would let "nobody asked"
/// pass), and every client the relays saw use it, which must have asked from its host.
pub fn route_settled(e: &Evidence) -> Check {
    const NAME: &str = "route-settled";
    if let Some(secs) = e.route_warming_up {
        return Check::fail(
            NAME,
            format!(
                "Ferry started recently: waiting {secs} s more for every client to ask for its route again"
            ),
        );
    }
    let mut waiting: Vec<String> = e
        .route_holders
        .iter()
        .filter(|h| h.epoch < e.route_epoch)
        .map(|h| {
            let has = h.stage.map_or("the source's route".to_string(), |s| format!("the {s} route"));
            format!("{} has {has} ({})", h.client, cadence(h, e.now_ms))
        })
        .collect();
    let current_hosts: BTreeSet<&str> =
        e.route_holders.iter().filter(|h| h.epoch >= e.route_epoch).map(|h| host(&h.client)).collect();
    waiting.extend(e.topic_users.iter().filter(|u| !current_hosts.contains(u.host.as_str())).map(|u| {
        format!(
            "{} uses the topic through the relays but has not asked Ferry for its route since it changed",
            u.client_id
        )
    }));
    let current = e.route_holders.iter().filter(|h| h.epoch >= e.route_epoch).count();
    if waiting.is_empty() {
        Check::pass(
            NAME,
            format!(
                "all {current} client connection(s) that asked for the route have the current one; {} client(s) \
                 seen using the topic",
                e.topic_users.len()
            ),
        )
    } else {
        Check::fail(
            NAME,
            format!("{} client(s) may still hold an older route: {}", waiting.len(), waiting.join("; ")),
        )
    }
}

fn consumers_on_target(e: &Evidence) -> Check {
    const NAME: &str = "consumers-on-target";
    if let Err(c) = hear(e, NAME, &BOTH, "the consumers of both sides cannot all be listed") {
        return c;
    }
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
    if let Err(c) = hear(e, NAME, &[Side::Target], "the offsets committed there cannot all be read") {
        return c;
    }
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
    if let Err(c) = hear(e, NAME, &[Side::Source], "its newest writes cannot be read") {
        return c;
    }
    match e.source_last_write_ms {
        Some(last) if last > e.stage_since_ms && e.now_ms - last < e.quiet_ms => Check::fail(
            NAME,
            format!(
                "the source stored a message {:.1} s ago, after writes moved to the target; waiting for {:.0} s \
                 without one (a producer that keeps writing there reaches the source directly: point it at \
                 Ferry; or a transaction prepared there was just committed)",
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
    if let Err(c) = hear(e, NAME, &[Side::Source], "its delayed messages cannot be counted") {
        return c;
    }
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

pub const SOURCE_HALF_MESSAGES: &str = "source-half-messages";

/// A half (prepared) transactional message waits on the broker that stored it until its producer
/// ends it, or answers the broker's check-back (CHECK_TRANSACTION_STATE): a commit then writes
/// the message into the topic there. After Completed nobody would read it.
fn source_half_messages(e: &Evidence) -> Check {
    const NAME: &str = SOURCE_HALF_MESSAGES;
    if let Err(c) =
        hear(e, NAME, &[Side::Source], "its half (prepared) transactional messages cannot be counted")
    {
        return c;
    }
    let Some(halves) = &e.source_halves else {
        return Check::fail(NAME, "the source's half (prepared) transactional messages were not read");
    };
    let mut waiting = Vec::new();
    let mut cannot = Vec::new();
    for h in halves {
        match &h.outstanding {
            Ok(0) => {}
            Ok(n) => waiting.push((h.broker.as_str(), *n)),
            Err(why) => cannot.push(format!("{}: {why}", h.broker)),
        }
    }
    let mut said = Vec::new();
    if !waiting.is_empty() {
        let total: u64 = waiting.iter().map(|(_, n)| n).sum();
        let on: Vec<String> = waiting.iter().map(|(b, n)| format!("{n} on {b}")).collect();
        said.push(format!(
            "{total} half (prepared) transactional message(s) of {} wait on the source: {}; the broker asks \
             their producer group for the outcome (CHECK_TRANSACTION_STATE) and a commit lands on the source: \
             keep those producers running through Ferry until they are ended",
            e.topic,
            on.join(", ")
        ));
    }
    if !cannot.is_empty() {
        said.push(format!(
            "whether half (prepared) transactional messages of {} wait on the source cannot be told: {} (if \
             the topic has no transactional producer, ignore this check with a reason)",
            e.topic,
            cannot.join("; ")
        ));
    }
    if said.is_empty() {
        Check::pass(
            NAME,
            format!(
                "no half (prepared) transactional message of {} waits on the {} source master(s)",
                e.topic,
                halves.len()
            ),
        )
    } else {
        Check::fail(NAME, said.join("; "))
    }
}

fn source_backlog_zero(e: &Evidence) -> Check {
    const NAME: &str = "source-backlog-zero";
    if let Err(c) = hear(e, NAME, &[Side::Source], "its backlog cannot be proved zero") {
        return c;
    }
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

/// POP messages handed out by the source and not acked: offsets do not show them (the broker
/// moves a POP group's offset when it hands messages out), and if never acked they come back,
/// after their invisible time, from the source's POP retry topic, which nobody reads after
/// Completed. Ferry's own ledger (`ferry_proxy::pop`): what went through its relays since it
/// started.
fn pop_in_flight(e: &Evidence) -> Check {
    const NAME: &str = "pop-in-flight";
    let mut out: Vec<String> = e
        .source_pop_in_flight
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(g, n)| format!("{g}: {n} message(s)"))
        .collect();
    // Silence is not zero: a ledger that restarted (or stopped) cannot say these came back.
    out.extend(e.source_pop_unknown_until.iter().filter(|(_, (until, _))| *until > e.now_ms).map(
        |(g, (until, by))| {
            format!(
                "{g}: messages {by} handed out may be out for {} s more (its ledger cannot tell)",
                (until - e.now_ms + 999) / 1000
            )
        },
    ));
    if out.is_empty() {
        Check::pass(NAME, "no POP message of the topic is handed out on the source and not acked")
    } else {
        Check::fail(
            NAME,
            format!(
                "POP messages handed out on the source and not acked yet: {} (acked, they are done; \
                 if not, they come back after their invisible time from the source's POP retry topic)",
                out.join("; ")
            ),
        )
    }
}

fn target_backlog_zero(e: &Evidence) -> Check {
    const NAME: &str = "target-backlog-zero";
    if let Err(c) = hear(e, NAME, &[Side::Target], "its backlog cannot be proved zero") {
        return c;
    }
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

    fn holder(client: &str, epoch: u64) -> RouteHolder {
        RouteHolder { client: client.into(), epoch, fetched_ms: 1_000_000, ..Default::default() }
    }

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
            route_epoch: 2,
            route_holders: vec![holder("10.0.0.5:5000", 2)],
            target_queues: ids(&["t:0", "t:1"]),
            source_halves: Some(vec![halves("broker-a", Ok(0))]),
            message_types: [(Side::Source, None), (Side::Target, None)].into(),
            policy: Some(TopicPolicy::at(Stage::Initial)),
            fleet: vec![member("ferry-1", InstanceState::Up, Some(TopicPolicy::at(Stage::Initial)), None)],
            ..Default::default()
        }
    }

    fn member(
        name: &str,
        state: InstanceState,
        serves: Option<TopicPolicy>,
        refuses: Option<bool>,
    ) -> FleetMember {
        FleetMember {
            name: name.into(),
            namesrv: format!("{name}:9876"),
            this: name == "ferry-1",
            heartbeat_age_ms: if state == InstanceState::Up { 1_000 } else { 45_000 },
            state,
            serves,
            front_refuses: refuses,
        }
    }

    #[test]
    fn the_first_step_needs_the_topics_message_type_kept_on_the_target() {
        let t = |s: Option<&str>| s.map(str::to_string);
        // (source, target, passes, words)
        #[rustfmt::skip]
        let table = [
            (None,          None,                true,  "the source has no message type (4.x); the target's is NORMAL"),
            (None,          Some("NORMAL"),      true,  "the target's is NORMAL"),
            (None,          Some("FIFO"),        false, "but the target's topic is FIFO"),
            (Some("FIFO"),  Some("FIFO"),        true,  "FIFO on both clusters"),
            (Some("NORMAL"), None,               true,  "NORMAL on both clusters"),
            (Some("FIFO"),  Some("NORMAL"),      false, "FIFO on the source but NORMAL on the target"),
            (Some("TRANSACTION"), None,          false, "TRANSACTION on the source but NORMAL on the target"),
        ];
        for (source, target, passes, words) in table {
            let mut e = evidence();
            e.message_types = [(Side::Source, t(source)), (Side::Target, t(target))].into();
            let c = gates(Stage::Initial, Stage::DualRead, &e)
                .into_iter()
                .find(|c| c.name == "message-type")
                .unwrap();
            assert_eq!(c.passed, passes, "{source:?} {target:?}: {}", c.detail);
            assert!(c.detail.contains(words), "{source:?} {target:?}: {}", c.detail);
        }
        // Not read (a cluster unheard): not proved.
        let mut e = evidence();
        e.message_types.clear();
        assert!(failing(&gates(Stage::Initial, Stage::DualRead, &e)).contains(&"message-type"));
    }

    #[test]
    fn a_step_waits_until_every_instance_serves_the_current_stage() {
        let at = |stage| Some(TopicPolicy::at(stage));
        let held = Some(TopicPolicy::at(Stage::DualReadWrite).held(Some(Side::Target)));
        let up = InstanceState::Up;
        let down = InstanceState::Down;
        // (the topic's policy in the store, the fleet, passes, words expected)
        let table: Vec<(Option<TopicPolicy>, Vec<FleetMember>, bool, &str)> = vec![
            (at(Stage::DualRead), vec![member("ferry-1", up, at(Stage::DualRead), None)], true, "serves DualRead: ferry-1"),
            (
                at(Stage::DualRead),
                vec![member("ferry-1", up, at(Stage::DualRead), None), member("ferry-2", up, at(Stage::Initial), None)],
                false,
                "ferry-2 still serves Initial",
            ),
            (
                held,
                vec![member("ferry-1", up, held, None), member("ferry-2", up, at(Stage::DualReadWrite), None)],
                false,
                "yet: ferry-2 still serves DualReadWrite",
            ),
            (held, vec![member("ferry-1", up, held, None)], true, "DualReadWrite (target write-only)"),
            (at(Stage::DualRead), vec![member("ferry-2", up, None, None)], false, "ferry-2 does not serve the topic yet"),
            // Down and nothing listens at its front: its clients cannot be on it.
            (
                at(Stage::DualRead),
                vec![member("ferry-1", up, at(Stage::DualRead), None), member("ferry-2", down, at(Stage::Initial), Some(true))],
                true,
                "ferry-2 is down (not heard for 45 s, its NameServer front at ferry-2:9876 refuses connections)",
            ),
            // Silence is not done: a front that still accepts, or does not answer at all.
            (
                at(Stage::DualRead),
                vec![member("ferry-1", up, at(Stage::DualRead), None), member("ferry-2", down, at(Stage::DualRead), Some(false))],
                false,
                "ferry-2 has not been heard for 45 s and its NameServer front at ferry-2:9876 still accepts connections",
            ),
            (
                at(Stage::DualRead),
                vec![member("ferry-1", up, at(Stage::DualRead), None), member("ferry-2", down, at(Stage::DualRead), None)],
                false,
                "does not answer: it may still serve clients (if it is gone for good, forget it: DELETE /api/fleet/ferry-2)",
            ),
            (at(Stage::DualRead), vec![], false, "no Ferry instance has said what it serves yet"),
            (None, vec![member("ferry-1", up, at(Stage::DualRead), None)], false, "not known"),
        ];
        for (policy, fleet, passes, words) in table {
            let e = Evidence { policy, fleet: fleet.clone(), ..Evidence::default() };
            let c = fleet_applied(&e);
            assert_eq!(c.passed, passes, "{fleet:?}: {}", c.detail);
            assert!(c.detail.contains(words), "{fleet:?}: {}", c.detail);
        }
        // Every forward step waits for the fleet; steps back do not.
        let mut e = evidence();
        e.fleet.push(member("ferry-2", up, None, None));
        for (from, to) in [
            (Stage::Initial, Stage::DualRead),
            (Stage::DualRead, Stage::DualReadWrite),
            (Stage::DualReadWrite, Stage::CuttingOver),
            (Stage::CuttingOver, Stage::Completed),
            (Stage::Completed, Stage::Direct),
        ] {
            e.policy = at(from);
            e.fleet[0].serves = at(from);
            assert!(failing(&gates(from, to, &e)).contains(&"fleet-applied"), "{from} -> {to}");
        }
        assert!(!failing(&gates(Stage::DualReadWrite, Stage::DualRead, &e)).contains(&"fleet-applied"));
    }

    fn halves(broker: &str, outstanding: Result<u64, &str>) -> SourceHalves {
        SourceHalves {
            broker: format!("source master {broker} (10.0.0.1:10911)"),
            outstanding: outstanding.map_err(str::to_string),
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
    fn a_group_with_remoting_and_grpc_consumers_is_named() {
        let mut e = evidence();
        let mixed = |e: &Evidence, from, to| {
            gates(from, to, e)
                .into_iter()
                .find(|c| c.name == "no-mixed-consumers")
                .map(|c| (c.passed, c.detail))
        };
        assert!(mixed(&e, Stage::Initial, Stage::DualRead).unwrap().0);
        // Popping through the relays, and registered with the source (c1, c2) by remoting heartbeats.
        e.source_poppers = ["billing".to_string()].into();
        let (passed, detail) = mixed(&e, Stage::Initial, Stage::DualRead).unwrap();
        assert!(!passed && detail.contains("billing (remoting: c1, c2)"), "{detail}");
        assert!(!mixed(&e, Stage::CuttingOver, Stage::Completed).unwrap().0, "its backlog cannot be told");
        assert!(mixed(&e, Stage::DualRead, Stage::DualReadWrite).is_none());
        // Remoting POP consumers are no-pop-consumers' to name.
        e.pop_groups = vec!["billing".into()];
        assert!(mixed(&e, Stage::Initial, Stage::DualRead).unwrap().0);
        // gRPC consumers only: nothing registered with the source.
        e.pop_groups.clear();
        e.source_consumers.clear();
        assert!(mixed(&e, Stage::Initial, Stage::DualRead).unwrap().0);
    }

    #[test]
    fn a_fifo_topic_in_strict_order_is_written_on_one_side_at_a_time() {
        let w = |v: &[(&str, i32)]| v.iter().map(|(b, n)| (b.to_string(), *n)).collect::<Vec<_>>();
        let t = |s: &str| Some(s.to_string());
        #[rustfmt::skip]
        let table = [
            // strict, type read on the source,    one side at a time
            (true,  Some(t("FIFO")),                true),
            (true,  Some(t("fifo")),                true),
            (true,  Some(t("NORMAL")),              false),
            (true,  Some(None),                     false), // 4.x: no type; remoting selectors hash % queues
            (true,  None,                           true),  // not read: one switch keeps any order
            (false, Some(t("FIFO")),                false),
        ];
        for (strict, source, one) in table {
            let mut e = evidence();
            e.strict_order = strict;
            e.message_types.remove(&Side::Source);
            if let Some(source) = source.clone() {
                e.message_types.insert(Side::Source, source);
            }
            assert_eq!(writes_one_side(&e), one, "strict {strict}, source type {source:?}");
        }

        // Queue counts and broker names do not matter when every message group moves at once.
        let mut e = evidence();
        e.strict_order = true;
        e.message_types = [(Side::Source, t("FIFO")), (Side::Target, t("FIFO"))].into();
        (e.source_writes, e.target_writes) = (w(&[("z", 4)]), w(&[("a", 8)]));
        let checks = gates(Stage::Initial, Stage::DualRead, &e);
        assert!(failing(&checks).is_empty(), "{checks:?}");
        let counts = checks.iter().find(|c| c.name == "ordered-queue-counts").unwrap();
        assert!(counts.detail.contains("one side at a time"), "{}", counts.detail);

        // A hold on (after CuttingOver -> DualReadWrite, the source held until the target is read):
        // every step waits for it, DualReadWrite -> DualRead too (no keys move, but the step would
        // end the hold); only the steps whose drain checks cover it do not.
        e.hold = Some(HoldEvidence {
            write_only: Side::Source,
            behind: Ok(vec!["billing at 1 of 2 on a:0".into()]),
        });
        let waits = |e: &Evidence, from, to| gates(from, to, e).iter().any(|c| c.name == ORDER_HOLD);
        for (from, to) in [
            (Stage::DualReadWrite, Stage::DualRead),
            (Stage::DualReadWrite, Stage::CuttingOver),
            (Stage::CuttingOver, Stage::DualReadWrite),
            (Stage::DualRead, Stage::DualReadWrite),
        ] {
            assert!(waits(&e, from, to), "{from} -> {to} waits for the hold");
        }
        assert!(
            !waits(&e, Stage::CuttingOver, Stage::Completed) && !waits(&e, Stage::DualRead, Stage::Initial)
        );
        e.hold = None;
        assert!(!waits(&e, Stage::DualReadWrite, Stage::CuttingOver), "no hold, nothing to wait for");
    }

    #[test]
    fn writes_move_only_after_every_consumer_took_every_target_queue() {
        let mut e = evidence();
        e.target_consumers = [("billing".to_string(), ids(&["c1"]))].into();
        e.target_committed = [("billing".to_string(), ids(&["t:0"]))].into();
        e.route_holders.push(holder("127.0.0.1:5000", 1));
        let checks = gates(Stage::DualRead, Stage::DualReadWrite, &e);
        assert_eq!(failing(&checks), ["route-settled", "consumers-on-target", "offsets-on-target"]);
        assert!(checks[2].detail.contains("billing: c2"), "{}", checks[2].detail);
        assert!(checks[3].detail.contains("billing on t:1"), "{}", checks[3].detail);

        e.target_consumers = [("billing".to_string(), ids(&["c1", "c2"]))].into();
        e.target_committed = [("billing".to_string(), ids(&["t:0", "t:1"]))].into();
        e.route_holders.pop();
        assert!(failing(&gates(Stage::DualRead, Stage::DualReadWrite, &e)).is_empty());
    }

    #[test]
    fn completion_waits_for_the_source_backlog_retry_topic_included() {
        let mut e = evidence();
        e.source_backlog = [("billing".to_string(), (0, 2))].into();
        let checks = gates(Stage::CuttingOver, Stage::Completed, &e);
        assert_eq!(failing(&checks), ["source-backlog-zero"]);
        assert!(checks[3].detail.contains("2 on its retry topic"));
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
        assert!(checks[2].detail.contains("2.0 s ago"), "{}", checks[2].detail);
    }

    #[test]
    fn delayed_messages_waiting_on_the_source_block_completion() {
        let mut e = evidence();
        e.source_delayed_pending = 3;
        e.source_timer_pending = Some(2);
        let checks = gates(Stage::CuttingOver, Stage::Completed, &e);
        assert_eq!(failing(&checks), ["source-scheduled-empty"]);
        let detail = &checks[4].detail;
        assert!(
            detail.contains("2 timer message(s) of orders") && detail.contains("3 delay-level"),
            "{detail}"
        );
    }

    /// Half (prepared) transactional messages of the topic on the source, as a table: what
    /// `source-half-messages` says for each.
    #[test]
    fn half_messages_waiting_on_the_source_block_completion() {
        const ACL: &str = "refused by 10.0.0.2:10911 (no permission: RMQ_SYS_TRANS_HALF_TOPIC)";
        struct Row {
            name: &'static str,
            halves: Option<Vec<SourceHalves>>,
            unheard: Vec<Unheard>,
            passes: bool,
            says: &'static [&'static str],
        }
        #[rustfmt::skip]
        let rows = vec![
            Row { name: "none prepared on any master",
                halves: Some(vec![halves("broker-a", Ok(0)), halves("broker-b", Ok(0))]), unheard: vec![],
                passes: true, says: &["no half (prepared) transactional message of orders waits on the 2 source master(s)"] },
            Row { name: "halves waiting: the broker and its count named",
                halves: Some(vec![halves("broker-a", Ok(0)), halves("broker-b", Ok(3))]), unheard: vec![],
                passes: false, says: &["3 half (prepared) transactional message(s) of orders wait on the source: 3 on source master broker-b (10.0.0.1:10911)", "CHECK_TRANSACTION_STATE"] },
            Row { name: "halves on two masters: summed, each named",
                halves: Some(vec![halves("broker-a", Ok(2)), halves("broker-b", Ok(5))]), unheard: vec![],
                passes: false, says: &["7 half (prepared)", "2 on source master broker-a", "5 on source master broker-b"] },
            Row { name: "a master that cannot tell (ACL): fails with its reason, to be ignored with one",
                halves: Some(vec![halves("broker-a", Ok(0)), halves("broker-b", Err(ACL))]), unheard: vec![],
                passes: false, says: &["cannot be told: source master broker-b (10.0.0.1:10911): refused by 10.0.0.2:10911", "ignore this check with a reason"] },
            Row { name: "waiting on one, cannot tell on the other: both said",
                halves: Some(vec![halves("broker-a", Ok(1)), halves("broker-b", Err(ACL))]), unheard: vec![],
                passes: false, says: &["1 on source master broker-a", "cannot be told: source master broker-b"] },
            Row { name: "an unheard source master: silence is not zero",
                halves: Some(vec![halves("broker-a", Ok(0))]), unheard: vec![down(Side::Source, "broker-b")],
                passes: false, says: &["source master broker-b (10.0.0.1:10911) is not registered with the NameServer: its half (prepared) transactional messages cannot be counted"] },
            Row { name: "an unheard target master plays no part",
                halves: Some(vec![halves("broker-a", Ok(0))]), unheard: vec![down(Side::Target, "broker-b")],
                passes: true, says: &["waits on the 1 source master(s)"] },
            Row { name: "not read at all: never a pass",
                halves: None, unheard: vec![],
                passes: false, says: &["were not read"] },
        ];
        for row in rows {
            let mut e = evidence();
            e.source_halves = row.halves;
            e.unheard = row.unheard;
            let check = source_half_messages(&e);
            assert_eq!(check.name, SOURCE_HALF_MESSAGES);
            assert_eq!(check.passed, row.passes, "{}: {}", row.name, check.detail);
            for said in row.says {
                assert!(check.detail.contains(said), "{}: {:?} not in {}", row.name, said, check.detail);
            }
        }
        let mut e = evidence();
        e.source_halves = Some(vec![halves("broker-a", Ok(4))]);
        assert_eq!(failing(&gates(Stage::CuttingOver, Stage::Completed, &e)), [SOURCE_HALF_MESSAGES]);
        for (from, to) in [
            (Stage::Initial, Stage::DualRead),
            (Stage::DualRead, Stage::DualReadWrite),
            (Stage::DualReadWrite, Stage::CuttingOver),
            (Stage::Completed, Stage::Direct),
            (Stage::CuttingOver, Stage::DualReadWrite),
        ] {
            assert!(gates(from, to, &e).iter().all(|c| c.name != SOURCE_HALF_MESSAGES), "{from} -> {to}");
        }
    }

    #[test]
    fn a_freshly_started_ferry_waits_before_calling_a_route_settled() {
        let mut e = evidence();
        e.route_warming_up = Some(42);
        let checks = gates(Stage::DualRead, Stage::DualReadWrite, &e);
        assert!(checks[1].detail.contains("waiting 42 s"), "{}", checks[1].detail);
        assert!(!checks[1].passed);
    }

    #[test]
    fn direct_waits_for_every_topic_of_the_target_and_its_way_back_is_free() {
        let mut e = evidence();
        assert!(failing(&gates(Stage::Completed, Stage::Direct, &e)).is_empty());
        e.undone_topics = vec![("payments".into(), Stage::DualReadWrite)];
        let checks = gates(Stage::Completed, Stage::Direct, &e);
        assert_eq!(failing(&checks), ["migration-done"]);
        let detail = &checks.iter().find(|c| !c.passed).unwrap().detail;
        assert!(detail.contains("payments (DualReadWrite)"), "{detail}");
        e.unheard = vec![down(Side::Target, "broker-a"), down(Side::Source, "broker-b")];
        assert!(gates(Stage::Direct, Stage::Completed, &e).is_empty(), "back to the relays is never stopped");
    }

    #[test]
    fn rolling_back_to_initial_refuses_to_strand_target_messages() {
        let mut e = evidence();
        e.target_backlog = [("billing".to_string(), 5)].into();
        assert_eq!(failing(&gates(Stage::DualRead, Stage::Initial, &e)), ["target-backlog-zero"]);
        assert!(gates(Stage::CuttingOver, Stage::DualReadWrite, &e).is_empty(), "other rollbacks are free");
    }

    fn down(side: Side, broker: &str) -> Unheard {
        Unheard {
            side,
            what: format!("{side} master {broker} (10.0.0.1:10911)"),
            why: "is not registered with the NameServer".into(),
        }
    }

    /// Every gate, with a source master and then a target master unheard: which checks fail.
    /// What is not heard never counts as empty.
    #[test]
    fn completed_waits_for_pop_messages_handed_out_on_the_source() {
        // Per group on the source: the check's verdict and what its words must name.
        type Row = (&'static [(&'static str, u64)], bool, &'static str);
        #[rustfmt::skip]
        let table: [Row; 4] = [
            (&[],                            true,  "no POP message"),
            (&[("billing", 0)],              true,  "no POP message"),
            (&[("billing", 3)],              false, "billing: 3 message(s)"),
            (&[("billing", 1), ("audit", 2)], false, "audit: 2 message(s); billing: 1 message(s)"),
        ];
        for (in_flight, passes, says) in table {
            let mut e = evidence();
            e.target_consumers = e.source_consumers.clone();
            e.source_pop_in_flight = in_flight.iter().map(|(g, n)| (g.to_string(), *n)).collect();
            let checks = gates(Stage::CuttingOver, Stage::Completed, &e);
            let c = checks.iter().find(|c| c.name == "pop-in-flight").expect("guards Completed");
            assert_eq!(c.passed, passes, "{in_flight:?}: {}", c.detail);
            assert!(c.detail.contains(says), "{in_flight:?}: {}", c.detail);
            let others: Vec<&str> = checks
                .iter()
                .filter(|c| !c.passed && c.name != "pop-in-flight")
                .map(|c| c.name.as_str())
                .collect();
            assert!(others.is_empty(), "only the ledger blocks: {others:?}");
        }
        // What a restarted or down instance handed out is out until its invisible time has passed.
        let mut e = evidence();
        e.target_consumers = e.source_consumers.clone();
        e.now_ms = 1_000_000;
        e.source_pop_unknown_until =
            [("billing".to_string(), (1_030_000, "Ferry 127.0.0.2:9876 before it restarted".to_string()))]
                .into();
        let c = gates(Stage::CuttingOver, Stage::Completed, &e)
            .into_iter()
            .find(|c| c.name == "pop-in-flight")
            .unwrap();
        assert!(!c.passed);
        assert!(
            c.detail.contains("billing: messages Ferry 127.0.0.2:9876 before it restarted handed out may be out for 30 s more"),
            "{}",
            c.detail
        );
        e.now_ms = 1_030_001;
        assert!(gates(Stage::CuttingOver, Stage::Completed, &e).iter().all(|c| c.passed), "past it");
        // Only the step into Completed asks.
        let mut e = evidence();
        e.source_pop_in_flight = [("billing".to_string(), 3)].into();
        for (from, to) in
            [(Stage::DualRead, Stage::DualReadWrite), (Stage::DualReadWrite, Stage::CuttingOver)]
        {
            assert!(gates(from, to, &e).iter().all(|c| c.name != "pop-in-flight"), "{from} -> {to}");
        }
    }

    #[test]
    fn a_broker_not_heard_from_fails_every_check_that_needs_its_side_naming_it() {
        let steps = [
            (Stage::Initial, Stage::DualRead),
            (Stage::DualRead, Stage::DualReadWrite),
            (Stage::DualReadWrite, Stage::CuttingOver),
            (Stage::CuttingOver, Stage::Completed),
            (Stage::Completed, Stage::Direct),
            (Stage::DualRead, Stage::Initial),
        ];
        #[rustfmt::skip]
        let table: [(Side, [&[&str]; 6]); 2] = [
            (Side::Source, [
                &["clusters-reachable", "topic-on-source", "clients-through-ferry", "no-pop-consumers", "no-mixed-consumers"],
                &["clusters-reachable", "consumers-on-target"],
                &["clusters-reachable", "consumers-on-target"],
                &["clusters-reachable", "source-writes-stopped", "source-backlog-zero", "source-scheduled-empty", "source-half-messages", "no-mixed-consumers"],
                // The source plays no part once Completed.
                &[],
                &[],
            ]),
            (Side::Target, [
                &["clusters-reachable", "topic-on-target", "groups-on-target", "no-direct-consumers-on-target", "no-pop-consumers"],
                &["clusters-reachable", "consumers-on-target", "offsets-on-target"],
                &["clusters-reachable", "consumers-on-target"],
                &["clusters-reachable"],
                &["target-reachable"],
                &["target-backlog-zero"],
            ]),
        ];
        for (side, expected) in table {
            let mut e = evidence();
            e.target_consumers = e.source_consumers.clone();
            e.target_committed = [("billing".to_string(), ids(&["t:0", "t:1"]))].into();
            for (from, to) in steps {
                assert!(failing(&gates(from, to, &e)).is_empty(), "{from} -> {to} passes with all heard");
            }
            e.unheard = vec![down(side, "broker-a")];
            for ((from, to), want) in steps.into_iter().zip(expected) {
                let checks = gates(from, to, &e);
                assert_eq!(failing(&checks), want, "{side} master down, {from} -> {to}");
                for c in checks.iter().filter(|c| !c.passed) {
                    assert!(
                        c.detail
                            .contains(&format!("{side} master broker-a (10.0.0.1:10911) is not registered")),
                        "{}",
                        c.detail
                    );
                }
            }
        }
    }

    #[test]
    fn the_headline_case_a_source_master_down_at_cutting_over_is_refused_by_name() {
        let mut e = evidence();
        e.unheard = vec![down(Side::Source, "broker-a")];
        // What the reachable master says (nothing owed) proves nothing about broker-a.
        e.source_backlog = [("billing".to_string(), (0, 0))].into();
        let checks = gates(Stage::CuttingOver, Stage::Completed, &e);
        let backlog = checks.iter().find(|c| c.name == "source-backlog-zero").unwrap();
        assert!(!backlog.passed);
        assert_eq!(
            backlog.detail,
            "source master broker-a (10.0.0.1:10911) is not registered with the NameServer: its backlog cannot \
             be proved zero"
        );
    }

    #[test]
    fn settled_means_every_client_of_the_topic_has_the_current_route_however_long_ago_it_asked() {
        let mut e = evidence();
        e.now_ms = 1_012_000;
        // Asked long ago (no window): still holds the old route, with its cadence learnt.
        e.route_holders.push(RouteHolder {
            client: "10.0.0.7:6000".into(),
            epoch: 1,
            stage: Some(Stage::DualRead),
            fetched_ms: 1_000_000,
            every_ms: Some(30_000),
        });
        let c = route_settled(&e);
        assert!(!c.passed);
        assert!(
            c.detail
                .contains("10.0.0.7:6000 has the DualRead route (asks every ~30 s, next expected in 18 s)"),
            "{}",
            c.detail
        );
        e.route_holders.pop();
        // A client the relays saw use the topic, from a host that has not asked since the change.
        e.topic_users = vec![TopicUser { client_id: "10.0.0.9@1".into(), host: "10.0.0.9".into() }];
        let c = route_settled(&e);
        assert!(!c.passed && c.detail.contains("10.0.0.9@1 uses the topic"), "{}", c.detail);
        e.route_holders.push(holder("10.0.0.9:7000", 2));
        assert!(route_settled(&e).passed, "{}", route_settled(&e).detail);
    }

    #[test]
    fn a_strict_order_hold_that_cannot_read_a_queue_is_not_released() {
        let mut e = evidence();
        e.target_consumers = e.source_consumers.clone();
        e.hold = Some(HoldEvidence {
            write_only: Side::Target,
            behind: Err(
                "source master broker-a (10.0.0.1:10911) is not registered with the NameServer".into()
            ),
        });
        let checks = gates(Stage::DualReadWrite, Stage::CuttingOver, &e);
        let hold = checks.iter().find(|c| c.name == "order-hold").unwrap();
        assert!(!hold.passed && hold.detail.contains("broker-a"), "{}", hold.detail);
        e.hold = Some(HoldEvidence {
            write_only: Side::Target,
            behind: Ok(vec!["billing at 3 of 9 on a:0".into()]),
        });
        assert_eq!(failing(&gates(Stage::DualReadWrite, Stage::CuttingOver, &e)), ["order-hold"]);
        e.hold = Some(HoldEvidence { write_only: Side::Target, behind: Ok(vec![]) });
        assert!(failing(&gates(Stage::DualReadWrite, Stage::CuttingOver, &e)).is_empty());
        assert!(
            gates(Stage::CuttingOver, Stage::Completed, &e).iter().all(|c| c.name != "order-hold"),
            "only steps that move keys wait for a hold"
        );
    }
}
