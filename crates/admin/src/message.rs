//! Stored messages as a broker returns them to PULL_MESSAGE: the body of a successful pull is the
//! commit-log records back to back, in the layout `MessageDecoder.decode` reads
//! (`common/.../message/MessageDecoder.java`, 4.9.8 and 5.3.3 alike; 5.x adds the V2 magic code,
//! whose topic length is 2 bytes instead of 1, `MessageVersion.java`).
//!
//! ```text
//! totalSize i32 | magic i32 | bodyCRC i32 | queueId i32 | flag i32 | queueOffset i64 | physicalOffset i64
//! | sysFlag i32 | bornTimestamp i64 | bornHost (4 or 16 bytes ip, i32 port) | storeTimestamp i64
//! | storeHost (4 or 16 bytes ip, i32 port) | reconsumeTimes i32 | preparedTransactionOffset i64
//! | bodyLen i32 | body | topicLen (i8, or i16 with the V2 magic) | topic | propertiesLen i16 | properties
//! ```
//!
//! Big-endian throughout. Properties are `name \x01 value \x02` pairs
//! (`MessageDecoder.string2messageProperties`).

use std::collections::BTreeMap;

/// `MessageDecoder.MESSAGE_MAGIC_CODE`: topic length in 1 byte.
const MAGIC_V1: i32 = -626843481;
/// `MessageDecoder.MESSAGE_MAGIC_CODE_V2` (5.x): topic length in 2 bytes.
const MAGIC_V2: i32 = -626843477;
/// `MessageSysFlag.BORNHOST_V6_FLAG` / `STOREHOSTADDRESS_V6_FLAG`: 16-byte addresses.
const BORNHOST_V6_FLAG: i32 = 0x1 << 4;
const STOREHOST_V6_FLAG: i32 = 0x1 << 5;
const NAME_VALUE_SEPARATOR: char = '\u{1}';
const PROPERTY_SEPARATOR: char = '\u{2}';

/// `MessageConst.PROPERTY_TAGS`.
pub const PROPERTY_TAGS: &str = "TAGS";
/// `MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX`: the client's message id.
pub const PROPERTY_UNIQ_KEY: &str = "UNIQ_KEY";

/// One message as stored, with what Ferry reads of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub body_crc: i32,
    pub born_timestamp: i64,
    /// `ip:port` of the producer.
    pub born_host: String,
    pub store_timestamp: i64,
    pub topic: String,
    pub properties: BTreeMap<String, String>,
    /// As stored (compressed when `sys_flag` says so).
    pub body: Vec<u8>,
}

