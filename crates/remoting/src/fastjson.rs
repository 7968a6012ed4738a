//! Bodies as fastjson writes them. fastjson emits maps with bare integer keys (`{0:"10.0.0.1:10911"}`)
//! and maps keyed by objects (`ConsumeStats.offsetTable` is keyed by a `MessageQueue`), neither of
//! which is JSON. This parser accepts both (and single-quoted strings, bare identifiers as keys) and
//! produces a `serde_json::Value` in which every key is a string: integer keys keep their digits,
//! object keys become their compact JSON text. Typed bodies then deserialize with serde as usual;
//! [`keyed`] reads object-keyed maps back. Bodies Ferry writes are standard JSON with quoted keys,
//! which fastjson reads for `Map<Long, ..>` as well.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// Deeper nesting than any RocketMQ body has; bounds the recursion on hostile input.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct BodyError {
    pub offset: usize,
    pub reason: String,
}

/// Parses a fastjson body into a `Value` with string keys.
pub fn parse(bytes: &[u8]) -> Result<Value, BodyError> {
    let mut p = Parser { buf: bytes, pos: 0 };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != p.buf.len() {
        return Err(p.err("trailing characters after the value"));
    }
    Ok(v)
}

/// Parses a fastjson body into `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let v = parse(bytes)?;
    serde_json::from_value(v).map_err(|e| BodyError { offset: 0, reason: e.to_string() })
}

/// Writes a body the Java side reads: standard JSON.
pub fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("serializing plain data to JSON cannot fail")
}

/// Writes a body the way fastjson's default `toJSONString` does for `Map<Long, ..>`: integer keys
/// bare (`{0:"10.0.0.1:10911"}`). NameServers answer routes this way to clients older than 4.9.4
/// that did not ask for standard JSON; such clients' parsers are only known to accept this form.
pub fn to_vec_bare_int_keys<T: Serialize>(value: &T) -> Vec<u8> {
    let v = serde_json::to_value(value).expect("serializing plain data to JSON cannot fail");
    let mut out = Vec::new();
    write_bare(&v, &mut out);
    out
}

fn write_bare(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if !k.is_empty() && k.parse::<i64>().is_ok() {
                    out.extend_from_slice(k.as_bytes());
                } else {
                    out.extend_from_slice(&serde_json::to_vec(k).expect("a string serializes"));
                }
                out.push(b':');
                write_bare(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_bare(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(&serde_json::to_vec(scalar).expect("a scalar serializes")),
    }
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &str) -> BodyError {
        BodyError { offset: self.pos, reason: reason.to_string() }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), BodyError> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", b as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, BodyError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"' | b'\'') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of body")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, BodyError> {
        if self.buf[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("unknown literal"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, BodyError> {
        self.pos += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            let key = self.key(depth)?;
            self.expect(b':')?;
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.err("expected ',' or '}' in object")),
            }
        }
    }

    /// A map key: a string, a bare number or identifier, or a whole object or array.
    fn key(&mut self, depth: usize) -> Result<String, BodyError> {
        match self.peek() {
            Some(b'"' | b'\'') => self.string(),
            Some(b'{' | b'[') => {
                let v = self.value(depth + 1)?;
                Ok(serde_json::to_string(&v).expect("a parsed value serializes"))
            }
            Some(b'-' | b'0'..=b'9') => match self.number()? {
                Value::Number(n) => Ok(n.to_string()),
                _ => unreachable!("number() returns numbers"),
            },
            Some(c) if c == b'_' || c == b'$' || c.is_ascii_alphabetic() => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c == b'_' || c == b'$' || c.is_ascii_alphanumeric()) {
                    self.pos += 1;
                }
                Ok(String::from_utf8_lossy(&self.buf[start..self.pos]).into_owned())
            }
            Some(_) => Err(self.err("invalid map key")),
            None => Err(self.err("unexpected end of body in object")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, BodyError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']' in array")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, BodyError> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.buf[start..self.pos]).expect("ASCII digits");
        // fastjson may suffix longs with 'L' in some modes; accept and drop it.
        if matches!(self.peek(), Some(b'L')) {
            self.pos += 1;
        }
        serde_json::from_str::<Number>(text)
            .map(Value::Number)
            .map_err(|_| BodyError { offset: start, reason: format!("invalid number '{text}'") })
    }

    fn string(&mut self) -> Result<String, BodyError> {
        let quote = self.buf[self.pos];
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'\\' => {
                    let Some(esc) = self.peek() else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.pos += 1;
                    match esc {
                        b'"' | b'\'' | b'\\' | b'/' => out.push(esc),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                b if b == quote => break,
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8 in string"))
    }

    fn hex4(&mut self) -> Result<u32, BodyError> {
        let digits = self.buf.get(self.pos..self.pos + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, BodyError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.buf[self.pos..].starts_with(b"\\u") {
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c).ok_or_else(|| self.err("invalid surrogate pair"));
            }
            return Err(self.err("invalid surrogate pair"));
        }
        // A lone surrogate cannot be a Rust char; replace it as Java would print it.
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }
}

