//! Queue numbers on the target (rule 4). Ferry documents give each source master's own numbers;
//! Apache files give totals summed over the source masters (`exportMetadata` adds them up), and
//! inflate `retryQueueNums` the same way.
//!
//! - `PerBroker`, Ferry source: the topic's source masters and the chosen target masters, each
//!   sorted by name, are paired by position; target master *i* gets what source master *i* had.
//!   Source masters past the last target master are not placed (warned): the target then has
//!   fewer queues for the topic, never a message less, since the target holds none yet.
//! - `PerBroker`, Apache source: each total is divided by the number of source masters (rounded
//!   up) when the file says how many there were, and every chosen target master gets that.
//!   When it does not (`-b` files, bare `metadata.json`), the number is used as it is.
//! - `ClusterTotal`: the topic's total over the source is spread over the chosen target masters,
//!   rounded up, at least 1 each.
//!
//! Then every number is fitted into the task's range, with a warning.

use std::ops::RangeInclusive;

use super::options::QueueMapping;
use super::source::{Source, SourceQueues};

/// A topic's queues and permission on one target master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    pub broker: String,
    pub read: i32,
    pub write: i32,
    pub perm: i32,
}

/// `n` brought into `range` (which must be non-empty).
pub fn fit_queue_nums(n: i32, range: &RangeInclusive<i32>) -> i32 {
    n.clamp(*range.start(), *range.end())
}

/// `total / parts`, rounded up, at least 1.
fn share(total: i32, parts: usize) -> i32 {
    let parts = i64::try_from(parts.max(1)).unwrap_or(i64::MAX);
    let each = (i64::from(total) + parts - 1).div_euclid(parts);
    i32::try_from(each.max(1)).unwrap_or(i32::MAX)
}

/// Where a topic's queues go. `targets` are the chosen masters, sorted.
pub(crate) fn place(
    queues: &SourceQueues,
    perm: i32,
    mapping: QueueMapping,
    targets: &[String],
    range: &RangeInclusive<i32>,
    warnings: &mut Vec<String>,
) -> Vec<Placement> {
    let raw: Vec<(String, i32, i32, i32)> = match (mapping, queues) {
        (QueueMapping::PerBroker, SourceQueues::PerBroker(on)) => {
            if on.len() > targets.len() {
                let left: Vec<String> = on[targets.len()..]
                    .iter()
                    .map(|b| {
                        format!("{} ({} read, {} write)", b.broker, b.read_queue_nums, b.write_queue_nums)
                    })
                    .collect();
                warnings.push(format!(
                    "the topic is on {} source masters but {} target masters were chosen: the \
                     queues of {} are not placed (cluster-total mapping keeps the total)",
                    on.len(),
                    targets.len(),
                    left.join(", ")
                ));
            }
            on.iter()
                .zip(targets)
                .map(|(s, t)| (t.clone(), s.read_queue_nums, s.write_queue_nums, s.perm))
                .collect()
        }
        (QueueMapping::PerBroker, SourceQueues::Total { read, write, masters }) => {
            let (r, w) = match masters {
                Some(m) => {
                    for (what, total) in [("readQueueNums", read), ("writeQueueNums", write)] {
                        if total % i32::try_from(*m).unwrap_or(i32::MAX) != 0 {
                            warnings.push(format!(
                                "{what} {total} is not a multiple of the {m} source masters (the \
                                 topic was not on all of them, or they differed): {} per master",
                                share(*total, *m)
                            ));
                        }
                    }
                    (share(*read, *m), share(*write, *m))
                }
                None => (*read, *write),
            };
            targets.iter().map(|t| (t.clone(), r, w, perm)).collect()
        }
        (QueueMapping::ClusterTotal, q) => {
            let (read, write) = match q {
                SourceQueues::PerBroker(on) => {
                    (on.iter().map(|b| b.read_queue_nums).sum(), on.iter().map(|b| b.write_queue_nums).sum())
                }
                SourceQueues::Total { read, write, .. } => (*read, *write),
            };
            let (r, w) = (share(read, targets.len()), share(write, targets.len()));
            targets.iter().map(|t| (t.clone(), r, w, perm)).collect()
        }
    };
    raw.into_iter()
        .map(|(broker, read, write, perm)| {
            let read = fitted(read, "read", &broker, range, warnings);
            let write = fitted(write, "write", &broker, range, warnings);
            Placement { broker, read, write, perm }
        })
        .collect()
}

fn fitted(n: i32, what: &str, broker: &str, range: &RangeInclusive<i32>, warnings: &mut Vec<String>) -> i32 {
    let fit = fit_queue_nums(n, range);
    if fit != n {
        warnings.push(format!("{what} queues fitted from {n} to {fit} on {broker}"));
    }
    fit
}

/// A group's `retryQueueNums` on each target master. Ferry's is one master's own value; Apache's
/// is a sum over the masters: divided by their number, or the Java default 1 when unknown.
pub(crate) fn retry_queue_nums(
    n: i32,
    summed: bool,
    masters: Option<usize>,
    warnings: &mut Vec<String>,
) -> i32 {
    if !summed {
        return n;
    }
    let per = match masters {
        Some(m) => share(n, m),
        None => 1,
    };
    if per != n {
        let over = masters.map_or("an unknown number of".to_string(), |m| m.to_string());
        warnings
            .push(format!("retryQueueNums {n} in the file is summed over {over} source masters: {per} used"));
    }
    per
}

