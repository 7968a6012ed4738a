//! The binary `ROCKETMQ` header (`RocketMQSerializable.rocketMQProtocolEncode/Decode`):
//! `i16 code | u8 language | i16 version | i32 opaque | i32 flag | i32 len + remark |
//! i32 len + { i16 len + key, i32 len + value }*`, big-endian, empty strings read as null.

use std::collections::BTreeMap;

use super::{Flags, Header, Language};
use crate::error::CodecError;

pub(super) fn encode(h: &Header, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let code = i16::try_from(h.code).map_err(|_| CodecError::CodeTooLargeForBinary(h.code))?;
    let version = i16::try_from(h.version).map_err(|_| CodecError::VersionTooLargeForBinary(h.version))?;
    out.extend_from_slice(&code.to_be_bytes());
    out.push(h.language.0);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&h.opaque.to_be_bytes());
    out.extend_from_slice(&h.flag.0.to_be_bytes());
    let remark = h.remark.as_deref().unwrap_or("").as_bytes();
    out.extend_from_slice(&len_i32(remark.len())?.to_be_bytes());
    out.extend_from_slice(remark);

    let ext_start = out.len();
    out.extend_from_slice(&[0; 4]);
    for (k, v) in &h.ext_fields {
        let key_len =
            i16::try_from(k.len()).map_err(|_| CodecError::FieldTooLong { field: "extFields key" })?;
        out.extend_from_slice(&key_len.to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len_i32(v.len())?.to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    let ext_len = len_i32(out.len() - ext_start - 4)?;
    out[ext_start..ext_start + 4].copy_from_slice(&ext_len.to_be_bytes());
    Ok(())
}

fn len_i32(n: usize) -> Result<i32, CodecError> {
    i32::try_from(n).map_err(|_| CodecError::FieldTooLong { field: "length" })
}

/// A bounds-checked reader: every read names the field it was after, for the error.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(CodecError::HeaderTruncated { field }),
        }
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, CodecError> {
        Ok(self.take(1, field)?[0])
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, CodecError> {
        let b = self.take(2, field)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, CodecError> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len(&mut self, field: &'static str) -> Result<usize, CodecError> {
        let n = self.i32(field)?;
        usize::try_from(n).map_err(|_| CodecError::NegativeLength { field, len: n })
    }

    fn string(&mut self, len: usize, field: &'static str) -> Result<String, CodecError> {
        let b = self.take(len, field)?;
        String::from_utf8(b.to_vec()).map_err(|_| CodecError::InvalidUtf8 { field })
    }
}

pub(super) fn decode(buf: &[u8]) -> Result<Header, CodecError> {
    let mut r = Reader { buf, pos: 0 };
    let code = r.i16("code")? as i32;
    let language = Language(r.u8("language")?);
    let version = r.i16("version")? as i32;
    let opaque = r.i32("opaque")?;
    let flag = Flags(r.i32("flag")?);
    let remark_len = r.len("remark length")?;
    let remark = match remark_len {
        0 => None,
        n => Some(r.string(n, "remark")?),
    };
    let ext_len = r.len("extFields length")?;
    let ext = r.take(ext_len, "extFields")?;
    let mut ext_fields = BTreeMap::new();
    let mut er = Reader { buf: ext, pos: 0 };
    while er.pos < ext.len() {
        let key_len = er.i16("extFields key length")?;
        let key_len = usize::try_from(key_len)
            .map_err(|_| CodecError::NegativeLength { field: "extFields key length", len: key_len as i32 })?;
        let key = er.string(key_len, "extFields key")?;
        let val_len = er.len("extFields value length")?;
        let val = er.string(val_len, "extFields value")?;
        ext_fields.insert(key, val);
    }
    Ok(Header { code, language, version, opaque, flag, remark, ext_fields })
}
