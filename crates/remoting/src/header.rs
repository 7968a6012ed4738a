//! The command header every frame carries, and its two wire encodings (`RemotingCommand.java`).

mod binary;
mod json;

use std::collections::BTreeMap;
use std::fmt;

use crate::code::{RequestCode, ResponseCode};
use crate::error::CodecError;

/// How a header is encoded on the wire: the top byte of the frame's second word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson-written JSON: what the Java client and servers use by default.
    #[default]
    Json,
    /// The compact binary `ROCKETMQ` form (`RocketMQSerializable.java`).
    RocketMq,
}

impl SerializeType {
    pub fn from_byte(b: u8) -> Result<Self, CodecError> {
        match b {
            0 => Ok(SerializeType::Json),
            1 => Ok(SerializeType::RocketMq),
            other => Err(CodecError::UnknownSerializeType(other)),
        }
    }

    pub fn as_byte(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

/// `LanguageCode`: a byte in the binary header, the enum name in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(pub u8);

const LANGUAGE_NAMES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP", "OMS",
    "RUST", "NODE_JS",
];

impl Language {
    pub const JAVA: Language = Language(0);
    pub const OTHER: Language = Language(7);
    pub const RUST: Language = Language(12);

    pub fn name(self) -> &'static str {
        LANGUAGE_NAMES.get(self.0 as usize).copied().unwrap_or("OTHER")
    }

    /// Unknown names map to `OTHER`, as a tolerant peer would.
    pub fn from_name(name: &str) -> Language {
        LANGUAGE_NAMES.iter().position(|n| *n == name).map(|i| Language(i as u8)).unwrap_or(Language::OTHER)
    }
}

impl Default for Language {
    /// Ferry announces itself as JAVA, as tools that want the Java behaviour of servers do
    /// (4.9.8 knows `RUST` but not `NODE_JS`; older 4.x neither).
    fn default() -> Self {
        Language::JAVA
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The header `flag` bit set: bit 0 = response, bit 1 = oneway.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Flags(pub i32);

impl Flags {
    pub const RESPONSE: i32 = 1;
    pub const ONEWAY: i32 = 2;

    pub fn is_response(self) -> bool {
        self.0 & Self::RESPONSE != 0
    }

    pub fn is_oneway(self) -> bool {
        self.0 & Self::ONEWAY != 0
    }
}

/// The version Ferry announces when it is the client: `MQVersion.Version.V4_9_8` (409). It makes
/// 4.9.4+ NameServers answer routes in standard JSON and asks nothing of 5.x-only features.
pub const DEFAULT_VERSION: i32 = 409;

/// One `RemotingCommand` header, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// A request code in requests, a response code in responses.
    pub code: i32,
    pub language: Language,
    pub version: i32,
    /// Pairs a response with its request.
    pub opaque: i32,
    pub flag: Flags,
    pub remark: Option<String>,
    /// All typed header fields, stringified. Sorted, which is also the order ACL signing needs.
    pub ext_fields: BTreeMap<String, String>,
}

impl Header {
    pub fn request(code: RequestCode) -> Header {
        Header { code: code.0, version: DEFAULT_VERSION, ..Header::default() }
    }

    pub fn response(code: ResponseCode, opaque: i32) -> Header {
        Header {
            code: code.0,
            version: DEFAULT_VERSION,
            opaque,
            flag: Flags(Flags::RESPONSE),
            ..Header::default()
        }
    }

    pub fn is_response(&self) -> bool {
        self.flag.is_response()
    }

    pub fn is_oneway(&self) -> bool {
        self.flag.is_oneway()
    }

    pub fn request_code(&self) -> RequestCode {
        RequestCode(self.code)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode(self.code)
    }

    pub fn field(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key).map(String::as_str)
    }

    /// Encodes the header in `ty`, appending to `out`.
    pub fn encode(&self, ty: SerializeType, out: &mut Vec<u8>) -> Result<(), CodecError> {
        match ty {
            SerializeType::Json => json::encode(self, out),
            SerializeType::RocketMq => binary::encode(self, out),
        }
    }

    pub fn decode(ty: SerializeType, bytes: &[u8]) -> Result<Header, CodecError> {
        match ty {
            SerializeType::Json => json::decode(bytes),
            SerializeType::RocketMq => binary::decode(bytes),
        }
    }

    /// The header with only the `extFields` entries `keep(code, name)` wants (the others read
    /// past, not kept): for a reader that knows which fields of which requests it reads. A binary
    /// header is read whole.
    pub fn decode_keeping(
        ty: SerializeType,
        bytes: &[u8],
        keep: &dyn Fn(i32, &str) -> bool,
    ) -> Result<Header, CodecError> {
        match ty {
            SerializeType::Json => json::decode_keeping(bytes, keep),
            SerializeType::RocketMq => binary::decode(bytes),
        }
    }

    /// The header without its `extFields` (left empty), for a reader that needs only the fixed
    /// fields (code, opaque, flag...): a JSON header's fields are read past, not kept, which
    /// spares a string and a map entry per field. A binary header is read whole (cheap).
    pub fn decode_fixed(ty: SerializeType, bytes: &[u8]) -> Result<Header, CodecError> {
        match ty {
            SerializeType::Json => json::decode_fixed(bytes),
            SerializeType::RocketMq => binary::decode(bytes),
        }
    }
}
