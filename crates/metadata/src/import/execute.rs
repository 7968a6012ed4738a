//! Carries out an [`ImportPlan`] on a live target: each item's configs written to its masters
//! (accounts to every broker), a result per item with the target's own answer when it refuses.
//! Items run concurrently (bounded); one failing item never stops the others.

use std::collections::BTreeMap;

use ferry_admin::{Admin, Cluster};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::plan::{Action, Config, ImportPlan, ItemKind, PlannedItem};

mod account;

/// What happened to one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status", content = "cause")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemOutcome {
    pub kind: ItemKind,
    pub source_name: String,
    pub target_name: String,
    pub namespace: String,
    pub outcome: Outcome,
    pub warnings: Vec<String>,
}

/// Runs `plan` against `cluster` (the layout it was planned on), `concurrency` items at a time,
/// calling `on_item` as each finishes. Returns the outcomes in plan order.
pub async fn execute(
    admin: &Admin,
    cluster: &Cluster,
    plan: &ImportPlan,
    concurrency: usize,
    on_item: &(dyn Fn(&ItemOutcome) + Sync),
) -> Vec<ItemOutcome> {
    let masters: BTreeMap<&str, &str> = cluster.masters().collect();
    // Accounts go to every broker of a broker name, slaves too: each keeps its own (the plain ACL
    // file on its host, 5.3 auth metadata in its store), and `mqadmin ... -c` writes them all.
    let everyone: BTreeMap<&str, Vec<&str>> = cluster
        .brokers
        .iter()
        .filter_map(|b| {
            let master = b.master.as_deref()?;
            Some((
                b.name.as_str(),
                std::iter::once(master).chain(b.slaves.values().map(String::as_str)).collect(),
            ))
        })
        .collect();
    // By index, not `&item`: a closure over a borrowed item makes the future impossible to prove
    // `Send` (rustc #102211), and servers run imports on multi-threaded runtimes.
    stream::iter(0..plan.items.len())
        .map(|i| {
            let (masters, everyone, item) = (&masters, &everyone, &plan.items[i]);
            async move {
                let outcome = match item.kind {
                    ItemKind::Account => account::run(admin, everyone, item).await,
                    ItemKind::Topic | ItemKind::Group => run_item(admin, masters, item).await,
                };
                let outcome = ItemOutcome {
                    kind: item.kind,
                    source_name: item.source_name.clone(),
                    target_name: item.target_name.clone(),
                    namespace: item.namespace.clone(),
                    outcome,
                    warnings: item.warnings.clone(),
                };
                on_item(&outcome);
                outcome
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

async fn run_item(admin: &Admin, masters: &BTreeMap<&str, &str>, item: &PlannedItem) -> Outcome {
    let (per_broker, done) = match &item.action {
        Action::Unchanged => return Outcome::Unchanged,
        Action::Fail { cause } => return Outcome::Failed(cause.clone()),
        Action::Create { per_broker } => (per_broker, Outcome::Created),
        Action::Update { per_broker, .. } => (per_broker, Outcome::Updated),
    };
    let mut written = Vec::new();
    for (broker, config) in per_broker {
        let Some(addr) = masters.get(broker.as_str()) else {
            return Outcome::Failed(format!("broker {broker} has no master in the target cluster"));
        };
        let result = match config {
            Config::Topic(t) => admin.create_or_update_topic(addr, t).await,
            Config::Group(g) => admin.create_or_update_group(addr, g).await,
            Config::Account(_) => {
                return Outcome::Failed("an account config in a topic or group item".into())
            }
        };
        if let Err(e) = result {
            let partial = if written.is_empty() {
                String::new()
            } else {
                format!(" (already written on {}; running the task again completes it)", written.join(", "))
            };
            return Outcome::Failed(format!("{e}{partial}"));
        }
        written.push(broker.clone());
    }
    // An ordered topic is also recorded on the NameServers, as `mqadmin updateTopic -o true` does:
    // 4.x brokers take `order` from there (not from the create request), and routes carry it.
    let ordered: Vec<String> = per_broker
        .iter()
        .filter_map(|(broker, config)| match config {
            Config::Topic(t) if t.order => Some(format!("{broker}:{}", t.write_queue_nums)),
            _ => None,
        })
        .collect();
    if !ordered.is_empty() {
        if let Err(e) = admin.put_order_topic_conf(&item.target_name, &ordered.join(";")).await {
            return Outcome::Failed(format!(
                "written on {}, but the NameServer's ordered-topic record failed: {e}; running the task again completes it",
                written.join(", ")
            ));
        }
    }
    done
}
