//! Conflicts with what the target already has (rule 6): field by field, master by master, then
//! one decision per item. Only fields that change behaviour are compared for topics; every field
//! for groups, with a field one side does not report taken at its 5.3.3 Java default (a 4.x
//! broker never reports 5.x fields; a 5.x broker reports them all).

use std::collections::BTreeMap;

use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use serde_json::{json, Value};

use super::plan::{Action, Config, FieldDifference};

pub(crate) fn topic_differences(
    broker: &str,
    target: &TopicConfig,
    source: &TopicConfig,
) -> Vec<FieldDifference> {
    let fields = |t: &TopicConfig| -> BTreeMap<&'static str, Value> {
        BTreeMap::from([
            ("readQueueNums", json!(t.read_queue_nums)),
            ("writeQueueNums", json!(t.write_queue_nums)),
            ("perm", json!(t.perm)),
            ("order", json!(t.order)),
            ("topicSysFlag", json!(t.topic_sys_flag)),
            ("attributes", json!(t.attributes)),
        ])
    };
    differences(broker, fields(target), fields(source))
}

pub(crate) fn group_differences(
    broker: &str,
    target: &SubscriptionGroupConfig,
    source: &SubscriptionGroupConfig,
) -> Vec<FieldDifference> {
    differences(broker, group_fields(target), group_fields(source))
}

/// A group's fields by name, with 5.3.3 `SubscriptionGroupConfig` defaults for those a broker
/// may leave out. The name is the key the group was found under, so it is not compared.
fn group_fields(config: &SubscriptionGroupConfig) -> BTreeMap<String, Value> {
    let Ok(Value::Object(map)) = serde_json::to_value(config) else {
        return BTreeMap::new();
    };
    let mut fields: BTreeMap<String, Value> =
        map.into_iter().filter(|(k, v)| k != "groupName" && !v.is_null()).collect();
    let defaults = [
        ("consumeMessageOrderly", json!(false)),
        ("groupRetryPolicy", json!({"type": "CUSTOMIZED"})),
        ("consumeTimeoutMinute", json!(15)),
        ("attributes", json!({})),
    ];
    for (k, v) in defaults {
        fields.entry(k.to_string()).or_insert(v);
    }
    fields
}

fn differences<K: AsRef<str> + Ord>(
    broker: &str,
    target: BTreeMap<K, Value>,
    source: BTreeMap<K, Value>,
) -> Vec<FieldDifference> {
    let mut keys: Vec<&K> = target.keys().chain(source.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| target.get(*k) != source.get(*k))
        .map(|k| FieldDifference {
            broker: broker.to_string(),
            field: k.as_ref().to_string(),
            target: show(target.get(k)),
            source: show(source.get(k)),
        })
        .collect()
}

/// A value as an operator reads it: strings bare, absent fields as "(absent)".
pub(crate) fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The fail cause for an item the target has with other settings. Equal differences on several
/// masters are told once, naming the masters.
pub(crate) fn describe(differences: &[FieldDifference]) -> String {
    // (field, target value, source value) -> masters, in first-seen order.
    type Seen<'a> = ((&'a str, &'a str, &'a str), Vec<&'a str>);
    let mut grouped: Vec<Seen> = Vec::new();
    for d in differences {
        let key = (d.field.as_str(), d.target.as_str(), d.source.as_str());
        match grouped.iter_mut().find(|(k, _)| *k == key) {
            Some((_, brokers)) => brokers.push(&d.broker),
            None => grouped.push((key, vec![&d.broker])),
        }
    }
    let parts: Vec<String> = grouped
        .into_iter()
        .map(|((field, target, source), brokers)| {
            format!("{field} {target} on target, {source} in source ({})", brokers.join(", "))
        })
        .collect();
    format!("exists with different settings: {}; import with overwrite to update it", parts.join("; "))
}

/// One item's action from its desired config on each master and what each master has.
pub(crate) fn decide<C>(
    desired: Vec<(String, C)>,
    existing: impl Fn(&str) -> Option<C>,
    differ: impl Fn(&str, &C, &C) -> Vec<FieldDifference>,
    wrap: impl Fn(C) -> Config,
    overwrite: bool,
    warnings: &mut Vec<String>,
) -> Action {
    let mut missing = Vec::new();
    let mut differing = Vec::new();
    let mut same = Vec::new();
    let mut found = Vec::new();
    for (broker, config) in desired {
        match existing(&broker) {
            None => missing.push((broker, config)),
            Some(current) => {
                let d = differ(&broker, &current, &config);
                if d.is_empty() {
                    same.push(broker);
                } else {
                    found.extend(d);
                    differing.push((broker, config));
                }
            }
        }
    }
    if missing.is_empty() && differing.is_empty() {
        return Action::Unchanged;
    }
    if !same.is_empty() {
        warnings.push(format!("exists, unchanged on {}", same.join(", ")));
    }
    if differing.is_empty() {
        let per_broker = missing.into_iter().map(|(b, c)| (b, wrap(c))).collect();
        return Action::Create { per_broker };
    }
    if !overwrite {
        return Action::Fail { cause: describe(&found) };
    }
    let mut per_broker: Vec<(String, Config)> =
        missing.into_iter().chain(differing).map(|(b, c)| (b, wrap(c))).collect();
    per_broker.sort_by(|a, b| a.0.cmp(&b.0));
    Action::Update { per_broker, differences: found }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_missing_5x_fields_equal_their_defaults() {
        let four = SubscriptionGroupConfig::default();
        let mut five = SubscriptionGroupConfig { consume_message_orderly: Some(false), ..four.clone() };
        five.extra.insert("consumeTimeoutMinute".into(), json!(15));
        five.extra.insert("groupRetryPolicy".into(), json!({"type": "CUSTOMIZED"}));
        five.extra.insert("subscriptionDataSet".into(), Value::Null);
        assert!(group_differences("b", &four, &five).is_empty());
        five.extra.insert("consumeTimeoutMinute".into(), json!(30));
        let d = group_differences("b", &four, &five);
        assert_eq!(
            (d[0].field.as_str(), d[0].target.as_str(), d[0].source.as_str()),
            ("consumeTimeoutMinute", "15", "30")
        );
    }

    #[test]
    fn the_cause_shows_both_sides_field_by_field() {
        let target = TopicConfig { write_queue_nums: 8, ..TopicConfig::default() };
        let source = TopicConfig { write_queue_nums: 16, ..TopicConfig::default() };
        let mut d = topic_differences("broker-a", &target, &source);
        d.extend(topic_differences("broker-b", &target, &source));
        assert_eq!(
            describe(&d),
            "exists with different settings: writeQueueNums 8 on target, 16 in source \
             (broker-a, broker-b); import with overwrite to update it"
        );
    }

    #[test]
    fn topic_filter_type_and_unknown_fields_are_not_compared() {
        let target = TopicConfig { topic_filter_type: "MULTI_TAG".into(), ..TopicConfig::default() };
        let mut source = TopicConfig::default();
        source.extra.insert("x".into(), json!(1));
        assert!(topic_differences("b", &target, &source).is_empty());
    }
}