/// `queue_mapping_explained`: the rule in words, with this task's numbers.
pub(crate) fn explain(
    mapping: QueueMapping,
    source: &Source,
    targets: &[String],
    range: &RangeInclusive<i32>,
) -> String {
    let targets_text = format!("{} chosen target masters ({})", targets.len(), targets.join(", "));
    let how = match (mapping, source.ferry, source.masters) {
        (QueueMapping::PerBroker, true, _) => format!(
            "Per broker: the document gives each source master's queues. A topic's source \
             masters and the {targets_text} are each sorted by name and paired by position; each \
             target master gets the read and write queue numbers and permission of its source \
             master. Source masters past the last target master are not placed (warned per topic)."
        ),
        (QueueMapping::PerBroker, false, Some(m)) => format!(
            "Per broker: the file holds queue numbers summed over its {m} source masters. Each \
             is divided by {m}, rounded up, and each of the {targets_text} gets the result; a \
             total that does not divide evenly is warned, as the topic was then not on every \
             source master alike."
        ),
        (QueueMapping::PerBroker, false, None) => format!(
            "Per broker: the file does not say over how many masters its queue numbers were \
             summed, so each number is used as it is on each of the {targets_text}. That is right \
             for a one-broker file (exportMetadata -b); for a cluster file choose the cluster-total \
             mapping."
        ),
        (QueueMapping::ClusterTotal, ferry, _) => format!(
            "Cluster total: each topic's total over the source ({}) is spread over the \
             {targets_text}: total divided by {}, rounded up, at least 1 on each.",
            if ferry { "the sum over its source masters" } else { "the file's number" },
            targets.len()
        ),
    };
    let retry = match (source.ferry, source.masters) {
        (true, _) => "Groups keep their retryQueueNums, which is per master in this document.".to_string(),
        (false, Some(m)) => format!("Groups: retryQueueNums in the file is summed over masters, so it is divided by {m}."),
        (false, None) => "Groups: retryQueueNums in the file is summed over an unknown number of masters, so the default 1 is used.".to_string(),
    };
    format!(
        "{how} Numbers outside {}..={} are fitted into that range (warned). {retry}",
        range.start(),
        range.end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::TopicOnBroker;

    fn on(broker: &str, read: i32, write: i32) -> TopicOnBroker {
        TopicOnBroker { broker: broker.into(), read_queue_nums: read, write_queue_nums: write, perm: 6 }
    }

    fn masters(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn per_broker_pairs_source_and_target_masters_by_position() {
        let q = SourceQueues::PerBroker(vec![on("a", 4, 4), on("b", 8, 6), on("c", 5, 5)]);
        let mut w = vec![];
        let p = place(&q, 6, QueueMapping::PerBroker, &masters(&["x", "y"]), &(1..=64), &mut w);
        assert_eq!(p[0], Placement { broker: "x".into(), read: 4, write: 4, perm: 6 });
        assert_eq!((p[1].broker.as_str(), p[1].read, p[1].write), ("y", 8, 6));
        assert_eq!(p.len(), 2);
        assert!(w[0].contains("c (5 read, 5 write)"), "{w:?}");
    }

    #[test]
    fn per_broker_divides_apache_totals_by_the_source_masters() {
        let q = SourceQueues::Total { read: 16, write: 10, masters: Some(2) };
        let mut w = vec![];
        let p = place(&q, 6, QueueMapping::PerBroker, &masters(&["x", "y", "z"]), &(1..=64), &mut w);
        assert!(p.iter().all(|p| p.read == 8 && p.write == 5));
        assert!(w.is_empty(), "{w:?}");
        let q = SourceQueues::Total { read: 16, write: 16, masters: None };
        let p = place(&q, 6, QueueMapping::PerBroker, &masters(&["x"]), &(1..=64), &mut w);
        assert_eq!(p[0].read, 16);
        let q = SourceQueues::Total { read: 9, write: 9, masters: Some(2) };
        place(&q, 6, QueueMapping::PerBroker, &masters(&["x"]), &(1..=64), &mut w);
        assert!(w[0].contains("not a multiple of the 2"), "{w:?}");
    }

    #[test]
    fn cluster_total_spreads_over_target_masters_rounding_up() {
        let q = SourceQueues::PerBroker(vec![on("a", 8, 8), on("b", 8, 3)]);
        let mut w = vec![];
        let p = place(&q, 6, QueueMapping::ClusterTotal, &masters(&["x", "y", "z"]), &(1..=64), &mut w);
        assert!(p.iter().all(|p| p.read == 6 && p.write == 4), "{p:?}");
        let q = SourceQueues::Total { read: 0, write: 0, masters: None };
        let p = place(&q, 6, QueueMapping::ClusterTotal, &masters(&["x", "y"]), &(1..=64), &mut w);
        assert!(p.iter().all(|p| p.read == 1 && p.write == 1), "at least one each");
    }

    #[test]
    fn numbers_out_of_range_are_fitted_with_a_warning() {
        let q = SourceQueues::PerBroker(vec![on("a", 64, 1)]);
        let mut w = vec![];
        let p = place(&q, 6, QueueMapping::PerBroker, &masters(&["broker-a"]), &(3..=16), &mut w);
        assert_eq!((p[0].read, p[0].write), (16, 3));
        assert_eq!(
            w,
            vec![
                "read queues fitted from 64 to 16 on broker-a".to_string(),
                "write queues fitted from 1 to 3 on broker-a".to_string(),
            ]
        );
    }

    #[test]
    fn apache_retry_queue_nums_are_divided_or_defaulted() {
        let mut w = vec![];
        assert_eq!(retry_queue_nums(3, true, Some(3), &mut w), 1);
        assert_eq!(retry_queue_nums(4, true, None, &mut w), 1);
        assert_eq!(w.len(), 2);
        assert_eq!(retry_queue_nums(4, false, Some(3), &mut w), 4, "Ferry's is per master");
    }
}
