package dev.ferry.harness;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;

/**
 * Benchmark clients for {@code bench/proxy.sh}: the real client against several NameServer
 * addresses (a cluster's own, and Ferry's front) in one warm JVM, in alternating rounds, so that
 * JIT state, GC and the machine's load weigh on every target alike.
 *
 * <pre>
 * bench-produce --namesrv NAME=ADDR[,NAME=ADDR...] --topic T [--threads 8] [--body-size 1024]
 *               [--rate 0 (msgs/s over all threads; 0: as fast as the sends return)]
 *               [--round-secs 5] [--rounds 3] [--warmup-secs 3] [--group G] [--send-timeout-ms 3000]
 *               [--cpu-pids NAME=PID,...] [--clk-tck 100] [--out FILE]
 * bench-consume --namesrv NAME=ADDR[,NAME=ADDR...] --topic T --count N [--rounds 3] [--warmup-count 0]
 *               [--group-prefix G] [--timeout-secs 120] [--cpu-pids NAME=PID,...] [--clk-tck 100] [--out FILE]
 * </pre>
 *
 * <p>bench-produce: one started producer per target. A warm-up of --warmup-secs per target, then
 * --rounds rounds; round r goes through the targets in the given order when r is odd, in reverse
 * when even (ABBA). Each round: --threads threads send synchronously for --round-secs, each send
 * timed with {@code System.nanoTime()} around {@code producer.send(msg)} (from the call, not from
 * a schedule). One JSON line per round: {"kind":"produce","target","round","threads","rate",
 * "bodySize","secs","sent","failed","msgsPerSec","p50Us","p90Us","p99Us","p999Us","maxUs","meanUs","cpu"}.
 *
 * <p>bench-consume: per round and target a new push consumer in a new group (CONSUME_FROM_FIRST_OFFSET,
 * the client's defaults otherwise), so every round reads the same first --count messages of the
 * topic. The listener only counts. One JSON line per round: {"kind":"consume","target","round",
 * "count","firstMs" (start() to the first delivery),"secs" (first to --count-th delivery),"msgsPerSec","cpu"}.
 *
 * <p>"cpu" of a round: {"machineBusyCores" (all processes, averaged over the round), "wallSecs" (the
 * round, client start and shutdown included), "client" (this JVM's CPU seconds), and CPU seconds of
 * each --cpu-pids process}, read from /proc.
 *
 * <p>Exit 0 when every round completed (a produce round may count failed sends: they are
 * reported), 1 when a consume round timed out or a client could not start.
 */
final class Bench {
    private Bench() {
    }

