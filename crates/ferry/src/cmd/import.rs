//! `ferry import`: topics, subscription groups and ACL accounts of a metadata document (a Ferry
//! export, an Apache export.sh / `mqadmin exportMetadata` file) or of a live source cluster, into
//! a target cluster: planned first (nothing is written while any check runs), then written item by
//! item, with a result per item. Running it again is safe: what exists unchanged is left alone.
//! Account secrets are written to the target but never printed or recorded.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Result;
use clap::{Args, ValueEnum};
use ferry_metadata::import::{
    self, Action, Filter, ImportOptions, ImportPlan, ItemKind, ItemOutcome, Mode, Outcome, PlanOnTargetError,
    QueueMapping, Selection, WhiteAddresses,
};
use indicatif::{ProgressBar, ProgressStyle};

use ferry_control::task::NewImportTask;
use ferry_control::Store;

use crate::cluster_args::ClusterArgs;
use crate::cmd::tasks::StoreArgs;
use crate::exit::{SomeItemsFailed, Usage};
use crate::source_args::SourceArgs;

#[derive(Args)]
pub struct ImportArgs {
    /// The target cluster.
    #[command(flatten)]
    target: ClusterArgs,
    #[command(flatten)]
    source: SourceArgs,
    /// Keep each item's namespace (`cluster`) or put every item in --namespace (`namespace`).
    #[arg(long, value_enum, default_value_t = ModeArg::Cluster)]
    mode: ModeArg,
    /// The namespace for --mode namespace: names become `NS%name`.
    #[arg(long, required_if_eq("mode", "namespace"))]
    namespace: Option<String>,
    /// Topics to import, by name or pattern (`*` wildcard), comma separated; default all.
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// Groups to import, by name or pattern, comma separated; default all.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// ACL accounts to import, by access key / username or pattern, comma separated or repeated;
    /// default all the document has.
    #[arg(long, alias = "account", value_delimiter = ',')]
    accounts: Vec<String>,
    #[arg(long, conflicts_with = "topics")]
    no_topics: bool,
    #[arg(long, conflicts_with = "groups")]
    no_groups: bool,
    #[arg(long, conflicts_with = "accounts")]
    no_accounts: bool,
    /// The target broker host's plain_acl.yml (4.x ACL 1.0 targets, which cannot list accounts
    /// over the wire): read to compare accounts with. Without it an account of the same name is
    /// replaced.
    #[arg(long)]
    target_acl_file: Option<PathBuf>,
    /// What becomes of an ACL 1.0 whiteRemoteAddress on an ACL 2.0 (5.3+) target: left out
    /// (`drop`), or the account's sourceIps (`source-ips`, the account then works only from there).
    #[arg(long, value_enum, default_value_t = WhiteAddressesArg::Drop)]
    white_addresses: WhiteAddressesArg,
    /// Queue numbers per target master as the source broker had them, or the source total spread
    /// over the target masters.
    #[arg(long, value_enum, default_value_t = QueueMappingArg::PerBroker)]
    queue_mapping: QueueMappingArg,
    /// Smallest and largest queue number the target takes; others are fitted, with a warning.
    #[arg(long, default_value_t = 3)]
    min_queues: i32,
    #[arg(long, default_value_t = 16)]
    max_queues: i32,
    /// At most this many topics and this many groups per task; the rest fail as over the limit.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Update items the target has with other settings (otherwise they fail, showing both sides).
    #[arg(long)]
    overwrite: bool,
    /// Target masters to import onto, comma separated; default all.
    #[arg(long, value_delimiter = ',')]
    brokers: Vec<String>,
    /// Print what the import would do and write nothing.
    #[arg(long)]
    plan: bool,
    /// Items written at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Cluster,
    Namespace,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WhiteAddressesArg {
    Drop,
    SourceIps,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum QueueMappingArg {
    PerBroker,
    ClusterTotal,
}

fn filter(names: &[String], none: bool) -> Filter {
    match (none, names.is_empty()) {
        (true, _) => Filter::None,
        (false, true) => Filter::All,
        (false, false) => Filter::Names(names.to_vec()),
    }
}

pub async fn run(args: ImportArgs) -> Result<()> {
    let doc = args.source.document().await?;
    let admin = args.target.admin(false)?;
    let cluster_name = args.target.cluster_name(&admin, false, "Choose the target cluster").await?;
    let cluster = admin.cluster(&cluster_name).await?;
    let options = ImportOptions {
        mode: match args.mode {
            ModeArg::Cluster => Mode::ToCluster,
            ModeArg::Namespace => Mode::ToNamespace(args.namespace.clone().unwrap_or_default()),
        },
        selection: Selection {
            topics: filter(&args.topics, args.no_topics),
            groups: filter(&args.groups, args.no_groups),
            accounts: filter(&args.accounts, args.no_accounts),
        },
        queue_mapping: match args.queue_mapping {
            QueueMappingArg::PerBroker => QueueMapping::PerBroker,
            QueueMappingArg::ClusterTotal => QueueMapping::ClusterTotal,
        },
        queue_range: args.min_queues..=args.max_queues,
        per_task_limit: args.limit,
        overwrite: args.overwrite,
        brokers: (!args.brokers.is_empty()).then(|| args.brokers.clone()),
        white_addresses: match args.white_addresses {
            WhiteAddressesArg::Drop => WhiteAddresses::Drop,
            WhiteAddressesArg::SourceIps => WhiteAddresses::ToSourceIps,
        },
    };
    let (_, plan) = import::plan_on_target(&admin, &cluster, &doc, &options, args.target_acl_file.as_deref())
        .await
        .map_err(planning_error)?;

    if args.plan {
        print_plan(&plan, args.json)?;
        return Ok(());
    }

    let bar = ProgressBar::hidden();
    if std::io::stderr().is_terminal() && !args.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("template"));
    }
    bar.set_length(plan.items.len() as u64);
    // The task and each item's result go to the store as they happen: an import cut short keeps
    // the record of what it did.
    let store_location = args.store.location()?;
    let store = Store::open_location(&store_location).await?;
    let task = store
        .create_import_task(NewImportTask {
            target_namesrv: admin.namesrvs().join(";"),
            target_cluster: cluster.name.clone(),
            source: match (&args.source.from, &args.source.source_namesrv, &args.source.source_cluster) {
                (Some(path), _, _) => path.display().to_string(),
                (None, Some(ns), Some(c)) => format!("live:{ns}/{c}"),
                _ => String::new(),
            },
            mode: match &options.mode {
                Mode::ToCluster => "cluster".into(),
                Mode::ToNamespace(ns) => format!("namespace:{ns}"),
            },
        })
        .await?;
    let failed = Mutex::new(0usize);
    let on_item = |o: &ItemOutcome| {
        if matches!(o.outcome, Outcome::Failed(_)) {
            *failed.lock().expect("counter") += 1;
        }
        bar.set_message(o.target_name.clone());
        bar.inc(1);
    };
    let carried = store.carry_out_import(task, &admin, &cluster, &plan, args.concurrency, &on_item).await;
    bar.finish_and_clear();
    let (outcomes, status) = carried?;

    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    } else {
        print_outcomes(&plan, &outcomes);
    }
    if !args.json {
        println!("task {task}: {status} (ferry task show {task}; store {store_location})");
    }
    let failed = failed.into_inner().expect("counter");
    if failed > 0 {
        return Err(SomeItemsFailed { failed, total: outcomes.len() }.into());
    }
    Ok(())
}

