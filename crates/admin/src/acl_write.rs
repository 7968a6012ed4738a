//! Writing ACL accounts into a cluster, for imports: ACL 1.0 accounts (`plain_acl.yml`, 4.x to
//! 5.3.2) with UPDATE_AND_CREATE_ACL_CONFIG, ACL 2.0 users and policies (5.3+) with the AUTH_*
//! requests. Each call goes to one broker: both keep their accounts per broker (the plain ACL
//! file on the broker's host; 5.3 auth metadata in the broker's own store), so callers send to
//! every broker of the cluster, as `mqadmin updateAclConfig -c` / `createUser -c` do.
//!
//! Secrets travel in request headers (ACL 1.0) or bodies (ACL 2.0) and never in errors: a broker
//! remark that repeats a secret (4.9.8 `PlainPermissionManager` puts the secret key in some of its
//! messages) has it replaced by `<redacted>`.

use ferry_remoting::request::{
    CreateAccessConfigRequestHeader, CreateAclRequestHeader, CreateUserRequestHeader, DeleteAclRequestHeader,
    GetAclRequestHeader, GetUserRequestHeader, RequestHeader, UpdateAclRequestHeader,
    UpdateUserRequestHeader,
};
use ferry_remoting::{fastjson, Frame};

use crate::acl::{Acl, PlainAccount, User};
use crate::client::{parse_body, Admin};
use crate::error::AdminError;

const REDACTED: &str = "<redacted>";

impl Admin {
    /// UPDATE_AND_CREATE_ACL_CONFIG on one broker: creates the account or replaces the fields of
    /// the one with this access key. Fields left `None`/empty here are *kept* by the broker on an
    /// existing account (see [`CreateAccessConfigRequestHeader`]); callers that need a field
    /// cleared send its neutral value (an empty `whiteRemoteAddress`, `DENY` defaults).
    pub async fn create_or_update_plain_account(
        &self,
        broker_addr: &str,
        account: &PlainAccount,
    ) -> Result<(), AdminError> {
        let joined = |perms: &[String]| (!perms.is_empty()).then(|| perms.join(","));
        let header = CreateAccessConfigRequestHeader {
            access_key: account.access_key.clone(),
            secret_key: (!account.secret_key.is_empty()).then(|| account.secret_key.clone()),
            white_remote_address: account.white_remote_address.clone(),
            admin: account.admin,
            default_topic_perm: account.default_topic_perm.clone(),
            default_group_perm: account.default_group_perm.clone(),
            topic_perms: joined(&account.topic_perms),
            group_perms: joined(&account.group_perms),
        };
        self.call(broker_addr, header.to_frame()).await.map(drop).map_err(|e| redact(e, &account.secret_key))
    }

    /// AUTH_CREATE_USER with the `UserInfo` body. A broker refuses a user that exists ("The user
    /// is existed") and a `Super` user unless the caller is one.
    pub async fn create_acl_user(&self, broker_addr: &str, user: &User) -> Result<(), AdminError> {
        let header = CreateUserRequestHeader { username: user.username.clone() };
        self.write_user(broker_addr, header.to_frame(), user).await
    }

    /// AUTH_UPDATE_USER: password (when not blank), type and status (when set) replace the user's.
    pub async fn update_acl_user(&self, broker_addr: &str, user: &User) -> Result<(), AdminError> {
        let header = UpdateUserRequestHeader { username: user.username.clone() };
        self.write_user(broker_addr, header.to_frame(), user).await
    }

    async fn write_user(&self, broker_addr: &str, frame: Frame, user: &User) -> Result<(), AdminError> {
        let frame = frame.with_body(fastjson::to_vec(user));
        let secret = user.password.as_deref().unwrap_or_default();
        self.call(broker_addr, frame).await.map(drop).map_err(|e| redact(e, secret))
    }

