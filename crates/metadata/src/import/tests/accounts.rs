//! Rule 7: ACL 1.0 accounts onto ACL 1.0 and ACL 2.0 targets; ACL 2.0 users onto ACL 2.0.

use ferry_admin::{Acl, Policy, PolicyEntry, User};
use serde_json::json;

use super::*;

fn plain(accounts: Value) -> Document {
    let acl = json!({"kind": "plain", "origin": "plain_acl.yml", "secretsIncluded": true,
        "globalWhiteRemoteAddresses": ["10.0.0.*"], "accounts": accounts});
    ferry_doc(&["broker-a"], json!([]), json!([]), Some(acl))
}

fn shop_app() -> Value {
    json!({"accessKey": "shop-app", "secretKey": "secret-123", "admin": false,
        "whiteRemoteAddress": "192.168.1.*", "defaultTopicPerm": "DENY", "defaultGroupPerm": "SUB",
        "topicPerms": ["orders=PUB|SUB", "audit=DENY"], "groupPerms": ["billing=SUB"]})
}

fn entry(resource: &str, actions: &[&str], decision: &str, ips: &[&str]) -> PolicyEntry {
    PolicyEntry {
        resource: Some(resource.into()),
        actions: actions.iter().map(|a| a.to_string()).collect(),
        source_ips: ips.iter().map(|a| a.to_string()).collect(),
        decision: Some(decision.into()),
    }
}

fn acl2(item: &PlannedItem) -> (User, Option<Acl>) {
    match account_config(item) {
        AccountConfig::Acl2 { user, acl } => (user, acl),
        other => panic!("{other:?}"),
    }
}

#[test]
fn plain_accounts_go_to_a_4x_target_as_they_are() {
    let doc = plain(json!([shop_app()]));
    let plan = run(&doc, &target(MajorVersion::V4), &ImportOptions::default());
    let a = item(&plan, ItemKind::Account, "shop-app");
    let source = &doc.ferry.as_ref().unwrap().acl.as_ref().unwrap().accounts[0];
    assert_eq!(account_config(a), AccountConfig::Plain(source.clone()));
    assert!(plan.warnings.iter().any(|w| w.contains("globalWhiteRemoteAddresses")));
}

#[test]
fn plain_accounts_map_onto_acl2_users_and_policies() {
    let plan = run(&plain(json!([shop_app()])), &target(MajorVersion::V5), &ImportOptions::default());
    let a = item(&plan, ItemKind::Account, "shop-app");
    let (user, acl) = acl2(a);
    assert_eq!(user.username, "shop-app");
    assert_eq!(user.password.as_deref(), Some("secret-123"));
    assert_eq!(user.user_type.as_deref(), Some("Normal"));
    let acl = acl.unwrap();
    assert_eq!(acl.subject, "User:shop-app");
    let expected = vec![
        Policy {
            policy_type: Some("Custom".into()),
            entries: vec![
                entry("Topic:orders", &["Pub", "Sub"], "Allow", &[]),
                entry("Topic:audit", &["All"], "Deny", &[]),
                entry("Group:billing", &["Sub"], "Allow", &[]),
            ],
        },
        Policy {
            policy_type: Some("Default".into()),
            entries: vec![entry("Topic:*", &["All"], "Deny", &[]), entry("Group:*", &["Sub"], "Allow", &[])],
        },
    ];
    assert_eq!(acl.policies, expected);
    assert!(a.warnings.iter().any(|w| w.contains("'192.168.1.*' not carried")), "{:?}", a.warnings);
}

#[test]
fn white_addresses_can_become_source_ips_and_fail_when_they_cannot() {
    let mut odd = shop_app();
    odd["accessKey"] = json!("odd-app1");
    odd["whiteRemoteAddress"] = json!("fe80::*");
    let options = ImportOptions { white_addresses: WhiteAddresses::ToSourceIps, ..ImportOptions::default() };
    let plan = run(&plain(json!([shop_app(), odd])), &target(MajorVersion::V5), &options);
    let (_, acl) = acl2(item(&plan, ItemKind::Account, "shop-app"));
    let entries = &acl.unwrap().policies[0].entries;
    assert!(entries.iter().all(|e| e.source_ips == vec!["192.168.1.0/24".to_string()]));
    let c = cause(item(&plan, ItemKind::Account, "odd-app1"));
    assert!(c.contains("'odd-app1'") && c.contains("fe80::*"), "{c}");
}