    /** NAME=ADDR pairs, in order. */
    private static Map<String, String> targets(Args a) {
        Map<String, String> t = new LinkedHashMap<>();
        for (String part : a.str("namesrv").split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0 || eq == part.length() - 1) {
                throw new Main.UsageException("--namesrv wants NAME=ADDR[,NAME=ADDR...], got " + part);
            }
            t.put(part.substring(0, eq), part.substring(eq + 1));
        }
        return t;
    }

    /** Round r's order: as given when r is odd, reversed when even. */
    private static List<String> order(List<String> names, int round) {
        List<String> o = new ArrayList<>(names);
        if (round % 2 == 0) {
            java.util.Collections.reverse(o);
        }
        return o;
    }

    private static String instance(String role, String target) {
        return "ferry-bench-" + role + "-" + target + "-" + ProcessHandle.current().pid();
    }

    // ---------------------------------------------------------------------------------------------
    // produce
    // ---------------------------------------------------------------------------------------------

    static int produce(List<String> argv) throws Exception {
        Args a = new Args(argv, new HashSet<>(),
            new HashSet<>(Arrays.asList("namesrv", "topic", "threads", "body-size", "rate", "round-secs", "rounds",
                "warmup-secs", "group", "send-timeout-ms", "cpu-pids", "clk-tck", "out")));
        Map<String, String> targets = targets(a);
        String topic = a.str("topic");
        int threads = a.integer("threads", 8);
        int bodySize = a.integer("body-size", 1024);
        int rate = a.integer("rate", 0);
        int roundSecs = a.integer("round-secs", 5);
        int rounds = a.integer("rounds", 3);
        int warmupSecs = a.integer("warmup-secs", 3);
        if (threads < 1 || roundSecs < 1 || rounds < 1 || rate < 0 || bodySize < 1) {
            throw new Main.UsageException("--threads, --round-secs, --rounds, --body-size must be >= 1, --rate >= 0");
        }
        byte[] body = new byte[bodySize];
        for (int i = 0; i < bodySize; i++) {
            body[i] = (byte) ('a' + i % 26);
        }

        Cpu cpu = new Cpu(a);
        Map<String, DefaultMQProducer> producers = new LinkedHashMap<>();
        try (PrintWriter out = Main.out(a)) {
            for (Map.Entry<String, String> t : targets.entrySet()) {
                DefaultMQProducer p = new DefaultMQProducer(a.str("group", "ferry-bench-producer"));
                p.setNamesrvAddr(t.getValue());
                p.setInstanceName(instance("producer", t.getKey()));
                p.setSendMsgTimeout(a.integer("send-timeout-ms", 3000));
                p.start();
                producers.put(t.getKey(), p);
            }
            List<String> names = new ArrayList<>(targets.keySet());
            if (warmupSecs > 0) {
                for (String name : names) {
                    Round w = sendRound(producers.get(name), topic, body, threads, rate, warmupSecs);
                    System.err.printf("ferry-harness: warm-up %s: %.0f msgs/s, p99 %d us, %d failed%n",
                        name, w.perSec(), w.quantile(0.99), w.failed);
                }
            }
            for (int r = 1; r <= rounds; r++) {
                for (String name : order(names, r)) {
                    long[] before = cpu.read();
                    Round x = sendRound(producers.get(name), topic, body, threads, rate, roundSecs);
                    Json used = cpu.since(before);
                    out.println(Json.obj()
                        .put("kind", "produce").put("target", name).put("round", r)
                        .put("threads", threads).put("rate", rate).put("bodySize", bodySize)
                        .put("secs", round3(x.nanos / 1e9)).put("sent", x.sent).put("failed", x.failed)
                        .put("msgsPerSec", round1(x.perSec()))
                        .put("p50Us", x.quantile(0.50)).put("p90Us", x.quantile(0.90))
                        .put("p99Us", x.quantile(0.99)).put("p999Us", x.quantile(0.999))
                        .put("maxUs", x.quantile(1.0)).put("meanUs", round1(x.mean())).put("cpu", used));
                    System.err.printf("ferry-harness: round %d %s: %.0f msgs/s, p50 %d us, p99 %d us, %d failed%n",
                        r, name, x.perSec(), x.quantile(0.5), x.quantile(0.99), x.failed);
                }
            }
        } finally {
            for (DefaultMQProducer p : producers.values()) {
                p.shutdown();
            }
        }
        return 0;
    }

    /** One round's sends: latencies (µs) of the successful ones, failures, wall time. */
    static final class Round {
        long[] latUs = new long[0];
        long sent;
        long failed;
        long nanos;
        private boolean sorted;

        double perSec() {
            return nanos > 0 ? sent * 1e9 / nanos : 0;
        }

        double mean() {
            long s = 0;
            for (long v : latUs) {
                s += v;
            }
            return latUs.length > 0 ? (double) s / latUs.length : 0;
        }

        /** The q-quantile by rank (nearest rank, ceil(q*n)); 0 without samples. */
        long quantile(double q) {
            if (latUs.length == 0) {
                return 0;
            }
            if (!sorted) {
                Arrays.sort(latUs);
                sorted = true;
            }
            int rank = (int) Math.ceil(q * latUs.length);
            return latUs[Math.min(Math.max(rank, 1), latUs.length) - 1];
        }
    }

    /** Per-thread latency samples, grown by doubling. */
    private static final class Samples {
        long[] v = new long[1 << 14];
        int n;
        long failed;

        void add(long us) {
            if (n == v.length) {
                v = Arrays.copyOf(v, n * 2);
            }
            v[n++] = us;
        }
    }

    private static Round sendRound(DefaultMQProducer producer, String topic, byte[] body, int threads, int rate,
                                   int secs) throws InterruptedException {
        Samples[] samples = new Samples[threads];
        Thread[] workers = new Thread[threads];
        CountDownLatch go = new CountDownLatch(1);
        long duration = TimeUnit.SECONDS.toNanos(secs);
        // With --rate, each thread sends on its own schedule of rate/threads per second, staggered.
        long interval = rate > 0 ? (long) (threads * 1e9 / rate) : 0;
        long[] start = new long[1];
        for (int t = 0; t < threads; t++) {
            Samples s = samples[t] = new Samples();
            int offset = t;
            workers[t] = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                long begin = start[0];
                long deadline = begin + duration;
                long next = begin + (interval > 0 ? interval * offset / threads : 0);
                while (true) {
                    long now = System.nanoTime();
                    if (interval > 0) {
                        if (next - now > 0) {
                            LockSupport.parkNanos(next - now);
                            now = System.nanoTime();
                        } else if (now - next > 1_000_000_000L) {
                            next = now; // more than 1 s behind: restart the schedule, no burst
                        }
                        next += interval;
                    }
                    if (now - deadline >= 0) {
                        break;
                    }
                    Message msg = new Message(topic, "bench", body);
                    long t0 = System.nanoTime();
                    try {
                        SendResult r = producer.send(msg);
                        long us = (System.nanoTime() - t0) / 1000;
                        if (r.getSendStatus() == SendStatus.SEND_OK) {
                            s.add(us);
                        } else {
                            s.failed++;
                        }
                    } catch (Exception e) {
                        if (s.failed++ == 0) {
                            System.err.println("ferry-harness: send failed: " + Main.describe(e));
                        }
                    }
                }
            }, "bench-sender-" + t);
            workers[t].start();
        }
        start[0] = System.nanoTime();
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        Round r = new Round();
        r.nanos = System.nanoTime() - start[0];
        int total = 0;
        for (Samples s : samples) {
            total += s.n;
            r.failed += s.failed;
        }
        r.latUs = new long[total];
        int at = 0;
        for (Samples s : samples) {
            System.arraycopy(s.v, 0, r.latUs, at, s.n);
            at += s.n;
        }
        r.sent = total;
        return r;
    }

    // ---------------------------------------------------------------------------------------------
    // consume
    // ---------------------------------------------------------------------------------------------

    static int consume(List<String> argv) throws Exception {
        Args a = new Args(argv, new HashSet<>(),
            new HashSet<>(Arrays.asList("namesrv", "topic", "count", "rounds", "warmup-count", "group-prefix",
                "timeout-secs", "cpu-pids", "clk-tck", "out")));
        Map<String, String> targets = targets(a);
        String topic = a.str("topic");
        int count = a.integer("count");
        int rounds = a.integer("rounds", 3);
        int warmup = a.integer("warmup-count", 0);
        int timeoutSecs = a.integer("timeout-secs", 120);
        String prefix = a.str("group-prefix", "ferry-bench-consumer") + "-" + ProcessHandle.current().pid();
        if (count < 2 || rounds < 1) {
            throw new Main.UsageException("--count must be >= 2, --rounds >= 1");
        }
        List<String> names = new ArrayList<>(targets.keySet());
        Cpu cpu = new Cpu(a);
        try (PrintWriter out = Main.out(a)) {
            if (warmup > 0) {
                for (String name : names) {
                    Consumed w = consumeRound(targets.get(name), topic, prefix + "-warmup-" + name, name,
                        Math.max(warmup, 2), timeoutSecs);
                    if (w == null) {
                        return Main.EXIT_FAILED;
                    }
                    System.err.printf("ferry-harness: consume warm-up %s: %.0f msgs/s%n", name, w.perSec(warmup));
                }
            }
            for (int r = 1; r <= rounds; r++) {
                for (String name : order(names, r)) {
                    long[] before = cpu.read();
                    Consumed c = consumeRound(targets.get(name), topic, prefix + "-r" + r + "-" + name, name, count,
                        timeoutSecs);
                    if (c == null) {
                        return Main.EXIT_FAILED;
                    }
                    Json used = cpu.since(before);
                    out.println(Json.obj()
                        .put("kind", "consume").put("target", name).put("round", r).put("count", count)
                        .put("firstMs", round1((c.first - c.started) / 1e6))
                        .put("secs", round3((c.last - c.first) / 1e9))
                        .put("msgsPerSec", round1(c.perSec(count))).put("cpu", used));
                    System.err.printf("ferry-harness: consume round %d %s: %.0f msgs/s (first after %.0f ms)%n",
                        r, name, c.perSec(count), (c.first - c.started) / 1e6);
                }
            }
        }
        return 0;
    }

    static final class Consumed {
        long started;
        volatile long first;
        volatile long last;

        /** Deliveries 2..count over the time from the first to the last. */
        double perSec(int count) {
            return last > first ? (count - 1) * 1e9 / (last - first) : 0;
        }
    }

    /** A fresh group reading the topic from its first offset until `count` deliveries; null on timeout. */
    private static Consumed consumeRound(String namesrv, String topic, String group, String target, int count,
                                         int timeoutSecs) throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group, null, new AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(instance("consumer", target));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        Consumed c = new Consumed();
        AtomicLong seen = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (int i = 0; i < msgs.size(); i++) {
                long n = seen.incrementAndGet();
                if (n == 1) {
                    c.first = System.nanoTime();
                }
                if (n == count) {
                    c.last = System.nanoTime();
                    done.countDown();
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.started = System.nanoTime();
        consumer.start();
        boolean ok;
        try {
            ok = done.await(timeoutSecs, TimeUnit.SECONDS);
        } finally {
            consumer.shutdown();
        }
        if (!ok) {
            System.err.printf("ferry-harness: consumer on %s (%s) got %d of %d messages in %d s%n", target, namesrv,
                seen.get(), count, timeoutSecs);
            return null;
        }
        return c;
    }

    /**
     * CPU time of other processes (--cpu-pids NAME=PID,...: Ferry, the broker), of this JVM, and of
     * the whole machine, over a round: where the cycles went on a machine everything shares.
     * Clock ticks from /proc at --clk-tck per second (getconf CLK_TCK; 100 when not given).
     */
    static final class Cpu {
        private final Map<String, Long> pids = new LinkedHashMap<>();
        private final double tck;

        Cpu(Args a) {
            tck = a.integer("clk-tck", 100);
            if (a.has("cpu-pids")) {
                for (String part : a.str("cpu-pids").split(",")) {
                    int eq = part.indexOf('=');
                    if (eq <= 0) {
                        throw new Main.UsageException("--cpu-pids wants NAME=PID[,NAME=PID...], got " + part);
                    }
                    pids.put(part.substring(0, eq), Long.parseLong(part.substring(eq + 1)));
                }
            }
        }

        /** [machine busy ticks, machine total ticks, this JVM's ns, now (ns), then each pid's ticks]. */
        long[] read() {
            long[] v = new long[4 + pids.size()];
            v[3] = System.nanoTime();
            try {
                String[] f = java.nio.file.Files.readAllLines(java.nio.file.Paths.get("/proc/stat")).get(0).trim()
                    .split("\\s+");
                long total = 0;
                for (int i = 1; i < f.length && i <= 8; i++) {
                    total += Long.parseLong(f[i]);
                }
                v[0] = total - Long.parseLong(f[4]) - Long.parseLong(f[5]);
                v[1] = total;
            } catch (Exception e) {
                v[0] = v[1] = -1;
            }
            java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            v[2] = os instanceof com.sun.management.OperatingSystemMXBean
                ? ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() : -1;
            int i = 4;
            for (long pid : pids.values()) {
                v[i++] = ticks(pid);
            }
            return v;
        }

        private static long ticks(long pid) {
            try {
                String stat = new String(java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("/proc/" + pid + "/stat")),
                    java.nio.charset.StandardCharsets.US_ASCII);
                // Fields after the command name (in parentheses, may hold spaces): utime is the 14th field.
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                return Long.parseLong(f[11]) + Long.parseLong(f[12]);
            } catch (Exception e) {
                return -1;
            }
        }

        /** CPU seconds used since `before`, per process, and the machine's average busy cores. */
        Json since(long[] before) {
            long[] now = read();
            Json j = Json.obj();
            if (now[0] >= 0 && before[0] >= 0 && now[1] > before[1]) {
                long cores = Runtime.getRuntime().availableProcessors();
                j.put("machineBusyCores", round3((double) (now[0] - before[0]) / (now[1] - before[1]) * cores));
            }
            j.put("wallSecs", round3((now[3] - before[3]) / 1e9));
            if (now[2] >= 0) {
                j.put("client", round3((now[2] - before[2]) / 1e9));
            }
            int i = 4;
            for (String name : pids.keySet()) {
                if (now[i] >= 0 && before[i] >= 0) {
                    j.put(name, round3((now[i] - before[i]) / tck));
                }
                i++;
            }
            return j;
        }
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
