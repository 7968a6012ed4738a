//! Long-running producers and consumers (`produce-stream` / `consume-stream` of the Java harness)
//! and the delivery check over what they recorded.
//!
//! Each stream is one JVM in the background, writing one JSON line per send or delivery to its own
//! file; [`RunningProducer::sent`] / [`RunningConsumer::received`] read what is there so far, `stop`
//! asks the JVM to finish (a stop file, looked at every 100 ms), waits for it and returns every
//! record. Dropping a running stream kills its JVM; a JVM also exits by itself when the test process
//! is gone, since it watches its stdin, a pipe only this process holds.
//!
//! ```no_run
//! use std::time::Duration;
//! use ferry_testkit::{delivery_report, wait_for_delivery, ConsumeStream, Harness, ProduceStream};
//!
//! let h = Harness::new("127.0.0.1:9876");
//! let c = h.consume_stream(&ConsumeStream::new("orders", "orders-cg").orderly().from_first())?;
//! c.wait_ready(Duration::from_secs(30))?;
//! let p = h.produce_stream(&ProduceStream::new("orders", "orders-pg").rate(100).ordered_keys(8))?;
//! std::thread::sleep(Duration::from_secs(10));
//! let sent = p.stop()?;
//! let missing = wait_for_delivery(&sent, &[&c], Duration::from_secs(30))?;
//! assert!(missing.is_empty());
//! let received = c.stop()?;
//! let report = delivery_report(&sent, &[("orders-cg", &received)]);
//! assert!(report.all_delivered() && report.in_order(), "{report}");
//! # Ok::<(), ferry_testkit::Error>(())
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::ensure_fetched;
use crate::error::{Error, Result};
use crate::harness::{opt_str, push_opt, req_i64, req_str, temp_base, Harness};

/// Heap of a stream JVM (the one-shot harness calls get 256 MiB): several producers and consumers run
/// next to two clusters and a proxy on small machines.
const STREAM_HEAP: &[&str] = &["-Xmx128m"];
/// How long `stop` waits for the JVM by default (a consumer waits up to 5 s for deliveries in
/// progress, then persists its offsets).
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// A producer that sends until stopped. `ProduceStream::new(topic, group)` sends 50 messages a
/// second with unique keys `<instance>-<n>` (seq = n); `.ordered_keys(k)` spreads them over k order
/// keys `<instance>-k<i>`, numbers each order key's messages 0, 1, 2, ... and sends each key to
/// queue hash(order key) % queues.
#[derive(Debug, Clone, Default)]
pub struct ProduceStream {
    pub topic: String,
    pub group: String,
    /// Messages per second (default 50); 0 sends as fast as the broker answers.
    pub rate: Option<u32>,
    pub ordered_keys: Option<usize>,
    /// Client instance name, also the key prefix (default `ferry-produce-stream-<pid>-<n>`: every
    /// stream is its own client).
    pub instance: Option<String>,
    pub tag: Option<String>,
    /// Default 3000.
    pub send_timeout_ms: Option<u64>,
    /// Route refresh period of the client (default 30 s).
    pub poll_namesrv_ms: Option<u64>,
    /// Heartbeat period of the client (default 30 s).
    pub heartbeat_ms: Option<u64>,
}

impl ProduceStream {
    pub fn new(topic: impl Into<String>, group: impl Into<String>) -> Self {
        ProduceStream { topic: topic.into(), group: group.into(), ..Default::default() }
    }

    pub fn rate(mut self, per_second: u32) -> Self {
        self.rate = Some(per_second);
        self
    }

    pub fn ordered_keys(mut self, keys: usize) -> Self {
        self.ordered_keys = Some(keys);
        self
    }

    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    pub fn send_timeout_ms(mut self, ms: u64) -> Self {
        self.send_timeout_ms = Some(ms);
        self
    }

    pub fn poll_namesrv_ms(mut self, ms: u64) -> Self {
        self.poll_namesrv_ms = Some(ms);
        self
    }

    pub fn heartbeat_ms(mut self, ms: u64) -> Self {
        self.heartbeat_ms = Some(ms);
        self
    }
}

/// A clustering push consumer that runs until stopped. Concurrent listener unless `.orderly()`;
/// from the last offset unless `.from_first()` (what a group without committed offsets does).
#[derive(Debug, Clone, Default)]
pub struct ConsumeStream {
    pub topic: String,
    pub group: String,
    pub orderly: bool,
    pub from_first: bool,
    /// Client instance name (default `ferry-consume-stream-<pid>-<n>`): two streams of one group
    /// are two clients and share the queues.
    pub instance: Option<String>,
    pub tag_expr: Option<String>,
    /// Consume threads (default 4).
    pub consume_threads: Option<u32>,
    pub poll_namesrv_ms: Option<u64>,
    pub heartbeat_ms: Option<u64>,
}

