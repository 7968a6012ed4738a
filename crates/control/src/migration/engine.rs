//! The migration engine: creates seamless migrations, moves each topic through its stages behind
//! health checks, and tells the proxy the result. Everything it decides is written to the store
//! first, so a restarted Ferry picks up where it was.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use ferry_admin::AdminError;
use ferry_metadata::import::{
    self, Filter, ImportError, ImportOptions, ItemOutcome, PlanOnTargetError, Selection,
};
use ferry_metadata::{export_cluster, ExportOptions, MetadataError};
use ferry_proxy::{ClientRecord, Proxy, Side, Stage, TopicCounts, TopicPolicy, Upstreams};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::fleet::FleetSettings;
use crate::migration::checks::{self, gates, Evidence};
use crate::migration::evidence::{self, Clusters};
use crate::migration::leave::{self, LeaveReport};
use crate::migration::model::{
    Check, CheckReport, ClusterEndpoint, Forgotten, Hold, Migration, MigrationBroker, MigrationId,
    MigrationStatus, MigrationTopic, Transition, TransitionKind,
};
use crate::migration::names;
use crate::store::Store;
use crate::task::{NewImportTask, TaskId, Timestamp};

mod brokers;
mod fleet;
pub use fleet::{Fleet, FleetInstance, FleetTopic};
mod hold;
mod steps;
mod ticker;

use hold::{hold_after, released_transition};

/// How often the Java and Go clients re-read routes by default (`pollNameServerInterval`).
const CLIENT_ROUTE_REFRESH: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// How long a freshly started Ferry waits before counting a route settled (clients have not
    /// all asked again yet), and a third of it (at most 10 s) how long the source must be quiet
    /// before Completed. At least the clients' own refresh period (30 s by default).
    pub route_window: Duration,
    /// Periodic checks, strict-order drain detection and traffic samples.
    pub tick: Duration,
    /// Traffic samples kept per topic (at one per tick).
    pub traffic_samples: usize,
    /// This instance in a fleet sharing the store; `None`: alone, named by the proxy's
    /// NameServer address.
    pub fleet: Option<FleetSettings>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            route_window: Duration::from_secs(90),
            tick: Duration::from_secs(10),
            traffic_samples: 360,
            fleet: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("source cluster: {0}")]
    Source(AdminError),
    #[error("target cluster: {0}")]
    Target(AdminError),
    #[error("migration {0} not found")]
    NotFound(MigrationId),
    #[error("topic {topic} is not part of migration {id}")]
    TopicNotFound { id: MigrationId, topic: String },
    #[error("migration {0} is completed; start a new one")]
    Finished(MigrationId),
    #[error("{0}")]
    Invalid(String),
    #[error("target cluster {cluster} at {namesrv} already takes part in active migration {other}")]
    TargetBusy { cluster: String, namesrv: String, other: MigrationId },
    #[error(
        "Ferry fronts one source cluster at a time: active migration {other} moves {cluster} at {namesrv}"
    )]
    OtherSource { other: MigrationId, cluster: String, namesrv: String },
    #[error("{topic}: cannot move from {from} to {to}: {}", report.blockers())]
    Blocked { topic: String, from: Stage, to: Stage, report: CheckReport },
    #[error("{topic} is at {stage}: there is no stage {direction} it")]
    NoStep { topic: String, stage: Stage, direction: &'static str },
    #[error("{topic} is at {stage}: only a topic at Initial can be removed (roll it back first)")]
    NotRemovable { topic: String, stage: Stage },
    #[error("no Ferry instance named {0} in the fleet")]
    InstanceNotFound(String),
    #[error("another Ferry instance ({holder}) is taking a step: try again in a moment")]
    StepBusy { holder: String },
    #[error("migration {id} cannot complete: not Completed yet: {topics}")]
    Incomplete { id: MigrationId, topics: String },
    /// A document or layout Ferry could not read (a cluster's own refusal is `Source`/`Target`).
    #[error("reading metadata: {0}")]
    Metadata(MetadataError),
    #[error("planning the import to the target: {0}")]
    Plan(#[from] ImportError),
}

impl EngineError {
    /// Whether the request was wrong or refused (as opposed to a failure of Ferry or a cluster).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            EngineError::Store(_)
                | EngineError::Source(_)
                | EngineError::Target(_)
                | EngineError::Metadata(_)
        )
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewMigration {
    pub name: String,
    pub source: ClusterEndpoint,
    pub target: ClusterEndpoint,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTopic {
    pub topic: String,
    /// The consumer groups to check; by default those that committed offsets on the source.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub strict_order: bool,
}

/// What adding topics did: the import task that brought their metadata to the target.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicsAdded {
    pub added: Vec<String>,
    pub already_there: Vec<String>,
    pub import_task: TaskId,
    pub items: Vec<ItemOutcome>,
}

/// A step to take on many topics at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchAction {
    Check,
    Proceed,
    Rollback,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    pub topic: String,
    pub ok: bool,
    pub stage: Option<Stage>,
    pub report: Option<CheckReport>,
    pub error: Option<String>,
}

