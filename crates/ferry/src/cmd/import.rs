//! `ferry import`: topics and subscription groups of a metadata document (a Ferry export, an
//! Apache export.sh / `mqadmin exportMetadata` file) or of a live source cluster, into a target
//! cluster: planned first (nothing is written while any check runs), then written item by item,
//! with a result per item. Running it again is safe: what exists unchanged is left alone.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ferry_admin::{Admin, AdminOptions, Credentials};
use ferry_metadata::import::{
    self, Action, Filter, ImportOptions, ImportPlan, ItemKind, ItemOutcome, Mode, Outcome, QueueMapping,
    Selection,
};
use ferry_metadata::{export_cluster, Document, ExportOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster_args::ClusterArgs;
use crate::exit::{SomeItemsFailed, Usage};

#[derive(Args)]
pub struct ImportArgs {
    /// The target cluster.
    #[command(flatten)]
    target: ClusterArgs,
    /// A metadata document: `ferry export` output, Apache export.sh or `mqadmin exportMetadata` JSON.
    #[arg(long, conflicts_with = "source_namesrv")]
    from: Option<PathBuf>,
    /// Or a live source cluster: its NameServer list...
    #[arg(long, requires = "source_cluster")]
    source_namesrv: Option<String>,
    /// ...and its cluster name.
    #[arg(long)]
    source_cluster: Option<String>,
    /// ACL credentials of the live source (the target's are --access-key/--secret-key).
    #[arg(long, env = "FERRY_SOURCE_ACCESS_KEY")]
    source_access_key: Option<String>,
    #[arg(long, env = "FERRY_SOURCE_SECRET_KEY", hide_env_values = true)]
    source_secret_key: Option<String>,
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
    #[arg(long, conflicts_with = "topics")]
    no_topics: bool,
    #[arg(long, conflicts_with = "groups")]
    no_groups: bool,
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
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Cluster,
    Namespace,
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
    let doc = source_document(&args).await?;
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
            // Account import is planned (see the planner) but not yet written to targets.
            accounts: Filter::None,
        },
        queue_mapping: match args.queue_mapping {
            QueueMappingArg::PerBroker => QueueMapping::PerBroker,
            QueueMappingArg::ClusterTotal => QueueMapping::ClusterTotal,
        },
        queue_range: args.min_queues..=args.max_queues,
        per_task_limit: args.limit,
        overwrite: args.overwrite,
        brokers: (!args.brokers.is_empty()).then(|| args.brokers.clone()),
        ..ImportOptions::default()
    };
    let layout = import::read_target(&admin, &cluster).await.context("reading the target cluster")?;
    let plan = import::plan(&doc, &layout, &options).map_err(|e| Usage(e.to_string()))?;

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
    let failed = Mutex::new(0usize);
    let on_item = |o: &ItemOutcome| {
        if matches!(o.outcome, Outcome::Failed(_)) {
            *failed.lock().expect("counter") += 1;
        }
        bar.set_message(o.target_name.clone());
        bar.inc(1);
    };
    let outcomes = import::execute(&admin, &cluster, &plan, args.concurrency, &on_item).await;
    bar.finish_and_clear();

    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    } else {
        print_outcomes(&plan, &outcomes);
    }
    let failed = failed.into_inner().expect("counter");
    if failed > 0 {
        return Err(SomeItemsFailed { failed, total: outcomes.len() }.into());
    }
    Ok(())
}

async fn source_document(args: &ImportArgs) -> Result<Document> {
    if let Some(path) = &args.from {
        let text = std::fs::read(path).map_err(|e| Usage(format!("{}: {e}", path.display())))?;
        return Document::from_json(&text, &path.display().to_string())
            .map_err(|e| Usage(e.to_string()).into());
    }
    let (Some(namesrv), Some(cluster)) = (&args.source_namesrv, &args.source_cluster) else {
        return Err(
            Usage("give the source: --from FILE, or --source-namesrv with --source-cluster".into()).into()
        );
    };
    let credentials = match (&args.source_access_key, &args.source_secret_key) {
        (Some(ak), Some(sk)) => Some(Credentials::new(ak, sk)),
        (None, None) => None,
        _ => return Err(Usage("give both source keys, or neither".into()).into()),
    };
    let source = Admin::new(namesrv, AdminOptions { credentials, ..AdminOptions::default() })?;
    let doc = export_cluster(&source, cluster, &ExportOptions::default(), &|_| {})
        .await
        .with_context(|| format!("reading source cluster '{cluster}'"))?;
    Ok(doc)
}

fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Topic => "topic",
        ItemKind::Group => "group",
        ItemKind::Account => "account",
    }
}

fn print_plan(plan: &ImportPlan, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(plan)?);
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
