//! Broker names clients and target brokers hand each other inside values: POP receipts, batch
//! acknowledgements and recall handles. When a target broker is shown under an alias (its real
//! name is also a source broker's), a client builds these with the alias and the broker checks
//! them against its real name, and a broker builds some with its real name that the client then
//! uses to find the broker (docs/protocol-notes.md section 14). A target-side relay renames them on the
//! way: [`client_request`] alias -> real toward the broker, [`broker_response`] real -> alias
//! toward the client. Both are pure; the relay applies what they decide.
//!
//! Read in apache/rocketmq at rocketmq-all-5.3.3 (4.9.8 has no POP, no recall, no
//! QUERY_ASSIGNMENT):
//! - extraInfo (a POP receipt) is `ckQueueOffset popTime invisibleTime reviveQid retry brokerName
//!   queueId [queueOffset]`, space separated (`remoting/.../protocol/header/ExtraInfoUtil.java`,
//!   `getBrokerName` is index 5, `MessageConst.KEY_SEPARATOR` is a space). The client builds it
//!   with the name it popped from (`client/.../impl/MQClientAPIImpl.java` `processPopResponse`
//!   L1050-1150) unless the message already carries `POP_CK`, which the broker puts in retry
//!   messages with its own name (`broker/.../processor/PopMessageProcessor.java` L821-834, and
//!   `broker/.../pop/PopConsumerService.java` L148). The client acks at the broker the receipt
//!   names (`DefaultMQPushConsumerImpl.ackAsync` L804-840) and the broker matches acks to
//!   checkpoints by a key that ends with that name (`PopBufferMergeService` L520,
//!   `PopReviveService` L367-409): an ack under the alias matches nothing and the message comes
//!   back after its invisible time.
//! - ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME carry it as header field `extraInfo`
//!   (`AckMessageProcessor` L315-335, `ChangeInvisibleTimeProcessor` L138-319, which also writes
//!   the name into the new checkpoint). The answer to CHANGE_MESSAGE_INVISIBLETIME names no broker
//!   (`ChangeInvisibleTimeResponseHeader`: popTime, invisibleTime, reviveQid): the client builds
//!   the new receipt with the name it sent to (`MQClientAPIImpl.changeInvisibleTimeAsync` L962).
//! - BATCH_ACK_MESSAGE's body is `BatchAckMessageRequestBody` `{"acks":[...],"brokerName":..}`
//!   (fastjson; the acks' own keys are short: c, t, r, so, q, rq, pt, it, b), the name read at
//!   `AckMessageProcessor` L172-174.
//! - A send answer's `recallHandle` is Base64-URL of `v1 topic brokerName timestamp messageId`
//!   (`common/.../producer/RecallMessageHandle.java`, built with the broker's own name in
//!   `SendMessageProcessor.attachRecallHandle` L652-664). The client sends RECALL_MESSAGE to the
//!   broker the handle names (`DefaultMQProducerImpl.recallMessage` L1563-1594), which refuses a
//!   handle naming another broker (`RecallMessageProcessor` L108).
//!
//! ACL signs every header field and the body (docs/protocol-notes.md section 8). Ferry does not hold
//! the secret keys of the accounts clients sign with, so a signed request that would have to be
//! renamed is refused with [`SIGNED_REFUSAL`], never forwarded with a signature it broke.

use base64::Engine as _;
use ferry_remoting::acl;
use ferry_remoting::code::{RequestCode, ResponseCode};
use ferry_remoting::header::Header;
use ferry_remoting::{Frame, SerializeType};

/// Maps a broker name to another (alias to real, or real to alias); `None` leaves it.
pub type Rename<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `MessageConst.PROPERTY_POP_CK`.
pub const POP_CK: &str = "POP_CK";

/// The code of Ferry's answer to a signed request it would have to rename.
pub const SIGNED_REFUSAL: ResponseCode = ResponseCode::NO_PERMISSION;

/// What becomes of a client's request on a target-side relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToBroker {
    /// Nothing in it names a broker shown under an alias.
    Forward,
    /// This frame goes to the broker instead (same opaque, same encoding).
    Rewrite(Frame),
    /// Answer the client with this, and send the broker nothing: the request is signed and the
    /// rename would break the signature.
    Refuse(Frame),
}

