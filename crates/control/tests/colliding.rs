//! Brokers named alike on both clusters, as Apache's sample configs name them: a two-master 4.9.8
//! source and a two-master 5.3.3 target, both with `broker-a` and `broker-b`, each master with a
//! slave that its consumers are sent to whenever they have more to read. Real Java clients
//! (an ordered producer, an orderly group and a plain group) pointed only at Ferry while a
//! strict-order topic walks through the five stages.
//!
//! Asserted: the merged route shows the target's brokers under their aliases beside the source's;
//! every successful send is consumed by both groups and the orderly group sees no key out of
//! order; after Completed every send lands on a target broker, under its alias; and a reset of
//! offsets a target broker sends during DualReadWrite (RESET_CONSUMER_CLIENT_OFFSET, by its real
//! name, which is also a source broker's) rewinds the consumer's target queues only; consumers
//! pulled through the relays of every slave, on both clusters.

use std::collections::HashMap;
use std::time::{Duration, Instant};

mod common;

use ferry_control::migration::{ClusterEndpoint, NewMigration, NewTopic};
use ferry_proxy::Stage;
use ferry_testkit::{
    delivery_report, wait_for_delivery, Cluster, ClusterSpec, ConsumeStream, GroupSpec, Harness,
    ProduceStream, RocketMqVersion, RunningConsumer, TopicSpec,
};

