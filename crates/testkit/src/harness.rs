use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cluster::{ensure_fetched, run_dir, script_command};
use crate::error::{Error, Result};
use serde_json::Value;

/// An ACL 1.0 access key / secret key pair (5.3.3 ACL 2.0 accepts the same signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl Credentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials { access_key: access_key.into(), secret_key: secret_key.into() }
    }
}

/// The Java harness (`testkit/harness`, real `rocketmq-client` 4.9.8): one JVM per call, run through
/// `testkit/rocketmq.sh harness`.
#[derive(Debug, Clone)]
pub struct Harness {
    namesrv: String,
    credentials: Option<Credentials>,
    java_opts: Vec<String>,
}

impl Harness {
    /// A harness talking to the NameServer(s) at `namesrv_addr` (`host:port`, `;`-separated). This
    /// may be any NameServer, Ferry's own included.
    pub fn new(namesrv_addr: impl Into<String>) -> Self {
        Harness { namesrv: namesrv_addr.into(), credentials: None, java_opts: Vec::new() }
    }

    /// Sign every request with these credentials (ACL).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Send unsigned requests.
    pub fn without_credentials(mut self) -> Self {
        self.credentials = None;
        self
    }

    /// Extra JVM options, e.g. `-Dcom.rocketmq.sendMessageWithVIPChannel=true` or
    /// `-Drocketmq.client.name=...`.
    pub fn with_java_opts<I: IntoIterator<Item = S>, S: Into<String>>(mut self, opts: I) -> Self {
        self.java_opts.extend(opts.into_iter().map(Into::into));
        self
    }

    pub fn namesrv_addr(&self) -> &str {
        &self.namesrv
    }

    /// Sends messages; every send must succeed, else the error carries the harness's reason.
    pub fn produce(&self, p: &Produce) -> Result<Vec<SentMessage>> {
        let mut args = vec![
            "produce".to_string(),
            "--topic".into(),
            p.topic.clone(),
            "--count".into(),
            p.count.to_string(),
        ];
        push_opt(&mut args, "--group", p.group.as_ref());
        push_opt(&mut args, "--ordered-keys", p.ordered_keys.as_ref());
        push_opt(&mut args, "--tag", p.tag.as_ref());
        push_opt(&mut args, "--body-size", p.body_size.as_ref());
        push_opt(&mut args, "--namespace", p.namespace.as_ref());
        push_opt(&mut args, "--send-timeout-ms", p.send_timeout_ms.as_ref());
        let run = self.run(args)?;
        if !run.success {
            return Err(run.error());
        }
        run.values()?.iter().map(SentMessage::from_json).collect()
    }

    /// Sends transactional messages through a real `TransactionMQProducer` and keeps it up for the
    /// linger so that the broker's check-backs reach it. Returns one record per message id: those
    /// sent by this run, and those of an earlier run (same producer group) only checked here.
    pub fn produce_tx(&self, p: &ProduceTx) -> Result<Vec<TxRecord>> {
        let mut args = vec![
            "produce-tx".to_string(),
            "--topic".into(),
            p.topic.clone(),
            "--count".into(),
            p.count.to_string(),
            "--local".into(),
            p.local.as_str().into(),
            "--check".into(),
            p.check.as_str().into(),
            "--linger-ms".into(),
            p.linger_ms.to_string(),
        ];
        push_opt(&mut args, "--group", p.group.as_ref());
        push_opt(&mut args, "--check-topic", p.check_topic.as_ref());
        push_opt(&mut args, "--until-checks", p.until_checks.as_ref());
        push_opt(&mut args, "--key-prefix", p.key_prefix.as_ref());
        push_opt(&mut args, "--instance", p.instance.as_ref());
        let run = self.run(args)?;
        if !run.success {
            return Err(run.error());
        }
        run.values()?.iter().map(TxRecord::from_json).collect()
    }

