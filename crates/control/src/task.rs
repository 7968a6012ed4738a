//! Tasks and their items as plain data: what the store keeps and what `--json` prints. Items carry
//! names, results and causes only, never a secret.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// When something happened; stored and printed in UTC.
pub type Timestamp = DateTime<Utc>;

/// [`TaskSummary::kind`] of an import task.
pub const IMPORT: &str = "import";

/// A task's number in its store, growing with each task created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TaskId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        s.trim().parse().map(TaskId).map_err(|_| ParseError::new("task id", s))
    }
}

/// A string that names none of the values of a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    value: String,
}

impl ParseError {
    fn new(what: &'static str, value: &str) -> Self {
        ParseError { what, value: value.to_string() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a {}: {:?}", self.what, self.value)
    }
}

impl std::error::Error for ParseError {}

/// Where an import task goes and what it reads. Becomes a [`TaskSummary`] in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewImportTask {
    pub target_namesrv: String,
    pub target_cluster: String,
    /// A document's path, or `live:<namesrv>/<cluster>` for a live source.
    pub source: String,
    /// `cluster`, or `namespace:<NS>`.
    pub mode: String,
}

/// A task's state: running until it is finished, then what its items came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskStatus {
    Running,
    /// No item failed (also: a task with no items).
    Succeeded,
    /// Some items failed, some did not.
    SomeFailed,
    /// Every item failed, and there was at least one.
    AllFailed,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 4] =
        [TaskStatus::Running, TaskStatus::Succeeded, TaskStatus::SomeFailed, TaskStatus::AllFailed];

    /// The status of a finished task whose items, all kinds together, came to `items`.
    pub fn finished(items: ItemCounts) -> TaskStatus {
        if items.failed == 0 {
            TaskStatus::Succeeded
        } else if items.failed == items.total {
            TaskStatus::AllFailed
        } else {
            TaskStatus::SomeFailed
        }
    }

    pub fn is_finished(self) -> bool {
        self != TaskStatus::Running
    }

    /// The token the store keeps (`running`, `succeeded`, `some_failed`, `all_failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::SomeFailed => "some_failed",
            TaskStatus::AllFailed => "all_failed",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskStatus::Running => "Running",
            TaskStatus::Succeeded => "Succeeded",
            TaskStatus::SomeFailed => "Some failed",
            TaskStatus::AllFailed => "All failed",
        })
    }
}

/// Takes the stored token, its kebab-case or camelCase form, or the displayed words, in any case.
impl FromStr for TaskStatus {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let key: String = s.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
        TaskStatus::ALL
            .into_iter()
            .find(|t| t.as_str().replace('_', "") == key)
            .ok_or_else(|| ParseError::new("task status", s))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    Topic,
    Group,
    Account,
}

impl ItemKind {
    pub const ALL: [ItemKind; 3] = [ItemKind::Topic, ItemKind::Group, ItemKind::Account];

    /// The token the store keeps, also the displayed form: `topic`, `group`, `account`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Topic => "topic",
            ItemKind::Group => "group",
            ItemKind::Account => "account",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemKind {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        ItemKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseError::new("item kind", s))
    }
}

/// What became of one item. Created, Updated and Unchanged count as succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemStatus {
    Created,
    Updated,
    /// The target already had it, with the same settings.
    Unchanged,
    Failed,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 4] =
        [ItemStatus::Created, ItemStatus::Updated, ItemStatus::Unchanged, ItemStatus::Failed];

    pub fn succeeded(self) -> bool {
        self != ItemStatus::Failed
    }

    /// The token the store keeps, also the displayed form: `created`, `updated`, `unchanged`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Created => "created",
            ItemStatus::Updated => "updated",
            ItemStatus::Unchanged => "unchanged",
            ItemStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemStatus {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        ItemStatus::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseError::new("item status", s))
    }
}

/// How the items of one kind came out. `succeeded` includes `unchanged`;
/// `total = succeeded + failed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCounts {
    pub total: u32,
    pub succeeded: u32,
    pub unchanged: u32,
    pub failed: u32,
}

impl ItemCounts {
    /// Counts `n` more items that ended as `status`.
    pub fn add(&mut self, status: ItemStatus, n: u32) {
        self.total += n;
        match status {
            ItemStatus::Failed => self.failed += n,
            ItemStatus::Unchanged => {
                self.succeeded += n;
                self.unchanged += n;
            }
            ItemStatus::Created | ItemStatus::Updated => self.succeeded += n,
        }
    }

    /// Both counts together.
    pub fn plus(self, other: ItemCounts) -> ItemCounts {
        ItemCounts {
            total: self.total + other.total,
            succeeded: self.succeeded + other.succeeded,
            unchanged: self.unchanged + other.unchanged,
            failed: self.failed + other.failed,
        }
    }
}

/// One task as listed: what it is, when, and how its items came out so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    pub id: TaskId,
    /// [`IMPORT`] for import tasks.
    pub kind: String,
    pub target_cluster: String,
    pub target_namesrv: String,
    pub source: String,
    pub mode: String,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub status: TaskStatus,
    pub topics: ItemCounts,
    pub groups: ItemCounts,
    pub accounts: ItemCounts,
}

