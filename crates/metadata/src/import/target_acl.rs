//! The target's ACL, read before planning accounts: which ACL its brokers have switched on
//! (`aclEnable` for ACL 1.0; `authenticationEnabled` / `authorizationEnabled` for 5.3+ ACL 2.0)
//! and, when they can be read, the accounts it already has, for the planner to compare with.
//!
//! - ACL 2.0 (5.3+): AUTH_LIST_USER and AUTH_LIST_ACL on the first master (passwords included).
//! - ACL 1.0: a 4.9.8 broker cannot list its accounts over the wire, so they come from the
//!   broker host's `plain_acl.yml` when the operator gives it (`--target-acl-file`); without it
//!   GET_BROKER_CLUSTER_ACL_CONFIG is tried (5.0 to 5.3.2, and 4.9.7 and older), and when that is
//!   refused the accounts stay unknown: UPDATE_AND_CREATE_ACL_CONFIG then creates or replaces.
//!
//! Accounts are taken to be the same on every broker of the cluster (as `mqadmin ... -c` keeps
//! them); the first master's are the ones compared.

use std::path::Path;

use ferry_admin::{Admin, AdminError, Cluster, PlainAccount, PlainAclConfig};

use super::plan::{Action, ImportPlan, ItemKind};
use super::target::{AclModel, TargetAccounts, TargetLayout};
use crate::document::AclAccount;
use crate::error::MetadataError;

/// `MQVersion.Version` ordinals: ACL 2.0 exists from 5.3.0; ACL 1.0 is gone in 5.3.3.
const V5_3_0: i32 = 473;
const V5_3_3: i32 = 479;

/// What the target says about its ACL.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetAcl {
    /// The ACL the target's brokers enforce; `None` when neither is switched on.
    pub model: Option<AclModel>,
    /// Its accounts, when they could be read.
    pub accounts: Option<TargetAccounts>,
    /// Notes for the plan when it has accounts (why they were not read, an ignored file).
    pub warnings: Vec<String>,
    /// The master whose configuration and accounts were read.
    pub broker: String,
}

/// Reads the first master's ACL switches and accounts. `plain_acl_file` is the target broker
/// host's `plain_acl.yml` (ACL 1.0 only); a file that cannot be read is an error, as is a
/// refused signature. Everything else that fails is a warning, and the accounts stay unknown.
pub async fn read_target_acl(
    admin: &Admin,
    cluster: &Cluster,
    plain_acl_file: Option<&Path>,
) -> Result<TargetAcl, MetadataError> {
    let Some((name, addr)) = cluster.masters().next() else {
        let namesrv = admin.namesrvs().join(";");
        return Err(MetadataError::NoMaster { namesrv, cluster: cluster.name.clone() });
    };
    let mut acl = TargetAcl { model: None, accounts: None, warnings: Vec::new(), broker: name.to_string() };
    let config = admin.broker_config(addr).await?;
    let version = match admin.broker_runtime_info(addr).await {
        Ok(table) => table.get("brokerVersion").and_then(|v| v.parse::<i32>().ok()),
        Err(e @ AdminError::AuthenticationFailed { .. }) => return Err(e.into()),
        Err(_) => None,
    };
    let on = |k: &str| config.get(k).is_some_and(|v| v.trim() == "true");
    let acl2 =
        (on("authenticationEnabled") || on("authorizationEnabled")) && version.is_none_or(|v| v >= V5_3_0);
    let acl1 = on("aclEnable") && version.is_none_or(|v| v < V5_3_3);
    acl.model = if acl2 {
        Some(AclModel::Acl2)
    } else if acl1 {
        Some(AclModel::Plain)
    } else {
        None
    };
    if let (Some(path), Some(AclModel::Acl2) | None) = (plain_acl_file, acl.model) {
        acl.warnings
            .push(format!("{} is not read: the target does not use ACL 1.0 (plain_acl.yml)", path.display()));
    }
    match acl.model {
        None => {}
        Some(AclModel::Acl2) => match tokio::try_join!(admin.acl_users(addr), admin.acl_policies(addr)) {
            Ok((users, policies)) => {
                let mut known = TargetAccounts::default();
                for acl in policies {
                    if let Some(user) = acl.subject.strip_prefix("User:") {
                        known.acls.insert(user.to_string(), acl.clone());
                    }
                }
                known.users = users.into_iter().map(|u| (u.username.clone(), u)).collect();
                acl.accounts = Some(known);
            }
            Err(e @ AdminError::AuthenticationFailed { .. }) => return Err(e.into()),
            Err(e) => acl.warnings.push(format!("the target's ACL 2.0 users were not read: {e}")),
        },
        Some(AclModel::Plain) => match plain_acl_file {
            Some(path) => acl.accounts = Some(plain_accounts(PlainAclConfig::read(path)?)),
            None => match admin.plain_acl_config(addr).await {
                Ok(config) => acl.accounts = Some(plain_accounts(config)),
                Err(e @ AdminError::AuthenticationFailed { .. }) => return Err(e.into()),
                // 4.9.8 answers REQUEST_CODE_NOT_SUPPORTED (the testkit's mixed 4.9.8 a
                // SYSTEM_ERROR): the accounts are not listable there.
                Err(_) => {}
            },
        },
    }
    Ok(acl)
}