/// Serde helpers for maps whose keys are JSON text after [`parse`]: object-keyed fastjson maps
/// such as `ConsumeStats.offsetTable`. Use with `#[serde(with = "fastjson::keyed")]` on a
/// `Vec<(K, V)>` field.
pub mod keyed {
    use serde::de::{DeserializeOwned, Deserializer, Error as _};
    use serde::ser::{SerializeMap, Serializer};
    use serde::{Deserialize, Serialize};

    pub fn deserialize<'de, D, K, V>(d: D) -> Result<Vec<(K, V)>, D::Error>
    where
        D: Deserializer<'de>,
        K: DeserializeOwned,
        V: DeserializeOwned,
    {
        let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        map.into_iter()
            .map(|(k, v)| {
                let key = serde_json::from_str::<K>(&k)
                    .map_err(|e| D::Error::custom(format!("map key {k}: {e}")))?;
                let value = serde_json::from_value::<V>(v).map_err(D::Error::custom)?;
                Ok((key, value))
            })
            .collect()
    }

    /// Writes the keys as JSON text in quoted strings: standard JSON a Ferry peer reads back.
    pub fn serialize<S, K, V>(entries: &[(K, V)], s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        K: Serialize,
        V: Serialize,
    {
        let mut m = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            let key = serde_json::to_string(k).map_err(serde::ser::Error::custom)?;
            m.serialize_entry(&key, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_for_old_clients_have_bare_integer_keys_and_read_back() {
        let v: Value = serde_json::json!({"brokerAddrs": {"0": "10.0.0.1:10911", "-1": "x"}, "name": "q\""});
        let text = String::from_utf8(to_vec_bare_int_keys(&v)).unwrap();
        assert_eq!(text, r#"{"brokerAddrs":{0:"10.0.0.1:10911",-1:"x"},"name":"q\""}"#);
        assert_eq!(parse(text.as_bytes()).unwrap(), v);
    }

    #[test]
    fn bare_integer_keys_become_strings() {
        let v = parse(br#"{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}}"#).unwrap();
        assert_eq!(v["brokerAddrs"]["0"], "10.0.0.1:10911");
        assert_eq!(v["brokerAddrs"]["1"], "10.0.0.2:10911");
    }

    #[test]
    fn object_keys_become_their_json_text() {
        let v = parse(br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":5}}}"#)
            .unwrap();
        let (k, val) = v["offsetTable"].as_object().unwrap().iter().next().unwrap();
        assert_eq!(k, r#"{"brokerName":"b","queueId":0,"topic":"T"}"#);
        assert_eq!(val["brokerOffset"], 5);
    }

    #[test]
    fn errors_name_the_offset() {
        let e = parse(br#"{"a":}"#).unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(parse(b"{\"a\":1} x").is_err());
        assert!(parse(&[b'['; 10_000]).unwrap_err().reason.contains("too deep"));
    }

    #[test]
    fn escapes_and_unicode_decode() {
        let v = parse(br#"["a\"b\u00e9\ud83d\ude00", 'single']"#).unwrap();
        assert_eq!(v[0], "a\"b\u{e9}\u{1F600}");
        assert_eq!(v[1], "single");
    }
}
