//! `ferry lag` against a real cluster with a real consumer, checked against Apache's own
//! `mqadmin consumerProgress` on the same cluster.

use std::process::Command;

use ferry_testkit::{shared, ClusterSpec, Consume, GroupSpec, Produce, RocketMqVersion, TopicSpec};
use serde_json::Value;

/// `Diff Total: N` (4.9) or `Consume Diff Total: N` (5.3) from `mqadmin consumerProgress -g <group>`.
fn mqadmin_diff_total(version: RocketMqVersion, namesrv: &str, group: &str) -> i64 {
    let o = Command::new(ferry_testkit::script_path())
        .args(["mqadmin", version.as_str(), "consumerProgress", "-n", namesrv, "-g", group])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines()
        .find_map(|l| l.strip_prefix("Diff Total:").or_else(|| l.strip_prefix("Consume Diff Total:")))
        .unwrap_or_else(|| {
            panic!("no Diff Total in mqadmin output: {out} {}", String::from_utf8_lossy(&o.stderr))
        })
        .trim()
        .parse()
        .unwrap()
}

fn lag_agrees_with_mqadmin(version: RocketMqVersion) {
    let c = shared(ClusterSpec::new(format!("lag-{version}"), version));
    let h = c.harness();
    let (topic, group) = ("lag-orders", "lag-billing");
    h.create_topics(c.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    h.create_groups(c.cluster_name(), &[GroupSpec::new(group)]).unwrap();
    h.produce(&Produce::new(topic, 30)).unwrap();
    h.consume(&Consume::new(topic, group, 30).from_first()).unwrap();
    h.produce(&Produce::new(topic, 17)).unwrap();

    let o = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["lag", "-n", c.namesrv_addr(), "-c", c.cluster_name(), "-g", group, "--queues", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let total = report["total"].as_i64().unwrap();
    assert!(total >= 17, "the 17 new messages are owed: {report}");
    assert_eq!(total, mqadmin_diff_total(version, c.namesrv_addr(), group), "{report}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.iter().filter(|r| r["topic"] == topic).count(), 4, "one row per queue: {report}");
    let summed: i64 = rows.iter().map(|r| r["lag"].as_i64().unwrap()).sum();
    assert_eq!(summed, total);

    // The table form prints the same total.
    let o = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["lag", "-n", c.namesrv_addr(), "-c", c.cluster_name()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains(&format!("group {group}: {total}")), "{table}");
    assert!(!table.contains("TOOLS_CONSUMER"), "system groups are left out: {table}");
}

#[test]
fn lag_agrees_with_mqadmin_on_4_9() {
    lag_agrees_with_mqadmin(RocketMqVersion::V4_9_8);
}

#[test]
fn lag_agrees_with_mqadmin_on_5_3() {
    lag_agrees_with_mqadmin(RocketMqVersion::V5_3_3);
}
