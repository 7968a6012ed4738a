//! Errors of the remoting crate: `CodecError` for bytes that are not a valid frame (pure, no I/O),
//! `Error` for everything a connection to a peer can go through, always naming the peer.

use std::time::Duration;

use crate::code::{RequestCode, ResponseCode};

/// Why bytes are not a valid frame. Any of these closes the connection: the stream is out of step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("frame length {0} is too small to hold the header length word")]
    FrameTooShort(u32),
    #[error("header length {header} runs past the end of a {frame}-byte frame")]
    HeaderPastFrame { header: usize, frame: usize },
    #[error("unknown header serialize type {0} (expected 0 = JSON or 1 = ROCKETMQ)")]
    UnknownSerializeType(u8),
    #[error("invalid JSON header: {0}")]
    JsonHeader(String),
    #[error("binary header truncated while reading {field}")]
    HeaderTruncated { field: &'static str },
    #[error("binary header has negative length {len} for {field}")]
    NegativeLength { field: &'static str, len: i32 },
    #[error("invalid UTF-8 in header {field}")]
    InvalidUtf8 { field: &'static str },
    #[error("code {0} does not fit the binary header's 16 bits; use the JSON header")]
    CodeTooLargeForBinary(i32),
    #[error("version {0} does not fit the binary header's 16 bits")]
    VersionTooLargeForBinary(i32),
    #[error("{field} is too long to encode")]
    FieldTooLong { field: &'static str },
    #[error("{0} bytes follow the frame")]
    TrailingBytes(usize),
    #[error("connection closed in the middle of a frame ({buffered} bytes buffered)")]
    TruncatedFrame { buffered: usize },
}

/// What went wrong talking to one peer. Every variant carries the peer address.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{addr}: unreachable: {source}")]
    Unreachable { addr: String, source: std::io::Error },
    #[error("{addr}: connect timed out after {after:?}")]
    ConnectTimeout { addr: String, after: Duration },
    #[error("{addr}: {code} timed out after {after:?}")]
    Timeout { addr: String, code: RequestCode, after: Duration },
    #[error("{addr}: connection closed")]
    Closed { addr: String },
    #[error("{addr}: I/O error: {source}")]
    Io { addr: String, source: std::io::Error },
    #[error("{addr}: protocol error: {source}")]
    Codec { addr: String, source: CodecError },
    /// The peer answered, but not with success.
    #[error("{addr}: {request} failed with {code}{}", remark.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Response { addr: String, request: RequestCode, code: ResponseCode, remark: Option<String> },
}

impl Error {
    pub fn addr(&self) -> &str {
        match self {
            Error::Unreachable { addr, .. }
            | Error::ConnectTimeout { addr, .. }
            | Error::Timeout { addr, .. }
            | Error::Closed { addr }
            | Error::Io { addr, .. }
            | Error::Codec { addr, .. }
            | Error::Response { addr, .. } => addr,
        }
    }
}
