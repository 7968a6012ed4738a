//! The plan an import produces: one entry per chosen item with what to do on which master and
//! why, for the executor to carry out and the console to show.
//!
//! Plans carry secrets (account secret keys and passwords) in their configs: `Debug` hides
//! them, `Serialize` does not, so a stored plan must be protected like the secrets themselves.

use ferry_admin::{Acl, User};
use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use serde::{Deserialize, Serialize};

use super::target::{TargetAccounts, TargetLayout};
use crate::document::AclAccount;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportPlan {
    /// Topics, then groups, then accounts; each kind in source name order.
    pub items: Vec<PlannedItem>,
    /// The namespaces the planned items land in, sorted.
    pub namespaces: Vec<NamespaceUse>,
    /// How queue numbers were mapped, in words, for the operator to confirm.
    pub queue_mapping_explained: String,
    /// Notes about the task as a whole (patterns that matched nothing, ACL settings that are
    /// not accounts, what the source file could not say).
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ItemKind {
    Topic,
    Group,
    Account,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedItem {
    pub kind: ItemKind,
    pub source_name: String,
    pub target_name: String,
    /// The target namespace: the part before `%`, or "default" for a name without one.
    pub namespace: String,
    pub action: Action,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase")]
pub enum Action {
    /// Write these configs; the item is missing on these masters.
    Create { per_broker: Vec<(String, Config)> },
    /// Write these configs over what the target has (only with `overwrite`).
    Update { per_broker: Vec<(String, Config)>, differences: Vec<FieldDifference> },
    /// Exists, unchanged: nothing to do.
    Unchanged,
    /// Not imported; the cause names the item and the rule.
    Fail { cause: String },
}

/// What is written to one master.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Config {
    /// UPDATE_AND_CREATE_TOPIC. `attributes` are in the broker's stored form (`message.type`);
    /// the request wants them as `+message.type=FIFO`.
    Topic(TopicConfig),
    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, the whole config as its body.
    Group(SubscriptionGroupConfig),
    Account(AccountConfig),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AccountConfig {
    /// ACL 1.0: UPDATE_AND_CREATE_ACL_CONFIG.
    Plain(AclAccount),
    /// ACL 2.0: the user (AUTH_CREATE_USER), then its policies if it has any (AUTH_CREATE_ACL;
    /// a broker refuses an ACL without policies).
    Acl2 { user: User, acl: Option<Acl> },
}

/// One field that differs between the target and what the source asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDifference {
    /// The master; for accounts, which are compared once for the cluster, the cluster name.
    pub broker: String,
    pub field: String,
    pub target: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceUse {
    pub name: String,
    /// Whether any source name is in it; `false` means the import opens a new namespace.
    pub found_in_source: bool,
}

impl PlannedItem {
    pub fn is_failed(&self) -> bool {
        matches!(self.action, Action::Fail { .. })
    }
}

impl ImportPlan {
    /// The target as it would be after every Create and Update of this plan is carried out.
    /// Planning the same task again against it must give only Unchanged and Fail (re-runs
    /// converge); tests and a dry run use it.
    pub fn simulate(&self, target: &TargetLayout) -> TargetLayout {
        let mut after = target.clone();
        for item in &self.items {
            let per_broker = match &item.action {
                Action::Create { per_broker } | Action::Update { per_broker, .. } => per_broker,
                Action::Unchanged | Action::Fail { .. } => continue,
            };
            for (broker, config) in per_broker {
                match config {
                    Config::Topic(t) => {
                        let on = after.topics.entry(broker.clone()).or_default();
                        on.insert(item.target_name.clone(), t.clone());
                    }
                    Config::Group(g) => {
                        let on = after.groups.entry(broker.clone()).or_default();
                        on.insert(item.target_name.clone(), g.clone());
                    }
                    Config::Account(a) => {
                        let accounts = after.accounts.get_or_insert_with(TargetAccounts::default);
                        write_account(accounts, a);
                    }
                }
            }
        }
        after
    }
}

fn write_account(accounts: &mut TargetAccounts, account: &AccountConfig) {
    match account {
        AccountConfig::Plain(a) => {
            accounts.plain.insert(a.access_key.clone(), a.clone());
        }
        AccountConfig::Acl2 { user, acl } => {
            accounts.users.insert(user.username.clone(), user.clone());
            match acl {
                Some(acl) => accounts.acls.insert(user.username.clone(), acl.clone()),
                None => accounts.acls.remove(&user.username),
            };
        }
    }
}
