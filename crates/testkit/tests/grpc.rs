//! The Apache RocketMQ Proxy 5.3.3 in cluster mode in front of a real 5.3.3 cluster, and the
//! official gRPC client (rocketmq-client-java) through it: every successful send is received and
//! acked by a SimpleConsumer group.

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
    h.create_groups(cluster.cluster_name(), &[GroupSpec::new("grpc-billing")]).unwrap();
    let proxy =
        GrpcProxy::start(cluster.namesrv_addr(), cluster.cluster_name(), RocketMqVersion::V5_3_3).unwrap();
    let g = GrpcHarness::new(proxy.endpoint());
    let c = g.simple_consume(&SimpleConsume::new("grpc-orders", "grpc-billing")).unwrap();
    c.wait_ready(Duration::from_secs(60)).unwrap();
    let p = g.produce_stream(&GrpcProduce::new("grpc-orders").rate(20)).unwrap();
    p.wait_ready(Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let sent = p.stop().unwrap();
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
}
