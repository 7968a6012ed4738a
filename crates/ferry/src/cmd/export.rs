//! `ferry export`: a live cluster's metadata to `rocketmq-metadata-export.json`. In a terminal it
//! asks what `export.sh` asks (name server address list, cluster, file path); with flags it asks
//! nothing. It only reads from the source.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use dialoguer::{Input, Select};
use ferry_admin::{Admin, AdminOptions, Credentials};
use ferry_metadata::{export_cluster, ExportOptions, ExportStep, DEFAULT_FILE_NAME};
use indicatif::{ProgressBar, ProgressStyle};

use crate::exit::Usage;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// NameServer address list, `host:port;host:port`.
    #[arg(long, short = 'n', env = "NAMESRV_ADDR")]
    namesrv: Option<String>,
    /// The cluster to export.
    #[arg(long, short = 'c')]
    cluster: Option<String>,
    /// The file to write (a directory gets `rocketmq-metadata-export.json` inside it).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// ACL access key, for clusters with ACL enabled.
    #[arg(long, env = "FERRY_ACCESS_KEY")]
    access_key: Option<String>,
    /// ACL secret key (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "FERRY_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// A broker host's `plain_acl.yml`, to export 4.x ACL accounts (4.x cannot list them remotely).
    #[arg(long)]
    plain_acl_file: Option<PathBuf>,
    /// Write ACL secret keys and passwords into the document.
    #[arg(long)]
    include_secrets: bool,
    /// Keep system topics, retry/DLQ topics and system groups.
    #[arg(long)]
    include_system: bool,
    /// Never prompt, even in a terminal.
    #[arg(long)]
    no_input: bool,
}

pub async fn run(args: ExportArgs) -> Result<()> {
    let interactive = !args.no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let namesrv = match (&args.namesrv, interactive) {
        (Some(n), _) => n.clone(),
        (None, true) => {
            Input::<String>::new().with_prompt("Enter name server address list").interact_text()?
        }
        (None, false) => return Err(Usage("--namesrv is required when not run in a terminal".into()).into()),
    };
    let credentials = match (&args.access_key, &args.secret_key) {
        (Some(ak), Some(sk)) => Some(Credentials::new(ak, sk)),
        (None, None) => None,
        _ => return Err(Usage("give both --access-key and --secret-key, or neither".into()).into()),
    };
    let admin = Admin::new(&namesrv, AdminOptions { credentials, ..AdminOptions::default() })?;

    let cluster = match (&args.cluster, interactive) {
        (Some(c), _) => c.clone(),
        (None, interactive) => {
            let clusters = admin.clusters().await.context("listing clusters")?;
            let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
            match (names.len(), interactive) {
                (0, _) => anyhow::bail!("the NameServer at {namesrv} knows no cluster"),
                (1, false) => names[0].clone(),
                (_, false) => {
                    return Err(Usage(format!("--cluster is required; clusters: {}", names.join(", "))).into())
                }
                (_, true) => {
                    let i = Select::new()
                        .with_prompt("Choose a cluster to export")
                        .items(&names)
                        .default(0)
                        .interact()?;
                    names[i].clone()
                }
            }
        }
    };
    let output = match (&args.output, interactive) {
        (Some(o), _) => o.clone(),
        (None, true) => PathBuf::from(
            Input::<String>::new()
                .with_prompt("Enter file path to export")
                .default(DEFAULT_FILE_NAME.to_string())
                .interact_text()?,
        ),
        (None, false) => PathBuf::from(DEFAULT_FILE_NAME),
    };
    let output = if output.is_dir() { output.join(DEFAULT_FILE_NAME) } else { output };

    let options = ExportOptions {
        include_system: args.include_system,
        include_secrets: args.include_secrets,
        plain_acl_file: args.plain_acl_file.clone(),
        ..ExportOptions::default()
    };
    let bar = ProgressBar::hidden();
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} reading brokers {pos}/{len} {msg}").expect("template"),
        );
    }
    let progress = |step: ExportStep| match step {
        ExportStep::Brokers(n) => bar.set_length(n as u64),
        ExportStep::BrokerRead(name) => {
            bar.set_message(name);
            bar.inc(1);
        }
    };
    let doc = export_cluster(&admin, &cluster, &options, &progress)
        .await
        .with_context(|| format!("exporting cluster '{cluster}'"))?;
    bar.finish_and_clear();

    write_atomically(&output, doc.to_json_pretty().as_bytes())?;
    let ferry = doc.ferry.as_ref().expect("an export carries the ferry section");
    let accounts = ferry.acl.as_ref().map(|a| a.accounts.len() + a.users.len()).unwrap_or(0);
    println!(
        "exported cluster {} ({}) to {}: {} topics, {} groups, {} ACL accounts, {} namespaces",
        ferry.source.cluster,
        ferry.source.version.as_deref().unwrap_or("version unknown"),
        output.display(),
        ferry.topics.len(),
        ferry.groups.len(),
        accounts,
        ferry.namespaces.len(),
    );
    println!(
        "skipped: {} system topics, {} retry/DLQ topics, {} system groups{}",
        ferry.skipped.system_topics,
        ferry.skipped.retry_and_dlq_topics,
        ferry.skipped.system_groups,
        if args.include_system { "" } else { " (use --include-system to keep them)" },
    );
    for w in &ferry.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Writes through a temporary file in the same directory, so a failed export leaves no half file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Usage(format!("{}: directory does not exist", dir.display())).into());
    }
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("export")));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
