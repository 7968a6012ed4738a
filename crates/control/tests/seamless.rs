//! Seamless migration end to end, real everything: real source and target clusters, real Java
//! producers (one ordered by key) and push consumers (two groups, two instances each) pointed at
//! Ferry, sending and consuming all the time while a topic walks through the five stages behind
//! its health checks, with a rollback at every stage, and Ferry itself restarted once.
//!
//! Asserted: every message whose send succeeded is consumed by every group at least once
//! (duplicates are counted and printed); in strict mode no key is consumed out of order by the
//! orderly group; after Completed the source receives no new writes.

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
}

fn walk(w: Walk) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let source = Cluster::start(ClusterSpec::new(format!("{}-source", w.name), w.source)).unwrap();
    let target = Cluster::start(ClusterSpec::new(format!("{}-target", w.name), w.target)).unwrap();
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
        go(&ferry, Stage::CuttingOver);
        go(&ferry, Stage::Completed);
        go(&ferry, Stage::CuttingOver);
        go(&ferry, Stage::Completed);
    } else {
        for s in [Stage::DualRead, Stage::DualReadWrite, Stage::CuttingOver, Stage::Completed] {
            go(&ferry, s);
        }
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
        late.iter().all(|s| s.broker_name.as_deref() == Some(target.broker_name())),
        "after Completed every send goes to the target"
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
        report.sent_per_broker.contains_key(source.broker_name()),
        "traffic started on the source: {report}"
    );
    assert!(report.sent_per_broker.contains_key(target.broker_name()), "and moved to the target: {report}");
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
    });
}

#[test]
fn a_5_x_to_4_9_walk_loses_nothing() {
    walk(Walk {
        name: "rwalk",
        source: RocketMqVersion::V5_3_3,
        target: RocketMqVersion::V4_9_8,
        full: false,
        strict: false,
    });
}
