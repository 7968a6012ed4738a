//! `ferry export`: a live cluster's metadata to `rocketmq-metadata-export.json`, or its topics and
//! groups to an `.xlsx` workbook (`-o x.xlsx` or `--format xlsx`). In a terminal it asks what
//! `export.sh` asks (name server address list, cluster, file path); with flags it asks nothing.
//! It only reads from the source. `--from FILE` exports a document file instead of a cluster,
//! which converts JSON to a workbook and back.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use dialoguer::Input;
use ferry_metadata::{export_cluster, xlsx, Document, ExportOptions, ExportStep, DEFAULT_FILE_NAME};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster_args::ClusterArgs;
use crate::exit::Usage;
use crate::source_args::read_document;

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    source: ClusterArgs,
    /// The file to write: JSON, or an `.xlsx` workbook of topics and groups when it ends in `.xlsx`
    /// (a directory gets `rocketmq-metadata-export.json` or `.xlsx` inside it).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// The format to write; by default `xlsx` when the file ends in `.xlsx`, else `json`.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Export a document file (JSON or `.xlsx`) instead of a live cluster: converts one format to
    /// the other. The cluster flags are not used.
    #[arg(long)]
    from: Option<PathBuf>,
    /// With an `.xlsx` --from that has bad cells: use the valid rows and report the others.
    #[arg(long, requires = "from")]
    valid_rows_only: bool,
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The metadata document (Ferry's JSON, in export.sh's shape).
    Json,
    /// A workbook of topics and groups (no ACL accounts).
    Xlsx,
}

impl Format {
    fn of(path: &Path) -> Format {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
            Format::Xlsx
        } else {
            Format::Json
        }
    }

    fn default_file(self) -> String {
        match self {
            Format::Json => DEFAULT_FILE_NAME.to_string(),
            Format::Xlsx => DEFAULT_FILE_NAME.replace(".json", ".xlsx"),
        }
    }
}

pub async fn run(args: ExportArgs) -> Result<()> {
    let interactive = !args.no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if let Some(from) = &args.from {
        if args.include_system || args.plain_acl_file.is_some() || args.include_secrets {
            return Err(Usage(
                "--include-system, --plain-acl-file and --include-secrets are for a live cluster, not --from"
                    .into(),
            )
            .into());
        }
        let doc = read_document(from, args.valid_rows_only)?;
        let (output, format) = output_of(&args, interactive)?;
        return write(&doc, &output, format, &format!("{}", from.display()));
    }
    let admin = args.source.admin(interactive)?;
    let cluster = args.source.cluster_name(&admin, interactive, "Choose a cluster to export").await?;
    let (output, format) = output_of(&args, interactive)?;
    if format == Format::Xlsx && (args.include_secrets || args.plain_acl_file.is_some()) {
        return Err(Usage(
            "a workbook never holds ACL accounts or secrets: --include-secrets and --plain-acl-file are for \
             JSON output"
                .into(),
        )
        .into());
    }

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

    let ferry = doc.ferry.as_ref().expect("an export carries the ferry section");
    let what = format!(
        "cluster {} ({})",
        ferry.source.cluster,
        ferry.source.version.as_deref().unwrap_or("version unknown")
    );
    if format == Format::Xlsx {
        write(&doc, &output, format, &what)?;
    } else {
        write_atomically(&output, doc.to_json_pretty().as_bytes(), args.include_secrets)?;
        let accounts = ferry.acl.as_ref().map(|a| a.accounts.len() + a.users.len()).unwrap_or(0);
        println!(
            "exported {what} to {}: {} topics, {} groups, {} ACL accounts, {} namespaces",
            output.display(),
            ferry.topics.len(),
            ferry.groups.len(),
            accounts,
            ferry.namespaces.len(),
        );
    }
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

/// The file to write and its format: the flags, the user's answer in a terminal, or the default.
fn output_of(args: &ExportArgs, interactive: bool) -> Result<(PathBuf, Format)> {
    let default = args.format.unwrap_or(Format::Json).default_file();
    let output = match (&args.output, interactive) {
        (Some(o), _) => o.clone(),
        (None, true) => PathBuf::from(
            Input::<String>::new()
                .with_prompt("Enter file path to export")
                .default(default)
                .interact_text()?,
        ),
        (None, false) => PathBuf::from(default),
    };
    if output.is_dir() {
        let format = args.format.unwrap_or(Format::Json);
        return Ok((output.join(format.default_file()), format));
    }
    let format = args.format.unwrap_or_else(|| Format::of(&output));
    Ok((output, format))
}

/// Writes a document (from a cluster or a file) as `format`. JSON keeps the document's secrets
/// only if it has them (the file is then readable by its owner only); a workbook never has any.
fn write(doc: &Document, output: &Path, format: Format, what: &str) -> Result<()> {
    match format {
        Format::Json => {
            let secrets = doc.ferry.as_ref().and_then(|f| f.acl.as_ref()).is_some_and(|a| a.secrets_included);
            write_atomically(output, doc.to_json_pretty().as_bytes(), secrets)?;
            let (topics, groups) = match &doc.ferry {
                Some(f) => (f.topics.len(), f.groups.len()),
                None => (doc.metadata.topic_config_table.len(), doc.metadata.subscription_group_table.len()),
            };
            println!("exported {what} to {}: {topics} topics, {groups} groups", output.display());
        }
        Format::Xlsx => {
            let written = xlsx::write_document(doc).context("writing the workbook")?;
            write_atomically(output, &written.bytes, false)?;
            println!(
                "exported {what} to {} (a {} workbook): {} topics in {} rows, {} groups; ACL accounts are \
                 never written to a workbook",
                output.display(),
                written.flavor.label(),
                written.topics,
                written.topic_rows,
                written.groups,
            );
            for w in &written.warnings {
                eprintln!("warning: {w}");
            }
        }
    }
    Ok(())
}

/// Writes through a fresh temporary file in the same directory (never following a planted
/// symlink), so a failed export leaves no half file. The file is created with its final mode, so
/// it is never readable by more than that even for a moment: with secrets, by its owner only
/// (0600); without, as any new file (0666 less the umask, as `OpenOptions` creates files). A
/// write never widens what the umask allows.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], secrets: bool) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Usage(format!("{}: directory does not exist", dir.display())).into());
    }
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The kernel takes the umask off this mode when it creates the file.
        builder.permissions(std::fs::Permissions::from_mode(if secrets { 0o600 } else { 0o666 }));
    }
    #[cfg(not(unix))]
    let _ = secrets;
    let mut tmp = builder.tempfile_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    tmp.write_all(bytes).with_context(|| format!("writing {}", tmp.path().display()))?;
    tmp.persist(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
