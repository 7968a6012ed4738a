//! Accounts (rule 7): which are chosen, what each becomes in the target's ACL model, and how it
//! compares with the target's own accounts when those could be read. Accounts hold for the
//! whole cluster, so they are compared once and written to every chosen master.

use ferry_admin::{Acl, User};

use super::acl;
use super::compare::describe;
use super::naming::{select, DEFAULT_NAMESPACE};
use super::options::{Filter, ImportOptions, Mode};
use super::plan::{AccountConfig, Action, Config, FieldDifference, ItemKind, PlannedItem};
use super::source::Source;
use super::target::{AclModel, TargetAccounts, TargetLayout};

pub(crate) fn plan_accounts(
    source: &Source,
    target: &TargetLayout,
    options: &ImportOptions,
    brokers: &[String],
    plan_warnings: &mut Vec<String>,
) -> Vec<PlannedItem> {
    let filter = &options.selection.accounts;
    let Some(export) = source.acl else {
        if matches!(filter, Filter::Names(p) if !p.is_empty()) {
            plan_warnings.push(
                "accounts were chosen but the document has none (Apache exports never do; ferry \
                 export reads them with --plain-acl-file or from a 5.3+ cluster)"
                    .into(),
            );
        }
        return Vec::new();
    };
    if !export.global_white_remote_addresses.is_empty() && *filter != Filter::None {
        plan_warnings.push(format!(
            "globalWhiteRemoteAddresses ({}) belong to no account and are not imported; ACL 2.0 \
             has nothing like them",
            export.global_white_remote_addresses.join(", ")
        ));
    }
    let namespace = match &options.mode {
        Mode::ToCluster => DEFAULT_NAMESPACE,
        Mode::ToNamespace(ns) => ns.as_str(),
    };
    let mut planned: Vec<(String, Result<AccountConfig, String>, Vec<String>)> = Vec::new();
    match export.kind.as_str() {
        "plain" => {
            let names: Vec<&str> = export.accounts.iter().map(|a| a.access_key.as_str()).collect();
            for i in chosen(filter, &names, plan_warnings) {
                let account = &export.accounts[i];
                let mut warnings = Vec::new();
                let renamed = acl::rename_plain(account, &options.mode);
                if renamed != *account {
                    warnings.push(format!("permissions moved into namespace '{namespace}'"));
                }
                let config = match target.acl_model {
                    AclModel::Plain => acl::check_plain(&renamed).map(|()| AccountConfig::Plain(renamed)),
                    AclModel::Acl2 => acl::plain_to_acl2(&renamed, options.white_addresses).map(|m| {
                        warnings.extend(m.warnings);
                        AccountConfig::Acl2 { user: m.user, acl: m.acl }
                    }),
                };
                planned.push((account.access_key.clone(), config, warnings));
            }
        }
        "acl2" => {
            let names: Vec<&str> = export.users.iter().map(|u| u.username.as_str()).collect();
            for i in chosen(filter, &names, plan_warnings) {
                let user = &export.users[i];
                let config = from_acl2(user, &export.policies, target.acl_model, &options.mode);
                planned.push((user.username.clone(), config, Vec::new()));
            }
        }
        other => plan_warnings.push(format!("ACL kind '{other}' is unknown: its accounts are not imported")),
    }
    planned
        .into_iter()
        .map(|(name, config, mut warnings)| {
            let action = match config {
                Err(cause) => Action::Fail { cause },
                Ok(config) => decide(config, target, options.overwrite, brokers, &mut warnings),
            };
            PlannedItem {
                kind: ItemKind::Account,
                source_name: name.clone(),
                target_name: name,
                namespace: namespace.to_string(),
                action,
                warnings,
            }
        })
        .collect()
}

/// Indexes of the chosen names, in name order.
fn chosen(filter: &Filter, names: &[&str], plan_warnings: &mut Vec<String>) -> Vec<usize> {
    let (mut chosen, unused) = select(filter, names);
    for p in unused {
        plan_warnings.push(format!("accounts pattern '{p}' matched no name in the document"));
    }
    chosen.sort_by_key(|i| names[*i]);
    chosen
}

fn from_acl2(user: &User, policies: &[Acl], model: AclModel, mode: &Mode) -> Result<AccountConfig, String> {
    let name = &user.username;
    if model == AclModel::Plain {
        return Err(format!(
            "account '{name}': an ACL 2.0 user cannot be written to an ACL 1.0 target (Ferry has \
             no mapping back)"
        ));
    }
    if user.password.is_none() {
        return Err(format!(
            "account '{name}': no password in the document (exported without --include-secrets); \
             it cannot be created without one"
        ));
    }
    let subject = format!("User:{name}");
    let acl = policies.iter().find(|a| a.subject == subject).map(|a| acl::rename_acl(a, mode));
    Ok(AccountConfig::Acl2 { user: user.clone(), acl })
}

