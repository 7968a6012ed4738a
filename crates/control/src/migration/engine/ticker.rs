//! The engine's background work, every tick: expected brokers noted, aliases kept, strict-order
//! holds released, checks refreshed, the proxy's stage table synced from the store, traffic
//! sampled.

use super::*;

impl Engine {
    /// Traffic samples of a topic, oldest first.
    pub fn traffic(&self, topic: &str) -> Vec<TrafficSample> {
        self.traffic
            .lock()
            .expect("traffic lock")
            .get(topic)
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Writes a migration's topics, and the retry and dead-letter topics of their groups, into the
    /// proxy's stage table.
    pub(super) async fn sync_routes(&self, id: MigrationId) -> Result<(), EngineError> {
        let target = self.migration(id).await?.target.namesrv;
        let topics = self.store.migration_topics(id).await?;
        let mut group_stages: BTreeMap<&str, Vec<Stage>> = BTreeMap::new();
        for t in &topics {
            self.proxy.stages.set_target(&t.topic, &target);
            self.proxy.stages.set(&t.topic, t.policy());
            for g in &t.groups {
                group_stages.entry(g).or_default().push(t.stage);
            }
        }
        // A group's retry topic is read on both clusters while any of its topics is on the move;
        // it leaves the source only when all are Completed (and the tick saw its backlog drained),
        // and goes direct with them.
        for (group, stages) in group_stages {
            let policy = if stages.iter().all(|s| *s == Stage::Initial) {
                None
            } else if stages.iter().all(|s| s.done()) && self.retry_drained(id, group).await {
                self.retry_left.lock().expect("retry lock").insert((id, group.to_string()));
                let all_direct = stages.iter().all(|s| *s == Stage::Direct);
                Some(TopicPolicy::at(if all_direct { Stage::Direct } else { Stage::Completed }))
            } else {
                self.retry_left.lock().expect("retry lock").remove(&(id, group.to_string()));
                Some(TopicPolicy::at(Stage::DualReadWrite))
            };
            for name in [format!("%RETRY%{group}"), format!("%DLQ%{group}")] {
                match policy {
                    Some(p) => {
                        self.proxy.stages.set_target(&name, &target);
                        self.proxy.stages.set(&name, p);
                    }
                    None => self.proxy.stages.remove(&name),
                }
            }
        }
        Ok(())
    }

    pub(super) async fn retry_drained(&self, id: MigrationId, group: &str) -> bool {
        if self.retry_left.lock().expect("retry lock").contains(&(id, group.to_string())) {
            return true;
        }
        let Ok(m) = self.migration(id).await else { return false };
        let Ok(clusters) = self.clusters(&m) else { return false };
        let Ok(expected) = self.store.migration_brokers(id).await else { return false };
        // Silence is not zero: with a source master unheard, its retry backlog is unknown.
        let hearing = evidence::Hearing::of(&clusters, Side::Source, &expected).await;
        let Some(source) = hearing.complete().cloned() else { return false };
        let retry = format!("%RETRY%{group}");
        match clusters.source.group_backlog(&source, group, &[retry.clone()].into()).await {
            Ok(o) if o.backlog_of_topic(&retry) == 0 => {}
            _ => return false,
        }
        // A message sent back for a retry waits on the source as a delayed message first.
        for (_, master) in source.masters() {
            match clusters.source.pending_delayed(master).await {
                Ok(0) => {}
                _ => return false,
            }
        }
        true
    }

    /// Seconds left of the first route window after this engine started, if any.
    pub(super) fn warming_up(&self) -> Option<u64> {
        self.settings.route_window.checked_sub(self.started.elapsed()).map(|d| d.as_secs().max(1))
    }

    /// Background work: relay ports kept, strict-order drains noticed, checks refreshed, traffic
    /// sampled. Runs until the engine is dropped.
    /// Also starts this instance's heartbeat and, on PostgreSQL, the follower of other instances'
    /// steps: both end with the engine.
    pub fn spawn_ticker(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_heartbeat();
        self.spawn_follower();
        let weak = Arc::downgrade(self);
        let tick = self.settings.tick;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            // A slow round (clusters slow to answer) is not followed by a burst of catch-up rounds.
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(engine) = weak.upgrade() else { return };
                if let Err(e) = engine.tick().await {
                    tracing::warn!(error = %e, "periodic migration work failed");
                }
            }
        })
    }

    /// One round of the background work (also callable directly, e.g. by tests).
    pub async fn tick(&self) -> Result<(), EngineError> {
        // Relays other instances assigned first, then this instance's own for them.
        for a in self.proxy.adopt_relays(&self.store.relay_assignments().await?) {
            tracing::warn!(
                side = %a.side, backend = %a.backend, port = a.port,
                "this instance relays the broker on another port than the store keeps: routes it answers name \
                 another port (restart it to take the store's)"
            );
        }
        self.store.save_relay_assignments(&self.proxy.relay_assignments()).await?;
        self.proxy.registry.expire(Duration::from_secs(180));
        self.proxy.routes.retain_topics(|t| self.proxy.stages.get(t).is_some());
        self.settled_once
            .lock()
            .expect("settled lock")
            .retain(|(_, topic, epoch)| self.proxy.stages.get(topic).is_some_and(|v| v.epoch == *epoch));
        self.sample_traffic().await;
        let active: Vec<Migration> = self
            .store
            .migrations()
            .await?
            .into_iter()
            .filter(|m| m.status == MigrationStatus::Active)
            .collect();
        // A migration another instance of the fleet created: this front answers its routes too.
        self.front_new().await?;
        for m in &active {
            self.note_brokers(m).await?;
        }
        self.sync_aliases().await?;
        for m in active {
            for t in self.store.migration_topics(m.id).await? {
                // While clients take a new route, have consumers rebalance on it at once.
                if self
                    .proxy
                    .stages
                    .get(&t.topic)
                    .is_some_and(|v| v.changed_at.elapsed() < self.settings.route_window)
                {
                    self.proxy.nudge_consumers(&t.topic);
                }
                if t.hold.is_some() {
                    self.release_if_read(&m, t.clone()).await?;
                }
                if !t.stage.done() {
                    if let Err(e) = self.check(m.id, &t.topic).await {
                        tracing::debug!(topic = %t.topic, error = %e, "periodic check failed");
                    }
                }
            }
            // Under the steps lock: a step committed meanwhile must not be written back over.
            let _step = self.steps.lock().await;
            self.sync_routes(m.id).await?;
        }
        Ok(())
    }

    /// Adds the brokers registered now on both sides to those the migration expects (a broker
    /// that disappeared stays expected). A side that cannot be read is left for the next round.
    pub(super) async fn note_brokers(&self, m: &Migration) -> Result<(), EngineError> {
        let clusters = self.clusters(m)?;
        for side in [Side::Source, Side::Target] {
            match clusters.layout(side).await {
                Ok(layout) => {
                    self.store.note_brokers(m.id, side, &evidence::registered_masters(&layout)).await?
                }
                Err(e) => tracing::debug!(migration = %m.id, %side, error = %e, "layout not read"),
            }
        }
        // A target broker that appears in a migration whose brokers have aliases gets one too.
        let brokers = self.store.migration_brokers(m.id).await?;
        let aliases: BTreeMap<String, String> =
            brokers.iter().filter_map(|b| b.alias.as_ref().map(|a| (b.name.clone(), a.clone()))).collect();
        for b in brokers.iter().filter(|b| b.side == Side::Target && b.alias.is_none()) {
            if let Some(alias) = names::alias_for_new(&aliases, &b.name) {
                self.store.set_broker_alias(m.id, Side::Target, &b.name, &alias).await?;
            }
        }
        Ok(())
    }

    /// Tells the proxy the names target brokers are shown under, for every active migration.
    pub(super) async fn sync_aliases(&self) -> Result<(), EngineError> {
        let mut aliases = HashMap::new();
        for m in self.store.migrations().await?.into_iter().filter(|m| m.status == MigrationStatus::Active) {
            for b in self.store.migration_brokers(m.id).await? {
                if let (Side::Target, Some(alias)) = (b.side, b.alias) {
                    aliases.insert(b.name, alias);
                }
            }
        }
        self.proxy.stages.set_broker_aliases(aliases);
        Ok(())
    }

    /// Samples what the whole fleet carried: this instance's counts now, the others' from their
    /// latest views (a store that cannot be read: this instance's alone, until it can).
    pub(super) async fn sample_traffic(&self) {
        let now = Utc::now();
        let totals = {
            let others = self.store.instances().await.unwrap_or_default();
            let mut fleet = self.fleet_traffic.lock().expect("fleet traffic lock");
            fleet.observe(&self.fleet.instance, self.started_at, &self.proxy.traffic.snapshot());
            for i in others.iter().filter(|i| i.name != self.fleet.instance) {
                fleet.observe(&i.name, i.started_at, &i.view.traffic);
            }
            fleet.total()
        };
        let mut by_topic: BTreeMap<String, (TopicCounts, TopicCounts)> = BTreeMap::new();
        for ((topic, side), counts) in totals {
            let e = by_topic.entry(topic).or_default();
            match side {
                Side::Source => e.0 = counts,
                Side::Target => e.1 = counts,
            }
        }
        let mut traffic = self.traffic.lock().expect("traffic lock");
        for (topic, (source, target)) in by_topic {
            let q = traffic.entry(topic).or_default();
            q.push_back(TrafficSample { at: now, source, target });
            while q.len() > self.settings.traffic_samples {
                q.pop_front();
            }
        }
    }
}
