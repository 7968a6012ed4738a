//! Where metadata comes from for `import` and `diff`: a document file (JSON or an `.xlsx`
//! workbook), or a live source cluster read on the spot (only read, as `ferry export` does).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use ferry_admin::{Admin, AdminOptions, Credentials};
use ferry_metadata::xlsx::{self, ReadOptions};
use ferry_metadata::{export_cluster, Document, ExportOptions};

use crate::exit::Usage;

#[derive(Args)]
pub struct SourceArgs {
    /// A metadata document: `ferry export` output, Apache export.sh or `mqadmin exportMetadata` JSON,
    /// or an `.xlsx` workbook (`ferry export -o x.xlsx`, or `ferry template` filled in).
    #[arg(long, conflicts_with = "source_namesrv")]
    pub from: Option<PathBuf>,
    /// With an `.xlsx` --from that has bad cells: use the valid rows and report the others as
    /// warnings (a topic or group with any bad row is left out whole). Without it the workbook is
    /// refused and nothing is imported.
    #[arg(long, requires = "from")]
    pub valid_rows_only: bool,
    /// Or a live source cluster: its NameServer list...
    #[arg(long, requires = "source_cluster")]
    pub source_namesrv: Option<String>,
    /// ...and its cluster name.
    #[arg(long)]
    pub source_cluster: Option<String>,
    /// ACL credentials of the live source (the target's are --access-key/--secret-key).
    #[arg(long, env = "FERRY_SOURCE_ACCESS_KEY")]
    pub source_access_key: Option<String>,
    #[arg(long, env = "FERRY_SOURCE_SECRET_KEY", hide_env_values = true)]
    pub source_secret_key: Option<String>,
}

impl SourceArgs {
    /// The source's metadata as a document; a malformed file is a usage error naming the place.
    pub async fn document(&self) -> Result<Document> {
        if let Some(path) = &self.from {
            return read_document(path, self.valid_rows_only);
        }
        let (Some(namesrv), Some(cluster)) = (&self.source_namesrv, &self.source_cluster) else {
            return Err(Usage(
                "give the source: --from FILE, or --source-namesrv with --source-cluster".into(),
            )
            .into());
        };
        let credentials = match (&self.source_access_key, &self.source_secret_key) {
            (Some(ak), Some(sk)) => Some(Credentials::new(ak, sk)),
            (None, None) => None,
            _ => return Err(Usage("give both source keys, or neither".into()).into()),
        };
        let source = Admin::new(namesrv, AdminOptions { credentials, ..AdminOptions::default() })?;
        export_cluster(&source, cluster, &ExportOptions::default(), &|_| {})
            .await
            .with_context(|| format!("reading source cluster '{cluster}'"))
    }
}

/// A document file: JSON (Ferry's or Apache's), or an `.xlsx` workbook (by its name or content).
/// A malformed file is a usage error naming every place that is wrong. With `valid_rows_only`, a
/// workbook's bad rows are left out and printed as warnings.
pub fn read_document(path: &Path, valid_rows_only: bool) -> Result<Document> {
    let bytes = std::fs::read(path).map_err(|e| Usage(format!("{}: {e}", path.display())))?;
    let name = path.display().to_string();
    if !xlsx::looks_like_xlsx(path, &bytes) {
        if valid_rows_only {
            return Err(Usage(format!("--valid-rows-only is for .xlsx workbooks; {name} is not one")).into());
        }
        return Document::from_json(&bytes, &name).map_err(|e| Usage(e.to_string()).into());
    }
    let read = xlsx::read_workbook(&bytes, &name, ReadOptions { valid_rows_only }).map_err(|e| {
        let hint = if e.only_row_problems() {
            "\nfix them, or pass --valid-rows-only to use the valid rows and report the others"
        } else {
            ""
        };
        Usage(format!("{e}{hint}"))
    })?;
    for p in &read.skipped {
        eprintln!("warning: row left out: {p}");
    }
    for w in &read.warnings {
        eprintln!("warning: {w}");
    }
    if !read.skipped.is_empty() {
        eprintln!(
            "warning: {name}: {} problems; only the valid rows are used (--valid-rows-only)",
            read.skipped.len()
        );
    }
    Ok(read.document)
}