fn decide(
    config: AccountConfig,
    target: &TargetLayout,
    overwrite: bool,
    brokers: &[String],
    warnings: &mut Vec<String>,
) -> Action {
    let everywhere = |c: &AccountConfig| -> Vec<(String, Config)> {
        brokers.iter().map(|b| (b.clone(), Config::Account(c.clone()))).collect()
    };
    let Some(known) = &target.accounts else {
        warnings.push(
            "the target's accounts were not read, so this one is planned as new: on ACL 1.0 an \
             account of that name would be replaced, on ACL 2.0 the broker refuses it"
                .into(),
        );
        return Action::Create { per_broker: everywhere(&config) };
    };
    let Some(current) = existing(known, &config) else {
        return Action::Create { per_broker: everywhere(&config) };
    };
    let differences = differences(&target.cluster, &current, &config);
    if differences.is_empty() {
        Action::Unchanged
    } else if overwrite {
        Action::Update { per_broker: everywhere(&config), differences }
    } else {
        Action::Fail { cause: describe(&differences) }
    }
}

fn existing(known: &TargetAccounts, wanted: &AccountConfig) -> Option<AccountConfig> {
    match wanted {
        AccountConfig::Plain(a) => known.plain.get(&a.access_key).cloned().map(AccountConfig::Plain),
        AccountConfig::Acl2 { user, .. } => known
            .users
            .get(&user.username)
            .map(|u| AccountConfig::Acl2 { user: u.clone(), acl: known.acls.get(&user.username).cloned() }),
    }
}

/// Secrets are compared but never shown.
fn differences(cluster: &str, target: &AccountConfig, source: &AccountConfig) -> Vec<FieldDifference> {
    let mut out = Vec::new();
    let mut field = |name: &str, t: String, s: String| {
        if t != s {
            out.push(FieldDifference { broker: cluster.into(), field: name.into(), target: t, source: s });
        }
    };
    let hidden = |t: &Option<String>, s: &Option<String>| match (t, s) {
        (Some(t), Some(s)) if t != s => ("(hidden)".to_string(), "(hidden, different)".to_string()),
        _ => (String::new(), String::new()),
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
    let list = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.join(", ")
    };
    match (target, source) {
        (AccountConfig::Plain(t), AccountConfig::Plain(s)) => {
            let (ts, ss) = hidden(&t.secret_key, &s.secret_key);
            field("secretKey", ts, ss);
            field("whiteRemoteAddress", opt(&t.white_remote_address), opt(&s.white_remote_address));
            field("admin", t.admin.to_string(), s.admin.to_string());
            field("defaultTopicPerm", opt(&t.default_topic_perm), opt(&s.default_topic_perm));
            field("defaultGroupPerm", opt(&t.default_group_perm), opt(&s.default_group_perm));
            field("topicPerms", list(&t.topic_perms), list(&s.topic_perms));
            field("groupPerms", list(&t.group_perms), list(&s.group_perms));
        }
        (AccountConfig::Acl2 { user: tu, acl: ta }, AccountConfig::Acl2 { user: su, acl: sa }) => {
            let (tp, sp) = hidden(&tu.password, &su.password);
            field("password", tp, sp);
            let lower = |v: &Option<String>| opt(v).to_lowercase();
            field("userType", lower(&tu.user_type), lower(&su.user_type));
            if tu.user_status.is_some() && su.user_status.is_some() {
                field("userStatus", lower(&tu.user_status), lower(&su.user_status));
            }
            field("policies", policy_lines(ta.as_ref()), policy_lines(sa.as_ref()));
        }
        // `existing` looks accounts up in the model of the wanted one.
        _ => {}
    }
    out
}

/// Policies as sorted lines; names the broker matches without regard to case are lower-cased.
fn policy_lines(acl: Option<&Acl>) -> String {
    let mut lines: Vec<String> = Vec::new();
    for policy in acl.map(|a| a.policies.as_slice()).unwrap_or_default() {
        let kind = policy.policy_type.as_deref().unwrap_or("Custom").to_lowercase();
        for e in &policy.entries {
            let mut actions: Vec<String> = e.actions.iter().map(|a| a.to_lowercase()).collect();
            actions.sort();
            let mut ips = e.source_ips.clone();
            ips.sort();
            let from = if ips.is_empty() { String::new() } else { format!(" from {}", ips.join(",")) };
            lines.push(format!(
                "{kind} {} {} {}{from}",
                e.resource.as_deref().unwrap_or("?"),
                actions.join("|"),
                e.decision.as_deref().unwrap_or("?").to_lowercase()
            ));
        }
    }
    lines.sort();
    if lines.is_empty() {
        "(none)".into()
    } else {
        lines.join("; ")
    }
}
