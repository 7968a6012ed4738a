//! Brokers named alike on both clusters, with what only 5.x clients do: a 4.9.8 source and a 5.3.3
//! target both name their broker `broker-a`, Ferry in process shows the target's as `zz-broker-a`,
//! and a real rocketmq-client 5.3.3 (testkit/harness5) consumes by POP from it and recalls a
//! delayed message on it, pointed only at Ferry.
//!
//! What a target broker is told and tells back under its real name (the receipts in
//! ACK_MESSAGE / CHANGE_MESSAGE_INVISIBLETIME, retry messages' POP_CK, recall handles, queue
//! assignments) is renamed on its relay (`ferry_proxy::rename`); without that, acks under the
//! alias match no checkpoint and every message comes back after its invisible time.

use std::collections::{BTreeMap, HashMap};

use ferry_proxy::{Proxy, ProxyConfig, Stage, TopicPolicy, Upstreams};
use ferry_testkit::{
    Cluster, ClusterSpec, GroupSpec, Harness, Harness5, PopConsume, Popped, Produce, RocketMqVersion,
    TopicSpec,
};

const ALIAS: &str = "zz-broker-a";

struct Fixture {
    _rt: tokio::runtime::Runtime,
    proxy: Proxy,
    source: Cluster,
    target: Cluster,
}

fn fixture() -> Fixture {
    let source =
        Cluster::start(ClusterSpec::new("rename-source", RocketMqVersion::V4_9_8).broker_names(["broker-a"]))
            .unwrap();
    let target = Cluster::start(
        ClusterSpec::new("rename-target", RocketMqVersion::V5_3_3)
            .broker_names(["broker-a"])
            // 5.x consumers with client rebalance off are given POP queues by the broker.
            .broker_property("defaultMessageRequestMode", "POP")
            .broker_property("recallMessageEnable", true),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let first = 10_000 + (std::process::id() % 90) as u16 * 100 + 60;
    let proxy = rt.block_on(Proxy::start(ProxyConfig::loopback(0, first, first + 19), &[])).unwrap();
    proxy.set_upstreams(Upstreams::new(source.namesrv_addr(), Some(target.namesrv_addr())).unwrap());
    proxy.stages.set_broker_aliases(HashMap::from([("broker-a".to_string(), ALIAS.to_string())]));
    Fixture { _rt: rt, proxy, source, target }
}

impl Fixture {
    fn ferry(&self) -> String {
        self.proxy.namesrv_addr().to_string()
    }

    fn create_everywhere(&self, topic: &str, groups: &[&str]) {
        for c in [&self.source, &self.target] {
            let h = c.harness();
            h.create_topics(c.cluster_name(), &[TopicSpec::new(topic).queues(2, 2)]).unwrap();
            let groups: Vec<GroupSpec> = groups.iter().map(|g| GroupSpec::new(*g)).collect();
            h.create_groups(c.cluster_name(), &groups).unwrap();
        }
    }
}

/// Deliveries per message id, in order.
fn by_message(popped: &[Popped]) -> BTreeMap<&str, Vec<&Popped>> {
    let mut m: BTreeMap<&str, Vec<&Popped>> = BTreeMap::new();
    for p in popped {
        m.entry(p.msg_id.as_str()).or_default().push(p);
    }
    m
}

#[test]
fn pop_consumers_and_recalls_work_on_a_target_broker_shown_under_an_alias() {
    let f = fixture();
    let (topic, acking, retrying) = ("rename-pop", "rename-pop-ack", "rename-pop-retry");
    f.create_everywhere(topic, &[acking, retrying]);
    // Completed: only the target's broker in the route, under its alias. (Consumers with client
    // rebalance off ask any broker of the route for their queues, and only 5.x brokers answer.)
    f.proxy.stages.set(topic, TopicPolicy::at(Stage::Completed));
    let sent = Harness::new(f.ferry()).produce(&Produce::new(topic, 6)).unwrap();
    assert!(sent.iter().all(|m| m.broker_name == ALIAS), "{sent:?}");
    let sent_ids: Vec<&str> = sent.iter().map(|m| m.msg_id.as_str()).collect();

    let h5 = Harness5::new(f.ferry());
    std::thread::scope(|s| {
        // Acked on first delivery: none comes back after its invisible time (5 s) and the broker's
        // revive (checkpoints wait up to 10 s in its buffer).
        let acked = s.spawn(|| {
            h5.pop_consume(&PopConsume::new(topic, acking, sent.len()).invisible_ms(5_000).linger_ms(20_000))
        });
        // Refused once: the client moves the message's invisible time (CHANGE_MESSAGE_INVISIBLETIME,
        // 10 s), the broker delivers it again from its POP retry topic with its own POP_CK, and
        // the client acks that at the broker the receipt names.
        let retried = s.spawn(|| {
            h5.pop_consume(
                &PopConsume::new(topic, retrying, sent.len())
                    .invisible_ms(5_000)
                    .reconsume_first()
                    .linger_ms(15_000)
                    .timeout_ms(90_000),
            )
        });
        let acked = acked.join().unwrap().unwrap();
        let deliveries = by_message(&acked);
        assert_eq!(deliveries.keys().copied().collect::<Vec<_>>(), sorted(&sent_ids), "{acked:#?}");
        for (id, d) in &deliveries {
            assert_eq!(d.len(), 1, "{id} acked, so never delivered again: {d:#?}");
            assert_eq!(d[0].pop_broker.as_deref(), Some(ALIAS), "the receipt names the alias: {d:#?}");
        }

        let retried = retried.join().unwrap().unwrap();
        let deliveries = by_message(&retried);
        assert_eq!(deliveries.keys().copied().collect::<Vec<_>>(), sorted(&sent_ids), "{retried:#?}");
        for (id, d) in &deliveries {
            let seen: Vec<(i32, &str, Option<&str>)> =
                d.iter().map(|p| (p.reconsume_times, p.answer.as_str(), p.pop_broker.as_deref())).collect();
            assert_eq!(
                seen,
                [(0, "RECONSUME_LATER", Some(ALIAS)), (1, "CONSUME_SUCCESS", Some(ALIAS))],
                "{id}: refused once, delivered again (its POP_CK renamed), acked, and no more"
            );
        }
    });

    // Recall: both clusters' broker-a in the route, the handle must lead to the target's.
    let recall_topic = "rename-recall";
    f.create_everywhere(recall_topic, &[]);
    f.proxy.stages.set(recall_topic, TopicPolicy::at(Stage::DualReadWrite));
    let r = h5.recall(recall_topic, ALIAS, 60_000).unwrap();
    assert_eq!(r.broker_name, ALIAS);
    let handle = r.handle.as_deref().unwrap_or_default();
    assert!(handle.starts_with(&format!("v1 {recall_topic} {ALIAS} ")), "{r:?}");
    assert_eq!(r.recall_error, None, "{r:?}");
    assert!(r.recalled.is_some(), "{r:?}");
}

fn sorted<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    let mut v = ids.to_vec();
    v.sort();
    v.dedup();
    v
}
