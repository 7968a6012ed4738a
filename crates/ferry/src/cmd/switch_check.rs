//! `ferry switch-check`: for every group, whether its clients may switch from the source cluster to
//! the target, and in which order. Consumers move first (they read both clusters for a while), then
//! producers, then the last consumers leave the source once its backlog is drained. The other order
//! loses messages: a group that starts on the target from the last offset after producers moved
//! skips what they wrote first, and consumers that leave the source early strand its backlog.
//!
//! Producers are inferred from writes: RocketMQ 4.x has no API listing producer groups, so a topic
//! that received messages on the source within `--quiet-minutes` counts as still written there.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use ferry_admin::{backlog_by_topic, Admin, AdminOptions, Cluster, Credentials, TopicWrites};
use ferry_metadata::system;
use serde::Serialize;

use crate::exit::Usage;

const PRODUCER_NOTE: &str = "producers are inferred from writes: RocketMQ 4.x has no API listing \
producer groups, so a topic that stored messages on the source within the quiet window counts as \
still written there";

#[derive(Args)]
pub struct SwitchCheckArgs {
    /// Source NameServer address list, `host:port;host:port`.
    #[arg(long)]
    source_namesrv: String,
    /// Source cluster; may be left out when its NameServer knows only one.
    #[arg(long)]
    source_cluster: Option<String>,
    #[arg(long, env = "FERRY_SOURCE_ACCESS_KEY")]
    source_access_key: Option<String>,
    #[arg(long, env = "FERRY_SOURCE_SECRET_KEY", hide_env_values = true)]
    source_secret_key: Option<String>,
    /// Target NameServer address list.
    #[arg(long)]
    target_namesrv: String,
    /// Target cluster; may be left out when its NameServer knows only one.
    #[arg(long)]
    target_cluster: Option<String>,
    #[arg(long, env = "FERRY_TARGET_ACCESS_KEY")]
    target_access_key: Option<String>,
    #[arg(long, env = "FERRY_TARGET_SECRET_KEY", hide_env_values = true)]
    target_secret_key: Option<String>,
    /// Only these groups (repeatable); default: every non-system group of the source.
    #[arg(long, short = 'g')]
    group: Vec<String>,
    /// A topic that stored a message on the source within this many minutes is still written there.
    #[arg(long, default_value_t = 5)]
    quiet_minutes: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// How long to wait for each NameServer or broker answer.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct Verdict {
    ok: bool,
    reason: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct TopicCheck {
    topic: String,
    /// The group's backlog on this topic on the source.
    source_backlog: i64,
    on_source: bool,
    /// Store time of the newest message on the source (ms since the epoch).
    source_last_write_ms: Option<i64>,
    written_recently: bool,
    on_target: bool,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct GroupCheck {
    group: String,
    source_consumers: usize,
    source_client_ids: BTreeSet<String>,
    target_consumers: usize,
    target_client_ids: BTreeSet<String>,
    group_on_target: bool,
    topics: Vec<TopicCheck>,
    /// Backlog on the source, the retry topic included.
    source_backlog: i64,
    retry_backlog: i64,
    /// Topics still written on the source within the quiet window.
    producers_writing_source: Vec<String>,
    consumers_may_move: Verdict,
    producers_may_move: Verdict,
    source_consumers_may_leave: Verdict,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Step {
    step: u32,
    action: String,
    ready: Vec<String>,
    not_ready: Vec<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct SwitchReport {
    source_cluster: String,
    target_cluster: String,
    quiet_minutes: u64,
    checked_at_ms: i64,
    producer_note: &'static str,
    groups: Vec<GroupCheck>,
    steps: Vec<Step>,
}

fn admin(namesrv: &str, ak: &Option<String>, sk: &Option<String>, side: &str, timeout: u64) -> Result<Admin> {
    let credentials = match (ak, sk) {
        (Some(ak), Some(sk)) => Some(Credentials::new(ak, sk)),
        (None, None) => None,
        _ => {
            return Err(
                Usage(format!("give both --{side}-access-key and --{side}-secret-key, or neither")).into()
            )
        }
    };
    let request_timeout = Duration::from_secs(timeout.max(1));
    Ok(Admin::new(namesrv, AdminOptions { credentials, request_timeout, ..AdminOptions::default() })?)
}

async fn cluster(admin: &Admin, name: &Option<String>, side: &str) -> Result<Cluster> {
    if let Some(n) = name {
        return Ok(admin.cluster(n).await?);
    }
    let mut all = admin.clusters().await.with_context(|| format!("listing {side} clusters"))?;
    match all.len() {
        0 => anyhow::bail!("the {side} NameServer at {} knows no cluster", admin.namesrvs().join(";")),
        1 => Ok(all.remove(0)),
        _ => {
            let names: Vec<_> = all.iter().map(|c| c.name.as_str()).collect();
            Err(Usage(format!("--{side}-cluster is required; clusters: {}", names.join(", "))).into())
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub async fn run(args: SwitchCheckArgs) -> Result<()> {
    let t = args.timeout_secs;
    let source = admin(&args.source_namesrv, &args.source_access_key, &args.source_secret_key, "source", t)?;
    let target = admin(&args.target_namesrv, &args.target_access_key, &args.target_secret_key, "target", t)?;
    let source_cluster = cluster(&source, &args.source_cluster, "source").await?;
    let target_cluster = cluster(&target, &args.target_cluster, "target").await?;

    let groups = if args.group.is_empty() {
        let mut all = source.group_names(&source_cluster).await.context("listing source groups")?;
        all.retain(|g| !system::is_system_group(g));
        all
    } else {
        args.group.clone()
    };
    let target_groups: BTreeSet<String> =
        target.group_names(&target_cluster).await.context("listing target groups")?.into_iter().collect();
    let target_topics = target.topic_names(&target_cluster).await.context("listing target topics")?;

    let checked_at_ms = now_ms();
    let cutoff_ms = checked_at_ms - (args.quiet_minutes as i64).saturating_mul(60_000);
    let mut writes: BTreeMap<String, TopicWrites> = BTreeMap::new();
    let mut checks = Vec::new();
    for group in &groups {
        let on_source = source.group_consumers(&source_cluster, group).await?;
        let on_target = target.group_consumers(&target_cluster, group).await?;
        let retry_topic = format!("%RETRY%{group}");
        let mut asked: BTreeSet<String> = on_source.topics.union(&on_target.topics).cloned().collect();
        asked.insert(retry_topic.clone());
        let offsets = source.group_backlog(&source_cluster, group, &asked).await?;
        let backlog = backlog_by_topic(&offsets);
        let mut topics: BTreeSet<String> = asked;
        topics.extend(backlog.keys().cloned());
        topics.retain(|t| !t.starts_with("%RETRY%") && !t.starts_with("%DLQ%"));

        let mut topic_checks = Vec::new();
        for topic in &topics {
            if !writes.contains_key(topic) {
                let w = source.topic_writes(&source_cluster, topic).await?;
                writes.insert(topic.clone(), w);
            }
            let w = &writes[topic];
            topic_checks.push(TopicCheck {
                topic: topic.clone(),
                source_backlog: backlog.get(topic).copied().unwrap_or(0),
                on_source: w.exists,
                source_last_write_ms: w.last_write_ms,
                written_recently: w.last_write_ms.is_some_and(|ms| ms > cutoff_ms),
                on_target: target_topics.contains(topic),
            });
        }
        let retry_backlog = backlog.get(&retry_topic).copied().unwrap_or(0);
        let source_backlog = offsets.backlog();
        let group_on_target = target_groups.contains(group);
        let writing: Vec<String> =
            topic_checks.iter().filter(|t| t.written_recently).map(|t| t.topic.clone()).collect();
        let missing: Vec<&str> =
            topic_checks.iter().filter(|t| !t.on_target).map(|t| t.topic.as_str()).collect();

        let consumers_may_move = match (group_on_target, missing.is_empty(), topics.is_empty()) {
            (false, _, _) => Verdict {
                ok: false,
                reason: format!("group {group} does not exist on the target; import it first"),
            },
            (true, false, _) => Verdict {
                ok: false,
                reason: format!("topic(s) missing on the target: {}; import them first", missing.join(", ")),
            },
            (true, true, true) => Verdict {
                ok: true,
                reason: "the group exists on the target (its topics are unknown: no consumer online, \
                         no committed offset; check they exist on the target)"
                    .into(),
            },
            (true, true, false) => Verdict {
                ok: true,
                reason: "the group and its topics exist on the target; start its consumers there and \
                         keep those on the source running"
                    .into(),
            },
        };
        let producers_may_move = if !consumers_may_move.ok {
            Verdict {
                ok: false,
                reason: format!("its consumers cannot move yet ({})", consumers_may_move.reason),
            }
        } else if on_target.online() == 0 {
            Verdict {
                ok: false,
                reason: "no consumer of the group is online on the target: a group that starts there from \
                         the last offset after producers moved would skip what they wrote first"
                    .into(),
            }
        } else {
            Verdict {
                ok: true,
                reason: format!(
                    "{} consumer(s) of the group are online on the target and read what producers write there",
                    on_target.online()
                ),
            }
        };
        let mut blockers = Vec::new();
        if source_backlog > 0 {
            blockers.push(format!(
                "the source still holds {source_backlog} unconsumed message(s) (retry topic: {retry_backlog})"
            ));
        }
        if !writing.is_empty() {
            blockers.push(format!(
                "{} got new messages on the source in the last {} minute(s): producers still write there",
                writing.join(", "),
                args.quiet_minutes
            ));
        }
        if topics.is_empty() {
            blockers.push(
                "Ferry cannot tell which topics the group reads (no consumer online, no committed offset)"
                    .into(),
            );
        }
        let source_consumers_may_leave = if blockers.is_empty() {
            Verdict {
                ok: true,
                reason: format!(
                    "backlog on the source is 0 (retry included) and no new messages in the last {} minute(s)",
                    args.quiet_minutes
                ),
            }
        } else {
            Verdict { ok: false, reason: blockers.join("; ") }
        };
        checks.push(GroupCheck {
            group: group.clone(),
            source_consumers: on_source.online(),
            source_client_ids: on_source.client_ids,
            target_consumers: on_target.online(),
            target_client_ids: on_target.client_ids,
            group_on_target,
            topics: topic_checks,
            source_backlog,
            retry_backlog,
            producers_writing_source: writing,
            consumers_may_move,
            producers_may_move,
            source_consumers_may_leave,
        });
    }

    let step = |n: u32, action: &str, pick: fn(&GroupCheck) -> &Verdict| {
        let (ready, not_ready): (Vec<&GroupCheck>, Vec<&GroupCheck>) =
            checks.iter().partition(|c| pick(c).ok);
        Step {
            step: n,
            action: action.to_string(),
            ready: ready.iter().map(|c| c.group.clone()).collect(),
            not_ready: not_ready.iter().map(|c| c.group.clone()).collect(),
        }
    };
    let steps = vec![
        step(1, "start the consumers on the target (keep those on the source running)", |c| {
            &c.consumers_may_move
        }),
        step(2, "move the producers to the target", |c| &c.producers_may_move),
        step(3, "once the source backlog has drained, stop the remaining consumers on the source", |c| {
            &c.source_consumers_may_leave
        }),
    ];
    let report = SwitchReport {
        source_cluster: source_cluster.name.clone(),
        target_cluster: target_cluster.name.clone(),
        quiet_minutes: args.quiet_minutes,
        checked_at_ms,
        producer_note: PRODUCER_NOTE,
        groups: checks,
        steps,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn ago(now_ms: i64, ms: Option<i64>) -> String {
    match ms {
        None => "never".into(),
        Some(ms) => {
            let s = (now_ms - ms).max(0) / 1000;
            match s {
                0..=59 => format!("{s}s ago"),
                60..=3599 => format!("{}m{}s ago", s / 60, s % 60),
                3600..=86_399 => format!("{}h{}m ago", s / 3600, (s % 3600) / 60),
                _ => format!("{}d ago", s / 86_400),
            }
        }
    }
}

fn mark(v: &Verdict) -> &'static str {
    if v.ok {
        "yes"
    } else {
        "NO "
    }
}

fn print_report(r: &SwitchReport) {
    println!(
        "switch check: source cluster {} -> target cluster {} (quiet window {} min)",
        r.source_cluster, r.target_cluster, r.quiet_minutes
    );
    println!("note: {}", r.producer_note);
    for g in &r.groups {
        println!();
        println!("group {}", g.group);
        let ids = |s: &BTreeSet<String>| {
            if s.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.iter().cloned().collect::<Vec<_>>().join(", "))
            }
        };
        println!("  consumers on source: {}{}", g.source_consumers, ids(&g.source_client_ids));
        println!("  consumers on target: {}{}", g.target_consumers, ids(&g.target_client_ids));
        println!("  group on target: {}", if g.group_on_target { "exists" } else { "missing" });
        if !g.topics.is_empty() {
            let w = g.topics.iter().map(|t| t.topic.len()).chain([5]).max().unwrap_or(5);
            println!(
                "  {:w$}  {:>10}  {:>16}  {:>8}  {:>6}",
                "TOPIC", "BACKLOG", "LAST WRITE (SRC)", "WRITING", "TARGET"
            );
            for t in &g.topics {
                let last =
                    if t.on_source { ago(r.checked_at_ms, t.source_last_write_ms) } else { "absent".into() };
                println!(
                    "  {:w$}  {:>10}  {:>16}  {:>8}  {:>6}",
                    t.topic,
                    t.source_backlog,
                    last,
                    if t.written_recently { "yes" } else { "no" },
                    if t.on_target { "yes" } else { "NO" }
                );
            }
        }
        println!("  backlog on source: {} (retry topic: {})", g.source_backlog, g.retry_backlog);
        println!("  [{}] consumers may move: {}", mark(&g.consumers_may_move), g.consumers_may_move.reason);
        println!("  [{}] producers may move: {}", mark(&g.producers_may_move), g.producers_may_move.reason);
        println!(
            "  [{}] last consumers may leave the source: {}",
            mark(&g.source_consumers_may_leave),
            g.source_consumers_may_leave.reason
        );
    }
    println!();
    println!("safe order (the other order loses messages):");
    for s in &r.steps {
        let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        println!("  {}. {}", s.step, s.action);
        println!("     ready: {}", list(&s.ready));
        println!("     not yet: {}", list(&s.not_ready));
    }
}
