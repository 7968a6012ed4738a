//! The admin client against real clusters: cluster layout, topic and group configs, and backlog that
//! moves as a real consumer drains it.

use ferry_admin::{Admin, AdminError, AdminOptions, Credentials};
use ferry_testkit::{shared, Cluster, ClusterSpec, Consume, GroupSpec, Produce, RocketMqVersion, TopicSpec};

fn cluster(version: RocketMqVersion) -> &'static Cluster {
    shared(ClusterSpec::new(format!("admin-{version}"), version))
}

fn admin_of(c: &Cluster) -> Admin {
    Admin::new(c.namesrv_addr(), AdminOptions::default()).unwrap()
}

async fn backlog_follows_a_real_consumer(version: RocketMqVersion) {
    let c = cluster(version);
    let h = c.harness();
    let (topic, group) = ("lag-topic", "lag-group");
    h.create_topics(c.cluster_name(), &[TopicSpec::new(topic).queues(4, 4)]).unwrap();
    h.create_groups(c.cluster_name(), &[GroupSpec::new(group)]).unwrap();
    h.produce(&Produce::new(topic, 40)).unwrap();
    // The consumer commits its offsets when it shuts down after 40 messages.
    h.consume(&Consume::new(topic, group, 40).from_first()).unwrap();

    let admin = admin_of(c);
    let layout = admin.cluster(c.cluster_name()).await.unwrap();
    let drained = admin.group_offsets(&layout, group).await.unwrap();
    let left = drained.backlog_of_topic(topic);
    assert!(left < 40, "the consumer committed progress: {drained:?}");
    assert_eq!(drained.queues.iter().filter(|(q, _)| q.topic == topic).count(), 4);

    h.produce(&Produce::new(topic, 25)).unwrap();
    let behind = admin.group_offsets(&layout, group).await.unwrap();
    assert_eq!(behind.backlog_of_topic(topic), left + 25, "{behind:?}");
    let per_queue: i64 =
        behind.queues.iter().filter(|(q, _)| q.topic == topic).map(|(_, o)| o.backlog()).sum();
    assert_eq!(per_queue, left + 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn backlog_follows_a_real_consumer_on_4_9() {
    backlog_follows_a_real_consumer(RocketMqVersion::V4_9_8).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backlog_follows_a_real_consumer_on_5_3() {
    backlog_follows_a_real_consumer(RocketMqVersion::V5_3_3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_cluster_layout_and_configs_of_each_broker() {
    for version in [RocketMqVersion::V4_9_8, RocketMqVersion::V5_3_3] {
        let c = cluster(version);
        let admin = admin_of(c);
        let clusters = admin.clusters().await.unwrap();
        let layout = clusters.iter().find(|x| x.name == c.cluster_name()).expect("cluster listed");
        assert_eq!(layout.brokers.len(), 1);
        assert_eq!(layout.brokers[0].name, c.broker_name());
        assert_eq!(layout.brokers[0].master.as_deref(), Some(c.broker_addr()));

        let topics = admin.topic_configs(c.broker_addr()).await.unwrap();
        assert!(topics.contains_key("TBW102"), "{version}: {:?}", topics.keys());
        let groups = admin.subscription_groups(c.broker_addr()).await.unwrap();
        assert!(groups.contains_key("TOOLS_CONSUMER"));
        let config = admin.broker_config(c.broker_addr()).await.unwrap();
        assert_eq!(config["brokerName"], c.broker_name());

        if !version.is_5x() {
            // ACL 2.0 listing does not exist on 4.9: "unsupported by this server version".
            match admin.acl_users(c.broker_addr()).await {
                Err(e @ AdminError::Unsupported { .. }) => {
                    assert!(e.to_string().contains("not supported by this server version"), "{e}")
                }
                other => panic!("expected unsupported, got {other:?}"),
            }
        }

        match admin.cluster("nope").await {
            Err(AdminError::UnknownCluster { known, .. }) => {
                assert!(known.contains(&c.cluster_name().to_string()))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_namesrv_answers_when_the_first_is_down() {
    let c = cluster(RocketMqVersion::V4_9_8);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let admin = Admin::new(&format!("{dead};{}", c.namesrv_addr()), AdminOptions::default()).unwrap();
    assert!(admin.clusters().await.unwrap().iter().any(|x| x.name == c.cluster_name()));
}

#[tokio::test(flavor = "multi_thread")]
async fn acl2_users_are_listed_on_5_3_with_admin_keys_and_refused_with_wrong_ones() {
    let c = shared(ClusterSpec::new("admin-acl2", RocketMqVersion::V5_3_3).acl(true));
    let admin_keys = ferry_testkit::acl::admin();
    let admin = Admin::new(
        c.namesrv_addr(),
        AdminOptions {
            credentials: Some(Credentials::new(&admin_keys.access_key, &admin_keys.secret_key)),
            ..AdminOptions::default()
        },
    )
    .unwrap();
    let users = admin.acl_users(c.broker_addr()).await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert!(names.contains(&"ferryadmin") && names.contains(&"ferryuser"), "{names:?}");
    let policies = admin.acl_policies(c.broker_addr()).await.unwrap();
    assert!(policies.iter().any(|p| p.subject == "User:ferryuser"), "{policies:?}");

    let wrong = Admin::new(
        c.namesrv_addr(),
        AdminOptions {
            credentials: Some(Credentials::new("ferryadmin", "wrong-secret")),
            ..AdminOptions::default()
        },
    )
    .unwrap();
    match wrong.topic_configs(c.broker_addr()).await {
        Err(AdminError::AuthenticationFailed { addr, .. }) => assert_eq!(addr, c.broker_addr()),
        other => panic!("expected authentication failed, got {other:?}"),
    }
}