    /// Runs a push consumer until `expect` distinct messages were consumed (Ok) or the timeout
    /// passed (`Error::NotAllConsumed`, which carries what did arrive). With `expect` 0 it consumes
    /// for the whole timeout and returns whatever arrived.
    pub fn consume(&self, c: &Consume) -> Result<Vec<ReceivedMessage>> {
        let mut args = vec![
            "consume".to_string(),
            "--topic".into(),
            c.topic.clone(),
            "--group".into(),
            c.group.clone(),
            "--expect".into(),
            c.expect.to_string(),
            "--timeout-secs".into(),
            c.timeout_secs.to_string(),
        ];
        for (flag, on) in
            [("--orderly", c.orderly), ("--from-first", c.from_first), ("--reconsume-once", c.reconsume_once)]
        {
            if on {
                args.push(flag.into());
            }
        }
        push_opt(&mut args, "--tag-expr", c.tag_expr.as_ref());
        push_opt(&mut args, "--namespace", c.namespace.as_ref());
        push_opt(&mut args, "--poll-namesrv-ms", c.poll_namesrv_ms.as_ref());
        let run = self.run(args)?;
        let received = run.values()?.iter().map(ReceivedMessage::from_json).collect::<Result<Vec<_>>>()?;
        match run.status {
            Some(0) => Ok(received),
            Some(3) => Err(Error::NotAllConsumed { expected: c.expect, received, stderr: run.stderr }),
            _ => Err(run.error()),
        }
    }

    /// Creates (or updates) topics on every master of `cluster`, in one JVM.
    pub fn create_topics(&self, cluster: &str, topics: &[TopicSpec]) -> Result<()> {
        let ops: Vec<Vec<String>> = topics.iter().map(|t| t.to_op(cluster)).collect();
        self.admin(&ops).map(|_| ())
    }

    /// Creates (or updates) consumer groups on every master of `cluster`, in one JVM.
    pub fn create_groups(&self, cluster: &str, groups: &[GroupSpec]) -> Result<()> {
        let ops: Vec<Vec<String>> = groups.iter().map(|g| g.to_op(cluster)).collect();
        self.admin(&ops).map(|_| ())
    }

    /// Runs admin operations (`["create-topic", "--cluster", "c", "--topic", "t"]`, `["cluster-info"]`,
    /// `["topic-route", "--topic", "t"]`, ...) in one JVM; returns one JSON line per operation.
    /// Fails if any operation failed.
    pub fn admin(&self, ops: &[Vec<String>]) -> Result<Vec<String>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let spec = self.temp_file("admin-spec");
        let text: String = ops.iter().map(|op| op.join(" ") + "\n").collect();
        std::fs::write(&spec, text)?;
        let run = self.run(vec!["admin".into(), "--spec-file".into(), spec.display().to_string()]);
        let _ = std::fs::remove_file(&spec);
        let run = run?;
        if !run.success {
            return Err(run.error());
        }
        Ok(run.lines)
    }

    fn temp_file(&self, what: &str) -> PathBuf {
        let mut p = temp_base(what).into_os_string();
        p.push(".txt");
        p.into()
    }

    /// `rocketmq.sh harness <args[0]> --namesrv .. --out OUT [--ak .. --sk ..] <args[1..]>` with
    /// `heap_opts` ahead of the harness's own JVM options (later options win), and the command line
    /// for error messages (without the global options).
    pub(crate) fn command(&self, mut args: Vec<String>, out: &Path, heap_opts: &[&str]) -> (Command, String) {
        let command_line = args.join(" ");
        // Global options go right after the sub-command (the admin command requires that order).
        let mut global =
            vec!["--namesrv".to_string(), self.namesrv.clone(), "--out".into(), out.display().to_string()];
        if let Some(c) = &self.credentials {
            global.extend(["--ak".into(), c.access_key.clone(), "--sk".into(), c.secret_key.clone()]);
        }
        args.splice(1..1, global);
        let mut all = vec!["harness".to_string()];
        all.extend(args);
        let mut cmd = script_command(&all);
        let java_opts: Vec<&str> =
            heap_opts.iter().copied().chain(self.java_opts.iter().map(String::as_str)).collect();
        if !java_opts.is_empty() {
            cmd.env("FERRY_HARNESS_JAVA_OPTS", java_opts.join(" "));
        }
        (cmd, command_line)
    }

    fn run(&self, args: Vec<String>) -> Result<Run> {
        ensure_fetched()?;
        let out = self.temp_file(&args[0]);
        let (mut cmd, command_line) = self.command(args, &out, &[]);
        let output = cmd.output()?;
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        Ok(Run {
            command: command_line,
            success: output.status.success(),
            status: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            lines: text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect(),
        })
    }
}

/// A fresh path without extension under `$FERRY_RUN/.harness-out/` (`<what>-<pid>-<n>`), for the
/// files of one harness call.
pub(crate) fn temp_base(what: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = run_dir().join(".harness-out");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{what}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
}

pub(crate) fn push_opt<T: ToString>(args: &mut Vec<String>, name: &str, value: Option<&T>) {
    if let Some(v) = value {
        args.push(name.to_string());
        args.push(v.to_string());
    }
}

struct Run {
    command: String,
    success: bool,
    status: Option<i32>,
    stderr: String,
    lines: Vec<String>,
}

