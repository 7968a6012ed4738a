//! Steps: the checks of a topic's next stage, proceed and roll back (one topic, or many in a
//! batch), and completing a migration. Every step is taken under the fleet's step lease.

use super::*;

impl Engine {
    /// Runs the checks of the topic's next step now and keeps the report.
    pub async fn check(&self, id: MigrationId, topic: &str) -> Result<CheckReport, EngineError> {
        let m = self.migration(id).await?;
        let t = self.topic(id, topic).await?;
        let toward = t.stage.next().unwrap_or(t.stage);
        let (report, _) = self.report(&m, &t, toward).await?;
        // Unless a step moved the topic meanwhile: then this report is about a step not next.
        if self.topic(id, topic).await?.stage == t.stage {
            self.store.set_last_check(id, topic, &report).await?;
        }
        Ok(report)
    }

    /// The checks of the step toward `toward`, and the evidence they read (none for no step).
    async fn report(
        &self,
        m: &Migration,
        t: &MigrationTopic,
        toward: Stage,
    ) -> Result<(CheckReport, Option<Evidence>), EngineError> {
        let clusters = self.clusters(m)?;
        let (checks, evidence) = if toward == t.stage {
            (Vec::new(), None)
        } else {
            let expected = self.store.migration_brokers(m.id).await?;
            let mut e = evidence::gather(
                &clusters,
                &self.proxy,
                t,
                &expected,
                self.settings.route_window,
                self.warming_up(),
                self.fleet_poppers(m.id, &t.topic).await?,
            )
            .await;
            if toward == Stage::Direct {
                e.undone_topics = self.undone_topics(&m.target.namesrv, &t.topic).await?;
            }
            self.add_fleet(m.id, t, &mut e).await?;
            (gates(t.stage, toward, &e), Some(e))
        };
        Ok((CheckReport { from: t.stage, toward, at: Utc::now(), checks }, evidence))
    }

    /// Topics of active migrations to the target at `namesrv`, other than `except`, that are not
    /// Completed yet.
    async fn undone_topics(&self, namesrv: &str, except: &str) -> Result<Vec<(String, Stage)>, EngineError> {
        let mut undone = Vec::new();
        for m in self.store.migrations().await? {
            if m.status != MigrationStatus::Active || m.target.namesrv != namesrv {
                continue;
            }
            for t in self.store.migration_topics(m.id).await? {
                if !t.stage.done() && t.topic != except {
                    undone.push((t.topic, t.stage));
                }
            }
        }
        Ok(undone)
    }

    /// One step forward, after its checks pass, or with `ignore` (a reason) despite them.
    pub async fn proceed(
        &self,
        id: MigrationId,
        topic: &str,
        ignore: Option<&str>,
        actor: &str,
    ) -> Result<MigrationTopic, EngineError> {
        self.walk(id, topic, TransitionKind::Forward, ignore, actor).await
    }

    /// One step back. Only the step back to Initial has a check (nothing may be stranded on the
    /// target); `ignore` overrides it.
    pub async fn rollback(
        &self,
        id: MigrationId,
        topic: &str,
        ignore: Option<&str>,
        actor: &str,
    ) -> Result<MigrationTopic, EngineError> {
        self.walk(id, topic, TransitionKind::Rollback, ignore, actor).await
    }

    /// One step forward or back, under the steps lock.
    async fn walk(
        &self,
        id: MigrationId,
        topic: &str,
        kind: TransitionKind,
        ignore: Option<&str>,
        actor: &str,
    ) -> Result<MigrationTopic, EngineError> {
        let _step = self.steps.lock().await;
        self.take_lease().await?;
        let stepped = async {
            // Read under the lease: another instance may have stepped the topic meanwhile.
            let m = self.migration(id).await?;
            let t = self.topic(id, topic).await?;
            let (to, direction) = match kind {
                TransitionKind::Rollback => (t.stage.previous(), "before"),
                _ => (t.stage.next(), "after"),
            };
            let to = to.ok_or(EngineError::NoStep { topic: t.topic.clone(), stage: t.stage, direction })?;
            self.steppable(&m, t.stage, to)?;
            self.step(&m, t, to, kind, ignore, actor).await
        }
        .await;
        self.give_lease(stepped.is_ok()).await;
        stepped
    }