/// Renames a client's request toward a target broker: `real` maps an alias to the broker's real
/// name. Only POP acknowledgements, invisible-time changes and recalls carry a name brokers check.
pub fn client_request(ty: SerializeType, header: &Header, body: &[u8], real: Rename<'_>) -> ToBroker {
    let code = header.request_code();
    let renamed = match code {
        RequestCode::ACK_MESSAGE | RequestCode::CHANGE_MESSAGE_INVISIBLETIME => {
            renamed_field(header, "extraInfo", |v| extra_info(v, real))
                .map(|(h, from)| (h, body.to_vec(), from))
        }
        RequestCode::RECALL_MESSAGE => renamed_field(header, "recallHandle", |v| recall_handle(v, real))
            .map(|(h, from)| (h, body.to_vec(), from)),
        RequestCode::BATCH_ACK_MESSAGE => {
            let alias = body_broker_name(body).filter(|a| real(a).is_some());
            crate::names::broker_fields(body, real).map(|b| (header.clone(), b, alias.unwrap_or_default()))
        }
        _ => None,
    };
    let Some((new_header, new_body, alias)) = renamed else { return ToBroker::Forward };
    if header.ext_fields.contains_key(acl::SIGNATURE) {
        let remark = signed_remark(code, &alias);
        let frame = Frame::response(SIGNED_REFUSAL, header.opaque).with_remark(remark);
        return ToBroker::Refuse(Frame { serialize_type: ty, ..frame });
    }
    ToBroker::Rewrite(Frame { serialize_type: ty, header: new_header, body: new_body.into() })
}

/// Why a signed request is refused, for the client's log and exception.
fn signed_remark(code: RequestCode, alias: &str) -> String {
    let what = code.name().unwrap_or("request");
    format!(
        "Ferry cannot pass this {what}: it names broker {alias}, the name Ferry shows clients for a \
         target broker whose real name is also a source broker's, and the broker must be told its \
         real name; renaming it would break the request's ACL signature, and Ferry does not hold \
         this account's secret key. Under ACL, POP acknowledgements and recalls on a renamed \
         broker cannot go through Ferry (docs/seamless.md, \"Brokers named alike\")"
    )
}

/// The broker's answers a relay renames: what the request was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaited {
    /// POP_MESSAGE: retry messages carry the broker's `POP_CK`.
    Pop,
    /// SEND_MESSAGE / SEND_MESSAGE_V2: a delayed message's answer carries a `recallHandle`.
    Send,
}

/// The broker's answer with its real name replaced by the alias (`alias` maps real to alias), or
/// `None` when it names no renamed broker.
pub fn broker_response(
    ty: SerializeType,
    awaited: Awaited,
    header: &Header,
    body: &[u8],
    alias: Rename<'_>,
) -> Option<Frame> {
    if header.response_code() != ResponseCode::SUCCESS {
        return None;
    }
    let (header, body) = match awaited {
        Awaited::Pop => (header.clone(), pop_messages(body, alias)?),
        Awaited::Send => {
            (renamed_field(header, "recallHandle", |v| recall_handle(v, alias))?.0, body.to_vec())
        }
    };
    Some(Frame { serialize_type: ty, header, body: body.into() })
}

/// `header` with field `key` renamed, and the name it had.
fn renamed_field(
    header: &Header,
    key: &str,
    rename: impl Fn(&str) -> Option<(String, String)>,
) -> Option<(Header, String)> {
    let (value, from) = rename(header.field(key)?)?;
    let mut h = header.clone();
    h.ext_fields.insert(key.to_string(), value);
    Some((h, from))
}

/// The `brokerName` of a batch ack body, as the client wrote it.
fn body_broker_name(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "brokerName")]
        broker_name: Option<String>,
    }
    ferry_remoting::fastjson::from_slice::<Named>(body).ok()?.broker_name
}

