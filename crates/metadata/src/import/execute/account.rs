//! Writing one account item: to every broker of each chosen broker name, in the target's ACL.
//!
//! - ACL 1.0: UPDATE_AND_CREATE_ACL_CONFIG. On an update the broker keeps the fields a request
//!   leaves out, so a white address or default permission the source does not have is sent as
//!   its neutral value (an empty address, `DENY`, which 4.9.8 reads a missing default as).
//! - ACL 2.0: the user (AUTH_CREATE_USER / AUTH_UPDATE_USER), then its policies (AUTH_CREATE_ACL /
//!   AUTH_UPDATE_ACL). The broker merges policies entry by entry, so an update then deletes the
//!   entries the source does not have (AUTH_DELETE_ACL), or the whole ACL when the source has
//!   none: afterwards the target holds exactly the source's policies.

use std::collections::BTreeMap;

use ferry_admin::{Acl, Admin, AdminError, PlainAccount};
use ferry_remoting::RequestCode;

use super::Outcome;
use crate::import::plan::{AccountConfig, Action, Config, PlannedItem};

pub(super) async fn run(admin: &Admin, brokers: &BTreeMap<&str, Vec<&str>>, item: &PlannedItem) -> Outcome {
    let (per_broker, update, done) = match &item.action {
        Action::Unchanged => return Outcome::Unchanged,
        Action::Fail { cause } => return Outcome::Failed(cause.clone()),
        Action::Create { per_broker } => (per_broker, false, Outcome::Created),
        Action::Update { per_broker, .. } => (per_broker, true, Outcome::Updated),
    };
    let mut written: Vec<String> = Vec::new();
    for (broker, config) in per_broker {
        let Config::Account(account) = config else {
            return Outcome::Failed(format!(
                "account '{}': the plan holds no account config",
                item.source_name
            ));
        };
        let Some(addrs) = brokers.get(broker.as_str()) else {
            return Outcome::Failed(format!("broker {broker} has no master in the target cluster"));
        };
        for addr in addrs {
            if let Err(cause) = write(admin, addr, account, update).await {
                let partial = if written.is_empty() {
                    String::new()
                } else {
                    format!(" (already written on {})", written.join(", "))
                };
                return Outcome::Failed(format!("{cause}{partial}"));
            }
            written.push(format!("{broker} at {addr}"));
        }
    }
    done
}

async fn write(admin: &Admin, addr: &str, account: &AccountConfig, update: bool) -> Result<(), String> {
    match account {
        AccountConfig::Plain(a) => {
            let Some(secret) = &a.secret_key else {
                return Err(format!("account '{}': no secret key to write", a.access_key));
            };
            let mut plain = PlainAccount {
                access_key: a.access_key.clone(),
                secret_key: secret.clone(),
                white_remote_address: a.white_remote_address.clone(),
                admin: a.admin,
                default_topic_perm: a.default_topic_perm.clone(),
                default_group_perm: a.default_group_perm.clone(),
                topic_perms: a.topic_perms.clone(),
                group_perms: a.group_perms.clone(),
            };
            if update {
                plain.white_remote_address.get_or_insert_with(String::new);
                plain.default_topic_perm.get_or_insert_with(|| "DENY".into());
                plain.default_group_perm.get_or_insert_with(|| "DENY".into());
            }
            admin.create_or_update_plain_account(addr, &plain).await.map_err(|e| describe(&e))
        }
        AccountConfig::Acl2 { user, acl } => {
            let written = if update {
                admin.update_acl_user(addr, user).await
            } else {
                admin.create_acl_user(addr, user).await
            };
            written.map_err(|e| describe(&e))?;
            let subject = format!("User:{}", user.username);
            write_policies(admin, addr, &subject, acl.as_ref(), update).await.map_err(|e| {
                if update {
                    format!("user updated, but not its policies: {}", describe(&e))
                } else {
                    format!(
                        "user created, but not its policies: {}; import again with --overwrite to write them",
                        describe(&e)
                    )
                }
            })
        }
    }
}

async fn write_policies(
    admin: &Admin,
    addr: &str,
    subject: &str,
    wanted: Option<&Acl>,
    update: bool,
) -> Result<(), AdminError> {
    if let Some(acl) = wanted {
        if update {
            admin.update_acl(addr, acl).await?;
        } else {
            admin.create_acl(addr, acl).await?;
        }
    }
    if !update {
        return Ok(());
    }
    let Some(current) = admin.acl_of(addr, subject).await? else {
        return Ok(());
    };
    match wanted {
        None => admin.delete_acl(addr, subject, None, None).await,
        Some(wanted) => {
            for (policy_type, resource) in stale(&current, wanted) {
                admin.delete_acl(addr, subject, Some(&policy_type), Some(&resource)).await?;
            }
            Ok(())
        }
    }
}

