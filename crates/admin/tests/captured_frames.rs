//! Frames as real Java NameServers write them, read off the socket byte for byte: checks the codec
//! against the real thing (fastjson bare integer keys, which header encoding a server answers in)
//! and, with `FERRY_RECORD_FRAMES=1`, records them under crates/remoting/tests/frames/ for the
//! replay tests there.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferry_remoting::body::ClusterInfo;
use ferry_remoting::frame::{self, Frame, DEFAULT_MAX_FRAME};
use ferry_remoting::{fastjson, RequestCode, SerializeType};
use ferry_testkit::{shared, ClusterSpec, RocketMqVersion};

/// Sends one request over a plain socket and returns the raw response frame.
fn exchange(addr: &str, request: &Frame) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&frame::encode_to_bytes(request).unwrap()).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).unwrap();
    [len.to_vec(), rest].concat()
}

fn record(name: &str, bytes: &[u8]) {
    if std::env::var_os("FERRY_RECORD_FRAMES").is_some() {
        let dir = ferry_testkit::repo_root().join("crates/remoting/tests/frames");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn cluster_info_request(ty: SerializeType) -> Frame {
    let mut f = Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO);
    f.serialize_type = ty;
    f.header.opaque = 77;
    f
}

fn check(version: RocketMqVersion) {
    let c = shared(ClusterSpec::new(format!("frames-{version}"), version));
    let tag = if version.is_5x() { "5.3.3" } else { "4.9.8" };

    let raw = exchange(c.namesrv_addr(), &cluster_info_request(SerializeType::Json));
    record(&format!("{tag}-namesrv-cluster-info-json.bin"), &raw);
    let f = frame::decode_one(&raw, DEFAULT_MAX_FRAME).unwrap();
    assert!(f.header.is_response());
    assert_eq!(f.header.opaque, 77);
    // fastjson writes the broker id keys bare: not JSON, and what our tolerant parser is for.
    let body = String::from_utf8_lossy(&f.body);
    assert!(body.contains(r#""brokerAddrs":{0:""#), "{body}");
    assert!(serde_json::from_slice::<serde_json::Value>(&f.body).is_err());
    let info: ClusterInfo = fastjson::from_slice(&f.body).unwrap();
    assert_eq!(info.broker_addr_table[c.broker_name()].master_addr(), Some(c.broker_addr()));
    // Our encoder writes the same bytes back: header field order and shape match fastjson's.
    assert_eq!(frame::encode_to_bytes(&f).unwrap().as_ref(), raw.as_slice(), "re-encoding a {tag} frame");

    // A binary-header request: 4.9.x answers in the request's encoding, 5.3.x in its own (JSON).
    let raw = exchange(c.namesrv_addr(), &cluster_info_request(SerializeType::RocketMq));
    record(&format!("{tag}-namesrv-cluster-info-reply-to-binary.bin"), &raw);
    let f = frame::decode_one(&raw, DEFAULT_MAX_FRAME).unwrap();
    let expected = if version.is_5x() { SerializeType::Json } else { SerializeType::RocketMq };
    assert_eq!(f.serialize_type, expected);
    assert_eq!(f.header.opaque, 77);
    let _: ClusterInfo = fastjson::from_slice(&f.body).unwrap();
}

#[test]
fn frames_from_a_4_9_namesrv() {
    check(RocketMqVersion::V4_9_8);
}

#[test]
fn frames_from_a_5_3_namesrv() {
    check(RocketMqVersion::V5_3_3);
}
