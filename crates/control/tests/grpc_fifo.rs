//! FIFO message groups of 5.x gRPC clients through an unmodified Apache RocketMQ Proxy 5.3.3 whose
//! NameServer is Ferry: a `message.type=FIFO` topic migrated in strict order, a gRPC producer with
//! 8 message groups, an orderly SimpleConsumer group and an orderly PushConsumer group. Otherwise as
//! `grpc.rs`: a 5.3.3 source and a 5.3.3 target (one master each); the topic walks Initial ->
//! Completed behind its checks (strict-order holds included). The Proxy places a message group by a
//! consistent hash over the writable queues, so the topic is written on one side at a time
//! (docs/seamless.md, "Strict order"): asserted from the routes Ferry serves. Asserted: every
//! successful send is received and acked by both groups, each message group in order.

use std::time::{Duration, Instant};

mod common;

use ferry_control::migration::{ClusterEndpoint, NewMigration, NewTopic};
use ferry_proxy::{Side, Stage};
use ferry_testkit::{
    grpc_group_report, Cluster, ClusterSpec, GroupSpec, GrpcHarness, GrpcProduce, GrpcProxy, GrpcProxySpec,
    PushConsume, RocketMqVersion, SimpleConsume,
};

#[test]
fn fifo_message_groups_through_the_apache_proxy_walk_to_completed_in_order() {
    let source = Cluster::start(ClusterSpec::new("gfsrc", RocketMqVersion::V5_3_3)).unwrap();
    let target = Cluster::start(ClusterSpec::new("gftgt", RocketMqVersion::V5_3_3)).unwrap();
    let (topic, group, push) = ("gf-orders", "gf-fifo", "gf-push");
    let sh = source.harness();
    sh.create_groups(
        source.cluster_name(),
        &[GroupSpec::new(group).consume_orderly(true), GroupSpec::new(push).consume_orderly(true)],
    )
    .unwrap();
    // A FIFO topic: the attribute the Proxy checks a message group against (mqadmin updateTopic -a).
    let out = std::process::Command::new("bash")
        .arg(ferry_testkit::script_path())
        .args(["mqadmin", "5.3.3", "updateTopic", "-n", source.namesrv_addr(), "-c", source.cluster_name()])
        .args(["-t", topic, "-r", "4", "-w", "4", "-a", "+message.type=FIFO"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let ferry = common::Ferry::start(75);
    let (rt, engine) = (&ferry.rt, &ferry.engine);
    let id = rt
        .block_on(engine.create_migration(NewMigration {
            name: "grpc-fifo".into(),
            source: ClusterEndpoint::new(source.namesrv_addr(), source.cluster_name()),
            target: ClusterEndpoint::new(target.namesrv_addr(), target.cluster_name()),
        }))
        .unwrap()
        .id;
    rt.block_on(engine.add_topics(
        id,
        vec![NewTopic {
            topic: topic.into(),
            groups: Some(vec![group.into(), push.into()]),
            strict_order: true,
        }],
        "grpc-fifo-test",
    ))
    .unwrap();

    // The Proxy users keep, its NameServer set to Ferry, routes refreshed every second.
    let proxy =
        GrpcProxy::start_with(GrpcProxySpec::new(ferry.namesrv.clone()).cluster_name(source.cluster_name()))
            .unwrap();
    let g = GrpcHarness::new(proxy.endpoint());
    let consumer = g.simple_consume(&SimpleConsume::new(topic, group).instance("gf-consumer")).unwrap();
    consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let push_consumer = g.push_consume(&PushConsume::new(topic, push).instance("gf-push")).unwrap();
    push_consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let producer =
        g.produce_stream(&GrpcProduce::new(topic).instance("gf-producer").rate(20).fifo_groups(8)).unwrap();
    producer.wait_ready(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(3));

    let step = |to: Stage| ferry.proceed(id, topic, to, "grpc-fifo-test");
    // Which sides Ferry's routes let producers write, at each stage.
    let writes = |stage: Stage| {
        let t = rt.block_on(engine.topics(id)).unwrap().into_iter().find(|t| t.topic == topic).unwrap();
        assert_eq!(t.stage, stage);
        let p = t.policy();
        (
            ferry_proxy::route::writable(p, Side::Source),
            ferry_proxy::route::writable(p, Side::Target),
            t.one_write_side,
        )
    };
    #[rustfmt::skip]
    let walk = [
        // stage,              source written, target written, one side at a time
        (Stage::DualRead,      (true,  false, true)),
        (Stage::DualReadWrite, (true,  false, true)),
        (Stage::CuttingOver,   (false, true,  true)),
        (Stage::Completed,     (false, true,  true)),
    ];
    for (to, written) in walk {
        step(to);
        assert_eq!(writes(to), written, "{to}");
        std::thread::sleep(Duration::from_secs(3));
    }
    std::thread::sleep(Duration::from_secs(5));
    // Ferry learned who pops from the Proxy's POP requests through its relays, on both sides (gRPC
    // consumers never register with brokers).
    let poppers = engine.proxy().pops.poppers(topic);
    for side in [Side::Source, Side::Target] {
        for g in [group, push] {
            assert!(poppers.contains(&(side, g.to_string())), "{side}: {poppers:?}");
        }
    }
    let sent = producer.stop().unwrap();
    let ok = sent.iter().filter(|s| s.is_ok()).count();
    let failed: Vec<_> = sent.iter().filter(|s| !s.is_ok()).collect();
    eprintln!("{ok} sent, {} failed: {:?}", failed.len(), failed.first());
    assert!(ok > 100, "too few sends: {ok}");

    let deadline = Instant::now() + Duration::from_secs(120);
    for c in [&consumer, &push_consumer] {
        while !grpc_group_report(&sent, &c.records().unwrap()).missing.is_empty() && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    for (name, c) in [(group, consumer), (push, push_consumer)] {
        let report = grpc_group_report(&sent, &c.stop().unwrap());
        eprintln!("{name}: {report:?}");
        assert!(
            report.missing.is_empty(),
            "{name}: {} of {ok} never received and acked: {report:?}",
            report.missing.len()
        );
        assert!(report.ack_errors.is_empty(), "{name}: {report:?}");
        assert_eq!(report.out_of_order, 0, "{name}: {report:?}");
    }
}
