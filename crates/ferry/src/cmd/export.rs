//! `ferry export`: a live cluster's metadata to `rocketmq-metadata-export.json`. In a terminal it
//! asks what `export.sh` asks (name server address list, cluster, file path); with flags it asks
//! nothing. It only reads from the source.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use dialoguer::Input;
use ferry_metadata::{export_cluster, ExportOptions, ExportStep, DEFAULT_FILE_NAME};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster_args::ClusterArgs;
use crate::exit::Usage;

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    source: ClusterArgs,
    /// The file to write (a directory gets `rocketmq-metadata-export.json` inside it).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// A broker host's `plain_acl.yml`, to export 4.x ACL accounts (4.x cannot list them remotely).
    #[arg(long)]
    plain_acl_file: Option<PathBuf>,
    /// Write ACL secret keys and passwords into the document (the file is then readable by its owner only).
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
    let admin = args.source.admin(interactive)?;
    let cluster = args.source.cluster_name(&admin, interactive, "Choose a cluster to export").await?;
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

    write_atomically(&output, doc.to_json_pretty().as_bytes(), args.include_secrets)?;
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

/// Writes through a fresh temporary file in the same directory (created readable by its owner only,
/// never following a planted symlink), so a failed export leaves no half file. Without secrets the
/// file is then opened up to the usual 0644.
fn write_atomically(path: &Path, bytes: &[u8], secrets: bool) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Usage(format!("{}: directory does not exist", dir.display())).into());
    }
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    tmp.write_all(bytes).with_context(|| format!("writing {}", tmp.path().display()))?;
    #[cfg(unix)]
    if !secrets {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = secrets;
    tmp.persist(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