impl TaskSummary {
    /// The counts of one kind of item.
    pub fn counts(&self, kind: ItemKind) -> ItemCounts {
        match kind {
            ItemKind::Topic => self.topics,
            ItemKind::Group => self.groups,
            ItemKind::Account => self.accounts,
        }
    }

    /// All items, every kind together.
    pub fn items(&self) -> ItemCounts {
        self.topics.plus(self.groups).plus(self.accounts)
    }
}

/// The result of one item of a task. A task has one item per kind and target name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRecord {
    pub kind: ItemKind,
    pub source_name: String,
    pub target_name: String,
    /// The target namespace (the part before `%`, or `default`).
    pub namespace: String,
    pub status: ItemStatus,
    /// Why it failed, in words: for a refusal by the target, its response code and remark.
    pub cause: Option<String>,
    pub warnings: Vec<String>,
    pub updated_at: Timestamp,
}

impl From<&ferry_metadata::import::ItemOutcome> for ItemRecord {
    /// An import outcome as the store keeps it.
    fn from(o: &ferry_metadata::import::ItemOutcome) -> ItemRecord {
        use ferry_metadata::import::{ItemKind as Kind, Outcome};
        let kind = match o.kind {
            Kind::Topic => ItemKind::Topic,
            Kind::Group => ItemKind::Group,
            Kind::Account => ItemKind::Account,
        };
        let (status, cause) = match &o.outcome {
            Outcome::Created => (ItemStatus::Created, None),
            Outcome::Updated => (ItemStatus::Updated, None),
            Outcome::Unchanged => (ItemStatus::Unchanged, None),
            Outcome::Failed(cause) => (ItemStatus::Failed, Some(cause.clone())),
        };
        let record = ItemRecord::new(kind, &o.source_name, &o.target_name, &o.namespace, status)
            .with_warnings(o.warnings.clone());
        match cause {
            Some(c) => record.with_cause(c),
            None => record,
        }
    }
}

impl ItemRecord {
    /// An item with no cause and no warnings, as of now.
    pub fn new(
        kind: ItemKind,
        source_name: impl Into<String>,
        target_name: impl Into<String>,
        namespace: impl Into<String>,
        status: ItemStatus,
    ) -> Self {
        ItemRecord {
            kind,
            source_name: source_name.into(),
            target_name: target_name.into(),
            namespace: namespace.into(),
            status,
            cause: None,
            warnings: Vec::new(),
            updated_at: Utc::now(),
        }
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(statuses: &[ItemStatus]) -> ItemCounts {
        let mut c = ItemCounts::default();
        for s in statuses {
            c.add(*s, 1);
        }
        c
    }

    #[test]
    fn finished_status_follows_the_failed_items() {
        use ItemStatus::*;
        assert_eq!(TaskStatus::finished(counts(&[])), TaskStatus::Succeeded);
        assert_eq!(TaskStatus::finished(counts(&[Created, Unchanged, Updated])), TaskStatus::Succeeded);
        assert_eq!(TaskStatus::finished(counts(&[Created, Failed])), TaskStatus::SomeFailed);
        assert_eq!(TaskStatus::finished(counts(&[Failed, Failed])), TaskStatus::AllFailed);
    }

    #[test]
    fn unchanged_items_count_as_succeeded() {
        let c = counts(&[ItemStatus::Unchanged, ItemStatus::Created, ItemStatus::Failed]);
        assert_eq!(c, ItemCounts { total: 3, succeeded: 2, unchanged: 1, failed: 1 });
    }

    #[test]
    fn task_status_reads_every_spelling() {
        for s in ["some_failed", "some-failed", "someFailed", "Some failed", "SOME-FAILED"] {
            assert_eq!(s.parse::<TaskStatus>(), Ok(TaskStatus::SomeFailed), "{s}");
        }
        for t in TaskStatus::ALL {
            assert_eq!(t.as_str().parse::<TaskStatus>(), Ok(t));
            assert_eq!(t.to_string().parse::<TaskStatus>(), Ok(t));
        }
        assert!("done".parse::<TaskStatus>().is_err());
    }

    #[test]
    fn json_uses_camel_case() {
        let v = serde_json::to_value(TaskStatus::SomeFailed).unwrap();
        assert_eq!(v, "someFailed");
        let item = ItemRecord::new(ItemKind::Topic, "a", "ns%a", "ns", ItemStatus::Failed).with_cause("no");
        let v = serde_json::to_value(&item).unwrap();
        assert_eq!(v["targetName"], "ns%a");
        assert_eq!(v["kind"], "topic");
        assert_eq!(v["status"], "failed");
        assert_eq!(serde_json::to_value(TaskId(7)).unwrap(), 7);
    }

    #[test]
    fn task_ids_parse_and_print() {
        assert_eq!(" 42 ".parse::<TaskId>(), Ok(TaskId(42)));
        assert_eq!(TaskId(42).to_string(), "42");
        assert_eq!("x".parse::<TaskId>().unwrap_err().to_string(), "not a task id: \"x\"");
    }
}
