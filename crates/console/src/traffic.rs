//! What `GET /api/migrations/{id}/traffic` answers: per topic, the messages and bytes the fleet's
//! relays carried on each side, the rates between the last two samples, and the samples. The
//! server builds it; `ferry migrate traffic` reads it back into the same types.

use ferry_control::migration::TrafficSample;
use ferry_control::Timestamp;
use ferry_proxy::{Stage, TopicCounts};
use serde::{Deserialize, Serialize};

/// One value per cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerSide<T> {
    pub source: T,
    pub target: T,
}

/// Per second, between two samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    pub produced_messages: f64,
    pub produced_bytes: f64,
    pub consumed_messages: f64,
    pub consumed_bytes: f64,
}

impl Rates {
    /// From counters `secs` apart; a counter that went down (an instance restarted) counts as 0.
    pub fn between(old: &TopicCounts, new: &TopicCounts, secs: f64) -> Rates {
        let per_sec = |a: u64, b: u64| b.saturating_sub(a) as f64 / secs;
        Rates {
            produced_messages: per_sec(old.produced_messages, new.produced_messages),
            produced_bytes: per_sec(old.produced_bytes, new.produced_bytes),
            consumed_messages: per_sec(old.consumed_messages, new.consumed_messages),
            consumed_bytes: per_sec(old.consumed_bytes, new.consumed_bytes),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateWindow {
    pub from: Timestamp,
    pub to: Timestamp,
    pub per_second: PerSide<Rates>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicTraffic {
    pub topic: String,
    pub stage: Stage,
    /// Totals the fleet carried, as of the latest sample (this instance's own now, before one).
    pub current: PerSide<TopicCounts>,
    /// `None` (`null`) until the engine has taken two samples a moment apart.
    pub rates: Option<RateWindow>,
    pub samples: Vec<TrafficSample>,
}

impl TopicTraffic {
    /// A topic's traffic from the engine's samples, oldest first, and this instance's own
    /// counters now (shown until there is a sample).
    pub fn new(
        topic: String,
        stage: Stage,
        samples: Vec<TrafficSample>,
        now: PerSide<TopicCounts>,
    ) -> TopicTraffic {
        let rates = match samples.as_slice() {
            [.., a, b] => {
                let secs = (b.at - a.at).num_milliseconds() as f64 / 1000.0;
                (secs > 0.0).then(|| RateWindow {
                    from: a.at,
                    to: b.at,
                    per_second: PerSide {
                        source: Rates::between(&a.source, &b.source, secs),
                        target: Rates::between(&a.target, &b.target, secs),
                    },
                })
            }
            _ => None,
        };
        let current = samples.last().map_or(now, |s| PerSide { source: s.source, target: s.target });
        TopicTraffic { topic, stage, current, rates, samples }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrafficReport {
    pub topics: Vec<TopicTraffic>,
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;

    fn produced(n: u64) -> TopicCounts {
        TopicCounts { produced_messages: n, produced_bytes: n * 100, ..Default::default() }
    }

    #[test]
    fn rates_are_per_second_and_never_negative() {
        let old = TopicCounts { produced_messages: 10, produced_bytes: 1000, ..Default::default() };
        let new = TopicCounts {
            produced_messages: 30,
            produced_bytes: 3000,
            consumed_messages: 5,
            ..Default::default()
        };
        let r = Rates::between(&old, &new, 10.0);
        assert_eq!((r.produced_messages, r.produced_bytes, r.consumed_messages), (2.0, 200.0, 0.5));
        assert_eq!(Rates::between(&new, &old, 10.0).produced_messages, 0.0);
    }

    #[test]
    fn current_is_the_latest_sample_and_rates_need_two_apart() {
        let now = PerSide { source: produced(99), target: produced(1) };
        let at = Utc::now();
        let sample = |at, n| TrafficSample { at, source: produced(n), target: TopicCounts::default() };

        let t = TopicTraffic::new("orders".into(), Stage::DualRead, vec![], now);
        assert_eq!((t.current, t.rates), (now, None), "no sample yet: this instance's own counters");

        let t = TopicTraffic::new("orders".into(), Stage::DualRead, vec![sample(at, 10)], now);
        assert_eq!((t.current.source, t.rates), (produced(10), None));

        let t =
            TopicTraffic::new("orders".into(), Stage::DualRead, vec![sample(at, 10), sample(at, 20)], now);
        assert_eq!(t.rates, None, "two samples at one moment give no rate");

        let later = at + Duration::seconds(5);
        let t =
            TopicTraffic::new("orders".into(), Stage::DualRead, vec![sample(at, 10), sample(later, 20)], now);
        let r = t.rates.expect("a rate");
        assert_eq!((r.from, r.to, r.per_second.source.produced_messages), (at, later, 2.0));
        assert_eq!(t.current.source, produced(20));
    }

    #[test]
    fn the_report_reads_back_as_it_was_written() {
        let at = Utc::now();
        let s = |n| TrafficSample { at, source: produced(n), target: produced(n / 2) };
        let t = TopicTraffic::new("orders".into(), Stage::CuttingOver, vec![s(4), s(8)], PerSide::default());
        let json = serde_json::to_value(TrafficReport { topics: vec![t] }).unwrap();
        assert_eq!(json["topics"][0]["current"]["source"]["producedMessages"], 8, "{json}");
        let back: TrafficReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.topics[0].current.target, produced(4));
    }
}
