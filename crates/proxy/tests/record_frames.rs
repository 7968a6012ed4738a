//! Records the frame stream the relay's instruction-count benchmark replays
//! (`crates/proxy/benches/data/stream.bin`, read by `crates/proxy/examples/frame_cost`). Run once,
//! by hand, when the stream should change (a new client, new request kinds):
//!
//! ```sh
//! cargo test -p ferry-proxy --test record_frames -- --ignored --nocapture
//! ```
//!
//! Ferry's proxy in front of a real 5.3.3 broker (ferry_testkit), the 4.9.8 Java client (the
//! testkit harness) producing 1 KiB messages and consuming them back through the relay. The relay
//! binds 127.0.0.1 and is advertised as 127.0.0.2 (the same loopback), where a tap listens on the
//! relay's two ports: clients connect to the tap, the tap to the relay. The tap writes down every
//! whole frame each way, in the order it saw them, before passing the bytes on (so an answer is
//! never written down before its request). What a source-side relay passes is the broker's frames
//! as they are, so the client-bound frames are the broker's own answers and requests.
//!
//! File format: `FERRYFR1`, then one record per frame: direction (0 client to broker, 1 broker
//! to client), connection number (u8, in the order the tap accepted them), frame length (u32 big
//! endian), the frame (its own 4-byte length word included).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_proxy::{Proxy, ProxyConfig, RelayAssignment, Side, Upstreams};
use ferry_remoting::frame;
use ferry_testkit::{Cluster, ClusterSpec, Consume, GroupSpec, Produce, RocketMqVersion, TopicSpec};

/// Where the stream goes, relative to the crate.
const OUT: &str = "benches/data/stream.bin";
const MAGIC: &[u8; 8] = b"FERRYFR1";

/// Frames in the order the tap saw them: (client to broker, connection, frame).
type Log = Arc<Mutex<Vec<(bool, u8, Vec<u8>)>>>;

#[test]
#[ignore = "records crates/proxy/benches/data/stream.bin against a real broker; run by hand"]
fn record_the_relay_benchmark_stream() {
    let cluster = Cluster::start(ClusterSpec::new("frame-record", RocketMqVersion::V5_3_3)).unwrap();
    let (topic, group) = ("bench-orders", "bench-billing");
    let admin = cluster.harness();
    admin.create_topics(cluster.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    admin.create_groups(cluster.cluster_name(), &[GroupSpec::new(group)]).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut config = ProxyConfig::loopback(0, 1, 2);
    config.relays.advertised_host = "127.0.0.2".into();
    let proxy = rt.block_on(Proxy::start(config, &[])).unwrap();
    proxy.set_upstreams(Upstreams::new(cluster.namesrv_addr(), None).unwrap());
    // The relay for the broker, on a port pair free on both loopback addresses.
    let port = free_pair();
    let assignment = RelayAssignment { side: Side::Source, backend: cluster.broker_addr().into(), port };
    let _entered = rt.enter();
    assert!(proxy.adopt_relays(&[assignment]).is_empty(), "relay on {port}");

    let log: Log = Arc::default();
    let conns = Arc::new(Mutex::new(0u8));
    for p in [port, port - 2] {
        let listener = TcpListener::bind(("127.0.0.2", p)).unwrap();
        let (log, conns) = (log.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let relay = TcpStream::connect(("127.0.0.1", p)).unwrap();
                let conn = {
                    let mut n = conns.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                tap(client, relay, conn, log.clone());
            }
        });
    }

    let client = ferry_testkit::Harness::new(proxy.namesrv_addr().to_string());
    let sent = client.produce(&Produce::new(topic, 64).body_size(1024)).unwrap();
    assert_eq!(sent.len(), 64);
    let got = client.consume(&Consume::new(topic, group, 64).from_first().timeout_secs(60)).unwrap();
    assert!(got.len() >= 64, "consumed {}", got.len());
    // The clients closed their connections; let the tap see the last bytes.
    std::thread::sleep(Duration::from_secs(1));

    let log = log.lock().unwrap();
    let mut out = MAGIC.to_vec();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for (up, conn, f) in log.iter() {
        out.push(u8::from(!*up));
        out.push(*conn);
        out.extend_from_slice(&u32::try_from(f.len()).unwrap().to_be_bytes());
        out.extend_from_slice(f);
        let decoded = frame::decode_one(f, frame::DEFAULT_MAX_FRAME).unwrap();
        let kind = if decoded.header.is_response() {
            format!("answer {}", decoded.header.response_code())
        } else {
            format!("request {}", decoded.header.request_code())
        };
        *kinds.entry(format!("{} {kind}", if *up { "client>" } else { "broker>" })).or_default() += 1;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(OUT);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &out).unwrap();
    println!("{} frames, {} bytes, {} connections -> {}", log.len(), out.len(), conns.lock().unwrap(), OUT);
    for (kind, n) in kinds {
        println!("  {n:5}  {kind}");
    }
    drop(proxy);
}

/// A port `p` with `p` and `p - 2` free on 127.0.0.1 and 127.0.0.2.
fn free_pair() -> u16 {
    for _ in 0..200 {
        let p = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let free = |host: &str, port: u16| TcpListener::bind((host, port)).is_ok();
        if p > 1026 && [p, p - 2].iter().all(|&q| free("127.0.0.1", q) && free("127.0.0.2", q)) {
            return p;
        }
    }
    panic!("no free port pair");
}

/// Passes bytes both ways between a client and the relay, writing down each whole frame first.
fn tap(client: TcpStream, relay: TcpStream, conn: u8, log: Log) {
    let pairs = [(client.try_clone().unwrap(), relay.try_clone().unwrap(), true), (relay, client, false)];
    for (mut from, mut to, up) in pairs {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut pending = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let n = match from.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&chunk[..n]);
                {
                    let mut log = log.lock().unwrap();
                    while pending.len() >= 4 {
                        let len = u32::from_be_bytes(pending[..4].try_into().unwrap()) as usize + 4;
                        if pending.len() < len {
                            break;
                        }
                        log.push((up, conn, pending.drain(..len).collect()));
                    }
                }
                if to.write_all(&chunk[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    }
}
