//! What strangers can hold of Ferry: hundreds of connections that start a frame and never finish
//! it, connections beyond the caps, a client that never reads, all against a relay and the
//! NameServer front in front of a real 4.9.8 cluster, while a real Java producer and consumer keep
//! working through the same relay. Attack connections come from other loopback addresses
//! (127.0.0.2 ...) than the Java client's (127.0.0.1), so that the per-address cap can tell them
//! apart.
//!
//! One test, in phases: the process's resident memory is measured, and tests running beside it
//! would blur it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_admin::{Admin, AdminOptions};
use ferry_proxy::{ConnectionCaps, Proxy, ProxyConfig, Upstreams};
use ferry_remoting::{frame, Frame, RequestCode, ResponseCode};
use ferry_testkit::{
    shared, wait_for_delivery, ClusterSpec, ConsumeStream, GroupSpec, Harness, ProduceStream,
    RocketMqVersion, TopicSpec,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const FRAME_TIMEOUT: Duration = Duration::from_secs(5);
const BUDGET: usize = 32 * 1024 * 1024;
const RELAY_CAPS: ConnectionCaps = ConnectionCaps { max: 800, per_ip: 300 };
const FRONT_CAPS: ConnectionCaps = ConnectionCaps { max: 400, per_ip: 150 };
const MIB: usize = 1024 * 1024;

/// Resident memory of this process, in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 1024
}

/// A connection to `to` from the loopback address `from`.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{from}:0").parse().unwrap()).unwrap();
    s.connect(to).await.unwrap()
}

async fn connect_many(from: &str, to: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        all.push(connect_from(from, to).await);
    }
    all
}

/// Whether the peer closed `s` (or reset it). Looks without waiting.
fn is_closed(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    match s.try_read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

fn closed(all: &[TcpStream]) -> usize {
    all.iter().filter(|s| is_closed(s)).count()
}

/// Starts a frame of `declared` bytes on each connection and sends `sent` bytes of it (or as many
/// as the peer takes within two seconds), never the rest.
async fn start_frames(all: &mut [TcpStream], declared: usize, sent: usize) {
    // A JSON header of 2 bytes, then a body that never ends: nothing wrong but its length.
    let mut payload = vec![7u8; sent];
    payload[..4].copy_from_slice(&[0, 0, 0, 2]);
    let payload = Arc::new(payload);
    let writes = all.iter_mut().map(|s| {
        let payload = payload.clone();
        async move {
            let _ = s.write_all(&((declared - 4) as u32).to_be_bytes()).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), s.write_all(&payload)).await;
        }
    });
    futures::future::join_all(writes).await;
}

