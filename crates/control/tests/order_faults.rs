//! Strict order when a source master dies: real two-master clusters (5.3.3 source, 4.9.8 target),
//! a real ordered producer (16 keys) and an orderly consumer group, a source master killed with
//! SIGKILL right after DualReadWrite and started again 5 s later.
//!
//! The fault alone reorders keys, with or without Ferry: while a master is down its queues leave
//! the route, the producer's selector (`hash(key) % writable queues`) sends keys elsewhere, and the
//! consumer reads those newer messages before the older ones stranded on the dead master. So the
//! same fault is run without Ferry first, for the count it gives by itself. Ferry's own promise: its
//! hold never lets the target be read ahead of the source (the barrier covers every source queue,
//! is not taken while a master is down, and is released only once every queue is read up to it),
//! and no key moves while a side is held (the merged route keeps a lost master's queues, so sends
//! of its keys fail rather than go elsewhere). Asserted on what the orderly consumer received,
//! beside "nothing lost".

use std::collections::HashMap;
use std::time::Duration;

mod common;

use ferry_control::migration::{ClusterEndpoint, NewMigration, NewTopic, TransitionKind};
use ferry_proxy::Stage;
use ferry_testkit::{
    delivery_report, wait_for_delivery, Cluster, ClusterSpec, ConsumeStream, GroupSpec, Harness,
    ProduceStream, ReceivedRecord, RocketMqVersion, SentRecord, TopicSpec,
};

const CLIENT_POLL_MS: u64 = 1000;
const DOWN_FOR: Duration = Duration::from_secs(5);

/// Out-of-order deliveries of one run, by what caused them.
#[derive(Debug, Default)]
struct Disorder {
    /// The late message was stranded on the killed master: the fault's own.
    stranded_on_killed: usize,
    /// The late message was on the target (held, not read) and a newer one of its key was sent to
    /// the source while the master was down (the producer moved the key): the fault's too.
    held_on_target: usize,
    /// A source message delivered after a newer one of its key on the target: Ferry's hold failed.
    target_read_ahead: usize,
    other: Vec<String>,
}

impl Disorder {
    fn total(&self) -> usize {
        self.stranded_on_killed + self.held_on_target + self.target_read_ahead + self.other.len()
    }
}

fn classify(
    sent: &[SentRecord],
    received: &[ReceivedRecord],
    group_out_of_order: &[ferry_testkit::OutOfOrder],
    killed: &str,
    target_brokers: &[&str],
) -> Disorder {
    let by_key_seq: HashMap<(&str, i64), &SentRecord> = sent
        .iter()
        .filter(|s| s.is_ok())
        .filter_map(|s| s.order_key.as_deref().map(|k| ((k, s.seq), s)))
        .collect();
    let by_id: HashMap<&str, &ReceivedRecord> = received.iter().map(|r| (r.msg_id.as_str(), r)).collect();
    let mut d = Disorder::default();
    for o in group_out_of_order {
        let late = by_id.get(o.msg_id.as_str()).and_then(|r| r.broker_name.as_deref()).unwrap_or("?");
        let newer =
            by_key_seq.get(&(o.order_key.as_str(), o.after_seq)).and_then(|s| s.broker_name.as_deref());
        let on_target = |b: &str| target_brokers.contains(&b);
        if late == killed {
            d.stranded_on_killed += 1;
        } else if on_target(late) && newer.is_some_and(|n| !on_target(n)) {
            d.held_on_target += 1;
        } else if !on_target(late) && newer.is_some_and(on_target) {
            d.target_read_ahead += 1;
        } else {
            d.other.push(format!(
                "{} seq {} on {late} after seq {} on {newer:?}",
                o.order_key, o.seq, o.after_seq
            ));
        }
    }
    d
}

fn ordered_producer(h: &Harness, topic: &str, name: &str) -> ferry_testkit::RunningProducer {
    let p = ProduceStream::new(topic, format!("{name}-pg"))
        .instance(name)
        .rate(30)
        .ordered_keys(16)
        .poll_namesrv_ms(CLIENT_POLL_MS)
        .heartbeat_ms(CLIENT_POLL_MS);
    let p = h.produce_stream(&p).unwrap();
    p.wait_ready(Duration::from_secs(60)).unwrap();
    p
}

fn orderly_consumer(h: &Harness, topic: &str, group: &str, instance: &str) -> ferry_testkit::RunningConsumer {
    let c = ConsumeStream::new(topic, group)
        .instance(instance)
        .orderly()
        .from_first()
        .poll_namesrv_ms(CLIENT_POLL_MS)
        .heartbeat_ms(CLIENT_POLL_MS);
    let c = h.consume_stream(&c).unwrap();
    c.wait_ready(Duration::from_secs(60)).unwrap();
    c
}

