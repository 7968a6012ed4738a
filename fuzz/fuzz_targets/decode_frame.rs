//! Arbitrary bytes into the frame decoder and the fastjson body parser: no input may panic, and a
//! frame that decodes must encode and decode again to the same frame.
#![no_main]

use bytes::BytesMut;
use ferry_remoting::frame::{self, DEFAULT_MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(f)) = frame::decode(&mut buf, DEFAULT_MAX_FRAME) {
        if let Ok(bytes) = frame::encode_to_bytes(&f) {
            let again = frame::decode_one(&bytes, DEFAULT_MAX_FRAME).expect("re-encoded frame decodes");
            assert_eq!(again, f);
        }
        let _ = ferry_remoting::fastjson::parse(&f.body);
    }
    let _ = ferry_remoting::fastjson::parse(data);
});