    /// AUTH_GET_USER: the user with its password, or `None` when the broker has no such user.
    pub async fn acl_user(&self, broker_addr: &str, username: &str) -> Result<Option<User>, AdminError> {
        let header = GetUserRequestHeader { username: username.to_string() };
        let response = self.call(broker_addr, header.to_frame()).await?;
        if response.body.is_empty() {
            return Ok(None);
        }
        parse_body(broker_addr, GetUserRequestHeader::CODE, &response.body).map(Some)
    }

    /// AUTH_CREATE_ACL with the `AclInfo` body. The broker merges the policies into the subject's
    /// existing ones (an entry replaces the one on the same resource) and refuses an ACL without
    /// policies, or one whose user does not exist.
    pub async fn create_acl(&self, broker_addr: &str, acl: &Acl) -> Result<(), AdminError> {
        let header = CreateAclRequestHeader { subject: acl.subject.clone() };
        let frame = header.to_frame().with_body(fastjson::to_vec(acl));
        self.call(broker_addr, frame).await.map(drop)
    }

    /// AUTH_UPDATE_ACL: merges like [`Admin::create_acl`] (and creates the ACL when the subject
    /// has none); entries on other resources stay.
    pub async fn update_acl(&self, broker_addr: &str, acl: &Acl) -> Result<(), AdminError> {
        let header = UpdateAclRequestHeader { subject: acl.subject.clone() };
        let frame = header.to_frame().with_body(fastjson::to_vec(acl));
        self.call(broker_addr, frame).await.map(drop)
    }

    /// AUTH_GET_ACL: the subject's policies, or `None` when it has none.
    pub async fn acl_of(&self, broker_addr: &str, subject: &str) -> Result<Option<Acl>, AdminError> {
        let header = GetAclRequestHeader { subject: subject.to_string() };
        let response = self.call(broker_addr, header.to_frame()).await?;
        if response.body.is_empty() {
            return Ok(None);
        }
        parse_body(broker_addr, GetAclRequestHeader::CODE, &response.body).map(Some)
    }

    /// AUTH_DELETE_ACL: one entry (`policy_type`, `resource`), or with `resource` `None` the
    /// subject's whole ACL. The broker refuses when the subject has no ACL.
    pub async fn delete_acl(
        &self,
        broker_addr: &str,
        subject: &str,
        policy_type: Option<&str>,
        resource: Option<&str>,
    ) -> Result<(), AdminError> {
        let header = DeleteAclRequestHeader {
            subject: subject.to_string(),
            policy_type: policy_type.map(str::to_string),
            resource: resource.map(str::to_string),
        };
        self.call(broker_addr, header.to_frame()).await.map(drop)
    }
}

