//! Subscription groups (rule 5): every field is kept, `extra` too, and written to every chosen
//! master (a consumer may pull from any master that holds its topics, and a broker without
//! `autoCreateSubscriptionGroup` refuses unknown groups). A 4.x target does not keep 5.x fields.

use ferry_remoting::body::SubscriptionGroupConfig;
use serde_json::Value;

use super::compare;
use super::naming::{self, rename};
use super::options::{ImportOptions, Mode};
use super::plan::{Action, Config, ItemKind, PlannedItem};
use super::queues;
use super::source::{Source, SourceGroup};
use super::target::{MajorVersion, TargetLayout};

pub(crate) fn plan_groups(
    source: &Source,
    target: &TargetLayout,
    options: &ImportOptions,
    brokers: &[String],
    plan_warnings: &mut Vec<String>,
) -> Vec<PlannedItem> {
    let candidates = naming::prepare(
        &source.groups,
        |g| g.name,
        &options.selection.groups,
        ItemKind::Group,
        options.per_task_limit,
        &options.mode,
        naming::check_group,
        plan_warnings,
    );
    candidates
        .into_iter()
        .map(|c| {
            let mut warnings: Vec<String> = c.renamed.warning.clone().into_iter().collect();
            let name = c.renamed.target.as_str();
            let action = match c.failure {
                Some(cause) => Action::Fail { cause },
                None => {
                    let config =
                        desired(c.item, name, source, target.major_version, &options.mode, &mut warnings);
                    let per_broker = brokers.iter().map(|b| (b.clone(), config.clone())).collect();
                    compare::decide(
                        per_broker,
                        |b| target.group(b, name).cloned(),
                        compare::group_differences,
                        Config::Group,
                        options.overwrite,
                        &mut warnings,
                    )
                }
            };
            PlannedItem {
                kind: ItemKind::Group,
                source_name: c.source_name.to_string(),
                target_name: c.renamed.target,
                namespace: c.renamed.namespace,
                action,
                warnings,
            }
        })
        .collect()
}

/// The group's config on the target.
fn desired(
    group: &SourceGroup,
    name: &str,
    source: &Source,
    version: MajorVersion,
    mode: &Mode,
    warnings: &mut Vec<String>,
) -> SubscriptionGroupConfig {
    let mut config = group.config.clone();
    config.group_name = name.to_string();
    config.retry_queue_nums =
        queues::retry_queue_nums(config.retry_queue_nums, group.retry_summed, source.masters, warnings);
    // 5.x records the subscriptions; their topics move with the renaming.
    if let Some(Value::Array(subscriptions)) = config.extra.get_mut("subscriptionDataSet") {
        for s in subscriptions.iter_mut() {
            if let Some(Value::String(topic)) = s.get_mut("topic") {
                *topic = rename(topic, mode).target;
            }
        }
    }
    if version == MajorVersion::V4 {
        strip_5x_fields(&mut config, warnings);
    }
    config
}

/// Drops what a 4.9.8 `SubscriptionGroupConfig` has no field for. Only fields holding something
/// other than their 5.3.3 default are named in the warning: the others change nothing.
fn strip_5x_fields(config: &mut SubscriptionGroupConfig, warnings: &mut Vec<String>) {
    let mut dropped = Vec::new();
    if let Some(orderly) = config.consume_message_orderly.take() {
        if orderly {
            dropped.push("consumeMessageOrderly (true)".to_string());
        }
    }
    if config.group_sys_flag != 0 {
        dropped.push(format!("groupSysFlag ({})", config.group_sys_flag));
        config.group_sys_flag = 0;
    }
    if !config.attributes.is_empty() {
        dropped.push(format!("attributes ({})", serde_json::json!(config.attributes)));
        config.attributes.clear();
    }
    for (key, value) in std::mem::take(&mut config.extra) {
        let default = match key.as_str() {
            "groupRetryPolicy" => value == serde_json::json!({"type": "CUSTOMIZED"}),
            "consumeTimeoutMinute" => value == 15,
            "subscriptionDataSet" => value.as_array().is_some_and(Vec::is_empty),
            _ => false,
        };
        if !default && !value.is_null() {
            dropped.push(format!("{key} ({})", compare::show(Some(&value))));
        }
    }
    if !dropped.is_empty() {
        warnings.push(format!("dropped for a 4.x target, which does not keep them: {}", dropped.join(", ")));
    }
}
