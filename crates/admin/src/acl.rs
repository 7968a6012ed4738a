//! ACL accounts. 4.x plain ACL (ACL 1.0) keeps accounts in `plain_acl.yml` on each broker host,
//! and 4.9.x has no request that lists them: they are read from the file. 5.0 to 5.3.2 return the
//! whole file with GET_BROKER_CLUSTER_ACL_CONFIG. 5.3+ ACL 2.0 has users and policies
//! (AUTH_LIST_USER, AUTH_LIST_ACL).

use std::fmt;
use std::path::Path;

use ferry_remoting::request::{
    GetBrokerAclConfig, ListAclsRequestHeader, ListUsersRequestHeader, RequestHeader,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::{parse_body, Admin};
use crate::error::AdminError;

/// The content of a `plain_acl.yml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlainAclConfig {
    #[serde(deserialize_with = "strings")]
    pub global_white_remote_addresses: Vec<String>,
    pub accounts: Vec<PlainAccount>,
}

/// One ACL 1.0 account. `Debug` hides the secret.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlainAccount {
    #[serde(deserialize_with = "string")]
    pub access_key: String,
    #[serde(deserialize_with = "string")]
    pub secret_key: String,
    #[serde(deserialize_with = "opt_string")]
    pub white_remote_address: Option<String>,
    pub admin: bool,
    #[serde(deserialize_with = "opt_string")]
    pub default_topic_perm: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub default_group_perm: Option<String>,
    /// `resource=PERM` entries, e.g. `topicA=PUB|SUB`.
    #[serde(deserialize_with = "strings")]
    pub topic_perms: Vec<String>,
    #[serde(deserialize_with = "strings")]
    pub group_perms: Vec<String>,
}

impl fmt::Debug for PlainAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainAccount")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl PlainAclConfig {
    /// Reads a `plain_acl.yml`. Errors name the file and, for YAML errors, the line.
    pub fn read(path: &Path) -> Result<PlainAclConfig, AdminError> {
        let err = |detail: String| AdminError::AclFile { path: path.display().to_string(), detail };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let config: PlainAclConfig = serde_yaml::from_str(&text).map_err(|e| match e.location() {
            Some(l) => err(format!("line {}, column {}: {e}", l.line(), l.column())),
            None => err(e.to_string()),
        })?;
        for (i, a) in config.accounts.iter().enumerate() {
            if a.access_key.is_empty() {
                return Err(err(format!("accounts[{i}]: accessKey is missing")));
            }
        }
        Ok(config)
    }
}

/// An ACL 2.0 user (5.3+ `UserInfo`). `Debug` hides the password.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub username: String,
    pub password: Option<String>,
    pub user_type: Option<String>,
    pub user_status: Option<String>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("user_type", &self.user_type)
            .finish_non_exhaustive()
    }
}

/// An ACL 2.0 subject's policies (5.3+ `AclInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Acl {
    pub subject: String,
    pub policies: Vec<Policy>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Policy {
    pub policy_type: Option<String>,
    pub entries: Vec<PolicyEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyEntry {
    pub resource: Option<String>,
    pub actions: Vec<String>,
    pub source_ips: Vec<String>,
    pub decision: Option<String>,
}

/// `GetBrokerClusterAclConfigResponseBody` (5.0 to 5.3.2, `AdminBrokerProcessor.getBrokerClusterAclConfig`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct BrokerAclConfigBody {
    global_white_addrs: Vec<String>,
    plain_access_configs: Vec<PlainAccount>,
}

impl Admin {
    /// The whole ACL 1.0 configuration of a 5.0 to 5.3.2 broker (GET_BROKER_CLUSTER_ACL_CONFIG).
    /// 4.9.8 and 5.3.3+ do not serve it: read `plain_acl.yml` or use ACL 2.0 listing there.
    pub async fn plain_acl_config(&self, broker_addr: &str) -> Result<PlainAclConfig, AdminError> {
        let body: BrokerAclConfigBody = self.call_typed(broker_addr, &GetBrokerAclConfig {}).await?;
        Ok(PlainAclConfig {
            global_white_remote_addresses: body.global_white_addrs,
            accounts: body.plain_access_configs,
        })
    }

    /// ACL 2.0 users of a 5.3+ broker. An empty answer has no body.
    pub async fn acl_users(&self, broker_addr: &str) -> Result<Vec<User>, AdminError> {
        let header = ListUsersRequestHeader::default();
        let response = self.call(broker_addr, header.to_frame()).await?;
        if response.body.is_empty() {
            return Ok(Vec::new());
        }
        parse_body(broker_addr, ListUsersRequestHeader::CODE, &response.body)
    }

    /// ACL 2.0 policies of a 5.3+ broker.
    pub async fn acl_policies(&self, broker_addr: &str) -> Result<Vec<Acl>, AdminError> {
        let header = ListAclsRequestHeader::default();
        let response = self.call(broker_addr, header.to_frame()).await?;
        if response.body.is_empty() {
            return Ok(Vec::new());
        }
        parse_body(broker_addr, ListAclsRequestHeader::CODE, &response.body)
    }
}

// YAML writes `secretKey: 12345678` as a number; Java reads it as a string. So do we.
fn scalar_to_string(v: serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::Null => None,
        serde_yaml::Value::String(s) => Some(s),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        other => Some(serde_yaml::to_string(&other).unwrap_or_default().trim().to_string()),
    }
}

fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(scalar_to_string(serde_yaml::Value::deserialize(d)?).unwrap_or_default())
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(scalar_to_string(serde_yaml::Value::deserialize(d)?).filter(|s| !s.is_empty()))
}

fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match serde_yaml::Value::deserialize(d)? {
        serde_yaml::Value::Sequence(items) => items.into_iter().filter_map(scalar_to_string).collect(),
        other => scalar_to_string(other).into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sample_plain_acl_file_and_hides_secrets_in_debug() {
        let dir = std::env::temp_dir().join(format!("ferry-acl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plain_acl.yml");
        std::fs::write(
            &path,
            "globalWhiteRemoteAddresses:\n  - 10.10.103.*\naccounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    whiteRemoteAddress:\n    admin: false\n    defaultTopicPerm: DENY\n    defaultGroupPerm: SUB\n    topicPerms:\n      - topicA=DENY\n      - topicB=PUB|SUB\n    groupPerms:\n      - groupA=DENY\n",
        )
        .unwrap();
        let c = PlainAclConfig::read(&path).unwrap();
        assert_eq!(c.global_white_remote_addresses, vec!["10.10.103.*"]);
        let a = &c.accounts[0];
        assert_eq!(a.secret_key, "12345678");
        assert_eq!(a.white_remote_address, None);
        assert_eq!(a.topic_perms, vec!["topicA=DENY", "topicB=PUB|SUB"]);
        assert!(!format!("{a:?}").contains("12345678"));

        std::fs::write(&path, "accounts:\n  - accessKey: [unclosed\n").unwrap();
        let e = PlainAclConfig::read(&path).unwrap_err().to_string();
        assert!(e.contains("plain_acl.yml") && e.contains("line"), "{e}");
    }
}
