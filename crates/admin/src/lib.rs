//! Typed operations on a live RocketMQ cluster, through its NameServers and brokers: clusters and
//! brokers, topics and groups with their configs on each broker, ACL accounts, consumer offsets and
//! backlog, half (prepared) transactional messages still outstanding; and, for imports, creating
//! topics and groups. Errors name the address that failed and why.

mod acl;
mod acl_write;
mod client;
mod cluster;
mod config;
mod error;
mod message;
mod offsets;
mod scheduled;
mod traffic;
mod transactions;
mod write;

pub use acl::{Acl, PlainAccount, PlainAclConfig, Policy, PolicyEntry, User};
pub use client::{Admin, AdminOptions};
pub use cluster::{clusters_of, parse_properties, Broker, Cluster};
pub use config::ORDER_TOPIC_CONFIG;
pub use error::AdminError;
pub use ferry_remoting::Credentials;
pub use message::{decode_messages, MessageDecodeError, StoredMessage};
pub use offsets::{CommittedOffsets, GroupOffsets};
pub use scheduled::pending_delayed_in;
pub use traffic::{backlog_by_topic, GroupConsumers, TopicWrites};
pub use transactions::{
    op_half_offsets, outstanding_by_topic, removed_offsets, version_supported, HalfEntry, OutstandingHalves,
    CHECK_GROUP, HALF_TOPIC, OP_TOPIC,
};
