//! Seamless migration end to end, real everything: real source and target clusters, real Java
//! producers (one ordered by key) and push consumers (two groups, two instances each) pointed at
//! Ferry, sending and consuming all the time while a topic walks through the five stages behind
//! its health checks, with a rollback at every stage, and Ferry itself restarted once.
//!
//! Asserted: every message whose send succeeded is consumed by every group at least once
//! (duplicates are counted and printed); in strict mode no key is consumed out of order by the
//! orderly group; after Completed the source receives no new writes.
//!
//! The 5.x -> 4.9 walk runs between clusters whose brokers are named alike, as Apache's sample
//! configs name them: two masters `broker-a` and `broker-b` on each side, each with a slave its
//! consumers are sent to whenever they have more to read. Clients see the target's brokers as
//! `zz-broker-a` and `zz-broker-b`; a reset of the plain group's offsets issued on the target
//! during DualReadWrite rewinds the target's queues only; every slave on both sides is pulled
//! from through its relay.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_admin::{Admin, AdminOptions};
use ferry_control::migration::{
    ClusterEndpoint, Engine, EngineError, EngineSettings, MigrationId, NewMigration, NewTopic,
};
use ferry_control::Store;
use ferry_proxy::{Proxy, ProxyConfig, Stage};
use ferry_testkit::{
    delivery_report, wait_for_delivery, Cluster, ClusterSpec, ConsumeStream, GroupSpec, Harness,
    ProduceStream, RocketMqVersion, RunningConsumer, TopicSpec,
};

/// The walks start four JVM clusters between them: one at a time on a small machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Clients re-read routes and heartbeat every second here (30 s by default), so steps settle fast.
const CLIENT_POLL_MS: u64 = 1000;
const STEP_TIMEOUT: Duration = Duration::from_secs(240);

/// Ferry in this process: the proxy and the engine on one store, restartable on the same ports.
struct Ferry {
    proxy: Arc<Proxy>,
    engine: Arc<Engine>,
    ticker: tokio::task::JoinHandle<()>,
}

fn relay_range(offset: u16) -> (u16, u16) {
    let first = 10_000 + (std::process::id() % 80) as u16 * 100 + offset;
    (first, first + 49)
}

fn settings() -> EngineSettings {
    EngineSettings {
        route_window: Duration::from_secs(5),
        tick: Duration::from_secs(1),
        ..EngineSettings::default()
    }
}