/// [`import::plan_on_target`]'s error on the command line: a task that cannot be planned at all
/// (a bad namespace, queue range or broker) is a usage error.
pub(crate) fn planning_error(e: PlanOnTargetError) -> anyhow::Error {
    match e {
        PlanOnTargetError::Plan(p) => Usage(p.to_string()).into(),
        other => other.into(),
    }
}

pub(crate) fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Topic => "topic",
        ItemKind::Group => "group",
        ItemKind::Account => "account",
    }
}

/// Prints a plan; account secrets, which the plan carries for the writes, are not shown.
pub(crate) fn print_plan(plan: &ImportPlan, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&import::without_secrets(plan))?);
        return Ok(());
    }
    println!("queue numbers: {}", plan.queue_mapping_explained);
    for w in &plan.warnings {
        println!("warning: {w}");
    }
    for item in &plan.items {
        let what = match &item.action {
            Action::Create { per_broker } => {
                format!(
                    "create on {}",
                    per_broker.iter().map(|(b, _)| b.as_str()).collect::<Vec<_>>().join(", ")
                )
            }
            Action::Update { differences, .. } => format!(
                "update: {}",
                differences
                    .iter()
                    .map(|d| format!("{} {} -> {} on {}", d.field, d.target, d.source, d.broker))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Action::Unchanged => "exists, unchanged".into(),
            Action::Fail { cause } => format!("FAIL: {cause}"),
        };
        println!("{:7} {:40} {}", kind_name(item.kind), item.target_name, what);
        for w in &item.warnings {
            println!("        warning: {w}");
        }
    }
    Ok(())
}

fn print_outcomes(plan: &ImportPlan, outcomes: &[ItemOutcome]) {
    for w in &plan.warnings {
        println!("warning: {w}");
    }
    let (mut created, mut updated, mut unchanged, mut failed) = (0, 0, 0, 0);
    for o in outcomes {
        let status = match &o.outcome {
            Outcome::Created => {
                created += 1;
                "created".to_string()
            }
            Outcome::Updated => {
                updated += 1;
                "updated".to_string()
            }
            Outcome::Unchanged => {
                unchanged += 1;
                "exists, unchanged".to_string()
            }
            Outcome::Failed(cause) => {
                failed += 1;
                format!("FAILED: {cause}")
            }
        };
        println!("{:7} {:40} {}", kind_name(o.kind), o.target_name, status);
        for w in &o.warnings {
            println!("        warning: {w}");
        }
    }
    let namespaces: Vec<&str> = plan.namespaces.iter().map(|n| n.name.as_str()).collect();
    println!(
        "\n{} items: {created} created, {updated} updated, {unchanged} unchanged, {failed} failed; namespaces: {}",
        outcomes.len(),
        namespaces.join(", ")
    );
}
