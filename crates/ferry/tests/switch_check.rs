//! `ferry switch-check` between a real 4.9.8 source and a real 5.3.3 target, with real consumers:
//! while the source holds a backlog and nobody consumes on the target, producers may not move and
//! the source's consumers may not leave; once consumers run on both sides and drain the source,
//! both verdicts turn safe.

use std::process::Command;
use std::time::{Duration, Instant};

use ferry_testkit::{shared, Cluster, ClusterSpec, Consume, GroupSpec, Produce, RocketMqVersion, TopicSpec};
use serde_json::Value;

fn switch_check(source: &Cluster, target: &Cluster, group: &str, extra: &[&str]) -> (Value, String) {
    let mut args = vec![
        "switch-check",
        "--source-namesrv",
        source.namesrv_addr(),
        "--source-cluster",
        source.cluster_name(),
        "--target-namesrv",
        target.namesrv_addr(),
        "--target-cluster",
        target.cluster_name(),
        "--group",
        group,
    ];
    args.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_ferry")).args(&args).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    let json = if extra.contains(&"--json") { serde_json::from_str(&stdout).unwrap() } else { Value::Null };
    (json, stdout)
}

fn ready_in_step(report: &Value, step: u64, group: &str) -> bool {
    report["steps"].as_array().unwrap().iter().find(|s| s["step"] == step).unwrap()["ready"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == group)
}

#[test]
fn verdicts_follow_backlog_and_consumers_between_4_9_and_5_3() {
    let (source, target) = std::thread::scope(|s| {
        let a = s.spawn(|| shared(ClusterSpec::new("switch-src", RocketMqVersion::V4_9_8)));
        let b = s.spawn(|| shared(ClusterSpec::new("switch-dst", RocketMqVersion::V5_3_3)));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (topic, group) = ("switch-orders", "switch-billing");
    let (hs, ht) = (source.harness(), target.harness());
    for (c, h) in [(source, &hs), (target, &ht)] {
        h.create_topics(c.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
        h.create_groups(c.cluster_name(), &[GroupSpec::new(group)]).unwrap();
    }
    // The group has consumed on the source before (so it has committed offsets)...
    hs.produce(&Produce::new(topic, 1)).unwrap();
    hs.consume(&Consume::new(topic, group, 1).from_first()).unwrap();
    // ...and now 30 messages wait there with nobody consuming.
    hs.produce(&Produce::new(topic, 30)).unwrap();

    let (r, _) = switch_check(source, target, group, &["--json"]);
    let g = &r["groups"][0];
    assert_eq!(g["group"], group, "{r}");
    assert!(g["sourceBacklog"].as_i64().unwrap() >= 30, "{r}");
    assert_eq!(g["producersWritingSource"][0], topic, "written within the default 5 minutes: {r}");
    assert_eq!(g["targetConsumers"], 0, "{r}");
    assert_eq!(g["consumersMayMove"]["ok"], true, "group and topic exist on the target: {r}");
    assert_eq!(g["producersMayMove"]["ok"], false, "no consumer on the target: {r}");
    assert!(g["producersMayMove"]["reason"].as_str().unwrap().contains("online on the target"), "{r}");
    assert_eq!(g["sourceConsumersMayLeave"]["ok"], false, "{r}");
    let why = g["sourceConsumersMayLeave"]["reason"].as_str().unwrap();
    assert!(why.contains("unconsumed") && why.contains("producers still write"), "{why}");
    assert!(ready_in_step(&r, 1, group) && !ready_in_step(&r, 2, group) && !ready_in_step(&r, 3, group));

    let (_, table) = switch_check(source, target, group, &[]);
    assert!(table.contains("inferred from writes"), "{table}");
    assert!(table.contains("safe order"), "{table}");
    assert!(table.contains("[NO ] producers may move"), "{table}");

    // Consumers of the group on both clusters, for 25 s each.
    std::thread::scope(|s| {
        s.spawn(|| hs.consume(&Consume::new(topic, group, 0).from_first().timeout_secs(25)));
        s.spawn(|| ht.consume(&Consume::new(topic, group, 0).from_first().timeout_secs(25)));
        let deadline = Instant::now() + Duration::from_secs(22);
        let mut last;
        loop {
            std::thread::sleep(Duration::from_secs(2));
            let (r, _) = switch_check(source, target, group, &["--json", "--quiet-minutes", "0"]);
            let g = &r["groups"][0];
            let done = g["sourceBacklog"] == 0 && g["targetConsumers"].as_u64().unwrap_or(0) > 0;
            last = r.clone();
            if done || Instant::now() > deadline {
                break;
            }
        }
        let g = &last["groups"][0];
        assert_eq!(g["sourceBacklog"], 0, "the source consumer drains the backlog: {last}");
        assert!(g["targetConsumers"].as_u64().unwrap() >= 1, "{last}");
        assert!(g["sourceConsumers"].as_u64().unwrap() >= 1, "{last}");
        assert_eq!(g["producersMayMove"]["ok"], true, "{last}");
        assert_eq!(g["sourceConsumersMayLeave"]["ok"], true, "{last}");
        assert!(ready_in_step(&last, 2, group) && ready_in_step(&last, 3, group), "{last}");
    });
}