const CLIENT_POLL_MS: u64 = 1000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[test]
fn brokers_named_alike_on_both_clusters_migrate_under_aliases() {
    let names = ["broker-a", "broker-b"];
    let spec = |name: &str, version| {
        ClusterSpec::new(name, version).broker_names(names).slaves(true).pull_from_slaves()
    };
    let source = Cluster::start(spec("clsrc", RocketMqVersion::V4_9_8)).unwrap();
    // A consumer connected to a broker both through a relay and directly counts twice in its group
    // until the unused connection goes (docs/seamless.md, "Leaving Ferry"): after a rollback from
    // Direct, when the broker expires it (120 s by default; 4.9.8 cannot be told otherwise).
    let target = Cluster::start(
        spec("cltgt", RocketMqVersion::V5_3_3).broker_property("channelExpiredTimeout", "10000"),
    )
    .unwrap();
    let (topic, fifo, plain) = ("cl-orders", "cl-fifo", "cl-plain");
    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    sh.create_groups(
        source.cluster_name(),
        &[GroupSpec::new(fifo).consume_orderly(true), GroupSpec::new(plain)],
    )
    .unwrap();

    let ferry = common::Ferry::start(20);
    let (rt, engine) = (&ferry.rt, &ferry.engine);
    let id = rt
        .block_on(engine.create_migration(NewMigration {
            name: "colliding".into(),
            source: ClusterEndpoint::new(source.namesrv_addr(), source.cluster_name()),
            target: ClusterEndpoint::new(target.namesrv_addr(), target.cluster_name()),
        }))
        .expect("brokers named alike no longer refuse a migration")
        .id;
    let brokers = rt.block_on(engine.brokers(id)).unwrap();
    let aliases: HashMap<&str, Option<&str>> = brokers
        .iter()
        .filter(|b| b.broker.side == ferry_proxy::Side::Target)
        .map(|b| (b.broker.name.as_str(), b.broker.alias.as_deref()))
        .collect();
    assert_eq!(
        aliases,
        HashMap::from([("broker-a", Some("zz-broker-a")), ("broker-b", Some("zz-broker-b"))])
    );
    rt.block_on(engine.add_topics(
        id,
        vec![NewTopic {
            topic: topic.into(),
            groups: Some(vec![fifo.into(), plain.into()]),
            strict_order: true,
        }],
        "colliding-test",
    ))
    .unwrap();

    let through = Harness::new(ferry.namesrv.clone());
    let consume = |group: &str, instance: &str, orderly: bool| -> RunningConsumer {
        let mut c = ConsumeStream::new(topic, group)
            .instance(instance)
            .from_first()
            .poll_namesrv_ms(CLIENT_POLL_MS)
            .heartbeat_ms(CLIENT_POLL_MS);
        if orderly {
            c = c.orderly();
        }
        let c = through.consume_stream(&c).unwrap();
        c.wait_ready(Duration::from_secs(60)).unwrap();
        c
    };
    let consumers = [consume(fifo, "fifo-1", true), consume(plain, "plain-1", false)];
    let producer = through
        .produce_stream(
            &ProduceStream::new(topic, "cl-pg")
                .instance("cl-producer")
                .rate(30)
                .ordered_keys(16)
                .poll_namesrv_ms(CLIENT_POLL_MS)
                .heartbeat_ms(CLIENT_POLL_MS),
        )
        .unwrap();
    producer.wait_ready(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(3));

    let step = |to: Stage| ferry.proceed(id, topic, to, "colliding-test");
    step(Stage::DualRead);
    step(Stage::DualReadWrite);
    // What a client is given: both clusters' brokers, the target's under their aliases.
    let route = through.admin(&[vec!["topic-route".into(), "--topic".into(), topic.into()]]).unwrap();
    let route: serde_json::Value = serde_json::from_str(&route[0]).unwrap();
    let mut shown: Vec<&str> =
        route["queues"].as_array().unwrap().iter().map(|q| q["brokerName"].as_str().unwrap()).collect();
    shown.sort();
    assert_eq!(shown, ["broker-a", "broker-b", "zz-broker-a", "zz-broker-b"], "{route}");
    // The topic named after a broker finds that broker (the 5.x Proxy looks brokers up so): under
    // its alias the target's, under the shared real name the source's.
    for (named, side) in [("zz-broker-a", ferry_proxy::Side::Target), ("broker-a", ferry_proxy::Side::Source)]
    {
        let r = through.admin(&[vec!["topic-route".into(), "--topic".into(), named.into()]]).unwrap();
        let r: serde_json::Value = serde_json::from_str(&r[0]).unwrap();
        let real = match side {
            ferry_proxy::Side::Target => target.broker("broker-a").unwrap(),
            ferry_proxy::Side::Source => source.broker("broker-a").unwrap(),
        };
        let relays = engine.proxy().relay_assignments();
        let relay_of = |backend: &str| {
            let port = relays.iter().find(|a| a.side == side && a.backend == backend).map(|a| a.port);
            port.map(|p| format!("127.0.0.1:{p}"))
        };
        assert_eq!(r["queues"][0]["brokerName"], named, "{r}");
        let master = r["brokers"][0]["addrs"]["0"].as_str().map(str::to_string);
        assert_eq!(
            master,
            relay_of(&real.addr),
            "the route of topic {named} names the {side} master's relay: {r}"
        );
    }
    // An admin tool looking through Ferry sees the group's offsets on both clusters, apart.
    let stats = through.admin(&[vec!["consume-stats".into(), "--group".into(), plain.into()]]).unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats[0]).unwrap();
    let mut seen: Vec<(&str, i64)> = stats["queues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["topic"] == topic)
        .map(|q| (q["brokerName"].as_str().unwrap(), q["queueId"].as_i64().unwrap()))
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 16, "4 queues on each of 4 brokers, none merged: {stats}");
    assert!(
        seen.iter().any(|(b, _)| *b == "zz-broker-a") && seen.iter().any(|(b, _)| *b == "broker-a"),
        "{stats}"
    );

    // Both sides read (the strict-order hold of this step released): a target broker resets the
    // plain group's offsets to `reset_to`, naming itself by its real name, `broker-a`, which is
    // also a source broker's. Through Ferry the consumer hears the alias and rewinds the target's
    // queues only; unrenamed, the reset would land on the source's queues of the same name.
    let deadline = Instant::now() + common::STEP_TIMEOUT;
    while rt.block_on(engine.topics(id)).unwrap()[0].hold.is_some() {
        assert!(Instant::now() < deadline, "the hold of DualReadWrite was never released");
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(4));
    let reset_to = now_ms();
    // The reset must have something to rewind: wait until the plain group has read target
    // messages stored after `reset_to` (consumers read the target's slaves, which may lag).
    let read_after = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let past = consumers[1]
            .received()
            .unwrap()
            .iter()
            .filter(|r| {
                r.broker_name.as_deref().is_some_and(|b| b.starts_with("zz-"))
                    && r.store_timestamp_ms > reset_to
            })
            .count();
        if past >= 20 || read_after.elapsed() > Duration::from_secs(60) {
            eprintln!("{past} target messages stored after the reset time read before it");
            break;
        }
    }
    let before_reset = consumers[1].received().unwrap().len();
    let reset = target
        .harness()
        .admin(&[vec![
            "reset-offset".into(),
            "--topic".into(),
            topic.into(),
            "--group".into(),
            plain.into(),
            "--timestamp".into(),
            reset_to.to_string(),
        ]])
        .unwrap();
    eprintln!("reset: {}", reset[0]);
    std::thread::sleep(Duration::from_secs(6));
    step(Stage::CuttingOver);
    step(Stage::Completed);

    // Completed: every send lands on the target, under the aliases clients know.
    std::thread::sleep(Duration::from_secs(4));
    let completed_ms = now_ms();
    std::thread::sleep(Duration::from_secs(4));

    // Direct: routes name the target's own brokers, no relay in between; clients take it at their
    // next route refresh and the relays let them go once idle. Nothing is lost across it and its
    // rollback, and rolled back the relays carry the clients again.
    step(Stage::Direct);
    let direct_at = Instant::now();
    let open_relays = || -> Vec<(String, usize)> {
        engine
            .proxy()
            .relay_traffic()
            .into_iter()
            .filter(|r| r.connections > 0)
            .map(|r| (format!("{} {}", r.assignment.side, r.assignment.backend), r.connections))
            .collect()
    };
    let route = through.admin(&[vec!["topic-route".into(), "--topic".into(), topic.into()]]).unwrap();
    let route: serde_json::Value = serde_json::from_str(&route[0]).unwrap();
    let masters: Vec<String> = target.brokers().iter().map(|b| b.addr.clone()).collect();
    for b in route["brokers"].as_array().unwrap() {
        let master = b["addrs"]["0"].as_str().unwrap().to_string();
        assert!(masters.contains(&master), "a Direct route names the target's own masters: {route}");
        assert!(b["brokerName"].as_str().unwrap().starts_with("zz-broker-"), "names kept: {route}");
    }
    let limit = Duration::from_secs(CLIENT_POLL_MS / 1000 + 30) + common::RELAY_IDLE_TIMEOUT;
    loop {
        let open = open_relays();
        if open.is_empty() {
            break;
        }
        if direct_at.elapsed() >= limit {
            let stages = &engine.proxy().stages;
            let policies: Vec<String> = [fifo, plain]
                .iter()
                .flat_map(|g| [format!("%RETRY%{g}"), format!("%DLQ%{g}")])
                .map(|t| format!("{t}: {:?}", stages.get(&t).map(|v| v.policy)))
                .collect();
            let clients: Vec<String> = engine
                .proxy()
                .registry
                .clients()
                .into_iter()
                .map(|c| format!("{} {:?} {} conn", c.client_id, c.sides, c.connections))
                .collect();
            panic!("clients still on relays {limit:?} after Direct: {open:?}; {policies:?}; {clients:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("Direct: every relay empty {:.1} s after the step", direct_at.elapsed().as_secs_f32());
    let leave = rt.block_on(engine.leave(id)).unwrap();
    assert_eq!(leave.verdict, ferry_control::migration::LeaveVerdict::PointClientsAtTarget, "{}", leave.say);
    std::thread::sleep(Duration::from_secs(4));
    let direct_ms = now_ms();
    rt.block_on(engine.rollback(id, topic, None, "colliding-test")).unwrap();
    let back_at = Instant::now();
    while open_relays().iter().filter(|(r, _)| r.starts_with("target")).count() < 2 {
        assert!(back_at.elapsed() < Duration::from_secs(30), "clients did not come back to the relays");
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "rolled back to Completed: relays carry clients again after {:.1} s",
        back_at.elapsed().as_secs_f32()
    );
    std::thread::sleep(Duration::from_secs(4));
    let sent = producer.stop().unwrap();
    assert!(
        sent.iter().any(|s| s.is_ok() && s.timestamp_ms > completed_ms && s.timestamp_ms < direct_ms),
        "producers kept sending while Direct"
    );
    let late: Vec<_> = sent.iter().filter(|s| s.is_ok() && s.timestamp_ms > completed_ms).collect();
    assert!(!late.is_empty(), "producers kept sending after Completed");
    assert!(
        late.iter().all(|s| s.broker_name.as_deref().is_some_and(|b| b.starts_with("zz-broker-"))),
        "after Completed every send goes to a target broker under its alias"
    );

    for c in &consumers {
        let missing = wait_for_delivery(&sent, &[c], Duration::from_secs(120)).unwrap();
        if !missing.is_empty() {
            // Where and when the missing were sent, against the Direct step and its rollback.
            let mut at: Vec<String> = sent
                .iter()
                .filter(|s| s.msg_id.as_ref().is_some_and(|m| missing.contains(m)))
                .map(|s| {
                    format!(
                        "{:?}:{:?}@{:?} {:+} ms from Direct's rollback",
                        s.broker_name,
                        s.queue_id,
                        s.queue_offset,
                        s.timestamp_ms - direct_ms
                    )
                })
                .collect();
            at.sort();
            let got = c.received().unwrap();
            let mut last: HashMap<String, i64> = HashMap::new();
            for r in &got {
                let q = format!("{:?}:{}", r.broker_name, r.queue_id);
                let e = last.entry(q).or_insert(-1);
                *e = (*e).max(r.queue_offset);
            }
            eprintln!("{}: missing {at:?}; newest offset consumed per queue {last:?}", c.group());
        }
        assert!(
            missing.is_empty(),
            "{}: {} never consumed: {:?}",
            c.group(),
            missing.len(),
            &missing[..missing.len().min(5)]
        );
    }
    let mut received = Vec::new();
    for c in consumers {
        let group = c.group().to_string();
        received.push((group, c.stop().unwrap()));
    }
    let by_group: Vec<(&str, &[ferry_testkit::ReceivedRecord])> =
        received.iter().map(|(g, r)| (g.as_str(), r.as_slice())).collect();
    let report = delivery_report(&sent, &by_group);
    eprintln!("{report}");
    assert!(
        report.group(fifo).unwrap().missing.is_empty() && report.group(plain).unwrap().missing.is_empty()
    );
    assert!(report.group(fifo).unwrap().out_of_order.is_empty(), "strict order with aliases: {report}");

    // Rewound: messages consumed before the reset came again, all from the target's queues.
    let plain_received = &received.iter().find(|(g, _)| g == plain).unwrap().1;
    let cut = before_reset.min(plain_received.len());
    let before: std::collections::HashSet<&str> =
        plain_received[..cut].iter().map(|r| r.msg_id.as_str()).collect();
    let again: Vec<&ferry_testkit::ReceivedRecord> =
        plain_received[cut..].iter().filter(|r| before.contains(r.msg_id.as_str())).collect();
    let on = |prefix: &str| {
        again.iter().filter(|r| r.broker_name.as_deref().is_some_and(|b| b.starts_with(prefix))).count()
    };
    eprintln!(
        "colliding names: {} deliveries again after the target broker's reset, {} of them on the target",
        again.len(),
        on("zz-")
    );
    assert!(
        on("zz-broker-") > 0,
        "the reset from the target broker did not rewind the target's queues ({cut} deliveries before)"
    );
    assert_eq!(on("broker-"), 0, "the target's reset rewound the source's queues of the same name");

    // Slaves are relayed like their masters: masters sent consumers to them, through Ferry.
    let relays = engine.proxy().relay_traffic();
    for (side, cluster) in [(ferry_proxy::Side::Source, &source), (ferry_proxy::Side::Target, &target)] {
        for broker in cluster.brokers() {
            let slave = broker.slave_addr.as_deref().unwrap();
            let pulled: u64 = relays
                .iter()
                .filter(|r| r.assignment.side == side && r.assignment.backend == slave)
                .map(|r| r.pulled_messages)
                .sum();
            eprintln!(
                "{side} slave of {} ({slave}): {pulled} messages pulled through its relay",
                broker.name
            );
            assert!(
                pulled > 0,
                "no pull reached the {side} slave of {} through Ferry: {relays:?}",
                broker.name
            );
        }
    }
    rt.block_on(engine.complete(id, "colliding-test")).unwrap();
}
