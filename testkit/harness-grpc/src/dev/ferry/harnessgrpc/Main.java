package dev.ferry.harnessgrpc;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageBuilder;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;

/**
 * Ferry's gRPC harness: the official 5.x gRPC client (rocketmq-client-java, from
 * apache/rocketmq-clients) talking to an Apache RocketMQ Proxy, compiled with javac by
 * `testkit/rocketmq.sh harness-grpc`. Every command runs until --stop-file exists (looked at every
 * 100 ms) and writes one JSON line per send / delivery to --out, flushed at once.
 *
 * <pre>
 * produce-stream --endpoint HOST:PORT --topic T --stop-file PATH [--rate N (20/s)] [--fifo-groups K]
 *                [--instance NAME] [--ready-file PATH] [--exit-on-stdin-eof] [--out FILE]
 *   A Producer; message n has key instance-n, properties ferry_n and ferry_producer, and with
 *   --fifo-groups K the message group instance-g(n%K) (the topic must be FIFO).
 *   ok:     {"instance","key","n","messageGroup","msgId","timestamp","elapsedMs"}
 *   failed: {"instance","key","n","messageGroup","error","timestamp","elapsedMs"}
 * simple-consume --endpoint HOST:PORT --topic T --group G --stop-file PATH [--invisible-secs S (20)]
 *                [--await-secs S (2)] [--batch N (16)] [--ack-delay-ms MS (0)] [--skip-ack-every N]
 *                [--extend-every M] [--extend-secs S (3 x invisible)] [--instance NAME]
 *                [--ready-file PATH] [--exit-on-stdin-eof] [--out FILE]
 *   A SimpleConsumer: receive, then ack every message (--ack-delay-ms after receiving it, meanwhile
 *   it is handed out and not acked; keep it below the invisible time); one line per delivery,
 *   written once the ack is answered. Counting the messages this process receives for the first
 *   time (by message id): with --skip-ack-every N, every Nth is not acked (written at once,
 *   "skipped": true, "acked": false): the broker hands it out again after its invisible time, and
 *   that delivery is acked like any other; with --extend-every M, every Mth (not skipped) gets
 *   changeInvisibleDuration(--extend-secs) at once (not waited for), and is acked invisible + 2 s
 *   after it was received, when only the extension keeps it from coming back ("extended": true,
 *   and "extendError" if the change failed).
 *   {"instance","group","msgId","key","producer","n","messageGroup","deliveryAttempt","acked",
 *    "ackError","skipped","extended","extendError","timestampUs"}
 * push-consume --endpoint HOST:PORT --topic T --group G --stop-file PATH [--threads N (4)]
 *              [--instance NAME] [--ready-file PATH] [--exit-on-stdin-eof] [--out FILE]
 *   A PushConsumer whose listener returns SUCCESS for every message; one line per delivery, the
 *   simple consumer's format, written by the listener: "acked": true there means the listener
 *   succeeded (the client acks afterwards, retrying a failed ack by itself and not telling: a lost
 *   ack shows as a redelivery).
 * bench-produce --endpoints NAME=HOST:PORT,... --topics NAME=TOPIC,... ...
 *   bench/proxy.sh's gRPC path: see {@link Bench}.
 * </pre>
 */
