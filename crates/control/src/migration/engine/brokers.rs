//! The brokers a migration expects to hear from, and forgetting one that is gone for good.

use super::*;

impl Engine {
    /// The brokers a migration expects to hear from, forgotten ones included, each with whether
    /// its master is registered now (`None` when that side's NameServers cannot be read).
    pub async fn brokers(&self, id: MigrationId) -> Result<Vec<BrokerStatus>, EngineError> {
        let m = self.migration(id).await?;
        let clusters = self.clusters(&m)?;
        let mut registered = BTreeMap::new();
        for side in [Side::Source, Side::Target] {
            if let Ok(layout) = clusters.layout(side).await {
                registered.insert(side, evidence::registered_masters(&layout));
            }
        }
        Ok(self
            .store
            .migration_brokers(id)
            .await?
            .into_iter()
            .map(|broker| BrokerStatus {
                registered: registered
                    .get(&broker.side)
                    .map(|masters| masters.iter().any(|(name, _)| *name == broker.name)),
                broker,
            })
            .collect())
    }

    /// An operator's decision that a broker is gone for good (decommissioned, merged): checks stop
    /// waiting to hear from it. Needs a reason; kept in the history. A forgotten broker that
    /// registers again is expected again.
    pub async fn forget_broker(
        &self,
        id: MigrationId,
        side: Side,
        name: &str,
        reason: &str,
        actor: &str,
    ) -> Result<MigrationBroker, EngineError> {
        let _step = self.steps.lock().await;
        self.active(id).await?;
        if reason.trim().is_empty() {
            return Err(EngineError::Invalid(format!(
                "forgetting {side} broker {name} needs a reason (it is kept in the history)"
            )));
        }
        let m = self.migration(id).await?;
        if let Ok(layout) = self.clusters(&m)?.layout(side).await {
            if let Some((_, addr)) = layout.masters().find(|(n, _)| *n == name) {
                return Err(EngineError::Invalid(format!(
                    "{side} broker {name} is registered now (master {addr}): forget only a broker that is gone for good"
                )));
            }
        }
        let forgotten =
            Forgotten { at: Utc::now(), actor: actor.to_string(), reason: reason.trim().to_string() };
        if !self.store.forget_broker(id, side, name, &forgotten).await? {
            let known = self.store.migration_brokers(id).await?;
            let names: Vec<String> =
                known.iter().filter(|b| b.side == side).map(|b| b.name.clone()).collect();
            return Err(EngineError::Invalid(format!(
                "migration {id} expects no {side} broker {name}; it expects: {}",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )));
        }
        let broker = self
            .store
            .migration_brokers(id)
            .await?
            .into_iter()
            .find(|b| b.side == side && b.name == name)
            .ok_or_else(|| EngineError::Invalid(format!("{side} broker {name} vanished from the store")))?;
        let reason = format!("{} forgotten: {}", broker.label(), forgotten.reason);
        self.record(id, Transition::new("", TransitionKind::BrokerForgotten, actor).reason(reason)).await?;
        tracing::info!(migration = %id, %side, broker = %name, %actor, reason = %forgotten.reason, "broker forgotten");
        Ok(broker)
    }
}