/// The error with every occurrence of `secret` in its text replaced.
fn redact(e: AdminError, secret: &str) -> AdminError {
    if secret.is_empty() {
        return e;
    }
    let clean = |s: String| s.replace(secret, REDACTED);
    match e {
        AdminError::Refused { addr, op, code, remark } => {
            AdminError::Refused { addr, op, code, remark: clean(remark) }
        }
        AdminError::AuthenticationFailed { addr, remark } => {
            AdminError::AuthenticationFailed { addr, remark: clean(remark) }
        }
        AdminError::Protocol { addr, detail } => AdminError::Protocol { addr, detail: clean(detail) },
        AdminError::UnreadableBody { addr, op, detail } => {
            AdminError::UnreadableBody { addr, op, detail: clean(detail) }
        }
        AdminError::ConnectionLost { addr, detail } => {
            AdminError::ConnectionLost { addr, detail: clean(detail) }
        }
        AdminError::Unreachable { addr, detail } => AdminError::Unreachable { addr, detail: clean(detail) },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use ferry_remoting::{RequestCode, ResponseCode};

    use super::*;
    use crate::acl::{Policy, PolicyEntry};

    #[test]
    fn a_remark_repeating_the_secret_is_redacted() {
        let e = AdminError::Refused {
            addr: "b:10911".into(),
            op: RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
            code: ResponseCode(209),
            remark: "The accessKey=app-0001 and secretKey=tiny cannot be null".into(),
        };
        let shown = redact(e, "tiny").to_string();
        assert!(!shown.contains("tiny") && shown.contains("secretKey=<redacted>"), "{shown}");
    }

    /// The bodies 5.3.3 `UserInfo` / `AclInfo` (fastjson, field by field) read.
    #[test]
    fn user_and_acl_bodies_use_the_java_field_names() {
        let user = User {
            username: "app".into(),
            password: Some("pw".into()),
            user_type: Some("Normal".into()),
            user_status: None,
        };
        let v: serde_json::Value = serde_json::from_slice(&fastjson::to_vec(&user)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"username": "app", "password": "pw", "userType": "Normal", "userStatus": null})
        );
        let acl = Acl {
            subject: "User:app".into(),
            policies: vec![Policy {
                policy_type: Some("Custom".into()),
                entries: vec![PolicyEntry {
                    resource: Some("Topic:orders".into()),
                    actions: vec!["Pub".into(), "Sub".into()],
                    source_ips: vec!["10.0.0.0/24".into()],
                    decision: Some("Allow".into()),
                }],
            }],
        };
        let v: serde_json::Value = serde_json::from_slice(&fastjson::to_vec(&acl)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"subject": "User:app", "policies": [{"policyType": "Custom", "entries": [
                {"resource": "Topic:orders", "actions": ["Pub", "Sub"], "sourceIps": ["10.0.0.0/24"],
                 "decision": "Allow"}]}]})
        );
    }

    /// Answers recorded from real brokers by `crates/ferry/tests/import_acl.rs`
    /// (`FERRY_RECORD_FRAMES=1`): 5.3.3 AUTH_GET_ACL of the testkit's `ferryuser`, which the
    /// broker migrated from `plain_acl.yml` at boot (fastjson: keys sorted, no `sourceIps`).
    #[test]
    fn a_recorded_5_3_3_acl_answer_parses() {
        let raw = include_bytes!("../../remoting/tests/frames/5.3.3-broker-auth-get-acl.bin");
        let f = ferry_remoting::frame::decode_one(raw, ferry_remoting::frame::DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(f.header.code, 0);
        let acl: Acl = parse_body("b", GetAclRequestHeader::CODE, &f.body).unwrap();
        assert_eq!(acl.subject, "User:ferryuser");
        let kinds: Vec<&str> = acl.policies.iter().filter_map(|p| p.policy_type.as_deref()).collect();
        assert_eq!(kinds, ["Custom", "Default"]);
        let deny = &acl.policies[0].entries[3];
        assert_eq!(deny.resource.as_deref(), Some("Topic:acl-topic-deny"));
        assert_eq!(
            (deny.actions.as_slice(), deny.decision.as_deref()),
            (&["All".to_string()][..], Some("Deny"))
        );
        assert!(deny.source_ips.is_empty());
    }

    /// 4.9.8 refusing UPDATE_AND_CREATE_ACL_CONFIG for a permission it does not know: code 209 (its
    /// UPDATE_AND_CREATE_ACL_CONFIG_FAILED) and the reason, kept as a refusal, not a login failure.
    #[test]
    fn a_recorded_4_9_8_refusal_keeps_its_code_and_reason() {
        let raw = include_bytes!("../../remoting/tests/frames/4.9.8-broker-update-acl-config-refused.bin");
        let f = ferry_remoting::frame::decode_one(raw, ferry_remoting::frame::DEFAULT_MAX_FRAME).unwrap();
        let e = AdminError::from_remoting(
            ferry_remoting::Error::Response {
                addr: "b:10911".into(),
                request: RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
                code: f.header.response_code(),
                remark: f.header.remark.clone(),
            },
            RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
        );
        let AdminError::Refused { code, remark, .. } = e else { panic!("{e:?}") };
        assert_eq!(code, ResponseCode(209));
        assert!(remark.contains("t=PUBSUB"), "{remark}");
    }
}
