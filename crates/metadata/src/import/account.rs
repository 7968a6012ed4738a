//! Accounts (rule 7): which are chosen, what each becomes in the target's ACL model, and how it
//! compares with the target's own accounts when those could be read. Accounts hold for the
//! whole cluster, so they are compared once and written to every chosen master.

use ferry_admin::{Acl, User};

use super::acl;
use super::compare::describe;
use super::naming::{select, DEFAULT_NAMESPACE};
use super::options::{Filter, ImportOptions, Mode};
use super::plan::{AccountConfig, Action, Config, FieldDifference, ImportPlan, ItemKind, PlannedItem};
use super::source::Source;
use super::target::{AclModel, TargetAccounts, TargetLayout};
use crate::document::AclAccount;

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

/// The plan as it may be shown: secret keys and passwords in account configs replaced by
/// `<redacted>` (plans carry them so that the executor can write them).
pub fn without_secrets(plan: &ImportPlan) -> ImportPlan {
    let mut shown = plan.clone();
    for item in &mut shown.items {
        let per_broker = match &mut item.action {
            Action::Create { per_broker } | Action::Update { per_broker, .. } => per_broker,
            Action::Unchanged | Action::Fail { .. } => continue,
        };
        for (_, config) in per_broker.iter_mut() {
            match config {
                Config::Account(AccountConfig::Plain(a)) => {
                    if a.secret_key.is_some() {
                        a.secret_key = Some(REDACTED.into());
                    }
                }
                Config::Account(AccountConfig::Acl2 { user, .. }) => {
                    if user.password.is_some() {
                        user.password = Some(REDACTED.into());
                    }
                }
                Config::Topic(_) | Config::Group(_) => {}
            }
        }
    }
    shown
}

const REDACTED: &str = "<redacted>";

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
            "account '{name}': no password in the source (a document exported without \
             --include-secrets, or a live source, which is read without secrets); it cannot be \
             created without one"
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
        warnings.push(match config {
            AccountConfig::Plain(_) => "the target's accounts were not read (4.x brokers do not list \
                 them; give the broker host's plain_acl.yml with --target-acl-file to compare): \
                 UPDATE_AND_CREATE_ACL_CONFIG creates the account or replaces one of that name"
                .into(),
            AccountConfig::Acl2 { .. } => "the target's accounts were not read, so this one is \
                 planned as new: the broker refuses it if a user of that name exists"
                .into(),
        });
        return Action::Create { per_broker: everywhere(&config) };
    };
    let Some(current) = existing(known, &config) else {
        return Action::Create { per_broker: everywhere(&config) };
    };
    let differences = differences(&target.cluster, &current, &config);
    if differences.is_empty() {
        return Action::Unchanged;
    }
    if !overwrite {
        return Action::Fail { cause: describe(&differences) };
    }
    if let (AccountConfig::Plain(t), AccountConfig::Plain(s)) = (&current, &config) {
        if let Some(cause) = uncleared_lists(t, s) {
            return Action::Fail { cause };
        }
    }
    Action::Update { per_broker: everywhere(&config), differences }
}