impl ConsumeStream {
    pub fn new(topic: impl Into<String>, group: impl Into<String>) -> Self {
        ConsumeStream { topic: topic.into(), group: group.into(), ..Default::default() }
    }

    /// `MessageListenerOrderly` (queue locks at the broker).
    pub fn orderly(mut self) -> Self {
        self.orderly = true;
        self
    }

    /// `CONSUME_FROM_FIRST_OFFSET` for a group without committed offsets.
    pub fn from_first(mut self) -> Self {
        self.from_first = true;
        self
    }

    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    pub fn tag_expr(mut self, expr: impl Into<String>) -> Self {
        self.tag_expr = Some(expr.into());
        self
    }

    pub fn consume_threads(mut self, n: u32) -> Self {
        self.consume_threads = Some(n);
        self
    }

    pub fn poll_namesrv_ms(mut self, ms: u64) -> Self {
        self.poll_namesrv_ms = Some(ms);
        self
    }

    pub fn heartbeat_ms(mut self, ms: u64) -> Self {
        self.heartbeat_ms = Some(ms);
        self
    }
}

impl Harness {
    /// Starts a producer JVM in the background; it sends until [`RunningProducer::stop`].
    pub fn produce_stream(&self, p: &ProduceStream) -> Result<RunningProducer> {
        let instance = p.instance.clone().unwrap_or_else(|| default_instance("produce-stream"));
        let mut args = vec![
            "produce-stream".to_string(),
            "--topic".into(),
            p.topic.clone(),
            "--group".into(),
            p.group.clone(),
            "--instance".into(),
            instance.clone(),
        ];
        push_opt(&mut args, "--rate", p.rate.as_ref());
        push_opt(&mut args, "--ordered-keys", p.ordered_keys.as_ref());
        push_opt(&mut args, "--tag", p.tag.as_ref());
        push_opt(&mut args, "--send-timeout-ms", p.send_timeout_ms.as_ref());
        push_opt(&mut args, "--poll-namesrv-ms", p.poll_namesrv_ms.as_ref());
        push_opt(&mut args, "--heartbeat-ms", p.heartbeat_ms.as_ref());
        Ok(RunningProducer {
            stream: Stream::spawn(args, instance, |a, out| self.command(a, out, STREAM_HEAP))?,
        })
    }

    /// Starts a push consumer JVM in the background; it consumes until [`RunningConsumer::stop`].
    /// Call [`RunningConsumer::wait_ready`] before producing when the consumer must not miss
    /// anything sent before it subscribed.
    pub fn consume_stream(&self, c: &ConsumeStream) -> Result<RunningConsumer> {
        let instance = c.instance.clone().unwrap_or_else(|| default_instance("consume-stream"));
        let mut args = vec![
            "consume-stream".to_string(),
            "--topic".into(),
            c.topic.clone(),
            "--group".into(),
            c.group.clone(),
            "--instance".into(),
            instance.clone(),
        ];
        for (flag, on) in [("--orderly", c.orderly), ("--from-first", c.from_first)] {
            if on {
                args.push(flag.into());
            }
        }
        push_opt(&mut args, "--tag-expr", c.tag_expr.as_ref());
        push_opt(&mut args, "--consume-threads", c.consume_threads.as_ref());
        push_opt(&mut args, "--poll-namesrv-ms", c.poll_namesrv_ms.as_ref());
        push_opt(&mut args, "--heartbeat-ms", c.heartbeat_ms.as_ref());
        Ok(RunningConsumer {
            stream: Stream::spawn(args, instance, |a, out| self.command(a, out, STREAM_HEAP))?,
            group: c.group.clone(),
        })
    }
}

