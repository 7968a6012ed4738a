//! ACL 1.0 accounts onto ACL 1.0 and ACL 2.0 targets (rule 7), checked against apache/rocketmq
//! 4.9.8 (`PlainPermissionManager`, `Permission`) and 5.3.3 (`auth` module: `AuthMigrator`,
//! `AclAuthorizationHandler`, `UserAuthorizationHandler`, `AuthorizationMetadataManagerImpl`;
//! the names `Super`/`Normal`, `Custom`/`Default`, `Pub`/`Sub`/`All`, `Allow`/`Deny` and
//! `Topic:`/`Group:` resources are those of `UserType`, `PolicyType`, `Action`, `Decision` and
//! `ResourceType`).

use ferry_admin::{Acl, Policy, PolicyEntry, User};

use super::naming::rename;
use super::options::{Mode, WhiteAddresses};
use super::white_address::{self, Addresses};
use crate::document::AclAccount;
use crate::system::{self, RETRY_PREFIX};

/// 4.9.8 `AclConstants.ACCESS_KEY_MIN_LENGTH` / `SECRET_KEY_MIN_LENGTH`: keys must be longer.
const KEY_MIN_LENGTH: usize = 6;

/// An ACL 1.0 account as ACL 2.0 objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl2Account {
    pub user: User,
    /// `None` when the user has no policies (a broker refuses an ACL without any).
    pub acl: Option<Acl>,
    pub warnings: Vec<String>,
}

/// Maps one ACL 1.0 account onto ACL 2.0:
///
/// - **User**: `username` = accessKey, `password` = secretKey (required: a document exported
///   without `--include-secrets` has none, and the account fails). `admin: true` gives a
///   `Super` user, which 5.3.3 `UserAuthorizationHandler` lets through every check, so it gets
///   no policies; any others `Normal`.
/// - **`topicPerms` / `groupPerms`** `res=PERM` become entries of the `Custom` policy on
///   `Topic:res` / `Group:res`: `PUB` -> `[Pub]`, `SUB` -> `[Sub]`, `PUB|SUB` and `SUB|PUB` ->
///   `[Pub, Sub]`, all `Allow`; `DENY` -> `[All]`, `Deny`. Any other PERM fails the account:
///   ACL 1.0 refuses it too (`Permission.checkResourcePerms`), whereas Apache's `AuthMigrator`
///   would silently make it `All`/`Allow`.
/// - **`defaultTopicPerm` / `defaultGroupPerm`** become `Topic:*` / `Group:*` entries of the
///   `Default` policy, with the same table; an unknown value counts as `DENY`, as in ACL 1.0's
///   `parsePermFromString`. They go in `Default`, not `Custom`, because 5.3.3
///   `AclAuthorizationHandler` looks at `Default` only when no `Custom` entry matches, which is
///   ACL 1.0's rule (a resource's own permission wins over the default); in `Custom`, a
///   `Topic:*` entry would compete with `Topic:res` in a sort whose comparator is not
///   consistent for mixed patterns, so a `DENY` could lose to an allowing default.
/// - **`whiteRemoteAddress`**: see [`WhiteAddresses`]; with `ToSourceIps` a pattern that cannot
///   be written as IPs and CIDR blocks fails the account.
pub fn plain_to_acl2(account: &AclAccount, white: WhiteAddresses) -> Result<Acl2Account, String> {
    let name = &account.access_key;
    let Some(secret) = account.secret_key.clone() else {
        return Err(missing_secret(name));
    };
    let mut warnings = Vec::new();
    let user = User {
        username: name.clone(),
        password: Some(secret),
        user_type: Some(if account.admin { "Super" } else { "Normal" }.to_string()),
        user_status: None,
    };
    if account.admin {
        // 4.9.8 checkPerm lets an admin without resource permissions through; one with them
        // was still checked against them.
        if !account.topic_perms.is_empty() || !account.group_perms.is_empty() {
            warnings.push(
                "admin account: an ACL 2.0 Super user passes every check, so its topic and \
                 group permissions (DENY entries too) no longer apply"
                    .to_string(),
            );
        }
        return Ok(Acl2Account { user, acl: None, warnings });
    }
    let source_ips = match (white, account.white_remote_address.as_deref()) {
        (_, None) => Vec::new(),
        (WhiteAddresses::Drop, Some(w)) => {
            if !w.trim().is_empty() {
                warnings.push(format!(
                    "whiteRemoteAddress '{w}' not carried: in ACL 1.0 requests from there skip the \
                     signature and permission checks; ACL 2.0 has no such bypass, so those \
                     clients must sign with this account"
                ));
            }
            Vec::new()
        }
        (WhiteAddresses::ToSourceIps, Some(w)) => {
            match white_address::parse(w).map_err(|e| format!("account '{name}': {e}"))? {
                Addresses::Nobody | Addresses::Everyone => Vec::new(),
                Addresses::Listed(ips) => {
                    warnings.push(format!(
                        "whiteRemoteAddress '{w}' became sourceIps {}: the account now works only \
                     from there, and always needs its signature",
                        ips.join(", ")
                    ));
                    ips
                }
            }
        }
    };
    let mut custom = Vec::new();
    for (kind, perms) in [("Topic", &account.topic_perms), ("Group", &account.group_perms)] {
        for entry in perms {
            let (resource, perm) = parse_resource_perm(entry)
                .ok_or_else(|| format!("account '{name}': {kind} permission '{entry}' is not res=PERM"))?;
            let resource = resource.strip_prefix(RETRY_PREFIX).unwrap_or(resource);
            let (actions, decision) = actions_of(perm).ok_or_else(|| {
                format!(
                    "account '{name}': {kind} permission '{entry}': {perm} is not PUB, SUB, \
                     PUB|SUB or DENY (Permission.checkResourcePerms)"
                )
            })?;
            custom.push(entry_of(&format!("{kind}:{resource}"), actions, decision, &source_ips));
        }
    }
    let mut default = Vec::new();
    for (kind, perm) in [("Topic", &account.default_topic_perm), ("Group", &account.default_group_perm)] {
        let Some(perm) = perm else { continue };
        let (actions, decision) = actions_of(perm.trim()).unwrap_or_else(|| {
            warnings.push(format!("default {kind} permission '{perm}' is unknown: DENY, as in ACL 1.0"));
            (&["All"][..], "Deny")
        });
        default.push(entry_of(&format!("{kind}:*"), actions, decision, &source_ips));
    }
    let mut policies = Vec::new();
    for (kind, entries) in [("Custom", custom), ("Default", default)] {
        if !entries.is_empty() {
            policies.push(Policy { policy_type: Some(kind.to_string()), entries });
        }
    }
    if policies.is_empty() {
        warnings.push(
            "no permissions: the user is created without policies and, as before, may do nothing".into(),
        );
    }
    let acl = (!policies.is_empty()).then(|| Acl { subject: format!("User:{name}"), policies });
    Ok(Acl2Account { user, acl, warnings })
}

