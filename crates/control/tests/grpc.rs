//! 5.x gRPC clients through an unmodified Apache RocketMQ Proxy 5.3.3 whose NameServer is Ferry:
//! a 5.3.3 source and a 5.3.3 target (one master each), the official gRPC client
//! (rocketmq-client-java) producing and consuming only through the Proxy, while a topic walks
//! Initial -> Completed behind its checks. Three groups consume:
//!
//! - `gr-billing`, a SimpleConsumer (invisible time 10 s) that leaves every 20th message it receives
//!   unacked (the broker hands it out again after its invisible time: a redelivery, then acked) and
//!   extends every 15th with changeInvisibleDuration (30 s), acking it only after its first
//!   invisible time has passed;
//! - `gr-slow`, a SimpleConsumer acking each message 15 s after receiving it;
//! - `gr-push`, a PushConsumer.
//!
//! Remoting clients (the 4.9 Java client, through Ferry's NameServer front) use the same topic side
//! by side: a producer, and `gr-remote`, a push consumer group of its own. Before any message, a
//! remoting consumer joins `gr-billing` too: the first step is refused by `no-mixed-consumers`
//! naming the group and the client (RocketMQ does not coordinate the two kinds in one group) until
//! it leaves.
//!
//! Asserted: Completed is refused by `pop-in-flight` (the ledger of POP messages handed out on the
//! source and not acked), naming `gr-slow` and its count, until its acks come, then passes; Ferry
//! learned the groups pop on both sides from the Proxy's POP requests; every successful send is
//! received and acked by each group (redeliveries allowed, counted: some for `gr-billing`); no
//! changeInvisibleDuration fails and no extended message comes back; no ack fails, but for one
//! the Proxy sent on a connection a relay let go as idle at that moment (its message comes back).
//! Each gRPC group also receives and acks every message the remoting producer sent, and `gr-remote`
//! every message of both producers.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

mod common;

use ferry_control::migration::{ClusterEndpoint, EngineError, NewMigration, NewTopic};
use ferry_proxy::Stage;
use ferry_testkit::{
    grpc_group_report, Cluster, ClusterSpec, ConsumeStream, GroupSpec, GrpcHarness, GrpcProduce, GrpcProxy,
    GrpcProxySpec, Harness, ProduceStream, PushConsume, RocketMqVersion, SimpleConsume, TopicSpec,
};

