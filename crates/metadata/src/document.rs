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
    /// Whether the document carries ACL accounts (only Ferry's own do).
    pub fn has_accounts(&self) -> bool {
        self.ferry.as_ref().and_then(|f| f.acl.as_ref()).is_some()
    }

    /// Reads a document: an `export.sh` / Ferry file, or a bare `mqadmin exportMetadata`
    /// `metadata.json` (`{topicConfigTable, subscriptionGroupTable, exportTime}`). A leading UTF-8
    /// byte order mark is skipped. A value that does not fit is named by line, column and path
    /// (`ferry.topics[3] (orders).writeQueueNums`); queue numbers must be from 0 to
    /// [`MAX_QUEUE_NUMS`].
    pub fn from_json(text: &[u8], source: &str) -> Result<Document, MetadataError> {
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
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
        let (shaped, wrapped) = match &value {
            Value::Object(m) if has(m, &["topicConfigTable", "subscriptionGroupTable"]) => {
                (serde_json::json!({ "metadata": value }), true)
            }
            Value::Object(m) if has(m, &["configs", "metadata", "metrics", "ferry"]) => (value, false),
            Value::Object(_) => {
                return Err(parse_err(
                    "not a metadata document: expected the keys of an export.sh or ferry export file \
                     (configs, metadata, metrics, ferry) or of mqadmin exportMetadata \
                     (topicConfigTable, subscriptionGroupTable)",
                ))
            }
            _ => return Err(parse_err("not a metadata document: the top level must be a JSON object")),
        };
        let placed = Placed { text, shaped: &shaped, wrapped };
        let doc: Document = serde_path_to_error::deserialize(&shaped).map_err(|e| {
            let path: Vec<Step> = e
                .path()
                .iter()
                .map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => Step::Index(*index),
                    serde_path_to_error::Segment::Map { key } => Step::Key(key.clone()),
                    serde_path_to_error::Segment::Enum { variant } => Step::Key(variant.clone()),
                    serde_path_to_error::Segment::Unknown => Step::Key("?".into()),
                })
                .collect();
            let detail = match placed.value_at(&path) {
                Some(Value::Number(n)) if is_queue_field(&path) && (n.is_i64() || n.is_u64()) => {
                    out_of_range(&n.to_string())
                }
                _ => e.inner().to_string(),
            };
            placed.error(source, &path, detail)
        })?;
        let bad = bad_queue_nums(&doc);
        if let Some((path, value)) = bad.first() {
            let mut err = placed.error(source, path, out_of_range(&value.to_string()));
            if let (MetadataError::Parse { detail, .. }, true) = (&mut err, bad.len() > 1) {
                detail.push_str(&format!(" (and {} more out of range)", bad.len() - 1));
            }
            return Err(err);
        }
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

/// The largest queue number a document may hold: a Java `int`, what a broker stores. Brokers set no
/// bound of their own (`AdminBrokerProcessor.updateAndCreateTopic` checks only the topic's name), a
/// topic may have 0 write queues while it is drained, and totals summed over many masters can be
/// large; an import then fits every number into its `--min-queues`..`--max-queues`.
pub const MAX_QUEUE_NUMS: i64 = i32::MAX as i64;

/// The queue number fields of topics and groups.
const QUEUE_FIELDS: &[&str] = &["readQueueNums", "writeQueueNums", "retryQueueNums"];

fn is_queue_field(path: &[Step]) -> bool {
    matches!(path.last(), Some(Step::Key(k)) if QUEUE_FIELDS.contains(&k.as_str()))
}

/// In the words a workbook cell out of range gets.
fn out_of_range(value: &str) -> String {
    format!("{value} is out of range: from 0 to {MAX_QUEUE_NUMS}")
}

