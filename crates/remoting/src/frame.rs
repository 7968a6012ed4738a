//! Frames: `u32 total | u32 (serialize type << 24 | header length) | header | body`, big-endian,
//! where `total` counts everything after itself. Pure functions over bytes: no I/O here.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::code::{RequestCode, ResponseCode};
use crate::error::CodecError;
use crate::header::{Flags, Header, SerializeType};

/// Java's `NettyDecoder` default (`com.rocketmq.remoting.frameMaxLength`), counted over the whole
/// frame including its length word.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// The 8 bytes before the header: the length word and the type-and-header-length word.
pub const PREFIX_LEN: usize = 8;

/// One decoded command: its header and the body, untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The encoding the header came in (or goes out in).
    pub serialize_type: SerializeType,
    pub header: Header,
    pub body: Bytes,
}

impl Frame {
    pub fn request(code: RequestCode) -> Frame {
        Frame { serialize_type: SerializeType::Json, header: Header::request(code), body: Bytes::new() }
    }

    pub fn response(code: ResponseCode, opaque: i32) -> Frame {
        Frame {
            serialize_type: SerializeType::Json,
            header: Header::response(code, opaque),
            body: Bytes::new(),
        }
    }

    pub fn with_fields<I, K, V>(mut self, fields: I) -> Frame
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.header.ext_fields.extend(fields.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Frame {
        self.body = body.into();
        self
    }

    pub fn with_remark(mut self, remark: impl Into<String>) -> Frame {
        self.header.remark = Some(remark.into());
        self
    }

    pub fn oneway(mut self) -> Frame {
        self.header.flag = Flags(self.header.flag.0 | Flags::ONEWAY);
        self
    }
}

/// Checks whether `buf` starts with a whole frame and returns its length (length word included),
/// `Ok(None)` when more bytes are needed. Limits are checked before anything is allocated.
pub fn check(buf: &[u8], max_frame: usize) -> Result<Option<usize>, CodecError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let total = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let frame_len = (total as usize)
        .checked_add(4)
        .ok_or(CodecError::FrameTooLarge { len: usize::MAX, max: max_frame })?;
    if frame_len > max_frame {
        return Err(CodecError::FrameTooLarge { len: frame_len, max: max_frame });
    }
    if total < 4 {
        return Err(CodecError::FrameTooShort(total));
    }
    if buf.len() < PREFIX_LEN {
        return Ok(None);
    }
    let header_len = (u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) & 0x00FF_FFFF) as usize;
    if header_len > total as usize - 4 {
        return Err(CodecError::HeaderPastFrame { header: header_len, frame: total as usize });
    }
    SerializeType::from_byte(buf[4])?;
    if buf.len() < frame_len {
        return Ok(None);
    }
    Ok(Some(frame_len))
}

/// Takes one frame off the front of `buf` if a whole one is there. On error the buffer is left
/// as it was: the caller closes the connection.
pub fn decode(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, CodecError> {
    let Some(frame_len) = check(buf, max_frame)? else {
        return Ok(None);
    };
    let header_word = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let serialize_type = SerializeType::from_byte((header_word >> 24) as u8)?;
    let header_len = (header_word & 0x00FF_FFFF) as usize;
    let header = Header::decode(serialize_type, &buf[PREFIX_LEN..PREFIX_LEN + header_len])?;
    let mut frame = buf.split_to(frame_len);
    frame.advance(PREFIX_LEN + header_len);
    Ok(Some(Frame { serialize_type, header, body: frame.freeze() }))
}

/// Decodes one whole frame held in `bytes` (recorded frames, tests, fuzzing).
pub fn decode_one(bytes: &[u8], max_frame: usize) -> Result<Frame, CodecError> {
    let mut buf = BytesMut::from(bytes);
    match decode(&mut buf, max_frame)? {
        Some(frame) if buf.is_empty() => Ok(frame),
        Some(_) => Err(CodecError::HeaderPastFrame { header: 0, frame: bytes.len() }),
        None => Err(CodecError::TruncatedFrame { buffered: bytes.len() }),
    }
}

/// Appends `frame` to `out`, header in `frame.serialize_type`.
pub fn encode(frame: &Frame, out: &mut BytesMut) -> Result<(), CodecError> {
    let mut header = Vec::with_capacity(128);
    frame.header.encode(frame.serialize_type, &mut header)?;
    if header.len() > 0x00FF_FFFF {
        return Err(CodecError::FieldTooLong { field: "header" });
    }
    let total = 4 + header.len() + frame.body.len();
    let total = u32::try_from(total).map_err(|_| CodecError::FieldTooLong { field: "frame" })?;
    out.reserve(4 + total as usize);
    out.put_u32(total);
    out.put_u32(((frame.serialize_type.as_byte() as u32) << 24) | header.len() as u32);
    out.put_slice(&header);
    out.put_slice(&frame.body);
    Ok(())
}

/// Encodes to a fresh buffer.
pub fn encode_to_bytes(frame: &Frame) -> Result<Bytes, CodecError> {
    let mut out = BytesMut::new();
    encode(frame, &mut out)?;
    Ok(out.freeze())
}
