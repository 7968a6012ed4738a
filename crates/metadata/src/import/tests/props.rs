//! Properties: fitting always lands in range; plan, carry out, plan again converges.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;

const SOURCES: [&str; 3] = ["src-a", "src-b", "src-c"];

/// Topic name -> (read, write, perm) on some of the source masters.
type Topics = BTreeMap<String, Vec<(usize, i32, i32, i32)>>;

fn topics() -> impl Strategy<Value = Topics> {
    let on = prop::collection::btree_map(
        0..SOURCES.len(),
        (0..100i32, 0..100i32, prop::sample::select(vec![2, 4, 6])),
        1..=3,
    )
    .prop_map(|m| m.into_iter().map(|(i, (r, w, p))| (i, r, w, p)).collect::<Vec<_>>());
    prop::collection::btree_map("[a-zA-Z0-9_-]{1,12}(%[a-zA-Z0-9_-]{1,12})?", on, 1..12)
}

fn doc_of(topics: &Topics, apache: bool) -> Document {
    if apache {
        let totals: Vec<(&str, i32, i32)> = topics
            .iter()
            .map(|(n, on)| (n.as_str(), on.iter().map(|x| x.1).sum(), on.iter().map(|x| x.2).sum()))
            .collect();
        return apache_doc(&totals, json!({}), Some(SOURCES.len()));
    }
    let entries: Vec<Value> = topics
        .iter()
        .map(|(name, on)| {
            let mut t = topic(name, &[]);
            t["brokers"] = on
                .iter()
                .map(|(i, r, w, p)| json!({"broker": SOURCES[*i], "readQueueNums": r, "writeQueueNums": w, "perm": p}))
                .collect();
            t
        })
        .collect();
    ferry_doc(&SOURCES, Value::Array(entries), json!([]), None)
}

proptest! {
    #[test]
    fn fitting_always_lands_in_range(n in any::<i32>(), start in 1..1000i32, len in 0..1000i32) {
        let range = start..=start + len;
        let fit = fit_queue_nums(n, &range);
        prop_assert!(range.contains(&fit));
        if range.contains(&n) {
            prop_assert_eq!(fit, n);
        }
    }

    #[test]
    fn plan_carry_out_plan_again_is_unchanged(
        topics in topics(),
        apache in any::<bool>(),
        masters in 1..5usize,
        v5 in any::<bool>(),
        total in any::<bool>(),
        to_ns in any::<bool>(),
        start in 1..8i32,
        len in 0..32i32,
    ) {
        let doc = doc_of(&topics, apache);
        let names = (0..masters).map(|i| format!("broker-{i}")).collect();
        let version = if v5 { MajorVersion::V5 } else { MajorVersion::V4 };
        let empty = TargetLayout::new("Target", version, names);
        let options = ImportOptions {
            mode: if to_ns { Mode::ToNamespace("ns".into()) } else { Mode::ToCluster },
            queue_mapping: if total { QueueMapping::ClusterTotal } else { QueueMapping::PerBroker },
            queue_range: start..=start + len,
            ..ImportOptions::default()
        };
        let first = plan(&doc, &empty, &options).unwrap();
        for (_, config) in first.items.iter().flat_map(|i| match &i.action {
            Action::Create { per_broker } => per_broker.as_slice(),
            _ => &[],
        }) {
            let Config::Topic(t) = config else { continue };
            prop_assert!(options.queue_range.contains(&t.read_queue_nums));
            prop_assert!(options.queue_range.contains(&t.write_queue_nums));
        }
        let again = plan(&doc, &first.simulate(&empty), &options).unwrap();
        prop_assert_eq!(first.items.len(), again.items.len());
        for (before, after) in first.items.iter().zip(&again.items) {
            if before.is_failed() {
                prop_assert_eq!(&before.action, &after.action);
            } else {
                prop_assert_eq!(&after.action, &Action::Unchanged, "{}", after.source_name);
            }
        }
    }
}