/// The (policy type, resource) entries `current` has and `wanted` does not. Types are matched
/// without regard to case, as the broker does (`PolicyType.getByName`, `ResourceType.getByName`).
fn stale(current: &Acl, wanted: &Acl) -> Vec<(String, String)> {
    let key = |policy_type: Option<&str>, resource: &str| {
        let policy_type = policy_type.unwrap_or("Custom").to_lowercase();
        let resource = match resource.split_once(':') {
            Some((kind, name)) => format!("{}:{name}", kind.to_lowercase()),
            None => resource.to_string(),
        };
        (policy_type, resource)
    };
    let entries = |acl: &Acl| -> Vec<(String, String, (String, String))> {
        acl.policies
            .iter()
            .flat_map(|p| {
                p.entries.iter().filter_map(move |e| {
                    let resource = e.resource.as_deref()?;
                    let shown_type = p.policy_type.clone().unwrap_or_else(|| "Custom".into());
                    Some((shown_type, resource.to_string(), key(p.policy_type.as_deref(), resource)))
                })
            })
            .collect()
    };
    let keep: Vec<(String, String)> = entries(wanted).into_iter().map(|(_, _, k)| k).collect();
    entries(current)
        .into_iter()
        .filter(|(_, _, k)| !keep.contains(k))
        .map(|(policy_type, resource, _)| (policy_type, resource))
        .collect()
}

/// The target's refusal in words. 4.x answers a failed UPDATE_AND_CREATE_ACL_CONFIG with 209,
/// its UPDATE_AND_CREATE_ACL_CONFIG_FAILED (the number 5.x gave to POLLING_FULL).
fn describe(e: &AdminError) -> String {
    match e {
        AdminError::Refused { addr, op, code, remark }
            if *op == RequestCode::UPDATE_AND_CREATE_ACL_CONFIG && code.0 == 209 =>
        {
            format!(
                "{addr}: {op} refused with UPDATE_AND_CREATE_ACL_CONFIG_FAILED(209): {}",
                remark_of(remark)
            )
        }
        AdminError::Refused { addr, op, code, remark } if remark.trim().is_empty() => {
            format!("{addr}: {op} refused with {code}: {}", remark_of(remark))
        }
        other => other.to_string(),
    }
}

fn remark_of(remark: &str) -> &str {
    if remark.trim().is_empty() {
        "the broker gave no reason (is ACL switched on there?)"
    } else {
        remark
    }
}

#[cfg(test)]
mod tests {
    use ferry_admin::{Policy, PolicyEntry};
    use ferry_remoting::ResponseCode;

    use super::*;

    fn acl(entries: &[(&str, &str)]) -> Acl {
        let mut policies: Vec<Policy> = Vec::new();
        for (kind, resource) in entries {
            let entry = PolicyEntry { resource: Some(resource.to_string()), ..PolicyEntry::default() };
            match policies.iter_mut().find(|p| p.policy_type.as_deref() == Some(kind)) {
                Some(p) => p.entries.push(entry),
                None => policies.push(Policy { policy_type: Some(kind.to_string()), entries: vec![entry] }),
            }
        }
        Acl { subject: "User:u".into(), policies }
    }

    #[test]
    fn stale_entries_are_those_the_source_does_not_have() {
        let current = acl(&[
            ("Custom", "Topic:a"),
            ("Custom", "Topic:old"),
            ("Default", "Topic:*"),
            ("Default", "Group:*"),
        ]);
        let wanted = acl(&[("custom", "topic:a"), ("Default", "Topic:*"), ("Custom", "Group:*")]);
        assert_eq!(
            stale(&current, &wanted),
            vec![("Custom".to_string(), "Topic:old".to_string()), ("Default".into(), "Group:*".into())]
        );
    }

    #[test]
    fn a_4x_acl_refusal_is_named_as_4x_names_it() {
        let e = AdminError::Refused {
            addr: "b:10911".into(),
            op: RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
            code: ResponseCode(209),
            remark: String::new(),
        };
        let shown = describe(&e);
        assert!(shown.contains("UPDATE_AND_CREATE_ACL_CONFIG_FAILED(209)"), "{shown}");
        assert!(!shown.contains("POLLING_FULL") && shown.contains("no reason"), "{shown}");
    }
}
