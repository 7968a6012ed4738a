//! This instance in a fleet of Ferry instances sharing the store (see `crate::fleet`): its
//! heartbeat and view, the step lease, what the checks are told of the other instances, and the
//! fleet as the API lists it.

use std::time::Instant;

use ferry_proxy::ClientRecord;

use super::*;
use crate::fleet::{FleetMember, Instance, InstanceState, InstanceView, ServedTopic, STEP_LEASE};
use crate::migration::checks::{RouteHolder, TopicUser};

/// How long a down instance's NameServer front is given to accept or refuse a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// An instance of the fleet as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetInstance {
    pub name: String,
    pub namesrv: String,
    pub api: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    pub heartbeat_age_secs: i64,
    pub state: crate::fleet::InstanceState,
    /// This is the instance answering.
    pub this: bool,
    /// Clients its relays saw.
    pub clients: usize,
    pub topics: Vec<FleetTopic>,
}

/// A topic as an instance serves it, and whether that is the stage the store says.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetTopic {
    pub migration: MigrationId,
    pub topic: String,
    pub stage: Stage,
    pub write_only: Option<Side>,
    pub applied: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fleet {
    /// The instance answering.
    #[serde(rename = "self")]
    pub this: String,
    pub instances: Vec<FleetInstance>,
}

fn state_of(age_ms: i64, down_after: Duration) -> InstanceState {
    if age_ms <= down_after.as_millis() as i64 {
        InstanceState::Up
    } else {
        InstanceState::Down
    }
}

/// Whether anything listens at `addr`: `Some(false)` when it accepts, `Some(true)` when it
/// refuses, `None` when it cannot be told (no answer, an address that does not resolve).
async fn refuses(addr: &str) -> Option<bool> {
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Some(false),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(true),
        _ => None,
    }
}

/// How long a down instance's probe answer is reused: every topic's periodic check asks, and a
/// front that does not answer costs a second each time.
const PROBE_REUSE: Duration = Duration::from_secs(5);

impl Engine {
    /// [`refuses`], asked at most every few seconds per address.
    async fn front_refuses(&self, addr: &str) -> Option<bool> {
        if let Some((at, answer)) = self.probes.lock().expect("probes lock").get(addr) {
            if at.elapsed() < PROBE_REUSE {
                return *answer;
            }
        }
        let answer = refuses(addr).await;
        self.probes.lock().expect("probes lock").insert(addr.to_string(), (Instant::now(), answer));
        answer
    }

    pub fn instance(&self) -> &str {
        &self.fleet.instance
    }

    /// What this instance serves now: every topic of the migrations in its stage table, with
    /// the route holders of its front, and the clients its relays saw.
    async fn view(&self) -> Result<InstanceView, EngineError> {
        let mut topics = Vec::new();
        // Only migrations this front answers routes for: a stage without its clusters serves nothing.
        for m in self.store.migrations().await?.into_iter().filter(|m| self.fronts(m.id)) {
            for t in self.store.migration_topics(m.id).await? {
                let Some(v) = self.proxy.stages.get(&t.topic) else { continue };
                let (_, holders, _) = evidence::route_view(&self.proxy, &t.topic);
                let source_poppers = (self.proxy.pops.poppers(&t.topic).into_iter())
                    .filter(|(side, _)| *side == Side::Source)
                    .map(|(_, g)| g)
                    .collect();
                let now = Instant::now();
                let source_pop_in_flight = self.proxy.pops.in_flight(Side::Source, &t.topic, now);
                let wall = |at: Instant| {
                    Utc::now().timestamp_millis() + at.saturating_duration_since(now).as_millis() as i64
                };
                let source_pop_until_ms =
                    (self.proxy.pops.in_flight_until(Side::Source, &t.topic, now).into_iter())
                        .map(|(g, at)| (g, wall(at)))
                        .collect();
                let source_pop_unknown_until_ms = self.carried_pops(m.id, &t.topic);
                topics.push(ServedTopic {
                    migration: m.id,
                    topic: t.topic,
                    policy: v.policy,
                    epoch: v.epoch,
                    holders,
                    source_poppers,
                    source_pop_in_flight,
                    source_pop_until_ms,
                    source_pop_unknown_until_ms,
                });
            }
        }
        Ok(InstanceView {
            topics,
            clients: self.proxy.registry.clients(),
            traffic: self.proxy.traffic.snapshot(),
            relays: self.proxy.relay_traffic(),
            front_connections: self.proxy.limits().front_connections,
        })
    }

