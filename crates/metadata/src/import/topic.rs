//! Topics: what each chosen target master should hold for a source topic, and the action that
//! gets it there. Queue numbers follow `queues`; attributes follow the target's version (5.3.3
//! `TopicAttributes` on 5.x; none on 4.x, which has no topic attributes or message types).

use ferry_remoting::body::TopicConfig;
use serde_json::Map;

use super::compare;
use super::naming::{self, Reserved};
use super::options::ImportOptions;
use super::plan::{Action, Config, ItemKind, PlannedItem};
use super::queues;
use super::source::{Source, SourceQueues, SourceTopic, MESSAGE_TYPE};
use super::target::{MajorVersion, TargetLayout};

/// 5.3.3 `TopicAttributes.ALL`: key, allowed values (`None`: a number from -1 up), changeable.
const ATTRIBUTES: &[(&str, Option<&[&str]>, bool)] = &[
    ("queue.type", Some(&["BatchCQ", "SimpleCQ"]), false),
    ("cleanup.policy", Some(&["DELETE", "COMPACTION"]), false),
    ("message.type", Some(&["UNSPECIFIED", "NORMAL", "FIFO", "DELAY", "TRANSACTION", "MIXED"]), true),
    ("reserve.time", None, true),
];

pub(crate) fn plan_topics(
    source: &Source,
    target: &TargetLayout,
    options: &ImportOptions,
    brokers: &[String],
    plan_warnings: &mut Vec<String>,
) -> Vec<PlannedItem> {
    let in_source = Reserved { cluster: &source.cluster, brokers: &source.brokers };
    let in_target = Reserved { cluster: &target.cluster, brokers: &target.masters };
    let candidates = naming::prepare(
        &source.topics,
        |t| t.name,
        &options.selection.topics,
        ItemKind::Topic,
        options.per_task_limit,
        &options.mode,
        |s, t| naming::check_topic(s, t, &in_source, &in_target),
        plan_warnings,
    );
    candidates
        .into_iter()
        .map(|c| {
            let mut warnings: Vec<String> = c.renamed.warning.clone().into_iter().collect();
            let action = match c.failure {
                Some(cause) => Action::Fail { cause },
                None => plan_one(c.item, &c.renamed.target, target, options, brokers, &mut warnings),
            };
            PlannedItem {
                kind: ItemKind::Topic,
                source_name: c.source_name.to_string(),
                target_name: c.renamed.target,
                namespace: c.renamed.namespace,
                action,
                warnings,
            }
        })
        .collect()
}

fn plan_one(
    topic: &SourceTopic,
    name: &str,
    target: &TargetLayout,
    options: &ImportOptions,
    brokers: &[String],
    warnings: &mut Vec<String>,
) -> Action {
    let per_broker = match desired(topic, name, target.major_version, options, brokers, warnings) {
        Ok(p) => p,
        Err(cause) => return Action::Fail { cause },
    };
    // Checked before deciding: an update the broker would refuse must fail even with overwrite.
    for (broker, wanted) in &per_broker {
        let Some(current) = target.topic(broker, name) else { continue };
        for (key, _, changeable) in ATTRIBUTES {
            let (now, then) = (current.attributes.get(*key), wanted.attributes.get(*key));
            if !changeable && now != then {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
                return Action::Fail {
                    cause: format!(
                        "topic '{}': attribute {key} cannot change on an existing topic \
                         (TopicAttributes: not changeable): {} on target, {} in source ({broker})",
                        topic.name,
                        show(now),
                        show(then)
                    ),
                };
            }
        }
        if options.overwrite && wanted.read_queue_nums < current.read_queue_nums {
            warnings.push(format!(
                "readQueueNums lowered from {} to {} on {broker}: consumers stop reading queues \
                 {} to {}, so drain them first",
                current.read_queue_nums,
                wanted.read_queue_nums,
                wanted.read_queue_nums,
                current.read_queue_nums - 1
            ));
        }
    }
    compare::decide(
        per_broker,
        |b| target.topic(b, name).cloned(),
        compare::topic_differences,
        Config::Topic,
        options.overwrite,
        warnings,
    )
}

/// The config for each master, or why the topic cannot be imported.
fn desired(
    topic: &SourceTopic,
    name: &str,
    version: MajorVersion,
    options: &ImportOptions,
    brokers: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vec<(String, TopicConfig)>, String> {
    let mut perms = vec![topic.perm];
    if let SourceQueues::PerBroker(on) = &topic.queues {
        perms.extend(on.iter().map(|b| b.perm));
    }
    if let Some(bad) = perms.into_iter().find(|p| !(0..=7).contains(p)) {
        return Err(format!(
            "topic '{}': perm {bad} is not valid (PermName.isValid allows 0 to 7)",
            topic.name
        ));
    }
    let mut attributes = topic.attributes.clone();
    match version {
        MajorVersion::V4 if !attributes.is_empty() => {
            let listed: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            warnings.push(format!(
                "attributes dropped for a 4.x target, which has no topic attributes or message \
                 types: {}",
                listed.join(", ")
            ));
            attributes.clear();
        }
        MajorVersion::V4 => {}
        MajorVersion::V5 => {
            for (key, value) in &attributes {
                check_attribute(key, value).map_err(|why| format!("topic '{}': {why}", topic.name))?;
            }
            // AdminBrokerProcessor.updateAndCreateTopic refuses it unless the broker has
            // enableMixedMessageType, which the layout does not say.
            if attributes.get(MESSAGE_TYPE).is_some_and(|t| t == "MIXED") {
                warnings.push(
                    "message type MIXED: the target refuses it unless its brokers have \
                     enableMixedMessageType=true"
                        .into(),
                );
            }
        }
    }
    if !topic.unknown_fields.is_empty() {
        warnings.push(format!(
            "config fields Ferry has no name for are not written: {}",
            topic.unknown_fields.join(", ")
        ));
    }
    let placements = queues::place(
        &topic.queues,
        topic.perm,
        options.queue_mapping,
        brokers,
        &options.queue_range,
        warnings,
    );
    Ok(placements
        .into_iter()
        .map(|p| {
            let config = TopicConfig {
                topic_name: name.to_string(),
                read_queue_nums: p.read,
                write_queue_nums: p.write,
                perm: p.perm,
                topic_filter_type: topic.topic_filter_type.to_string(),
                topic_sys_flag: topic.topic_sys_flag,
                order: topic.order,
                attributes: attributes.clone(),
                extra: Map::new(),
            };
            (p.broker, config)
        })
        .collect())
}

/// A 5.x broker refuses attributes it does not know or values outside their range
/// (`AttributeUtil.alterCurrentAttributes`).
fn check_attribute(key: &str, value: &str) -> Result<(), String> {
    let Some((_, allowed, _)) = ATTRIBUTES.iter().find(|(k, _, _)| *k == key) else {
        let known: Vec<&str> = ATTRIBUTES.iter().map(|(k, _, _)| *k).collect();
        return Err(format!("attribute '{key}' is not one a 5.3.3 broker takes ({})", known.join(", ")));
    };
    let ok = match allowed {
        Some(values) => values.contains(&value),
        None => value.parse::<i64>().is_ok_and(|n| n >= -1),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("attribute {key}={value} has a value a 5.3.3 broker refuses"))
    }
}