/// Who is switched: per group, consumers on the source reached through Ferry or directly, and on
/// the target; per topic, clients seen through Ferry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPoint {
    pub ferry_namesrv: String,
    pub groups: Vec<GroupClients>,
    pub topics: Vec<TopicClients>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupClients {
    pub group: String,
    pub source_through_ferry: Vec<String>,
    pub source_direct: Vec<String>,
    pub target_through_ferry: Vec<String>,
    pub target_direct: Vec<String>,
    pub switched: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicClients {
    pub topic: String,
    pub clients: Vec<ClientRecord>,
}

/// A broker the migration expects, and whether its master is registered now.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatus {
    #[serde(flatten)]
    pub broker: MigrationBroker,
    /// `None` when that side's NameServers cannot be read.
    pub registered: Option<bool>,
}

/// Counters of one topic on both sides at one moment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSample {
    pub at: Timestamp,
    pub source: TopicCounts,
    pub target: TopicCounts,
}

pub struct Engine {
    store: Store,
    proxy: Arc<Proxy>,
    settings: EngineSettings,
    clusters: Mutex<HashMap<MigrationId, Arc<Clusters>>>,
    /// One change at a time: checks may run alongside, steps may not.
    steps: tokio::sync::Mutex<()>,
    traffic: Mutex<HashMap<String, VecDeque<TrafficSample>>>,
    /// Topics (at a stage-table epoch) whose route a tick has seen settled.
    settled_once: Mutex<HashSet<(MigrationId, String, u64)>>,
    /// Groups whose topics are all Completed and whose retry topic was seen drained on the
    /// source: nothing can land there again, so the source may go (in memory: after a restart it
    /// is read once more).
    retry_left: Mutex<HashSet<(MigrationId, String)>>,
    /// Who asked for which route is kept in memory only: for one route window after a start,
    /// routes do not count as settled (clients have not all asked again yet).
    started: std::time::Instant,
    started_at: Timestamp,
    fleet: FleetSettings,
    /// When the store last took this instance's heartbeat.
    store_heard: Mutex<std::time::Instant>,
    /// POP messages this instance handed out before it restarted, by (migration, topic, group):
    /// until when they may be out.
    carried_pops: Mutex<BTreeMap<(MigrationId, String, String), i64>>,
    /// Down instances' NameServer fronts probed lately: when, and whether they refused.
    probes: Mutex<HashMap<String, (std::time::Instant, Option<bool>)>>,
    /// Migrations whose clusters the proxy was pointed at.
    fronted: Mutex<HashSet<MigrationId>>,
    /// What the fleet carried, for the traffic samples.
    fleet_traffic: Mutex<crate::fleet::FleetTraffic>,
}

fn clusters_for(m: &Migration) -> Result<Clusters, EngineError> {
    Ok(Clusters {
        source: m.source.admin().map_err(EngineError::Source)?,
        target: m.target.admin().map_err(EngineError::Target)?,
        source_cluster: m.source.cluster.clone(),
        target_cluster: m.target.cluster.clone(),
    })
}

