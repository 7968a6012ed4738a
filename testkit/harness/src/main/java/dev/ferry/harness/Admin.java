package dev.ferry.harness;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.protocol.body.ClusterInfo;
import org.apache.rocketmq.common.protocol.route.BrokerData;
import org.apache.rocketmq.common.protocol.route.QueueData;
import org.apache.rocketmq.common.protocol.route.TopicRouteData;
import org.apache.rocketmq.common.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * Admin operations through DefaultMQAdminExt, the path mqadmin takes. Creations go to every
 * master of the cluster, as `mqadmin updateTopic -c` / `updateSubGroup -c` do. Several
 * operations per call (inline ops separated by ',' or one per line of --spec-file) so that tests
 * do not pay one JVM per item. One JSON line per operation; exit 1 if any failed.
 */
final class Admin {
    private static final HashSet<String> TOPIC_OPTS =
        new HashSet<>(Arrays.asList("cluster", "topic", "read", "write", "perm"));
    private static final HashSet<String> GROUP_OPTS =
        new HashSet<>(Arrays.asList("cluster", "group", "retry-max", "retry-queues", "broadcast"));

    private Admin() {
    }

    static int run(List<String> argv) throws Exception {
        // Global options come first; the first bare word starts the operations.
        HashSet<String> globals = new HashSet<>(Arrays.asList("namesrv", "ak", "sk", "spec-file", "out", "timeout-ms"));
        int split = 0;
        while (split < argv.size() && argv.get(split).startsWith("--")) {
            split += argv.get(split).contains("=") ? 1 : 2;
        }
        split = Math.min(split, argv.size());
        Args a = new Args(argv.subList(0, split), new HashSet<>(), globals);
        List<List<String>> ops = new ArrayList<>();
        if (a.has("spec-file")) {
            for (String line : Files.readAllLines(Paths.get(a.str("spec-file")), StandardCharsets.UTF_8)) {
                String t = line.trim();
                if (!t.isEmpty() && !t.startsWith("#")) {
                    ops.add(Arrays.asList(t.split("\\s+")));
                }
            }
        }
        List<String> current = new ArrayList<>();
        for (String p : argv.subList(split, argv.size())) {
            if (p.equals(",")) {
                ops.add(current);
                current = new ArrayList<>();
            } else {
                current.add(p);
            }
        }
        if (!current.isEmpty()) {
            ops.add(current);
        }
        if (ops.isEmpty()) {
            throw new Main.UsageException("admin: no operation");
        }

        DefaultMQAdminExt admin = new DefaultMQAdminExt(Main.rpcHook(a), a.integer("timeout-ms", 10000));
        admin.setNamesrvAddr(a.str("namesrv"));
        admin.setInstanceName(Main.instanceName("admin"));
        int failed = 0;
        try (PrintWriter out = Main.out(a)) {
            admin.start();
            for (List<String> op : ops) {
                Json result = Json.obj().put("op", op.get(0));
                try {
                    execute(admin, op, result);
                    result.put("ok", true);
                } catch (Main.UsageException e) {
                    throw e;
                } catch (Exception e) {
                    failed++;
                    result.put("ok", false).put("error", Main.describe(e));
                    System.err.println("ferry-harness: admin " + String.join(" ", op) + " failed: " + Main.describe(e));
                }
                out.println(result);
            }
        } finally {
            admin.shutdown();
        }
        return failed == 0 ? 0 : Main.EXIT_FAILED;
    }

