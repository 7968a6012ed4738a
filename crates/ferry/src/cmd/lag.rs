//! `ferry lag`: backlog (messages stored but not yet consumed) per group, topic and queue on one
//! cluster, with totals. Retry topics (`%RETRY%<group>`) count too: their messages are still owed.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use ferry_admin::GroupOffsets;
use ferry_metadata::system;
use serde::Serialize;

use crate::cluster_args::ClusterArgs;
use crate::table::Table;

#[derive(Args)]
pub struct LagArgs {
    #[command(flatten)]
    source: ClusterArgs,
    /// Only these groups (repeatable); default: every group of the cluster.
    #[arg(long, short = 'g')]
    group: Vec<String>,
    /// Only this topic.
    #[arg(long, short = 't')]
    topic: Option<String>,
    /// One row per queue instead of per group and topic.
    #[arg(long)]
    queues: bool,
    /// Include system groups.
    #[arg(long)]
    include_system: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One row: a group's backlog on a topic (and queue, with `--queues`).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct LagRow {
    group: String,
    topic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    broker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_id: Option<i32>,
    broker_offset: i64,
    consumer_offset: i64,
    lag: i64,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct LagReport {
    cluster: String,
    rows: Vec<LagRow>,
    /// Group to its total backlog.
    group_totals: BTreeMap<String, i64>,
    total: i64,
}

pub async fn run(args: LagArgs) -> Result<()> {
    let admin = args.source.admin(false)?;
    let cluster_name = args.source.cluster_name(&admin, false, "Choose a cluster").await?;
    let cluster = admin.cluster(&cluster_name).await?;
    let groups = if args.group.is_empty() {
        let mut all = admin.group_names(&cluster).await?;
        if !args.include_system {
            all.retain(|g| !system::is_system_group(g));
        }
        all
    } else {
        args.group.clone()
    };
    let offsets = admin.groups_offsets(&cluster, &groups, 8).await?;
    let report = report(&cluster_name, &offsets, args.topic.as_deref(), args.queues);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report, args.queues);
    }
    Ok(())
}

fn report(cluster: &str, offsets: &[GroupOffsets], topic: Option<&str>, per_queue: bool) -> LagReport {
    let mut rows = Vec::new();
    let mut group_totals = BTreeMap::new();
    for g in offsets {
        let mut by_topic: BTreeMap<&str, LagRow> = BTreeMap::new();
        for (q, o) in g.queues.iter().filter(|(q, _)| topic.is_none_or(|t| q.topic == t)) {
            *group_totals.entry(g.group.clone()).or_insert(0) += o.backlog();
            if per_queue {
                rows.push(LagRow {
                    group: g.group.clone(),
                    topic: q.topic.clone(),
                    broker: Some(q.broker_name.clone()),
                    queue_id: Some(q.queue_id),
                    broker_offset: o.broker_offset,
                    consumer_offset: o.consumer_offset,
                    lag: o.backlog(),
                });
            } else {
                let row = by_topic.entry(&q.topic).or_insert_with(|| LagRow {
                    group: g.group.clone(),
                    topic: q.topic.clone(),
                    broker: None,
                    queue_id: None,
                    broker_offset: 0,
                    consumer_offset: 0,
                    lag: 0,
                });
                row.broker_offset += o.broker_offset;
                row.consumer_offset += o.consumer_offset;
                row.lag += o.backlog();
            }
        }
        rows.extend(by_topic.into_values());
        group_totals.entry(g.group.clone()).or_insert(0);
    }
    let total = group_totals.values().sum();
    LagReport { cluster: cluster.to_string(), rows, group_totals, total }
}

fn print_table(r: &LagReport, per_queue: bool) {
    let table = if per_queue {
        Table::new(&["GROUP", "TOPIC", "BROKER", "QUEUE", "BROKER OFFSET", "CONSUMER OFFSET", "LAG"])
            .right(&[3, 4, 5, 6])
            .with_rows(r.rows.iter().map(|x| {
                vec![
                    x.group.clone(),
                    x.topic.clone(),
                    x.broker.clone().unwrap_or_default(),
                    x.queue_id.unwrap_or_default().to_string(),
                    x.broker_offset.to_string(),
                    x.consumer_offset.to_string(),
                    x.lag.to_string(),
                ]
            }))
    } else {
        Table::new(&["GROUP", "TOPIC", "LAG"])
            .right(&[2])
            .with_rows(r.rows.iter().map(|x| vec![x.group.clone(), x.topic.clone(), x.lag.to_string()]))
    };
    table.print();
    println!();
    for (g, t) in &r.group_totals {
        println!("group {g}: {t}");
    }
    println!("total lag on cluster {}: {}", r.cluster, r.total);
}