#[test]
fn admins_become_super_users_without_policies() {
    let mut admin = shop_app();
    admin["admin"] = json!(true);
    let plan = run(&plain(json!([admin])), &target(MajorVersion::V5), &ImportOptions::default());
    let a = item(&plan, ItemKind::Account, "shop-app");
    let (user, acl) = acl2(a);
    assert_eq!((user.user_type.as_deref(), acl), (Some("Super"), None));
    assert!(a.warnings.iter().any(|w| w.contains("Super")));
}

#[test]
fn accounts_without_secrets_or_with_bad_permissions_fail_with_the_reason() {
    let mut no_secret = shop_app();
    no_secret.as_object_mut().unwrap().remove("secretKey");
    let mut bad_perm = shop_app();
    bad_perm["accessKey"] = json!("bad-perm");
    bad_perm["topicPerms"] = json!(["orders=PUBSUB"]);
    let doc = plain(json!([no_secret, bad_perm]));
    for version in [MajorVersion::V4, MajorVersion::V5] {
        let plan = run(&doc, &target(version), &ImportOptions::default());
        assert!(cause(item(&plan, ItemKind::Account, "shop-app")).contains("--include-secrets"));
        assert!(cause(item(&plan, ItemKind::Account, "bad-perm")).contains("orders=PUBSUB"));
    }
}

#[test]
fn permissions_follow_topics_into_the_namespace() {
    let options = ImportOptions { mode: Mode::ToNamespace("ns".into()), ..ImportOptions::default() };
    let plan = run(&plain(json!([shop_app()])), &target(MajorVersion::V4), &options);
    let a = item(&plan, ItemKind::Account, "shop-app");
    let AccountConfig::Plain(account) = account_config(a) else { panic!() };
    assert_eq!(account.topic_perms, vec!["ns%orders=PUB|SUB", "ns%audit=DENY"]);
    assert_eq!(account.group_perms, vec!["ns%billing=SUB"]);
    assert_eq!(a.namespace, "ns");
}

#[test]
fn acl2_users_go_to_acl2_targets_and_fail_on_acl1_targets() {
    let acl = json!({"kind": "acl2", "origin": "10.0.0.1:10911", "secretsIncluded": true,
        "users": [{"username": "u1", "password": "pw", "userType": "Normal"},
                  {"username": "u2", "password": null, "userType": "Normal"}],
        "policies": [{"subject": "User:u1", "policies": [{"policyType": "Custom",
            "entries": [{"resource": "Topic:orders", "actions": ["Pub"], "decision": "Allow"}]}]}]});
    let doc = ferry_doc(&["broker-a"], json!([]), json!([]), Some(acl));
    let plan = run(&doc, &target(MajorVersion::V5), &ImportOptions::default());
    let (user, acl) = acl2(item(&plan, ItemKind::Account, "u1"));
    assert_eq!(user.password.as_deref(), Some("pw"));
    assert_eq!(acl.unwrap().policies[0].entries[0].resource.as_deref(), Some("Topic:orders"));
    assert!(cause(item(&plan, ItemKind::Account, "u2")).contains("--include-secrets"));
    let plan = run(&doc, &target(MajorVersion::V4), &ImportOptions::default());
    assert!(cause(item(&plan, ItemKind::Account, "u1")).contains("ACL 1.0 target"));
}

#[test]
fn known_target_accounts_are_compared_without_showing_secrets() {
    let doc = plain(json!([shop_app()]));
    let mut known = target(MajorVersion::V4);
    known.accounts = Some(TargetAccounts::default());
    let first = run(&doc, &known, &ImportOptions::default());
    let mut after = first.simulate(&known);
    let existing = after.accounts.as_mut().unwrap().plain.get_mut("shop-app").unwrap();
    existing.secret_key = Some("other-secret".into());
    existing.default_group_perm = Some("PUB".into());
    let plan = run(&doc, &after, &ImportOptions::default());
    let c = cause(item(&plan, ItemKind::Account, "shop-app"));
    assert!(c.contains("defaultGroupPerm PUB on target, SUB in source"), "{c}");
    assert!(
        c.contains("secretKey (hidden)") && !c.contains("other-secret") && !c.contains("secret-123"),
        "{c}"
    );
    let unknown = run(&doc, &target(MajorVersion::V4), &ImportOptions::default());
    let a = item(&unknown, ItemKind::Account, "shop-app");
    assert!(a.warnings.iter().any(|w| w.contains("not read")), "{:?}", a.warnings);
}
