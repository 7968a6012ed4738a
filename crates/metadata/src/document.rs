//! The metadata document. Its top level is what Apache's `distribution/bin/export.sh` writes to
//! `rocketmq-metadata-export.json` (`configs`, `metadata`, `metrics`: the outputs of `mqadmin
//! exportConfigs`, `exportMetadata` and `exportMetrics`), so either tool's file is accepted where
//! the other's is. Ferry's own detail, versioned, sits under `ferry`. See docs/metadata-format.md.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ferry_admin::{Acl, User};
use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::MetadataError;

/// The version of the `ferry` section this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The default file name, as `export.sh` writes it.
pub const DEFAULT_FILE_NAME: &str = "rocketmq-metadata-export.json";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Document {
    /// `mqadmin exportConfigs`: `brokerConfigs` and `clusterScale`.
    pub configs: Value,
    /// `mqadmin exportMetadata`: queue numbers summed over the cluster's masters, as Apache does.
    pub metadata: ApacheMetadata,
    /// `mqadmin exportMetrics`: `evaluateReport` per broker and `totalData`.
    pub metrics: Value,
    /// Ferry's detail; absent in files written by Apache's tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ferry: Option<FerryDetail>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApacheMetadata {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    /// Milliseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_time: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FerryDetail {
    pub format_version: u32,
    /// `ferry <version>`.
    pub exported_by: String,
    pub export_time: DateTime<Utc>,
    pub source: SourceCluster,
    pub topics: Vec<TopicEntry>,
    pub groups: Vec<GroupEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<AclExport>,
    /// Namespaces found in topic and group names (the part before `%`).
    pub namespaces: Vec<String>,
    pub skipped: Skipped,
    /// What the export could not read, in words (e.g. ACL listing unsupported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SourceCluster {
    /// The NameServer list the export read from.
    pub namesrv_addr: String,
    pub cluster: String,
    /// `brokerVersionDesc` of the masters, e.g. `V4_9_8`; the lowest if they differ.
    pub version: Option<String>,
    pub brokers: Vec<BrokerEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerEntry {
    pub name: String,
    pub master: Option<String>,
    pub slaves: BTreeMap<i64, String>,
    pub version: Option<String>,
}

/// A topic with its queues on each master.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicEntry {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Sums over the brokers below.
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub order: bool,
    pub topic_sys_flag: i32,
    pub topic_filter_type: String,
    /// 5.x topic attribute `message.type`: NORMAL, FIFO, DELAY, TRANSACTION.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    pub brokers: Vec<TopicOnBroker>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOnBroker {
    pub broker: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
}

/// A subscription group: every field of its config, and the brokers that have it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupEntry {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub brokers: Vec<String>,
    pub config: SubscriptionGroupConfig,
}

/// ACL accounts. Secrets appear only when the export was asked for them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AclExport {
    /// `plain` (ACL 1.0, `plain_acl.yml`) or `acl2` (5.3+ users and policies).
    pub kind: String,
    /// Where the accounts were read: a file path or a broker address.
    pub origin: String,
    pub secrets_included: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub global_white_remote_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AclAccount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Acl>,
}

/// A 4.x plain ACL account.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AclAccount {
    pub access_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub white_remote_address: Option<String>,
    pub admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_topic_perm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_group_perm: Option<String>,
    pub topic_perms: Vec<String>,
    pub group_perms: Vec<String>,
}

impl std::fmt::Debug for AclAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclAccount")
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// What the export left out, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Skipped {
    pub system_topics: usize,
    pub retry_and_dlq_topics: usize,
    pub system_groups: usize,
}

impl Document {
    /// Reads a document: an `export.sh` / Ferry file, or a bare `mqadmin exportMetadata`
    /// `metadata.json` (`{topicConfigTable, subscriptionGroupTable, exportTime}`).
    pub fn from_json(text: &[u8], source: &str) -> Result<Document, MetadataError> {
        let value = ferry_remoting::fastjson::parse(text).map_err(|e| MetadataError::Parse {
            source_name: source.to_string(),
            location: location_of(text, e.offset),
            detail: e.reason,
        })?;
        let parse_err = |detail: &str| MetadataError::Parse {
            source_name: source.to_string(),
            location: None,
            detail: detail.to_string(),
        };
        let has = |m: &serde_json::Map<String, Value>, keys: &[&str]| keys.iter().any(|k| m.contains_key(*k));
        let shaped = match &value {
            Value::Object(m) if has(m, &["topicConfigTable", "subscriptionGroupTable"]) => {
                serde_json::json!({ "metadata": value })
            }
            Value::Object(m) if has(m, &["configs", "metadata", "metrics", "ferry"]) => value,
            Value::Object(_) => {
                return Err(parse_err(
                    "not a metadata document: expected the keys of an export.sh or ferry export file \
                     (configs, metadata, metrics, ferry) or of mqadmin exportMetadata \
                     (topicConfigTable, subscriptionGroupTable)",
                ))
            }
            _ => return Err(parse_err("not a metadata document: the top level must be a JSON object")),
        };
        let doc: Document = serde_json::from_value(shaped).map_err(|e| MetadataError::Parse {
            source_name: source.to_string(),
            location: None,
            detail: e.to_string(),
        })?;
        if let Some(f) = &doc.ferry {
            if f.format_version > FORMAT_VERSION {
                return Err(MetadataError::UnsupportedVersion {
                    source_name: source.to_string(),
                    found: f.format_version,
                    supported: FORMAT_VERSION,
                });
            }
        }
        Ok(doc)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("documents are plain data")
    }
}

/// `line L, column C` of a byte offset, for error messages.
fn location_of(text: &[u8], offset: usize) -> Option<String> {
    let upto = text.get(..offset.min(text.len()))?;
    let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
    let col = upto.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    Some(format!("line {line}, column {col}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_bare_mqadmin_metadata_file() {
        let text = br#"{"exportTime":1700000000000,"topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":8}},"subscriptionGroupTable":{"g":{"groupName":"g","retryQueueNums":2}}}"#;
        let doc = Document::from_json(text, "metadata.json").unwrap();
        assert_eq!(doc.metadata.topic_config_table["T"].read_queue_nums, 8);
        assert_eq!(doc.metadata.subscription_group_table["g"].retry_queue_nums, 2);
        assert!(doc.ferry.is_none());
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let err = Document::from_json(b"{\n  \"metadata\": {,\n}", "in.json").unwrap_err().to_string();
        assert!(err.contains("in.json") && err.contains("line 2, column 16"), "{err}");
    }

    #[test]
    fn json_that_is_not_a_document_is_refused() {
        for text in [&b"[]"[..], b"{}", br#"{"topics":[]}"#] {
            let err = Document::from_json(text, "x.json").unwrap_err().to_string();
            assert!(err.starts_with("x.json") && err.contains("not a metadata document"), "{err}");
        }
    }

    #[test]
    fn a_newer_format_version_is_refused() {
        let text = br#"{"ferry":{"formatVersion":99,"exportedBy":"x","exportTime":"2026-01-01T00:00:00Z","source":{},"topics":[],"groups":[],"namespaces":[],"skipped":{}}}"#;
        let err = Document::from_json(text, "new.json").unwrap_err().to_string();
        assert!(err.contains("99"), "{err}");
    }
}
