//! The proxy in front of real clusters: a 4.9.8 source and a 5.3.3 target, real Java producers
//! and consumers pointed at Ferry's NameServer front, stages set by hand.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::Duration;

use ferry_admin::{Admin, AdminOptions};
use ferry_proxy::{Proxy, ProxyConfig, RelayAssignment, Side, Stage, TopicPolicy, Upstreams};
use ferry_remoting::body::TopicRouteData;
use ferry_remoting::frame;
use ferry_remoting::request::{GetRouteInfoRequestHeader, RequestHeader};
use ferry_remoting::{fastjson, Frame, RequestCode, ResponseCode};
use ferry_testkit::{
    shared, Cluster, ClusterSpec, Consume, GroupSpec, Harness, Produce, RocketMqVersion, TopicSpec,
};

struct Fixture {
    rt: tokio::runtime::Runtime,
    proxy: Proxy,
    source: &'static Cluster,
    target: &'static Cluster,
}

/// Relay ports away from the testkit's (20000..32000) and from other test processes: the first
/// half for the fixture's proxy, the second for the ACL fixture's.
fn relay_range() -> (u16, u16) {
    let first = 10_000 + (std::process::id() % 90) as u16 * 100;
    (first, first + 49)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let source = shared(ClusterSpec::new("relay-source", RocketMqVersion::V4_9_8));
        let target = shared(ClusterSpec::new("relay-target", RocketMqVersion::V5_3_3));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (first, last) = relay_range();
        let mut config = ProxyConfig::loopback(0, first, last);
        // Small, so that the over-limit test does not need megabytes.
        config.relays.max_frame = 1024 * 1024;
        let proxy = rt.block_on(Proxy::start(config, &[])).unwrap();
        proxy.set_upstreams(Upstreams::new(source.namesrv_addr(), Some(target.namesrv_addr())).unwrap());
        Fixture { rt, proxy, source, target }
    })
}

impl Fixture {
    fn ferry(&self) -> String {
        self.proxy.namesrv_addr().to_string()
    }

    /// The Java client, pointed at Ferry, re-reading routes every second.
    fn harness(&self) -> Harness {
        Harness::new(self.ferry())
    }