/// Waits until every connection of `all` is closed, at most `within`; returns how long it took.
async fn all_closed(all: &[TcpStream], within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let n = closed(all);
        if n == all.len() {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{n} of {} closed after {within:?}", all.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads one whole frame off `s`.
async fn read_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> Frame {
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        if let Ok(Some(len)) = frame::check(buf, frame::DEFAULT_MAX_FRAME) {
            let f = frame::decode_one(&buf[..len], frame::DEFAULT_MAX_FRAME).unwrap();
            buf.drain(..len);
            return f;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "closed before a whole frame");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends a 1 MiB message of bytes that do not compress; returns its offset message id.
async fn send_big_message(relay: SocketAddr, topic: &str) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let body: Vec<u8> = (0..MIB)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let born = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let send = Frame::request(RequestCode::SEND_MESSAGE)
        .with_fields([
            ("producerGroup", "limits-big".to_string()),
            ("topic", topic.to_string()),
            ("defaultTopic", "TBW102".to_string()),
            ("defaultTopicQueueNums", "4".to_string()),
            ("queueId", "0".to_string()),
            ("sysFlag", "0".to_string()),
            ("bornTimestamp", born.to_string()),
            ("flag", "0".to_string()),
            ("properties", String::new()),
            ("reconsumeTimes", "0".to_string()),
            ("unitMode", "false".to_string()),
            ("batch", "false".to_string()),
        ])
        .with_body(body);
    let mut s = connect_from("127.0.0.1", relay).await;
    s.write_all(&frame::encode_to_bytes(&send).unwrap()).await.unwrap();
    let answer = read_frame(&mut s, &mut Vec::new()).await;
    assert_eq!(answer.header.response_code(), ResponseCode::SUCCESS, "{:?}", answer.header.remark);
    answer.header.field("msgId").unwrap().to_string()
}

#[test]
fn hundreds_of_unfinished_frames_and_a_client_that_never_reads_leave_a_real_client_working() {
    let source = shared(ClusterSpec::new("limits-source", RocketMqVersion::V4_9_8));
    let (topic, group) = ("limits-orders", "limits-billing");
    let admin = source.harness();
    admin.create_topics(source.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    admin.create_groups(source.cluster_name(), &[GroupSpec::new(group)]).unwrap();

    // The proxy on its own runtime; the attackers on another.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let attack = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let first = 10_060 + (std::process::id() % 90) as u16 * 100;
    let mut config = ProxyConfig::loopback(0, first, first + 39);
    config.relays.frame_timeout = FRAME_TIMEOUT;
    config.relays.partial_frame_budget = BUDGET;
    config.relays.connections = RELAY_CAPS;
    config.front_connections = FRONT_CAPS;
    let proxy = rt.block_on(Proxy::start(config, &[])).unwrap();
    proxy.set_upstreams(Upstreams::new(source.namesrv_addr(), None).unwrap());
    assert_eq!(proxy.limits().relay_caps, RELAY_CAPS, "the machine's open-file limit fits them");
    let front = proxy.namesrv_addr();
    let relay: SocketAddr = rt
        .block_on(async {
            let admin = Admin::new(&front.to_string(), AdminOptions::default()).unwrap();
            admin.topic_route(topic).await.unwrap()
        })
        .broker_datas[0]
        .master_addr()
        .unwrap()
        .parse()
        .unwrap();

    // A real consumer and producer through the relay, before, during and after the attacks.
    let h = Harness::new(front.to_string());
    let consumer =
        h.consume_stream(&ConsumeStream::new(topic, group).from_first().poll_namesrv_ms(2_000)).unwrap();
    consumer.wait_ready(Duration::from_secs(60)).unwrap();
    let producer = h
        .produce_stream(&ProduceStream::new(topic, "limits-producers").rate(20).poll_namesrv_ms(2_000))
        .unwrap();
    producer.wait_ready(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let before = rss();
    let attack_started = Instant::now();

    // ---- 1. Unfinished frames: 260 connections to the relay that each start an 8 MiB frame and
    // send 1 MiB of it, 100 to the front that start a 1 MiB frame and send 256 KiB of it, 200 more
    // to each that send 100 bytes of a small frame. 760 in all, 135 MiB sent.
    let (mut big_relay, mut big_front, mut small_relay, mut small_front) = attack.block_on(async {
        let big_relay = connect_many("127.0.0.2", relay, 260).await;
        let big_front = connect_many("127.0.0.2", front, 100).await;
        let small_relay = connect_many("127.0.0.3", relay, 200).await;
        let small_front = connect_many("127.0.0.3", front, 100).await;
        (big_relay, big_front, small_relay, small_front)
    });
    attack.block_on(async {
        tokio::join!(
            start_frames(&mut big_relay, 8 * MIB, MIB),
            start_frames(&mut big_front, MIB, 256 * 1024),
            start_frames(&mut small_relay, 1_000, 100),
            start_frames(&mut small_front, 1_000, 100),
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    let during = rss();
    assert!(
        during < before + 100 * MIB,
        "memory held by unfinished frames is bounded by the budget: {} MiB before, {} MiB while 135 MiB \
         of unfinished frames were sent",
        before / MIB,
        during / MIB
    );
    let held = proxy.limits();
    assert!(held.partial_frame_bytes <= BUDGET, "{held:?}");
    assert_eq!(held.relay_refused + held.front_refused, 0, "all under the caps: {held:?}");
    // Every one of them is closed once its frame is late; none before it is.
    let took = attack.block_on(async {
        let all: Vec<TcpStream> =
            [big_relay, big_front, small_relay, small_front].into_iter().flatten().collect();
        assert_eq!(closed(&all), 0, "none closed before its deadline");
        (all_closed(&all, FRAME_TIMEOUT + Duration::from_secs(10)).await, all)
    });
    let (took, attackers) = took;
    assert!(attack_started.elapsed() >= FRAME_TIMEOUT, "closed at the deadline, not before ({took:?})");
    drop(attackers);
    std::thread::sleep(Duration::from_millis(500));
    let gone = proxy.limits();
    assert_eq!(gone.partial_frame_bytes, 0, "{gone:?}");
    assert!(gone.relay_connections < 10 && gone.front_connections < 10, "only the Java clients': {gone:?}");
    let after = rss();
    eprintln!(
        "resident: {} MiB before, {} MiB with 760 unfinished frames, {} MiB after",
        before / MIB,
        during / MIB,
        after / MIB
    );
    assert!(after < before + 64 * MIB, "{} MiB before, {} MiB after", before / MIB, after / MIB);

    // ---- 2. Caps. Silent connections stay (clients keep idle ones): a connection that never
    // started a frame has no deadline. Beyond 300 from one address the relay closes them at once,
    // and beyond 150 the front; beyond 800 in all the relay closes any.
    let (silent_a, silent_b, front_silent) = attack.block_on(async {
        let a = connect_many("127.0.0.4", relay, 350).await;
        let b = connect_many("127.0.0.5", relay, 300).await;
        let f = connect_many("127.0.0.4", front, 200).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        (a, b, f)
    });
    assert_eq!(closed(&silent_a), 50, "per-address cap on the relay");
    assert_eq!(closed(&silent_b), 0);
    assert_eq!(closed(&front_silent), 50, "per-address cap on the front");
    let open_now = proxy.limits().relay_connections;
    let room = RELAY_CAPS.max - open_now;
    let over = attack.block_on(async {
        let c = connect_many("127.0.0.6", relay, room + 40).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        c
    });
    assert_eq!(closed(&over), 40, "global cap on the relay ({open_now} open before)");
    let refused = proxy.limits();
    assert_eq!((refused.relay_refused, refused.front_refused), (90, 50), "{refused:?}");
    drop(over);
    // Longer than the frame timeout: silent connections are not timed.
    std::thread::sleep(FRAME_TIMEOUT + Duration::from_secs(1));
    assert_eq!(closed(&silent_a) + closed(&silent_b) + closed(&front_silent), 100);
    // The front still answers its own client while holding its cap from 127.0.0.4.
    let route = rt.block_on(async {
        Admin::new(&front.to_string(), AdminOptions::default()).unwrap().topic_route(topic).await
    });
    assert!(route.is_ok(), "{route:?}");
    drop((silent_a, silent_b, front_silent));

    // ---- 3. A client that never reads: 60 requests for a 1 MiB message, answered by the broker
    // with 60 MiB. The relay stops reading from the broker once 1 MiB waits for the client.
    // Stored through the relay as a client sends it, but with a body that does not compress (the
    // Java client compresses bodies over 4 KiB).
    let stored = attack.block_on(send_big_message(relay, topic));
    let offset = u64::from_str_radix(&stored[stored.len() - 16..], 16).unwrap();
    let before_slow = rss();
    let mut slow = attack.block_on(connect_from("127.0.0.7", relay));
    attack.block_on(async {
        for opaque in 1..=60 {
            let mut view =
                Frame::request(RequestCode::VIEW_MESSAGE_BY_ID).with_fields([("offset", offset.to_string())]);
            view.header.opaque = opaque;
            slow.write_all(&frame::encode_to_bytes(&view).unwrap()).await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_secs(3));
    let during_slow = rss();
    eprintln!(
        "resident: {} MiB before the client that never reads, {} MiB while it does not",
        before_slow / MIB,
        during_slow / MIB
    );
    assert!(
        during_slow < before_slow + 24 * MIB,
        "a client that does not read holds its queue's bound, not the broker's 60 MiB: {} MiB before, {} MiB after",
        before_slow / MIB,
        during_slow / MIB
    );
    // Nothing was dropped: once it reads, every answer comes.
    let answers = attack.block_on(async {
        let mut buf = Vec::new();
        let mut answers = Vec::new();
        while answers.len() < 60 {
            answers.push(read_frame(&mut slow, &mut buf).await);
        }
        answers
    });
    // (The broker answers them from a pool of threads, not in order.)
    let mut opaques: Vec<i32> = answers.iter().map(|a| a.header.opaque).collect();
    opaques.sort();
    assert_eq!(opaques, (1..=60).collect::<Vec<_>>());
    for a in &answers {
        assert_eq!(a.header.response_code(), ResponseCode::SUCCESS, "{:?}", a.header.remark);
        assert!(a.body.len() > MIB, "{}", a.body.len());
    }
    drop(slow);

    // ---- The Java client went on all along: every send succeeded and was consumed.
    let sent = producer.stop().unwrap();
    let failed: Vec<_> = sent.iter().filter(|s| !s.is_ok()).collect();
    assert!(failed.is_empty(), "sends failed under attack: {failed:?}");
    assert!(sent.len() as u64 >= 20 * attack_started.elapsed().as_secs() / 2, "{} sent", sent.len());
    let missing = wait_for_delivery(&sent, &[&consumer], Duration::from_secs(60)).unwrap();
    assert!(missing.is_empty(), "{} of {} not consumed: {missing:?}", missing.len(), sent.len());
    consumer.stop().unwrap();
}
