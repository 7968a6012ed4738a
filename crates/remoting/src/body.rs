//! Typed request and response bodies (`remoting/.../protocol/body`, `route`, `admin` in 5.x;
//! `common/.../protocol` in 4.9.x). Every field may be missing on the wire, so all have defaults;
//! config objects keep fields Ferry does not know in `extra`, so nothing is lost on a round trip.

mod client;
mod cluster;
mod config;
mod stats;

pub use client::{ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
pub use cluster::{BrokerData, ClusterInfo, QueueData, TopicList, TopicRouteData};
pub use config::{
    DataVersion, SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper,
};
pub use stats::{
    BrokerStatsData, BrokerStatsItem, Connection, ConsumeStats, ConsumerConnection, KvTable, MessageQueue,
    OffsetWrapper, ProducerConnection, TopicOffset, TopicStatsTable,
};