    private static void execute(DefaultMQAdminExt admin, List<String> op, Json result) throws Exception {
        List<String> rest = op.subList(1, op.size());
        switch (op.get(0)) {
            case "create-topic": {
                Args o = new Args(rest, new HashSet<>(Arrays.asList("order")), TOPIC_OPTS);
                TopicConfig tc = new TopicConfig(o.str("topic"), o.integer("read", 8), o.integer("write", 8),
                    o.integer("perm", 6));
                tc.setOrder(o.flag("order"));
                List<String> brokers = masters(admin, o.str("cluster"));
                for (String brokerName : brokers) {
                    admin.createAndUpdateTopicConfig(masterAddr(admin, brokerName), tc);
                }
                if (o.flag("order")) {
                    // As `mqadmin updateTopic -c C -o true`: the order conf lands in the NameServer's KV
                    // store and routes then carry orderTopicConf.
                    StringBuilder conf = new StringBuilder();
                    for (String brokerName : brokers) {
                        conf.append(conf.length() == 0 ? "" : ";").append(brokerName).append(':').append(tc.getWriteQueueNums());
                    }
                    admin.createOrUpdateOrderConf(tc.getTopicName(), conf.toString(), true);
                }
                result.put("topic", tc.getTopicName()).put("brokers", brokers);
                break;
            }
            case "create-group": {
                Args o = new Args(rest, new HashSet<>(Arrays.asList("consume-orderly")), GROUP_OPTS);
                Group g = new Group();
                g.setGroupName(o.str("group"));
                g.setRetryMaxTimes(o.integer("retry-max", 16));
                g.setRetryQueueNums(o.integer("retry-queues", 1));
                g.setConsumeBroadcastEnable(Boolean.parseBoolean(o.str("broadcast", "true")));
                g.setConsumeMessageOrderly(o.flag("consume-orderly"));
                List<String> brokers = masters(admin, o.str("cluster"));
                for (String brokerName : brokers) {
                    admin.createAndUpdateSubscriptionGroupConfig(masterAddr(admin, brokerName), g);
                }
                result.put("group", g.getGroupName()).put("brokers", brokers);
                break;
            }
            case "cluster-info": {
                new Args(rest, new HashSet<>(), new HashSet<>());
                ClusterInfo ci = admin.examineBrokerClusterInfo();
                Json clusters = Json.obj();
                for (Map.Entry<String, ? extends java.util.Set<String>> e : new TreeMap<>(ci.getClusterAddrTable()).entrySet()) {
                    clusters.put(e.getKey(), new TreeSet<>(e.getValue()));
                }
                result.put("clusters", clusters).put("brokers", brokers(ci.getBrokerAddrTable().values()));
                break;
            }
            case "topic-route": {
                Args o = new Args(rest, new HashSet<>(), new HashSet<>(Arrays.asList("topic")));
                TopicRouteData route = admin.examineTopicRouteInfo(o.str("topic"));
                List<Json> queues = new ArrayList<>();
                for (QueueData q : route.getQueueDatas()) {
                    queues.add(Json.obj().put("brokerName", q.getBrokerName()).put("readQueueNums", q.getReadQueueNums())
                        .put("writeQueueNums", q.getWriteQueueNums()).put("perm", q.getPerm()));
                }
                result.put("topic", o.str("topic")).put("queues", queues)
                    .put("brokers", brokers(route.getBrokerDatas())).put("orderTopicConf", route.getOrderTopicConf());
                break;
            }
            case "reset-offset": {
                // As `mqadmin resetOffsetByTime -f true`: each broker of the topic's route sets the
                // group's offsets to the timestamp and tells the group's online consumers
                // (RESET_CONSUMER_CLIENT_OFFSET).
                Args o = new Args(rest, new HashSet<>(), new HashSet<>(Arrays.asList("topic", "group", "timestamp")));
                Map<org.apache.rocketmq.common.message.MessageQueue, Long> reset =
                    admin.resetOffsetByTimestamp(o.str("topic"), o.str("group"), Long.parseLong(o.str("timestamp")), true);
                List<Json> queues = new ArrayList<>();
                for (Map.Entry<org.apache.rocketmq.common.message.MessageQueue, Long> e : reset.entrySet()) {
                    queues.add(Json.obj().put("brokerName", e.getKey().getBrokerName()).put("queueId", e.getKey().getQueueId())
                        .put("offset", e.getValue()));
                }
                result.put("topic", o.str("topic")).put("group", o.str("group")).put("queues", queues);
                break;
            }
            case "consume-stats": {
                // As `mqadmin consumerProgress -g`: the group's offsets on every broker of its
                // retry topic's route, by queue.
                Args o = new Args(rest, new HashSet<>(), new HashSet<>(Arrays.asList("group")));
                org.apache.rocketmq.common.admin.ConsumeStats stats = admin.examineConsumeStats(o.str("group"));
                List<Json> queues = new ArrayList<>();
                for (Map.Entry<org.apache.rocketmq.common.message.MessageQueue, org.apache.rocketmq.common.admin.OffsetWrapper> e
                    : stats.getOffsetTable().entrySet()) {
                    queues.add(Json.obj().put("topic", e.getKey().getTopic()).put("brokerName", e.getKey().getBrokerName())
                        .put("queueId", e.getKey().getQueueId()).put("brokerOffset", e.getValue().getBrokerOffset())
                        .put("consumerOffset", e.getValue().getConsumerOffset()));
                }
                result.put("group", o.str("group")).put("queues", queues);
                break;
            }
            default:
                throw new Main.UsageException("admin: unknown operation " + op.get(0));
        }
    }

    /** Broker names of the cluster, sorted; an error if the NameServer does not know the cluster. */
    private static List<String> masters(DefaultMQAdminExt admin, String cluster) throws Exception {
        ClusterInfo ci = admin.examineBrokerClusterInfo();
        java.util.Set<String> names = ci.getClusterAddrTable().get(cluster);
        if (names == null || names.isEmpty()) {
            throw new IllegalStateException("cluster " + cluster + " not found in the NameServer (known: "
                + ci.getClusterAddrTable().keySet() + ")");
        }
        return new ArrayList<>(new TreeSet<>(names));
    }

    private static String masterAddr(DefaultMQAdminExt admin, String brokerName) throws Exception {
        BrokerData bd = admin.examineBrokerClusterInfo().getBrokerAddrTable().get(brokerName);
        String addr = bd == null ? null : bd.getBrokerAddrs().get(0L);
        if (addr == null) {
            throw new IllegalStateException("broker " + brokerName + " has no master");
        }
        return addr;
    }

    private static List<Json> brokers(java.util.Collection<BrokerData> datas) {
        List<Json> list = new ArrayList<>();
        for (BrokerData bd : datas) {
            Json addrs = Json.obj();
            for (Map.Entry<Long, String> e : new TreeMap<>(bd.getBrokerAddrs()).entrySet()) {
                addrs.put(e.getKey().toString(), e.getValue());
            }
            list.add(Json.obj().put("brokerName", bd.getBrokerName()).put("cluster", bd.getCluster()).put("addrs", addrs));
        }
        list.sort((x, y) -> x.toString().compareTo(y.toString()));
        return list;
    }

    /**
     * SubscriptionGroupConfig plus 5.x's consumeMessageOrderly: the 4.9.8 class lacks the field, but
     * fastjson serialises the subclass's getter too, so 5.x brokers receive it and 4.9 brokers ignore it.
     */
    public static final class Group extends SubscriptionGroupConfig {
        private boolean consumeMessageOrderly;

        public boolean isConsumeMessageOrderly() {
            return consumeMessageOrderly;
        }

        public void setConsumeMessageOrderly(boolean consumeMessageOrderly) {
            this.consumeMessageOrderly = consumeMessageOrderly;
        }
    }
}