impl Engine {
    /// Restores every migration's stages into the proxy and points it at their clusters.
    pub async fn start(
        store: Store,
        proxy: Arc<Proxy>,
        settings: EngineSettings,
    ) -> Result<Arc<Engine>, EngineError> {
        // The window no longer decides who route-settled waits for (every client of the topic);
        // it is how long a freshly started Ferry waits for clients to ask again. Shorter than the
        // clients' own refresh, that wait ends before they all have (docs/seamless.md).
        if settings.route_window < CLIENT_ROUTE_REFRESH {
            tracing::warn!(
                window_secs = settings.route_window.as_secs(),
                "route window shorter than the 30 s Java and Go clients take to re-read routes: after a restart, \
                 Ferry may count routes settled before every client asked again, unless clients poll faster \
                 (pollNameServerInterval)"
            );
        }
        let fleet =
            settings.fleet.clone().unwrap_or_else(|| FleetSettings::alone(&proxy.client_namesrv_addr()));
        let engine = Arc::new(Engine {
            store,
            proxy,
            settings,
            started_at: Utc::now(),
            fleet,
            store_heard: Mutex::new(std::time::Instant::now()),
            fleet_traffic: Mutex::new(Default::default()),
            fronted: Mutex::new(HashSet::new()),
            carried_pops: Mutex::new(BTreeMap::new()),
            probes: Mutex::new(HashMap::new()),
            clusters: Mutex::new(HashMap::new()),
            steps: tokio::sync::Mutex::new(()),
            traffic: Mutex::new(HashMap::new()),
            settled_once: Mutex::new(HashSet::new()),
            retry_left: Mutex::new(HashSet::new()),
            started: std::time::Instant::now(),
        });
        // Oldest first, so that the newest migration's clusters end up in front.
        let mut all = engine.store.migrations().await?;
        all.reverse();
        for m in all {
            engine.front(&m)?;
            engine.sync_routes(m.id).await?;
        }
        engine.sync_aliases().await?;
        engine.carry_pops().await?;
        engine.beat().await?;
        Ok(engine)
    }

