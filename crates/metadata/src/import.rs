//! Import planning: turns the chosen items of a metadata document (a Ferry export or an Apache
//! `mqadmin exportMetadata` file) into a plan for a target cluster, one entry per item: create,
//! update, unchanged or fail, each with the masters, configs and reasons. Pure: no I/O. An
//! executor carries the plan out; planning again against the result gives only Unchanged (and
//! the same failures), so re-runs converge.
//!
//! For each topic and group, in source name order: selection, per-task limit, renaming into the
//! target namespace, name rules, duplicate target names, the configs the target should hold
//! (queue mapping, version differences), and the comparison with what the target has.

mod account;
mod acl;
mod compare;
mod execute;
mod group;
mod live_target;
mod naming;
mod options;
mod plan;
mod queues;
mod source;
mod target;
mod target_acl;
mod topic;
mod white_address;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use account::without_secrets;
pub use acl::{plain_to_acl2, Acl2Account};
pub use execute::{execute, ItemOutcome, Outcome};
pub use live_target::{plan_on_target, read_target, PlanOnTargetError};
pub use options::{Filter, ImportError, ImportOptions, Mode, QueueMapping, Selection, WhiteAddresses};
pub use plan::{
    AccountConfig, Action, Config, FieldDifference, ImportPlan, ItemKind, NamespaceUse, PlannedItem,
};
pub use queues::fit_queue_nums;
pub use target::{AclModel, MajorVersion, TargetAccounts, TargetLayout};
pub use target_acl::{read_target_acl, TargetAcl};

use crate::document::Document;
use source::Source;

/// Plans importing `doc` into `target`. Fails only when the task itself is wrong (an invalid
/// namespace or queue range, a broker the target does not have); every item-level problem is
/// that item's `Action::Fail`.
pub fn plan(
    doc: &Document,
    target: &TargetLayout,
    options: &ImportOptions,
) -> Result<ImportPlan, ImportError> {
    let brokers = options.check(target)?;
    let source = Source::read(doc);
    let mut warnings = Vec::new();
    if !source.ferry && source.masters.is_none() && options.queue_mapping == QueueMapping::PerBroker {
        warnings.push(
            "the file does not say how many source masters its queue numbers were summed over: \
             they are used as they are on every target master"
                .into(),
        );
    }
    let mut items = topic::plan_topics(&source, target, options, &brokers, &mut warnings);
    items.extend(group::plan_groups(&source, target, options, &brokers, &mut warnings));
    items.extend(account::plan_accounts(&source, target, options, &brokers, &mut warnings));
    Ok(ImportPlan {
        namespaces: namespaces_used(&items, &source),
        queue_mapping_explained: queues::explain(
            options.queue_mapping,
            &source,
            &brokers,
            &options.queue_range,
        ),
        items,
        warnings,
    })
}

/// The namespaces topics and groups land in. "default" (no namespace) counts as found when some
/// source name has none.
fn namespaces_used(items: &[PlannedItem], source: &Source) -> Vec<NamespaceUse> {
    let mut used: BTreeMap<&str, bool> = BTreeMap::new();
    let bare_in_source = source
        .topics
        .iter()
        .map(|t| t.name)
        .chain(source.groups.iter().map(|g| g.name))
        .any(|n| crate::system::namespace_of(n).is_none());
    for item in items.iter().filter(|i| i.kind != ItemKind::Account) {
        let found = if item.namespace == naming::DEFAULT_NAMESPACE {
            bare_in_source || source.namespaces.contains(&item.namespace)
        } else {
            source.namespaces.contains(&item.namespace)
        };
        used.insert(&item.namespace, found);
    }
    used.into_iter()
        .map(|(name, found_in_source)| NamespaceUse { name: name.to_string(), found_in_source })
        .collect()
}