impl StoredMessage {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    pub fn tags(&self) -> Option<&str> {
        self.property(PROPERTY_TAGS)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageDecodeError {
    #[error("message at byte {at}: {what} runs past the end of the {len}-byte buffer")]
    Truncated { at: usize, what: &'static str, len: usize },
    #[error("message at byte {at}: unknown magic code {magic:#x}")]
    BadMagic { at: usize, magic: i32 },
    #[error("message at byte {at}: total size {size} disagrees with its fields ({read} bytes read)")]
    BadSize { at: usize, size: i32, read: usize },
}

/// Decodes every message of a pull response body.
pub fn decode_messages(buf: &[u8]) -> Result<Vec<StoredMessage>, MessageDecodeError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let (m, size) = decode_one(buf, at)?;
        out.push(m);
        at += size;
    }
    Ok(out)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    start: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MessageDecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(MessageDecodeError::Truncated { at: self.start, what, len: self.buf.len() })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, MessageDecodeError> {
        Ok(i16::from_be_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, MessageDecodeError> {
        Ok(i32::from_be_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, MessageDecodeError> {
        Ok(i64::from_be_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }

    fn host(&mut self, v6: bool, what: &'static str) -> Result<String, MessageDecodeError> {
        let ip = self.take(if v6 { 16 } else { 4 }, what)?;
        let port = self.i32(what)?;
        let ip: std::net::IpAddr = if v6 {
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(ip).expect("16 bytes")).into()
        } else {
            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(ip).expect("4 bytes")).into()
        };
        Ok(std::net::SocketAddr::new(ip, port as u16).to_string())
    }
}

fn decode_one(buf: &[u8], at: usize) -> Result<(StoredMessage, usize), MessageDecodeError> {
    let mut r = Reader { buf, pos: at, start: at };
    let size = r.i32("total size")?;
    let magic = r.i32("magic code")?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(MessageDecodeError::BadMagic { at, magic });
    }
    let body_crc = r.i32("body CRC")?;
    let queue_id = r.i32("queue id")?;
    let _flag = r.i32("flag")?;
    let queue_offset = r.i64("queue offset")?;
    let commit_log_offset = r.i64("physical offset")?;
    let sys_flag = r.i32("sys flag")?;
    let born_timestamp = r.i64("born timestamp")?;
    let born_host = r.host(sys_flag & BORNHOST_V6_FLAG != 0, "born host")?;
    let store_timestamp = r.i64("store timestamp")?;
    let _store_host = r.host(sys_flag & STOREHOST_V6_FLAG != 0, "store host")?;
    let _reconsume_times = r.i32("reconsume times")?;
    let _prepared_offset = r.i64("prepared transaction offset")?;
    let body_len = r.i32("body length")?.max(0) as usize;
    let body = r.take(body_len, "body")?.to_vec();
    let topic_len = if magic == MAGIC_V2 {
        r.i16("topic length")? as u16 as usize
    } else {
        r.take(1, "topic length")?[0] as usize
    };
    let topic = String::from_utf8_lossy(r.take(topic_len, "topic")?).into_owned();
    // Java reads a signed short and skips the properties when it is not positive; writers never
    // exceed Short.MAX_VALUE (MessageExtEncoder checks), so unsigned reads the same bytes.
    let props_len = r.i16("properties length")? as u16 as usize;
    let properties = parse_properties(&String::from_utf8_lossy(r.take(props_len, "properties")?));
    let read = r.pos - at;
    if size < 0 || size as usize != read {
        return Err(MessageDecodeError::BadSize { at, size, read });
    }
    let m = StoredMessage {
        queue_id,
        queue_offset,
        commit_log_offset,
        sys_flag,
        body_crc,
        born_timestamp,
        born_host,
        store_timestamp,
        topic,
        properties,
        body,
    };
    Ok((m, read))
}

/// `MessageDecoder.string2messageProperties`: split at the first separator; a pair with an empty
/// name or value is skipped.
pub fn parse_properties(s: &str) -> BTreeMap<String, String> {
    s.split(PROPERTY_SEPARATOR)
        .filter_map(|kv| kv.split_once(NAME_VALUE_SEPARATOR))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Encodes a message in the stored layout (V1 magic, IPv4 hosts): for tests of code that reads
/// pull responses.
#[cfg(test)]
pub(crate) fn encode_for_test(m: &StoredMessage) -> Vec<u8> {
    let props: String = m
        .properties
        .iter()
        .map(|(k, v)| format!("{k}{NAME_VALUE_SEPARATOR}{v}{PROPERTY_SEPARATOR}"))
        .collect();
    let host = |s: &str| {
        let a: std::net::SocketAddrV4 = s.parse().expect("ipv4 host");
        let mut b = a.ip().octets().to_vec();
        b.extend((a.port() as i32).to_be_bytes());
        b
    };
    let mut rest = Vec::new();
    rest.extend(MAGIC_V1.to_be_bytes());
    rest.extend(m.body_crc.to_be_bytes());
    rest.extend(m.queue_id.to_be_bytes());
    rest.extend(0i32.to_be_bytes());
    rest.extend(m.queue_offset.to_be_bytes());
    rest.extend(m.commit_log_offset.to_be_bytes());
    rest.extend(m.sys_flag.to_be_bytes());
    rest.extend(m.born_timestamp.to_be_bytes());
    rest.extend(host(&m.born_host));
    rest.extend(m.store_timestamp.to_be_bytes());
    rest.extend(host("127.0.0.1:10911"));
    rest.extend(0i32.to_be_bytes());
    rest.extend(0i64.to_be_bytes());
    rest.extend((m.body.len() as i32).to_be_bytes());
    rest.extend(&m.body);
    rest.push(m.topic.len() as u8);
    rest.extend(m.topic.as_bytes());
    rest.extend((props.len() as i16).to_be_bytes());
    rest.extend(props.as_bytes());
    let mut out = ((rest.len() + 4) as i32).to_be_bytes().to_vec();
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two half messages as a 4.9.7 broker returned them to PULL_MESSAGE on
    /// RMQ_SYS_TRANS_HALF_TOPIC queue 0 from offset 3 (recorded from a testkit cluster): copies the
    /// check service wrote back of the transactions at offsets 0 and 1 (`TRANSACTION_CHECK_TIMES`
    /// 1), sent by the harness's `produce-tx` to topic `txa` with local state UNKNOW.
    const RECORDED: &str = include_str!("../tests/data/half-pull-4.9.hex");

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn decodes_half_messages_recorded_from_a_broker() {
        let msgs = decode_messages(&unhex(RECORDED)).unwrap();
        assert_eq!(msgs.len(), 2);
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(m.topic, "RMQ_SYS_TRANS_HALF_TOPIC");
            assert_eq!(m.queue_id, 0);
            assert_eq!(m.queue_offset, 3 + i as i64);
            assert_eq!(m.property("REAL_TOPIC"), Some("txa"));
            assert_eq!(m.property("KEYS"), Some(format!("tx-{i}").as_str()));
            assert_eq!(m.property("TRAN_MSG"), Some("true"));
            assert_eq!(m.property("PGROUP"), Some("ferry-harness-tx"));
            assert_eq!(m.property("TRANSACTION_CHECK_TIMES"), Some("1"));
            assert_eq!(m.tags(), Some("TagA"));
            assert!(m.property(PROPERTY_UNIQ_KEY).is_some_and(|u| u.starts_with("FD00")), "{m:?}");
            assert_eq!(String::from_utf8_lossy(&m.body), format!("key=tx-{i} seq={i}"));
            assert!(m.store_timestamp >= m.born_timestamp);
        }
        assert!(msgs[1].commit_log_offset > msgs[0].commit_log_offset);
        assert_ne!(msgs[0].property(PROPERTY_UNIQ_KEY), msgs[1].property(PROPERTY_UNIQ_KEY));
    }

    #[test]
    fn round_trips_and_rejects_damaged_input() {
        let m = StoredMessage {
            queue_id: 0,
            queue_offset: 7,
            commit_log_offset: 4096,
            sys_flag: 0,
            body_crc: 1,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.1:40000".into(),
            store_timestamp: 1_700_000_000_005,
            topic: "RMQ_SYS_TRANS_OP_HALF_TOPIC".into(),
            properties: [("TAGS".to_string(), "d".to_string())].into_iter().collect(),
            body: b"3,4,".to_vec(),
        };
        let mut bytes = encode_for_test(&m);
        bytes.extend(encode_for_test(&StoredMessage { queue_offset: 8, ..m.clone() }));
        let back = decode_messages(&bytes).unwrap();
        assert_eq!(back, vec![m.clone(), StoredMessage { queue_offset: 8, ..m.clone() }]);
        assert_eq!(back[0].tags(), Some("d"));

        let one = encode_for_test(&m);
        assert!(matches!(decode_messages(&one[..one.len() - 1]), Err(MessageDecodeError::Truncated { .. })));
        let mut bad = one.clone();
        bad[4] = 0;
        assert!(matches!(decode_messages(&bad), Err(MessageDecodeError::BadMagic { at: 0, .. })));
        let mut long = one.clone();
        long[3] += 1;
        long.push(0);
        assert!(matches!(decode_messages(&long), Err(MessageDecodeError::BadSize { .. })));
    }

    #[test]
    fn properties_split_like_the_java_decoder() {
        let p = parse_properties("a\u{1}1\u{2}b\u{1}\u{2}junk\u{2}c\u{1}x\u{1}y\u{2}");
        assert_eq!(p.get("a").map(String::as_str), Some("1"));
        assert!(!p.contains_key("b"));
        assert_eq!(p.get("c").map(String::as_str), Some("x\u{1}y"));
        assert!(!p.contains_key("junk"));
    }
}