/// Everything sent consumed; returns the group's deliveries and its out-of-order list.
fn drain(
    sent: &[SentRecord],
    consumer: ferry_testkit::RunningConsumer,
    group: &str,
) -> (Vec<ReceivedRecord>, Vec<ferry_testkit::OutOfOrder>) {
    let missing = wait_for_delivery(sent, &[&consumer], Duration::from_secs(120)).unwrap();
    assert!(
        missing.is_empty(),
        "{group}: {} sent messages never consumed: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let received = consumer.stop().unwrap();
    let report = delivery_report(sent, &[(group, received.as_slice())]);
    eprintln!("{report}");
    assert!(report.group(group).unwrap().missing.is_empty(), "{report}");
    let out = report.group(group).unwrap().out_of_order.clone();
    (received, out)
}

#[test]
fn a_source_master_killed_after_dual_read_write_keeps_the_hold_until_it_is_back_and_read() {
    let source = Cluster::start(ClusterSpec::new("ordsrc", RocketMqVersion::V5_3_3).masters(2)).unwrap();
    let target = Cluster::start(ClusterSpec::new("ordtgt", RocketMqVersion::V4_9_8).masters(2)).unwrap();
    let killed = source.brokers()[0].name.clone();
    let target_brokers: Vec<&str> = target.brokers().iter().map(|b| b.name.as_str()).collect();
    let sh = source.harness();

    // 1. The fault without Ferry: clients straight on the source.
    let (base_topic, base_group) = ("ordsrc-base", "ordsrc-base-fifo");
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(base_topic).queues(4, 4)]).unwrap();
    sh.create_groups(source.cluster_name(), &[GroupSpec::new(base_group).consume_orderly(true)]).unwrap();
    let direct = Harness::new(source.namesrv_addr());
    let consumer = orderly_consumer(&direct, base_topic, base_group, "base-1");
    let producer = ordered_producer(&direct, base_topic, "base");
    std::thread::sleep(Duration::from_secs(4));
    source.kill_broker(&killed).unwrap();
    std::thread::sleep(DOWN_FOR);
    source.restart_broker(&killed).unwrap();
    std::thread::sleep(Duration::from_secs(8));
    let sent = producer.stop().unwrap();
    let (received, out) = drain(&sent, consumer, base_group);
    let baseline = classify(&sent, &received, &out, &killed, &target_brokers);
    eprintln!("without Ferry: {} out of order of {} sent: {baseline:?}", out.len(), sent.len());
    assert_eq!(baseline.target_read_ahead, 0);

    // 2. The same fault in a strict-order walk through Ferry.
    let (topic, group) = ("ordsrc-orders", "ordsrc-fifo");
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    sh.create_groups(source.cluster_name(), &[GroupSpec::new(group).consume_orderly(true)]).unwrap();
    let ferry = common::Ferry::start(60);
    let (rt, engine) = (&ferry.rt, &ferry.engine);
    let id = rt
        .block_on(engine.create_migration(NewMigration {
            name: "order-faults".into(),
            source: ClusterEndpoint::new(source.namesrv_addr(), source.cluster_name()),
            target: ClusterEndpoint::new(target.namesrv_addr(), target.cluster_name()),
        }))
        .unwrap()
        .id;
    rt.block_on(engine.add_topics(
        id,
        vec![NewTopic { topic: topic.into(), groups: Some(vec![group.into()]), strict_order: true }],
        "order-test",
    ))
    .unwrap();
    let through = Harness::new(ferry.namesrv.clone());
    let consumer = orderly_consumer(&through, topic, group, "fifo-1");
    let producer = ordered_producer(&through, topic, "walk");
    std::thread::sleep(Duration::from_secs(3));

    let step = |to: Stage| ferry.proceed(id, topic, to, "order-test");
    step(Stage::DualRead);
    step(Stage::DualReadWrite);
    // Right after the step: before the hold's barrier is taken.
    source.kill_broker(&killed).unwrap();
    let killed_at = chrono::Utc::now();
    std::thread::sleep(Duration::from_secs(2));
    let t = rt.block_on(engine.topics(id)).unwrap().remove(0);
    let hold = t.hold.expect("a strict-order hold after DualReadWrite");
    assert!(hold.barrier.is_none(), "no barrier may be taken while a source master is down: {hold:?}");
    let report = rt.block_on(engine.check(id, topic)).unwrap();
    let order = report.checks.iter().find(|c| c.name == "order-hold").expect("order-hold checked");
    assert!(!order.passed && order.detail.contains(&killed), "{order:?}");
    std::thread::sleep(DOWN_FOR.saturating_sub(Duration::from_secs(2)));
    source.restart_broker(&killed).unwrap();
    let back_at = chrono::Utc::now();

    step(Stage::CuttingOver);
    step(Stage::Completed);
    let history = rt.block_on(engine.history(id, Some(topic))).unwrap();
    let released =
        history.iter().find(|t| t.kind == TransitionKind::Released).expect("the hold was released");
    let cut_over = history.iter().find(|t| t.to == Some(Stage::CuttingOver)).unwrap();
    assert!(
        released.at > back_at && cut_over.at > back_at,
        "the hold of DualReadWrite ended at {} and CuttingOver came at {} while {killed} was down ({killed_at} .. \
         {back_at})",
        released.at,
        cut_over.at
    );
    std::thread::sleep(Duration::from_secs(3));
    let sent = producer.stop().unwrap();
    let (received, out) = drain(&sent, consumer, group);
    let walk = classify(&sent, &received, &out, &killed, &target_brokers);
    eprintln!(
        "order faults: without Ferry {} out of order ({baseline:?}); through Ferry {} ({walk:?})",
        baseline.total(),
        walk.total()
    );
    let failed = sent.iter().filter(|s| !s.is_ok()).count();
    eprintln!("through Ferry: {failed} of {} ordered sends failed while the master was down", sent.len());
    assert_eq!(walk.target_read_ahead, 0, "Ferry read the target ahead of the source: {walk:?}");
    // The held side keeps a backlog: were keys to move while it is held (the producer remapping
    // them when a master leaves the route), they would be read out of order. Ferry keeps the
    // route's queues steady under a hold, so none moves.
    assert_eq!(walk.held_on_target, 0, "keys moved off the held target while a master was down: {walk:?}");
    assert!(walk.other.is_empty(), "disorder the fault does not explain: {walk:?}");
    rt.block_on(engine.complete(id, "order-test")).unwrap();
}