/// Negative queue numbers, with their paths in the document as read (before unwrapping).
fn bad_queue_nums(doc: &Document) -> Vec<(Vec<Step>, i32)> {
    let key = |k: &str| Step::Key(k.to_string());
    let mut bad = Vec::new();
    let mut check = |path: Vec<Step>, field: &str, n: i32| {
        if n < 0 {
            let mut path = path;
            path.push(key(field));
            bad.push((path, n));
        }
    };
    for (name, t) in &doc.metadata.topic_config_table {
        let at = || vec![key("metadata"), key("topicConfigTable"), key(name)];
        check(at(), "readQueueNums", t.read_queue_nums);
        check(at(), "writeQueueNums", t.write_queue_nums);
    }
    for (name, g) in &doc.metadata.subscription_group_table {
        check(
            vec![key("metadata"), key("subscriptionGroupTable"), key(name)],
            "retryQueueNums",
            g.retry_queue_nums,
        );
    }
    if let Some(f) = &doc.ferry {
        for (i, t) in f.topics.iter().enumerate() {
            let at = || vec![key("ferry"), key("topics"), Step::Index(i)];
            check(at(), "readQueueNums", t.read_queue_nums);
            check(at(), "writeQueueNums", t.write_queue_nums);
            for (j, b) in t.brokers.iter().enumerate() {
                let at = || {
                    let mut p = at();
                    p.extend([key("brokers"), Step::Index(j)]);
                    p
                };
                check(at(), "readQueueNums", b.read_queue_nums);
                check(at(), "writeQueueNums", b.write_queue_nums);
            }
        }
        for (i, g) in f.groups.iter().enumerate() {
            check(
                vec![key("ferry"), key("groups"), Step::Index(i), key("config")],
                "retryQueueNums",
                g.config.retry_queue_nums,
            );
        }
    }
    bad
}

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A document's text and value, to place an error by line, column and path.
struct Placed<'a> {
    text: &'a [u8],
    shaped: &'a Value,
    /// A bare `mqadmin` file, read as if under `metadata`.
    wrapped: bool,
}

impl Placed<'_> {
    fn value_at(&self, path: &[Step]) -> Option<&Value> {
        path.iter().try_fold(self.shaped, |v, step| match step {
            Step::Key(k) => v.get(k),
            Step::Index(i) => v.get(i),
        })
    }

    /// `path` as written in the file, each array item followed by its name when it has one:
    /// `ferry.topics[3] (orders).writeQueueNums`.
    fn describe(&self, path: &[Step]) -> String {
        let mut out = String::new();
        let mut value = Some(self.shaped);
        for (n, step) in path.iter().enumerate() {
            match step {
                Step::Key(k) => {
                    value = value.and_then(|v| v.get(k));
                    if n == 0 && self.wrapped {
                        continue;
                    }
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Step::Index(i) => {
                    value = value.and_then(|v| v.get(i));
                    out.push_str(&format!("[{i}]"));
                    let name =
                        ["name", "topicName", "groupName", "accessKey", "username", "subject", "broker"]
                            .iter()
                            .find_map(|k| value.and_then(|v| v.get(*k)).and_then(Value::as_str));
                    if let Some(name) = name {
                        out.push_str(&format!(" ({name})"));
                    }
                }
            }
        }
        out
    }

    fn error(&self, source: &str, path: &[Step], detail: String) -> MetadataError {
        let in_text = if self.wrapped { path.get(1..).unwrap_or_default() } else { path };
        MetadataError::Parse {
            source_name: source.to_string(),
            location: offset_in(self.text, in_text).and_then(|at| location_of(self.text, at)),
            detail: format!("{}: {detail}", self.describe(path)),
        }
    }
}

