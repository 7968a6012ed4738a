//! Real Apache RocketMQ clusters for Ferry's integration tests.
//!
//! [`Cluster::start`] runs `testkit/rocketmq.sh start` (jars from Maven Central, fetched on first
//! use) for one NameServer + one master broker on free loopback ports; [`Harness`] drives them with
//! the real Java client (`rocketmq-client` 4.9.8) and `DefaultMQAdminExt`.
//!
//! ```no_run
//! use ferry_testkit::{Cluster, ClusterSpec, Consume, Produce, RocketMqVersion, TopicSpec};
//!
//! let cluster = Cluster::start(ClusterSpec::new("source", RocketMqVersion::V4_9_8))?;
//! let h = cluster.harness();
//! h.create_topics(cluster.cluster_name(), &[TopicSpec::new("orders").queues(4, 4)])?;
//! let sent = h.produce(&Produce::new("orders", 10))?;
//! let got = h.consume(&Consume::new("orders", "orders-consumer", 10).from_first())?;
//! assert_eq!(ferry_testkit::consumed_ids(&got).len(), sent.len());
//! # Ok::<(), ferry_testkit::Error>(())
//! ```
//!
//! Several masters and NameServers: `ClusterSpec::new("src", v).masters(2).namesrvs(2)` starts
//! brokers `src-broker-a` and `src-broker-b` registered with two NameServers; for fault tests,
//! [`Cluster::kill_broker`] / [`Cluster::kill_namesrv`] SIGKILL one JVM and
//! [`Cluster::restart_broker`] / [`Cluster::restart_namesrv`] start it again on the same ports
//! and store.
//!
//! Long-running traffic: [`Harness::produce_stream`] / [`Harness::consume_stream`] run producers and
//! consumers in the background until stopped, and [`delivery_report`] checks what every group got
//! (missing, duplicates, per-key order).
//!
//! 5.x gRPC clients: [`GrpcProxy`] runs the Apache RocketMQ Proxy in cluster mode in front of a
//! NameServer (a cluster's, or Ferry's front), and [`GrpcHarness`] drives the official
//! `rocketmq-client-java` through it (a producer, SimpleConsumers, PushConsumers).
//!
//! For a cluster shared by all tests of one binary use [`shared`]. JVMs never outlive the test
//! process: each cluster has a watchdog that stops it when the process that started it exits.
//! Linux only (the script reads `/proc`). See `testkit/README.md`.
//!
//! The store's PostgreSQL backend: [`postgres_database`] makes a new database per test on the
//! test server ([`postgres_server`]), and [`store_tests!`] declares a test for both backends.

mod cluster;
mod error;
mod grpc;
mod harness;
mod harness5;
mod postgres;
mod traffic;

pub use cluster::{
    ensure_fetched, repo_root, script_path, shared, Broker, Cluster, ClusterSpec, RocketMqVersion, SeedConfig,
};
pub use error::{Error, Result};
pub use grpc::{
    grpc_group_report, GrpcGroupReport, GrpcHarness, GrpcProduce, GrpcProxy, GrpcProxySpec, GrpcReceived,
    GrpcSent, PushConsume, RunningGrpc, SimpleConsume,
};
pub use harness::{
    consumed_ids, Consume, Credentials, GroupSpec, Harness, Produce, ProduceTx, ReceivedMessage, SentMessage,
    TopicSpec, TxRecord, TxSend, TxState,
};
pub use harness5::{Harness5, PopConsume, Popped, Recalled};
pub use postgres::{postgres_database, postgres_script, postgres_server, POSTGRES_URL_ENV};
pub use traffic::{
    delivery_report, wait_for_delivery, ConsumeStream, DeliveryReport, GroupReport, OutOfOrder,
    ProduceStream, ReceivedRecord, RunningConsumer, RunningProducer, SentRecord,
};

/// The ACL accounts and resources of `testkit/conf/plain_acl.yml`, active on clusters started with
/// `acl: true`. No whitelist matches 127.0.0.1, so every request must be signed.
pub mod acl {
    use crate::Credentials;

    /// Admin account (4.9: `admin: true`; 5.3.3: a super user).
    pub fn admin() -> Credentials {
        Credentials::new("ferryadmin", "ferryadmin-secret-123")
    }

    /// Plain account: default topic perm DENY, default group perm SUB, plus the perms below.
    pub fn user() -> Credentials {
        Credentials::new("ferryuser", "ferryuser-secret-456")
    }

    /// Topics `ferryuser` may publish to and subscribe to (PUB|SUB), only publish, only subscribe,
    /// or not touch at all (DENY).
    pub const USER_TOPIC_PUB_SUB: &str = "acl-topic-rw";
    pub const USER_TOPIC_PUB: &str = "acl-topic-pub";
    pub const USER_TOPIC_SUB: &str = "acl-topic-sub";
    pub const USER_TOPIC_DENY: &str = "acl-topic-deny";
    /// Groups: PUB|SUB and DENY for `ferryuser`.
    pub const USER_GROUP: &str = "acl-group";
    pub const USER_GROUP_DENY: &str = "acl-group-deny";
}
