package dev.ferry.harness;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientIDSetter;

/**
 * Sends at --rate messages per second until the stop file exists, then shuts the producer down and
 * exits 0. Message n has the unique key "<instance>-<n>". Without --ordered-keys its seq is n; with
 * --ordered-keys K it belongs to order key "<instance>-k<n % K>", its seq counts per order key, and it
 * is sent with a MessageQueueSelector on hash(order key) % queues (the usual FIFO pattern).
 *
 * <p>One JSON line per send, flushed at once: a send that returned a SendResult (any status) has
 * msgId, status, brokerName, queueId, queueOffset; a send that threw has "error" (and the msgId the
 * client had assigned, if any) and the stream goes on (a migration may refuse sends for a moment).
 * A failed send still uses up its seq, so a seq never names two messages.
 */
final class ProduceStream {
    static final String ORDER_KEY_PROPERTY = "ferry_order_key";
    static final String PRODUCER_PROPERTY = "ferry_producer";

    /** When sends fall behind the schedule by more than this, the schedule restarts (no burst). */
    private static final long MAX_LAG_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Failed sends reported on stderr: the first ones, then one in this many. */
    private static final int ERRORS_IN_FULL = 20;
    private static final int ERROR_SAMPLE = 100;

    private ProduceStream() {
    }

    static int run(List<String> argv) throws Exception {
        Args a = new Args(argv, new HashSet<>(Arrays.asList("exit-on-stdin-eof")),
            new HashSet<>(Arrays.asList("namesrv", "topic", "group", "rate", "ordered-keys", "instance", "tag",
                "poll-namesrv-ms", "heartbeat-ms", "send-timeout-ms", "ak", "sk", "out", "stop-file", "ready-file")));
        Streams.exitOnStdinEof(a);
        String topic = a.str("topic");
        int rate = a.integer("rate", 50);
        int keys = a.integer("ordered-keys", 0);
        String tag = a.str("tag", "TagA");
        String instance = a.str("instance", Main.instanceName("produce-stream"));
        Path stopFile = Streams.stopFile(a);
        if (rate < 0 || keys < 0) {
            throw new Main.UsageException("--rate and --ordered-keys must not be negative");
        }

        DefaultMQProducer producer = new DefaultMQProducer(a.str("group"), Main.rpcHook(a));
        producer.setNamesrvAddr(a.str("namesrv"));
        producer.setInstanceName(instance);
        producer.setSendMsgTimeout(a.integer("send-timeout-ms", 3000));
        Streams.clientTimers(producer, a);
        MessageQueueSelector byKeyHash = (mqs, msg, arg) ->
            mqs.get(Math.floorMod(arg.hashCode(), mqs.size()));

        long ok = 0;
        long failed = 0;
        try (PrintWriter out = Main.out(a)) {
            producer.start();
            String clientId = producer.buildMQClientId();
            Streams.ready(a, clientId);
            System.err.printf("ferry-harness: produce-stream %s: sending to %s at %s%n", clientId, topic,
                rate == 0 ? "full speed" : rate + "/s");
            long[] perKeySeq = new long[Math.max(keys, 1)];
            long intervalNanos = rate == 0 ? 0 : TimeUnit.SECONDS.toNanos(1) / rate;
            long next = System.nanoTime();
            for (long n = 0; ; n++) {
                if (!awaitSlot(next, stopFile)) {
                    break;
                }
                String key = instance + "-" + n;
                String orderKey = keys > 0 ? instance + "-k" + (n % keys) : null;
                long seq = keys > 0 ? perKeySeq[(int) (n % keys)]++ : n;
                Message msg = new Message(topic, tag, key, body(key, orderKey, seq));
                msg.putUserProperty(Produce.SEQ_PROPERTY, Long.toString(seq));
                msg.putUserProperty(PRODUCER_PROPERTY, instance);
                if (orderKey != null) {
                    msg.putUserProperty(ORDER_KEY_PROPERTY, orderKey);
                }
                Json line = Json.obj()
                    .put("clientId", clientId)
                    .put("key", key)
                    .put("orderKey", orderKey)
                    .put("seq", seq)
                    .put("n", n);
                long started = System.nanoTime();
                try {
                    SendResult r = orderKey != null ? producer.send(msg, byKeyHash, orderKey) : producer.send(msg);
                    ok++;
                    line.put("msgId", r.getMsgId())
                        .put("offsetMsgId", r.getOffsetMsgId())
                        .put("status", String.valueOf(r.getSendStatus()))
                        .put("brokerName", r.getMessageQueue().getBrokerName())
                        .put("queueId", r.getMessageQueue().getQueueId())
                        .put("queueOffset", r.getQueueOffset());
                } catch (Exception e) {
                    failed++;
                    String why = Main.describe(e);
                    // The id the client gave the message before the attempt (null if it never got
                    // that far): a send that timed out may still have been stored and be consumed.
                    line.put("msgId", MessageClientIDSetter.getUniqID(msg)).put("error", why);
                    if (failed <= ERRORS_IN_FULL || failed % ERROR_SAMPLE == 0) {
                        System.err.printf("ferry-harness: produce-stream: send %s (failure #%d) failed: %s%n", key,
                            failed, why);
                    }
                }
                line.put("timestamp", System.currentTimeMillis())
                    .put("elapsedMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
                out.println(line);
                next += intervalNanos;
                long now = System.nanoTime();
                if (now - next > MAX_LAG_NANOS) {
                    next = now;
                }
            }
        } finally {
            producer.shutdown();
        }
        System.err.printf("ferry-harness: produce-stream %s: stopped, %d sends ok, %d failed%n", instance, ok, failed);
        return 0;
    }

    /** Waits until {@code next} (System.nanoTime); false when the stop file appeared first. */
    private static boolean awaitSlot(long next, Path stopFile) {
        while (true) {
            if (Streams.stopRequested(stopFile)) {
                return false;
            }
            long wait = next - System.nanoTime();
            if (wait <= 0) {
                return true;
            }
            LockSupport.parkNanos(Math.min(wait, TimeUnit.MILLISECONDS.toNanos(Streams.STOP_POLL_MS)));
        }
    }

    /** "key=<key> orderKey=<orderKey> seq=<seq>" (Consume parses seq= when the property is gone). */
    private static byte[] body(String key, String orderKey, long seq) {
        String s = "key=" + key + (orderKey != null ? " orderKey=" + orderKey : "") + " seq=" + seq;
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
