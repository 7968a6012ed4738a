//! The testkit against real RocketMQ 4.9.8 and 5.3.3 NameServers and brokers (JVMs started by
//! `testkit/rocketmq.sh`, jars from Maven Central), driven by the real Java client.

use std::collections::BTreeSet;
use std::thread;

use ferry_testkit::{
    acl, consumed_ids, shared, Cluster, ClusterSpec, Consume, Error, GroupSpec, Harness, Produce,
    RocketMqVersion, SeedConfig, TopicSpec,
};

/// Starts clusters in parallel threads (a JVM boot is mostly waiting; two cores are enough).
fn start_all(specs: Vec<ClusterSpec>) -> Vec<Cluster> {
    let handles: Vec<_> = specs.into_iter().map(|s| thread::spawn(move || Cluster::start(s))).collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .expect("start thread panicked")
                .unwrap_or_else(|e| panic!("cluster failed to start: {e}"))
        })
        .collect()
}

/// Create a topic and a group through the admin path, send 100 messages, consume all of them.
fn round_trip(cluster: &Cluster) {
    let h = cluster.harness();
    let topic = "rt-topic";
    let group = "rt-group";
    h.create_topics(cluster.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    h.create_groups(cluster.cluster_name(), &[GroupSpec::new(group).retry_max(3)]).unwrap();

    let route = h.admin(&[vec!["topic-route".into(), "--topic".into(), topic.into()]]).unwrap();
    assert!(route[0].contains(cluster.broker_addr()), "route of {topic} on {}: {route:?}", cluster.version());
    assert!(route[0].contains(r#""writeQueueNums":4"#), "{route:?}");

    let sent = h.produce(&Produce::new(topic, 100)).unwrap();
    assert_eq!(sent.len(), 100);
    assert!(sent.iter().all(|m| m.broker_name == cluster.broker_name()));
    let queues: BTreeSet<i32> = sent.iter().map(|m| m.queue_id).collect();
    assert_eq!(queues, (0..4).collect(), "sends spread over the 4 write queues");

    let received = h.consume(&Consume::new(topic, group, 100).from_first().timeout_secs(60)).unwrap();
    let sent_ids: BTreeSet<&str> = sent.iter().map(|m| m.msg_id.as_str()).collect();
    assert_eq!(consumed_ids(&received), sent_ids, "every sent message arrives on {}", cluster.version());
    assert!(received.iter().all(|m| m.topic == topic && m.reconsume_times == 0));
}

#[test]
fn v4_and_v5_side_by_side() {
    let clusters = start_all(vec![
        ClusterSpec::new("side-v4", RocketMqVersion::V4_9_8),
        ClusterSpec::new("side-v5", RocketMqVersion::V5_3_3),
    ]);
    for c in &clusters {
        eprintln!(
            "{} {}: namesrv {} broker {} started in {:?} (script: namesrv {} ms, broker {} ms)",
            c.version(),
            c.cluster_name(),
            c.namesrv_addr(),
            c.broker_addr(),
            c.startup_time(),
            c.info()["NAMESRV_MS"],
            c.info()["BROKER_MS"],
        );
    }
    let ports: BTreeSet<&str> = clusters
        .iter()
        .flat_map(|c| [c.namesrv_addr(), c.broker_addr()])
        .map(|a| a.rsplit(':').next().unwrap())
        .collect();
    assert_eq!(ports.len(), 4, "distinct ports");

    // Each NameServer knows only its own cluster.
    for c in &clusters {
        let info = c.harness().admin(&[vec!["cluster-info".into()]]).unwrap();
        assert!(info[0].contains(c.cluster_name()) && info[0].contains(c.broker_addr()), "{info:?}");
        let other = clusters.iter().find(|o| o.cluster_name() != c.cluster_name()).unwrap();
        assert!(!info[0].contains(other.cluster_name()), "{info:?}");
    }

    thread::scope(|s| {
        for c in &clusters {
            s.spawn(move || round_trip(c));
        }
    });

    // Ordered keys: each key's sequence numbers arrive in order with an orderly consumer.
    let c = &clusters[1];
    let h = c.harness();
    h.create_topics(c.cluster_name(), &[TopicSpec::new("fifo-topic").queues(4, 4).order(true)]).unwrap();
    let sent = h.produce(&Produce::new("fifo-topic", 60).ordered_keys(5)).unwrap();
    for key in 0..5 {
        let queues: BTreeSet<i32> =
            sent.iter().filter(|m| m.key == format!("key-{key}")).map(|m| m.queue_id).collect();
        assert_eq!(queues.len(), 1, "one queue per key");
    }
    let got = h.consume(&Consume::new("fifo-topic", "fifo-group", 60).from_first().orderly()).unwrap();
    for key in 0..5 {
        let seqs: Vec<i64> = got
            .iter()
            .filter(|m| m.key.as_deref() == Some(&format!("key-{key}")))
            .filter_map(|m| m.seq)
            .collect();
        assert_eq!(seqs, (0..12).collect::<Vec<i64>>(), "key-{key} in order");
    }
    let route = h.admin(&[vec!["topic-route".into(), "--topic".into(), "fifo-topic".into()]]).unwrap();
    assert!(route[0].contains(&format!(r#""orderTopicConf":"{}:4""#, c.broker_name())), "{route:?}");
}

/// Unsigned and wrongly signed requests are refused, the right key works, and the plain user is
/// limited to its topics.
fn check_acl(cluster: &Cluster) {
    let topic = acl::USER_TOPIC_PUB_SUB;
    let admin = cluster.harness(); // signs with the admin account
    admin.create_topics(cluster.cluster_name(), &[TopicSpec::new(topic).queues(2, 2)]).unwrap();
    admin.create_groups(cluster.cluster_name(), &[GroupSpec::new(acl::USER_GROUP)]).unwrap();

    let unsigned = Harness::new(cluster.namesrv_addr());
    let err = unsigned.produce(&Produce::new(topic, 1).send_timeout_ms(3000)).unwrap_err();
    assert!(matches!(err, Error::Harness { .. }), "{err}");
    eprintln!(
        "{} unsigned send refused: {}",
        cluster.version(),
        err.to_string().lines().nth(1).unwrap_or_default()
    );
    let err = unsigned.create_topics(cluster.cluster_name(), &[TopicSpec::new("sneaky")]).unwrap_err();
    assert!(matches!(err, Error::Harness { .. }), "{err}");

    let wrong = Harness::new(cluster.namesrv_addr())
        .with_credentials(ferry_testkit::Credentials::new("ferryadmin", "not-the-secret"));
    let err = wrong.produce(&Produce::new(topic, 1)).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("signature"), "{err}");

    let sent = admin.produce(&Produce::new(topic, 5)).unwrap();
    let user = Harness::new(cluster.namesrv_addr()).with_credentials(acl::user());
    let sent_by_user = user.produce(&Produce::new(topic, 5)).unwrap();
    let err = user.produce(&Produce::new("not-granted-topic", 1)).unwrap_err();
    assert!(matches!(err, Error::Harness { .. }), "{err}");

    let got = user.consume(&Consume::new(topic, acl::USER_GROUP, 10).from_first().timeout_secs(60)).unwrap();
    let want: BTreeSet<&str> = sent.iter().chain(&sent_by_user).map(|m| m.msg_id.as_str()).collect();
    assert_eq!(consumed_ids(&got), want);

    let plain_acl = cluster.plain_acl_file().expect("PLAIN_ACL printed");
    assert!(std::fs::read_to_string(plain_acl).unwrap().contains("ferryuser"));
}

#[test]
fn acl_is_enforced_on_both_versions() {
    let clusters = start_all(vec![
        ClusterSpec::new("acl-v4", RocketMqVersion::V4_9_8).acl(true),
        ClusterSpec::new("acl-v5", RocketMqVersion::V5_3_3).acl(true),
    ]);
    thread::scope(|s| {
        for c in &clusters {
            s.spawn(move || check_acl(c));
        }
    });
}

#[test]
fn shared_cluster_starts_once_and_loads_seed_config() {
    let seed_dir = std::env::temp_dir().join(format!("ferry-testkit-seed-{}", std::process::id()));
    let seed = SeedConfig {
        topics: (0..1000).map(|i| TopicSpec::new(format!("seeded-{i:04}")).queues(2, 2)).collect(),
        groups: vec![GroupSpec::new("seeded-group").retry_max(5)],
    };
    seed.write(&seed_dir).unwrap();
    let spec = || ClusterSpec::new("shared-seeded", RocketMqVersion::V4_9_8).seed_config(&seed_dir);

    let (a, b) = thread::scope(|s| {
        let a = s.spawn(|| shared(spec()));
        let b = s.spawn(|| shared(spec()));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(std::ptr::eq(a, b), "one cluster per name");

    let route =
        a.harness().admin(&[vec!["topic-route".into(), "--topic".into(), "seeded-0999".into()]]).unwrap();
    assert!(route[0].contains(r#""readQueueNums":2"#) && route[0].contains(a.broker_name()), "{route:?}");
    let groups = std::fs::read_to_string(a.store_dir().join("config/subscriptionGroup.json")).unwrap();
    assert!(groups.contains("seeded-group"));
    std::fs::remove_dir_all(&seed_dir).unwrap();
    // No Drop for statics: the watchdog stops this cluster when the test binary exits.
}