    /// What this instance handed out on the source before it restarted and may still be out:
    /// read from its own last view before its first heartbeat overwrites it.
    pub(super) async fn carry_pops(&self) -> Result<(), EngineError> {
        let now = Utc::now().timestamp_millis();
        let Some(before) = self.store.instances().await?.into_iter().find(|i| i.name == self.fleet.instance)
        else {
            return Ok(());
        };
        let mut carried = self.carried_pops.lock().expect("carried lock");
        for t in before.view.topics {
            for (group, until) in t.source_pop_until_ms.into_iter().chain(t.source_pop_unknown_until_ms) {
                if until > now {
                    let e = carried.entry((t.migration, t.topic.clone(), group)).or_insert(until);
                    *e = (*e).max(until);
                }
            }
        }
        Ok(())
    }

    /// Per group, until when POP messages of the topic handed out before this instance restarted
    /// may be out.
    pub(super) fn carried_pops(&self, id: MigrationId, topic: &str) -> BTreeMap<String, i64> {
        let now = Utc::now().timestamp_millis();
        let carried = self.carried_pops.lock().expect("carried lock");
        carried
            .iter()
            .filter(|((m, t, _), until)| *m == id && t == topic && **until > now)
            .map(|((_, _, g), until)| (g.clone(), *until))
            .collect()
    }

    /// Writes this instance's heartbeat and view to the store.
    pub async fn beat(&self) -> Result<(), EngineError> {
        let view = self.view().await?;
        let me = Instance {
            name: self.fleet.instance.clone(),
            namesrv: self.fleet.namesrv.clone(),
            api: self.fleet.api.clone(),
            started_at: self.started_at,
            heartbeat_at: Utc::now(),
            view,
        };
        self.store.heartbeat(&me).await?;
        *self.store_heard.lock().expect("heard lock") = Instant::now();
        Ok(())
    }