    pub fn proxy(&self) -> &Arc<Proxy> {
        &self.proxy
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Points the proxy at a migration's clusters and keeps their admin clients.
    fn front(&self, m: &Migration) -> Result<Arc<Clusters>, EngineError> {
        let clusters = Arc::new(clusters_for(m)?);
        let upstreams =
            Upstreams::new(&m.source.namesrv, Some(&m.target.namesrv)).map_err(EngineError::Source)?;
        self.proxy.set_upstreams(upstreams);
        self.clusters.lock().expect("clusters lock").insert(m.id, clusters.clone());
        self.fronted.lock().expect("fronted lock").insert(m.id);
        Ok(clusters)
    }

    /// Fronts the migrations another instance of the fleet created since this one started.
    pub(super) async fn front_new(&self) -> Result<(), EngineError> {
        let mut all = self.store.migrations().await?;
        all.reverse();
        for m in all {
            if !self.fronted.lock().expect("fronted lock").contains(&m.id) {
                tracing::info!(migration = %m.id, source = %m.source.namesrv, "fronting a migration created elsewhere");
                self.front(&m)?;
            }
        }
        Ok(())
    }

    /// Whether this instance's front answers routes for the migration (it knows its clusters).
    pub(super) fn fronts(&self, id: MigrationId) -> bool {
        self.fronted.lock().expect("fronted lock").contains(&id)
    }

    fn clusters(&self, m: &Migration) -> Result<Arc<Clusters>, EngineError> {
        if let Some(c) = self.clusters.lock().expect("clusters lock").get(&m.id) {
            return Ok(c.clone());
        }
        let c = Arc::new(clusters_for(m)?);
        self.clusters.lock().expect("clusters lock").insert(m.id, c.clone());
        Ok(c)
    }

    /// Connects to both clusters (saying "NameServer unreachable" or "authentication failed"
    /// when so) and records the migration.
    pub async fn create_migration(&self, new: NewMigration) -> Result<Migration, EngineError> {
        let _step = self.steps.lock().await;
        if new.name.trim().is_empty() {
            return Err(EngineError::Invalid("a migration needs a name".into()));
        }
        for m in self.store.migrations().await?.into_iter().filter(|m| m.status == MigrationStatus::Active) {
            if m.target.namesrv == new.target.namesrv && m.target.cluster == new.target.cluster {
                return Err(EngineError::TargetBusy {
                    cluster: m.target.cluster,
                    namesrv: m.target.namesrv,
                    other: m.id,
                });
            }
            if m.source.namesrv != new.source.namesrv {
                return Err(EngineError::OtherSource {
                    other: m.id,
                    cluster: m.source.cluster,
                    namesrv: m.source.namesrv,
                });
            }
        }
        let probe = Clusters {
            source: new.source.admin().map_err(EngineError::Source)?,
            target: new.target.admin().map_err(EngineError::Target)?,
            source_cluster: new.source.cluster.clone(),
            target_cluster: new.target.cluster.clone(),
        };
        let source = probe.source_layout().await.map_err(EngineError::Source)?;
        let target = probe.target_layout().await.map_err(EngineError::Target)?;
        // An admin read proves the credentials (routes and cluster info are not access-controlled).
        if let Some((_, master)) = source.masters().next() {
            probe.source.topic_configs(master).await.map_err(EngineError::Source)?;
        }
        if let Some((_, master)) = target.masters().next() {
            probe.target.topic_configs(master).await.map_err(EngineError::Target)?;
        }
        let m = self.store.create_migration(new.name.trim(), &new.source, &new.target).await?;
        self.store.note_brokers(m.id, Side::Source, &evidence::registered_masters(&source)).await?;
        self.store.note_brokers(m.id, Side::Target, &evidence::registered_masters(&target)).await?;
        // Brokers named alike on both sides (broker-a, broker-b from Apache's sample configs):
        // the target's are shown to clients under aliases, chosen now and kept.
        let names =
            |c: &ferry_admin::Cluster| c.brokers.iter().map(|b| b.name.clone()).collect::<BTreeSet<_>>();
        for (real, alias) in names::target_aliases(&names(&source), &names(&target)) {
            self.store.set_broker_alias(m.id, Side::Target, &real, &alias).await?;
            tracing::info!(migration = %m.id, broker = %real, %alias, "target broker shown under an alias");
        }
        self.front(&m)?;
        self.sync_aliases().await?;
        tracing::info!(migration = %m.id, name = %m.name, "migration created");
        Ok(m)
    }

    pub async fn migrations(&self) -> Result<Vec<Migration>, EngineError> {
        Ok(self.store.migrations().await?)
    }

    pub async fn migration(&self, id: MigrationId) -> Result<Migration, EngineError> {
        self.store.migration(id).await?.ok_or(EngineError::NotFound(id))
    }

    async fn active(&self, id: MigrationId) -> Result<Migration, EngineError> {
        let m = self.migration(id).await?;
        if m.status != MigrationStatus::Active {
            return Err(EngineError::Finished(id));
        }
        Ok(m)
    }

    pub async fn topics(&self, id: MigrationId) -> Result<Vec<MigrationTopic>, EngineError> {
        self.migration(id).await?;
        Ok(self.store.migration_topics(id).await?)
    }

    async fn topic(&self, id: MigrationId, topic: &str) -> Result<MigrationTopic, EngineError> {
        self.store
            .migration_topics(id)
            .await?
            .into_iter()
            .find(|t| t.topic == topic)
            .ok_or_else(|| EngineError::TopicNotFound { id, topic: topic.to_string() })
    }

    /// Adds topics at Initial, importing them and their groups to the target first (an import
    /// task, as `ferry import` makes; existing identical items are left alone).
    pub async fn add_topics(
        &self,
        id: MigrationId,
        new: Vec<NewTopic>,
        actor: &str,
    ) -> Result<TopicsAdded, EngineError> {
        let _step = self.steps.lock().await;
        let m = self.active(id).await?;
        let clusters = self.clusters(&m)?;
        if new.is_empty() {
            return Err(EngineError::Invalid("no topic given".into()));
        }
        let mut elsewhere = BTreeMap::new();
        for other in self
            .store
            .migrations()
            .await?
            .into_iter()
            .filter(|o| o.id != id && o.status == MigrationStatus::Active)
        {
            for t in self.store.migration_topics(other.id).await? {
                elsewhere.insert(t.topic, other.id);
            }
        }
        let mut chosen = Vec::new();
        for t in &new {
            let topic = t.topic.trim();
            if let Some(other) = elsewhere.get(topic) {
                return Err(EngineError::Invalid(format!(
                    "topic {topic} is already part of active migration {other}"
                )));
            }
            if topic.is_empty() || topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%") {
                return Err(EngineError::Invalid(format!(
                    "'{topic}' cannot be migrated on its own (retry and dead-letter topics follow their group)"
                )));
            }
            let groups = match &t.groups {
                Some(g) => g.clone(),
                None => evidence::groups_of_topic(&clusters, topic).await.map_err(EngineError::Source)?,
            };
            chosen.push((topic.to_string(), groups, t.strict_order));
        }

        let (import_task, items) = self.import(&m, &clusters, &chosen).await?;
        let mut added = Vec::new();
        let mut already_there = Vec::new();
        for (topic, groups, strict) in chosen {
            if self.store.add_migration_topic(id, &topic, &groups, strict).await? {
                let t =
                    Transition::new(&topic, TransitionKind::Added, actor).stages(None, Some(Stage::Initial));
                self.record(id, t).await?;
                added.push(topic);
            } else {
                already_there.push(topic);
            }
        }
        self.sync_routes(id).await?;
        Ok(TopicsAdded { added, already_there, import_task, items })
    }

