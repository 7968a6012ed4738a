//! The Apache RocketMQ Proxy 5.3.3 in cluster mode in front of a real 5.3.3 cluster, and the
//! official gRPC client (rocketmq-client-java) through it: every successful send is received and
//! acked by a SimpleConsumer group; on a FIFO topic (`message.type=FIFO`) with an orderly group,
//! each message group in order.

use std::time::{Duration, Instant};

use ferry_testkit::{
    grpc_group_report, Cluster, ClusterSpec, GroupSpec, GrpcHarness, GrpcProduce, GrpcProxy, RocketMqVersion,
    SimpleConsume, TopicSpec,
};

#[test]
fn grpc_producer_and_simple_consumer_through_the_proxy() {
    let cluster = Cluster::start(ClusterSpec::new("grpc-v5", RocketMqVersion::V5_3_3)).unwrap();
    let h = cluster.harness();
    h.create_topics(cluster.cluster_name(), &[TopicSpec::new("grpc-orders").queues(4, 4)]).unwrap();
    h.create_groups(
        cluster.cluster_name(),
        &[GroupSpec::new("grpc-billing"), GroupSpec::new("grpc-fifo-cg").consume_orderly(true)],
    )
    .unwrap();
    // A FIFO topic: the attribute the Proxy checks a message group against (mqadmin updateTopic -a).
    let out = std::process::Command::new("bash")
        .arg(ferry_testkit::script_path())
        .args(["mqadmin", "5.3.3", "updateTopic", "-n", cluster.namesrv_addr(), "-c", cluster.cluster_name()])
        .args(["-t", "grpc-fifo", "-r", "4", "-w", "4", "-a", "+message.type=FIFO"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let proxy =
        GrpcProxy::start(cluster.namesrv_addr(), cluster.cluster_name(), RocketMqVersion::V5_3_3).unwrap();
    let g = GrpcHarness::new(proxy.endpoint());
    let c = g.simple_consume(&SimpleConsume::new("grpc-orders", "grpc-billing")).unwrap();
    c.wait_ready(Duration::from_secs(60)).unwrap();
    let fc = g.simple_consume(&SimpleConsume::new("grpc-fifo", "grpc-fifo-cg")).unwrap();
    fc.wait_ready(Duration::from_secs(60)).unwrap();
    let p = g.produce_stream(&GrpcProduce::new("grpc-orders").rate(20)).unwrap();
    let fp = g.produce_stream(&GrpcProduce::new("grpc-fifo").rate(20).fifo_groups(4)).unwrap();
    p.wait_ready(Duration::from_secs(60)).unwrap();
    fp.wait_ready(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let sent = p.stop().unwrap();
    let fifo_sent = fp.stop().unwrap();
    let ok = sent.iter().filter(|s| s.is_ok()).count();
    assert!(ok >= 20, "too few sends: {ok} of {}: {:?}", sent.len(), sent.iter().find(|s| !s.is_ok()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = grpc_group_report(&sent, &c.records().unwrap());
        if report.missing.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = c.stop().unwrap();
    let report = grpc_group_report(&sent, &got);
    assert!(report.missing.is_empty(), "{report:?}");
    assert!(report.ack_errors.is_empty(), "{report:?}");
    assert_eq!(report.acked, ok);

    let fifo_ok = fifo_sent.iter().filter(|s| s.is_ok()).count();
    assert!(fifo_ok >= 20, "{:?}", fifo_sent.iter().find(|s| !s.is_ok()));
    assert!(fifo_sent.iter().all(|s| s.message_group.is_some()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !grpc_group_report(&fifo_sent, &fc.records().unwrap()).missing.is_empty()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = fc.stop().unwrap();
    let report = grpc_group_report(&fifo_sent, &got);
    assert!(report.missing.is_empty() && report.ack_errors.is_empty(), "{report:?}");
    assert_eq!(report.out_of_order, 0, "{report:?}");
    assert!(got.iter().all(|r| r.message_group.is_some()), "message groups arrive with their messages");
}
