//! ACL 1.0 request signing (`AclClientRPCHook`, `AclUtils`, `AclSigner` in apache/rocketmq 4.9.8):
//! add `AccessKey` (and `SecurityToken` when set) to the extFields, concatenate the *values* of all
//! extFields sorted by key (except `Signature`), append the body, HMAC-SHA1 with the secret key,
//! Base64, and put the result in `Signature`. 5.x ACL 2.0 accepts the same signature.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::frame::Frame;

pub const ACCESS_KEY: &str = "AccessKey";
pub const SIGNATURE: &str = "Signature";
pub const SECURITY_TOKEN: &str = "SecurityToken";

/// An access key and its secret. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    secret_key: String,
    pub security_token: Option<String>,
}

impl Credentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Credentials {
        Credentials { access_key: access_key.into(), secret_key: secret_key.into(), security_token: None }
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// Signs `frame` in place, as the Java client's RPC hook does before sending.
    pub fn sign(&self, frame: &mut Frame) {
        let fields = &mut frame.header.ext_fields;
        fields.insert(ACCESS_KEY.to_string(), self.access_key.clone());
        if let Some(token) = &self.security_token {
            fields.insert(SECURITY_TOKEN.to_string(), token.clone());
        }
        fields.remove(SIGNATURE);
        let signature =
            signature(fields.values().map(String::as_str), &frame.body, self.secret_key.as_bytes());
        frame.header.ext_fields.insert(SIGNATURE.to_string(), signature);
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// The signature over the sorted field values and the body.
pub fn signature<'a>(sorted_values: impl Iterator<Item = &'a str>, body: &[u8], secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    for v in sorted_values {
        mac.update(v.as_bytes());
    }
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::RequestCode;

    #[test]
    fn signs_sorted_values_and_body_with_hmac_sha1() {
        let mut f = Frame::request(RequestCode::GET_ALL_TOPIC_CONFIG)
            .with_fields([("topic", "T"), ("b", "x")])
            .with_body(&b"body"[..]);
        Credentials::new("ak", "sk").sign(&mut f);
        // Sorted keys: AccessKey, b, topic -> "ak" + "x" + "T" + body.
        // Reference: printf 'akxTbody' | openssl dgst -sha1 -hmac sk -binary | base64
        assert_eq!(f.header.field(SIGNATURE), Some("vrlenBIRsouuZdYgnpYAhLJwrE0="));
        assert_eq!(f.header.field(ACCESS_KEY), Some("ak"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = Credentials::new("ak", "very-secret");
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