    /// Beats every [`FleetSettings::beat`](crate::fleet::FleetSettings::beat) until the engine
    /// is dropped. Kept apart from the ticker: a slow round of checks must not make this
    /// instance look down.
    pub fn spawn_heartbeat(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let every = self.fleet.beat();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(engine) = weak.upgrade() else { return };
                if let Err(e) = engine.beat().await {
                    tracing::warn!(error = %e, "heartbeat not written to the store");
                }
            }
        })
    }

    /// `Err(why)` once the store has not taken a heartbeat for the fleet's `down_after`: this
    /// instance takes no step and tells `/healthz`, and keeps relaying with the stages it knew.
    pub fn store_health(&self) -> Result<(), String> {
        let quiet = self.store_heard.lock().expect("heard lock").elapsed();
        if quiet <= self.fleet.down_after {
            Ok(())
        } else {
            Err(format!(
                "the store ({}) has not taken this instance's heartbeat for {} s: it takes no step and relays \
                 with the stages it last knew",
                self.store.path().display(),
                quiet.as_secs()
            ))
        }
    }

    /// Takes the fleet's step lease (another instance may be taking a step).
    pub(super) async fn take_lease(&self) -> Result<(), EngineError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(STEP_LEASE).expect("a short duration");
        match self.store.take_step_lease(&self.fleet.instance, now, until).await? {
            None => Ok(()),
            Some(holder) => Err(EngineError::StepBusy { holder }),
        }
    }

    /// Gives the lease back (a failure only delays the next step: the lease runs out), and tells
    /// the other instances when the stages `changed`.
    pub(super) async fn give_lease(&self, changed: bool) {
        if let Err(e) = self.store.release_step_lease(&self.fleet.instance).await {
            tracing::warn!(error = %e, "step lease not given back: it runs out by itself");
        }
        if changed {
            if let Err(e) = self.store.notify_stage_change().await {
                tracing::debug!(error = %e, "stage change not notified: other instances see it at their tick");
            }
        }
    }

    /// Every instance and what it serves of `topic`, this one from its own stage table.
    async fn members(
        &self,
        id: MigrationId,
        topic: &str,
    ) -> Result<(Vec<FleetMember>, Vec<Instance>), EngineError> {
        let now = Utc::now();
        let instances = self.store.instances().await?;
        let mut members = vec![FleetMember {
            name: self.fleet.instance.clone(),
            namesrv: self.fleet.namesrv.clone(),
            this: true,
            heartbeat_age_ms: 0,
            state: InstanceState::Up,
            serves: self.proxy.stages.get(topic).filter(|_| self.fronts(id)).map(|v| v.policy),
            front_refuses: None,
        }];
        let mut others = Vec::new();
        for i in instances.into_iter().filter(|i| i.name != self.fleet.instance) {
            let age = (now - i.heartbeat_at).num_milliseconds();
            let state = state_of(age, self.fleet.down_after);
            let front_refuses = match state {
                InstanceState::Up => None,
                InstanceState::Down => self.front_refuses(&i.namesrv).await,
            };
            members.push(FleetMember {
                name: i.name.clone(),
                namesrv: i.namesrv.clone(),
                this: false,
                heartbeat_age_ms: age,
                state,
                serves: i.served(id, topic).map(|t| t.policy),
                front_refuses,
            });
            if state == InstanceState::Up {
                others.push(i);
            }
        }
        Ok((members, others))
    }

    /// Adds the fleet to a topic's evidence: what every instance serves, and the route holders,
    /// topic users and clients of the other live instances (their holders' epochs made relative
    /// to this instance's: current or older).
    pub(super) async fn add_fleet(
        &self,
        id: MigrationId,
        t: &MigrationTopic,
        e: &mut Evidence,
    ) -> Result<(), EngineError> {
        e.policy = Some(t.policy());
        let mut unknown = |group: &str, until: i64, by: String| {
            let e = e.source_pop_unknown_until.entry(group.to_string()).or_insert((until, by.clone()));
            if until > e.0 {
                *e = (until, by);
            }
        };
        for (g, until) in self.carried_pops(id, &t.topic) {
            unknown(&g, until, format!("this Ferry instance ({}) before it restarted", self.fleet.instance));
        }
        let now = Utc::now();
        for i in self.store.instances().await?.into_iter().filter(|i| i.name != self.fleet.instance) {
            let Some(served) = i.served(id, &t.topic) else { continue };
            let down = state_of((now - i.heartbeat_at).num_milliseconds(), self.fleet.down_after)
                == InstanceState::Down;
            for (g, until) in &served.source_pop_unknown_until_ms {
                unknown(g, *until, format!("Ferry instance {} before it restarted", i.name));
            }
            if down {
                for (g, until) in &served.source_pop_until_ms {
                    unknown(g, *until, format!("Ferry instance {} (now down)", i.name));
                }
            }
        }
        let (members, others) = self.members(id, &t.topic).await?;
        e.fleet = members;
        for i in others {
            // An instance started recently has not heard from every client of its own yet.
            let up_for = (Utc::now() - i.started_at).to_std().unwrap_or_default();
            if let Some(left) = self.settings.route_window.checked_sub(up_for) {
                let left = left.as_secs().max(1);
                e.route_warming_up = Some(e.route_warming_up.map_or(left, |mine| mine.max(left)));
            }
            if let Some(served) = i.served(id, &t.topic) {
                // POP messages handed out through its relays are in flight as much as this one's.
                for (group, n) in &served.source_pop_in_flight {
                    *e.source_pop_in_flight.entry(group.clone()).or_default() += n;
                }
                e.route_holders.extend(served.holders.iter().map(|h| RouteHolder {
                    epoch: if h.epoch >= served.epoch { e.route_epoch } else { 0 },
                    ..h.clone()
                }));
            }
            e.topic_users.extend(i.view.clients.iter().filter(|c| uses(c, &t.topic)).map(|c| TopicUser {
                host: c.addr.rsplit_once(':').map_or(c.addr.as_str(), |(h, _)| h).to_string(),
                client_id: c.client_id.clone(),
            }));
            e.through_ferry.extend(i.view.clients.iter().map(|c| c.client_id.clone()));
        }
        Ok(())
    }

    /// What the whole fleet's relays and fronts carry now, for leaving Ferry: relays, clients,
    /// front connections, and the instances that cannot say (down, their front not refusing).
    pub(super) async fn fleet_use(
        &self,
    ) -> Result<(Vec<ferry_proxy::RelayTraffic>, Vec<ClientRecord>, usize, Vec<String>), EngineError> {
        let mut relays = self.proxy.relay_traffic();
        let mut clients = self.proxy.registry.clients();
        let mut front = self.proxy.limits().front_connections;
        let mut unheard = Vec::new();
        let now = Utc::now();
        for i in self.store.instances().await?.into_iter().filter(|i| i.name != self.fleet.instance) {
            let age = (now - i.heartbeat_at).num_milliseconds();
            match state_of(age, self.fleet.down_after) {
                InstanceState::Up => {
                    relays.extend(i.view.relays);
                    clients.extend(i.view.clients);
                    front += i.view.front_connections;
                }
                InstanceState::Down if self.front_refuses(&i.namesrv).await == Some(true) => {}
                InstanceState::Down => unheard.push(i.name),
            }
        }
        Ok((relays, clients, front, unheard))
    }

    /// Groups the other live instances' relays saw pop the topic on the source.
    pub(super) async fn fleet_poppers(
        &self,
        id: MigrationId,
        topic: &str,
    ) -> Result<BTreeSet<String>, EngineError> {
        let now = Utc::now();
        let instances = self.store.instances().await?;
        Ok(instances
            .iter()
            .filter(|i| i.name != self.fleet.instance)
            .filter(|i| {
                state_of((now - i.heartbeat_at).num_milliseconds(), self.fleet.down_after)
                    == InstanceState::Up
            })
            .filter_map(|i| i.served(id, topic))
            .flat_map(|s| s.source_poppers.iter().cloned())
            .collect())
    }

    /// Every client the fleet's relays saw (this instance's live, the others' from their views).
    pub(super) async fn fleet_clients(&self) -> Result<Vec<ClientRecord>, EngineError> {
        let mut all = self.proxy.registry.clients();
        let now = Utc::now();
        for i in self.store.instances().await? {
            let age = (now - i.heartbeat_at).num_milliseconds();
            if i.name != self.fleet.instance && state_of(age, self.fleet.down_after) == InstanceState::Up {
                all.extend(i.view.clients);
            }
        }
        Ok(all)
    }

    /// The fleet as the API lists it.
    pub async fn fleet(&self) -> Result<Fleet, EngineError> {
        let now = Utc::now();
        let mut expected = BTreeMap::new();
        for m in self.store.migrations().await? {
            for t in self.store.migration_topics(m.id).await? {
                expected.insert((m.id, t.topic.clone()), t.policy());
            }
        }
        let mut instances = self.store.instances().await?;
        if !instances.iter().any(|i| i.name == self.fleet.instance) {
            // Forgotten, and not beaten since: this instance is still here.
            instances.push(Instance {
                name: self.fleet.instance.clone(),
                namesrv: self.fleet.namesrv.clone(),
                api: self.fleet.api.clone(),
                started_at: self.started_at,
                heartbeat_at: now,
                view: self.view().await?,
            });
        }
        let instances = instances
            .into_iter()
            .map(|i| {
                let this = i.name == self.fleet.instance;
                let age = if this { 0 } else { (now - i.heartbeat_at).num_milliseconds() };
                let topics = i
                    .view
                    .topics
                    .iter()
                    .map(|s| FleetTopic {
                        migration: s.migration,
                        topic: s.topic.clone(),
                        stage: s.policy.stage,
                        write_only: s.policy.write_only,
                        applied: expected.get(&(s.migration, s.topic.clone())) == Some(&s.policy),
                    })
                    .collect();
                FleetInstance {
                    state: if this { InstanceState::Up } else { state_of(age, self.fleet.down_after) },
                    heartbeat_age_secs: age.max(0) / 1000,
                    clients: i.view.clients.len(),
                    name: i.name,
                    namesrv: i.namesrv,
                    api: i.api,
                    started_at: i.started_at,
                    heartbeat_at: i.heartbeat_at,
                    this,
                    topics,
                }
            })
            .collect();
        Ok(Fleet { this: self.fleet.instance.clone(), instances })
    }

    /// Drops an instance from the fleet (gone for good) until it beats again.
    pub async fn forget_instance(&self, name: &str, actor: &str) -> Result<(), EngineError> {
        if name == self.fleet.instance {
            return Err(EngineError::Invalid(format!(
                "{name} is the instance answering: it cannot forget itself"
            )));
        }
        if !self.store.forget_instance(name).await? {
            return Err(EngineError::InstanceNotFound(name.to_string()));
        }
        tracing::info!(instance = %name, %actor, "instance forgotten by the fleet");
        Ok(())
    }

    /// Re-reads every migration's stages from the store into the proxy (another instance took a
    /// step).
    pub(super) async fn follow_store(&self) -> Result<(), EngineError> {
        self.front_new().await?;
        self.sync_aliases().await?;
        let _step = self.steps.lock().await;
        for m in self.store.migrations().await? {
            self.sync_routes(m.id).await?;
        }
        Ok(())
    }

    /// Follows the stage changes other instances notify (PostgreSQL), at once; the ticker's
    /// round is the fallback.
    pub fn spawn_follower(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let store = self.store.clone();
        tokio::spawn(async move {
            loop {
                let mut changes = match store.stage_changes().await {
                    Ok(Some(c)) => c,
                    Ok(None) => return,
                    Err(e) => {
                        tracing::debug!(error = %e, "not listening for stage changes yet");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                while changes.next().await.is_ok() {
                    let Some(engine) = weak.upgrade() else { return };
                    if let Err(e) = engine.follow_store().await {
                        tracing::warn!(error = %e, "stage change notified but not read");
                    }
                }
                if weak.strong_count() == 0 {
                    return;
                }
            }
        })
    }
}

/// Whether a client uses `topic` (subscribed, or sending) and has not left.
fn uses(c: &ClientRecord, topic: &str) -> bool {
    (c.subscribes(topic) || c.produces(topic))
        && (c.connected() || c.last_seen.elapsed().is_ok_and(|d| d < evidence::CLIENT_GONE_AFTER))
}
