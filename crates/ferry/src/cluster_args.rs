//! The flags every command that reads a live cluster shares: where its NameServers are, the ACL
//! credentials, and which cluster. Prompts for what is missing only in a terminal.

use anyhow::{Context, Result};
use clap::Args;
use dialoguer::{Input, Select};
use ferry_admin::{Admin, AdminOptions, Credentials};

use crate::exit::Usage;

#[derive(Args)]
pub struct ClusterArgs {
    /// NameServer address list, `host:port;host:port`.
    #[arg(long, short = 'n', env = "NAMESRV_ADDR")]
    pub namesrv: Option<String>,
    /// The cluster; may be left out when the NameServer knows only one (or in a terminal).
    #[arg(long, short = 'c')]
    pub cluster: Option<String>,
    /// ACL access key, for clusters with ACL enabled.
    #[arg(long, env = "FERRY_ACCESS_KEY")]
    pub access_key: Option<String>,
    /// ACL secret key (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "FERRY_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// How long to wait for each NameServer or broker answer.
    #[arg(long, default_value_t = 10)]
    pub timeout_secs: u64,
}

impl ClusterArgs {
    /// The admin client, asking for the NameServer list when it is missing and `interactive`.
    pub fn admin(&self, interactive: bool) -> Result<Admin> {
        let namesrv = match (&self.namesrv, interactive) {
            (Some(n), _) => n.clone(),
            (None, true) => {
                Input::<String>::new().with_prompt("Enter name server address list").interact_text()?
            }
            (None, false) => {
                return Err(Usage("--namesrv is required when not run in a terminal".into()).into())
            }
        };
        let credentials = match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => Some(Credentials::new(ak, sk)),
            (None, None) => None,
            _ => return Err(Usage("give both --access-key and --secret-key, or neither".into()).into()),
        };
        let request_timeout = std::time::Duration::from_secs(self.timeout_secs.max(1));
        Ok(Admin::new(&namesrv, AdminOptions { credentials, request_timeout, ..AdminOptions::default() })?)
    }

    /// The cluster to work on: the flag, the only one there is, or (in a terminal) the user's choice.
    pub async fn cluster_name(&self, admin: &Admin, interactive: bool, prompt: &str) -> Result<String> {
        if let Some(c) = &self.cluster {
            return Ok(c.clone());
        }
        let clusters = admin.clusters().await.context("listing clusters")?;
        let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
        match (names.len(), interactive) {
            (0, _) => anyhow::bail!("the NameServer at {} knows no cluster", admin.namesrvs().join(";")),
            (1, false) => Ok(names[0].clone()),
            (_, false) => Err(Usage(format!("--cluster is required; clusters: {}", names.join(", "))).into()),
            (_, true) => {
                let i = Select::new().with_prompt(prompt).items(&names).default(0).interact()?;
                Ok(names[i].clone())
            }
        }
    }
}