async fn start_ferry(store: &Store, namesrv_port: u16, relays: (u16, u16)) -> Ferry {
    let assignments = store.relay_assignments().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // After a restart the old listeners may take a moment to close.
    let proxy = loop {
        match Proxy::start(ProxyConfig::loopback(namesrv_port, relays.0, relays.1), &assignments).await {
            Ok(p) => break Arc::new(p),
            Err(e) if Instant::now() < deadline => {
                eprintln!("ferry not up yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    let engine = Engine::start(store.clone(), proxy.clone(), settings()).await.unwrap();
    let ticker = engine.spawn_ticker();
    Ferry { proxy, engine, ticker }
}

impl Ferry {
    /// Stops everything, as a killed process would leave it (but with relay ports saved, as the
    /// ticker does every second).
    async fn stop(self) {
        self.engine.tick().await.unwrap();
        self.ticker.abort();
        self.proxy.stop();
        drop(self.engine);
        drop(self.proxy);
    }
}

/// Proceeds (or rolls back) once the step's checks pass, retrying while they block.
fn step(rt: &tokio::runtime::Runtime, ferry: &Ferry, id: MigrationId, topic: &str, to: Stage) {
    let started = Instant::now();
    let mut last_blockers = String::new();
    loop {
        let r = rt.block_on(async {
            let current =
                ferry.engine.topics(id).await.unwrap().into_iter().find(|t| t.topic == topic).unwrap().stage;
            if to > current {
                ferry.engine.proceed(id, topic, None, "seamless-test").await
            } else {
                ferry.engine.rollback(id, topic, None, "seamless-test").await
            }
        });
        match r {
            Ok(t) => {
                assert_eq!(t.stage, to);
                eprintln!("[{:>5.1}s] {topic} is now {to}", started.elapsed().as_secs_f32());
                return;
            }
            Err(EngineError::Blocked { report, .. }) => {
                let blockers = report.blockers();
                if blockers != last_blockers {
                    eprintln!("[{:>5.1}s] toward {to}: {blockers}", started.elapsed().as_secs_f32());
                    last_blockers = blockers;
                }
                assert!(
                    started.elapsed() < STEP_TIMEOUT,
                    "{topic} never became ready for {to}: {last_blockers}"
                );
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("step to {to}: {e}"),
        }
    }
}

struct Walk {
    name: &'static str,
    source: RocketMqVersion,
    target: RocketMqVersion,
    /// A rollback at every stage and a restart of Ferry on the way.
    full: bool,
    strict: bool,
    /// Both clusters two masters `broker-a` and `broker-b`, each with a slave that consumers pull
    /// from; the plain group's offsets reset on the target during DualReadWrite.
    named_alike: bool,
}

fn walk(w: Walk) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let spec = |side: &str, version| {
        let spec = ClusterSpec::new(format!("{}-{side}", w.name), version);
        match w.named_alike {
            true => spec.broker_names(["broker-a", "broker-b"]).slaves(true).pull_from_slaves(),
            false => spec,
        }
    };
    let source = Cluster::start(spec("source", w.source)).unwrap();
    let target = Cluster::start(spec("target", w.target)).unwrap();
    let topic = format!("{}-orders", w.name);
    let (fifo, plain) = (format!("{}-fifo", w.name), format!("{}-plain", w.name));
    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(&topic).queues(4, 4)]).unwrap();
    sh.create_groups(
        source.cluster_name(),
        &[GroupSpec::new(&fifo).consume_orderly(true), GroupSpec::new(&plain)],
    )
    .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(Store::open(&dir.path().join("ferry.db"))).unwrap();
    let namesrv_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let relays = relay_range(if w.full { 0 } else { 50 });
    let mut ferry = rt.block_on(start_ferry(&store, namesrv_port, relays));
    let id = rt
        .block_on(ferry.engine.create_migration(NewMigration {
            name: w.name.into(),
            source: ClusterEndpoint::new(source.namesrv_addr(), source.cluster_name()),
            target: ClusterEndpoint::new(target.namesrv_addr(), target.cluster_name()),
        }))
        .unwrap()
        .id;
    // The names clients see: a target broker named like a source broker under its alias.
    let brokers = rt.block_on(ferry.engine.brokers(id)).unwrap();
    let shown = |side: ferry_proxy::Side| -> BTreeSet<String> {
        let on_side = brokers.iter().filter(|b| b.broker.side == side);
        on_side.map(|b| b.broker.alias.clone().unwrap_or_else(|| b.broker.name.clone())).collect()
    };
    let (source_names, target_names) = (shown(ferry_proxy::Side::Source), shown(ferry_proxy::Side::Target));
    if w.named_alike {
        assert_eq!(source_names, BTreeSet::from(["broker-a".to_string(), "broker-b".to_string()]));
        assert_eq!(target_names, BTreeSet::from(["zz-broker-a".to_string(), "zz-broker-b".to_string()]));
    }
    let added = rt
        .block_on(ferry.engine.add_topics(
            id,
            vec![NewTopic {
                topic: topic.clone(),
                groups: Some(vec![fifo.clone(), plain.clone()]),
                strict_order: w.strict,
            }],
            "seamless-test",
        ))
        .unwrap();
    assert_eq!(added.added, vec![topic.clone()]);
    assert_eq!(added.items.len(), 3, "the topic and both groups imported: {:?}", added.items);

    // Clients: only Ferry's address.
    let h = Harness::new(format!("127.0.0.1:{namesrv_port}"));
    let consume = |group: &str, instance: &str, orderly: bool| -> RunningConsumer {
        let mut c = ConsumeStream::new(&topic, group)
            .instance(instance)
            .from_first()
            .poll_namesrv_ms(CLIENT_POLL_MS)
            .heartbeat_ms(CLIENT_POLL_MS);
        if orderly {
            c = c.orderly();
        }
        h.consume_stream(&c).unwrap()
    };
    let consumers = [
        consume(&fifo, "fifo-1", true),
        consume(&fifo, "fifo-2", true),
        consume(&plain, "plain-1", false),
        consume(&plain, "plain-2", false),
    ];
    for c in &consumers {
        c.wait_ready(Duration::from_secs(60)).unwrap();
    }
    let produce = |instance: &str, ordered: bool| {
        let mut p = ProduceStream::new(&topic, format!("{}-pg-{instance}", w.name))
            .instance(instance)
            .rate(30)
            .poll_namesrv_ms(CLIENT_POLL_MS)
            .heartbeat_ms(CLIENT_POLL_MS);
        if ordered {
            p = p.ordered_keys(16);
        }
        h.produce_stream(&p).unwrap()
    };
    let producers = [produce("ordered", true), produce("unordered", false)];
    for p in &producers {
        p.wait_ready(Duration::from_secs(60)).unwrap();
    }
    std::thread::sleep(Duration::from_secs(3));

    let go = |ferry: &Ferry, to: Stage| step(&rt, ferry, id, &topic, to);
    // Both sides read (the strict-order hold of DualReadWrite released): the plain group's offsets
    // are reset on the target, as `mqadmin resetOffsetByTime` there does. Each target master tells
    // the group's consumers (RESET_CONSUMER_CLIENT_OFFSET) under its real name, which is also a
    // source broker's; through Ferry they hear the alias and rewind the target's queues only.
    let rewind_on_target = |ferry: &Ferry| {
        if !w.named_alike {
            return;
        }
        let deadline = Instant::now() + STEP_TIMEOUT;
        let held = || {
            let topics = rt.block_on(ferry.engine.topics(id)).unwrap();
            topics.into_iter().any(|t| t.topic == topic && t.hold.is_some())
        };
        while held() {
            assert!(Instant::now() < deadline, "the hold of DualReadWrite was never released");
            std::thread::sleep(Duration::from_millis(500));
        }
        std::thread::sleep(Duration::from_secs(4));
        let reset_to = chrono_now_ms();
        let of_plain: Vec<&RunningConsumer> =
            consumers.iter().filter(|c| c.group() == plain.as_str()).collect();
        // Something to rewind: the group has read target messages stored since `reset_to`. Reads
        // from a 4.9 slave lag up to 5 s (a slave does not wake pulls it holds when messages
        // arrive, only at its 5 s check), so a fixed pause may leave nothing behind the reset.
        let read_since = || -> usize {
            let since = |r: &&ferry_testkit::ReceivedRecord| {
                r.store_timestamp_ms >= reset_to
                    && r.broker_name.as_deref().is_some_and(|b| b.starts_with("zz-broker-"))
            };
            of_plain.iter().map(|c| c.received().unwrap().iter().filter(since).count()).sum()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        std::thread::sleep(Duration::from_secs(4));
        while read_since() < 40 {
            assert!(Instant::now() < deadline, "the plain group reads nothing new from the target");
            std::thread::sleep(Duration::from_millis(500));
        }
        let cuts: Vec<usize> = of_plain.iter().map(|c| c.received().unwrap().len()).collect();
        let reset = target
            .harness()
            .admin(&[vec![
                "reset-offset".into(),
                "--topic".into(),
                topic.clone(),
                "--group".into(),
                plain.clone(),
                "--timestamp".into(),
                reset_to.to_string(),
            ]])
            .unwrap();
        eprintln!("reset on the target: {}", reset[0]);
        // The queues the reset rewinds past what the group had read before it, as clients name
        // them: a target master answers with its real name.
        let table: serde_json::Value = serde_json::from_str(&reset[0]).unwrap();
        let alias = |real: &str| {
            let b =
                brokers.iter().find(|b| b.broker.side == ferry_proxy::Side::Target && b.broker.name == real);
            b.and_then(|b| b.broker.alias.clone()).unwrap_or_else(|| real.to_string())
        };
        let rewound: Vec<(String, i32, i64)> = table["queues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                let name = alias(q["brokerName"].as_str().unwrap());
                (name, q["queueId"].as_i64().unwrap() as i32, q["offset"].as_i64().unwrap())
            })
            .collect();
        // Deliveries since the reset of messages the group had before it. The 4.x client applies a
        // reset after a 10 s pause (`MQClientInstance.resetOffset`), each master's in turn: about
        // 20 s for the two here.
        struct Again {
            before: usize,
            again: usize,
            on_target: usize,
            on_source: usize,
            /// Queues read past the reset offset before it and not delivered again yet.
            waiting: Vec<String>,
        }
        let count = || {
            let now: Vec<Vec<ferry_testkit::ReceivedRecord>> =
                of_plain.iter().map(|c| c.received().unwrap()).collect();
            let split = |r: &[ferry_testkit::ReceivedRecord], cut: usize| r.len().min(cut);
            let earlier = || now.iter().zip(&cuts).flat_map(|(r, &cut)| &r[..split(r, cut)]);
            let before: HashSet<&str> = earlier().map(|r| r.msg_id.as_str()).collect();
            let again: Vec<&ferry_testkit::ReceivedRecord> = now
                .iter()
                .zip(&cuts)
                .flat_map(|(r, &cut)| &r[split(r, cut)..])
                .filter(|r| before.contains(r.msg_id.as_str()))
                .collect();
            let on = |prefix: &str| {
                again
                    .iter()
                    .filter(|r| r.broker_name.as_deref().is_some_and(|b| b.starts_with(prefix)))
                    .count()
            };
            let on_queue = |r: &ferry_testkit::ReceivedRecord, b: &str, q: i32| {
                r.broker_name.as_deref() == Some(b) && r.queue_id == q
            };
            let waiting = rewound
                .iter()
                .filter(|(b, q, offset)| earlier().any(|r| on_queue(r, b, *q) && r.queue_offset >= *offset))
                .filter(|(b, q, _)| !again.iter().any(|r| on_queue(r, b, *q)))
                .map(|(b, q, _)| format!("{b}:{q}"))
                .collect();
            Again {
                before: before.len(),
                again: again.len(),
                on_target: on("zz-broker-"),
                on_source: on("broker-"),
                waiting,
            }
        };
        let reset_at = Instant::now();
        let counted = loop {
            std::thread::sleep(Duration::from_secs(1));
            let counted = count();
            if (counted.waiting.is_empty() && counted.again > 0)
                || reset_at.elapsed() > Duration::from_secs(60)
            {
                break counted;
            }
        };
        let Again { before, again, on_target, on_source, waiting } = counted;
        eprintln!(
            "reset on the target: {again} deliveries again of the {before} before it ({on_target} on the \
             target's queues, {on_source} on the source's), {:.1} s after the reset",
            reset_at.elapsed().as_secs_f32()
        );
        assert!(on_target > 0, "the reset on the target did not rewind the target's queues");
        // Every rewound queue usually comes again within the minute; on a loaded machine one
        // sometimes has not (the 4.x client applies a reset per master after a pause, and a queue
        // may change hands meanwhile): said, not asserted. What must hold is below.
        if !waiting.is_empty() {
            eprintln!("not delivered again within 60 s of the reset: {waiting:?}");
        }
        assert_eq!(on_source, 0, "the target's reset rewound the source's queues of the same name");
        assert_eq!(on_target, again, "deliveries again from brokers of neither cluster");
    };
    if w.full {
        go(&ferry, Stage::DualRead);
        go(&ferry, Stage::Initial);
        go(&ferry, Stage::DualRead);
        go(&ferry, Stage::DualReadWrite);
        go(&ferry, Stage::DualRead);
        go(&ferry, Stage::DualReadWrite);
        eprintln!("restarting Ferry");
        rt.block_on(ferry.stop());
        ferry = rt.block_on(start_ferry(&store, namesrv_port, relays));
        go(&ferry, Stage::CuttingOver);
        go(&ferry, Stage::DualReadWrite);
        rewind_on_target(&ferry);
        go(&ferry, Stage::CuttingOver);
        go(&ferry, Stage::Completed);
        go(&ferry, Stage::CuttingOver);
        go(&ferry, Stage::Completed);
    } else {
        go(&ferry, Stage::DualRead);
        go(&ferry, Stage::DualReadWrite);
        rewind_on_target(&ferry);
        go(&ferry, Stage::CuttingOver);
        go(&ferry, Stage::Completed);
    }

    // Completed and settled: the source gets nothing new while producers keep sending.
    let source_admin = Admin::new(source.namesrv_addr(), AdminOptions::default()).unwrap();
    let source_writes = || {
        rt.block_on(async {
            let c = source_admin.cluster(source.cluster_name()).await.unwrap();
            source_admin.topic_writes(&c, &topic).await.unwrap().max_offset_total
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    let completed_at_ms = chrono_now_ms();
    let before = source_writes();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(source_writes(), before, "the source received writes after Completed");

    let mut sent = Vec::new();
    for p in producers {
        sent.extend(p.stop().unwrap());
    }
    let late: Vec<_> = sent.iter().filter(|s| s.is_ok() && s.timestamp_ms > completed_at_ms).collect();
    assert!(!late.is_empty(), "producers kept sending after Completed");
    assert!(
        late.iter().all(|s| s.broker_name.as_ref().is_some_and(|b| target_names.contains(b))),
        "after Completed every send goes to the target, under the names clients know: {target_names:?}"
    );
    for group in [&fifo, &plain] {
        let of_group: Vec<&RunningConsumer> =
            consumers.iter().filter(|c| c.group() == group.as_str()).collect();
        let missing = wait_for_delivery(&sent, &of_group, Duration::from_secs(120)).unwrap();
        assert!(
            missing.is_empty(),
            "{group}: {} sent messages never consumed, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
    }
    let mut received: Vec<(String, Vec<_>)> = Vec::new();
    for c in consumers {
        let group = c.group().to_string();
        let r = c.stop().unwrap();
        match received.iter_mut().find(|(g, _)| *g == group) {
            Some((_, all)) => all.extend(r),
            None => received.push((group, r)),
        }
    }
    let by_group: Vec<(&str, &[ferry_testkit::ReceivedRecord])> =
        received.iter().map(|(g, r)| (g.as_str(), r.as_slice())).collect();
    let report = delivery_report(&sent, &by_group);
    eprintln!("{report}");
    assert!(report.all_delivered(), "{report}");
    assert!(
        source_names.iter().all(|b| report.sent_per_broker.contains_key(b)),
        "traffic started on every source broker: {report}"
    );
    assert!(
        target_names.iter().all(|b| report.sent_per_broker.contains_key(b)),
        "and moved to every target broker: {report}"
    );
    assert!(
        report.sent_per_broker.keys().all(|b| source_names.contains(b) || target_names.contains(b)),
        "sends only to brokers by the names clients were shown: {report}"
    );
    if w.strict {
        let g = report.group(&fifo).unwrap();
        if let Some(first) = g.out_of_order.first() {
            // The key's story in this group: what was delivered where and when.
            let (_, all) = received.iter().find(|(name, _)| *name == fifo).unwrap();
            let mut story: Vec<_> =
                all.iter().filter(|r| r.order_key.as_deref() == Some(first.order_key.as_str())).collect();
            story.sort_by_key(|r| r.timestamp_us);
            let lines: Vec<String> = story
                .iter()
                .map(|r| {
                    format!(
                        "seq {:>4} {} {}:{} @{} stored {} delivered {}",
                        r.seq.unwrap_or(-1),
                        r.instance,
                        r.broker_name.as_deref().unwrap_or("?"),
                        r.queue_id,
                        r.queue_offset,
                        r.store_timestamp_ms,
                        r.timestamp_ms
                    )
                })
                .collect();
            let history = rt.block_on(ferry.engine.history(id, Some(&topic))).unwrap();
            let steps: Vec<String> = history
                .iter()
                .map(|t| format!("{} {:?} {:?}->{:?}", t.at.timestamp_millis(), t.kind, t.from, t.to))
                .collect();
            panic!(
                "strict order: {} deliveries out of order, first {first:?}\nkey story:\n{}\nsteps:\n{}",
                g.out_of_order.len(),
                lines.join("\n"),
                steps.join("\n")
            );
        }
    }

    // The history has every step, with who did it.
    let history = rt.block_on(ferry.engine.history(id, Some(&topic))).unwrap();
    let steps = history.iter().filter(|t| t.from != t.to && t.actor == "seamless-test").count();
    assert_eq!(steps, if w.full { 1 + 12 } else { 1 + 4 }, "{history:#?}");

    // Slaves are relayed like their masters: masters sent consumers to them, through Ferry.
    if w.named_alike {
        let relays = ferry.proxy.relay_traffic();
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
    }
    rt.block_on(ferry.engine.complete(id, "seamless-test")).unwrap();
    rt.block_on(ferry.stop());
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn a_4_9_to_5_x_walk_with_rollbacks_restart_and_strict_order_loses_nothing() {
    walk(Walk {
        name: "walk",
        source: RocketMqVersion::V4_9_8,
        target: RocketMqVersion::V5_3_3,
        full: true,
        strict: true,
        named_alike: false,
    });
}

#[test]
fn a_5_x_to_4_9_walk_between_brokers_named_alike_with_slaves_loses_nothing_and_keeps_order() {
    walk(Walk {
        name: "rwalk",
        source: RocketMqVersion::V5_3_3,
        target: RocketMqVersion::V4_9_8,
        full: false,
        strict: true,
        named_alike: true,
    });
}
