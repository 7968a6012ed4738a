//! Transactional messages across a migration: a real 4.9.8 source and a real 5.3.3 target, Ferry in
//! this process, and the harness's real Java `TransactionMQProducer`s pointed only at Ferry.
//!
//! Half (prepared) messages are sent while writes go to the source (Initial and DualRead), their
//! local transactions answering UNKNOW; others are committed or rolled back at once. The topic
//! walks to CuttingOver, where writes go to the target, and Completed is refused by
//! `source-half-messages`, naming the source master and the count, while nothing else blocks it.
//! Then producers of the same groups come back through Ferry: the source broker's check-backs
//! (CHECK_TRANSACTION_STATE, broker to producer) reach them through the source's relay and their
//! answers (END_TRANSACTION, sent to the address the check-back came from) reach the source broker
//! that asked: the committed messages are stored in the topic there, the rolled-back ones are not,
//! and the step to Completed passes. Every committed message is consumed by a push consumer group
//! through Ferry, no rolled-back one ever is.
//!
//! The source broker checks back every 3 s for halves older than 2 s
//! (`transactionCheckInterval` / `transactionTimeOut`, milliseconds, `BrokerConfig` of
//! rocketmq-all-4.9.8), and checks a half up to 1000 times (`transactionCheckMax`, 15 by default:
//! beyond it the broker discards the half, which a walk of a minute without its producer would
//! reach).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

mod common;

use ferry_control::migration::{ClusterEndpoint, EngineError, NewMigration, NewTopic};
use ferry_proxy::Stage;
use ferry_testkit::{
    Cluster, ClusterSpec, ConsumeStream, GroupSpec, Harness, ProduceTx, RocketMqVersion, TopicSpec, TxRecord,
    TxState,
};

const CLIENT_POLL_MS: u64 = 1000;
const CHECK_INTERVAL_MS: u64 = 3000;
const TX_TIMEOUT_MS: u64 = 2000;
const ACTOR: &str = "transactions-test";
const HALVES: &str = "source-half-messages";

/// Sent by this run, all `SEND_OK`, on `broker`, with the local transaction answering `local`.
fn all_sent(records: &[TxRecord], n: usize, broker: &str, local: &str) {
    let sent: Vec<_> = records.iter().filter_map(|r| r.sent.as_ref()).collect();
    assert_eq!(sent.len(), n, "{records:?}");
    for s in sent {
        assert_eq!(s.status, "SEND_OK", "{records:?}");
        assert_eq!(s.local_state.as_deref(), Some(local), "{records:?}");
        assert_eq!(s.broker_name, broker, "sent while writes go to {broker}: {records:?}");
    }
}

/// The keys of the messages a run did not send but answered check-backs for, with `answer`.
fn checked_back(records: &[TxRecord], answer: &str) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r.sent.is_none())
        .inspect(|r| {
            assert!(r.checks >= 1 && r.check_answer.as_deref() == Some(answer), "{r:?}");
        })
        .filter_map(|r| r.key.clone())
        .collect()
}