/// Checks an account for an ACL 1.0 target the way 4.9.8 `PlainPermissionManager` and
/// `Permission.checkResourcePerms` would refuse it.
pub(crate) fn check_plain(account: &AclAccount) -> Result<(), String> {
    let name = &account.access_key;
    let Some(secret) = &account.secret_key else {
        return Err(missing_secret(name));
    };
    if name.len() <= KEY_MIN_LENGTH || secret.len() <= KEY_MIN_LENGTH {
        return Err(format!(
            "account '{name}': accessKey and secretKey must be longer than {KEY_MIN_LENGTH} \
             characters (PlainPermissionManager)"
        ));
    }
    for entry in account.topic_perms.iter().chain(&account.group_perms) {
        let ok = parse_resource_perm(entry).is_some_and(|(_, perm)| actions_of(perm).is_some());
        if !ok {
            return Err(format!(
                "account '{name}': permission '{entry}' is not res=PUB, SUB, PUB|SUB or DENY \
                 (Permission.checkResourcePerms)"
            ));
        }
    }
    Ok(())
}

fn missing_secret(name: &str) -> String {
    format!(
        "account '{name}': no secret key in the source (a document exported without \
         --include-secrets, or a live source, which is read without secrets); it cannot be \
         created without one"
    )
}

/// `StringUtils.split(entry, "=")`: empty parts are skipped, exactly two must remain.
fn parse_resource_perm(entry: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = entry.split('=').filter(|p| !p.is_empty()).collect();
    match parts[..] {
        [resource, perm] => Some((resource.trim(), perm.trim())),
        _ => None,
    }
}

fn actions_of(perm: &str) -> Option<(&'static [&'static str], &'static str)> {
    match perm {
        "PUB" => Some((&["Pub"], "Allow")),
        "SUB" => Some((&["Sub"], "Allow")),
        "PUB|SUB" | "SUB|PUB" => Some((&["Pub", "Sub"], "Allow")),
        "DENY" => Some((&["All"], "Deny")),
        _ => None,
    }
}

fn entry_of(resource: &str, actions: &[&str], decision: &str, source_ips: &[String]) -> PolicyEntry {
    PolicyEntry {
        resource: Some(resource.to_string()),
        actions: actions.iter().map(|a| a.to_string()).collect(),
        source_ips: source_ips.to_vec(),
        decision: Some(decision.to_string()),
    }
}

