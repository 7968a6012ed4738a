//! Names: which items are chosen, what they are called on the target, and whether the target
//! would take the name. Rules are those of apache/rocketmq 5.3.3: `TopicValidator.validateTopic`,
//! `Validators.checkGroup`, `NamespaceUtil` (a namespace is the part before the first `%`),
//! `TopicValidator.isSystemTopic` and `MixAll.isSysConsumerGroup`.

use std::collections::BTreeMap;

use super::options::{Filter, Mode};
use super::plan::ItemKind;
use crate::system::{self, namespace_of, DLQ_PREFIX, LMQ_PREFIX, RETRY_PREFIX};

/// `TopicValidator.TOPIC_MAX_LENGTH`.
pub(crate) const TOPIC_MAX_LENGTH: usize = 127;
/// `Validators.CHARACTER_MAX_LENGTH`, the group limit.
pub(crate) const GROUP_MAX_LENGTH: usize = 255;
/// The label of items without a namespace.
pub(crate) const DEFAULT_NAMESPACE: &str = "default";

/// `TopicValidator.VALID_CHAR_BIT_MAP`: `^[%|a-zA-Z0-9_-]+$`.
fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

/// `*` matches any run of characters (also none); everything else matches itself.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Indexes of the chosen names, and the patterns that chose none (worth telling the operator:
/// usually a typo).
pub(crate) fn select(filter: &Filter, names: &[&str]) -> (Vec<usize>, Vec<String>) {
    match filter {
        Filter::All => ((0..names.len()).collect(), Vec::new()),
        Filter::None => (Vec::new(), Vec::new()),
        Filter::Names(patterns) => {
            let chosen =
                (0..names.len()).filter(|i| patterns.iter().any(|p| matches(p, names[*i]))).collect();
            let unused = patterns.iter().filter(|p| !names.iter().any(|n| matches(p, n))).cloned().collect();
            (chosen, unused)
        }
    }
}

/// An item's name and namespace on the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Renamed {
    pub target: String,
    pub namespace: String,
    pub warning: Option<String>,
}

/// Rule 1: keep names, or move them into one namespace (replacing any they had).
pub(crate) fn rename(name: &str, mode: &Mode) -> Renamed {
    match mode {
        Mode::ToCluster => Renamed {
            target: name.to_string(),
            namespace: namespace_of(name).unwrap_or(DEFAULT_NAMESPACE).to_string(),
            warning: None,
        },
        Mode::ToNamespace(ns) => {
            let (target, warning) = match namespace_of(name) {
                Some(old) if old == ns => (name.to_string(), None),
                Some(old) => {
                    let bare = &name[old.len() + 1..];
                    let warning =
                        format!("namespace '{old}' replaced by '{ns}': '{name}' becomes '{ns}%{bare}'");
                    (format!("{ns}%{bare}"), Some(warning))
                }
                None => (format!("{ns}%{name}"), None),
            };
            Renamed { target, namespace: ns.clone(), warning }
        }
    }
}

/// A namespace ends up as the prefix of topic names, so it takes their characters; it must not
/// hold `%`, since `NamespaceUtil` cuts names at the first one; and `NS%x` must leave room for
/// a name within the 127 characters of a topic.
pub(crate) fn validate_namespace(ns: &str) -> Result<(), String> {
    if ns.trim().is_empty() {
        return Err("it is blank".into());
    }
    if ns.contains('%') {
        return Err("it contains '%', which separates a namespace from the name".into());
    }
    if !ns.chars().all(valid_char) {
        return Err("it has characters outside ^[|a-zA-Z0-9_-]+$ (TopicValidator)".into());
    }
    if ns.len() > TOPIC_MAX_LENGTH - 2 {
        return Err(format!(
            "it is {} characters long; with '%' and a name it must fit in {TOPIC_MAX_LENGTH}",
            ns.len()
        ));
    }
    Ok(())
}

/// Names a cluster reserves: its own name, its brokers' names.
pub(crate) struct Reserved<'a> {
    pub cluster: &'a str,
    pub brokers: &'a [String],
}

/// Rule 2 for a topic: `source` is its name in the document, `target` on the target.
pub(crate) fn check_topic(
    source: &str,
    target: &str,
    in_source: &Reserved,
    in_target: &Reserved,
) -> Result<(), String> {
    if [RETRY_PREFIX, DLQ_PREFIX, LMQ_PREFIX].iter().any(|p| source.starts_with(p)) {
        return Err(format!(
            "topic '{source}': {RETRY_PREFIX}, {DLQ_PREFIX} and {LMQ_PREFIX} topics are made by \
             the broker for their group or queue, not imported as topics"
        ));
    }
    let system = |name: &str, r: &Reserved| system::is_system_topic(name, r.cluster, r.brokers);
    if system(source, in_source) || system(target, in_target) {
        return Err(format!(
            "topic '{source}': a system topic name (TopicValidator.isSystemTopic, or a cluster \
             or broker name)"
        ));
    }
    validate_name(target, TOPIC_MAX_LENGTH, "TopicValidator.validateTopic")
        .map_err(|rule| format!("topic '{source}': target name '{target}' {rule}"))
}

/// Rule 2 for a group.
pub(crate) fn check_group(source: &str, target: &str) -> Result<(), String> {
    if [RETRY_PREFIX, DLQ_PREFIX].iter().any(|p| source.starts_with(p)) {
        return Err(format!("group '{source}': {RETRY_PREFIX} and {DLQ_PREFIX} name topics, not groups"));
    }
    if system::is_system_group(source) || system::is_system_group(target) {
        return Err(format!(
            "group '{source}': a system group name (MixAll.isSysConsumerGroup and the fixed list)"
        ));
    }
    validate_name(target, GROUP_MAX_LENGTH, "Validators.checkGroup")
        .map_err(|rule| format!("group '{source}': target name '{target}' {rule}"))
}

