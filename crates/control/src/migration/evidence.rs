//! Gathering what the health checks look at: both clusters through their admin APIs, and Ferry's
//! own proxy (who came through it, who has which route).
//!
//! Every side is read over the brokers the migration expects there (recorded in the store, never
//! shrunk by a broker disappearing), not over the masters the NameServer happens to list now: a
//! master that is down, or a call that fails, is recorded as unheard, and the checks that need
//! that side fail naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferry_admin::{Admin, AdminError, Cluster, OutstandingHalves};
use ferry_proxy::{Proxy, Side, Stage};
use ferry_remoting::ResponseCode;

use crate::migration::checks::{Evidence, HoldEvidence, RouteHolder, SourceHalves, TopicUser, Unheard};
use crate::migration::model::{Hold, MigrationBroker, MigrationTopic};

/// The two clusters of a migration, connected.
pub struct Clusters {
    pub source: Admin,
    pub target: Admin,
    pub source_cluster: String,
    pub target_cluster: String,
}

impl Clusters {
    pub async fn source_layout(&self) -> Result<Cluster, AdminError> {
        self.source.cluster(&self.source_cluster).await
    }

    pub async fn target_layout(&self) -> Result<Cluster, AdminError> {
        self.target.cluster(&self.target_cluster).await
    }

    pub fn admin(&self, side: Side) -> &Admin {
        match side {
            Side::Source => &self.source,
            Side::Target => &self.target,
        }
    }

    pub async fn layout(&self, side: Side) -> Result<Cluster, AdminError> {
        match side {
            Side::Source => self.source_layout().await,
            Side::Target => self.target_layout().await,
        }
    }
}

/// The masters registered now, as `(broker name, address)`: what the store notes as expected.
pub fn registered_masters(layout: &Cluster) -> Vec<(String, String)> {
    layout.masters().map(|(name, addr)| (name.to_string(), addr.to_string())).collect()
}

/// One side's layout and the expected brokers it lacks. The layout is `None` when the side's
/// NameServers cannot be read at all.
pub struct Hearing {
    pub side: Side,
    pub layout: Option<Cluster>,
    pub unheard: Vec<Unheard>,
}

impl Hearing {
    /// Reads the side's layout and names each expected (not forgotten) broker without a master
    /// registered. A master down with its slave up is unheard too: the slave cannot prove that
    /// nothing more will be written, and backlog and offsets come from masters.
    pub async fn of(clusters: &Clusters, side: Side, expected: &[MigrationBroker]) -> Hearing {
        let layout = match clusters.layout(side).await {
            Ok(l) => l,
            Err(e) => {
                let unheard = vec![Unheard { side, what: format!("{side} NameServer"), why: e.to_string() }];
                return Hearing { side, layout: None, unheard };
            }
        };
        let unheard = expected
            .iter()
            .filter(|b| b.side == side && b.forgotten.is_none())
            .filter_map(|b| {
                let registered = layout.brokers.iter().find(|r| r.name == b.name);
                let why = match registered {
                    Some(r) if r.master.is_some() => return None,
                    Some(r) if !r.slaves.is_empty() => {
                        "has no master registered (a slave cannot prove that nothing more will be written)"
                    }
                    _ => "is not registered with the NameServer",
                };
                Some(Unheard { side, what: master_label(side, &b.name, b.addr.as_deref()), why: why.into() })
            })
            .collect();
        Hearing { side, layout: Some(layout), unheard }
    }

    /// The layout, when every expected broker is registered.
    pub fn complete(&self) -> Option<&Cluster> {
        self.layout.as_ref().filter(|_| self.unheard.is_empty())
    }

    /// A call on this side failed: names the broker it went to (or the NameServer).
    fn failed(&mut self, e: &AdminError) {
        let side = self.side;
        let broker = e.addr().and_then(|addr| {
            self.layout
                .iter()
                .flat_map(|l| l.brokers.iter())
                .find(|b| b.master.as_deref() == Some(addr))
                .map(|b| b.name.clone())
        });
        let what = match broker {
            Some(name) => master_label(side, &name, None),
            None => format!("{side} cluster"),
        };
        self.unheard.push(Unheard { side, what, why: format!("did not answer: {e}") });
    }

