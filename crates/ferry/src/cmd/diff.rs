//! `ferry diff`: compares a source (a document or a live cluster) with a target cluster: what is
//! missing on the target, what differs (field by field), what only the target has; topics, groups
//! and, when the document has them, ACL accounts (secrets compared, never shown). `--plan` prints
//! exactly what `ferry import` would do instead. Writes nothing.

use std::path::PathBuf;

use std::collections::BTreeSet;

use anyhow::Result;
use clap::Args;
use ferry_metadata::import::{self, Action, ImportOptions, ItemKind};
use ferry_metadata::system;
use serde::Serialize;

use crate::cluster_args::ClusterArgs;
use crate::cmd::import::{kind_name, planning_error, print_plan};
use crate::source_args::SourceArgs;

#[derive(Args)]
pub struct DiffArgs {
    /// The target cluster.
    #[command(flatten)]
    target: ClusterArgs,
    #[command(flatten)]
    source: SourceArgs,
    /// Print what an import with default options would do, item by item, instead of the differences.
    #[arg(long)]
    plan: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The target broker host's plain_acl.yml (4.x ACL 1.0 targets), to compare accounts with.
    #[arg(long)]
    target_acl_file: Option<PathBuf>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Diff {
    /// On the source, not on the target.
    missing: Vec<Entry>,
    /// On both, with other settings.
    different: Vec<Entry>,
    /// The same on both.
    same: Vec<Entry>,
    /// On the source, but not importable as it is (name rules, limits...).
    invalid: Vec<Entry>,
    /// Only on the target (business topics and groups; system ones are not listed).
    extra: Vec<Entry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<String>,
}

pub async fn run(args: DiffArgs) -> Result<()> {
    let doc = args.source.document().await?;
    let admin = args.target.admin(false)?;
    let cluster_name = args.target.cluster_name(&admin, false, "Choose the target cluster").await?;
    let cluster = admin.cluster(&cluster_name).await?;
    // With overwrite, an item that exists with other settings plans as an update listing its
    // differences, rather than failing: what a diff wants to show.
    let options =
        ImportOptions { overwrite: !args.plan, per_task_limit: usize::MAX, ..ImportOptions::default() };
    let (layout, plan) =
        import::plan_on_target(&admin, &cluster, &doc, &options, args.target_acl_file.as_deref())
            .await
            .map_err(planning_error)?;
    if args.plan {
        return print_plan(&plan, args.json);
    }

    let mut diff = Diff::default();
    for item in &plan.items {
        let entry = |details| Entry { kind: kind_name(item.kind), name: item.target_name.clone(), details };
        match &item.action {
            Action::Create { .. } => diff.missing.push(entry(vec![])),
            Action::Update { differences, .. } => diff.different.push(entry(
                differences
                    .iter()
                    .map(|d| format!("{} on {}: target {}, source {}", d.field, d.broker, d.target, d.source))
                    .collect(),
            )),
            Action::Unchanged => diff.same.push(entry(vec![])),
            Action::Fail { cause } => diff.invalid.push(entry(vec![cause.clone()])),
        }
    }
    let planned: BTreeSet<(ItemKind, &str)> =
        plan.items.iter().map(|i| (i.kind, i.target_name.as_str())).collect();
    let brokers: Vec<String> = cluster.brokers.iter().map(|b| b.name.clone()).collect();
    let target_topics: BTreeSet<&String> = layout.topics.values().flat_map(|t| t.keys()).collect();
    for name in target_topics {
        let business =
            !system::is_retry_or_dlq_topic(name) && !system::is_system_topic(name, &cluster.name, &brokers);
        if business && !planned.contains(&(ItemKind::Topic, name.as_str())) {
            diff.extra.push(Entry { kind: "topic", name: name.clone(), details: vec![] });
        }
    }
    let target_groups: BTreeSet<&String> = layout.groups.values().flat_map(|g| g.keys()).collect();
    for name in target_groups {
        if !system::is_system_group(name) && !planned.contains(&(ItemKind::Group, name.as_str())) {
            diff.extra.push(Entry { kind: "group", name: name.clone(), details: vec![] });
        }
    }

    // Accounts only the target has, when its accounts could be read.
    if let Some(known) = &layout.accounts {
        let names = known.plain.keys().chain(known.users.keys());
        for name in names.collect::<BTreeSet<_>>() {
            if !planned.contains(&(ItemKind::Account, name.as_str())) {
                diff.extra.push(Entry { kind: "account", name: name.clone(), details: vec![] });
            }
        }
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
        return Ok(());
    }
    for (title, entries) in [
        ("missing on the target", &diff.missing),
        ("different", &diff.different),
        ("not importable", &diff.invalid),
        ("only on the target", &diff.extra),
    ] {
        if entries.is_empty() {
            continue;
        }
        println!("{title}:");
        for e in entries {
            println!("  {:6} {}", e.kind, e.name);
            for d in &e.details {
                println!("         {d}");
            }
        }
    }
    println!(
        "{} missing, {} different, {} the same, {} not importable, {} only on the target",
        diff.missing.len(),
        diff.different.len(),
        diff.same.len(),
        diff.invalid.len(),
        diff.extra.len()
    );
    Ok(())
}