impl Run {
    fn values(&self) -> Result<Vec<Value>> {
        self.lines
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .map_err(|e| Error::Parse(format!("harness output {l:?}: {e}")))
            })
            .collect()
    }

    fn error(self) -> Error {
        // Admin failures are reported per operation in the output lines too; keep them visible.
        let mut stderr = self.stderr;
        for l in self.lines.iter().filter(|l| l.contains("\"ok\":false")) {
            stderr.push_str(l);
            stderr.push('\n');
        }
        Error::Harness { command: self.command, status: self.status, stderr }
    }
}

/// What to send. `Produce::new(topic, count)` sends `count` messages with keys `msg-<i>`;
/// `.ordered_keys(k)` sends keys `key-<i % k>` through a key-hash queue selector, numbering each
/// key's messages 0, 1, 2, ...
#[derive(Debug, Clone, Default)]
pub struct Produce {
    pub topic: String,
    pub count: usize,
    pub group: Option<String>,
    pub ordered_keys: Option<usize>,
    pub tag: Option<String>,
    pub body_size: Option<usize>,
    pub namespace: Option<String>,
    pub send_timeout_ms: Option<u64>,
}

impl Produce {
    pub fn new(topic: impl Into<String>, count: usize) -> Self {
        Produce { topic: topic.into(), count, ..Default::default() }
    }

    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    pub fn ordered_keys(mut self, keys: usize) -> Self {
        self.ordered_keys = Some(keys);
        self
    }

    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    pub fn body_size(mut self, bytes: usize) -> Self {
        self.body_size = Some(bytes);
        self
    }

    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    pub fn send_timeout_ms(mut self, ms: u64) -> Self {
        self.send_timeout_ms = Some(ms);
        self
    }
}

/// A transaction's outcome as the harness's `TransactionListener` answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// `LocalTransactionState.UNKNOW`: the half message stays prepared; the broker checks back.
    Unknown,
    Commit,
    Rollback,
}

impl TxState {
    fn as_str(self) -> &'static str {
        match self {
            TxState::Unknown => "unknown",
            TxState::Commit => "commit",
            TxState::Rollback => "rollback",
        }
    }
}

/// Transactional sends. `ProduceTx::new(topic, count)` sends `count` messages with keys `tx-<i>`
/// in producer group `ferry-harness-tx`; the local transaction answers UNKNOW, check-backs answer
/// COMMIT, and the producer exits right after the sends unless `.linger_ms(..)` keeps it up for
/// check-backs (which brokers send once a half message is `transactionTimeOut`, 6 s, old, on their
/// `transactionCheckInterval`: 60 s on 4.9, 30 s on 5.3). `count` 0 only answers check-backs.
#[derive(Debug, Clone)]
pub struct ProduceTx {
    pub topic: String,
    pub count: usize,
    pub group: Option<String>,
    pub local: TxState,
    pub check: TxState,
    /// Answer `check` only for messages of this topic, UNKNOW for the others.
    pub check_topic: Option<String>,
    pub linger_ms: u64,
    /// Stop lingering once this many check-backs were answered.
    pub until_checks: Option<usize>,
    pub key_prefix: Option<String>,
    pub instance: Option<String>,
}

impl ProduceTx {
    pub fn new(topic: impl Into<String>, count: usize) -> Self {
        ProduceTx {
            topic: topic.into(),
            count,
            group: None,
            local: TxState::Unknown,
            check: TxState::Commit,
            check_topic: None,
            linger_ms: 0,
            until_checks: None,
            key_prefix: None,
            instance: None,
        }
    }

    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    pub fn local(mut self, state: TxState) -> Self {
        self.local = state;
        self
    }

    pub fn check(mut self, state: TxState) -> Self {
        self.check = state;
        self
    }

    pub fn check_topic(mut self, topic: impl Into<String>) -> Self {
        self.check_topic = Some(topic.into());
        self
    }

    pub fn linger_ms(mut self, ms: u64) -> Self {
        self.linger_ms = ms;
        self
    }

    pub fn until_checks(mut self, n: usize) -> Self {
        self.until_checks = Some(n);
        self
    }

    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }

    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }
}

/// One transactional message as a `produce-tx` run saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    /// The client's `UNIQ_KEY`, which is also the transaction id.
    pub msg_id: String,
    pub topic: Option<String>,
    pub key: Option<String>,
    /// Sent by this run (else only checked here).
    pub sent: Option<TxSend>,
    /// Check-backs this run answered for the message.
    pub checks: u32,
    /// The last answer given to a check-back (`COMMIT_MESSAGE`, `ROLLBACK_MESSAGE`, `UNKNOW`).
    pub check_answer: Option<String>,
}

