//! What the target cluster already has, as the admin client reads it before planning: its
//! masters, each master's topics and groups, and (when they can be read) its ACL accounts.

use std::collections::BTreeMap;

use ferry_admin::{Acl, User};
use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use serde::{Deserialize, Serialize};

use crate::document::AclAccount;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetLayout {
    pub cluster: String,
    pub major_version: MajorVersion,
    /// Names of the master brokers.
    pub masters: Vec<String>,
    /// Master name -> topic name -> config on that master.
    pub topics: BTreeMap<String, BTreeMap<String, TopicConfig>>,
    /// Master name -> group name -> config on that master.
    pub groups: BTreeMap<String, BTreeMap<String, SubscriptionGroupConfig>>,
    /// Which ACL the target speaks. [`TargetLayout::new`] derives it from the major version;
    /// a 5.0 to 5.2 target still speaks ACL 1.0 and must be set to [`AclModel::Plain`].
    pub acl_model: AclModel,
    /// The target's accounts, when they could be read (5.3+: AUTH_LIST_USER and AUTH_LIST_ACL;
    /// 4.x: only from its `plain_acl.yml`). `None`: unknown, so accounts are planned as new.
    pub accounts: Option<TargetAccounts>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MajorVersion {
    V4,
    V5,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AclModel {
    /// ACL 1.0: `plain_acl.yml` accounts (4.x, 5.0 to 5.2).
    Plain,
    /// ACL 2.0: users and policies (5.3+).
    Acl2,
}

/// Accounts the target has; the same on every master, so read from one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetAccounts {
    /// ACL 1.0 accounts by access key.
    pub plain: BTreeMap<String, AclAccount>,
    /// ACL 2.0 users by username.
    pub users: BTreeMap<String, User>,
    /// ACL 2.0 policies by username (their subject is `User:<username>`).
    pub acls: BTreeMap<String, Acl>,
}

impl TargetLayout {
    /// An empty target: no topics, groups or known accounts yet.
    pub fn new(cluster: &str, major_version: MajorVersion, masters: Vec<String>) -> TargetLayout {
        TargetLayout {
            cluster: cluster.to_string(),
            major_version,
            masters,
            topics: BTreeMap::new(),
            groups: BTreeMap::new(),
            acl_model: match major_version {
                MajorVersion::V4 => AclModel::Plain,
                MajorVersion::V5 => AclModel::Acl2,
            },
            accounts: None,
        }
    }

    pub(crate) fn topic(&self, broker: &str, name: &str) -> Option<&TopicConfig> {
        self.topics.get(broker)?.get(name)
    }

    pub(crate) fn group(&self, broker: &str, name: &str) -> Option<&SubscriptionGroupConfig> {
        self.groups.get(broker)?.get(name)
    }
}