fn plain_accounts(config: PlainAclConfig) -> TargetAccounts {
    let plain = config
        .accounts
        .into_iter()
        .map(|a: PlainAccount| {
            let account = AclAccount {
                access_key: a.access_key.clone(),
                secret_key: (!a.secret_key.is_empty()).then_some(a.secret_key),
                white_remote_address: a.white_remote_address,
                admin: a.admin,
                default_topic_perm: a.default_topic_perm,
                default_group_perm: a.default_group_perm,
                topic_perms: a.topic_perms,
                group_perms: a.group_perms,
            };
            (a.access_key, account)
        })
        .collect();
    TargetAccounts { plain, ..TargetAccounts::default() }
}

impl TargetAcl {
    /// Puts what was read into the layout the planner compares with.
    pub fn apply(&self, layout: &mut TargetLayout) {
        if let Some(model) = self.model {
            layout.acl_model = model;
        }
        layout.accounts = self.accounts.clone();
    }

    /// After planning: fails every account when the target has no ACL switched on (an account
    /// there would not be enforced, and a 4.x broker without ACL answers the write with a bare
    /// error), and adds the notes on reading to the plan when it has accounts.
    pub fn check(&self, plan: &mut ImportPlan) {
        if !plan.items.iter().any(|i| i.kind == ItemKind::Account) {
            return;
        }
        plan.warnings.extend(self.warnings.iter().cloned());
        if self.model.is_some() {
            return;
        }
        for item in plan.items.iter_mut().filter(|i| i.kind == ItemKind::Account) {
            if item.is_failed() {
                continue;
            }
            item.action = Action::Fail {
                cause: format!(
                    "account '{}': the target has no ACL switched on (broker {} has neither \
                     aclEnable nor authenticationEnabled/authorizationEnabled), so the account \
                     would not be enforced; switch ACL on there first, or leave accounts out \
                     (--no-accounts)",
                    item.source_name, self.broker
                ),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::plan::PlannedItem;

    fn item(kind: ItemKind, name: &str) -> PlannedItem {
        PlannedItem {
            kind,
            source_name: name.into(),
            target_name: name.into(),
            namespace: "default".into(),
            action: Action::Create { per_broker: vec![] },
            warnings: vec![],
        }
    }

    fn plan() -> ImportPlan {
        ImportPlan {
            items: vec![item(ItemKind::Topic, "orders"), item(ItemKind::Account, "app-0001")],
            namespaces: vec![],
            queue_mapping_explained: String::new(),
            warnings: vec![],
        }
    }

    #[test]
    fn without_acl_on_the_target_accounts_fail_and_the_rest_stays() {
        let off = TargetAcl { model: None, accounts: None, warnings: vec![], broker: "broker-a".into() };
        let mut p = plan();
        off.check(&mut p);
        assert!(matches!(p.items[0].action, Action::Create { .. }));
        let Action::Fail { cause } = &p.items[1].action else { panic!("{:?}", p.items[1]) };
        assert!(
            cause.contains("'app-0001'") && cause.contains("broker-a") && cause.contains("--no-accounts")
        );

        let on = TargetAcl { model: Some(AclModel::Plain), warnings: vec!["note".into()], ..off };
        let mut p = plan();
        on.check(&mut p);
        assert!(matches!(p.items[1].action, Action::Create { .. }));
        assert_eq!(p.warnings, vec!["note"]);
    }
}
