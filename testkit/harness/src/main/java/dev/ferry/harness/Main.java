package dev.ferry.harness;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.remoting.RPCHook;

/**
 * Entry point: {@code produce | produce-tx | consume | admin | produce-stream | consume-stream}. One JVM per
 * call; results are JSON lines on {@code --out FILE} (or stdout), diagnostics on stderr. The two
 * stream commands run until their {@code --stop-file} exists.
 *
 * <p>Exit codes: 0 done, 1 an operation failed (send, admin), 2 bad usage, 3 consume timed out
 * before the expected number of messages arrived.
 */
public final class Main {
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_TIMEOUT = 3;

    static final String USAGE = String.join("\n",
        "usage: ferry-harness produce --namesrv A --topic T --count N [--group G] [--ordered-keys K]",
        "                             [--tag TAG] [--body-size BYTES] [--namespace NS] [--send-timeout-ms MS]",
        "                             [--ak AK --sk SK] [--out FILE]",
        "       ferry-harness produce-tx --namesrv A --topic T --count N [--group G] [--local unknown|commit|rollback]",
        "                             [--check commit|rollback|unknown] [--check-topic T] [--linger-ms MS]",
        "                             [--until-checks N] [--tag TAG] [--key-prefix P] [--instance NAME]",
        "                             [--send-timeout-ms MS] [--ak AK --sk SK] [--out FILE]",
        "       ferry-harness consume --namesrv A --topic T --group G --expect N --timeout-secs S",
        "                             [--orderly] [--from-first] [--tag-expr EXPR] [--namespace NS]",
        "                             [--reconsume-once] [--poll-namesrv-ms MS] [--ak AK --sk SK] [--out FILE]",
        "       ferry-harness admin --namesrv A [--ak AK --sk SK] [--spec-file FILE] [--out FILE] [OPERATION...]",
        "         OPERATION (inline, or one per line of --spec-file; '#' starts a comment line):",
        "           create-topic --cluster C --topic T [--read R] [--write W] [--perm 6] [--order]",
        "           create-group --cluster C --group G [--retry-max 16] [--retry-queues 1]",
        "                        [--broadcast true|false] [--consume-orderly]",
        "           cluster-info",
        "           topic-route --topic T",
        "       ferry-harness produce-stream --namesrv A --topic T --group G --stop-file PATH [--rate N/s (50; 0: no limit)]",
        "                             [--ordered-keys K] [--instance NAME] [--tag TAG] [--send-timeout-ms MS]",
        "                             [--poll-namesrv-ms MS] [--heartbeat-ms MS] [--ready-file PATH]",
        "                             [--exit-on-stdin-eof] [--ak AK --sk SK] [--out FILE]",
        "       ferry-harness consume-stream --namesrv A --topic T --group G --stop-file PATH [--orderly] [--from-first]",
        "                             [--instance NAME] [--tag-expr EXPR] [--consume-threads N]",
        "                             [--poll-namesrv-ms MS] [--heartbeat-ms MS] [--ready-file PATH]",
        "                             [--exit-on-stdin-eof] [--ak AK --sk SK] [--out FILE]",
        "       ferry-harness bench-produce | bench-consume ...   (bench/proxy.sh; options in Bench.java)");

    private Main() {
    }

    public static void main(String[] argv) {
        int code;
        try {
            if (argv.length == 0) {
                throw new UsageException("no command");
            }
            List<String> rest = Arrays.asList(argv).subList(1, argv.length);
            switch (argv[0]) {
                case "produce":
                    code = Produce.run(rest);
                    break;
                case "produce-tx":
                    code = ProduceTx.run(rest);
                    break;
                case "consume":
                    code = Consume.run(rest);
                    break;
                case "admin":
                    code = Admin.run(rest);
                    break;
                case "produce-stream":
                    code = ProduceStream.run(rest);
                    break;
                case "consume-stream":
                    code = ConsumeStream.run(rest);
                    break;
                case "bench-produce":
                    code = Bench.produce(rest);
                    break;
                case "bench-consume":
                    code = Bench.consume(rest);
                    break;
                case "-h":
                case "--help":
                case "help":
                    System.out.println(USAGE);
                    code = 0;
                    break;
                default:
                    throw new UsageException("unknown command " + argv[0]);
            }
        } catch (UsageException e) {
            System.err.println("ferry-harness: " + e.getMessage());
            System.err.println(USAGE);
            code = EXIT_USAGE;
        } catch (Throwable e) {
            System.err.println("ferry-harness: " + describe(e));
            e.printStackTrace();
            code = EXIT_FAILED;
        }
        System.out.flush();
        System.err.flush();
        // The client leaves non-daemon threads behind after shutdown(); do not wait for them.
        Runtime.getRuntime().halt(code);
    }

    /** ACL 1.0 signing hook when --ak/--sk are given (both 4.9 and 5.x brokers accept the signature). */
    static RPCHook rpcHook(Args a) {
        if (!a.has("ak") && !a.has("sk")) {
            return null;
        }
        return new AclClientRPCHook(new SessionCredentials(a.str("ak"), a.str("sk")));
    }

    /** A unique client instance name so that several harness JVMs never share client state. */
    static String instanceName(String role) {
        return "ferry-harness-" + role + "-" + ProcessHandle.current().pid();
    }

    static PrintWriter out(Args a) throws IOException {
        if (a.has("out")) {
            return new PrintWriter(new OutputStreamWriter(new FileOutputStream(a.str("out")), StandardCharsets.UTF_8), true);
        }
        return new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
    }

    /** Exception class and message, with the causes: what a test failure should show. */
    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (sb.length() > 0) {
                sb.append(" <- caused by ");
            }
            sb.append(t.getClass().getName()).append(": ").append(t.getMessage());
        }
        return sb.toString();
    }

    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
