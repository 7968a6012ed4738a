//! The JSON header, as fastjson writes a `RemotingCommand`: properties sorted by name, `remark` and
//! `extFields` omitted when null, `serializeTypeCurrentRPC` present because the bean has a getter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
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
    #[serde(default)]
    ext_fields: Option<BTreeMap<String, Value>>,
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

pub(super) fn decode(bytes: &[u8]) -> Result<Header, CodecError> {
    let wire: JsonHeaderIn =
        serde_json::from_slice(bytes).map_err(|e| CodecError::JsonHeader(e.to_string()))?;
    let ext_fields = wire
        .ext_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            // extFields is a Map<String,String> in Java; tolerate other scalars a peer may write.
            Value::String(s) => Some((k, s)),
            Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect();
    Ok(Header {
        code: wire.code,
        language: wire.language.as_deref().map(Language::from_name).unwrap_or_default(),
        version: wire.version,
        opaque: wire.opaque,
        flag: Flags(wire.flag),
        remark: wire.remark,
        ext_fields,
    })
}