    fn create_everywhere(&self, topic: &str, group: &str) {
        for c in [self.source, self.target] {
            let h = c.harness();
            h.create_topics(c.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
            h.create_groups(c.cluster_name(), &[GroupSpec::new(group)]).unwrap();
        }
    }

    fn route_via_ferry(&self, topic: &str) -> TopicRouteData {
        let ferry = self.ferry();
        self.rt.block_on(async {
            let admin = Admin::new(&ferry, AdminOptions::default()).unwrap();
            admin.topic_route(topic).await.unwrap()
        })
    }
}

#[test]
fn producers_and_consumers_follow_the_stage_of_their_topic() {
    let f = fixture();
    let (topic, group) = ("relay-orders", "relay-billing");
    f.create_everywhere(topic, group);
    let h = f.harness();

    f.proxy.stages.set(topic, TopicPolicy::at(Stage::Initial));
    let sent = h.produce(&Produce::new(topic, 12)).unwrap();
    assert!(
        sent.iter().all(|m| m.broker_name == f.source.broker_name()),
        "Initial writes the source: {sent:?}"
    );
    assert_eq!(f.proxy.traffic.topic(topic, Side::Source).produced_messages, 12);

    // Completed: the same producer code now writes the target, through its relay.
    f.proxy.stages.set(topic, TopicPolicy::at(Stage::Completed));
    let sent2 = h.produce(&Produce::new(topic, 8)).unwrap();
    assert!(
        sent2.iter().all(|m| m.broker_name == f.target.broker_name()),
        "Completed writes the target: {sent2:?}"
    );
    assert_eq!(f.proxy.traffic.topic(topic, Side::Target).produced_messages, 8);

    // DualReadWrite: a consumer reads both clusters.
    f.proxy.stages.set(topic, TopicPolicy::at(Stage::DualReadWrite));
    let got = h.consume(&Consume::new(topic, group, 20).from_first().timeout_secs(60)).unwrap();
    let ids = ferry_testkit::consumed_ids(&got);
    for m in sent.iter().chain(&sent2) {
        assert!(ids.contains(m.msg_id.as_str()), "{} not consumed", m.msg_id);
    }
    let consumed = f.proxy.traffic.topic(topic, Side::Source).consumed_messages
        + f.proxy.traffic.topic(topic, Side::Target).consumed_messages;
    assert!(consumed >= 20, "pulls through the relays are counted: {consumed}");
}

#[test]
fn routes_name_relays_and_carry_the_stage_permissions() {
    let f = fixture();
    let topic = "relay-route";
    f.create_everywhere(topic, "relay-route-group");

    // Outside the migration: the source's route, addresses replaced.
    let r = f.route_via_ferry(topic);
    assert_eq!(r.queue_datas.len(), 1);
    assert_eq!(r.queue_datas[0].broker_name, f.source.broker_name());
    let addr = r.broker_datas[0].master_addr().unwrap().to_string();
    assert_ne!(addr, f.source.broker_addr());
    assert!(f.proxy.is_relay_addr(&addr), "{addr} is a relay");

    f.proxy.stages.set(topic, TopicPolicy::at(Stage::CuttingOver));
    let r = f.route_via_ferry(topic);
    let perm_of = |b: &str| r.queue_datas.iter().find(|q| q.broker_name == b).map(|q| q.perm);
    assert_eq!(perm_of(f.source.broker_name()), Some(4), "source read-only while cutting over");
    assert_eq!(perm_of(f.target.broker_name()), Some(6));
    assert!(r.broker_datas.iter().all(|b| f.proxy.is_relay_addr(b.master_addr().unwrap())));

    // The front remembers who was given which stage, for as long as their connection is open.
    let admin = Admin::new(&f.ferry(), AdminOptions::default()).unwrap();
    f.rt.block_on(admin.topic_route(topic)).unwrap();
    let fetches = f.proxy.routes.recent(topic, Duration::from_secs(60));
    assert_eq!(fetches[0].stage, Some(Stage::CuttingOver));
    drop(admin);

    // A client older than 4.9.4 gets the NameServer's non-standard JSON, which it parses.
    let mut req =
        GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None }.to_frame();
    req.header.version = 399;
    let body = raw_call(&f.ferry(), req).body;
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("\"brokerAddrs\":{0:\""), "{text}");
    let parsed: TopicRouteData = fastjson::from_slice(&body).unwrap();
    assert_eq!(parsed.queue_datas.len(), 2);

    // Unknown topics get the NameServer's answer.
    let err = f.rt.block_on(async {
        Admin::new(&f.ferry(), AdminOptions::default())
            .unwrap()
            .topic_route("relay-no-such-topic")
            .await
            .unwrap_err()
    });
    assert!(
        err.to_string().contains("TOPIC_NOT_EXIST") || err.to_string().contains("No topic route"),
        "{err}"
    );
}

