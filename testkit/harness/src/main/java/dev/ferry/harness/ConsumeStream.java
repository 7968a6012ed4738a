package dev.ferry.harness;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Clustering push consumer (concurrently, or orderly with --orderly) that runs until the stop file
 * exists, then shuts down (which persists the consume offsets) and exits 0. One JSON line per
 * delivery, flushed at once. Each JVM is its own client (instance name --instance, default
 * "ferry-harness-consume-stream-<pid>"), so several of one group share the queues.
 */
final class ConsumeStream {
    /** How long shutdown() waits for deliveries in progress before it persists the offsets. */
    private static final long SHUTDOWN_AWAIT_MS = 5000;

    private ConsumeStream() {
    }

    static int run(List<String> argv) throws Exception {
        Args a = new Args(argv, new HashSet<>(Arrays.asList("orderly", "from-first", "exit-on-stdin-eof")),
            new HashSet<>(Arrays.asList("namesrv", "topic", "group", "instance", "tag-expr", "consume-threads",
                "poll-namesrv-ms", "heartbeat-ms", "ak", "sk", "out", "stop-file", "ready-file")));
        Streams.exitOnStdinEof(a);
        String instance = a.str("instance", Main.instanceName("consume-stream"));
        Path stopFile = Streams.stopFile(a);
        int threads = a.integer("consume-threads", 4);

        DefaultMQPushConsumer consumer =
            new DefaultMQPushConsumer(a.str("group"), Main.rpcHook(a), new AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(a.str("namesrv"));
        consumer.setInstanceName(instance);
        Streams.clientTimers(consumer, a);
        consumer.setConsumeFromWhere(a.flag("from-first")
            ? ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET : ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        consumer.setConsumeThreadMin(threads);
        consumer.setConsumeThreadMax(threads);
        consumer.setAwaitTerminationMillisWhenShutdown(SHUTDOWN_AWAIT_MS);
        consumer.subscribe(a.str("topic"), a.str("tag-expr", "*"));

        AtomicLong deliveries = new AtomicLong();
        try (PrintWriter out = Main.out(a)) {
            Recorder record = m -> {
                Json line = Json.obj()
                    .put("instance", instance)
                    .put("msgId", m.getMsgId())
                    .put("topic", m.getTopic())
                    .put("key", m.getKeys())
                    .put("orderKey", m.getUserProperty(ProduceStream.ORDER_KEY_PROPERTY))
                    .put("seq", Consume.seq(m))
                    .put("producer", m.getUserProperty(ProduceStream.PRODUCER_PROPERTY))
                    .put("brokerName", m.getBrokerName())
                    .put("queueId", m.getQueueId())
                    .put("queueOffset", m.getQueueOffset())
                    .put("reconsumeTimes", m.getReconsumeTimes())
                    .put("storeHost", address(m.getStoreHost()))
                    .put("bornTimestamp", m.getBornTimestamp())
                    .put("storeTimestamp", m.getStoreTimestamp());
                // Stamped under the lock: file order is timestamp order, and a queue's next delivery
                // (orderly: same queue lock) is stamped after the previous one.
                synchronized (out) {
                    long us = Streams.nowMicros();
                    out.println(line.put("timestamp", us / 1000).put("timestampUs", us));
                }
                deliveries.incrementAndGet();
            };
            if (a.flag("orderly")) {
                consumer.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                    for (MessageExt m : msgs) {
                        record.accept(m);
                    }
                    return ConsumeOrderlyStatus.SUCCESS;
                });
            } else {
                consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    for (MessageExt m : msgs) {
                        record.accept(m);
                    }
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
            }
            consumer.start();
            String clientId = consumer.buildMQClientId();
            Streams.ready(a, clientId);
            System.err.printf("ferry-harness: consume-stream %s: consuming %s as %s%s%n", clientId, a.str("topic"),
                a.str("group"), a.flag("orderly") ? " (orderly)" : "");
            Streams.awaitStop(stopFile);
            consumer.shutdown();
        }
        System.err.printf("ferry-harness: consume-stream %s: stopped after %d deliveries%n", instance, deliveries.get());
        return 0;
    }

    /** "host:port" of a store host (an InetSocketAddress's toString has a leading '/'). */
    private static String address(SocketAddress a) {
        if (a instanceof InetSocketAddress) {
            InetSocketAddress i = (InetSocketAddress) a;
            return i.getHostString() + ":" + i.getPort();
        }
        return a == null ? null : a.toString();
    }

    @FunctionalInterface
    private interface Recorder {
        void accept(MessageExt m);
    }
}