/// Where the value at `path` starts in `text` (read as the tolerant fastjson parser reads it:
/// single quotes and bare keys too); `None` if it cannot be found.
fn offset_in(text: &[u8], path: &[Step]) -> Option<usize> {
    let mut s = Scan { b: text, pos: 0 };
    for step in path {
        s.ws();
        match (step, s.peek()?) {
            (Step::Key(wanted), b'{') => {
                s.pos += 1;
                loop {
                    s.ws();
                    let key = s.key()?;
                    s.ws();
                    if s.peek()? != b':' {
                        return None;
                    }
                    s.pos += 1;
                    if key == *wanted {
                        break;
                    }
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? != b',' {
                        return None;
                    }
                    s.pos += 1;
                }
            }
            (Step::Index(i), b'[') => {
                s.pos += 1;
                for _ in 0..*i {
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? != b',' {
                        return None;
                    }
                    s.pos += 1;
                }
            }
            _ => return None,
        }
    }
    s.ws();
    Some(s.pos)
}

/// A forward scan over document text that skips values without building them.
struct Scan<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// A quoted string (either quote), escapes decoded as far as keys need.
    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'\\' => {
                    escaped = true;
                    self.pos += 1;
                }
                b if b == quote => break,
                _ => {}
            }
        }
        let raw = std::str::from_utf8(&self.b[start..self.pos - 1]).ok()?;
        if !escaped {
            return Some(raw.to_string());
        }
        serde_json::from_str(&format!("\"{}\"", raw.replace("\\'", "'"))).ok()
    }

    /// An object key: quoted, or a bare word or number, or (fastjson) a whole value.
    fn key(&mut self) -> Option<String> {
        match self.peek()? {
            b'"' | b'\'' => self.string(),
            b'{' | b'[' => {
                let start = self.pos;
                self.skip_value()?;
                Some(String::from_utf8_lossy(&self.b[start..self.pos]).into_owned())
            }
            _ => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c == b'_' || c == b'$' || c == b'-' || c == b'.' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                (self.pos > start).then(|| String::from_utf8_lossy(&self.b[start..self.pos]).into_owned())
            }
        }
    }

    /// Skips one value, nested ones included, without recursion.
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            self.ws();
            match self.peek()? {
                b'"' | b'\'' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    if depth == 0 {
                        return None;
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                b',' | b':' => {
                    if depth == 0 {
                        return None;
                    }
                    self.pos += 1;
                }
                _ => {
                    while matches!(self.peek(), Some(c) if !b",:{}[]\"' \t\r\n".contains(&c)) {
                        self.pos += 1;
                    }
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
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
    fn a_long_decimal_in_a_field_ferry_does_not_know_writes_and_reads_back_the_same() {
        // Found by fuzzing: without exact float parsing (serde_json's `float_roundtrip`), the
        // number read was one step off the one written, and written again it changed.
        let text = br#"{"exportTime":1700000000000,"subscriptionGroupTable":{"g":{"groupName":"g","slowly":177777777777777777777777777777777777777777777777777777}}}"#;
        let written = Document::from_json(text, "metadata.json").unwrap().to_json_pretty();
        let again = Document::from_json(written.as_bytes(), "again.json").unwrap().to_json_pretty();
        assert_eq!(again, written);
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

    fn err_of(text: &[u8]) -> String {
        Document::from_json(text, "in.json").unwrap_err().to_string()
    }

    const FERRY_HEAD: &str = r#"{"ferry":{"formatVersion":1,"exportedBy":"x","exportTime":"2026-01-01T00:00:00Z","source":{},"groups":[],"namespaces":[],"skipped":{},
  "topics":["#;

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        let text = b"\xEF\xBB\xBF{\"topicConfigTable\":{\"T\":{\"readQueueNums\":8}}}";
        let doc = Document::from_json(text, "bom.json").unwrap();
        assert_eq!(doc.metadata.topic_config_table["T"].read_queue_nums, 8);
        // Still placed in the text after the mark.
        let err = err_of(b"\xEF\xBB\xBF{\n  \"metadata\": {,\n}");
        assert!(err.contains("line 2, column 16"), "{err}");
    }

    #[test]
    fn a_queue_number_too_large_is_placed_by_line_column_item_and_field() {
        let text = format!(
            "{FERRY_HEAD}\n    {{\"name\":\"a\"}},\n    {{\"name\":\"b\"}},\n    {{\"name\":\"c\"}},\n    {{\"name\":\"orders\", \"writeQueueNums\": 99999999999}}\n  ]}}}}"
        );
        let err = err_of(text.as_bytes());
        assert_eq!(
            err,
            "in.json, line 6, column 41: ferry.topics[3] (orders).writeQueueNums: 99999999999 is out of range: \
             from 0 to 2147483647"
        );
    }

    #[test]
    fn negative_queue_numbers_are_refused_in_the_words_of_a_workbook() {
        let text = format!(
            "{FERRY_HEAD}\n    {{\"name\":\"orders\", \"brokers\":[{{\"broker\":\"broker-a\",\"readQueueNums\":-1}}]}}\n  ]}}}}"
        );
        let err = err_of(text.as_bytes());
        assert_eq!(
            err,
            "in.json, line 3, column 71: ferry.topics[0] (orders).brokers[0] (broker-a).readQueueNums: -1 is out of \
             range: from 0 to 2147483647"
        );
        // An Apache file, bare: its paths and lines are the file's own.
        let err = err_of(b"{\"topicConfigTable\":{\n 'orders':{\"readQueueNums\":4,\"writeQueueNums\":-3}},\n subscriptionGroupTable:{\"g\":{\"retryQueueNums\":-1}}}");
        assert_eq!(
            err,
            "in.json, line 2, column 47: topicConfigTable.orders.writeQueueNums: -3 is out of range: from 0 to \
             2147483647 (and 1 more out of range)"
        );
        let err = err_of(br#"{"ferry":{"formatVersion":1,"exportedBy":"x","exportTime":"2026-01-01T00:00:00Z","source":{},"topics":[],"namespaces":[],"skipped":{},"groups":[{"name":"billing","config":{"groupName":"billing","retryQueueNums":-2}}]}}"#);
        assert!(err.contains("ferry.groups[0] (billing).config.retryQueueNums: -2 is out of range"), "{err}");
        // 0 is a queue number a drained topic has.
        let text =
            format!("{FERRY_HEAD}{{\"name\":\"orders\",\"readQueueNums\":4,\"writeQueueNums\":0}}]}}}}");
        Document::from_json(text.as_bytes(), "in.json").unwrap();
    }

    #[test]
    fn any_value_of_the_wrong_type_is_placed() {
        let text = format!("{FERRY_HEAD}{{\"name\":\"orders\",\n\"perm\":\"rw\"}}]}}}}");
        let err = err_of(text.as_bytes());
        assert!(
            err.starts_with(
                "in.json, line 3, column 8: ferry.topics[0] (orders).perm: invalid type: string \"rw\""
            ),
            "{err}"
        );
        let err = err_of(b"{\"metadata\":{\"topicConfigTable\":{\"T\":{\"writeQueueNums\":4.5}}}}");
        assert!(err.starts_with("in.json, line 1, column 56: metadata.topicConfigTable.T.writeQueueNums: invalid type: floating point"), "{err}");
    }

    proptest::proptest! {
        /// Placing an error scans text it did not build: any text and path end in an answer.
        #[test]
        fn placing_never_panics(text in proptest::collection::vec(proptest::sample::select(
                b"{}[]:,\"'\\ \n0-9aL".to_vec()), 0..64),
            path in proptest::collection::vec((proptest::bool::ANY, 0usize..3, proptest::sample::select(vec!["a", "0", ""])), 0..4)) {
            let path: Vec<Step> = path
                .into_iter()
                .map(|(index, i, k)| if index { Step::Index(i) } else { Step::Key(k.to_string()) })
                .collect();
            if let Some(at) = offset_in(&text, &path) {
                proptest::prop_assert!(at <= text.len());
            }
            let _ = Document::from_json(&text, "x.json");
        }
    }
}