/// A POP receipt (extraInfo) with its broker name (the 6th field) renamed, and the old name.
pub fn extra_info(value: &str, rename: Rename<'_>) -> Option<(String, String)> {
    let fields: Vec<&str> = value.split(' ').collect();
    let name = *fields.get(5)?;
    let new = rename(name)?;
    let mut out = fields.clone();
    out[5] = &new;
    Some((out.join(" "), name.to_string()))
}

/// A recall handle with its broker name renamed, in the same Base64 flavour (URL alphabet; with
/// padding as Java writes it, or without if it came so), and the old name.
pub fn recall_handle(handle: &str, rename: Rename<'_>) -> Option<(String, String)> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let raw = String::from_utf8(engine.decode(handle).ok()?).ok()?;
    // `v1 topic brokerName timestamp messageId`: neither topic nor name has a space.
    let mut parts = raw.splitn(4, ' ');
    let (version, topic, name, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "v1" {
        return None;
    }
    let new = rename(name)?;
    let renamed = format!("{version} {topic} {new} {rest}");
    let encoded = if handle.ends_with('=') {
        base64::engine::general_purpose::URL_SAFE.encode(renamed)
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(renamed)
    };
    Some((encoded, name.to_string()))
}

/// The body of a POP answer (stored messages back to back, `MessageDecoder` layout: see
/// `ferry_admin::message`) with the broker name in each message's `POP_CK` renamed; every other
/// byte as the broker wrote it. `None` when no message has one to rename, or the body does not
/// read as messages (then it passes as it is).
pub fn pop_messages(body: &[u8], rename: Rename<'_>) -> Option<Vec<u8>> {
    // Most answers carry no retry message: look before walking.
    find(body, b"POP_CK\x01")?;
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut at = 0;
    let mut changed = false;
    while at < body.len() {
        let m = locate(body, at)?;
        let props = &body[m.props..m.end];
        match pop_ck_renamed(props, rename) {
            Some(new_props) if new_props.len() <= i16::MAX as usize => {
                let size = (m.props - 2 - at) + 2 + new_props.len();
                out.extend_from_slice(&(size as i32).to_be_bytes());
                out.extend_from_slice(&body[at + 4..m.props - 2]);
                out.extend_from_slice(&(new_props.len() as u16).to_be_bytes());
                out.extend_from_slice(&new_props);
                changed = true;
            }
            _ => out.extend_from_slice(&body[at..m.end]),
        }
        at = m.end;
    }
    changed.then_some(out)
}

/// Where one stored message's properties are: they are the last field, after a 2-byte length.
struct Located {
    props: usize,
    end: usize,
}

/// `MessageDecoder.MESSAGE_MAGIC_CODE` and `MESSAGE_MAGIC_CODE_V2` (topic length in 2 bytes).
const MAGIC_V1: i32 = -626843481;
const MAGIC_V2: i32 = -626843477;

fn locate(buf: &[u8], at: usize) -> Option<Located> {
    let i32_at = |p: usize| buf.get(p..p + 4).map(|b| i32::from_be_bytes(b.try_into().expect("4 bytes")));
    let size = usize::try_from(i32_at(at)?).ok()?;
    let end = at.checked_add(size).filter(|e| *e <= buf.len())?;
    let magic = i32_at(at + 4)?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return None;
    }
    // totalSize magic bodyCRC queueId flag (4 each) queueOffset physicalOffset (8 each).
    let sys_flag = i32_at(at + 36)?;
    let born = if sys_flag & (1 << 4) != 0 { 20 } else { 8 };
    let store = if sys_flag & (1 << 5) != 0 { 20 } else { 8 };
    // sysFlag, bornTimestamp, bornHost, storeTimestamp, storeHost, reconsumeTimes, preparedOffset.
    let body_len_at = at + 40 + 8 + born + 8 + store + 4 + 8;
    let body_len = usize::try_from(i32_at(body_len_at)?.max(0)).ok()?;
    let topic_len_at = body_len_at + 4 + body_len;
    let (topic_len, width) = if magic == MAGIC_V2 {
        (u16::from_be_bytes(buf.get(topic_len_at..topic_len_at + 2)?.try_into().ok()?) as usize, 2)
    } else {
        (*buf.get(topic_len_at)? as usize, 1)
    };
    let props_len_at = topic_len_at + width + topic_len;
    let props_len = u16::from_be_bytes(buf.get(props_len_at..props_len_at + 2)?.try_into().ok()?) as usize;
    let props = props_len_at + 2;
    (props + props_len == end).then_some(Located { props, end })
}

