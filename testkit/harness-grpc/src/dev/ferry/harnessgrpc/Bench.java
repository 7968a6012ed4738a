package dev.ferry.harnessgrpc;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * The gRPC path of {@code bench/proxy.sh}: the official 5.x client against several Apache Proxies
 * (one straight to the broker, one whose NameServer is Ferry) in one warm JVM, in alternating rounds
 * (ABBA), so that JIT state, GC and the machine's load weigh on every path alike.
 *
 * <pre>
 * bench-produce --endpoints NAME=HOST:PORT[,...] --topics NAME=TOPIC[,...] [--threads 8] [--body-size 1024]
 *               [--round-secs 3] [--rounds 6] [--warmup-secs 3] [--group-prefix G] [--drain-secs 20]
 *               [--cpu-pids NAME=PID,...] [--clk-tck 100] --out FILE
 * </pre>
 *
 * <p>Per path a Producer for its topic and a SimpleConsumer (group G-NAME, two receiving threads,
 * batches of 32, each message acked asynchronously) reading it, both started before the warm-up. Each
 * round: --threads threads send synchronously for --round-secs (each send timed around
 * {@code producer.send}), then the round waits until the path's consumer has received every message
 * the round sent (at most --drain-secs). One JSON line per round and path: {"kind":"grpc","target",
 * "round","threads","bodySize","secs","sent","failed","msgsPerSec","p50Us","p90Us","p99Us","p999Us",
 * "maxUs","received","drainMs","e2eP50Ms","e2eP99Ms" (from a send's start to its receipt),"cpu":
 * {"wallSecs","client", and each --cpu-pids process's CPU seconds over the round, drain included}}.
 * Exit 0 when every round ran (failed sends and messages not received are reported), 1 when a client
 * could not start.
 */
final class Bench {
    private Bench() {
    }

    private static Map<String, String> pairs(Map<String, String> a, String key) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String part : Main.need(a, key).split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0 || eq == part.length() - 1) {
                throw new IllegalArgumentException("--" + key + " wants NAME=VALUE[,NAME=VALUE...], got " + part);
            }
            m.put(part.substring(0, eq), part.substring(eq + 1));
        }
        return m;
    }

    /** One path: its producer, its consumer, and what it received of the current round. */
    private static final class Path {
        final String name;
        final String topic;
        final Producer producer;
        final SimpleConsumer consumer;
        final ConcurrentLinkedQueue<Long> e2eNs = new ConcurrentLinkedQueue<>();
        final AtomicLong received = new AtomicLong();
        volatile int round;

        Path(String name, String topic, Producer producer, SimpleConsumer consumer) {
            this.name = name;
            this.topic = topic;
            this.producer = producer;
            this.consumer = consumer;
        }
    }

    static int produce(Map<String, String> a, PrintStream out) throws Exception {
        Map<String, String> endpoints = pairs(a, "endpoints");
        Map<String, String> topics = pairs(a, "topics");
        int threads = Integer.parseInt(a.getOrDefault("threads", "8"));
        int bodySize = Integer.parseInt(a.getOrDefault("body-size", "1024"));
        int roundSecs = Integer.parseInt(a.getOrDefault("round-secs", "3"));
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "6"));
        int warmupSecs = Integer.parseInt(a.getOrDefault("warmup-secs", "3"));
        long drainMs = Long.parseLong(a.getOrDefault("drain-secs", "20")) * 1000;
        String prefix = a.getOrDefault("group-prefix", "ferry-bench-grpc");
        byte[] body = new byte[bodySize];
        Arrays.fill(body, (byte) 'x');
        Cpu cpu = new Cpu(a.get("cpu-pids"), Integer.parseInt(a.getOrDefault("clk-tck", "100")));
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        FilterExpression all = new FilterExpression("*", FilterExpressionType.TAG);
        List<Path> paths = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> receivers = new ArrayList<>();
        try {
            for (Map.Entry<String, String> e : endpoints.entrySet()) {
                String topic = topics.get(e.getKey());
                if (topic == null) {
                    throw new IllegalArgumentException("--topics names no topic for " + e.getKey());
                }
                ClientConfiguration config = ClientConfiguration.newBuilder().setEndpoints(e.getValue())
                    .enableSsl(false).setRequestTimeout(Duration.ofSeconds(5)).build();
                Producer p = provider.newProducerBuilder().setClientConfiguration(config).setTopics(topic).build();
                SimpleConsumer c = provider.newSimpleConsumerBuilder().setClientConfiguration(config)
                    .setConsumerGroup(prefix + "-" + e.getKey()).setAwaitDuration(Duration.ofSeconds(1))
                    .setSubscriptionExpressions(Collections.singletonMap(topic, all)).build();
                paths.add(new Path(e.getKey(), topic, p, c));
            }
            for (Path p : paths) {
                for (int i = 0; i < 2; i++) {
                    Thread t = new Thread(() -> receive(p, stop), "receive-" + p.name + "-" + i);
                    t.setDaemon(true);
                    t.start();
                    receivers.add(t);
                }
            }
            for (Path p : paths) {
                Round w = round(p, body, threads, warmupSecs, 0, drainMs);
                System.err.printf("ferry-harness-grpc: warm-up %s: %.0f msgs/s, p99 %d us, %d failed, %d of %d received%n",
                    p.name, w.perSec(), w.quantile(0.99), w.failed, w.received, w.sent);
            }
            for (int r = 1; r <= rounds; r++) {
                List<Path> order = new ArrayList<>(paths);
                if (r % 2 == 0) {
                    Collections.reverse(order);
                }
                for (Path p : order) {
                    long[] before = cpu.read();
                    Round x = round(p, body, threads, roundSecs, r, drainMs);
                    String used = cpu.since(before);
                    out.println("{\"kind\":\"grpc\",\"target\":\"" + p.name + "\",\"round\":" + r
                        + ",\"threads\":" + threads + ",\"bodySize\":" + bodySize
                        + ",\"secs\":" + String.format("%.3f", x.sendNanos / 1e9) + ",\"sent\":" + x.sent
                        + ",\"failed\":" + x.failed + ",\"msgsPerSec\":" + String.format("%.1f", x.perSec())
                        + ",\"p50Us\":" + x.quantile(0.50) + ",\"p90Us\":" + x.quantile(0.90)
                        + ",\"p99Us\":" + x.quantile(0.99) + ",\"p999Us\":" + x.quantile(0.999)
                        + ",\"maxUs\":" + x.quantile(1.0) + ",\"received\":" + x.received
                        + ",\"drainMs\":" + x.drainMs + ",\"e2eP50Ms\":" + String.format("%.3f", x.e2e(0.50))
                        + ",\"e2eP99Ms\":" + String.format("%.3f", x.e2e(0.99)) + ",\"cpu\":" + used + "}");
                    out.flush();
                    System.err.printf("ferry-harness-grpc: round %d %s: %.0f msgs/s, p99 %d us, %d failed, %d of %d "
                            + "received, e2e p99 %.1f ms%n", r, p.name, x.perSec(), x.quantile(0.99), x.failed,
                        x.received, x.sent, x.e2e(0.99));
                }
            }
        } finally {
            stop.set(true);
            for (Thread t : receivers) {
                t.join(5000);
            }
            for (Path p : paths) {
                p.consumer.close();
                p.producer.close();
            }
        }
        return 0;
    }

    private static void receive(Path p, AtomicBoolean stop) {
        while (!stop.get()) {
            List<MessageView> got;
            try {
                got = p.consumer.receive(32, Duration.ofSeconds(30));
            } catch (Throwable e) {
                if (!stop.get()) {
                    System.err.println("ferry-harness-grpc: receive failed on " + p.name + ": " + e);
                }
                continue;
            }
            long now = System.nanoTime();
            for (MessageView m : got) {
                // Sent by this JVM: its nanoTime at the send is comparable with ours.
                String round = m.getProperties().get("ferry_round");
                String t0 = m.getProperties().get("ferry_t0");
                if (round != null && t0 != null && Integer.parseInt(round) == p.round) {
                    p.e2eNs.add(now - Long.parseLong(t0));
                    p.received.incrementAndGet();
                }
                p.consumer.ackAsync(m);
            }
        }
    }

    private static final class Round {
        long sent;
        long failed;
        long sendNanos;
        long received;
        long drainMs;
        long[] latUs = new long[0];
        long[] e2eNs = new long[0];

        double perSec() {
            return sendNanos == 0 ? 0 : sent * 1e9 / sendNanos;
        }

        long quantile(double q) {
            return latUs.length == 0 ? 0 : latUs[Math.min(latUs.length - 1, (int) Math.floor(q * latUs.length))];
        }

        double e2e(double q) {
            return e2eNs.length == 0 ? 0
                : e2eNs[Math.min(e2eNs.length - 1, (int) Math.floor(q * e2eNs.length))] / 1e6;
        }
    }

    private static Round round(Path p, byte[] body, int threads, int secs, int round, long drainMs) throws Exception {
        p.round = round;
        p.e2eNs.clear();
        p.received.set(0);
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        List<long[]> lat = Collections.synchronizedList(new ArrayList<>());
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long start = System.nanoTime();
        long end = start + secs * 1_000_000_000L;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            new Thread(() -> {
                long[] mine = new long[1 << 16];
                int n = 0;
                try {
                    while (System.nanoTime() < end) {
                        long t0 = System.nanoTime();
                        Message m = provider.newMessageBuilder().setTopic(p.topic).setBody(body)
                            .addProperty("ferry_round", Integer.toString(round))
                            .addProperty("ferry_t0", Long.toString(t0)).build();
                        try {
                            p.producer.send(m);
                            long t1 = System.nanoTime();
                            sent.incrementAndGet();
                            if (n == mine.length) {
                                mine = Arrays.copyOf(mine, n * 2);
                            }
                            mine[n++] = (t1 - t0) / 1000;
                        } catch (Throwable e) {
                            failed.incrementAndGet();
                        }
                    }
                } finally {
                    lat.add(Arrays.copyOf(mine, n));
                    done.countDown();
                }
            }, "send-" + p.name + "-" + t).start();
        }
        done.await();
        Round r = new Round();
        r.sendNanos = System.nanoTime() - start;
        r.sent = sent.get();
        r.failed = failed.get();
        long drainStart = System.nanoTime();
        while (p.received.get() < r.sent && (System.nanoTime() - drainStart) / 1_000_000 < drainMs) {
            Thread.sleep(5);
        }
        r.drainMs = (System.nanoTime() - drainStart) / 1_000_000;
        r.received = p.received.get();
        r.latUs = lat.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        r.e2eNs = p.e2eNs.stream().mapToLong(Long::longValue).sorted().toArray();
        return r;
    }

    /** CPU seconds of this JVM and of named processes, from /proc. */
    private static final class Cpu {
        private final Map<String, Long> pids = new LinkedHashMap<>();
        private final double tck;

        Cpu(String spec, int clkTck) {
            tck = clkTck;
            if (spec != null) {
                for (String part : spec.split(",")) {
                    int eq = part.indexOf('=');
                    pids.put(part.substring(0, eq), Long.parseLong(part.substring(eq + 1)));
                }
            }
        }

        /** [now (ns), this JVM's CPU ns, then each process's ticks]. */
        long[] read() {
            long[] v = new long[2 + pids.size()];
            v[0] = System.nanoTime();
            java.lang.management.OperatingSystemMXBean os =
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            v[1] = os instanceof com.sun.management.OperatingSystemMXBean
                ? ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() : -1;
            int i = 2;
            for (long pid : pids.values()) {
                v[i++] = ticks(pid);
            }
            return v;
        }

        private static long ticks(long pid) {
            try {
                String stat = new String(Files.readAllBytes(Paths.get("/proc/" + pid + "/stat")),
                    StandardCharsets.US_ASCII);
                // After the command name (in parentheses, may hold spaces): utime and stime.
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                return Long.parseLong(f[11]) + Long.parseLong(f[12]);
            } catch (Exception e) {
                return -1;
            }
        }

        String since(long[] before) {
            long[] now = read();
            StringBuilder sb = new StringBuilder("{\"wallSecs\":")
                .append(String.format("%.3f", (now[0] - before[0]) / 1e9));
            if (now[1] >= 0 && before[1] >= 0) {
                sb.append(",\"client\":").append(String.format("%.3f", (now[1] - before[1]) / 1e9));
            }
            int i = 2;
            for (String name : pids.keySet()) {
                if (now[i] >= 0 && before[i] >= 0) {
                    sb.append(",\"").append(name).append("\":").append(String.format("%.3f", (now[i] - before[i]) / tck));
                }
                i++;
            }
            return sb.append('}').toString();
        }
    }
}
