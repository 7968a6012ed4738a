package dev.ferry.harness5;

import com.alibaba.fastjson.JSON;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Ferry's second test harness: what only a 5.x client does, with the real rocketmq-client 5.3.3
 * (remoting protocol), compiled against the 5.3.3 broker's own jars by `testkit/rocketmq.sh harness5`.
 *
 * <pre>
 * pop-consume --namesrv A --topic T --group G --expect N [--invisible-ms MS (60000)]
 *             [--reconsume-first] [--linger-ms MS (0)] [--timeout-ms MS (60000)] [--out FILE]
 *   A DefaultMQPushConsumer with client rebalance off: the broker assigns its queues (QUERY_ASSIGNMENT)
 *   and, on a broker with defaultMessageRequestMode=POP, it consumes by POP and acks each message
 *   (ACK_MESSAGE). --reconsume-first answers RECONSUME_LATER to a message's first delivery, so the
 *   client changes its invisible time (CHANGE_MESSAGE_INVISIBLETIME, 10 s: popDelayLevel[0]) and the
 *   broker delivers it again from its POP retry topic, with its own POP_CK. Runs until N distinct
 *   messages were acked, then --linger-ms more (redeliveries are still recorded), or exits 3 at the
 *   timeout. One line per delivery: {"msgId","topic","queueId","queueOffset","reconsumeTimes",
 *   "popCk","popBroker","answer","at"}.
 * recall --namesrv A --topic T --broker B [--group G] [--delay-ms MS (60000)] [--out FILE]
 *   A DefaultMQProducer sends one message due in --delay-ms to a queue of broker B (by the name the
 *   route gives), then recalls it with the send answer's recallHandle (RECALL_MESSAGE). One line:
 *   {"msgId","brokerName","recallHandle","handle" (decoded),"recalled" or "recallError"}; exit 1
 *   when the recall fails.
 * </pre>
 */
public final class Main {
    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.println("usage: pop-consume|recall --namesrv A ...");
            System.exit(2);
        }
        Map<String, String> a = options(argv);
        String out = a.get("out");
        try (OutputStream os = out == null ? System.out : new FileOutputStream(out, true);
             PrintStream ps = new PrintStream(os, true, "UTF-8")) {
            int code;
            switch (argv[0]) {
                case "pop-consume":
                    code = popConsume(a, ps);
                    break;
                case "recall":
                    code = recall(a, ps);
                    break;
                default:
                    System.err.println("unknown command " + argv[0]);
                    code = 2;
            }
            ps.flush();
            System.exit(code);
        }
    }

    private static final Set<String> FLAGS = Set.of("reconsume-first");

    private static Map<String, String> options(String[] argv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 1; i < argv.length; i++) {
            String name = argv[i];
            if (!name.startsWith("--")) {
                throw new IllegalArgumentException("unexpected " + name);
            }
            name = name.substring(2);
            if (FLAGS.contains(name)) {
                m.put(name, "true");
            } else if (i + 1 < argv.length) {
                m.put(name, argv[++i]);
            } else {
                throw new IllegalArgumentException("--" + name + " needs a value");
            }
        }
        return m;
    }

    private static String need(Map<String, String> a, String name) {
        String v = a.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    private static long num(Map<String, String> a, String name, long dflt) {
        return a.containsKey(name) ? Long.parseLong(a.get(name)) : dflt;
    }

    private static int popConsume(Map<String, String> a, PrintStream out) throws Exception {
        String topic = need(a, "topic");
        long expect = num(a, "expect", 1);
        long lingerMs = num(a, "linger-ms", 0);
        long timeoutMs = num(a, "timeout-ms", 60000);
        boolean reconsumeFirst = a.containsKey("reconsume-first");
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(need(a, "group"));
        consumer.setNamesrvAddr(need(a, "namesrv"));
        consumer.setInstanceName("harness5-pop-" + ProcessHandle.current().pid());
        consumer.setClientRebalance(false);
        consumer.setPopInvisibleTime(num(a, "invisible-ms", 60000));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPollNameServerInterval(1000);
        consumer.setHeartbeatBrokerInterval(1000);
        consumer.subscribe(topic, "*");
        Set<String> acked = ConcurrentHashMap.newKeySet();
        AtomicLong allAcked = new AtomicLong();
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            // All or nothing per batch: a batch is acked (or changed) as a whole below.
            boolean later = false;
            for (MessageExt m : msgs) {
                later |= reconsumeFirst && m.getReconsumeTimes() == 0;
            }
            for (MessageExt m : msgs) {
                Map<String, Object> line = new LinkedHashMap<>();
                String ck = m.getProperty(MessageConst.PROPERTY_POP_CK);
                String[] f = ck == null ? new String[0] : ck.split(" ");
                line.put("msgId", m.getMsgId());
                line.put("topic", m.getTopic());
                line.put("queueId", m.getQueueId());
                line.put("queueOffset", m.getQueueOffset());
                line.put("reconsumeTimes", m.getReconsumeTimes());
                line.put("popCk", ck);
                line.put("popBroker", f.length > 5 ? f[5] : null);
                line.put("answer", later ? "RECONSUME_LATER" : "CONSUME_SUCCESS");
                line.put("at", System.currentTimeMillis());
                synchronized (out) {
                    out.println(JSON.toJSONString(line));
                }
                if (!later && acked.add(m.getMsgId()) && acked.size() >= expect) {
                    allAcked.compareAndSet(0, System.currentTimeMillis());
                }
            }
            return later ? ConsumeConcurrentlyStatus.RECONSUME_LATER : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        long deadline = System.currentTimeMillis() + timeoutMs;
        try {
            while (true) {
                long done = allAcked.get();
                long now = System.currentTimeMillis();
                if (done > 0 && now >= done + lingerMs) {
                    return 0;
                }
                if (done == 0 && now >= deadline) {
                    System.err.println("timed out: " + acked.size() + " of " + expect + " messages acked");
                    return 3;
                }
                Thread.sleep(100);
            }
        } finally {
            consumer.shutdown();
        }
    }

    private static int recall(Map<String, String> a, PrintStream out) throws Exception {
        String topic = need(a, "topic");
        String broker = need(a, "broker");
        DefaultMQProducer producer = new DefaultMQProducer(a.getOrDefault("group", "ferry-harness5-recall"));
        producer.setNamesrvAddr(need(a, "namesrv"));
        producer.setInstanceName("harness5-recall-" + ProcessHandle.current().pid());
        producer.start();
        try {
            Message msg = new Message(topic, "recall-me".getBytes(StandardCharsets.UTF_8));
            msg.setDeliverTimeMs(System.currentTimeMillis() + num(a, "delay-ms", 60000));
            SendResult sent = producer.send(msg, (List<MessageQueue> mqs, Message m, Object arg) -> {
                for (MessageQueue q : mqs) {
                    if (q.getBrokerName().equals(arg)) {
                        return q;
                    }
                }
                throw new IllegalStateException("no queue of broker " + arg + " in " + mqs);
            }, broker);
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("msgId", sent.getMsgId());
            line.put("brokerName", sent.getMessageQueue().getBrokerName());
            String handle = sent.getRecallHandle();
            line.put("recallHandle", handle);
            line.put("handle", handle == null ? null
                : new String(Base64.getUrlDecoder().decode(handle), StandardCharsets.UTF_8));
            int code = 0;
            try {
                line.put("recalled", producer.recallMessage(topic, handle));
            } catch (Exception e) {
                line.put("recallError", e.toString());
                code = 1;
            }
            out.println(JSON.toJSONString(line));
            return code;
        } finally {
            producer.shutdown();
        }
    }
}