#[test]
fn a_bad_client_loses_its_own_connection_and_no_other() {
    let f = fixture();
    let topic = "relay-garbage";
    f.create_everywhere(topic, "relay-garbage-group");
    let relay = f.route_via_ferry(topic).broker_datas[0].master_addr().unwrap().to_string();

    // A healthy admin connection through the same relay, opened before the trouble.
    let admin = Admin::new(&f.ferry(), AdminOptions::default()).unwrap();
    f.rt.block_on(admin.broker_runtime_info(&relay)).unwrap();

    // Garbage: a serialize type that does not exist.
    let mut bad = TcpStream::connect(&relay).unwrap();
    bad.write_all(&[0, 0, 0, 12, 9, 0, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    assert_closed(&mut bad);

    // A frame over the relay's limit.
    let mut big = TcpStream::connect(&relay).unwrap();
    big.write_all(&(4u32 * 1024 * 1024).to_be_bytes()).unwrap();
    assert_closed(&mut big);

    // A client that vanishes mid-request.
    let mut half = TcpStream::connect(&relay).unwrap();
    let frame = frame::encode_to_bytes(&Frame::request(RequestCode::GET_BROKER_RUNTIME_INFO)).unwrap();
    half.write_all(&frame[..frame.len() / 2]).unwrap();
    drop(half);

    // The others are served as before.
    f.rt.block_on(admin.broker_runtime_info(&relay)).unwrap();
    let sent = f.harness().produce(&Produce::new(topic, 3)).unwrap();
    assert_eq!(sent.len(), 3);
}

#[test]
fn requests_no_broker_can_take_are_refused_at_once_naming_it() {
    let f = fixture();
    let (first, _) = relay_range();
    // A broker that is down: nothing listens on its port.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    // A broker that goes away mid-connection: it takes the relay's connection, reads the first
    // request and closes it, as the kernel does for a broker killed with SIGKILL.
    let going = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let going_addr = going.local_addr().unwrap().to_string();
    let assignments = [(first + 46, &down), (first + 42, &going_addr)]
        .map(|(port, backend)| RelayAssignment { side: Side::Source, backend: backend.clone(), port });
    let conflicts = {
        let _in_runtime = f.rt.enter();
        f.proxy.adopt_relays(&assignments)
    };
    assert!(conflicts.is_empty(), "relays opened on {assignments:?}");
    let relay = |port: u16| format!("127.0.0.1:{port}");

    // Down: the request is answered SYSTEM_ERROR naming the broker (a producer then sends to
    // another broker at once), where closing without a word would leave the client waiting out
    // its timeout; then the relay closes the connection.
    let mut to_down = FrameReader::connect(&relay(first + 46));
    // A heartbeat (a consumer's offset query likewise) gets no answer, as from a broker that is
    // down: an error answer would read to a 4.9 consumer as "no offset stored".
    to_down.send(&heartbeat("10.0.0.7@down", "relay-down-group", "relay-down", 6));
    to_down.send(&send("relay-down", 7));
    let answer = to_down.next();
    assert_eq!(answer.header.opaque, 7, "only the send is answered");
    assert_eq!(answer.header.response_code(), ResponseCode::SYSTEM_ERROR);
    let remark = answer.header.remark.clone().unwrap_or_default();
    assert!(remark.contains(&down) && remark.contains("unreachable"), "{remark}");
    assert_closed(&mut to_down.s);

    // Gone mid-connection: the request it read gets no answer (it may have been stored, as with
    // the broker itself); the next one reaches no broker and is refused at once.
    let broker = std::thread::spawn(move || {
        let (mut c, _) = going.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = c.read(&mut buf);
    });
    let mut to_going = FrameReader::connect(&relay(first + 42));
    to_going.send(&send("relay-going", 1));
    broker.join().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    to_going.send(&send("relay-going", 2));
    let answer = to_going.next();
    assert_eq!((answer.header.opaque, answer.header.response_code()), (2, ResponseCode::SYSTEM_ERROR));
    let remark = answer.header.remark.clone().unwrap_or_default();
    assert!(remark.contains(&going_addr) && remark.contains("closed"), "{remark}");
    assert_closed(&mut to_going.s);
}

fn assert_closed(s: &mut TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the relay should have closed the connection, got {other:?}"),
    }
}

/// One request on a fresh plain TCP connection; returns the response frame.
fn raw_call(addr: &str, request: Frame) -> Frame {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&frame::encode_to_bytes(&request).unwrap()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Ok(Some(len)) = frame::check(&buf, frame::DEFAULT_MAX_FRAME) {
            return frame::decode_one(&buf[..len], frame::DEFAULT_MAX_FRAME).unwrap();
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before a whole response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn consumers_are_asked_to_rebalance_when_their_topic_moves() {
    let f = fixture();
    let topic = "relay-nudge";
    f.create_everywhere(topic, "relay-nudge-group");
    let relay = f.route_via_ferry(topic).broker_datas[0].master_addr().unwrap().to_string();

    // A client's heartbeat through the relay, as the Java client sends it (the broker answers it).
    let s = TcpStream::connect(&relay).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = format!(
        r#"{{"clientID":"10.9.9.9@nudge","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"relay-nudge-group","messageModel":"CLUSTERING","subscriptionDataSet":[{{"subString":"*","topic":"{topic}"}}],"unitMode":false}}],"producerDataSet":[]}}"#
    );
    let hb = Frame::request(RequestCode::HEART_BEAT).with_body(body.into_bytes());
    (&s).write_all(&frame::encode_to_bytes(&hb).unwrap()).unwrap();
    let mut frames = FrameReader { s, buf: Vec::new() };
    // The broker may first tell the new member that its group changed, as it does.
    while !frames.next().header.is_response() {}

    assert_eq!(f.proxy.nudge_consumers("relay-other-topic"), 0);
    assert_eq!(f.proxy.nudge_consumers(topic), 1);
    // Ferry's own notice: its opaques count down from the top, the broker's up from 0.
    let nudge = loop {
        let f = frames.next();
        if f.header.opaque > i32::MAX - 1_000 {
            break f;
        }
    };
    assert_eq!(nudge.header.request_code(), RequestCode::NOTIFY_CONSUMER_IDS_CHANGED);
    assert!(nudge.header.is_oneway());
    assert_eq!(nudge.header.field("consumerGroup"), Some("relay-nudge-group"));
}

/// Frames off a plain TCP connection, keeping what arrives beyond the frame asked for.
struct FrameReader {
    s: TcpStream,
    buf: Vec<u8>,
}

impl FrameReader {
    fn next(&mut self) -> Frame {
        let mut chunk = [0u8; 8192];
        loop {
            if let Ok(Some(len)) = frame::check(&self.buf, frame::DEFAULT_MAX_FRAME) {
                let f = frame::decode_one(&self.buf[..len], frame::DEFAULT_MAX_FRAME).unwrap();
                self.buf.drain(..len);
                return f;
            }
            let n = self.s.read(&mut chunk).unwrap();
            assert!(n > 0, "closed before a whole frame");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[test]
fn a_pull_where_the_stage_does_not_read_gets_no_message_in_the_peer_s_encoding() {
    let f = fixture();
    let topic = "relay-held-pull";
    f.create_everywhere(topic, "relay-held-group");
    // DualRead: the target's relay is in the route; back at Initial it may not be read.
    f.proxy.stages.set(topic, TopicPolicy::at(Stage::DualRead));
    let route = f.route_via_ferry(topic);
    let target_relay = route
        .broker_datas
        .iter()
        .find(|b| b.broker_name == f.target.broker_name())
        .and_then(|b| b.master_addr())
        .unwrap()
        .to_string();
    f.proxy.stages.set(topic, TopicPolicy::at(Stage::Initial));

    let mut pull = Frame::request(RequestCode::PULL_MESSAGE).with_fields([
        ("consumerGroup", "relay-held-group"),
        ("topic", topic),
        ("queueId", "0"),
        ("queueOffset", "7"),
        ("maxMsgNums", "32"),
        ("sysFlag", "2"),
        ("commitOffset", "0"),
        ("suspendTimeoutMillis", "15000"),
        ("subVersion", "0"),
    ]);
    pull.serialize_type = ferry_remoting::SerializeType::RocketMq;
    pull.header.opaque = 41;
    let s = TcpStream::connect(&target_relay).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (&s).write_all(&frame::encode_to_bytes(&pull).unwrap()).unwrap();
    let started = std::time::Instant::now();
    let answer = FrameReader { s, buf: Vec::new() }.next();
    assert!(started.elapsed() >= Duration::from_millis(900), "answered after a pause, like a long poll");
    assert_eq!(answer.serialize_type, ferry_remoting::SerializeType::RocketMq);
    assert_eq!(answer.header.opaque, 41);
    assert_eq!(answer.header.response_code(), ferry_remoting::ResponseCode::PULL_NOT_FOUND);
    assert_eq!(answer.header.field("nextBeginOffset"), Some("7"), "the client pulls again from where it was");
}

/// A proxy in front of ACL-enabled clusters: a 4.9.8 source (ACL 1.0) and a 5.3.3 target (ACL 2.0),
/// with the accounts of testkit/conf/plain_acl.yml; loopback is not whitelisted.
struct AclFixture {
    proxy: Proxy,
    source: &'static Cluster,
    target: &'static Cluster,
}

fn acl_fixture() -> &'static AclFixture {
    static F: OnceLock<AclFixture> = OnceLock::new();
    F.get_or_init(|| {
        let source = shared(ClusterSpec::new("relay-acl-source", RocketMqVersion::V4_9_8).acl(true));
        let target = shared(ClusterSpec::new("relay-acl-target", RocketMqVersion::V5_3_3).acl(true));
        let (_, last) = relay_range();
        let config = ProxyConfig::loopback(0, last + 1, last + 50);
        let proxy = fixture().rt.block_on(Proxy::start(config, &[])).unwrap();
        proxy.set_upstreams(Upstreams::new(source.namesrv_addr(), Some(target.namesrv_addr())).unwrap());
        AclFixture { proxy, source, target }
    })
}

/// A 1 KiB SEND_MESSAGE_V2 as the 4.9 Java producer sends it (its short field names).
fn send(topic: &str, opaque: i32) -> Frame {
    let mut f = Frame::request(RequestCode::SEND_MESSAGE_V2)
        .with_fields([("a", "relay-pg"), ("b", topic), ("c", "TBW102"), ("d", "4"), ("e", "0"), ("f", "0")])
        .with_body(vec![b'x'; 1024]);
    f.header.opaque = opaque;
    f
}

/// A consumer's heartbeat as the Java client sends it, unsigned.
fn heartbeat(client_id: &str, group: &str, topic: &str, opaque: i32) -> Frame {
    let body = format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{group}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"subString":"*","topic":"{topic}"}}],"unitMode":false}}],"producerDataSet":[]}}"#
    );
    let mut f = Frame::request(RequestCode::HEART_BEAT).with_body(body.into_bytes());
    f.header.opaque = opaque;
    f
}