#[test]
fn grpc_clients_through_the_apache_proxy_walk_to_completed() {
    // Every broker thread that ever writes the commit log keeps a direct buffer of maxMessageSize +
    // 64 KiB (MessageExtEncoder, a thread local of CommitLog @ rocketmq-all-5.3.3): with the 4 MiB
    // default, the pop, ack and 8 revive threads of a busy broker exhaust the testkit's 256 MiB of
    // direct memory, and a revive thread that cannot get its buffer never revives its queue's
    // unacked messages (`OutOfMemoryError: Cannot reserve 4259840 bytes of direct buffer memory`
    // in pop.log). Messages here are small.
    let spec =
        |name| ClusterSpec::new(name, RocketMqVersion::V5_3_3).broker_property("maxMessageSize", 1 << 20);
    let source = Cluster::start(spec("grsrc")).unwrap();
    let target = Cluster::start(spec("grtgt")).unwrap();
    // `slow` acks each message 15 s after receiving it: its messages stay handed out, not acked.
    let (topic, group, slow, push) = ("gr-orders", "gr-billing", "gr-slow", "gr-push");
    let remote = "gr-remote";
    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    sh.create_groups(
        source.cluster_name(),
        &[GroupSpec::new(group), GroupSpec::new(slow), GroupSpec::new(push), GroupSpec::new(remote)],
    )
    .unwrap();

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
            groups: Some(vec![group.into(), slow.into(), push.into(), remote.into()]),
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
    // Every 20th message `group` receives is left unacked, to come back after 10 s; every 15th is
    // extended to 30 s and acked after 12 s.
    let consumer = g
        .simple_consume(
            &SimpleConsume::new(topic, group)
                .instance("gr-consumer")
                .invisible_secs(10)
                .skip_ack_every(20)
                .extend_every(15)
                .extend_secs(30),
        )
        .unwrap();
    consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let push_consumer = g.push_consume(&PushConsume::new(topic, push).instance("gr-push")).unwrap();
    push_consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let slow_consumer = g
        .simple_consume(
            &SimpleConsume::new(topic, slow).instance("gr-slow").invisible_secs(60).ack_delay_ms(15_000),
        )
        .unwrap();
    slow_consumer.wait_ready(Duration::from_secs(60)).unwrap();

    // A remoting consumer joining a gRPC group: named by the first step's check until it leaves
    // (nothing is produced yet, so it takes no message from the gRPC consumers).
    let through = Harness::new(ferry.namesrv.clone());
    let mixed = through.consume_stream(&ConsumeStream::new(topic, group).instance("gr-mixed")).unwrap();
    mixed.wait_ready(Duration::from_secs(60)).unwrap();
    let mixed_check = || {
        let report = rt.block_on(engine.check(id, topic)).unwrap();
        report.checks.into_iter().find(|c| c.name == "no-mixed-consumers").expect("checked at the first step")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let named = loop {
        let c = mixed_check();
        if !c.passed || Instant::now() > deadline {
            break c;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(!named.passed && named.detail.contains("gr-billing (remoting: "), "{}", named.detail);
    eprintln!("no-mixed-consumers: {}", named.detail);
    mixed.stop().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mixed_check().passed {
        assert!(Instant::now() < deadline, "the remoting consumer left, yet: {}", mixed_check().detail);
        std::thread::sleep(Duration::from_millis(500));
    }

    // Remoting clients of the topic side by side with the gRPC ones (a group of their own).
    let remote_consumer =
        through.consume_stream(&ConsumeStream::new(topic, remote).instance("gr-remote")).unwrap();
    remote_consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let remote_producer = through
        .produce_stream(&ProduceStream::new(topic, "gr-remote-producer").instance("gr-rp").rate(5))
        .unwrap();
    remote_producer.wait_ready(Duration::from_secs(60)).unwrap();
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
    // The messages `group` left unacked count until their invisible time (10 s) plus 30 s.
    let started = Instant::now();
    let (mut refused, mut last) = (None, String::new());
    loop {
        match rt.block_on(engine.proceed(id, topic, None, "grpc-test")) {
            Ok(t) => {
                assert_eq!(t.stage, Stage::Completed);
                eprintln!(
                    "[{:>5.1}s] now Completed; last refused for: {last}",
                    started.elapsed().as_secs_f32()
                );
                break;
            }
            Err(EngineError::Blocked { report, .. }) => {
                let blockers = report.blockers();
                if blockers.contains("pop-in-flight") && refused.is_none() {
                    eprintln!("[{:>5.1}s] toward Completed: {blockers}", started.elapsed().as_secs_f32());
                    refused = Some(blockers.clone());
                }
                last = blockers.clone();
                assert!(started.elapsed() < common::STEP_TIMEOUT, "never ready for Completed: {blockers}");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => panic!("step to Completed: {e}"),
        }
    }
    let refused = refused.expect("Completed was never refused for POP messages in flight");
    assert!(refused.contains("gr-slow: ") && refused.contains(" message(s)"), "{refused}");
    // SimpleConsumers fall behind until Completed (each receive of theirs waits on one broker, and
    // the drained source holds it the Proxy's minimum long polling time, 5 s: they catch up once the
    // route names the target alone). Production goes on meanwhile: the catching up, and `slow`'s acks
    // 15 s later, come while the Proxy's connections to the relays are busy, not as a relay lets an
    // idle one go (10 s here).
    std::thread::sleep(Duration::from_secs(15));
    // Ferry learned who pops from the Proxy's POP requests through its relays, on both sides (gRPC
    // consumers never register with brokers).
    let poppers = engine.proxy().pops.poppers(topic);
    for side in [ferry_proxy::Side::Source, ferry_proxy::Side::Target] {
        for g in [group, push] {
            assert!(poppers.contains(&(side, g.to_string())), "{side} {g}: {poppers:?}");
        }
    }
    let sent = producer.stop().unwrap();
    let remote_sent = remote_producer.stop().unwrap();
    let remote_ok: BTreeSet<&str> =
        remote_sent.iter().filter(|s| s.is_ok()).filter_map(|s| s.msg_id.as_deref()).collect();
    assert!(remote_ok.len() > 20, "too few remoting sends: {}", remote_ok.len());
    let ok = sent.iter().filter(|s| s.is_ok()).count();
    let failed: Vec<_> = sent.iter().filter(|s| !s.is_ok()).collect();
    eprintln!("{ok} sent, {} failed: {:?}", failed.len(), failed.first());
    assert!(ok > 100, "too few sends: {ok}");

    // The last messages `group` skipped come back after their invisible time.
    let deadline = Instant::now() + Duration::from_secs(120);
    for c in [&consumer, &slow_consumer, &push_consumer] {
        while !grpc_group_report(&sent, &c.records().unwrap()).missing.is_empty() && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    // `gr-remote` (remoting) receives what both producers sent.
    let grpc_ok: BTreeSet<&str> =
        sent.iter().filter(|s| s.is_ok()).filter_map(|s| s.msg_id.as_deref()).collect();
    let remote_missing = |received: &[ferry_testkit::ReceivedRecord]| {
        let seen: BTreeSet<&str> = received.iter().map(|r| r.msg_id.as_str()).collect();
        grpc_ok.iter().chain(&remote_ok).filter(|id| !seen.contains(**id)).count()
    };
    while remote_missing(&remote_consumer.received().unwrap()) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    let missing = remote_missing(&remote_consumer.stop().unwrap());
    assert_eq!(missing, 0, "{remote}: {missing} of {} never received", grpc_ok.len() + remote_ok.len());
    let sent_at: HashMap<&str, i64> =
        sent.iter().filter_map(|s| Some((s.msg_id.as_deref()?, s.timestamp))).collect();
    let mut reports = Vec::new();
    for (name, c) in [(group, consumer), (slow, slow_consumer), (push, push_consumer)] {
        let received = c.stop().unwrap();
        let report = grpc_group_report(&sent, &received);
        let acked: BTreeSet<&str> = received.iter().filter(|r| r.acked).map(|r| r.msg_id.as_str()).collect();
        let remote_missing = remote_ok.iter().filter(|id| !acked.contains(**id)).count();
        assert_eq!(
            remote_missing,
            0,
            "{name}: {remote_missing} of {} remoting sends never acked",
            remote_ok.len()
        );
        let max_attempt = received.iter().map(|r| r.delivery_attempt).max().unwrap_or(0);
        // From a send to the first record of its message (written on receipt for `group` and
        // `push`, at the ack 15 s later for `slow`).
        let mut first: HashMap<&str, i64> = HashMap::new();
        for r in &received {
            let t = first.entry(r.msg_id.as_str()).or_insert(r.timestamp_us / 1000);
            *t = (*t).min(r.timestamp_us / 1000);
        }
        let lag = first.iter().filter_map(|(id, t)| Some(t - sent_at.get(id)?)).max().unwrap_or(0);
        eprintln!(
            "{name}: at most {:.1} s from a send to the first record of its message",
            lag as f64 / 1000.0
        );
        let missing = report.missing.iter().take(5).collect::<Vec<_>>();
        eprintln!(
            "{name}: {} received, {} acked, {} missing {missing:?}, {} redelivered (highest delivery attempt \
             {max_attempt}), {} skipped, {} extended ({} of them redelivered), ack errors {:?}, extend errors {:?}",
            report.received,
            report.acked,
            report.missing.len(),
            report.redeliveries,
            report.skipped,
            report.extended,
            report.extended_redelivered,
            report.ack_errors,
            report.extend_errors,
        );
        reports.push((name, report));
    }
    for (name, report) in &reports {
        assert!(
            report.missing.is_empty(),
            "{name}: {} of {ok} never received and acked: {report:?}",
            report.missing.len()
        );
        // An ack the Proxy sends on a connection that a relay lets go as idle at that very moment
        // fails with the connection (the client sees INTERNAL_SERVER_ERROR); its message comes back
        // and is acked (`missing` above). Any other ack error fails the test.
        let (transport, other): (Vec<_>, Vec<_>) =
            report.ack_errors.iter().partition(|(e, _)| e.contains("response-code=50001"));
        assert!(other.is_empty(), "{name}: {:?}", report.ack_errors);
        if !transport.is_empty() {
            eprintln!(
                "{name}: WARNING: acks failed with their connection, their messages came back: {transport:?}"
            );
        }
        assert!(report.extend_errors.is_empty(), "{name}: {:?}", report.extend_errors);
        assert_eq!(report.extended_redelivered, 0, "{name}: an extended message came back");
    }
    let billing = &reports[0].1;
    assert!(billing.skipped >= ok / 20 / 2, "{group}: {} skipped of {ok}", billing.skipped);
    assert!(billing.redeliveries >= billing.skipped, "{group}: each skipped message comes back: {billing:?}");
    assert!(billing.extended >= ok / 15 / 2, "{group}: {} extended of {ok}", billing.extended);
}
