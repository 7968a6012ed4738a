//! Where metadata comes from for `import` and `diff`: a document file, or a live source cluster read
//! on the spot (only read, as `ferry export` does).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ferry_admin::{Admin, AdminOptions, Credentials};
use ferry_metadata::{export_cluster, Document, ExportOptions};

use crate::exit::Usage;

#[derive(Args)]
pub struct SourceArgs {
    /// A metadata document: `ferry export` output, Apache export.sh or `mqadmin exportMetadata` JSON.
    #[arg(long, conflicts_with = "source_namesrv")]
    pub from: Option<PathBuf>,
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
            let text = std::fs::read(path).map_err(|e| Usage(format!("{}: {e}", path.display())))?;
            return Document::from_json(&text, &path.display().to_string())
                .map_err(|e| Usage(e.to_string()).into());
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
