package dev.ferry.harness;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;

/**
 * Sends N messages, one JSON line per successful send. Without --ordered-keys message i has key
 * "msg-i" and seq i; with --ordered-keys K it has key "key-(i % K)", seq counts per key, and a
 * MessageQueueSelector puts each key on queue hash(key) % queues (the usual FIFO pattern).
 * Stops at the first failed send and exits 1 with the reason on stderr.
 */
final class Produce {
    static final String SEQ_PROPERTY = "ferry_seq";

    private Produce() {
    }

    static int run(List<String> argv) throws Exception {
        Args a = new Args(argv, new HashSet<>(),
            new HashSet<>(Arrays.asList("namesrv", "topic", "count", "group", "ordered-keys", "tag", "body-size",
                "namespace", "send-timeout-ms", "ak", "sk", "out")));
        String topic = a.str("topic");
        int count = a.integer("count");
        int keys = a.integer("ordered-keys", 0);
        int bodySize = a.integer("body-size", 0);
        String tag = a.str("tag", "TagA");

        DefaultMQProducer producer = new DefaultMQProducer(a.str("group", "ferry-harness-producer"), Main.rpcHook(a));
        producer.setNamesrvAddr(a.str("namesrv"));
        producer.setInstanceName(Main.instanceName("producer"));
        producer.setSendMsgTimeout(a.integer("send-timeout-ms", 5000));
        if (a.has("namespace")) {
            producer.setNamespace(a.str("namespace"));
        }
        MessageQueueSelector byKeyHash = (mqs, msg, arg) ->
            mqs.get(Math.floorMod(arg.hashCode(), mqs.size()));

        int sent = 0;
        try (PrintWriter out = Main.out(a)) {
            producer.start();
            int[] perKeySeq = new int[Math.max(keys, 1)];
            for (int i = 0; i < count; i++) {
                String key = keys > 0 ? "key-" + (i % keys) : "msg-" + i;
                int seq = keys > 0 ? perKeySeq[i % keys]++ : i;
                Message msg = new Message(topic, tag, key, body(key, seq, bodySize));
                msg.putUserProperty(SEQ_PROPERTY, Integer.toString(seq));
                SendResult r;
                try {
                    r = keys > 0 ? producer.send(msg, byKeyHash, key) : producer.send(msg);
                } catch (Exception e) {
                    System.err.printf("ferry-harness: send #%d (key %s) to %s failed: %s%n", i, key, topic, Main.describe(e));
                    System.err.printf("ferry-harness: %d of %d messages sent%n", sent, count);
                    return Main.EXIT_FAILED;
                }
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    System.err.printf("ferry-harness: send #%d (key %s) to %s: status %s%n", i, key, topic, r.getSendStatus());
                    return Main.EXIT_FAILED;
                }
                sent++;
                out.println(Json.obj()
                    .put("msgId", r.getMsgId())
                    .put("offsetMsgId", r.getOffsetMsgId())
                    .put("topic", topic)
                    .put("key", key)
                    .put("seq", seq)
                    .put("index", i)
                    .put("brokerName", r.getMessageQueue().getBrokerName())
                    .put("queueId", r.getMessageQueue().getQueueId())
                    .put("queueOffset", r.getQueueOffset()));
            }
        } finally {
            producer.shutdown();
        }
        System.err.printf("ferry-harness: %d of %d messages sent%n", sent, count);
        return 0;
    }

    /** "key=<key> seq=<seq>", padded with '.' to --body-size bytes when asked. */
    private static byte[] body(String key, int seq, int size) {
        StringBuilder sb = new StringBuilder("key=").append(key).append(" seq=").append(seq);
        while (sb.length() < size) {
            sb.append('.');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
