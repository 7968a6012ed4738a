//! The JSON header, as fastjson writes a `RemotingCommand`: properties sorted by name, `remark` and
//! `extFields` omitted when null, `serializeTypeCurrentRPC` present because the bean has a getter.

use std::collections::BTreeMap;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Flags, Header, Language};
use crate::error::CodecError;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeaderOut<'a> {
    code: i32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    ext_fields: &'a BTreeMap<String, String>,
    flag: i32,
    language: &'static str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type_current_rpc: &'static str,
    version: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeaderIn {
    #[serde(default)]
    code: i32,
    #[serde(default, deserialize_with = "ext_fields")]
    ext_fields: BTreeMap<String, String>,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    version: i32,
}

pub(super) fn encode(h: &Header, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let wire = JsonHeaderOut {
        code: h.code,
        ext_fields: &h.ext_fields,
        flag: h.flag.0,
        language: h.language.name(),
        opaque: h.opaque,
        remark: h.remark.as_deref(),
        serialize_type_current_rpc: "JSON",
        version: h.version,
    };
    serde_json::to_writer(out, &wire).map_err(|e| CodecError::JsonHeader(e.to_string()))
}

/// The fixed fields alone: `extFields` is read past, not kept.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeaderFixed<'a> {
    #[serde(default)]
    code: i32,
    #[serde(default, rename = "extFields")]
    _ext_fields: de::IgnoredAny,
    #[serde(default)]
    flag: i32,
    #[serde(default, borrow)]
    language: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    version: i32,
}

pub(super) fn decode_fixed(bytes: &[u8]) -> Result<Header, CodecError> {
    let wire: JsonHeaderFixed =
        serde_json::from_slice(bytes).map_err(|e| CodecError::JsonHeader(e.to_string()))?;
    Ok(Header {
        code: wire.code,
        language: wire.language.as_deref().map(Language::from_name).unwrap_or_default(),
        version: wire.version,
        opaque: wire.opaque,
        flag: Flags(wire.flag),
        remark: wire.remark,
        ext_fields: BTreeMap::new(),
    })
}

/// A key as written, borrowed from the frame unless it has escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct K;
        impl<'de> Visitor<'de> for K {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(K)
    }
}

/// The header with only the `extFields` entries `keep(code, name)` wants; the others are read
/// past. The code is known by then: fastjson writes properties sorted by name and `code` sorts
/// before `extFields` (a header that names its code after its fields keeps them all).
pub(super) fn decode_keeping(bytes: &[u8], keep: &dyn Fn(i32, &str) -> bool) -> Result<Header, CodecError> {
    struct Whole<'k> {
        keep: &'k dyn Fn(i32, &str) -> bool,
    }
    struct Fields<'k> {
        keep: &'k dyn Fn(i32, &str) -> bool,
        code: Option<i32>,
    }
    impl<'de> de::DeserializeSeed<'de> for Fields<'_> {
        type Value = BTreeMap<String, String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_option(self)
        }
    }
    impl<'de> Visitor<'de> for Fields<'_> {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of header fields")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
            let mut fields = BTreeMap::new();
            while let Some(Key(key)) = m.next_key::<Key>()? {
                if self.code.is_some_and(|code| !(self.keep)(code, &key)) {
                    m.next_value::<de::IgnoredAny>()?;
                } else if let Some(value) = m.next_value::<Scalar>()?.0 {
                    fields.insert(key.into_owned(), value);
                }
            }
            Ok(fields)
        }
    }
    impl<'de> Visitor<'de> for Whole<'_> {
        type Value = Header;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a remoting header")
        }

        fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Header, M::Error> {
            let mut h = Header::default();
            let mut code = None;
            while let Some(Key(key)) = m.next_key::<Key>()? {
                match key.as_ref() {
                    "code" => {
                        let c = m.next_value::<Option<i32>>()?.unwrap_or_default();
                        (h.code, code) = (c, Some(c));
                    }
                    "extFields" => h.ext_fields = m.next_value_seed(Fields { keep: self.keep, code })?,
                    "flag" => h.flag = Flags(m.next_value::<Option<i32>>()?.unwrap_or_default()),
                    "language" => {
                        let l = m.next_value::<Option<Key>>()?;
                        h.language = l.map(|Key(l)| Language::from_name(&l)).unwrap_or_default();
                    }
                    "opaque" => h.opaque = m.next_value::<Option<i32>>()?.unwrap_or_default(),
                    "remark" => h.remark = m.next_value::<Option<String>>()?,
                    "version" => h.version = m.next_value::<Option<i32>>()?.unwrap_or_default(),
                    _ => {
                        m.next_value::<de::IgnoredAny>()?;
                    }
                }
            }
            Ok(h)
        }
    }
    let mut d = serde_json::Deserializer::from_slice(bytes);
    let h = d.deserialize_map(Whole { keep }).map_err(|e| CodecError::JsonHeader(e.to_string()))?;
    d.end().map_err(|e| CodecError::JsonHeader(e.to_string()))?;
    Ok(h)
}