impl FrameReader {
    fn connect(addr: &str) -> FrameReader {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        FrameReader { s, buf: Vec::new() }
    }

    fn send(&mut self, f: &Frame) {
        (&self.s).write_all(&frame::encode_to_bytes(f).unwrap()).unwrap();
    }

    /// The answer to `opaque`, past the broker's own requests.
    fn answer(&mut self, opaque: i32) -> Frame {
        loop {
            let f = self.next();
            if f.header.is_response() && f.header.opaque == opaque {
                return f;
            }
        }
    }
}

#[test]
fn a_heartbeat_the_acl_broker_refuses_is_not_recorded_and_a_signed_one_is() {
    let f = acl_fixture();
    let (topic, group) = ("relay-acl-topic", "relay-acl-group");
    for c in [f.source, f.target] {
        let h = c.harness(); // signs as the admin account
        h.create_topics(c.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
        h.create_groups(c.cluster_name(), &[GroupSpec::new(group)]).unwrap();
    }
    f.proxy.stages.set(topic, TopicPolicy::at(Stage::DualReadWrite));
    let route = Admin::new(&f.proxy.namesrv_addr().to_string(), AdminOptions::default())
        .map(|admin| fixture().rt.block_on(admin.topic_route(topic)))
        .unwrap()
        .unwrap();
    let relay_of = |c: &Cluster| {
        let b = route.broker_datas.iter().find(|b| b.broker_name == c.broker_name()).unwrap();
        b.master_addr().unwrap().to_string()
    };
    // 4.9.8: PlainPermissionManager.validate throws "No accessKey is configured", answered as
    // SYSTEM_ERROR; 5.3.3: AuthenticationPipeline answers NO_PERMISSION.
    for (c, refusal) in [(f.source, ResponseCode::SYSTEM_ERROR), (f.target, ResponseCode::NO_PERMISSION)] {
        let version = c.version().as_str();
        let relay = relay_of(c);
        let forged = format!("10.6.6.6@forged-{version}");
        let mut conn = FrameReader::connect(&relay);
        conn.send(&heartbeat(&forged, group, topic, 1));
        let answer = conn.answer(1);
        assert_eq!(answer.header.response_code(), refusal, "{version}: {:?}", answer.header.remark);
        let ids: Vec<String> = f.proxy.registry.clients().into_iter().map(|c| c.client_id).collect();
        assert!(!ids.contains(&forged), "{version}: a refused heartbeat is not recorded: {ids:?}");

        // The same, signed with an account's credentials: accepted and recorded.
        let signed = format!("10.7.7.7@signed-{version}");
        let mut hb = heartbeat(&signed, group, topic, 2);
        let admin = ferry_testkit::acl::admin();
        ferry_remoting::Credentials::new(admin.access_key, admin.secret_key).sign(&mut hb);
        conn.send(&hb);
        let answer = conn.answer(2);
        assert_eq!(
            answer.header.response_code(),
            ResponseCode::SUCCESS,
            "{version}: {:?}",
            answer.header.remark
        );
        let record = f.proxy.registry.clients().into_iter().find(|c| c.client_id == signed);
        let record = record.unwrap_or_else(|| panic!("{version}: the accepted heartbeat is recorded"));
        assert!(record.consumer_groups[group].contains(topic));
        assert_eq!(record.connections, 1);

        // A forged heartbeat on a connection that speaks for a client: refused by the broker, and
        // even the same id would not move the registry.
        conn.send(&heartbeat(&signed, "relay-acl-other-group", topic, 3));
        assert_ne!(conn.answer(3).header.response_code(), ResponseCode::SUCCESS);
        let record = f.proxy.registry.clients().into_iter().find(|c| c.client_id == signed).unwrap();
        assert!(!record.consumer_groups.contains_key("relay-acl-other-group"), "{version}");
        drop(conn);
        wait_for(|| f.proxy.registry.clients().iter().any(|c| c.client_id == signed && c.connections == 0));
    }
}

#[test]
fn one_connection_records_one_client_however_many_ids_it_sends() {
    let f = fixture();
    let topic = "relay-flood";
    f.create_everywhere(topic, "relay-flood-group");
    let relay = f.route_via_ferry(topic).broker_datas[0].master_addr().unwrap().to_string();
    let id = |i: usize| format!("10.8.8.8@flood-{i}");
    let producer = |i: usize| {
        let body = format!(
            r#"{{"clientID":"{}","consumerDataSet":[],"producerDataSet":[{{"groupName":"relay-flood-group"}}]}}"#,
            id(i)
        );
        let mut hb = Frame::request(RequestCode::HEART_BEAT).with_body(body.into_bytes());
        hb.header.opaque = i as i32;
        hb
    };
    let mut conn = FrameReader::connect(&relay);
    // Half of them at once, before any answer, the rest one at a time.
    let burst: Vec<u8> =
        (0..500).flat_map(|i| frame::encode_to_bytes(&producer(i)).unwrap().to_vec()).collect();
    (&conn.s).write_all(&burst).unwrap();
    // The broker answers them on several threads, in any order.
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < 500 {
        let answer = conn.next();
        if answer.header.is_response() {
            assert_eq!(answer.header.response_code(), ResponseCode::SUCCESS, "the broker accepts each");
            answered.insert(answer.header.opaque);
        }
    }
    assert_eq!(answered, (0..500).collect());
    for i in 500..1000 {
        conn.send(&producer(i));
        assert_eq!(conn.answer(i as i32).header.response_code(), ResponseCode::SUCCESS);
    }
    let flood: Vec<_> = f
        .proxy
        .registry
        .clients()
        .into_iter()
        .filter(|c| c.client_id.starts_with("10.8.8.8@flood-"))
        .collect();
    assert_eq!(flood.len(), 1, "{:?}", flood.iter().map(|c| &c.client_id).collect::<Vec<_>>());
    // The first accepted is the connection's: one of the burst (answered in any order).
    let own = flood[0].client_id.clone();
    assert!((0..500).any(|i| own == id(i)), "{own}");
    assert_eq!(flood[0].connections, 1);
    let (total, page) = f.proxy.registry.page(0, 10_000);
    assert_eq!(total, page.len());
    drop(conn);
    wait_for(|| f.proxy.registry.clients().iter().any(|c| c.client_id == own && c.connections == 0));
}

fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "not within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}