fn default_instance(role: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("ferry-{role}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

// ------------------------------------------------------------------------------------------------
// Running streams
// ------------------------------------------------------------------------------------------------

/// A `produce-stream` JVM. Dropping it kills the JVM.
#[derive(Debug)]
pub struct RunningProducer {
    stream: Stream,
}

impl RunningProducer {
    /// The client instance name (the prefix of every message key).
    pub fn instance(&self) -> &str {
        &self.stream.instance
    }

    /// Waits until the producer has started; returns its client id (`ip@instance`).
    pub fn wait_ready(&self, timeout: Duration) -> Result<String> {
        self.stream.wait_ready(timeout)
    }

    /// Whether the JVM is still running.
    pub fn is_running(&self) -> bool {
        self.stream.is_running()
    }

    /// Every send so far, failed ones included.
    pub fn sent(&self) -> Result<Vec<SentRecord>> {
        self.stream.records(SentRecord::from_json)
    }

    /// The JVM's stderr so far.
    pub fn stderr(&self) -> String {
        self.stream.log()
    }

    /// Stops sending (within 30 s, else the JVM is killed and this fails) and returns every send.
    pub fn stop(self) -> Result<Vec<SentRecord>> {
        self.stop_within(DEFAULT_STOP_TIMEOUT)
    }

    pub fn stop_within(mut self, timeout: Duration) -> Result<Vec<SentRecord>> {
        self.stream.stop(timeout)?;
        self.sent()
    }
}

/// A `consume-stream` JVM. Dropping it kills the JVM.
#[derive(Debug)]
pub struct RunningConsumer {
    stream: Stream,
    group: String,
}

impl RunningConsumer {
    pub fn instance(&self) -> &str {
        &self.stream.instance
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Waits until the consumer has started (subscribed; its first rebalance follows at once);
    /// returns its client id.
    pub fn wait_ready(&self, timeout: Duration) -> Result<String> {
        self.stream.wait_ready(timeout)
    }

    pub fn is_running(&self) -> bool {
        self.stream.is_running()
    }

    /// Every delivery so far, in delivery order.
    pub fn received(&self) -> Result<Vec<ReceivedRecord>> {
        self.stream.records(ReceivedRecord::from_json)
    }

    pub fn stderr(&self) -> String {
        self.stream.log()
    }

    /// Shuts the consumer down (which persists its offsets; within 30 s, else the JVM is killed and
    /// this fails) and returns every delivery.
    pub fn stop(self) -> Result<Vec<ReceivedRecord>> {
        self.stop_within(DEFAULT_STOP_TIMEOUT)
    }

    pub fn stop_within(mut self, timeout: Duration) -> Result<Vec<ReceivedRecord>> {
        self.stream.stop(timeout)?;
        self.received()
    }
}

/// Polls `consumers` (instances of one group) until every successful send of `sent` was delivered
/// to at least one of them, or `timeout` passed. Returns the msgIds still missing, in send order
/// (empty: caught up). Fails if a consumer JVM exited.
pub fn wait_for_delivery(
    sent: &[SentRecord],
    consumers: &[&RunningConsumer],
    timeout: Duration,
) -> Result<Vec<String>> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut seen = HashSet::new();
        for c in consumers {
            if !c.is_running() {
                return Err(c.stream.failure("exited while waiting for deliveries"));
            }
            seen.extend(c.received()?.into_iter().map(|r| r.msg_id));
        }
        let missing: Vec<String> =
            sent_ok_ids(sent).filter(|id| !seen.contains(*id)).map(str::to_string).collect();
        if missing.is_empty() || Instant::now() >= deadline {
            return Ok(missing);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn sent_ok_ids(sent: &[SentRecord]) -> impl Iterator<Item = &str> {
    sent.iter().filter(|s| s.is_ok()).filter_map(|s| s.msg_id.as_deref())
}

/// One background harness JVM and its files (`<base>.jsonl` records, `.log` stdout+stderr,
/// `.stop`, `.ready`).
#[derive(Debug)]
pub(crate) struct Stream {
    command: String,
    instance: String,
    child: Mutex<Child>,
    /// The write end of the JVM's stdin (`--exit-on-stdin-eof`): closed when this process is gone.
    stdin: Option<ChildStdin>,
    exited: bool,
    out: PathBuf,
    log: PathBuf,
    stop_file: PathBuf,
    ready_file: PathBuf,
    /// Keep the files (a failed stop, a panicking thread, `FERRY_KEEP_RUN`).
    keep_files: bool,
}

impl Stream {
    /// Starts `build(args + stream options, out file)` in the background.
    pub(crate) fn spawn(
        mut args: Vec<String>,
        instance: String,
        build: impl FnOnce(Vec<String>, &std::path::Path) -> (std::process::Command, String),
    ) -> Result<Stream> {
        ensure_fetched()?;
        let base = temp_base(&args[0]);
        let with_ext = |ext: &str| {
            let mut p = base.clone().into_os_string();
            p.push(ext);
            PathBuf::from(p)
        };
        let (out, log, stop_file, ready_file) =
            (with_ext(".jsonl"), with_ext(".log"), with_ext(".stop"), with_ext(".ready"));
        for p in [&out, &stop_file, &ready_file] {
            let _ = std::fs::remove_file(p);
        }
        args.extend([
            "--stop-file".into(),
            stop_file.display().to_string(),
            "--ready-file".into(),
            ready_file.display().to_string(),
            "--exit-on-stdin-eof".into(),
        ]);
        let (mut cmd, command) = build(args, &out);
        let log_file = File::create(&log)?;
        cmd.stdin(Stdio::piped()).stdout(log_file.try_clone()?).stderr(log_file);
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        Ok(Stream {
            command,
            instance,
            child: Mutex::new(child),
            stdin,
            exited: false,
            out,
            log,
            stop_file,
            ready_file,
            keep_files: false,
        })
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn failure(&self, what: &str) -> Error {
        let status = self.child.lock().unwrap_or_else(|e| e.into_inner()).try_wait().ok().flatten();
        Error::Harness {
            command: self.command.clone(),
            status: status.and_then(|s| s.code()),
            stderr: format!("{} {what}\n{}", self.instance, self.log()),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(self.child.lock().unwrap_or_else(|e| e.into_inner()).try_wait(), Ok(None))
    }

    pub(crate) fn wait_ready(&self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(id) = std::fs::read_to_string(&self.ready_file) {
                return Ok(id.trim().to_string());
            }
            if !self.is_running() {
                return Err(self.failure("exited before it was ready"));
            }
            if Instant::now() >= deadline {
                return Err(self.failure(&format!("not ready within {timeout:?}")));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The complete lines written so far (a half-written last line is left for later).
    pub(crate) fn records<T>(&self, parse: fn(&Value) -> Result<T>) -> Result<Vec<T>> {
        let bytes = match std::fs::read(&self.out) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        parse_lines(&bytes)?.iter().map(parse).collect()
    }

    pub(crate) fn stop(&mut self, timeout: Duration) -> Result<()> {
        if self.exited {
            return Ok(());
        }
        File::create(&self.stop_file)?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.get_mut().unwrap_or_else(|e| e.into_inner()).try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(POLL);
        };
        self.exited = true;
        match status {
            Some(s) if s.success() => Ok(()),
            Some(s) => {
                self.keep_files = true;
                Err(Error::Harness {
                    command: self.command.clone(),
                    status: s.code(),
                    stderr: format!("{} exited with {s} when asked to stop\n{}", self.instance, self.log()),
                })
            }
            None => {
                self.keep_files = true;
                let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
                let _ = child.kill();
                let _ = child.wait();
                Err(Error::Harness {
                    command: self.command.clone(),
                    status: None,
                    stderr: format!(
                        "{} did not stop within {timeout:?}, killed\n{}",
                        self.instance,
                        self.log()
                    ),
                })
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if !self.exited {
            let _ = child.kill();
        }
        let _ = child.wait();
        drop(self.stdin.take());
        if self.keep_files || std::thread::panicking() || std::env::var_os("FERRY_KEEP_RUN").is_some() {
            return;
        }
        for p in [&self.out, &self.log, &self.stop_file, &self.ready_file] {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Parses the complete (`\n`-terminated) JSON lines of `bytes`; what follows the last `\n` is a
/// line still being written and is ignored.
fn parse_lines(bytes: &[u8]) -> Result<Vec<Value>> {
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..end],
        None => return Ok(Vec::new()),
    };
    complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|l| {
            serde_json::from_slice::<Value>(l)
                .map_err(|e| Error::Parse(format!("harness output {:?}: {e}", String::from_utf8_lossy(l))))
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Records
// ------------------------------------------------------------------------------------------------

/// One send of a produce-stream: successful (`error` is None) or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentRecord {
    /// The producer's client id (`ip@instance`).
    pub client_id: String,
    /// The unique message key, `<instance>-<n>`.
    pub key: String,
    /// `<instance>-k<i>` with ordered keys.
    pub order_key: Option<String>,
    /// Per order key sequence number (n without ordered keys). Failed sends use theirs up too.
    pub seq: i64,
    /// The producer's message counter.
    pub n: i64,
    /// The unique id (`UNIQ_KEY`) consumers see as msgId. Also set on a failed send when the client
    /// got as far as assigning it (such a send may have been stored all the same).
    pub msg_id: Option<String>,
    pub offset_msg_id: Option<String>,
    /// `SEND_OK`, or another status the broker answered (`FLUSH_DISK_TIMEOUT`, ...).
    pub status: Option<String>,
    pub broker_name: Option<String>,
    pub queue_id: Option<i32>,
    pub queue_offset: Option<i64>,
    /// The exception of a failed send.
    pub error: Option<String>,
    /// When the send returned (ms since the epoch) and how long it took.
    pub timestamp_ms: i64,
    pub elapsed_ms: i64,
}

impl SentRecord {
    /// The send returned a result (whatever its status): the message must be delivered.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    fn from_json(v: &Value) -> Result<Self> {
        Ok(SentRecord {
            client_id: req_str(v, "clientId")?,
            key: req_str(v, "key")?,
            order_key: opt_str(v, "orderKey"),
            seq: req_i64(v, "seq")?,
            n: req_i64(v, "n")?,
            msg_id: opt_str(v, "msgId"),
            offset_msg_id: opt_str(v, "offsetMsgId"),
            status: opt_str(v, "status"),
            broker_name: opt_str(v, "brokerName"),
            queue_id: opt_i64(v, "queueId").map(|q| q as i32),
            queue_offset: opt_i64(v, "queueOffset"),
            error: opt_str(v, "error"),
            timestamp_ms: req_i64(v, "timestamp")?,
            elapsed_ms: opt_i64(v, "elapsedMs").unwrap_or_default(),
        })
    }
}

/// One delivery to a consume-stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedRecord {
    /// The consumer's instance name.
    pub instance: String,
    pub msg_id: String,
    pub topic: String,
    pub key: Option<String>,
    pub order_key: Option<String>,
    pub seq: Option<i64>,
    /// The producing stream's instance name.
    pub producer: Option<String>,
    pub broker_name: Option<String>,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub reconsume_times: i32,
    /// `host:port` of the broker that stored the message.
    pub store_host: Option<String>,
    pub born_timestamp_ms: i64,
    pub store_timestamp_ms: i64,
    /// When the listener got it: ms and µs since the epoch (µs orders deliveries across instances).
    pub timestamp_ms: i64,
    pub timestamp_us: i64,
}

impl ReceivedRecord {
    fn from_json(v: &Value) -> Result<Self> {
        let timestamp_ms = req_i64(v, "timestamp")?;
        Ok(ReceivedRecord {
            instance: opt_str(v, "instance").unwrap_or_default(),
            msg_id: req_str(v, "msgId")?,
            topic: req_str(v, "topic")?,
            key: opt_str(v, "key"),
            order_key: opt_str(v, "orderKey"),
            seq: opt_i64(v, "seq"),
            producer: opt_str(v, "producer"),
            broker_name: opt_str(v, "brokerName"),
            queue_id: req_i64(v, "queueId")? as i32,
            queue_offset: req_i64(v, "queueOffset")?,
            reconsume_times: req_i64(v, "reconsumeTimes")? as i32,
            store_host: opt_str(v, "storeHost"),
            born_timestamp_ms: opt_i64(v, "bornTimestamp").unwrap_or_default(),
            store_timestamp_ms: opt_i64(v, "storeTimestamp").unwrap_or_default(),
            timestamp_ms,
            timestamp_us: opt_i64(v, "timestampUs").unwrap_or(timestamp_ms * 1000),
        })
    }
}

fn opt_i64(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

// ------------------------------------------------------------------------------------------------
// Delivery report
// ------------------------------------------------------------------------------------------------

/// What each consumer group got of what the producers sent. See [`delivery_report`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Sends that returned a result / that failed.
    pub sent_ok: usize,
    pub send_failures: usize,
    /// Successful sends per broker name.
    pub sent_per_broker: BTreeMap<String, usize>,
    pub groups: Vec<GroupReport>,
}

/// One consumer group (all its instances together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupReport {
    pub group: String,
    pub deliveries: usize,
    /// Distinct msgIds delivered.
    pub distinct: usize,
    /// Deliveries per consumer instance.
    pub per_instance: BTreeMap<String, usize>,
    /// msgIds of successful sends never delivered, in send order.
    pub missing: Vec<String>,
    /// Deliveries beyond the first of their msgId.
    pub duplicates: usize,
    /// Ordered deliveries whose (order key, seq) had been delivered already, or that the broker
    /// marked as redelivered (reconsumeTimes > 0): legitimate repeats, e.g. after a rebalance from
    /// the last committed offset.
    pub redeliveries: usize,
    /// Ordered deliveries whose seq was below the highest seq already delivered for the order key,
    /// and that were neither a repeat of a seq already delivered nor marked as redelivered.
    pub out_of_order: Vec<OutOfOrder>,
    /// Distinct msgIds delivered whose send had failed (a timed-out send may be stored).
    pub from_failed_sends: usize,
    /// Distinct msgIds delivered that no record in `sent` has.
    pub unexpected: usize,
}

/// A delivery that broke the order of its order key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutOfOrder {
    pub order_key: String,
    pub seq: i64,
    /// The highest seq of the order key delivered before it.
    pub after_seq: i64,
    pub msg_id: String,
    pub instance: String,
    pub timestamp_us: i64,
}

impl DeliveryReport {
    pub fn group(&self, name: &str) -> Option<&GroupReport> {
        self.groups.iter().find(|g| g.group == name)
    }

    /// Every group got every successful send at least once.
    pub fn all_delivered(&self) -> bool {
        self.groups.iter().all(|g| g.missing.is_empty())
    }

    /// No group saw an order key go backwards (other than redeliveries).
    pub fn in_order(&self) -> bool {
        self.groups.iter().all(|g| g.out_of_order.is_empty())
    }
}

/// Compares the sends of one or more produce-streams with the deliveries of each consumer group
/// (`(group name, deliveries of all its instances)`; the order of the records does not matter).
///
/// Per group: successful sends never delivered (`missing`), deliveries beyond the first of a msgId
/// (`duplicates`), and, for records that carry an order key and seq, order: deliveries of the
/// group are put in time order (µs timestamps; within one instance that is file order) and, per
/// order key, a delivery whose seq is below the highest seq already delivered is out of order
/// unless it repeats a seq already delivered or has reconsumeTimes > 0 (both counted as
/// `redeliveries`).
pub fn delivery_report(
    sent: &[SentRecord],
    received_by_group: &[(&str, &[ReceivedRecord])],
) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let mut ok_ids = HashSet::new();
    let mut failed_ids = HashSet::new();
    for s in sent {
        if s.is_ok() {
            report.sent_ok += 1;
            *report.sent_per_broker.entry(s.broker_name.clone().unwrap_or_default()).or_default() += 1;
            ok_ids.extend(s.msg_id.as_deref());
        } else {
            report.send_failures += 1;
            failed_ids.extend(s.msg_id.as_deref());
        }
    }
    for (group, received) in received_by_group {
        let mut g =
            GroupReport { group: group.to_string(), deliveries: received.len(), ..Default::default() };
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for r in received.iter() {
            *counts.entry(r.msg_id.as_str()).or_default() += 1;
            *g.per_instance.entry(r.instance.clone()).or_default() += 1;
        }
        g.distinct = counts.len();
        g.duplicates = received.len() - counts.len();
        g.missing = sent_ok_ids(sent).filter(|id| !counts.contains_key(id)).map(str::to_string).collect();
        for id in counts.keys() {
            if failed_ids.contains(id) && !ok_ids.contains(id) {
                g.from_failed_sends += 1;
            } else if !ok_ids.contains(id) {
                g.unexpected += 1;
            }
        }

        let mut ordered: Vec<&ReceivedRecord> =
            received.iter().filter(|r| r.order_key.is_some() && r.seq.is_some()).collect();
        ordered.sort_by_key(|r| r.timestamp_us); // stable: ties keep their input order
        struct KeyState {
            highest: i64,
            seen: HashSet<i64>,
        }
        let mut keys: HashMap<&str, KeyState> = HashMap::new();
        for r in ordered {
            let (Some(key), Some(seq)) = (r.order_key.as_deref(), r.seq) else { continue };
            let st = keys.entry(key).or_insert_with(|| KeyState { highest: i64::MIN, seen: HashSet::new() });
            let first_time = st.seen.insert(seq);
            if !first_time || (seq < st.highest && r.reconsume_times > 0) {
                g.redeliveries += 1;
            } else if seq < st.highest {
                g.out_of_order.push(OutOfOrder {
                    order_key: key.to_string(),
                    seq,
                    after_seq: st.highest,
                    msg_id: r.msg_id.clone(),
                    instance: r.instance.clone(),
                    timestamp_us: r.timestamp_us,
                });
            } else {
                st.highest = seq;
            }
        }
        report.groups.push(g);
    }
    report
}

/// How many ids / cases the report prints in full.
const SHOWN: usize = 10;

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sent: {} ok, {} failed", self.sent_ok, self.send_failures)?;
        if !self.sent_per_broker.is_empty() {
            let per: Vec<String> = self.sent_per_broker.iter().map(|(b, n)| format!("{b}={n}")).collect();
            write!(f, " (ok per broker: {})", per.join(" "))?;
        }
        for g in &self.groups {
            write!(
                f,
                "\ngroup {}: {} deliveries, {} distinct, {} missing, {} duplicates, {} redeliveries, {} out of order",
                g.group,
                g.deliveries,
                g.distinct,
                g.missing.len(),
                g.duplicates,
                g.redeliveries,
                g.out_of_order.len()
            )?;
            if g.from_failed_sends > 0 || g.unexpected > 0 {
                write!(f, ", {} from failed sends, {} unexpected", g.from_failed_sends, g.unexpected)?;
            }
            let per: Vec<String> = g.per_instance.iter().map(|(i, n)| format!("{i}={n}")).collect();
            write!(f, "\n  per instance: {}", per.join(" "))?;
            if !g.missing.is_empty() {
                let shown: Vec<&str> = g.missing.iter().take(SHOWN).map(String::as_str).collect();
                write!(f, "\n  missing: {}{}", shown.join(" "), more(g.missing.len()))?;
            }
            for o in g.out_of_order.iter().take(SHOWN) {
                write!(
                    f,
                    "\n  out of order: {} seq {} after seq {} (msgId {}, instance {}, at {} us)",
                    o.order_key, o.seq, o.after_seq, o.msg_id, o.instance, o.timestamp_us
                )?;
            }
            if g.out_of_order.len() > SHOWN {
                write!(f, "\n  ... {} more out of order", g.out_of_order.len() - SHOWN)?;
            }
        }
        Ok(())
    }
}

fn more(n: usize) -> String {
    if n > SHOWN {
        format!(" ... ({} more)", n - SHOWN)
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(id: &str, key: &str, seq: i64) -> SentRecord {
        SentRecord {
            client_id: "127.0.0.1@p".into(),
            key: format!("p-{id}"),
            order_key: Some(key.into()),
            seq,
            msg_id: Some(id.into()),
            status: Some("SEND_OK".into()),
            broker_name: Some("b1".into()),
            ..Default::default()
        }
    }

    fn failed(id: Option<&str>, key: &str, seq: i64) -> SentRecord {
        SentRecord {
            msg_id: id.map(str::to_string),
            status: None,
            broker_name: None,
            error: Some("RemotingTooMuchRequestException".into()),
            ..sent("", key, seq)
        }
    }

    /// A delivery at time `t` (µs) to `instance`.
    fn got(id: &str, key: &str, seq: i64, t: i64, instance: &str) -> ReceivedRecord {
        ReceivedRecord {
            instance: instance.into(),
            msg_id: id.into(),
            topic: "t".into(),
            order_key: Some(key.into()),
            seq: Some(seq),
            timestamp_us: t,
            ..Default::default()
        }
    }

    #[test]
    fn clean_stream() {
        let s = vec![sent("a", "k0", 0), sent("b", "k1", 0), sent("c", "k0", 1)];
        let r = vec![got("a", "k0", 0, 1, "c1"), got("b", "k1", 0, 2, "c2"), got("c", "k0", 1, 3, "c1")];
        let report = delivery_report(&s, &[("g", &r)]);
        assert!(report.all_delivered() && report.in_order(), "{report}");
        let g = report.group("g").unwrap();
        assert_eq!((g.deliveries, g.distinct, g.duplicates, g.redeliveries), (3, 3, 0, 0));
        assert_eq!(g.per_instance, BTreeMap::from([("c1".into(), 2), ("c2".into(), 1)]));
        assert_eq!(report.sent_ok, 3);
        assert_eq!(report.sent_per_broker, BTreeMap::from([("b1".into(), 3)]));
    }

    #[test]
    fn missing_per_group_and_failed_sends_not_required() {
        let s =
            vec![sent("a", "k0", 0), failed(Some("x"), "k0", 1), failed(None, "k0", 2), sent("b", "k0", 3)];
        let g1 = vec![got("a", "k0", 0, 1, "c1"), got("b", "k0", 3, 2, "c1")];
        let g2 = vec![got("a", "k0", 0, 1, "d1"), got("x", "k0", 1, 2, "d1"), got("zz", "k9", 0, 3, "d1")];
        let report = delivery_report(&s, &[("g1", &g1), ("g2", &g2)]);
        assert_eq!((report.sent_ok, report.send_failures), (2, 2));
        assert!(report.group("g1").unwrap().missing.is_empty());
        let g2r = report.group("g2").unwrap();
        assert_eq!(g2r.missing, vec!["b".to_string()]);
        assert_eq!((g2r.from_failed_sends, g2r.unexpected), (1, 1));
        assert!(!report.all_delivered());
        assert!(report.in_order(), "gaps in seq (failed sends) are not disorder: {report}");
        let text = report.to_string();
        assert!(text.contains("group g2:") && text.contains("missing: b"), "{text}");
    }

    #[test]
    fn duplicates_and_redeliveries_after_a_rebalance() {
        // c1 consumed 0..=2 of k0, then the queue moved to c2, which restarted from the committed
        // offset (seq 1): 1 and 2 again, then 3.
        let s: Vec<SentRecord> = (0..4).map(|i| sent(&format!("m{i}"), "k0", i)).collect();
        let r = vec![
            got("m0", "k0", 0, 10, "c1"),
            got("m1", "k0", 1, 20, "c1"),
            got("m2", "k0", 2, 30, "c1"),
            got("m1", "k0", 1, 40, "c2"),
            got("m2", "k0", 2, 50, "c2"),
            got("m3", "k0", 3, 60, "c2"),
        ];
        let report = delivery_report(&s, &[("g", &r)]);
        let g = report.group("g").unwrap();
        assert!(report.all_delivered() && report.in_order(), "{report}");
        assert_eq!((g.duplicates, g.redeliveries, g.distinct), (2, 2, 4));
    }

    #[test]
    fn out_of_order_key() {
        // k0: 0, 2, then 1 for the first time: out of order. k1 is fine.
        let s = vec![sent("a", "k0", 0), sent("b", "k0", 1), sent("c", "k0", 2), sent("d", "k1", 0)];
        // Given out of time order on purpose: the report sorts by timestamp.
        let r = vec![
            got("b", "k0", 1, 30, "c2"),
            got("a", "k0", 0, 10, "c1"),
            got("c", "k0", 2, 20, "c1"),
            got("d", "k1", 0, 25, "c2"),
        ];
        let report = delivery_report(&s, &[("g", &r)]);
        assert!(report.all_delivered());
        assert!(!report.in_order());
        let g = report.group("g").unwrap();
        assert_eq!(
            g.out_of_order,
            vec![OutOfOrder {
                order_key: "k0".into(),
                seq: 1,
                after_seq: 2,
                msg_id: "b".into(),
                instance: "c2".into(),
                timestamp_us: 30,
            }]
        );
        assert_eq!(g.redeliveries, 0);
        assert!(report.to_string().contains("out of order: k0 seq 1 after seq 2"), "{report}");
    }

    #[test]
    fn marked_redelivery_of_an_unseen_seq_is_not_disorder() {
        let s = vec![sent("a", "k0", 0), sent("b", "k0", 1)];
        let mut late = got("a", "k0", 0, 20, "c2");
        late.reconsume_times = 1;
        let r = vec![got("b", "k0", 1, 10, "c1"), late];
        let report = delivery_report(&s, &[("g", &r)]);
        assert!(report.in_order(), "{report}");
        assert_eq!(report.group("g").unwrap().redeliveries, 1);
    }

    #[test]
    fn unordered_records_only_count_delivery() {
        let s = vec![
            SentRecord { order_key: None, ..sent("a", "", 5) },
            SentRecord { order_key: None, ..sent("b", "", 6) },
        ];
        let r = vec![
            ReceivedRecord { order_key: None, ..got("b", "", 6, 1, "c1") },
            ReceivedRecord { order_key: None, ..got("a", "", 5, 2, "c1") },
            ReceivedRecord { order_key: None, ..got("a", "", 5, 3, "c1") },
        ];
        let report = delivery_report(&s, &[("g", &r)]);
        let g = report.group("g").unwrap();
        assert!(report.all_delivered() && report.in_order());
        assert_eq!((g.duplicates, g.redeliveries), (1, 0));
    }

    #[test]
    fn parses_records_and_skips_a_half_written_line() {
        let text = concat!(
            r#"{"clientId":"1.2.3.4@p","key":"p-0","orderKey":"p-k0","seq":0,"n":0,"msgId":"ID0","offsetMsgId":"O","status":"SEND_OK","brokerName":"b","queueId":2,"queueOffset":7,"timestamp":1000,"elapsedMs":3}"#,
            "\n",
            r#"{"clientId":"1.2.3.4@p","key":"p-1","orderKey":null,"seq":1,"n":1,"msgId":null,"error":"boom","timestamp":1001,"elapsedMs":3000}"#,
            "\n",
            r#"{"clientId":"1.2.3.4@p","key":"p-2","ord"#
        );
        let values = parse_lines(text.as_bytes()).unwrap();
        let recs: Vec<SentRecord> = values.iter().map(SentRecord::from_json).collect::<Result<_>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert!(recs[0].is_ok() && !recs[1].is_ok());
        assert_eq!(recs[0].queue_id, Some(2));
        assert_eq!(recs[0].order_key.as_deref(), Some("p-k0"));
        assert_eq!((recs[1].msg_id.as_deref(), recs[1].error.as_deref()), (None, Some("boom")));
        assert!(parse_lines(b"{\"a\":").unwrap().is_empty());
        assert!(parse_lines(b"not json\n").is_err());

        let line = r#"{"instance":"c1","msgId":"ID0","topic":"t","key":"p-0","orderKey":"p-k0","seq":0,"producer":"p","brokerName":"b","queueId":2,"queueOffset":7,"reconsumeTimes":0,"storeHost":"127.0.0.1:10911","bornTimestamp":1,"storeTimestamp":2,"timestamp":3,"timestampUs":3001}"#;
        let r = ReceivedRecord::from_json(&serde_json::from_str(line).unwrap()).unwrap();
        assert_eq!(r.timestamp_us, 3001);
        assert_eq!(r.store_host.as_deref(), Some("127.0.0.1:10911"));
        assert_eq!(r.seq, Some(0));
    }
}