    pub fn say(&self) -> String {
        self.unheard.iter().map(|u| format!("{} {}", u.what, u.why)).collect::<Vec<_>>().join("; ")
    }
}

fn master_label(side: Side, name: &str, addr: Option<&str>) -> String {
    match addr {
        Some(addr) => format!("{side} master {name} ({addr})"),
        None => format!("{side} master {name}"),
    }
}

/// A topic's queues on one side: readable ones as `broker:queue`, and write queues per broker.
struct SideQueues {
    read: BTreeSet<String>,
    writes: Vec<(String, i32)>,
}

/// The topic's queues on a side; `None` when it does not exist there.
async fn queues(admin: &Admin, topic: &str) -> Result<Option<SideQueues>, AdminError> {
    match admin.topic_route(topic).await {
        Ok(route) => Ok(Some(SideQueues {
            read: route
                .queue_datas
                .iter()
                .flat_map(|q| (0..q.read_queue_nums).map(move |i| format!("{}:{i}", q.broker_name)))
                .collect(),
            writes: route.queue_datas.iter().map(|q| (q.broker_name.clone(), q.write_queue_nums)).collect(),
        })),
        Err(AdminError::Refused { code, .. }) if code == ResponseCode::TOPIC_NOT_EXIST => Ok(None),
        Err(e) => Err(e),
    }
}

/// Client ids of `group`'s consumers on every master of `cluster`.
pub(crate) async fn consumers(
    admin: &Admin,
    cluster: &Cluster,
    group: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let mut ids = BTreeSet::new();
    for (_, master) in cluster.masters() {
        ids.extend(
            admin.consumer_connections(master, group).await?.connection_set.into_iter().map(|c| c.client_id),
        );
    }
    Ok(ids)
}

