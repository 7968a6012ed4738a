//! A planned import as the console shows it: per item what it would become, its warnings, and
//! what the source document says of it (queue numbers, order, consumption), never a secret.

use std::collections::BTreeMap;

use ferry_metadata::import::{AccountConfig, Action, Config, ItemKind, PlannedItem};
use ferry_metadata::Document;
use serde::Serialize;

/// What the source document says of a topic, for the preview.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicFacts {
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub order: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupFacts {
    pub consume_orderly: bool,
    pub broadcast: bool,
    pub retry_max_times: i32,
}

pub(crate) fn topic_facts(doc: &Document) -> BTreeMap<String, TopicFacts> {
    match &doc.ferry {
        Some(f) => f
            .topics
            .iter()
            .map(|t| {
                let facts = TopicFacts {
                    read_queue_nums: t.read_queue_nums,
                    write_queue_nums: t.write_queue_nums,
                    perm: t.perm,
                    order: t.order,
                    message_type: t.message_type.clone(),
                };
                (t.name.clone(), facts)
            })
            .collect(),
        None => doc
            .metadata
            .topic_config_table
            .iter()
            .map(|(name, t)| {
                let facts = TopicFacts {
                    read_queue_nums: t.read_queue_nums,
                    write_queue_nums: t.write_queue_nums,
                    perm: t.perm,
                    order: t.order,
                    message_type: t.attributes.get("message.type").cloned(),
                };
                (name.clone(), facts)
            })
            .collect(),
    }
}

pub(crate) fn group_facts(doc: &Document) -> BTreeMap<String, GroupFacts> {
    let of = |g: &ferry_remoting::body::SubscriptionGroupConfig| GroupFacts {
        consume_orderly: g.consume_message_orderly.unwrap_or(false),
        broadcast: g.consume_broadcast_enable,
        retry_max_times: g.retry_max_times,
    };
    match &doc.ferry {
        Some(f) => f.groups.iter().map(|g| (g.name.clone(), of(&g.config))).collect(),
        None => doc.metadata.subscription_group_table.iter().map(|(n, g)| (n.clone(), of(g))).collect(),
    }
}

/// One planned item as the console shows it (never a secret).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    pub source_name: String,
    pub target_name: String,
    pub namespace: String,
    /// `create`, `update`, `unchanged` or `fail`.
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// `field: target -> source on broker`, for updates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    /// The target masters written to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupFacts>,
    /// Accounts: whether it is an admin account (ACL 1.0) or a super user (ACL 2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
}

pub(crate) fn item_view(
    item: &PlannedItem,
    topics: &BTreeMap<String, TopicFacts>,
    groups: &BTreeMap<String, GroupFacts>,
) -> ItemView {
    let (action, cause, differences, per_broker) = match &item.action {
        Action::Create { per_broker } => ("create", None, Vec::new(), Some(per_broker)),
        Action::Update { per_broker, differences } => (
            "update",
            None,
            differences
                .iter()
                .map(|d| format!("{}: {} -> {} on {}", d.field, d.target, d.source, d.broker))
                .collect(),
            Some(per_broker),
        ),
        Action::Unchanged => ("unchanged", None, Vec::new(), None),
        Action::Fail { cause } => ("fail", Some(cause.clone()), Vec::new(), None),
    };
    let admin = per_broker.and_then(|p| p.first()).and_then(|(_, c)| match c {
        Config::Account(AccountConfig::Plain(a)) => Some(a.admin),
        Config::Account(AccountConfig::Acl2 { user, .. }) => Some(user.user_type.as_deref() == Some("Super")),
        _ => None,
    });
    ItemView {
        source_name: item.source_name.clone(),
        target_name: item.target_name.clone(),
        namespace: item.namespace.clone(),
        action,
        cause,
        differences,
        brokers: per_broker.map(|p| p.iter().map(|(b, _)| b.clone()).collect()).unwrap_or_default(),
        warnings: item.warnings.clone(),
        topic: (item.kind == ItemKind::Topic).then(|| topics.get(&item.source_name).cloned()).flatten(),
        group: (item.kind == ItemKind::Group).then(|| groups.get(&item.source_name).cloned()).flatten(),
        admin,
    }
}