    async fn import(
        &self,
        m: &Migration,
        clusters: &Clusters,
        chosen: &[(String, Vec<String>, bool)],
    ) -> Result<(TaskId, Vec<ItemOutcome>), EngineError> {
        let doc =
            export_cluster(&clusters.source, &clusters.source_cluster, &ExportOptions::default(), &|_| {})
                .await
                .map_err(|e| match e {
                    MetadataError::Admin(a) => EngineError::Source(a),
                    other => EngineError::Metadata(other),
                })?;
        let target = clusters.target_layout().await.map_err(EngineError::Target)?;
        let groups: BTreeSet<String> = chosen.iter().flat_map(|(_, g, _)| g.iter().cloned()).collect();
        let options = ImportOptions {
            selection: Selection {
                topics: Filter::Names(chosen.iter().map(|(t, _, _)| t.clone()).collect()),
                groups: if groups.is_empty() {
                    Filter::None
                } else {
                    Filter::Names(groups.into_iter().collect())
                },
                accounts: Filter::None,
            },
            ..ImportOptions::default()
        };
        let (_, plan) = import::plan_on_target(&clusters.target, &target, &doc, &options, None)
            .await
            .map_err(|e| match e {
                PlanOnTargetError::Target(MetadataError::Admin(a)) => EngineError::Target(a),
                PlanOnTargetError::Target(e) | PlanOnTargetError::Acl(e) => EngineError::Metadata(e),
                PlanOnTargetError::Plan(e) => e.into(),
            })?;
        let task = self
            .store
            .create_import_task(NewImportTask {
                target_namesrv: m.target.namesrv.clone(),
                target_cluster: m.target.cluster.clone(),
                source: format!("live:{}/{} (migration {})", m.source.namesrv, m.source.cluster, m.id),
                mode: "cluster".into(),
            })
            .await?;
        let (outcomes, _) =
            self.store.carry_out_import(task, &clusters.target, &target, &plan, 8, &|_| {}).await?;
        Ok((task, outcomes))
    }

    /// Removes a topic still at Initial: its route goes back to passing through.
    pub async fn remove_topic(&self, id: MigrationId, topic: &str, actor: &str) -> Result<(), EngineError> {
        let _step = self.steps.lock().await;
        self.active(id).await?;
        let t = self.topic(id, topic).await?;
        if t.stage != Stage::Initial {
            return Err(EngineError::NotRemovable { topic: t.topic, stage: t.stage });
        }
        self.store.remove_migration_topic(id, topic).await?;
        self.proxy.stages.remove(topic);
        self.record(
            id,
            Transition::new(topic, TransitionKind::Removed, actor).stages(Some(Stage::Initial), None),
        )
        .await?;
        self.sync_routes(id).await
    }

    /// Whether clients can leave Ferry: the migration's topics all Direct, relays empty, and
    /// who still asks Ferry for routes (see [`leave`]).
    pub async fn leave(&self, id: MigrationId) -> Result<LeaveReport, EngineError> {
        self.migration(id).await?;
        let topics: Vec<(String, Stage)> =
            self.store.migration_topics(id).await?.into_iter().map(|t| (t.topic, t.stage)).collect();
        let (relays, clients, front_connections, unheard) = self.fleet_use().await?;
        Ok(leave::report(&topics, &relays, &clients, front_connections, &unheard))
    }

    pub async fn history(
        &self,
        id: MigrationId,
        topic: Option<&str>,
    ) -> Result<Vec<Transition>, EngineError> {
        self.migration(id).await?;
        Ok(self.store.transitions(id, topic).await?)
    }

