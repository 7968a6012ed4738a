package dev.ferry.harness;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import org.apache.rocketmq.client.ClientConfig;

/**
 * What produce-stream and consume-stream share: the stop file, the ready file, the stdin watchdog
 * and the client timers that make route changes reach a client quickly.
 */
final class Streams {
    /** How often the stop file is looked at. */
    static final long STOP_POLL_MS = 100;

    private Streams() {
    }

    /** --poll-namesrv-ms (route refresh, client default 30 s) and --heartbeat-ms (default 30 s). */
    static void clientTimers(ClientConfig c, Args a) {
        if (a.has("poll-namesrv-ms")) {
            c.setPollNameServerInterval(a.integer("poll-namesrv-ms"));
        }
        if (a.has("heartbeat-ms")) {
            c.setHeartbeatBrokerInterval(a.integer("heartbeat-ms"));
        }
    }

    static Path stopFile(Args a) {
        return Paths.get(a.str("stop-file"));
    }

    static boolean stopRequested(Path stopFile) {
        return Files.exists(stopFile);
    }

    /** Sleeps until the stop file exists, looking every {@link #STOP_POLL_MS}. */
    static void awaitStop(Path stopFile) throws InterruptedException {
        while (!stopRequested(stopFile)) {
            Thread.sleep(STOP_POLL_MS);
        }
    }

    /** Creates --ready-file (when given) once the client has started. */
    static void ready(Args a, String clientId) throws IOException {
        if (a.has("ready-file")) {
            Path p = Paths.get(a.str("ready-file"));
            Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
            Files.write(tmp, (clientId + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            Files.move(tmp, p, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /**
     * --exit-on-stdin-eof: a daemon thread reads stdin and halts the JVM when it is closed. The Rust
     * testkit keeps the write end of a pipe open for as long as it wants the JVM; when the test
     * process exits in any way (panic, abort, SIGKILL) the kernel closes it and the JVM goes too.
     */
    static void exitOnStdinEof(Args a) {
        if (!a.flag("exit-on-stdin-eof")) {
            return;
        }
        Thread t = new Thread(() -> {
            byte[] buf = new byte[256];
            try {
                InputStream in = System.in;
                while (in.read(buf) >= 0) {
                    // Whatever is written is ignored; only the end of the stream counts.
                }
            } catch (IOException e) {
                // A broken stdin counts as closed.
            }
            System.err.println("ferry-harness: stdin closed (the test process is gone), exiting");
            System.err.flush();
            Runtime.getRuntime().halt(Main.EXIT_FAILED);
        }, "ferry-stdin-watch");
        t.setDaemon(true);
        t.start();
    }

    /** Microseconds since the epoch (the JDK's clock has microsecond resolution on Linux). */
    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }
}