/// The send result of a transactional message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxSend {
    pub index: i64,
    /// `SEND_OK` and so on.
    pub status: String,
    /// What the local transaction answered (`UNKNOW`, `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE`).
    pub local_state: Option<String>,
    pub offset_msg_id: Option<String>,
    pub broker_name: String,
    pub queue_id: i32,
    /// The half message's offset in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0.
    pub queue_offset: i64,
}

impl TxRecord {
    fn from_json(v: &Value) -> Result<Self> {
        let sent = match v.get("send") {
            Some(s) if v.get("sent").and_then(Value::as_bool) == Some(true) => Some(TxSend {
                index: req_i64(s, "index")?,
                status: req_str(s, "status")?,
                local_state: opt_str(s, "localState"),
                offset_msg_id: opt_str(s, "offsetMsgId"),
                broker_name: req_str(s, "brokerName")?,
                queue_id: req_i64(s, "queueId")? as i32,
                queue_offset: req_i64(s, "queueOffset")?,
            }),
            _ => None,
        };
        Ok(TxRecord {
            msg_id: req_str(v, "msgId")?,
            topic: opt_str(v, "topic"),
            key: opt_str(v, "key"),
            sent,
            checks: req_i64(v, "checks")? as u32,
            check_answer: opt_str(v, "checkAnswer"),
        })
    }
}

/// How to consume. `Consume::new(topic, group, expect)` waits up to 60 s, from the last offset
/// (use `.from_first()` for a new group that must see existing messages).
#[derive(Debug, Clone)]
pub struct Consume {
    pub topic: String,
    pub group: String,
    pub expect: usize,
    pub timeout_secs: u64,
    pub orderly: bool,
    pub from_first: bool,
    pub reconsume_once: bool,
    pub tag_expr: Option<String>,
    pub namespace: Option<String>,
    pub poll_namesrv_ms: Option<u64>,
}

impl Consume {
    pub fn new(topic: impl Into<String>, group: impl Into<String>, expect: usize) -> Self {
        Consume {
            topic: topic.into(),
            group: group.into(),
            expect,
            timeout_secs: 60,
            orderly: false,
            from_first: false,
            reconsume_once: false,
            tag_expr: None,
            namespace: None,
            poll_namesrv_ms: None,
        }
    }

    pub fn timeout_secs(mut self, secs: u64) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// `MessageListenerOrderly` (queue locks at the broker) instead of concurrently.
    pub fn orderly(mut self) -> Self {
        self.orderly = true;
        self
    }

    /// `CONSUME_FROM_FIRST_OFFSET` for a group without committed offsets.
    pub fn from_first(mut self) -> Self {
        self.from_first = true;
        self
    }

    /// Answer `RECONSUME_LATER` to every first delivery, so each message comes back once through
    /// the group's retry topic (about 10 s later, delay level 3). Concurrent listener only.
    pub fn reconsume_once(mut self) -> Self {
        self.reconsume_once = true;
        self
    }

    pub fn tag_expr(mut self, expr: impl Into<String>) -> Self {
        self.tag_expr = Some(expr.into());
        self
    }

    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Route refresh period of the client (default 30 s).
    pub fn poll_namesrv_ms(mut self, ms: u64) -> Self {
        self.poll_namesrv_ms = Some(ms);
        self
    }
}

/// One successful send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The client-generated unique id (`UNIQ_KEY`), what consumers see as msgId.
    pub msg_id: String,
    /// The broker's offset message id (store address + commit log offset).
    pub offset_msg_id: String,
    pub topic: String,
    pub key: String,
    /// Per-key sequence number (the message index without ordered keys).
    pub seq: i64,
    pub index: i64,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
}

impl SentMessage {
    fn from_json(v: &Value) -> Result<Self> {
        Ok(SentMessage {
            msg_id: req_str(v, "msgId")?,
            offset_msg_id: opt_str(v, "offsetMsgId").unwrap_or_default(),
            topic: req_str(v, "topic")?,
            key: req_str(v, "key")?,
            seq: req_i64(v, "seq")?,
            index: req_i64(v, "index")?,
            broker_name: req_str(v, "brokerName")?,
            queue_id: req_i64(v, "queueId")? as i32,
            queue_offset: req_i64(v, "queueOffset")?,
        })
    }
}

