//! Step 2 of a seamless migration: the topics and groups of the migration's source, read live, each
//! with its status (imported, or to be imported after confirmation), what importing it would do
//! (with queue-number warnings and the target's objections), the groups that consume each topic
//! (a committed offset on the source), and the stage of the topics already in the migration. It
//! is `ferry import --source-namesrv ... --plan` against the migration's target, plus the
//! migration's own view; nothing is written.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::Json;
use ferry_control::migration::Migration;
use ferry_metadata::import::{Filter, ImportOptions, ItemKind, Selection};
use ferry_proxy::Stage;
use serde::Serialize;

use crate::error::ApiError;
use crate::handlers::{migration_id, ApiResult};
use crate::imports::{plan_on_target, read_live_source};
use crate::plan_view::{item_view, topic_facts, ItemView};
use crate::ApiState;

/// Imported: its metadata is on the target as the source has it, or it is part of the migration.
const IMPORTED: &str = "imported";
/// Not on the target yet (or there with other settings): confirming imports it.
const TO_IMPORT: &str = "to_import";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceTopic {
    topic: String,
    /// `imported` or `to_import`.
    status: &'static str,
    /// Its stage when it is part of the migration.
    stage: Option<Stage>,
    /// The groups its checks cover, when it is part of the migration.
    groups: Vec<String>,
    /// Groups that committed an offset on it on the source: what confirming it checks by default.
    consumer_groups: Vec<String>,
    /// What importing it to the target would do.
    plan: ItemView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceGroup {
    group: String,
    status: &'static str,
    /// Topics it has committed offsets on, on the source.
    topics: Vec<String>,
    plan: ItemView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceView {
    /// `namesrv/cluster` of the source.
    source: String,
    topics: Vec<SourceTopic>,
    groups: Vec<SourceGroup>,
    warnings: Vec<String>,
    queue_mapping: String,
}

/// `topic -> groups` from the committed offsets (`topic@group`) on every master of the source.
async fn consumers_by_topic(m: &Migration) -> ApiResult<BTreeMap<String, BTreeSet<String>>> {
    let admin = m.source.admin().map_err(|e| ApiError::cluster("source cluster", &e))?;
    let cluster =
        admin.cluster(&m.source.cluster).await.map_err(|e| ApiError::cluster("source cluster", &e))?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, master) in cluster.masters() {
        let offsets =
            admin.committed_offsets(master).await.map_err(|e| ApiError::cluster("source cluster", &e))?;
        for (topic, group) in offsets.into_keys() {
            out.entry(topic).or_default().insert(group);
        }
    }
    Ok(out)
}

/// `GET /api/migrations/{id}/source`.
pub async fn source(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<SourceView>> {
    let id = migration_id(&id)?;
    let m = state.engine.migration(id).await?;
    let in_migration: BTreeMap<String, (Stage, Vec<String>)> =
        state.engine.topics(id).await?.into_iter().map(|t| (t.topic, (t.stage, t.groups))).collect();
    let source = read_live_source(&m).await?;
    let options = ImportOptions {
        selection: Selection { topics: Filter::All, groups: Filter::All, accounts: Filter::None },
        ..ImportOptions::default()
    };
    let planned = plan_on_target(&source.doc, &m.target, &options).await?;
    let consumers = consumers_by_topic(&m).await?;
    let facts = topic_facts(&source.doc);
    let no_groups = BTreeMap::new();
    let mut topics = Vec::new();
    let mut groups = Vec::new();
    for item in &planned.plan.items {
        let plan = item_view(item, &facts, &no_groups);
        match item.kind {
            ItemKind::Topic => {
                let member = in_migration.get(&item.source_name);
                let status =
                    if member.is_some() || plan.action == "unchanged" { IMPORTED } else { TO_IMPORT };
                topics.push(SourceTopic {
                    topic: item.source_name.clone(),
                    status,
                    stage: member.map(|(s, _)| *s),
                    groups: member.map(|(_, g)| g.clone()).unwrap_or_default(),
                    consumer_groups: consumers
                        .get(&item.source_name)
                        .map(|g| g.iter().cloned().collect())
                        .unwrap_or_default(),
                    plan,
                });
            }
            ItemKind::Group => groups.push(SourceGroup {
                group: item.source_name.clone(),
                status: if plan.action == "unchanged" { IMPORTED } else { TO_IMPORT },
                topics: consumers
                    .iter()
                    .filter(|(_, g)| g.contains(&item.source_name))
                    .map(|(t, _)| t.clone())
                    .collect(),
                plan,
            }),
            ItemKind::Account => {}
        }
    }
    Ok(Json(SourceView {
        source: format!("{}/{}", m.source.namesrv, m.source.cluster),
        topics,
        groups,
        warnings: planned.plan.warnings.clone(),
        queue_mapping: planned.plan.queue_mapping_explained.clone(),
    }))
}