    /// Per group: consumers on each cluster, through Ferry or not, unswitched groups first.
    pub async fn access_point(&self, id: MigrationId) -> Result<AccessPoint, EngineError> {
        let m = self.migration(id).await?;
        let clusters = self.clusters(&m)?;
        let topics = self.store.migration_topics(id).await?;
        let source = clusters.source_layout().await.map_err(EngineError::Source)?;
        let target = clusters.target_layout().await.map_err(EngineError::Target)?;
        let fleet_clients = self.fleet_clients().await?;
        let through: BTreeSet<String> = fleet_clients.iter().map(|c| c.client_id.clone()).collect();
        let groups: BTreeSet<&String> = topics.iter().flat_map(|t| &t.groups).collect();
        let mut out = Vec::new();
        for group in groups {
            let on_source =
                evidence::consumers(&clusters.source, &source, group).await.map_err(EngineError::Source)?;
            let on_target =
                evidence::consumers(&clusters.target, &target, group).await.map_err(EngineError::Target)?;
            let split = |all: BTreeSet<String>| -> (Vec<String>, Vec<String>) {
                all.into_iter().partition(|id| through.contains(id))
            };
            let (source_through_ferry, source_direct) = split(on_source);
            let (target_through_ferry, target_direct) = split(on_target);
            out.push(GroupClients {
                group: group.clone(),
                switched: source_direct.is_empty() && target_direct.is_empty(),
                source_through_ferry,
                source_direct,
                target_through_ferry,
                target_direct,
            });
        }
        out.sort_by_key(|g| (g.switched, g.group.clone()));
        let topics = topics
            .iter()
            .map(|t| TopicClients {
                topic: t.topic.clone(),
                clients: fleet_clients
                    .iter()
                    .filter(|c| c.subscribes(&t.topic) || c.produces(&t.topic))
                    .cloned()
                    .collect(),
            })
            .collect();
        Ok(AccessPoint { ferry_namesrv: self.proxy.client_namesrv_addr(), groups: out, topics })
    }

    async fn record(&self, id: MigrationId, t: Transition) -> Result<(), EngineError> {
        Ok(self.store.record_transition(id, &t).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Servers run the engine on multi-threaded runtimes: its futures must be `Send` (this fails
    /// to compile otherwise).
    #[allow(dead_code)]
    fn futures_are_send(e: &Engine) {
        fn send<T: Send>(_: T) {}
        send(e.add_topics(MigrationId(1), Vec::new(), "a"));
        send(e.proceed(MigrationId(1), "t", None, "a"));
        send(e.tick());
        send(e.fleet());
        send(e.leave(MigrationId(1)));
    }

    #[tokio::test]
    async fn pop_messages_handed_out_before_a_restart_count_until_their_invisible_time() {
        use crate::fleet::{Instance, InstanceView, ServedTopic};
        let store = Store::open_in_memory().await.unwrap();
        let proxy = Arc::new(Proxy::start(ferry_proxy::ProxyConfig::loopback(0, 0, 0), &[]).await.unwrap());
        let name = proxy.client_namesrv_addr();
        let now = Utc::now();
        let (until, past) = (now.timestamp_millis() + 60_000, now.timestamp_millis() - 1);
        // This instance's view as its previous run left it in the store.
        let served = ServedTopic {
            migration: MigrationId(1),
            topic: "orders".into(),
            policy: TopicPolicy::at(Stage::CuttingOver),
            epoch: 3,
            holders: Vec::new(),
            source_poppers: vec!["billing".into()],
            source_pop_in_flight: [("billing".to_string(), 2)].into(),
            source_pop_until_ms: [("billing".to_string(), until), ("audit".to_string(), past)].into(),
            source_pop_unknown_until_ms: BTreeMap::new(),
        };
        let before = Instance {
            name: name.clone(),
            namesrv: name.clone(),
            api: String::new(),
            started_at: now,
            heartbeat_at: now,
            view: InstanceView { topics: vec![served], ..InstanceView::default() },
        };
        store.heartbeat(&before).await.unwrap();
        let engine = Engine::start(store.clone(), proxy, EngineSettings::default()).await.unwrap();
        assert_eq!(
            engine.carried_pops(MigrationId(1), "orders"),
            BTreeMap::from([("billing".to_string(), until)]),
            "what is still out is carried; what came back is not"
        );
        assert!(engine.carried_pops(MigrationId(1), "refunds").is_empty());
    }
}