/// UPDATE_AND_CREATE_ACL_CONFIG cannot empty a list: 4.9.8 keeps the account's `topicPerms` /
/// `groupPerms` when the request has none, and refuses an empty one (`Permission.checkResourcePerms`
/// on `""`). Such an update would leave the target with permissions the source does not give.
fn uncleared_lists(target: &AclAccount, source: &AclAccount) -> Option<String> {
    let stuck: Vec<&str> = [
        ("topicPerms", &target.topic_perms, &source.topic_perms),
        ("groupPerms", &target.group_perms, &source.group_perms),
    ]
    .into_iter()
    .filter(|(_, t, s)| !t.is_empty() && s.is_empty())
    .map(|(name, _, _)| name)
    .collect();
    (!stuck.is_empty()).then(|| {
        format!(
            "account '{}': the source has no {} but the target has; UPDATE_AND_CREATE_ACL_CONFIG \
             cannot empty them (the broker keeps what the request leaves out), so an update would \
             keep permissions the source does not give: delete the account on the target \
             (mqadmin deleteAccessConfig) and import again",
            source.access_key,
            stuck.join(" and ")
        )
    })
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
            // As 4.9.8 reads them: a blank white address matches nobody, like none; a missing
            // default permission is DENY (`Permission.parsePermFromString`).
            let white =
                |v: &Option<String>| opt(&v.as_ref().map(|w| w.trim().to_string()).filter(|w| !w.is_empty()));
            let perm = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("DENY").to_string();
            let (ts, ss) = hidden(&t.secret_key, &s.secret_key);
            field("secretKey", ts, ss);
            field("whiteRemoteAddress", white(&t.white_remote_address), white(&s.white_remote_address));
            field("admin", t.admin.to_string(), s.admin.to_string());
            field("defaultTopicPerm", perm(&t.default_topic_perm), perm(&s.default_topic_perm));
            field("defaultGroupPerm", perm(&t.default_group_perm), perm(&s.default_group_perm));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::target::MajorVersion;

    fn account(key: &str) -> AclAccount {
        AclAccount {
            access_key: key.into(),
            secret_key: Some("secret-0001".into()),
            topic_perms: vec!["orders=PUB".into()],
            ..AclAccount::default()
        }
    }

    fn target_with(accounts: &[AclAccount]) -> TargetLayout {
        let mut t = TargetLayout::new("T", MajorVersion::V4, vec!["broker-a".into()]);
        let plain = accounts.iter().map(|a| (a.access_key.clone(), a.clone())).collect();
        t.accounts = Some(TargetAccounts { plain, ..TargetAccounts::default() });
        t
    }

    fn decided(source: &AclAccount, target: &TargetLayout, overwrite: bool) -> Action {
        let brokers = vec!["broker-a".to_string()];
        decide(AccountConfig::Plain(source.clone()), target, overwrite, &brokers, &mut Vec::new())
    }

    /// What 4.9.8 reads the same way compares equal, so a re-run after an update converges.
    #[test]
    fn a_missing_default_equals_deny_and_a_blank_address_equals_none() {
        let source = account("app-0001");
        let mut on_target = source.clone();
        on_target.default_topic_perm = Some("DENY".into());
        on_target.default_group_perm = Some(" DENY".into());
        on_target.white_remote_address = Some(String::new());
        assert_eq!(decided(&source, &target_with(&[on_target.clone()]), false), Action::Unchanged);
        on_target.default_group_perm = Some("SUB".into());
        let Action::Fail { cause } = decided(&source, &target_with(&[on_target]), false) else { panic!() };
        assert!(cause.contains("defaultGroupPerm SUB on target, DENY in source"), "{cause}");
    }

    #[test]
    fn an_update_that_would_have_to_empty_a_list_fails_even_with_overwrite() {
        let mut source = account("app-0001");
        source.topic_perms.clear();
        let on_target = account("app-0001");
        let Action::Fail { cause } = decided(&source, &target_with(std::slice::from_ref(&on_target)), true)
        else {
            panic!()
        };
        assert!(cause.contains("topicPerms") && cause.contains("deleteAccessConfig"), "{cause}");
        let mut replaced = account("app-0001");
        replaced.topic_perms = vec!["audit=SUB".into()];
        assert!(matches!(decided(&replaced, &target_with(&[on_target]), true), Action::Update { .. }));
    }

    #[test]
    fn a_shown_plan_has_no_secrets() {
        let plan = ImportPlan {
            items: vec![PlannedItem {
                kind: ItemKind::Account,
                source_name: "app-0001".into(),
                target_name: "app-0001".into(),
                namespace: "default".into(),
                action: Action::Create {
                    per_broker: vec![
                        ("a".into(), Config::Account(AccountConfig::Plain(account("app-0001")))),
                        (
                            "b".into(),
                            Config::Account(AccountConfig::Acl2 {
                                user: User { password: Some("pw-0001".into()), ..User::default() },
                                acl: None,
                            }),
                        ),
                    ],
                },
                warnings: vec![],
            }],
            namespaces: vec![],
            queue_mapping_explained: String::new(),
            warnings: vec![],
        };
        let shown = serde_json::to_string(&without_secrets(&plan)).unwrap();
        assert!(!shown.contains("secret-0001") && !shown.contains("pw-0001"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert!(serde_json::to_string(&plan).unwrap().contains("secret-0001"), "the plan itself keeps them");
    }
}