pub(super) fn decode(bytes: &[u8]) -> Result<Header, CodecError> {
    let wire: JsonHeaderIn =
        serde_json::from_slice(bytes).map_err(|e| CodecError::JsonHeader(e.to_string()))?;
    Ok(Header {
        code: wire.code,
        language: wire.language.as_deref().map(Language::from_name).unwrap_or_default(),
        version: wire.version,
        opaque: wire.opaque,
        flag: Flags(wire.flag),
        remark: wire.remark,
        ext_fields: wire.ext_fields,
    })
}

/// `extFields` straight into the header's map (every frame a relay passes is decoded: one map,
/// no intermediate values). It is a `Map<String,String>` in Java; other scalars a peer may write
/// are kept as their JSON text, nulls are left out.
fn ext_fields<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of header fields")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
            let mut fields = BTreeMap::new();
            while let Some(key) = m.next_key::<String>()? {
                if let Some(value) = m.next_value::<Scalar>()?.0 {
                    fields.insert(key, value);
                }
            }
            Ok(fields)
        }
    }
    d.deserialize_option(Fields)
}

/// One `extFields` value as text; `None` for null.
struct Scalar(Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Strings (nearly every value) straight into their `String`; anything else through a
        // `Value` and back to its JSON text.
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Scalar;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header field value")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(Some(v)))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Some(Value::from(v).to_string())))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
                let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Scalar(Some(v.to_string())))
            }

            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Scalar, M::Error> {
                let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Scalar(Some(v.to_string())))
            }
        }
        d.deserialize_any(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_fields_read_alone_are_those_of_the_whole_header() {
        let text = br#"{"code":0,"extFields":{"msgId":"AC1","queueId":"3","o":{"n":[1,2]}},"flag":1,"language":"JAVA","opaque":42,"remark":"ok","serializeTypeCurrentRPC":"JSON","version":401}"#;
        let whole = decode(text).unwrap();
        let fixed = decode_fixed(text).unwrap();
        assert_eq!(fixed, Header { ext_fields: BTreeMap::new(), ..whole });
        assert!(decode_fixed(br#"{"code":1,"opaque":"x"}"#).is_err(), "a bad fixed field is an error");
    }

    #[test]
    fn fields_kept_by_choice_are_those_of_the_whole_header() {
        let text = br#"{"code":310,"extFields":{"a":"pg","b":"orders","i":"KEYS\u0001k\u0002","e":3,"x":null},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":401}"#;
        let whole = decode(text).unwrap();
        assert_eq!(decode_keeping(text, &|_, _| true).unwrap(), whole);
        let chosen = decode_keeping(text, &|code, key| code != 310 || key == "b").unwrap();
        assert_eq!(chosen.ext_fields, BTreeMap::from([("b".to_string(), "orders".to_string())]));
        assert_eq!(
            Header { ext_fields: BTreeMap::new(), ..chosen },
            Header { ext_fields: BTreeMap::new(), ..whole }
        );
        // The code after the fields: every field kept.
        let late = br#"{"extFields":{"a":"pg","b":"orders"},"code":310,"opaque":1}"#;
        assert_eq!(decode_keeping(late, &|_, key| key == "b").unwrap().ext_fields.len(), 2);
        // What the whole decoder refuses, this one does too.
        assert!(decode_keeping(br#"{"code":"x"}"#, &|_, _| true).is_err());
        assert!(decode_keeping(br#"{"code":1} trailing"#, &|_, _| true).is_err());
    }

    #[test]
    fn header_fields_are_text_whatever_a_peer_wrote() {
        let h = decode(
            br#"{"code":10,"extFields":{"a":"pg","e":3,"k":true,"x":null,"o":{"n":1}},"flag":0,"opaque":7}"#,
        )
        .unwrap();
        assert_eq!(h.field("a"), Some("pg"));
        assert_eq!(h.field("e"), Some("3"));
        assert_eq!(h.field("k"), Some("true"));
        assert_eq!(h.field("x"), None, "null is no field");
        assert_eq!(h.field("o"), Some(r#"{"n":1}"#));
        assert!(decode(br#"{"code":10,"extFields":null}"#).unwrap().ext_fields.is_empty());
        assert!(decode(br#"{"code":10}"#).unwrap().ext_fields.is_empty());
        assert!(decode(br#"{"code":10,"extFields":[1]}"#).is_err());
    }
}
