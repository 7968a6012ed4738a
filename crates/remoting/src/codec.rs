//! The frame codec for `tokio_util::codec`: a thin adapter over the pure functions in [`frame`].

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::CodecError;
use crate::frame::{self, Frame, DEFAULT_MAX_FRAME};

/// Either the socket failed or the bytes are not a frame.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

#[derive(Clone, Copy, Debug)]
pub struct FrameCodec {
    pub max_frame: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec { max_frame: DEFAULT_MAX_FRAME }
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = StreamError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, StreamError> {
        Ok(frame::decode(src, self.max_frame)?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, StreamError> {
        match self.decode(src)? {
            Some(f) => Ok(Some(f)),
            None if src.is_empty() => Ok(None),
            None => Err(CodecError::TruncatedFrame { buffered: src.len() }.into()),
        }
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = StreamError;

    fn encode(&mut self, item: Frame, dst: &mut BytesMut) -> Result<(), StreamError> {
        Ok(frame::encode(&item, dst)?)
    }
}
