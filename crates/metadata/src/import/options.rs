//! What an import task asks for: where names go, which items, how queue numbers map onto the
//! target, how much one task may do. Checked once, before any item is planned.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::naming;
use super::target::TargetLayout;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOptions {
    pub mode: Mode,
    pub selection: Selection,
    pub queue_mapping: QueueMapping,
    /// Read and write queue numbers outside this range are fitted into it, with a warning.
    pub queue_range: RangeInclusive<i32>,
    /// At most this many topics, and separately this many groups, per task; the rest fail.
    pub per_task_limit: usize,
    /// Update items that exist on the target with other settings (else they fail).
    pub overwrite: bool,
    /// Target masters to import onto; `None` means all of them.
    pub brokers: Option<Vec<String>>,
    /// What becomes of an ACL 1.0 `whiteRemoteAddress` on an ACL 2.0 target.
    pub white_addresses: WhiteAddresses,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            mode: Mode::ToCluster,
            selection: Selection::default(),
            queue_mapping: QueueMapping::PerBroker,
            queue_range: 3..=16,
            per_task_limit: 1000,
            overwrite: false,
            brokers: None,
            white_addresses: WhiteAddresses::Drop,
        }
    }
}

/// Where names land on the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Names are kept; each item stays in its own namespace (the part before `%`), or in
    /// "default" when it has none.
    ToCluster,
    /// Every topic and group becomes `NS%name`; a name already in a namespace has it replaced.
    ToNamespace(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub topics: Filter,
    pub groups: Filter,
    pub accounts: Filter,
}

/// Which items of one kind are chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Filter {
    #[default]
    All,
    /// Source names matching any pattern; `*` stands for any run of characters.
    Names(Vec<String>),
    None,
}

/// How a topic's queue numbers are placed on the target's masters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueMapping {
    /// Each target master gets what one source master had (see `queues`).
    #[default]
    PerBroker,
    /// The topic's total over the source is spread evenly over the target masters.
    ClusterTotal,
}

/// An ACL 1.0 `whiteRemoteAddress` lets requests from those addresses *skip* the signature and
/// permission checks (4.9.8 `PlainPermissionManager.validate` returns early on a match). ACL 2.0
/// has no such bypass: an entry's `sourceIps` instead *limits* where the entry applies. Neither
/// choice keeps the old meaning; both only ever allow less than ACL 1.0 did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhiteAddresses {
    /// Leave the addresses out, with a warning: signed requests keep working from anywhere, as
    /// they did; unsigned ones from the listed addresses stop working. Apache's own 5.3.3
    /// `AuthMigrator` does the same.
    #[default]
    Drop,
    /// Put the addresses, as IPs and CIDR blocks, into every entry's `sourceIps`: the account
    /// then works only from there. A pattern that cannot be written that way fails the account.
    ToSourceIps,
}

/// A task that cannot be planned at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("namespace '{namespace}' is not valid: {reason}")]
    Namespace { namespace: String, reason: String },
    #[error("queue range {start}..={end} is not valid: it must be non-empty and start at 1 or more")]
    QueueRange { start: i32, end: i32 },
    #[error("broker '{broker}' is not a master of target cluster '{cluster}' (masters: {masters})")]
    UnknownBroker { broker: String, cluster: String, masters: String },
    #[error("target cluster '{0}' has no master to import onto")]
    NoMaster(String),
}

impl ImportOptions {
    /// Checks the options against the target and returns the chosen masters, sorted by name
    /// (the order queue placement relies on).
    pub(crate) fn check(&self, target: &TargetLayout) -> Result<Vec<String>, ImportError> {
        if let Mode::ToNamespace(ns) = &self.mode {
            naming::validate_namespace(ns)
                .map_err(|reason| ImportError::Namespace { namespace: ns.clone(), reason })?;
        }
        let (start, end) = (*self.queue_range.start(), *self.queue_range.end());
        if start < 1 || start > end {
            return Err(ImportError::QueueRange { start, end });
        }
        let mut chosen = match &self.brokers {
            None => target.masters.clone(),
            Some(list) => {
                for b in list {
                    if !target.masters.contains(b) {
                        return Err(ImportError::UnknownBroker {
                            broker: b.clone(),
                            cluster: target.cluster.clone(),
                            masters: target.masters.join(", "),
                        });
                    }
                }
                list.clone()
            }
        };
        chosen.sort();
        chosen.dedup();
        if chosen.is_empty() {
            return Err(ImportError::NoMaster(target.cluster.clone()));
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::target::MajorVersion;

    fn target() -> TargetLayout {
        TargetLayout::new("T", MajorVersion::V5, vec!["b".into(), "a".into()])
    }

    #[test]
    fn chosen_masters_are_sorted_and_default_to_all() {
        let chosen = ImportOptions::default().check(&target()).unwrap();
        assert_eq!(chosen, vec!["a", "b"]);
    }

    #[test]
    fn a_broker_outside_the_target_is_refused_by_name() {
        let options = ImportOptions { brokers: Some(vec!["c".into()]), ..ImportOptions::default() };
        let err = options.check(&target()).unwrap_err().to_string();
        assert!(err.contains("'c'") && err.contains("'T'"), "{err}");
        let empty = ImportOptions { brokers: Some(vec![]), ..ImportOptions::default() };
        assert_eq!(empty.check(&target()), Err(ImportError::NoMaster("T".into())));
    }

    #[test]
    fn an_empty_or_zero_queue_range_is_refused() {
        for range in [0..=16, RangeInclusive::new(8, 4)] {
            let options = ImportOptions { queue_range: range, ..ImportOptions::default() };
            assert!(matches!(options.check(&target()), Err(ImportError::QueueRange { .. })));
        }
    }

    #[test]
    fn the_namespace_of_to_namespace_mode_is_validated() {
        let options = ImportOptions { mode: Mode::ToNamespace("a%b".into()), ..ImportOptions::default() };
        let err = options.check(&target()).unwrap_err().to_string();
        assert!(err.contains("'a%b'") && err.contains('%'), "{err}");
    }
}
