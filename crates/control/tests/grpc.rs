//! 5.x gRPC clients through an unmodified Apache RocketMQ Proxy 5.3.3 whose NameServer is Ferry:
//! a 5.3.3 source and a 5.3.3 target (one master each), the official gRPC client
//! (rocketmq-client-java) producing and consuming with a SimpleConsumer group (receive, ack) only
//! through the Proxy, while a topic walks Initial -> Completed behind its checks.
//!
//! Asserted: the walk passes every check, `pop-in-flight` included (the ledger of POP messages
//! handed out on the source and not acked); Ferry learned the group pops on both sides from the
//! Proxy's POP requests; every successful send is received and acked by the group (redeliveries
//! allowed, counted); no ack fails.

use std::time::{Duration, Instant};

mod common;

use ferry_control::migration::{ClusterEndpoint, NewMigration, NewTopic};
use ferry_proxy::Stage;
use ferry_testkit::{
    grpc_group_report, Cluster, ClusterSpec, GroupSpec, GrpcHarness, GrpcProduce, GrpcProxy, GrpcProxySpec,
    RocketMqVersion, SimpleConsume, TopicSpec,
};

#[test]
fn grpc_clients_through_the_apache_proxy_walk_to_completed() {
    let source = Cluster::start(ClusterSpec::new("grsrc", RocketMqVersion::V5_3_3)).unwrap();
    let target = Cluster::start(ClusterSpec::new("grtgt", RocketMqVersion::V5_3_3)).unwrap();
    let (topic, group) = ("gr-orders", "gr-billing");
    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    sh.create_groups(source.cluster_name(), &[GroupSpec::new(group)]).unwrap();

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
        vec![NewTopic { topic: topic.into(), groups: Some(vec![group.into()]), strict_order: false }],
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
    let producer = g.produce_stream(&GrpcProduce::new(topic).instance("gr-producer").rate(20)).unwrap();
    producer.wait_ready(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(3));

    let step = |to: Stage| ferry.proceed(id, topic, to, "grpc-test");
    for to in [Stage::DualRead, Stage::DualReadWrite, Stage::CuttingOver, Stage::Completed] {
        step(to);
        std::thread::sleep(Duration::from_secs(3));
    }
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
    let received = consumer.stop().unwrap();
    let report = grpc_group_report(&sent, &received);
    eprintln!("{report:?}");
    assert!(
        report.missing.is_empty(),
        "{} of {ok} never received and acked: {report:?}",
        report.missing.len()
    );
    assert!(report.ack_errors.is_empty(), "{report:?}");
}
