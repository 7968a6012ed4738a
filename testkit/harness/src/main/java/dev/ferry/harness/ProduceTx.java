package dev.ferry.harness;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Sends N transactional messages through a real {@code TransactionMQProducer}: each is stored as a
 * half (prepared) message, then the local transaction answers --local (unknown, commit or
 * rollback). The producer then stays up for --linger-ms (or until --until-checks check-backs were
 * answered) so that the broker's CHECK_TRANSACTION_STATE requests reach it; each is answered with
 * --check (default commit), or UNKNOW for messages of another topic than --check-topic when given.
 *
 * <p>Check-backs go to any producer of the message's producer group, so a later run with the same
 * --group (and --count 0) answers for the messages of an earlier one.
 *
 * <p>One JSON line per message id (the client's UNIQ_KEY, which is also the transaction id) once
 * the linger is over: the messages this run sent ("sent":true, with the send result and the local
 * state) and those only checked here ("sent":false), each with the number of check-backs answered
 * and the last answer. Exit 1 at the first failed send.
 */
final class ProduceTx {
    private ProduceTx() {
    }

    /** Mutable per-message record, filled by the sender and the check threads. */
    private static final class Record {
        final String msgId;
        String topic;
        String key;
        Json sendFields;
        final AtomicInteger checks = new AtomicInteger();
        volatile String lastAnswer;

        Record(String msgId) {
            this.msgId = msgId;
        }
    }

    static int run(List<String> argv) throws Exception {
        Args a = new Args(argv, new HashSet<>(),
            new HashSet<>(Arrays.asList("namesrv", "topic", "count", "group", "local", "check", "check-topic",
                "linger-ms", "until-checks", "tag", "key-prefix", "instance", "send-timeout-ms", "ak", "sk", "out")));
        String topic = a.str("topic");
        int count = a.integer("count");
        LocalTransactionState local = state(a.str("local", "unknown"), "--local");
        LocalTransactionState check = state(a.str("check", "commit"), "--check");
        String checkTopic = a.str("check-topic", null);
        long lingerMs = a.integer("linger-ms", 0);
        int untilChecks = a.integer("until-checks", 0);
        String tag = a.str("tag", "TagA");
        String keyPrefix = a.str("key-prefix", "tx-");
        if (count < 0 || lingerMs < 0 || untilChecks < 0) {
            throw new Main.UsageException("--count, --linger-ms and --until-checks must not be negative");
        }

        Map<String, Record> records = new LinkedHashMap<>();
        AtomicInteger answered = new AtomicInteger();
        TransactionListener listener = new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return local;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                // The check carries the real topic and the UNIQ_KEY as transaction id
                // (AbstractTransactionalMessageCheckListener.sendCheckMessage).
                String id = msg.getTransactionId() != null ? msg.getTransactionId() : msg.getMsgId();
                LocalTransactionState answer =
                    checkTopic == null || checkTopic.equals(msg.getTopic()) ? check : LocalTransactionState.UNKNOW;
                synchronized (records) {
                    Record r = records.computeIfAbsent(id, Record::new);
                    if (r.topic == null) {
                        r.topic = msg.getTopic();
                        r.key = msg.getKeys();
                    }
                    r.checks.incrementAndGet();
                    r.lastAnswer = answer.name();
                }
                answered.incrementAndGet();
                return answer;
            }
        };

        TransactionMQProducer producer = new TransactionMQProducer(a.str("group", "ferry-harness-tx"), Main.rpcHook(a));
        producer.setNamesrvAddr(a.str("namesrv"));
        producer.setInstanceName(a.str("instance", Main.instanceName("produce-tx")));
        producer.setSendMsgTimeout(a.integer("send-timeout-ms", 5000));
        producer.setTransactionListener(listener);

        int sent = 0;
        try (PrintWriter out = Main.out(a)) {
            producer.start();
            for (int i = 0; i < count; i++) {
                String key = keyPrefix + i;
                Message msg = new Message(topic, tag, key, ("key=" + key + " seq=" + i).getBytes(StandardCharsets.UTF_8));
                msg.putUserProperty(Produce.SEQ_PROPERTY, Integer.toString(i));
                TransactionSendResult r;
                try {
                    r = producer.sendMessageInTransaction(msg, null);
                } catch (Exception e) {
                    System.err.printf("ferry-harness: transactional send #%d (key %s) to %s failed: %s%n", i, key, topic,
                        Main.describe(e));
                    return Main.EXIT_FAILED;
                }
                sent++;
                synchronized (records) {
                    Record rec = records.computeIfAbsent(r.getMsgId(), Record::new);
                    rec.topic = topic;
                    rec.key = key;
                    rec.sendFields = sendFields(r, i, msg.getTransactionId());
                }
            }
            System.err.printf("ferry-harness: %d of %d transactional messages sent (local %s)%n", sent, count, local);

            long deadline = System.currentTimeMillis() + lingerMs;
            while (System.currentTimeMillis() < deadline && (untilChecks == 0 || answered.get() < untilChecks)) {
                Thread.sleep(50);
            }
            System.err.printf("ferry-harness: %d check-backs answered%n", answered.get());
            synchronized (records) {
                for (Record r : records.values()) {
                    Json line = Json.obj()
                        .put("msgId", r.msgId)
                        .put("topic", r.topic)
                        .put("key", r.key)
                        .put("sent", r.sendFields != null);
                    if (r.sendFields != null) {
                        line.put("send", r.sendFields);
                    }
                    line.put("checks", r.checks.get()).put("checkAnswer", r.lastAnswer);
                    out.println(line);
                }
            }
        } finally {
            producer.shutdown();
        }
        return 0;
    }

    private static Json sendFields(TransactionSendResult r, int index, String transactionId) {
        return Json.obj()
            .put("index", index)
            .put("status", r.getSendStatus().name())
            .put("localState", r.getLocalTransactionState() == null ? null : r.getLocalTransactionState().name())
            .put("transactionId", transactionId)
            .put("offsetMsgId", r.getOffsetMsgId())
            .put("brokerName", r.getMessageQueue().getBrokerName())
            .put("queueId", r.getMessageQueue().getQueueId())
            .put("queueOffset", r.getQueueOffset());
    }

    private static LocalTransactionState state(String s, String option) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "unknown":
            case "unknow":
                return LocalTransactionState.UNKNOW;
            case "commit":
                return LocalTransactionState.COMMIT_MESSAGE;
            case "rollback":
                return LocalTransactionState.ROLLBACK_MESSAGE;
            default:
                throw new Main.UsageException(option + " must be unknown, commit or rollback, not " + s);
        }
    }
}