    /// A completed migration's topics still go Direct and back (leaving Ferry comes after the
    /// migration), and no other way.
    fn steppable(&self, m: &Migration, from: Stage, to: Stage) -> Result<(), EngineError> {
        if m.status == MigrationStatus::Active || (from.done() && to.done()) {
            Ok(())
        } else {
            Err(EngineError::Finished(m.id))
        }
    }

    async fn step(
        &self,
        m: &Migration,
        mut t: MigrationTopic,
        to: Stage,
        kind: TransitionKind,
        ignore: Option<&str>,
        actor: &str,
    ) -> Result<MigrationTopic, EngineError> {
        let (report, evidence) = self.report(m, &t, to).await?;
        let from = t.stage;
        if !report.ready() && ignore.is_none() {
            self.store.set_last_check(m.id, &t.topic, &report).await?;
            return Err(EngineError::Blocked { topic: t.topic, from, to, report });
        }
        let ignored: Vec<Check> = report.failing().cloned().collect();
        // A hold this step found read up to its barrier ends here, before the ticker saw it:
        // the history says so as when the ticker releases one.
        let released = report.checks.iter().any(|c| c.name == checks::ORDER_HOLD && c.passed);
        if let (true, Some(hold)) = (released, &t.hold) {
            self.record(m.id, released_transition(&t.topic, from, hold)).await?;
        }
        // How the topic is written on the way is decided as it leaves Initial, from its type then.
        if from == Stage::Initial {
            t.one_write_side = evidence.as_ref().is_some_and(checks::writes_one_side);
        }
        if t.strict_order {
            t.hold = hold_after(t.policy(), to);
        }
        t.stage = to;
        t.last_check = None;
        t.updated_at = Utc::now();
        self.store.update_migration_topic(m.id, &t).await?;
        let transition = Transition::new(&t.topic, kind, actor)
            .stages(Some(from), Some(to))
            .reason(ignore.map(str::to_string))
            .ignoring(ignored);
        self.record(m.id, transition).await?;
        tracing::info!(migration = %m.id, topic = %t.topic, %from, %to, %actor, "stage changed");
        self.sync_routes(m.id).await?;
        Ok(t)
    }

    /// Check, proceed or roll back many topics, each on its own: one failing does not stop the rest.
    pub async fn batch(
        &self,
        id: MigrationId,
        action: BatchAction,
        topics: &[String],
        ignore: Option<&str>,
        actor: &str,
    ) -> Result<Vec<BatchResult>, EngineError> {
        self.migration(id).await?;
        let mut results = Vec::new();
        for topic in topics {
            let r = match action {
                BatchAction::Check => self.check(id, topic).await.map(|r| (r.from, Some(r))),
                BatchAction::Proceed => self.proceed(id, topic, ignore, actor).await.map(|t| (t.stage, None)),
                BatchAction::Rollback => {
                    self.rollback(id, topic, ignore, actor).await.map(|t| (t.stage, None))
                }
            };
            results.push(match r {
                Ok((stage, report)) => {
                    BatchResult { topic: topic.clone(), ok: true, stage: Some(stage), report, error: None }
                }
                Err(e) => {
                    let report = match &e {
                        EngineError::Blocked { report, .. } => Some(report.clone()),
                        _ => None,
                    };
                    BatchResult {
                        topic: topic.clone(),
                        ok: false,
                        stage: None,
                        report,
                        error: Some(e.to_string()),
                    }
                }
            });
        }
        Ok(results)
    }

    /// Completes the migration once every topic is Completed (or Direct). Routes keep pointing at
    /// the target.
    pub async fn complete(&self, id: MigrationId, actor: &str) -> Result<Migration, EngineError> {
        let _step = self.steps.lock().await;
        self.take_lease().await?;
        let completed = self.complete_under_lease(id, actor).await;
        self.give_lease(false).await;
        completed
    }

    async fn complete_under_lease(&self, id: MigrationId, actor: &str) -> Result<Migration, EngineError> {
        self.active(id).await?;
        let topics = self.store.migration_topics(id).await?;
        let open: Vec<String> =
            topics.iter().filter(|t| !t.stage.done()).map(|t| format!("{} ({})", t.topic, t.stage)).collect();
        if topics.is_empty() || !open.is_empty() {
            let topics =
                if topics.is_empty() { "the migration has no topics".to_string() } else { open.join(", ") };
            return Err(EngineError::Incomplete { id, topics });
        }
        self.store.complete_migration(id).await?;
        tracing::info!(migration = %id, %actor, "migration completed");
        self.migration(id).await
    }
}
