//! Reads a live target cluster into the [`TargetLayout`] the planner compares against.

use std::path::Path;

use ferry_admin::{Admin, AdminError, Cluster};

use super::options::{Filter, ImportError, ImportOptions};
use super::plan::ImportPlan;
use super::target::{MajorVersion, TargetLayout};
use super::target_acl::read_target_acl;
use crate::document::Document;
use crate::error::MetadataError;

/// What planning onto a live target can fail on: reading it, or the task itself.
#[derive(Debug, thiserror::Error)]
pub enum PlanOnTargetError {
    #[error("reading the target cluster")]
    Target(#[source] MetadataError),
    #[error("reading the target's ACL")]
    Acl(#[source] MetadataError),
    #[error(transparent)]
    Plan(#[from] ImportError),
}

/// Plans `doc` onto the target as it is now: its topics and groups and, when accounts are chosen
/// and the document has some, its ACL (from `plain_acl_file` where the target keeps plain ACL in
/// a file this host reads), whose rules the plan is then checked against. Gives the target as it
/// was read (with its accounts when read) and the plan. The one way `ferry import`, `ferry diff`,
/// the API's imports and a migration's topics plan.
pub async fn plan_on_target(
    admin: &Admin,
    cluster: &Cluster,
    doc: &Document,
    options: &ImportOptions,
    plain_acl_file: Option<&Path>,
) -> Result<(TargetLayout, ImportPlan), PlanOnTargetError> {
    let mut layout = read_target(admin, cluster).await.map_err(PlanOnTargetError::Target)?;
    let acl = if options.selection.accounts != Filter::None && doc.has_accounts() {
        let acl = read_target_acl(admin, cluster, plain_acl_file).await.map_err(PlanOnTargetError::Acl)?;
        acl.apply(&mut layout);
        Some(acl)
    } else {
        None
    };
    let mut plan = super::plan(doc, &layout, options)?;
    if let Some(acl) = &acl {
        acl.check(&mut plan);
    }
    Ok((layout, plan))
}

/// `MQVersion.Version.V5_0_0`: brokers at or above it are 5.x.
const V5_0_0: i32 = 413;

/// The target's masters with every topic and group they hold, and its major version.
pub async fn read_target(admin: &Admin, cluster: &Cluster) -> Result<TargetLayout, MetadataError> {
    let masters: Vec<(String, String)> =
        cluster.masters().map(|(n, a)| (n.to_string(), a.to_string())).collect();
    let Some((_, first)) = masters.first() else {
        let namesrv = admin.namesrvs().join(";");
        return Err(MetadataError::NoMaster { namesrv, cluster: cluster.name.clone() });
    };
    let major = major_version(admin, first).await?;
    let mut layout =
        TargetLayout::new(&cluster.name, major, masters.iter().map(|(n, _)| n.clone()).collect());
    for (name, addr) in &masters {
        let (topics, groups) = tokio::try_join!(admin.topic_configs(addr), admin.subscription_groups(addr))?;
        layout.topics.insert(name.clone(), topics);
        layout.groups.insert(name.clone(), groups);
    }
    Ok(layout)
}

/// From `brokerVersion` of GET_BROKER_RUNTIME_INFO, retried while a fresh broker has no figures yet.
async fn major_version(admin: &Admin, broker_addr: &str) -> Result<MajorVersion, AdminError> {
    let mut attempt = 0;
    loop {
        match admin.broker_runtime_info(broker_addr).await {
            Ok(table) => {
                let version = table.get("brokerVersion").and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
                return Ok(if version >= V5_0_0 { MajorVersion::V5 } else { MajorVersion::V4 });
            }
            Err(AdminError::Refused { .. }) if attempt < 10 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
