//! Long-running producers and consumers (`produce-stream` / `consume-stream`) against one real
//! 4.9.8 cluster: an ordered producer and two orderly instances of one group for ~10 s.

use std::time::{Duration, Instant};

use ferry_testkit::{
    delivery_report, wait_for_delivery, Cluster, ClusterSpec, ConsumeStream, GroupSpec, ProduceStream,
    RocketMqVersion, TopicSpec,
};

const READY: Duration = Duration::from_secs(60);

#[test]
fn ordered_stream_to_two_orderly_consumers() {
    let started = Instant::now();
    let cluster = Cluster::start(ClusterSpec::new("traffic-v4", RocketMqVersion::V4_9_8)).unwrap();
    let h = cluster.harness();
    let (topic, group) = ("traffic-topic", "traffic-group");
    h.create_topics(cluster.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    h.create_groups(cluster.cluster_name(), &[GroupSpec::new(group)]).unwrap();

    let consume =
        ConsumeStream::new(topic, group).orderly().from_first().poll_namesrv_ms(1000).heartbeat_ms(1000);
    let c1 = h.consume_stream(&consume.clone().instance("traffic-c1")).unwrap();
    let c2 = h.consume_stream(&consume.instance("traffic-c2")).unwrap();
    let ids = [c1.wait_ready(READY).unwrap(), c2.wait_ready(READY).unwrap()];
    assert_ne!(ids[0], ids[1], "two distinct clients");

    let p = h
        .produce_stream(
            &ProduceStream::new(topic, "traffic-producer")
                .rate(100)
                .ordered_keys(8)
                .send_timeout_ms(10_000)
                .poll_namesrv_ms(1000)
                .heartbeat_ms(1000),
        )
        .unwrap();
    p.wait_ready(READY).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert!(p.is_running() && !p.sent().unwrap().is_empty(), "sending: {}", p.stderr());
    std::thread::sleep(Duration::from_secs(5));
    let sent = p.stop().unwrap();

    let missing = wait_for_delivery(&sent, &[&c1, &c2], Duration::from_secs(30)).unwrap();
    let r1 = c1.stop().unwrap();
    let r2 = c2.stop().unwrap();
    let all: Vec<_> = r1.iter().chain(&r2).cloned().collect();
    let report = delivery_report(&sent, &[(group, &all)]);
    eprintln!("{report}\n(test took {:?})", started.elapsed());

    assert!(missing.is_empty(), "not caught up: {report}");
    assert_eq!(report.send_failures, 0, "{report}");
    assert!(report.sent_ok >= 300, "~100/s for 10 s: {report}");
    assert!(report.all_delivered(), "{report}");
    assert!(report.in_order(), "{report}");
    assert!(!r1.is_empty() && !r2.is_empty(), "the queues were split between the instances: {report}");
    assert!(sent
        .iter()
        .all(|s| s.order_key.is_some() && s.broker_name.as_deref() == Some(cluster.broker_name())));
    assert!(all.iter().all(|r| r.topic == topic && r.store_host.as_deref() == Some(cluster.broker_addr())));
}
