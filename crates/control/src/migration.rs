//! Seamless migrations: the per-topic stage machine, its health checks and the engine that runs
//! them (docs/seamless.md, "Stages" and "Health checks").

pub mod checks;
pub mod engine;
pub mod evidence;
pub mod leave;
pub mod model;
pub mod names;

pub use checks::{gates, Evidence, RouteHolder, TopicUser, Unheard};
pub use engine::{
    AccessPoint, BatchAction, BatchResult, BrokerStatus, Engine, EngineError, EngineSettings, Fleet,
    FleetInstance, FleetTopic, GroupClients, NewMigration, NewTopic, TopicClients, TopicsAdded,
    TrafficSample,
};
pub use leave::{LeaveReport, LeaveVerdict};
pub use model::{
    Check, CheckReport, ClusterEndpoint, Forgotten, Hold, Migration, MigrationBroker, MigrationId,
    MigrationStatus, MigrationTopic, Transition, TransitionKind,
};
