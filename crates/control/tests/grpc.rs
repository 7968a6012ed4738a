//! 5.x gRPC clients through an unmodified Apache RocketMQ Proxy 5.3.3 whose NameServer is Ferry:
//! a 5.3.3 source and a 5.3.3 target (one master each), the official gRPC client
//! (rocketmq-client-java) producing and consuming with a SimpleConsumer group (receive, ack) only
//! through the Proxy, while a topic walks Initial -> Completed behind its checks.
//!
//! A second group, `gr-slow`, acks each message 15 s after receiving it. Asserted: Completed is
//! refused by `pop-in-flight` (the ledger of POP messages handed out on the source and not acked),
//! naming `gr-slow` and its count, until its acks come, then passes; Ferry learned the group pops on both sides from the
//! Proxy's POP requests; every successful send is received and acked by the group (redeliveries
//! allowed, counted); no ack fails.

use std::time::{Duration, Instant};

mod common;

use ferry_control::migration::{ClusterEndpoint, EngineError, NewMigration, NewTopic};
use ferry_proxy::Stage;
use ferry_testkit::{
    grpc_group_report, Cluster, ClusterSpec, GroupSpec, GrpcHarness, GrpcProduce, GrpcProxy, GrpcProxySpec,
    RocketMqVersion, SimpleConsume, TopicSpec,
};

#[test]
fn grpc_clients_through_the_apache_proxy_walk_to_completed() {
    let source = Cluster::start(ClusterSpec::new("grsrc", RocketMqVersion::V5_3_3)).unwrap();
    let target = Cluster::start(ClusterSpec::new("grtgt", RocketMqVersion::V5_3_3)).unwrap();
    // `slow` acks each message 15 s after receiving it: its messages stay handed out, not acked.
    let (topic, group, slow) = ("gr-orders", "gr-billing", "gr-slow");
    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    sh.create_groups(source.cluster_name(), &[GroupSpec::new(group), GroupSpec::new(slow)]).unwrap();

    let ferry = common::Ferry::start(70);
    let (rt, engine) = (&ferry.rt, &ferry.engine);
    let id = rt
        .block_on(engine.create_migration(NewMigration {
            name: "grpc".into(),
            source: ClusterEndpoint::new(source.namesrv_addr(), source.cluster_name()),
            target: ClusterEndpoint::new(target.namesrv_addr(), target.cluster_name()),
        }))
        .unwrap()
        .id;
    rt.block_on(engine.add_topics(
        id,
        vec![NewTopic {
            topic: topic.into(),
            groups: Some(vec![group.into(), slow.into()]),
            strict_order: false,
        }],
        "grpc-test",
    ))
    .unwrap();

    // The Proxy users keep, its NameServer set to Ferry, routes refreshed every second.
    let proxy =
        GrpcProxy::start_with(GrpcProxySpec::new(ferry.namesrv.clone()).cluster_name(source.cluster_name()))
            .unwrap();
    let g = GrpcHarness::new(proxy.endpoint());
    let consumer = g.simple_consume(&SimpleConsume::new(topic, group).instance("gr-consumer")).unwrap();
    consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let slow_consumer = g
        .simple_consume(
            &SimpleConsume::new(topic, slow).instance("gr-slow").invisible_secs(60).ack_delay_ms(15_000),
        )
        .unwrap();
    slow_consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let producer = g.produce_stream(&GrpcProduce::new(topic).instance("gr-producer").rate(20)).unwrap();
    producer.wait_ready(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(3));

    let step = |to: Stage| ferry.proceed(id, topic, to, "grpc-test");
    for to in [Stage::DualRead, Stage::DualReadWrite, Stage::CuttingOver] {
        step(to);
        std::thread::sleep(Duration::from_secs(3));
    }
    // Completed is refused while the slow group holds POP messages the source handed out (its
    // offsets already say nothing is left there), naming the group and the count; then it passes.
    let started = Instant::now();
    let mut refused = None;
    loop {
        match rt.block_on(engine.proceed(id, topic, None, "grpc-test")) {
            Ok(t) => {
                assert_eq!(t.stage, Stage::Completed);
                eprintln!("[{:>5.1}s] now Completed", started.elapsed().as_secs_f32());
                break;
            }
            Err(EngineError::Blocked { report, .. }) => {
                let blockers = report.blockers();
                if blockers.contains("pop-in-flight") && refused.is_none() {
                    eprintln!("[{:>5.1}s] toward Completed: {blockers}", started.elapsed().as_secs_f32());
                    refused = Some(blockers.clone());
                }
                assert!(started.elapsed() < common::STEP_TIMEOUT, "never ready for Completed: {blockers}");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => panic!("step to Completed: {e}"),
        }
    }
    let refused = refused.expect("Completed was never refused for POP messages in flight");
    assert!(refused.contains("gr-slow: ") && refused.contains(" message(s)"), "{refused}");
    std::thread::sleep(Duration::from_secs(5));
    // Ferry learned who pops from the Proxy's POP requests through its relays, on both sides (gRPC
    // consumers never register with brokers).
    let poppers = engine.proxy().pops.poppers(topic);
    for side in [ferry_proxy::Side::Source, ferry_proxy::Side::Target] {
        assert!(poppers.contains(&(side, group.to_string())), "{side}: {poppers:?}");
    }
    let sent = producer.stop().unwrap();
    let ok = sent.iter().filter(|s| s.is_ok()).count();
    let failed: Vec<_> = sent.iter().filter(|s| !s.is_ok()).collect();
    eprintln!("{ok} sent, {} failed: {:?}", failed.len(), failed.first());
    assert!(ok > 100, "too few sends: {ok}");

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let report = grpc_group_report(&sent, &consumer.records().unwrap());
        if report.missing.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !grpc_group_report(&sent, &slow_consumer.records().unwrap()).missing.is_empty()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    for (name, c) in [(group, consumer), (slow, slow_consumer)] {
        let received = c.stop().unwrap();
        let report = grpc_group_report(&sent, &received);
        eprintln!("{name}: {report:?}");
        assert!(
            report.missing.is_empty(),
            "{name}: {} of {ok} never received and acked: {report:?}",
            report.missing.len()
        );
        assert!(report.ack_errors.is_empty(), "{name}: {report:?}");
    }
}