/// One delivery to the push consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub msg_id: String,
    /// The real topic (for a retried message too: the client restores it).
    pub topic: String,
    pub key: Option<String>,
    pub seq: Option<i64>,
    pub broker_name: Option<String>,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub reconsume_times: i32,
    /// False when the listener handed the message back (`reconsume_once`).
    pub consumed: bool,
}

impl ReceivedMessage {
    fn from_json(v: &Value) -> Result<Self> {
        Ok(ReceivedMessage {
            msg_id: req_str(v, "msgId")?,
            topic: req_str(v, "topic")?,
            key: opt_str(v, "key"),
            seq: v.get("seq").and_then(Value::as_i64),
            broker_name: opt_str(v, "brokerName"),
            queue_id: req_i64(v, "queueId")? as i32,
            queue_offset: req_i64(v, "queueOffset")?,
            reconsume_times: req_i64(v, "reconsumeTimes")? as i32,
            consumed: v.get("consumed").and_then(Value::as_bool).unwrap_or(true),
        })
    }
}

/// The distinct message ids that were consumed (not handed back).
pub fn consumed_ids(received: &[ReceivedMessage]) -> BTreeSet<&str> {
    received.iter().filter(|m| m.consumed).map(|m| m.msg_id.as_str()).collect()
}

pub(crate) fn req_str(v: &Value, key: &str) -> Result<String> {
    opt_str(v, key).ok_or_else(|| Error::Parse(format!("harness output lacks string {key}: {v:?}")))
}

pub(crate) fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn req_i64(v: &Value, key: &str) -> Result<i64> {
    v.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::Parse(format!("harness output lacks number {key}: {v:?}")))
}

/// A topic to create: 8 read and 8 write queues, perm 6 (read|write) unless changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub read_queues: u32,
    pub write_queues: u32,
    pub perm: u32,
    /// FIFO topic: `TopicConfig.order` and, as `mqadmin updateTopic -o true` does, an order conf in
    /// the NameServer (the testkit's NameServers run with `orderMessageEnable=true`, so routes then
    /// carry `orderTopicConf`). Ignored by [`crate::SeedConfig`] except for the `order` flag.
    pub order: bool,
}

impl TopicSpec {
    pub fn new(name: impl Into<String>) -> Self {
        TopicSpec { name: name.into(), read_queues: 8, write_queues: 8, perm: 6, order: false }
    }

    pub fn queues(mut self, read: u32, write: u32) -> Self {
        self.read_queues = read;
        self.write_queues = write;
        self
    }

    pub fn perm(mut self, perm: u32) -> Self {
        self.perm = perm;
        self
    }

    pub fn order(mut self, order: bool) -> Self {
        self.order = order;
        self
    }

    fn to_op(&self, cluster: &str) -> Vec<String> {
        let mut op = vec![
            "create-topic".to_string(),
            "--cluster".into(),
            cluster.into(),
            "--topic".into(),
            self.name.clone(),
            "--read".into(),
            self.read_queues.to_string(),
            "--write".into(),
            self.write_queues.to_string(),
            "--perm".into(),
            self.perm.to_string(),
        ];
        if self.order {
            op.push("--order".into());
        }
        op
    }
}

/// A consumer group to create, with RocketMQ's defaults unless changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub name: String,
    pub retry_max: u32,
    pub retry_queues: u32,
    pub broadcast: bool,
    /// 5.x `consumeMessageOrderly` (4.9 brokers ignore it).
    pub consume_orderly: bool,
}

impl GroupSpec {
    pub fn new(name: impl Into<String>) -> Self {
        GroupSpec {
            name: name.into(),
            retry_max: 16,
            retry_queues: 1,
            broadcast: true,
            consume_orderly: false,
        }
    }

    pub fn retry_max(mut self, n: u32) -> Self {
        self.retry_max = n;
        self
    }

    pub fn retry_queues(mut self, n: u32) -> Self {
        self.retry_queues = n;
        self
    }

    pub fn broadcast(mut self, on: bool) -> Self {
        self.broadcast = on;
        self
    }

    pub fn consume_orderly(mut self, on: bool) -> Self {
        self.consume_orderly = on;
        self
    }

    fn to_op(&self, cluster: &str) -> Vec<String> {
        let mut op = vec![
            "create-group".to_string(),
            "--cluster".into(),
            cluster.into(),
            "--group".into(),
            self.name.clone(),
            "--retry-max".into(),
            self.retry_max.to_string(),
            "--retry-queues".into(),
            self.retry_queues.to_string(),
            "--broadcast".into(),
            self.broadcast.to_string(),
        ];
        if self.consume_orderly {
            op.push("--consume-orderly".into());
        }
        op
    }
}