/// Properties (`name \x01 value \x02` pairs) with the `POP_CK` value's broker renamed.
fn pop_ck_renamed(props: &[u8], rename: Rename<'_>) -> Option<Vec<u8>> {
    let mut start = 0;
    while start < props.len() {
        let end = props[start..].iter().position(|b| *b == 2).map_or(props.len(), |p| start + p);
        let pair = &props[start..end];
        if let Some(value) = pair.strip_prefix(b"POP_CK\x01") {
            let (renamed, _) = extra_info(std::str::from_utf8(value).ok()?, rename)?;
            let value_at = start + POP_CK.len() + 1;
            let mut out = Vec::with_capacity(props.len() + 16);
            out.extend_from_slice(&props[..value_at]);
            out.extend_from_slice(renamed.as_bytes());
            out.extend_from_slice(&props[end..]);
            return Some(out);
        }
        start = end + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_admin::decode_messages;

    /// As in the colliding tests: the target's `broker-a` shown as `zz-broker-a`.
    fn real(alias: &str) -> Option<String> {
        (alias == "zz-broker-a").then(|| "broker-a".to_string())
    }

    fn alias(real: &str) -> Option<String> {
        (real == "broker-a").then(|| "zz-broker-a".to_string())
    }

    /// A 5.3.3 client's receipt for offset 7 of queue 1, popped from `zz-broker-a`.
    const RECEIPT: &str = "5 1718000000000 60000 2 0 zz-broker-a 1 7";

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> Header {
        let mut f = Frame::request(code).with_fields(fields.iter().copied());
        f.header.opaque = 41;
        f.header
    }

    #[test]
    fn a_receipt_s_broker_name_is_its_sixth_field() {
        let table: &[(&str, Option<&str>)] = &[
            (RECEIPT, Some("5 1718000000000 60000 2 0 broker-a 1 7")),
            // The 7-field form (ExtraInfoUtil.buildExtraInfo without the message's offset).
            ("5 1718000000000 60000 2 1 zz-broker-a 1", Some("5 1718000000000 60000 2 1 broker-a 1")),
            // A source broker's, or another target broker's under its own name: left.
            ("5 1718000000000 60000 2 0 broker-a 1 7", None),
            ("5 1718000000000 60000 2 0 broker-b 1 7", None),
            // Too short to name a broker.
            ("5 1718000000000 60000 2 0", None),
            ("", None),
        ];
        for (given, want) in table {
            let got = extra_info(given, &real).map(|(v, _)| v);
            assert_eq!(got.as_deref(), *want, "{given:?}");
        }
    }

    /// As `RecallMessageHandle.HandleV1.buildHandle` writes it: `Base64.getUrlEncoder()`, padded.
    fn java_handle(raw: &str) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(raw)
    }

    #[test]
    fn a_recall_handle_is_renamed_in_the_flavour_it_came_in() {
        let raw = "v1 orders broker-a 1718000060001 7F0000010B2C18B4AAC2";
        let renamed = "v1 orders zz-broker-a 1718000060001 7F0000010B2C18B4AAC2";
        let (got, from) = recall_handle(&java_handle(raw), &alias).unwrap();
        assert_eq!((got.as_str(), from.as_str()), (java_handle(renamed).as_str(), "broker-a"));
        // And back, as the client sends it in RECALL_MESSAGE.
        assert_eq!(recall_handle(&got, &real).unwrap().0, java_handle(raw));
        // Unpadded in, unpadded out (Java's URL decoder takes both).
        let bare = java_handle(raw).trim_end_matches('=').to_string();
        let got = recall_handle(&bare, &alias).unwrap().0;
        assert!(!got.ends_with('='));
        assert_eq!(got, java_handle(renamed).trim_end_matches('='));
        // Left alone: another broker, another version, not Base64, too few fields.
        assert_eq!(recall_handle(&java_handle("v1 orders broker-b 1 X"), &alias), None);
        assert_eq!(recall_handle(&java_handle("v2 orders broker-a 1 X"), &alias), None);
        assert_eq!(recall_handle("not base64 at all!", &alias), None);
        assert_eq!(recall_handle(&java_handle("v1 orders broker-a"), &alias), None);
    }

    #[test]
    fn requests_naming_an_alias_reach_the_broker_under_its_real_name() {
        let batch_body = br#"{"acks":[{"b":"AQ==","c":"g","it":60000,"pt":1718000000000,"q":1,"r":"0","rq":2,"so":5,"t":"orders"}],"brokerName":"zz-broker-a"}"#;
        let handle = java_handle("v1 orders zz-broker-a 1718000060001 ABC");
        let ack = [("consumerGroup", "g"), ("topic", "orders"), ("queueId", "1"), ("offset", "7")];
        let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
            ack.iter().chain(extra).copied().collect()
        };
        let real_receipt = "5 1718000000000 60000 2 0 broker-a 1 7";
        struct Case {
            code: RequestCode,
            fields: Vec<(&'static str, String)>,
            body: &'static [u8],
            /// The field (or body) the broker must get, or None for "forwarded as it is".
            want: Option<(&'static str, String)>,
        }
        let s =
            |f: Vec<(&'static str, &'static str)>| f.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        let cases = vec![
            Case {
                code: RequestCode::ACK_MESSAGE,
                fields: s(with(&[("extraInfo", RECEIPT), ("bname", "zz-broker-a")])),
                body: b"",
                want: Some(("extraInfo", real_receipt.to_string())),
            },
            Case {
                code: RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
                fields: s(with(&[("extraInfo", RECEIPT), ("invisibleTime", "30000")])),
                body: b"",
                want: Some(("extraInfo", real_receipt.to_string())),
            },
            Case {
                code: RequestCode::RECALL_MESSAGE,
                fields: vec![("topic", "orders".into()), ("recallHandle", handle.clone())],
                body: b"",
                want: Some(("recallHandle", java_handle("v1 orders broker-a 1718000060001 ABC"))),
            },
            Case {
                code: RequestCode::BATCH_ACK_MESSAGE,
                fields: vec![],
                body: batch_body,
                want: Some(("body", String::from_utf8_lossy(batch_body).replace("zz-broker-a", "broker-a"))),
            },
            // A source broker's receipt (same real name): nothing to do on a target relay's
            // behalf, and the source relays never rename.
            Case {
                code: RequestCode::ACK_MESSAGE,
                fields: s(with(&[("extraInfo", real_receipt)])),
                body: b"",
                want: None,
            },
            // Requests whose names brokers do not check pass as they are.
            Case {
                code: RequestCode::POP_MESSAGE,
                fields: vec![("topic", "orders".into()), ("bname", "zz-broker-a".into())],
                body: b"",
                want: None,
            },
            Case {
                code: RequestCode::PULL_MESSAGE,
                fields: vec![("topic", "orders".into()), ("bname", "zz-broker-a".into())],
                body: b"",
                want: None,
            },
        ];
        for c in cases {
            let fields: Vec<(&str, &str)> = c.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let header = request(c.code, &fields);
            let got = client_request(SerializeType::Json, &header, c.body, &real);
            match (&c.want, got) {
                (None, ToBroker::Forward) => {}
                (Some(("body", want)), ToBroker::Rewrite(f)) => {
                    assert_eq!(String::from_utf8_lossy(&f.body), *want, "{:?}", c.code);
                    assert_eq!(f.header, header, "{:?}: the header as it came", c.code);
                }
                (Some((key, want)), ToBroker::Rewrite(f)) => {
                    assert_eq!(f.header.field(key), Some(want.as_str()), "{:?}", c.code);
                    let mut rest = f.header.clone();
                    rest.ext_fields.insert(key.to_string(), header.field(key).unwrap().into());
                    assert_eq!(rest, header, "{:?}: every other field, the opaque and flags kept", c.code);
                    assert_eq!(f.body.as_ref(), c.body);
                }
                (want, got) => panic!("{:?}: want {want:?}, got {got:?}", c.code),
            }
        }
    }

    #[test]
    fn a_signed_request_that_needs_a_rename_is_refused_not_forwarded_broken() {
        let mut ack = Frame::request(RequestCode::ACK_MESSAGE).with_fields([
            ("consumerGroup", "g"),
            ("topic", "orders"),
            ("extraInfo", RECEIPT),
        ]);
        ack.header.opaque = 77;
        acl::Credentials::new("app", "app-secret").sign(&mut ack);
        match client_request(SerializeType::Json, &ack.header, &[], &real) {
            ToBroker::Refuse(f) => {
                assert!(f.header.is_response());
                assert_eq!((f.header.response_code(), f.header.opaque), (SIGNED_REFUSAL, 77));
                let remark = f.header.remark.unwrap();
                for says in ["ACK_MESSAGE", "zz-broker-a", "ACL signature", "secret key"] {
                    assert!(remark.contains(says), "{remark}");
                }
            }
            other => panic!("{other:?}"),
        }
        // Signed, with nothing to rename: it passes, signature intact.
        let mut pop = Frame::request(RequestCode::POP_MESSAGE).with_fields([("topic", "orders")]);
        acl::Credentials::new("app", "app-secret").sign(&mut pop);
        assert_eq!(client_request(SerializeType::Json, &pop.header, &[], &real), ToBroker::Forward);
        let batch = br#"{"acks":[],"brokerName":"zz-broker-a"}"#;
        let mut f = Frame::request(RequestCode::BATCH_ACK_MESSAGE).with_body(&batch[..]);
        acl::Credentials::new("app", "app-secret").sign(&mut f);
        match client_request(SerializeType::Json, &f.header, batch, &real) {
            ToBroker::Refuse(r) => assert!(r.header.remark.unwrap().contains("BATCH_ACK_MESSAGE")),
            other => panic!("{other:?}"),
        }
    }

    /// One stored message as a 5.3.3 broker sends it (`MessageDecoder.encode`; `v2` for
    /// `MESSAGE_MAGIC_CODE_V2`, IPv4 hosts).
    fn stored(v2: bool, queue_offset: i64, topic: &str, props: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let props: String = props.iter().map(|(k, v)| format!("{k}\u{1}{v}\u{2}")).collect();
        let mut m = Vec::new();
        m.extend((if v2 { MAGIC_V2 } else { MAGIC_V1 }).to_be_bytes());
        m.extend(0x1234_5678_i32.to_be_bytes()); // body CRC
        m.extend(1_i32.to_be_bytes()); // queue id
        m.extend(0_i32.to_be_bytes()); // flag
        m.extend(queue_offset.to_be_bytes());
        m.extend(4096_i64.to_be_bytes()); // commit log offset
        m.extend(0_i32.to_be_bytes()); // sys flag
        m.extend(1_718_000_000_000_i64.to_be_bytes());
        m.extend([127, 0, 0, 1]);
        m.extend(40_000_i32.to_be_bytes());
        m.extend(1_718_000_000_001_i64.to_be_bytes());
        m.extend([127, 0, 0, 1]);
        m.extend(10_911_i32.to_be_bytes());
        m.extend(1_i32.to_be_bytes()); // reconsume times
        m.extend(0_i64.to_be_bytes());
        m.extend((body.len() as i32).to_be_bytes());
        m.extend(body);
        if v2 {
            m.extend((topic.len() as i16).to_be_bytes());
        } else {
            m.push(topic.len() as u8);
        }
        m.extend(topic.as_bytes());
        m.extend((props.len() as i16).to_be_bytes());
        m.extend(props.as_bytes());
        let mut out = ((m.len() + 4) as i32).to_be_bytes().to_vec();
        out.extend(m);
        out
    }

    fn pop_answer() -> Header {
        let mut f = Frame::response(ResponseCode::SUCCESS, 41).with_fields([
            ("popTime", "1718000000000"),
            ("invisibleTime", "60000"),
            ("reviveQid", "2"),
        ]);
        f.header.language = ferry_remoting::header::Language::from_name("JAVA");
        f.header
    }

    #[test]
    fn retry_messages_in_a_pop_answer_name_the_alias_in_their_pop_ck() {
        let ck = "0 1718000000000 60000 2 1 broker-a 0 3";
        let retry = [("UNIQ_KEY", "AC1"), ("POP_CK", ck), ("RETRY_TOPIC", "orders")];
        let plain = stored(false, 8, "orders", &[("UNIQ_KEY", "AC0"), ("TAGS", "a")], b"first");
        let body = [
            plain.clone(),
            stored(false, 3, "orders", &retry, b"second"),
            // The V2 magic (2-byte topic length), POP_CK first among the properties.
            stored(true, 4, "orders", &[("POP_CK", ck), ("UNIQ_KEY", "AC2")], b"third"),
        ]
        .concat();
        let f = broker_response(SerializeType::Json, Awaited::Pop, &pop_answer(), &body, &alias).unwrap();
        assert_eq!(f.header, pop_answer(), "the header as it came");
        assert_eq!(&f.body[..plain.len()], &plain[..], "a message without POP_CK byte for byte");
        let got = decode_messages(&f.body).expect("sizes consistent after the rename");
        let want = decode_messages(&body).unwrap();
        assert_eq!(got.len(), 3);
        for (g, w) in got.iter().zip(&want) {
            let ck = w.property(POP_CK).map(|v| v.replace("broker-a", "zz-broker-a"));
            assert_eq!(g.property(POP_CK), ck.as_deref());
            assert_eq!((&g.body, &g.topic, g.queue_offset), (&w.body, &w.topic, w.queue_offset));
            assert_eq!(g.properties.len(), w.properties.len());
        }
        // Nothing to rename: the answer passes as it is.
        assert_eq!(broker_response(SerializeType::Json, Awaited::Pop, &pop_answer(), &plain, &alias), None);
        let other = stored(false, 3, "orders", &[("POP_CK", "0 1 60000 2 1 broker-b 0 3")], b"x");
        assert_eq!(broker_response(SerializeType::Json, Awaited::Pop, &pop_answer(), &other, &alias), None);
        // Not messages (cut short): passes as it is rather than half renamed.
        let cut = &body[..body.len() - 3];
        assert_eq!(broker_response(SerializeType::Json, Awaited::Pop, &pop_answer(), cut, &alias), None);
        // Not a success: nothing looked at.
        let mut polled = pop_answer();
        polled.code = 210;
        assert_eq!(broker_response(SerializeType::Json, Awaited::Pop, &polled, &body, &alias), None);
    }

    #[test]
    fn a_send_answer_s_recall_handle_names_the_alias() {
        let handle = java_handle("v1 orders broker-a 1718000060001 7F00000100002A9F0000000000000000");
        let answer = |h: &str| {
            Frame::response(ResponseCode::SUCCESS, 9)
                .with_fields([("msgId", "7F00000100002A9F"), ("queueId", "1"), ("queueOffset", "4")])
                .with_fields([("recallHandle", h)])
        };
        for ty in [SerializeType::Json, SerializeType::RocketMq] {
            let f = broker_response(ty, Awaited::Send, &answer(&handle).header, &[], &alias).unwrap();
            let want = java_handle("v1 orders zz-broker-a 1718000060001 7F00000100002A9F0000000000000000");
            assert_eq!(f.header, answer(&want).header);
            assert_eq!(f.serialize_type, ty);
        }
        // No handle (not a delayed message) or another broker's: as it is.
        let plain = Frame::response(ResponseCode::SUCCESS, 9).with_fields([("msgId", "X")]);
        assert_eq!(broker_response(SerializeType::Json, Awaited::Send, &plain.header, &[], &alias), None);
        let theirs = java_handle("v1 orders broker-b 1 X");
        assert_eq!(
            broker_response(SerializeType::Json, Awaited::Send, &answer(&theirs).header, &[], &alias),
            None
        );
    }
}