/// In `ToNamespace` mode an account's permissions follow the topics and groups into the
/// namespace. System names are not wrapped (as `NamespaceUtil.wrapNamespace`).
pub(crate) fn rename_plain(account: &AclAccount, mode: &Mode) -> AclAccount {
    let mut renamed = account.clone();
    if let Mode::ToNamespace(_) = mode {
        for perms in [&mut renamed.topic_perms, &mut renamed.group_perms] {
            for entry in perms.iter_mut() {
                if let Some((resource, perm)) = parse_resource_perm(entry) {
                    *entry = format!("{}={perm}", rename_resource(resource, mode));
                }
            }
        }
    }
    renamed
}

/// The same for ACL 2.0 `Topic:x` / `Group:x*` resources; `*` and `Topic:*` stay as they are.
pub(crate) fn rename_acl(acl: &Acl, mode: &Mode) -> Acl {
    let mut renamed = acl.clone();
    for entry in renamed.policies.iter_mut().flat_map(|p| p.entries.iter_mut()) {
        let Some((kind, name)) = entry.resource.as_deref().and_then(|r| r.split_once(':')) else {
            continue;
        };
        if name.is_empty() || name == "*" {
            continue;
        }
        entry.resource = Some(format!("{kind}:{}", rename_resource(name, mode)));
    }
    renamed
}

fn rename_resource(name: &str, mode: &Mode) -> String {
    if system::is_system_topic(name, "", &[]) || system::is_system_group(name) {
        return name.to_string();
    }
    rename(name, mode).target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(perms: &[&str], default_topic: Option<&str>) -> AclAccount {
        AclAccount {
            access_key: "app-0001".into(),
            secret_key: Some("secret-01".into()),
            topic_perms: perms.iter().map(|p| p.to_string()).collect(),
            default_topic_perm: default_topic.map(str::to_string),
            ..AclAccount::default()
        }
    }

    #[test]
    fn an_unknown_default_permission_denies_as_in_acl1() {
        let m = plain_to_acl2(&account(&[], Some("READ")), WhiteAddresses::Drop).unwrap();
        let policy = &m.acl.unwrap().policies[0];
        assert_eq!(policy.policy_type.as_deref(), Some("Default"));
        assert_eq!(policy.entries[0].decision.as_deref(), Some("Deny"));
        assert!(m.warnings[0].contains("'READ'"));
    }

    #[test]
    fn an_account_without_permissions_gets_a_user_and_no_acl() {
        let m = plain_to_acl2(&account(&[], None), WhiteAddresses::Drop).unwrap();
        assert_eq!(m.acl, None);
        assert_eq!(m.user.user_type.as_deref(), Some("Normal"));
    }

    #[test]
    fn resource_permissions_parse_like_string_utils_split() {
        assert_eq!(parse_resource_perm(" t = PUB "), Some(("t", "PUB")));
        assert_eq!(parse_resource_perm("t==SUB"), Some(("t", "SUB")));
        assert_eq!(parse_resource_perm("t=PUB=SUB"), None);
        let mut a = account(&["t=PUB"], None);
        a.group_perms = vec!["%RETRY%g=SUB".into()];
        let m = plain_to_acl2(&a, WhiteAddresses::Drop).unwrap();
        let entries = &m.acl.unwrap().policies[0].entries;
        assert_eq!(entries[1].resource.as_deref(), Some("Group:g"), "as Resource.ofGroup");
    }

    #[test]
    fn short_keys_fail_on_an_acl1_target() {
        let mut a = account(&[], None);
        a.access_key = "short".into();
        assert!(check_plain(&a).unwrap_err().contains("longer than 6"));
    }

    #[test]
    fn renaming_leaves_wildcards_and_system_names_alone() {
        let acl = Acl {
            subject: "User:u".into(),
            policies: vec![Policy {
                policy_type: None,
                entries: ["Topic:*", "*", "Topic:ord*", "Topic:RMQ_SYS_TRACE_TOPIC"]
                    .iter()
                    .map(|r| PolicyEntry { resource: Some(r.to_string()), ..PolicyEntry::default() })
                    .collect(),
            }],
        };
        let renamed = rename_acl(&acl, &Mode::ToNamespace("ns".into()));
        let got: Vec<_> = renamed.policies[0].entries.iter().map(|e| e.resource.clone().unwrap()).collect();
        assert_eq!(got, vec!["Topic:*", "*", "Topic:ns%ord*", "Topic:RMQ_SYS_TRACE_TOPIC"]);
    }
}