fn keys(prefix: &str, n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn prepared_transactions_on_the_source_hold_completion_until_their_check_backs_end_them() {
    let started = Instant::now();
    let source = Cluster::start(
        ClusterSpec::new("txsrc", RocketMqVersion::V4_9_8)
            .broker_property("transactionCheckInterval", CHECK_INTERVAL_MS)
            .broker_property("transactionTimeOut", TX_TIMEOUT_MS)
            .broker_property("transactionCheckMax", 1000),
    )
    .unwrap();
    let target = Cluster::start(ClusterSpec::new("txtgt", RocketMqVersion::V5_3_3)).unwrap();
    eprintln!("[{:>5.1}s] clusters up", started.elapsed().as_secs_f32());
    let (source_broker, target_broker) = (source.broker_name().to_string(), target.broker_name().to_string());
    let (topic, group) = ("tx-orders", "tx-orders-cg");
    let (pg_commit, pg_rollback, pg_now) = ("tx-pg-commit", "tx-pg-rollback", "tx-pg-now");
    let sh = source.harness();
    sh.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    sh.create_groups(source.cluster_name(), &[GroupSpec::new(group)]).unwrap();

    let ferry = common::Ferry::start(30);
    let (rt, engine) = (&ferry.rt, &ferry.engine);
    let id = rt
        .block_on(engine.create_migration(NewMigration {
            name: "transactions".into(),
            source: ClusterEndpoint::new(source.namesrv_addr(), source.cluster_name()),
            target: ClusterEndpoint::new(target.namesrv_addr(), target.cluster_name()),
        }))
        .unwrap()
        .id;
    rt.block_on(engine.add_topics(
        id,
        vec![NewTopic { topic: topic.into(), groups: Some(vec![group.into()]), strict_order: false }],
        ACTOR,
    ))
    .unwrap();

    let through = Harness::new(ferry.namesrv.clone());
    let consumer = through
        .consume_stream(
            &ConsumeStream::new(topic, group)
                .instance("tx-consumer")
                .from_first()
                .poll_namesrv_ms(CLIENT_POLL_MS)
                .heartbeat_ms(CLIENT_POLL_MS),
        )
        .unwrap();
    consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let tx = |n: usize, pg: &str, local: TxState, prefix: &str| {
        ProduceTx::new(topic, n).group(pg).local(local).check(TxState::Unknown).key_prefix(prefix)
    };

    // Writes go to the source: halves left prepared (UNKNOW, and the producers go away), and
    // transactions ended at once (END_TRANSACTION right after the half, through the relay).
    let sent = through.produce_tx(&tx(4, pg_commit, TxState::Unknown, "commit-later-")).unwrap();
    all_sent(&sent, 4, &source_broker, "UNKNOW");
    let sent = through.produce_tx(&tx(2, pg_now, TxState::Commit, "commit-now-")).unwrap();
    all_sent(&sent, 2, &source_broker, "COMMIT_MESSAGE");
    ferry.proceed(id, topic, Stage::DualRead, ACTOR);
    let sent = through.produce_tx(&tx(3, pg_rollback, TxState::Unknown, "rollback-later-")).unwrap();
    all_sent(&sent, 3, &source_broker, "UNKNOW");
    let sent = through.produce_tx(&tx(2, pg_now, TxState::Rollback, "rollback-now-")).unwrap();
    all_sent(&sent, 2, &source_broker, "ROLLBACK_MESSAGE");
    eprintln!("[{:>5.1}s] 7 halves left prepared on the source", started.elapsed().as_secs_f32());
    ferry.proceed(id, topic, Stage::DualReadWrite, ACTOR);
    ferry.proceed(id, topic, Stage::CuttingOver, ACTOR);

    // Completed is refused by the halves alone, naming the source master and the count.
    let source_addr = source.broker_addr();
    let deadline = Instant::now() + Duration::from_secs(90);
    let refused = loop {
        let report = rt.block_on(engine.check(id, topic)).unwrap();
        let failing: Vec<&str> = report.failing().map(|c| c.name.as_str()).collect();
        if failing == [HALVES] {
            break report;
        }
        assert!(Instant::now() < deadline, "toward Completed: {}", report.blockers());
        std::thread::sleep(Duration::from_millis(500));
    };
    let halves = refused.checks.iter().find(|c| c.name == HALVES).unwrap();
    eprintln!(
        "[{:>5.1}s] toward Completed: {}: {}",
        started.elapsed().as_secs_f32(),
        halves.name,
        halves.detail
    );
    assert!(
        halves.detail.contains(&format!("7 on source master {source_broker} ({source_addr})")),
        "{}",
        halves.detail
    );
    match rt.block_on(engine.proceed(id, topic, None, ACTOR)) {
        Err(EngineError::Blocked { report, .. }) => {
            assert!(report.failing().any(|c| c.name == HALVES), "{}", report.blockers())
        }
        other => panic!("Completed with halves outstanding on the source: {other:?}"),
    }
    assert_eq!(rt.block_on(engine.topics(id)).unwrap()[0].stage, Stage::CuttingOver);

    // The producers come back through Ferry (their new transactions go to the target, ended at
    // once) and answer the source broker's check-backs: commit the first group's, roll the
    // second's back.
    let answer = |n: usize, pg: &str, state: TxState, prefix: &str, halves: usize| {
        ProduceTx::new(topic, n)
            .group(pg)
            .local(state)
            .check(state)
            .key_prefix(prefix)
            .until_checks(halves)
            .linger_ms(90_000)
    };
    let back = Instant::now();
    let (committer, rollbacker) = std::thread::scope(|s| {
        let c = s.spawn(|| through.produce_tx(&answer(2, pg_commit, TxState::Commit, "commit-cut-", 4)));
        let r =
            s.spawn(|| through.produce_tx(&answer(1, pg_rollback, TxState::Rollback, "rollback-cut-", 3)));
        (c.join().unwrap().unwrap(), r.join().unwrap().unwrap())
    });
    all_sent(&committer, 2, &target_broker, "COMMIT_MESSAGE");
    all_sent(&rollbacker, 1, &target_broker, "ROLLBACK_MESSAGE");
    let (committed, rolled_back) =
        (checked_back(&committer, "COMMIT_MESSAGE"), checked_back(&rollbacker, "ROLLBACK_MESSAGE"));
    let checks: u32 = committer.iter().chain(&rollbacker).map(|r| r.checks).sum();
    eprintln!(
        "[{:>5.1}s] check-backs through Ferry within {:.1} s: {checks} answered, {} committed, {} rolled back",
        started.elapsed().as_secs_f32(),
        back.elapsed().as_secs_f32(),
        committed.len(),
        rolled_back.len()
    );
    assert_eq!(committed, keys("commit-later-", 4));
    assert_eq!(rolled_back, keys("rollback-later-", 3));

    // Ended on the source broker that asked: the check passes, and the step once the committed
    // messages stored there are read.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = rt.block_on(engine.check(id, topic)).unwrap();
        let halves = report.checks.iter().find(|c| c.name == HALVES).unwrap();
        if halves.passed {
            eprintln!("[{:>5.1}s] {}: {}", started.elapsed().as_secs_f32(), halves.name, halves.detail);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "halves still outstanding after the check-backs: {}",
            halves.detail
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    ferry.proceed(id, topic, Stage::Completed, ACTOR);
    eprintln!("[{:>5.1}s] Completed", started.elapsed().as_secs_f32());

    let want: BTreeSet<String> = [keys("commit-later-", 4), keys("commit-now-", 2), keys("commit-cut-", 2)]
        .into_iter()
        .flatten()
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: BTreeSet<String> = consumer.received().unwrap().into_iter().filter_map(|r| r.key).collect();
        if want.is_subset(&got) {
            break;
        }
        let missing: Vec<_> = want.difference(&got).collect();
        assert!(Instant::now() < deadline, "never consumed: {missing:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // Time for a rolled-back message to show up, were it ever delivered.
    std::thread::sleep(Duration::from_secs(3));
    let received = consumer.stop().unwrap();
    let got: BTreeSet<String> = received.iter().filter_map(|r| r.key.clone()).collect();
    let leaked: Vec<&String> = got.iter().filter(|k| k.starts_with("rollback-")).collect();
    assert!(leaked.is_empty(), "rolled-back transactions consumed: {leaked:?}");
    assert_eq!(got, want);
    // The check-back commits were stored on the source broker, whose check-back they answered.
    for r in received.iter().filter(|r| r.key.as_deref().is_some_and(|k| k.starts_with("commit-later-"))) {
        assert_eq!(r.broker_name.as_deref(), Some(source_broker.as_str()), "{r:?}");
    }
    let on = |b: &str| received.iter().filter(|r| r.broker_name.as_deref() == Some(b)).count();
    eprintln!(
        "[{:>5.1}s] consumed through Ferry: {} deliveries of {} committed messages ({} from the source, {} from \
         the target), none of the {} rolled back (at a check-back, at once on the source, at once on the target)",
        started.elapsed().as_secs_f32(),
        received.len(),
        want.len(),
        on(&source_broker),
        on(&target_broker),
        rolled_back.len() + 2 + 1
    );
}