/// Whether some consumer of `group` on `cluster` pops messages (5.x POP): the broker assigns it
/// queues itself, so routes cannot steer it.
async fn pops(admin: &Admin, cluster: &Cluster, group: &str) -> Result<bool, AdminError> {
    for (_, master) in cluster.masters() {
        let c = admin.consumer_connections(master, group).await?;
        if c.consume_type.as_deref() == Some("CONSUME_POP") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How long after its last relay connection closed a silent client counts as gone: two of the
/// Java client's 30-second heartbeat rounds.
pub(crate) const CLIENT_GONE_AFTER: Duration = Duration::from_secs(60);

/// What Ferry itself knows of a topic's route: its epoch, every open client connection that
/// fetched it, and every client the relays saw use it. No cluster is asked.
pub fn route_view(proxy: &Proxy, topic: &str) -> (u64, Vec<RouteHolder>, Vec<TopicUser>) {
    let epoch = proxy.stages.get(topic).map_or(0, |v| v.epoch);
    let millis = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    };
    let holders = proxy
        .routes
        .holders(topic)
        .into_iter()
        .map(|f| RouteHolder {
            client: f.client,
            epoch: f.epoch,
            stage: f.stage,
            fetched_ms: millis(f.at),
            every_ms: f.every.map(|d| d.as_millis() as i64),
        })
        .collect();
    // A client whose relay connections all closed a while ago has left: it drops out.
    let left = |c: &ferry_proxy::ClientRecord| {
        !c.connected() && c.last_seen.elapsed().is_ok_and(|d| d > CLIENT_GONE_AFTER)
    };
    let users = proxy
        .registry
        .clients_of_topic(topic)
        .into_iter()
        .filter(|c| !left(c))
        .map(|c| TopicUser {
            host: c.addr.rsplit_once(':').map_or(c.addr.as_str(), |(h, _)| h).to_string(),
            client_id: c.client_id,
        })
        .collect();
    (epoch, holders, users)
}

/// The source side's part of the evidence.
async fn gather_source(
    admin: &Admin,
    layout: &Cluster,
    topic: &MigrationTopic,
    e: &mut Evidence,
) -> Result<(), AdminError> {
    let name = topic.topic.as_str();
    let source_queues = queues(admin, name).await?;
    e.on_source = source_queues.is_some();
    e.source_writes = source_queues.map(|q| q.writes).unwrap_or_default();
    e.source_last_write_ms = admin.topic_writes(layout, name).await?.last_write_ms;
    for (_, master) in layout.masters() {
        e.source_delayed_pending += admin.pending_delayed(master).await?;
        if let Some(n) = admin.pending_timer(master, name).await? {
            *e.source_timer_pending.get_or_insert(0) += n;
        }
    }
    // Only the step out of CuttingOver needs them, and reading them reads every half message the
    // broker still checks.
    if topic.stage == Stage::CuttingOver {
        e.source_halves = Some(source_halves(admin, layout, name).await?);
    }
    for group in &topic.groups {
        if pops(admin, layout, group).await? && !e.pop_groups.contains(group) {
            e.pop_groups.push(group.clone());
        }
        e.source_consumers.insert(group.clone(), consumers(admin, layout, group).await?);
        // A group that pops on the source also owes what the broker revived into its POP retry
        // topics (`%RETRY%group_topic`, `%RETRY%group+topic`): asked for only when the relays saw
        // it pop there (no such topic before 5.x).
        let mut retries = vec![format!("%RETRY%{group}")];
        if e.source_poppers.contains(group) {
            retries.extend(ferry_proxy::pop::pop_retry_topics(group, name));
        }
        let topics: BTreeSet<String> =
            std::iter::once(name.to_string()).chain(retries.iter().cloned()).collect();
        let owed = admin.group_backlog(layout, group, &topics).await?;
        let retry_backlog = retries.iter().map(|r| owed.backlog_of_topic(r)).sum();
        e.source_backlog.insert(group.clone(), (owed.backlog_of_topic(name), retry_backlog));
    }
    Ok(())
}

/// Half (prepared) transactional messages of `topic` on every registered source master. A broker
/// that fails to answer is an error (it is then unheard); one that does not let Ferry tell is a
/// reason, kept with the broker.
async fn source_halves(
    admin: &Admin,
    layout: &Cluster,
    topic: &str,
) -> Result<Vec<SourceHalves>, AdminError> {
    let mut halves = Vec::new();
    for (broker, master) in layout.masters() {
        let outstanding = match admin.outstanding_halves(master).await? {
            known @ OutstandingHalves::Known { .. } => Ok(known.of_topic(topic).unwrap_or(0)),
            OutstandingHalves::CannotTell { reason } => Err(reason),
        };
        halves.push(SourceHalves { broker: master_label(Side::Source, broker, Some(master)), outstanding });
    }
    Ok(halves)
}

/// The target side's part of the evidence.
async fn gather_target(
    admin: &Admin,
    layout: &Cluster,
    topic: &MigrationTopic,
    expected: &[MigrationBroker],
    e: &mut Evidence,
) -> Result<(), AdminError> {
    let name = topic.topic.as_str();
    let target_queues = queues(admin, name).await?;
    e.on_target = target_queues.is_some();
    if let Some(q) = target_queues {
        e.target_writes = q.writes;
        e.target_queues = q.read;
    }
    // Producers list queues by the names they are shown (a target broker may have an alias).
    for (broker, _) in &mut e.target_writes {
        if let Some(alias) = expected
            .iter()
            .find(|b| b.side == Side::Target && &b.name == broker)
            .and_then(|b| b.alias.clone())
        {
            *broker = alias;
        }
    }
    let groups: BTreeSet<String> = admin.group_names(layout).await?.into_iter().collect();
    e.groups_missing_on_target = topic.groups.iter().filter(|g| !groups.contains(*g)).cloned().collect();
    for (broker, master) in layout.masters() {
        for ((of, group), queues) in admin.committed_offsets(master).await? {
            if of == name {
                e.target_committed
                    .entry(group)
                    .or_default()
                    .extend(queues.keys().map(|q| format!("{broker}:{q}")));
            }
        }
    }
    for group in &topic.groups {
        if pops(admin, layout, group).await? && !e.pop_groups.contains(group) {
            e.pop_groups.push(group.clone());
        }
        e.target_consumers.insert(group.clone(), consumers(admin, layout, group).await?);
        let retry = format!("%RETRY%{group}");
        let owed = admin.group_backlog(layout, group, &[name.to_string(), retry.clone()].into()).await?;
        e.target_backlog.insert(group.clone(), owed.backlog_of_topic(name) + owed.backlog_of_topic(&retry));
    }
    Ok(())
}

/// Everything the checks of `topic` look at. Never fails: what cannot be read is recorded as
/// unheard, and the checks that need it fail naming it.
pub async fn gather(
    clusters: &Clusters,
    proxy: &Proxy,
    topic: &MigrationTopic,
    expected: &[MigrationBroker],
    route_window: Duration,
    warming_up: Option<u64>,
    fleet_poppers: BTreeSet<String>,
) -> Evidence {
    let mut e = Evidence {
        topic: topic.topic.clone(),
        groups: topic.groups.clone(),
        strict_order: topic.strict_order,
        stage_since_ms: topic.updated_at.timestamp_millis(),
        through_ferry: proxy.registry.clients().into_iter().map(|c| c.client_id).collect(),
        route_warming_up: warming_up,
        quiet_ms: route_window.as_millis().min(30_000) as i64 / 3,
        now_ms: chrono::Utc::now().timestamp_millis(),
        ..Evidence::default()
    };
    (e.route_epoch, e.route_holders, e.topic_users) = route_view(proxy, &topic.topic);
    // What only Ferry's relays know: the groups that pop, and the POP messages handed out on the
    // source and not acked yet (offsets do not show them).
    e.source_poppers = proxy
        .pops
        .poppers(&topic.topic)
        .into_iter()
        .filter(|(side, _)| *side == Side::Source)
        .map(|(_, g)| g)
        .chain(fleet_poppers)
        .collect();
    e.source_pop_in_flight = proxy.pops.in_flight(Side::Source, &topic.topic, std::time::Instant::now());

    for side in [Side::Source, Side::Target] {
        let mut hearing = Hearing::of(clusters, side, expected).await;
        if let Some(layout) = hearing.layout.clone() {
            let admin = clusters.admin(side);
            let mut read = match side {
                Side::Source => gather_source(admin, &layout, topic, &mut e).await,
                Side::Target => gather_target(admin, &layout, topic, expected, &mut e).await,
            };
            // Only the first step compares them: the topic's type does not change on the way.
            if read.is_ok() && topic.stage == Stage::Initial {
                match message_type(admin, &layout, &topic.topic).await {
                    Ok(t) => {
                        e.message_types.insert(side, t);
                    }
                    Err(err) => read = Err(err),
                }
            }
            if let Err(err) = read {
                hearing.failed(&err);
            }
            e.heard.insert(side, registered_masters(&layout).into_iter().map(|(n, _)| n).collect());
        }
        e.unheard.extend(hearing.unheard);
    }

    if let Some(hold) = &topic.hold {
        let behind = hold_behind(clusters, topic, hold, expected).await;
        e.hold = Some(HoldEvidence { write_only: hold.write_only, behind });
    }
    e
}

/// The topic's `message.type` on a cluster (5.x topic attribute), as the first master holding the
/// topic keeps it (a topic may live on some masters only); `None` when it has none (4.x, or a
/// topic made without one) or no master holds it (`topic-on-*` says so).
async fn message_type(admin: &Admin, layout: &Cluster, topic: &str) -> Result<Option<String>, AdminError> {
    for (_, master) in layout.masters() {
        if let Some(config) = admin.topic_configs(master).await?.get(topic) {
            return Ok(config.attributes.get("message.type").cloned());
        }
    }
    Ok(None)
}

/// The side a hold waits for: the one keys moved away from, read up to the barrier.
fn read_side(hold: &Hold) -> Side {
    match hold.write_only {
        Side::Target => Side::Source,
        Side::Source => Side::Target,
    }
}

/// The max offsets of every queue of the topic on the side a hold waits for. Refused while any
/// expected broker of that side is unheard: a barrier must cover every queue the topic has there.
pub async fn take_barrier(
    clusters: &Clusters,
    topic: &str,
    hold: &Hold,
    expected: &[MigrationBroker],
) -> Result<BTreeMap<String, i64>, String> {
    let side = read_side(hold);
    let mut hearing = Hearing::of(clusters, side, expected).await;
    let Some(layout) = hearing.complete().cloned() else { return Err(hearing.say()) };
    let admin = clusters.admin(side);
    let mut barrier = BTreeMap::new();
    for (broker, master) in layout.masters() {
        match admin.topic_stats(master, topic).await {
            Ok(stats) => {
                for (q, o) in &stats.offset_table {
                    barrier.insert(format!("{broker}:{}", q.queue_id), o.max_offset);
                }
            }
            Err(e) => {
                hearing.failed(&e);
                return Err(hearing.say());
            }
        }
    }
    Ok(barrier)
}

/// Queues of the side a hold waits for that some group has not read up to the barrier, in words.
/// `Err` while that side cannot be read in full: a queue Ferry cannot read blocks the release.
/// Queues of a broker the operator forgot no longer count.
pub async fn hold_behind(
    clusters: &Clusters,
    t: &MigrationTopic,
    hold: &Hold,
    expected: &[MigrationBroker],
) -> Result<Vec<String>, String> {
    let side = read_side(hold);
    let mut hearing = Hearing::of(clusters, side, expected).await;
    let Some(layout) = hearing.complete().cloned() else { return Err(hearing.say()) };
    let Some(barrier) = &hold.barrier else {
        return Ok(vec!["waiting for every client to take the new route".into()]);
    };
    let forgotten: BTreeSet<&str> = expected
        .iter()
        .filter(|b| b.side == side && b.forgotten.is_some())
        .map(|b| b.name.as_str())
        .collect();
    let registered: BTreeSet<&str> = layout.masters().map(|(name, _)| name).collect();
    let admin = clusters.admin(side);
    let mut committed: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (broker, master) in layout.masters() {
        let offsets = match admin.committed_offsets(master).await {
            Ok(o) => o,
            Err(e) => {
                hearing.failed(&e);
                return Err(hearing.say());
            }
        };
        for ((of, group), queues) in offsets {
            if of == t.topic {
                for (q, offset) in queues {
                    committed.insert((group.clone(), format!("{broker}:{q}")), offset);
                }
            }
        }
    }
    let mut behind = Vec::new();
    for (queue, max) in barrier.iter().filter(|(_, max)| **max > 0) {
        let broker = queue.rsplit_once(':').map_or(queue.as_str(), |(b, _)| b);
        if forgotten.contains(broker) {
            continue;
        }
        if !registered.contains(broker) {
            return Err(format!(
                "{side} master {broker} of the barrier is not registered with the NameServer"
            ));
        }
        for group in &t.groups {
            let at = committed.get(&(group.clone(), queue.clone())).copied().unwrap_or(0);
            if at < *max {
                behind.push(format!("{group} at {at} of {max} on {queue}"));
            }
        }
    }
    Ok(behind)
}

/// Consumer groups that have taken `topic` on the source (a committed offset on any master):
/// the default set of groups a topic's checks cover.
pub async fn groups_of_topic(clusters: &Clusters, topic: &str) -> Result<Vec<String>, AdminError> {
    let source = clusters.source_layout().await?;
    let mut groups = BTreeSet::new();
    for (_, master) in source.masters() {
        for (of, group) in clusters.source.committed_offsets(master).await?.into_keys() {
            if of == topic {
                groups.insert(group);
            }
        }
    }
    Ok(groups.into_iter().collect())
}
