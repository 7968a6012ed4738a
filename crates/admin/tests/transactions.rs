//! Outstanding half (prepared) transactional messages on real brokers, produced by a real
//! `TransactionMQProducer` (the harness's `produce-tx`): counted per real topic while the producer
//! answers UNKNOW, through the broker's re-put copies, and gone once a check-back commits them.
//!
//! Brokers check back on their own schedule (`transactionCheckInterval`: 60 s on 4.9, 30 s on 5.3,
//! for halves older than `transactionTimeOut`, 6 s), so each version's test takes one to two check
//! rounds. The two versions run in parallel on their own clusters.

use std::time::{Duration, Instant};

use ferry_admin::{Admin, AdminOptions, Credentials, OutstandingHalves};
use ferry_testkit::{shared, Cluster, ClusterSpec, Produce, ProduceTx, RocketMqVersion, TopicSpec, TxState};

fn admin_of(c: &Cluster) -> Admin {
    Admin::new(c.namesrv_addr(), AdminOptions::default()).unwrap()
}

async fn counts(admin: &Admin, broker: &str) -> std::collections::BTreeMap<String, u64> {
    match admin.outstanding_halves(broker).await.unwrap() {
        OutstandingHalves::Known { by_topic, .. } => by_topic,
        other => panic!("expected a count, got {other:?}"),
    }
}

/// Polls until `done` holds for the counts (5.x writes op messages in batches every 3 s).
async fn wait_for_counts(
    admin: &Admin,
    broker: &str,
    timeout: Duration,
    what: &str,
    done: impl Fn(&std::collections::BTreeMap<String, u64>) -> bool,
) -> std::collections::BTreeMap<String, u64> {
    let start = Instant::now();
    loop {
        let now = counts(admin, broker).await;
        if done(&now) {
            return now;
        }
        assert!(start.elapsed() < timeout, "{what}: still {now:?} after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn halves_are_counted_until_a_check_back_commits_them(version: RocketMqVersion) {
    let c = shared(ClusterSpec::new(format!("admin-tx-{version}"), version));
    let h = c.harness();
    let (a, b, plain, group) = ("tx-a", "tx-b", "tx-plain", "tx-producer");
    let topics: Vec<TopicSpec> = [a, b, plain].iter().map(|t| TopicSpec::new(*t).queues(4, 4)).collect();
    h.create_topics(c.cluster_name(), &topics).unwrap();
    let admin = admin_of(c);
    let broker = c.broker_addr();

    // Prepared and left so: the local transaction and every check-back answer UNKNOW.
    let unknown = |topic: &str, n: usize, prefix: &str| {
        ProduceTx::new(topic, n)
            .group(group)
            .local(TxState::Unknown)
            .check(TxState::Unknown)
            .key_prefix(prefix)
    };
    let sent_a = h.produce_tx(&unknown(a, 5, "a-")).unwrap();
    let sent_b = h.produce_tx(&unknown(b, 3, "b-")).unwrap();
    assert_eq!(sent_a.iter().filter(|r| r.sent.as_ref().is_some_and(|s| s.status == "SEND_OK")).count(), 5);
    assert!(sent_a.iter().all(|r| r.sent.as_ref().and_then(|s| s.local_state.as_deref()) == Some("UNKNOW")));
    assert_eq!(sent_b.len(), 3);
    // Not prepared: plain messages, and transactions committed at once (their op ends them).
    h.produce(&Produce::new(plain, 4)).unwrap();
    h.produce_tx(&ProduceTx::new(plain, 2).group("tx-committer").local(TxState::Commit)).unwrap();

    let now = wait_for_counts(&admin, broker, Duration::from_secs(15), "after the sends", |m| {
        !m.contains_key(plain)
    })
    .await;
    assert_eq!(now.get(a), Some(&5), "{version}: {now:?}");
    assert_eq!(now.get(b), Some(&3), "{version}: {now:?}");

    // A producer of the same group comes back and answers the broker's check-backs: COMMIT for
    // tx-a, UNKNOW for tx-b. Each check-back follows a re-put copy of the half message.
    let checked = h
        .produce_tx(
            &ProduceTx::new(a, 0)
                .group(group)
                .check(TxState::Commit)
                .check_topic(a)
                .until_checks(8)
                .linger_ms(150_000),
        )
        .unwrap();
    let checked_a: Vec<_> = checked.iter().filter(|r| r.topic.as_deref() == Some(a)).collect();
    assert_eq!(checked_a.len(), 5, "{version}: every tx-a message checked back: {checked:?}");
    assert!(checked_a.iter().all(|r| r.checks >= 1 && r.check_answer.as_deref() == Some("COMMIT_MESSAGE")));
    assert!(checked
        .iter()
        .filter(|r| r.topic.as_deref() == Some(b))
        .all(|r| r.check_answer.as_deref() == Some("UNKNOW")));

    let now =
        wait_for_counts(&admin, broker, Duration::from_secs(15), "after the commits", |m| !m.contains_key(a))
            .await;
    // tx-b's halves were re-put by the check (copies at new offsets): still 3 transactions.
    assert_eq!(now.get(b), Some(&3), "{version}: {now:?}");
    assert!(!now.contains_key(plain), "{now:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn halves_are_counted_until_a_check_back_commits_them_on_4_9() {
    halves_are_counted_until_a_check_back_commits_them(RocketMqVersion::V4_9_8).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn halves_are_counted_until_a_check_back_commits_them_on_5_3() {
    halves_are_counted_until_a_check_back_commits_them(RocketMqVersion::V5_3_3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_without_rights_on_the_system_topics_cannot_tell_on_5_3() {
    // ACL 2.0 authorizes QUERY_CONSUMER_OFFSET, QUERY_CONSUME_QUEUE and VIEW_MESSAGE_BY_ID on their
    // topic; `ferryuser`'s default topic right is DENY. (4.9's ACL 1.0 checks only the signature
    // of these requests, so any valid account can tell there.)
    let c = shared(ClusterSpec::new("admin-tx-acl", RocketMqVersion::V5_3_3).acl(true));
    let admin_keys = ferry_testkit::acl::admin();
    c.harness()
        .with_credentials(admin_keys.clone())
        .produce_tx(&ProduceTx::new(ferry_testkit::acl::USER_TOPIC_PUB_SUB, 2).group("acl-group"))
        .unwrap();
    let with = |k: ferry_testkit::Credentials| {
        Admin::new(
            c.namesrv_addr(),
            AdminOptions {
                credentials: Some(Credentials::new(&k.access_key, &k.secret_key)),
                ..AdminOptions::default()
            },
        )
        .unwrap()
    };
    let user = with(ferry_testkit::acl::user()).outstanding_halves(c.broker_addr()).await.unwrap();
    match &user {
        OutstandingHalves::CannotTell { reason } => assert!(reason.contains(c.broker_addr()), "{reason}"),
        other => panic!("expected cannot tell, got {other:?}"),
    }
    assert_eq!(user.of_topic(ferry_testkit::acl::USER_TOPIC_PUB_SUB), None);
    let admin = with(admin_keys).outstanding_halves(c.broker_addr()).await.unwrap();
    assert_eq!(admin.of_topic(ferry_testkit::acl::USER_TOPIC_PUB_SUB), Some(2), "{admin:?}");
}