public final class Main {
    private static final Set<String> FLAGS = Set.of("exit-on-stdin-eof");

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.println("usage: produce-stream|simple-consume|push-consume|bench-produce ...");
            System.exit(2);
        }
        Map<String, String> a = options(argv);
        if (a.containsKey("exit-on-stdin-eof")) {
            Thread t = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // keep reading until the parent closes the pipe
                    }
                } catch (IOException ignored) {
                    // gone all the same
                }
                Runtime.getRuntime().halt(4);
            }, "stdin-watch");
            t.setDaemon(true);
            t.start();
        }
        String out = a.get("out");
        int code;
        try (OutputStream os = out == null ? System.out : new FileOutputStream(out, true);
             PrintStream ps = new PrintStream(os, true, "UTF-8")) {
            switch (argv[0]) {
                case "produce-stream":
                    code = produce(a, ps);
                    break;
                case "simple-consume":
                    code = simpleConsume(a, ps);
                    break;
                case "push-consume":
                    code = pushConsume(a, ps);
                    break;
                case "bench-produce":
                    code = Bench.produce(a, ps);
                    break;
                default:
                    System.err.println("unknown command " + argv[0]);
                    code = 2;
            }
            ps.flush();
        }
        System.exit(code);
    }

    private static Map<String, String> options(String[] argv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 1; i < argv.length; i++) {
            if (!argv[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + argv[i]);
            }
            String k = argv[i].substring(2);
            if (FLAGS.contains(k)) {
                m.put(k, "true");
            } else {
                m.put(k, argv[++i]);
            }
        }
        return m;
    }

    static String need(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) {
            throw new IllegalArgumentException("--" + k + " is required");
        }
        return v;
    }

    private static ClientConfiguration config(Map<String, String> a) {
        // The Proxy's gRPC port serves plain text and TLS alike (its default TLS mode is permissive).
        return ClientConfiguration.newBuilder().setEndpoints(need(a, "endpoint")).enableSsl(false)
            .setRequestTimeout(Duration.ofSeconds(5)).build();
    }

    private static boolean stopRequested(Path stop) {
        return Files.exists(stop);
    }

    private static void ready(Map<String, String> a, String instance) throws IOException {
        String f = a.get("ready-file");
        if (f == null) {
            return;
        }
        Path tmp = Paths.get(f + ".tmp");
        Files.write(tmp, instance.getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, Paths.get(f), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static int produce(Map<String, String> a, PrintStream ps) throws Exception {
        String topic = need(a, "topic");
        Path stop = Paths.get(need(a, "stop-file"));
        int rate = Integer.parseInt(a.getOrDefault("rate", "20"));
        int fifo = Integer.parseInt(a.getOrDefault("fifo-groups", "0"));
        String instance = a.getOrDefault("instance", "ferry-grpc-producer-" + ProcessHandle.current().pid());
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        try (Producer producer = provider.newProducerBuilder().setClientConfiguration(config(a))
            .setTopics(topic).build()) {
            ready(a, instance);
            long start = System.nanoTime();
            for (long n = 0; !stopRequested(stop); n++) {
                if (rate > 0) {
                    long due = start + n * 1_000_000_000L / rate;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    } else if (wait < -1_000_000_000L) {
                        start = System.nanoTime() - n * 1_000_000_000L / rate;
                    }
                }
                String key = instance + "-" + n;
                String group = fifo > 0 ? instance + "-g" + (n % fifo) : null;
                MessageBuilder b = provider.newMessageBuilder().setTopic(topic).setKeys(key)
                    .setBody(("key=" + key).getBytes(StandardCharsets.UTF_8))
                    .addProperty("ferry_n", Long.toString(n)).addProperty("ferry_producer", instance);
                if (group != null) {
                    b.setMessageGroup(group);
                }
                Message m = b.build();
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("instance", instance);
                line.put("key", key);
                line.put("n", n);
                line.put("messageGroup", group);
                long t0 = System.nanoTime();
                try {
                    SendReceipt r = producer.send(m);
                    line.put("msgId", r.getMessageId().toString());
                } catch (Throwable e) {
                    line.put("error", String.valueOf(e));
                }
                line.put("timestamp", System.currentTimeMillis());
                line.put("elapsedMs", (System.nanoTime() - t0) / 1_000_000);
                ps.println(json(line));
            }
        }
        return 0;
    }

    private static int simpleConsume(Map<String, String> a, PrintStream ps) throws Exception {
        String topic = need(a, "topic");
        String group = need(a, "group");
        Path stop = Paths.get(need(a, "stop-file"));
        long invisibleSecs = Long.parseLong(a.getOrDefault("invisible-secs", "20"));
        Duration invisible = Duration.ofSeconds(invisibleSecs);
        Duration await = Duration.ofSeconds(Long.parseLong(a.getOrDefault("await-secs", "2")));
        int batch = Integer.parseInt(a.getOrDefault("batch", "16"));
        long ackDelay = Long.parseLong(a.getOrDefault("ack-delay-ms", "0"));
        long skipEvery = Long.parseLong(a.getOrDefault("skip-ack-every", "0"));
        long extendEvery = Long.parseLong(a.getOrDefault("extend-every", "0"));
        Duration extendTo = Duration.ofSeconds(Long.parseLong(a.getOrDefault("extend-secs",
            Long.toString(3 * invisibleSecs))));
        // An extended message is acked once its first invisible time has passed: only the extension
        // keeps it from being handed out again meanwhile.
        long extendHold = Math.max(ackDelay, invisibleSecs * 1000 + 2000);
        if (extendEvery > 0 && extendTo.toMillis() <= extendHold + 2000) {
            throw new IllegalArgumentException("--extend-secs must exceed the invisible time by 4 s at least");
        }
        ScheduledExecutorService acks = Executors.newScheduledThreadPool(2);
        String instance = a.getOrDefault("instance", "ferry-grpc-consumer-" + ProcessHandle.current().pid());
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        FilterExpression all = new FilterExpression("*", FilterExpressionType.TAG);
        Set<String> seen = new HashSet<>();
        long firsts = 0;
        try (SimpleConsumer consumer = provider.newSimpleConsumerBuilder().setClientConfiguration(config(a))
            .setConsumerGroup(group).setAwaitDuration(await)
            .setSubscriptionExpressions(Collections.singletonMap(topic, all)).build()) {
            ready(a, instance);
            while (!stopRequested(stop)) {
                List<MessageView> got;
                try {
                    got = consumer.receive(batch, invisible);
                } catch (Throwable e) {
                    System.err.println("receive failed: " + e);
                    Thread.sleep(200);
                    continue;
                }
                for (MessageView m : got) {
                    boolean skip = false;
                    boolean extend = false;
                    if (seen.add(m.getMessageId().toString())) {
                        firsts++;
                        skip = skipEvery > 0 && firsts % skipEvery == 0;
                        extend = !skip && extendEvery > 0 && firsts % extendEvery == 0;
                    }
                    if (skip) {
                        Map<String, Object> line = record(m, instance, group);
                        line.put("acked", false);
                        line.put("ackError", null);
                        line.put("skipped", true);
                        emit(line, ps);
                    } else if (extend) {
                        // Not waited for here: receiving goes on meanwhile. The client gives the view
                        // the new receipt handle before the future completes.
                        long t0 = System.nanoTime();
                        consumer.changeInvisibleDurationAsync(m, extendTo).whenComplete((v, e) -> {
                            String err = e == null ? null : String.valueOf(e);
                            long left = extendHold - (System.nanoTime() - t0) / 1_000_000;
                            acks.schedule(() -> ack(consumer, m, instance, group, ps, true, err), Math.max(0, left),
                                TimeUnit.MILLISECONDS);
                        });
                    } else if (ackDelay > 0) {
                        acks.schedule(() -> ack(consumer, m, instance, group, ps, false, null), ackDelay,
                            TimeUnit.MILLISECONDS);
                    } else {
                        ack(consumer, m, instance, group, ps, false, null);
                    }
                }
            }
            acks.shutdown();
            acks.awaitTermination(Math.max(ackDelay, extendHold) + 10_000, TimeUnit.MILLISECONDS);
        }
        return 0;
    }

    private static int pushConsume(Map<String, String> a, PrintStream ps) throws Exception {
        String topic = need(a, "topic");
        String group = need(a, "group");
        Path stop = Paths.get(need(a, "stop-file"));
        int threads = Integer.parseInt(a.getOrDefault("threads", "4"));
        String instance = a.getOrDefault("instance", "ferry-grpc-push-consumer-" + ProcessHandle.current().pid());
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        FilterExpression all = new FilterExpression("*", FilterExpressionType.TAG);
        try (PushConsumer consumer = provider.newPushConsumerBuilder().setClientConfiguration(config(a))
            .setConsumerGroup(group).setSubscriptionExpressions(Collections.singletonMap(topic, all))
            .setConsumptionThreadCount(threads).setMessageListener(m -> {
                Map<String, Object> line = record(m, instance, group);
                line.put("acked", true);
                line.put("ackError", null);
                emit(line, ps);
                return ConsumeResult.SUCCESS;
            }).build()) {
            ready(a, instance);
            while (!stopRequested(stop)) {
                Thread.sleep(100);
            }
        }
        return 0;
    }

    private static Map<String, Object> record(MessageView m, String instance, String group) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("instance", instance);
        line.put("group", group);
        line.put("msgId", m.getMessageId().toString());
        line.put("key", m.getKeys().isEmpty() ? null : m.getKeys().iterator().next());
        line.put("producer", m.getProperties().get("ferry_producer"));
        String n = m.getProperties().get("ferry_n");
        line.put("n", n == null ? null : Long.parseLong(n));
        line.put("messageGroup", m.getMessageGroup().orElse(null));
        line.put("deliveryAttempt", m.getDeliveryAttempt());
        return line;
    }

    private static void emit(Map<String, Object> line, PrintStream ps) {
        long now = System.currentTimeMillis();
        line.put("timestampUs", now * 1000 + (System.nanoTime() / 1000) % 1000);
        synchronized (ps) {
            ps.println(json(line));
        }
    }

    private static void ack(SimpleConsumer consumer, MessageView m, String instance, String group, PrintStream ps,
                            boolean extended, String extendError) {
        Map<String, Object> line = record(m, instance, group);
        try {
            consumer.ack(m);
            line.put("acked", true);
        } catch (Throwable e) {
            line.put("acked", false);
            line.put("ackError", String.valueOf(e));
        }
        if (extended) {
            line.put("extended", true);
            line.put("extendError", extendError);
        }
        emit(line, ps);
    }

    private static String json(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            str(sb, e.getKey());
            sb.append(':');
            Object v = e.getValue();
            if (v == null || v instanceof Number || v instanceof Boolean) {
                sb.append(v);
            } else {
                str(sb, v.toString());
            }
        }
        return sb.append('}').toString();
    }

    private static void str(StringBuilder sb, String s) {
        sb.append('"');
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }
}
