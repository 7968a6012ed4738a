//! `/metrics` in the Prometheus text exposition format (version 0.0.4), written by hand: traffic
//! through the relays per topic and cluster, relay connections, request latency, and where each
//! migration topic stands.

use std::fmt::Write;

use ferry_control::migration::Engine;
use ferry_proxy::{LatencySnapshot, Side};

use crate::error::ApiError;

const SIDES: [Side; 2] = [Side::Source, Side::Target];

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// Seconds from microseconds, as Prometheus reads them.
fn seconds(us: u64) -> f64 {
    us as f64 / 1_000_000.0
}

fn histogram(out: &mut Out, name: &str, side: &str, s: &LatencySnapshot) {
    let mut cumulative = 0;
    for (bound, count) in &s.buckets {
        cumulative += count;
        let le = match bound {
            Some(us) => seconds(*us).to_string(),
            None => "+Inf".to_string(),
        };
        out.sample(&format!("{name}_bucket"), &[("side", side), ("le", &le)], cumulative);
    }
    // The snapshot keeps the mean (whole microseconds), so the sum is within `count` µs.
    let sum = s.mean_us.map_or(0.0, |m| seconds(m) * s.count as f64);
    out.sample(&format!("{name}_sum"), &[("side", side)], sum);
    out.sample(&format!("{name}_count"), &[("side", side)], s.count);
}

pub async fn render(engine: &Engine) -> Result<String, ApiError> {
    let proxy = engine.proxy();
    let mut out = Out(String::new());

    let traffic = proxy.traffic.snapshot();
    type Field = fn(&ferry_proxy::TopicCounts) -> u64;
    let counters: [(&str, &str, Field); 4] = [
        ("ferry_produced_messages_total", "Messages written through Ferry's relays.", |c| {
            c.produced_messages
        }),
        ("ferry_produced_bytes_total", "Message bytes written through Ferry's relays.", |c| c.produced_bytes),
        ("ferry_consumed_messages_total", "Messages read through Ferry's relays.", |c| c.consumed_messages),
        ("ferry_consumed_bytes_total", "Message bytes read through Ferry's relays.", |c| c.consumed_bytes),
    ];
    for (name, help, field) in counters {
        out.family(name, "counter", &format!("{help} Per topic and cluster (side), since Ferry started."));
        for (topic, side, counts) in &traffic {
            out.sample(name, &[("topic", topic), ("side", side.name())], field(counts));
        }
    }

    out.family(
        "ferry_relay_connections",
        "gauge",
        "Client connections open through the relays, per cluster.",
    );
    for side in SIDES {
        out.sample("ferry_relay_connections", &[("side", side.name())], proxy.connections(side));
    }
    let relays = proxy.relay_assignments();
    out.family("ferry_relays", "gauge", "Relays open (one per broker, each on a port pair), per cluster.");
    for side in SIDES {
        out.sample(
            "ferry_relays",
            &[("side", side.name())],
            relays.iter().filter(|r| r.side == side).count(),
        );
    }
    out.family(
        "ferry_request_latency_seconds",
        "histogram",
        "Broker request latency through the relays (long-polling pulls excluded), per cluster.",
    );
    for side in SIDES {
        histogram(
            &mut out,
            "ferry_request_latency_seconds",
            side.name(),
            &proxy.traffic.latency(side).snapshot(),
        );
    }
    out.family("ferry_clients", "gauge", "Clients seen through Ferry (by heartbeat) and not expired.");
    out.sample("ferry_clients", &[], proxy.registry.clients().len());

    let mut stages = Out(String::new());
    let mut ready = Out(String::new());
    stages.family(
        "ferry_migration_topic_stage",
        "gauge",
        "Stage of each migration topic: 0 Initial, 1 DualRead, 2 DualReadWrite, 3 CuttingOver, 4 Completed, 5 Direct.",
    );
    ready.family(
        "ferry_migration_topic_ready",
        "gauge",
        "1 if the latest health check toward the topic's next stage passed, 0 if some check failed.",
    );
    for m in engine.migrations().await? {
        let id = m.id.to_string();
        for t in engine.topics(m.id).await? {
            let labels = [("migration", id.as_str()), ("topic", t.topic.as_str())];
            stages.sample("ferry_migration_topic_stage", &labels, t.stage as u8);
            if let Some(check) = &t.last_check {
                ready.sample("ferry_migration_topic_ready", &labels, u8::from(check.ready()));
            }
        }
    }
    out.0.push_str(&stages.0);
    out.0.push_str(&ready.0);
    Ok(out.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_proxy::traffic::Latency;
    use std::time::Duration;

    #[test]
    fn label_values_are_escaped() {
        let mut out = Out(String::new());
        out.sample("m", &[("topic", "a\"b\\c\nd")], 1);
        assert_eq!(out.0, "m{topic=\"a\\\"b\\\\c\\nd\"} 1\n");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_in_inf() {
        let l = Latency::default();
        l.record(Duration::from_micros(40));
        l.record(Duration::from_micros(150));
        l.record(Duration::from_secs(10));
        let mut out = Out(String::new());
        histogram(&mut out, "lat", "source", &l.snapshot());
        let text = out.0;
        assert!(text.contains("lat_bucket{side=\"source\",le=\"0.00005\"} 1\n"), "{text}");
        assert!(text.contains("lat_bucket{side=\"source\",le=\"0.0002\"} 2\n"), "{text}");
        assert!(text.contains("lat_bucket{side=\"source\",le=\"5\"} 2\n"), "{text}");
        assert!(text.contains("lat_bucket{side=\"source\",le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("lat_count{side=\"source\"} 3\n"), "{text}");
    }
}