fn validate_name(name: &str, max: usize, rule: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("is blank ({rule})"));
    }
    if !name.chars().all(valid_char) {
        return Err(format!("has characters outside ^[%|a-zA-Z0-9_-]+$ ({rule})"));
    }
    if name.len() > max {
        return Err(format!("is {} characters long; {rule} allows {max}", name.len()));
    }
    Ok(())
}

/// An item on its way through the name rules.
pub(crate) struct Candidate<'a, T> {
    pub item: &'a T,
    pub source_name: &'a str,
    pub renamed: Renamed,
    pub failure: Option<String>,
}

/// Selection, per-task limit (rule 3), renaming (rule 1), name checks and duplicate target names
/// (rule 2), in that order. `items` are sorted by source name, so the limit keeps the first
/// names. Items past the limit are not written, so they take no part in duplicate checks.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare<'a, T>(
    items: &'a [T],
    name_of: impl Fn(&'a T) -> &'a str,
    filter: &Filter,
    kind: ItemKind,
    limit: usize,
    mode: &Mode,
    check: impl Fn(&str, &str) -> Result<(), String>,
    plan_warnings: &mut Vec<String>,
) -> Vec<Candidate<'a, T>> {
    let names: Vec<&str> = items.iter().map(&name_of).collect();
    let (chosen, unused) = select(filter, &names);
    let noun = match kind {
        ItemKind::Topic => "topics",
        ItemKind::Group => "groups",
        ItemKind::Account => "accounts",
    };
    for p in unused {
        plan_warnings.push(format!("{noun} pattern '{p}' matched no name in the document"));
    }
    let mut candidates: Vec<Candidate<'a, T>> = chosen
        .into_iter()
        .enumerate()
        .map(|(n, i)| {
            let source_name = names[i];
            let renamed = rename(source_name, mode);
            let failure = if n >= limit {
                Some(format!("over the per-task limit of {limit} {noun}"))
            } else {
                check(source_name, &renamed.target).err()
            };
            Candidate { item: &items[i], source_name, renamed, failure }
        })
        .collect();
    let mut by_target: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        if c.failure.is_none() {
            by_target.entry(c.renamed.target.clone()).or_default().push(i);
        }
    }
    for (target, sharing) in by_target.into_iter().filter(|(_, v)| v.len() > 1) {
        let all: Vec<String> = sharing.iter().map(|i| candidates[*i].source_name.to_string()).collect();
        for i in sharing {
            let me = candidates[i].source_name;
            let others: Vec<String> = all.iter().filter(|o| *o != me).map(|o| format!("'{o}'")).collect();
            candidates[i].failure = Some(format!(
                "{} '{me}': target name '{target}' is also the target of {} (duplicate after renaming)",
                &noun[..noun.len() - 1],
                others.join(", ")
            ));
        }
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_of_characters() {
        assert!(matches("shop%*", "shop%orders"));
        assert!(matches("*orders", "shop%orders"));
        assert!(matches("s*%*s", "shop%orders"));
        assert!(matches("*", ""));
        assert!(matches("orders", "orders"));
        assert!(!matches("orders", "orders2"));
        assert!(!matches("a*a", "a"));
        assert!(!matches("shop%*", "shopping"));
    }

    #[test]
    fn to_namespace_replaces_an_old_namespace_and_says_so() {
        let ns = Mode::ToNamespace("new".into());
        let r = rename("old%orders", &ns);
        assert_eq!(r.target, "new%orders");
        assert!(r.warning.unwrap().contains("'old' replaced by 'new'"));
        assert_eq!(rename("orders", &ns).target, "new%orders");
        assert_eq!(rename("new%orders", &ns).warning, None);
        let kept = rename("orders", &Mode::ToCluster);
        assert_eq!((kept.target.as_str(), kept.namespace.as_str()), ("orders", "default"));
        assert_eq!(rename("shop%orders", &Mode::ToCluster).namespace, "shop");
    }

    #[test]
    fn namespaces_take_topic_characters_without_percent() {
        assert!(validate_namespace("shop-1_|x").is_ok());
        for bad in ["", " ", "a%b", "a.b", "ünï", &"n".repeat(126)] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_and_group_names_follow_the_5_3_3_validators() {
        let none = Reserved { cluster: "", brokers: &[] };
        assert!(check_topic("a", "a", &none, &none).is_ok());
        let e = check_topic("a b", "a b", &none, &none).unwrap_err();
        assert!(e.contains("'a b'") && e.contains("TopicValidator"), "{e}");
        assert!(check_topic("t", &"t".repeat(128), &none, &none).unwrap_err().contains("127"));
        assert!(check_topic("t", &"t".repeat(127), &none, &none).is_ok());
        assert!(check_group("g", &"g".repeat(255)).is_ok());
        assert!(check_group("g", &"g".repeat(256)).unwrap_err().contains("255"));
        assert!(check_group("g.x", "g.x").unwrap_err().contains("Validators.checkGroup"));
    }

    #[test]
    fn reserved_names_fail() {
        let brokers = vec!["broker-a".to_string()];
        let target = Reserved { cluster: "Target", brokers: &brokers };
        let none = Reserved { cluster: "", brokers: &[] };
        for name in ["TBW102", "rmq_sys_x", "%RETRY%g", "%DLQ%g", "%LMQ%q", "broker-a", "Target"] {
            assert!(check_topic(name, name, &none, &target).is_err(), "{name}");
        }
        assert!(check_group("CID_RMQ_SYS_X", "CID_RMQ_SYS_X").is_err());
        assert!(check_group("%RETRY%g", "%RETRY%g").is_err());
    }
}
