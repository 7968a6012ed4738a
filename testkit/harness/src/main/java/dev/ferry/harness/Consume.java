package dev.ferry.harness;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Push consumer: writes one JSON line per delivery until --expect distinct message ids were
 * consumed (exit 0) or --timeout-secs passed (exit 3). --expect 0 consumes for the whole timeout
 * and exits 0 (to show that nothing, or how much, arrives).
 */
final class Consume {
    private Consume() {
    }

    static int run(List<String> argv) throws Exception {
        Args a = new Args(argv,
            new HashSet<>(Arrays.asList("orderly", "from-first", "reconsume-once")),
            new HashSet<>(Arrays.asList("namesrv", "topic", "group", "expect", "timeout-secs", "tag-expr", "namespace",
                "poll-namesrv-ms", "ak", "sk", "out")));
        int expect = a.integer("expect");
        int timeoutSecs = a.integer("timeout-secs");
        boolean reconsumeOnce = a.flag("reconsume-once");

        DefaultMQPushConsumer consumer =
            new DefaultMQPushConsumer(a.str("group"), Main.rpcHook(a), new AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(a.str("namesrv"));
        consumer.setInstanceName(Main.instanceName("consumer"));
        if (a.has("namespace")) {
            consumer.setNamespace(a.str("namespace"));
        }
        if (a.has("poll-namesrv-ms")) {
            consumer.setPollNameServerInterval(a.integer("poll-namesrv-ms"));
        }
        consumer.setConsumeFromWhere(a.flag("from-first")
            ? ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET : ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET);
        consumer.setConsumeThreadMin(4);
        consumer.setConsumeThreadMax(4);
        consumer.subscribe(a.str("topic"), a.str("tag-expr", "*"));

        Set<String> done = ConcurrentHashMap.newKeySet();
        CountDownLatch reached = new CountDownLatch(expect > 0 ? 1 : 0);
        try (PrintWriter out = Main.out(a)) {
            // Returns whether this delivery counts as consumed (false: hand it back for a retry).
            Recorder record = (MessageExt m, boolean consumed) -> {
                synchronized (out) {
                    out.println(Json.obj()
                        .put("msgId", m.getMsgId())
                        .put("topic", m.getTopic())
                        .put("key", m.getKeys())
                        .put("seq", seq(m))
                        .put("brokerName", m.getBrokerName())
                        .put("queueId", m.getQueueId())
                        .put("queueOffset", m.getQueueOffset())
                        .put("reconsumeTimes", m.getReconsumeTimes())
                        .put("consumed", consumed));
                }
                if (consumed && done.add(m.getMsgId()) && expect > 0 && done.size() >= expect) {
                    reached.countDown();
                }
            };
            if (a.flag("orderly")) {
                consumer.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                    for (MessageExt m : msgs) {
                        record.accept(m, true);
                    }
                    return ConsumeOrderlyStatus.SUCCESS;
                });
            } else {
                consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    // Batch size is 1 (the client default), so one status covers one message.
                    boolean later = reconsumeOnce && msgs.stream().anyMatch(m -> m.getReconsumeTimes() == 0);
                    for (MessageExt m : msgs) {
                        record.accept(m, !later);
                    }
                    return later ? ConsumeConcurrentlyStatus.RECONSUME_LATER : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
            }
            consumer.start();
            boolean ok = expect > 0 ? reached.await(timeoutSecs, TimeUnit.SECONDS) : sleep(timeoutSecs);
            consumer.shutdown();
            System.err.printf("ferry-harness: consumed %d distinct messages (expected %d)%n", done.size(), expect);
            return ok ? 0 : Main.EXIT_TIMEOUT;
        }
    }

    private static boolean sleep(int secs) throws InterruptedException {
        Thread.sleep(secs * 1000L);
        return true;
    }

    /** The producer's per-key sequence number: the user property, else parsed from the body. */
    static Long seq(MessageExt m) {
        String p = m.getUserProperty(Produce.SEQ_PROPERTY);
        String s = p;
        if (s == null) {
            String body = new String(m.getBody(), StandardCharsets.UTF_8);
            int at = body.indexOf("seq=");
            if (at < 0) {
                return null;
            }
            int end = at + 4;
            while (end < body.length() && Character.isDigit(body.charAt(end))) {
                end++;
            }
            s = body.substring(at + 4, end);
        }
        try {
            return Long.valueOf(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @FunctionalInterface
    private interface Recorder {
        void accept(MessageExt m, boolean consumed);
    }
}
