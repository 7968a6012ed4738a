//! Traffic figures the relays count on the way through: messages and bytes written and read per
//! topic per cluster, and request latency. Counters only go up; rates are the engine's business
//! (it samples them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::route::Side;

/// Upper bounds of the latency buckets, in microseconds; the last bucket is open.
const BOUNDS_US: [u64; 18] = [
    50, 100, 200, 300, 500, 750, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    1_000_000, 2_000_000, 5_000_000,
];

/// Request latency as seen by the relay: from the request leaving the client side to its response
/// coming back. Long-polling pulls are not counted (the broker holds them on purpose).
#[derive(Default)]
pub struct Latency {
    buckets: [AtomicU64; BOUNDS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Latency {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        let i = BOUNDS_US.iter().position(|b| us <= *b).unwrap_or(BOUNDS_US.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> LatencySnapshot {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        let quantile = |q: f64| -> Option<u64> {
            let rank = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return BOUNDS_US.get(i).copied().or(Some(u64::MAX));
                }
            }
            None
        };
        LatencySnapshot {
            count,
            mean_us: (count > 0).then(|| self.sum_us.load(Ordering::Relaxed) / count),
            p50_le_us: if count > 0 { quantile(0.5) } else { None },
            p99_le_us: if count > 0 { quantile(0.99) } else { None },
            buckets: BOUNDS_US.iter().map(|b| Some(*b)).chain([None]).zip(counts).collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySnapshot {
    pub count: u64,
    pub mean_us: Option<u64>,
    /// The upper bound of the bucket holding the median / 99th percentile.
    pub p50_le_us: Option<u64>,
    pub p99_le_us: Option<u64>,
    /// (upper bound in µs, None for the open bucket; count).
    pub buckets: Vec<(Option<u64>, u64)>,
}

/// Totals for one topic on one cluster since Ferry started. Serialized in the API's camelCase;
/// fleet views stored by Ferry 0.1 before that wrote snake_case, which the aliases still read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicCounts {
    #[serde(alias = "produced_messages")]
    pub produced_messages: u64,
    #[serde(alias = "produced_bytes")]
    pub produced_bytes: u64,
    #[serde(alias = "consumed_messages")]
    pub consumed_messages: u64,
    #[serde(alias = "consumed_bytes")]
    pub consumed_bytes: u64,
}

impl std::ops::AddAssign for TopicCounts {
    fn add_assign(&mut self, o: TopicCounts) {
        self.produced_messages += o.produced_messages;
        self.produced_bytes += o.produced_bytes;
        self.consumed_messages += o.consumed_messages;
        self.consumed_bytes += o.consumed_bytes;
    }
}

#[derive(Default)]
pub struct Traffic {
    /// Per topic, the counts of the source and of the target (indexed by `Side`).
    topics: Mutex<HashMap<String, [TopicCounts; 2]>>,
    source_latency: Latency,
    target_latency: Latency,
}

impl Traffic {
    /// The counts of one topic and side; allocates only for a topic not seen before.
    fn with<R>(&self, topic: &str, side: Side, f: impl FnOnce(&mut TopicCounts) -> R) -> R {
        let mut topics = self.topics.lock().expect("traffic lock");
        if let Some(c) = topics.get_mut(topic) {
            return f(&mut c[side as usize]);
        }
        f(&mut topics.entry(topic.to_string()).or_default()[side as usize])
    }

    pub fn record_produce(&self, side: Side, topic: &str, messages: u64, bytes: u64) {
        self.with(topic, side, |c| {
            c.produced_messages += messages;
            c.produced_bytes += bytes;
        })
    }

    pub fn record_consume(&self, side: Side, topic: &str, messages: u64, bytes: u64) {
        self.with(topic, side, |c| {
            c.consumed_messages += messages;
            c.consumed_bytes += bytes;
        })
    }

    pub fn latency(&self, side: Side) -> &Latency {
        match side {
            Side::Source => &self.source_latency,
            Side::Target => &self.target_latency,
        }
    }

    pub fn topic(&self, topic: &str, side: Side) -> TopicCounts {
        self.topics.lock().expect("traffic lock").get(topic).map(|c| c[side as usize]).unwrap_or_default()
    }

    /// Every topic seen, per side that saw traffic, by topic name.
    pub fn snapshot(&self) -> Vec<(String, Side, TopicCounts)> {
        let topics = self.topics.lock().expect("traffic lock");
        let mut all: Vec<(String, Side, TopicCounts)> = topics
            .iter()
            .flat_map(|(t, c)| {
                [Side::Source, Side::Target]
                    .into_iter()
                    .filter(|s| c[*s as usize] != TopicCounts::default())
                    .map(|s| (t.clone(), s, c[s as usize]))
            })
            .collect();
        all.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        all
    }
}

/// Number of messages in a body of concatenated stored or batch-encoded messages: each starts
/// with its own total size as a big-endian i32 (`MessageDecoder`). Walks the sizes only; a
/// malformed tail stops the count rather than failing the relay.
pub fn count_messages(body: &[u8]) -> u64 {
    let mut at = 0usize;
    let mut n = 0;
    while at + 4 <= body.len() {
        let size = i32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        if size <= 4 {
            break;
        }
        at = at.saturating_add(size as usize);
        if at > body.len() {
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_counted_by_their_size_words() {
        let mut body = Vec::new();
        for len in [20u32, 35, 8] {
            body.extend_from_slice(&len.to_be_bytes());
            body.extend(std::iter::repeat_n(0u8, len as usize - 4));
        }
        assert_eq!(count_messages(&body), 3);
        body.extend_from_slice(&100u32.to_be_bytes());
        assert_eq!(count_messages(&body), 3, "a truncated last message is not counted");
        assert_eq!(count_messages(&[]), 0);
        assert_eq!(count_messages(&[0, 0, 0, 0, 1]), 0);
    }

    #[test]
    fn latency_quantiles_name_their_bucket() {
        let l = Latency::default();
        for _ in 0..98 {
            l.record(Duration::from_micros(80));
        }
        l.record(Duration::from_millis(3));
        l.record(Duration::from_millis(3));
        let s = l.snapshot();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_le_us, Some(100));
        assert_eq!(s.p99_le_us, Some(5_000));
    }

    #[test]
    fn topics_are_counted_per_side() {
        let t = Traffic::default();
        t.record_produce(Side::Source, "orders", 2, 100);
        t.record_consume(Side::Source, "orders", 1, 50);
        t.record_produce(Side::Target, "orders", 1, 10);
        assert_eq!(
            t.topic("orders", Side::Source),
            TopicCounts {
                produced_messages: 2,
                produced_bytes: 100,
                consumed_messages: 1,
                consumed_bytes: 50
            }
        );
        assert_eq!(t.topic("orders", Side::Target).produced_messages, 1);
        assert_eq!(t.snapshot().len(), 2);
    }
}
