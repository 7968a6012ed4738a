//! 5.x gRPC clients: the Apache RocketMQ Proxy in cluster mode ([`GrpcProxy`], started by
//! `testkit/rocketmq.sh proxy-start`) and the gRPC harness ([`GrpcHarness`], `testkit/harness-grpc`,
//! the official `rocketmq-client-java` from apache/rocketmq-clients: a Producer, SimpleConsumers,
//! PushConsumers) talking to it.
//!
//! The Proxy is a remoting client of the brokers through the NameServer it is given: give it
//! Ferry's front and its calls go through Ferry's relays (docs/protocol-notes.md, section 13).
//!
//! ```no_run
//! use std::time::Duration;
//! use ferry_testkit::{GrpcHarness, GrpcProduce, GrpcProxy, RocketMqVersion, SimpleConsume};
//!
//! let proxy = GrpcProxy::start("127.0.0.1:9876", "DefaultCluster", RocketMqVersion::V5_3_3)?;
//! let h = GrpcHarness::new(proxy.endpoint());
//! let c = h.simple_consume(&SimpleConsume::new("orders", "billing"))?;
//! c.wait_ready(Duration::from_secs(30))?;
//! let p = h.produce_stream(&GrpcProduce::new("orders").rate(20))?;
//! std::thread::sleep(Duration::from_secs(10));
//! let sent = p.stop()?;
//! let received = c.stop()?;
//! # Ok::<(), ferry_testkit::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::cluster::{
    ensure_fetched, parse_env, pick_ports_for, run_dir, run_script, script_command, RocketMqVersion,
    EXIT_PORT_BUSY, PORT_ATTEMPTS,
};
use crate::error::{Error, Result};
use crate::traffic::Stream;

/// How the Proxy is started. `GrpcProxySpec::new(namesrv)`: version 5.3.3, cluster name
/// `DefaultCluster`, routes refreshed every second (the Proxy's default is 20 s:
/// `topicRouteServiceCacheRefreshSeconds`, proxy/.../config/ProxyConfig.java @ rocketmq-all-5.3.3).
#[derive(Debug, Clone)]
pub struct GrpcProxySpec {
    pub namesrv: String,
    pub version: RocketMqVersion,
    /// `rocketMQClusterName`: the Proxy reads the route of the topic named after it for
    /// transactional producers' heartbeats.
    pub cluster_name: String,
    /// Further `rmq-proxy.json` fields, each value as JSON (`5`, `true`, `"text"`).
    pub props: Vec<(String, String)>,
}

impl GrpcProxySpec {
    pub fn new(namesrv: impl Into<String>) -> Self {
        GrpcProxySpec {
            namesrv: namesrv.into(),
            version: RocketMqVersion::V5_3_3,
            cluster_name: "DefaultCluster".into(),
            props: vec![("topicRouteServiceCacheRefreshSeconds".into(), "1".into())],
        }
    }

    pub fn version(mut self, version: RocketMqVersion) -> Self {
        self.version = version;
        self
    }

    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = name.into();
        self
    }

    /// Sets an `rmq-proxy.json` field (value as JSON), replacing an earlier one of that name.
    pub fn prop(mut self, key: impl Into<String>, json_value: impl Into<String>) -> Self {
        let key = key.into();
        self.props.retain(|(k, _)| *k != key);
        self.props.push((key, json_value.into()));
        self
    }
}

/// A running Apache RocketMQ Proxy (cluster mode); stopped when dropped. A watchdog also stops it
/// when the test process is gone.
#[derive(Debug)]
pub struct GrpcProxy {
    instance: String,
    endpoint: String,
    remoting: String,
    info: HashMap<String, String>,
    stopped: bool,
}

impl GrpcProxy {
    /// A Proxy of `version` whose NameServer is `namesrv`, on free loopback ports. `cluster` must
    /// be a cluster that NameServer knows: the Proxy creates its system topic
    /// `DefaultHeartBeatSyncerTopic` there at start and exits if it cannot
    /// (proxy/.../service/sysmessage/AbstractSystemMessageSyncer.java L143-173 @ rocketmq-all-5.3.3).
    pub fn start(namesrv: &str, cluster: &str, version: RocketMqVersion) -> Result<GrpcProxy> {
        GrpcProxy::start_with(GrpcProxySpec::new(namesrv).cluster_name(cluster).version(version))
    }

    pub fn start_with(spec: GrpcProxySpec) -> Result<GrpcProxy> {
        if !spec.version.is_5x() {
            return Err(Error::Parse(format!("the Proxy exists from 5.0 on, not in {}", spec.version)));
        }
        ensure_fetched()?;
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let instance =
            format!("proxy-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut last_err = None;
        for _ in 0..PORT_ATTEMPTS {
            let (ports, _) = pick_ports_for(2, 0);
            let mut args: Vec<String> = vec![
                "proxy-start".into(),
                instance.clone(),
                "--version".into(),
                spec.version.as_str().into(),
                "--namesrv".into(),
                spec.namesrv.clone(),
                "--grpc-port".into(),
                ports[0].to_string(),
                "--remoting-port".into(),
                ports[1].to_string(),
                "--cluster-name".into(),
                spec.cluster_name.clone(),
                "--watch-pid".into(),
                std::process::id().to_string(),
            ];
            for (k, v) in &spec.props {
                args.extend(["--prop".into(), format!("{k}={v}")]);
            }
            match run_script(&args) {
                Ok(stdout) => {
                    let info = parse_env(&stdout);
                    let get = |k: &str| {
                        info.get(k).cloned().ok_or_else(|| {
                            Error::Parse(format!("`rocketmq.sh proxy-start` printed no {k}=\n{stdout}"))
                        })
                    };
                    return Ok(GrpcProxy {
                        endpoint: get("GRPC")?,
                        remoting: get("REMOTING")?,
                        instance,
                        info,
                        stopped: false,
                    });
                }
                Err(e @ Error::Script { status: Some(EXIT_PORT_BUSY), .. }) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    /// `127.0.0.1:<port>` of the gRPC server: what gRPC clients are given as their endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `127.0.0.1:<port>` of the Proxy's own remoting server (for remoting clients of the Proxy).
    pub fn remoting_addr(&self) -> &str {
        &self.remoting
    }

    /// The Proxy's logs (`proxy.log` and others).
    pub fn log_dir(&self) -> PathBuf {
        PathBuf::from(self.info.get("PROXY_LOGS").cloned().unwrap_or_default())
    }

    pub fn instance_dir(&self) -> PathBuf {
        run_dir().join(&self.instance)
    }

    pub fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        run_script(&["stop".to_string(), self.instance.clone()]).map(|_| ())
    }
}

impl Drop for GrpcProxy {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("ferry-testkit: stopping {}: {e}", self.instance);
            return;
        }
        if !std::thread::panicking() && std::env::var_os("FERRY_KEEP_RUN").is_none() {
            let _ = std::fs::remove_dir_all(self.instance_dir());
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The gRPC harness
// ------------------------------------------------------------------------------------------------

const STREAM_HEAP: &str = "-Xmx128m";
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The gRPC harness pointed at a Proxy's gRPC endpoint.
#[derive(Debug, Clone)]
pub struct GrpcHarness {
    endpoint: String,
}

/// A gRPC `Producer` sending until stopped: message n has key `<instance>-<n>`; with
/// `.fifo_groups(k)`, message group `<instance>-g<n % k>` (the topic must be a FIFO topic).
#[derive(Debug, Clone, Default)]
pub struct GrpcProduce {
    pub topic: String,
    /// Messages per second (default 20); 0: as fast as the Proxy answers.
    pub rate: Option<u32>,
    pub fifo_groups: Option<usize>,
    pub instance: Option<String>,
}

impl GrpcProduce {
    pub fn new(topic: impl Into<String>) -> Self {
        GrpcProduce { topic: topic.into(), ..Default::default() }
    }

    pub fn rate(mut self, per_second: u32) -> Self {
        self.rate = Some(per_second);
        self
    }

    pub fn fifo_groups(mut self, groups: usize) -> Self {
        self.fifo_groups = Some(groups);
        self
    }

    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }
}

/// A gRPC `SimpleConsumer` of one group: receives (up to 16 at a time, invisible for 20 s) and
/// acks every message. Counting the messages it receives for the first time, it can leave every
/// Nth unacked ([`SimpleConsume::skip_ack_every`]) and extend every Mth
/// ([`SimpleConsume::extend_every`]).
#[derive(Debug, Clone, Default)]
pub struct SimpleConsume {
    pub topic: String,
    pub group: String,
    pub invisible_secs: Option<u64>,
    pub await_secs: Option<u64>,
    /// Ack each message this long after receiving it (meanwhile it is handed out, not acked).
    pub ack_delay_ms: Option<u64>,
    pub skip_ack_every: Option<u64>,
    pub extend_every: Option<u64>,
    /// The invisible duration an extended message is given (default 3 x the invisible time).
    pub extend_secs: Option<u64>,
    pub instance: Option<String>,
}

impl SimpleConsume {
    pub fn new(topic: impl Into<String>, group: impl Into<String>) -> Self {
        SimpleConsume { topic: topic.into(), group: group.into(), ..Default::default() }
    }

    /// How long a received message stays invisible before the broker hands it out again.
    pub fn invisible_secs(mut self, secs: u64) -> Self {
        self.invisible_secs = Some(secs);
        self
    }

    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    /// Acks each message `ms` after receiving it (keep it below the invisible time).
    pub fn ack_delay_ms(mut self, ms: u64) -> Self {
        self.ack_delay_ms = Some(ms);
        self
    }

    /// Leaves every `n`th message received for the first time unacked (recorded at once with
    /// `skipped`, `acked: false`): the broker hands it out again after its invisible time, and
    /// that delivery is acked.
    pub fn skip_ack_every(mut self, n: u64) -> Self {
        self.skip_ack_every = Some(n);
        self
    }

    /// Every `m`th message received for the first time (and not skipped) gets
    /// `changeInvisibleDuration(extend_secs)` at once and is acked once its first invisible time
    /// has passed (invisible + 2 s): only the extension keeps it from coming back meanwhile.
    /// Recorded with `extended` (and `extend_error` if the change failed).
    pub fn extend_every(mut self, m: u64) -> Self {
        self.extend_every = Some(m);
        self
    }

    /// The invisible duration [`SimpleConsume::extend_every`] sets (more than invisible + 4 s).
    pub fn extend_secs(mut self, secs: u64) -> Self {
        self.extend_secs = Some(secs);
        self
    }
}

/// A gRPC `PushConsumer` of one group whose listener succeeds for every message (recorded as
/// [`GrpcReceived`] with `acked: true`, meaning the listener's `SUCCESS`: the client acks after it
/// and retries a failed ack by itself, so a lost ack shows only as a redelivery).
#[derive(Debug, Clone, Default)]
pub struct PushConsume {
    pub topic: String,
    pub group: String,
    /// Consumption threads (default 4).
    pub threads: Option<usize>,
    pub instance: Option<String>,
}

impl PushConsume {
    pub fn new(topic: impl Into<String>, group: impl Into<String>) -> Self {
        PushConsume { topic: topic.into(), group: group.into(), ..Default::default() }
    }

    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }
}

/// One send of a gRPC producer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GrpcSent {
    pub instance: String,
    pub key: String,
    pub n: u64,
    pub message_group: Option<String>,
    /// The message id when the send succeeded.
    pub msg_id: Option<String>,
    pub error: Option<String>,
    pub timestamp: i64,
    pub elapsed_ms: i64,
}

impl GrpcSent {
    pub fn is_ok(&self) -> bool {
        self.msg_id.is_some()
    }
}

/// One delivery to a SimpleConsumer or PushConsumer, and whether its ack succeeded.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GrpcReceived {
    pub instance: String,
    pub group: String,
    pub msg_id: String,
    pub key: Option<String>,
    pub producer: Option<String>,
    pub n: Option<u64>,
    pub message_group: Option<String>,
    /// 1 for a first delivery.
    pub delivery_attempt: u32,
    pub acked: bool,
    pub ack_error: Option<String>,
    /// Left unacked on purpose ([`SimpleConsume::skip_ack_every`]).
    #[serde(default)]
    pub skipped: bool,
    /// Extended, then acked ([`SimpleConsume::extend_every`]).
    #[serde(default)]
    pub extended: bool,
    #[serde(default)]
    pub extend_error: Option<String>,
    pub timestamp_us: i64,
}

impl GrpcHarness {
    pub fn new(endpoint: impl Into<String>) -> Self {
        GrpcHarness { endpoint: endpoint.into() }
    }

    fn command(&self, mut args: Vec<String>, out: &Path) -> (Command, String) {
        let line = args.join(" ");
        args.splice(
            1..1,
            ["--endpoint".to_string(), self.endpoint.clone(), "--out".into(), out.display().to_string()],
        );
        let mut all = vec!["harness-grpc".to_string()];
        all.extend(args);
        let mut cmd = script_command(&all);
        cmd.env("FERRY_HARNESS_JAVA_OPTS", STREAM_HEAP);
        (cmd, line)
    }

    /// Starts a gRPC producer JVM in the background; it sends until [`RunningGrpc::stop`].
    pub fn produce_stream(&self, p: &GrpcProduce) -> Result<RunningGrpc<GrpcSent>> {
        let instance = p.instance.clone().unwrap_or_else(|| default_instance("grpc-producer"));
        let mut args = vec!["produce-stream".to_string(), "--topic".into(), p.topic.clone()];
        args.extend(["--instance".into(), instance.clone()]);
        if let Some(r) = p.rate {
            args.extend(["--rate".into(), r.to_string()]);
        }
        if let Some(k) = p.fifo_groups {
            args.extend(["--fifo-groups".into(), k.to_string()]);
        }
        Ok(RunningGrpc {
            stream: Stream::spawn(args, instance, |a, out| self.command(a, out))?,
            parse: parse_as,
        })
    }

    /// Starts a SimpleConsumer JVM in the background; it receives and acks until
    /// [`RunningGrpc::stop`].
    pub fn simple_consume(&self, c: &SimpleConsume) -> Result<RunningGrpc<GrpcReceived>> {
        let instance = c.instance.clone().unwrap_or_else(|| default_instance("grpc-consumer"));
        let mut args = vec!["simple-consume".to_string(), "--topic".into(), c.topic.clone()];
        args.extend(["--group".into(), c.group.clone(), "--instance".into(), instance.clone()]);
        if let Some(s) = c.invisible_secs {
            args.extend(["--invisible-secs".into(), s.to_string()]);
        }
        if let Some(s) = c.await_secs {
            args.extend(["--await-secs".into(), s.to_string()]);
        }
        if let Some(ms) = c.ack_delay_ms {
            args.extend(["--ack-delay-ms".into(), ms.to_string()]);
        }
        if let Some(n) = c.skip_ack_every {
            args.extend(["--skip-ack-every".into(), n.to_string()]);
        }
        if let Some(m) = c.extend_every {
            args.extend(["--extend-every".into(), m.to_string()]);
        }
        if let Some(s) = c.extend_secs {
            args.extend(["--extend-secs".into(), s.to_string()]);
        }
        Ok(RunningGrpc {
            stream: Stream::spawn(args, instance, |a, out| self.command(a, out))?,
            parse: parse_as,
        })
    }

    /// Starts a PushConsumer JVM in the background; it consumes until [`RunningGrpc::stop`].
    pub fn push_consume(&self, c: &PushConsume) -> Result<RunningGrpc<GrpcReceived>> {
        let instance = c.instance.clone().unwrap_or_else(|| default_instance("grpc-push-consumer"));
        let mut args = vec!["push-consume".to_string(), "--topic".into(), c.topic.clone()];
        args.extend(["--group".into(), c.group.clone(), "--instance".into(), instance.clone()]);
        if let Some(n) = c.threads {
            args.extend(["--threads".into(), n.to_string()]);
        }
        Ok(RunningGrpc {
            stream: Stream::spawn(args, instance, |a, out| self.command(a, out))?,
            parse: parse_as,
        })
    }
}

fn default_instance(role: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("ferry-{role}-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn parse_as<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| Error::Parse(format!("gRPC harness output {v}: {e}")))
}

/// A gRPC harness JVM running in the background, recording `T` per line. Dropping it kills the
/// JVM.
#[derive(Debug)]
pub struct RunningGrpc<T> {
    stream: Stream,
    parse: fn(&Value) -> Result<T>,
}

impl<T> RunningGrpc<T> {
    /// Waits until the client started (its id is returned).
    pub fn wait_ready(&self, timeout: Duration) -> Result<String> {
        self.stream.wait_ready(timeout)
    }

    pub fn is_running(&self) -> bool {
        self.stream.is_running()
    }

    /// The records so far.
    pub fn records(&self) -> Result<Vec<T>> {
        self.stream.records(self.parse)
    }

    /// The JVM's stdout and stderr so far.
    pub fn log(&self) -> String {
        self.stream.log()
    }

    /// Asks the JVM to finish, waits up to 30 s, and returns every record.
    pub fn stop(mut self) -> Result<Vec<T>> {
        self.stream.stop(DEFAULT_STOP_TIMEOUT)?;
        self.stream.records(self.parse)
    }
}

/// What one group of SimpleConsumers (or PushConsumers) got of the successful sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrpcGroupReport {
    /// Successful sends never received and acked.
    pub missing: Vec<String>,
    /// Deliveries beyond the first of a message (after an invisible time ran out).
    pub redeliveries: usize,
    /// Acks that failed, by error text, with how many.
    pub ack_errors: BTreeMap<String, usize>,
    /// Deliveries left unacked on purpose ([`SimpleConsume::skip_ack_every`]).
    pub skipped: usize,
    /// Deliveries extended, then acked ([`SimpleConsume::extend_every`]), and how many of those
    /// messages were delivered again all the same.
    pub extended: usize,
    pub extended_redelivered: usize,
    /// Failed `changeInvisibleDuration`s, by error text, with how many.
    pub extend_errors: BTreeMap<String, usize>,
    /// Messages received at least once, and acked at least once.
    pub received: usize,
    pub acked: usize,
    /// First deliveries of a FIFO message group (per producer and group, in the order the
    /// consumers recorded them) that came after a later message of the same group.
    pub out_of_order: usize,
}

/// Per message id of a successful send: was it received and acked by some consumer of the group.
pub fn grpc_group_report(sent: &[GrpcSent], received: &[GrpcReceived]) -> GrpcGroupReport {
    let mut seen: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    let (mut ack_errors, mut extend_errors) = (BTreeMap::new(), BTreeMap::new());
    let mut extended_ids = BTreeSet::new();
    for r in received {
        let e = seen.entry(r.msg_id.as_str()).or_default();
        e.0 += 1;
        e.1 |= r.acked;
        if let Some(err) = &r.ack_error {
            *ack_errors.entry(err.clone()).or_insert(0) += 1;
        }
        if let Some(err) = &r.extend_error {
            *extend_errors.entry(err.clone()).or_insert(0) += 1;
        }
        if r.extended {
            extended_ids.insert(r.msg_id.as_str());
        }
    }
    let ok: BTreeSet<&str> = sent.iter().filter_map(|s| s.msg_id.as_deref()).collect();
    let mut firsts: Vec<&GrpcReceived> = Vec::new();
    let mut first_seen = BTreeSet::new();
    let mut by_time: Vec<&GrpcReceived> = received.iter().collect();
    by_time.sort_by_key(|r| r.timestamp_us);
    for r in by_time {
        if first_seen.insert(r.msg_id.as_str()) {
            firsts.push(r);
        }
    }
    let mut highest: HashMap<(&str, &str), u64> = HashMap::new();
    let mut out_of_order = 0;
    for r in firsts {
        let (Some(group), Some(producer), Some(n)) = (r.message_group.as_deref(), r.producer.as_deref(), r.n)
        else {
            continue;
        };
        let h = highest.entry((producer, group)).or_insert(n);
        if n < *h {
            out_of_order += 1;
        }
        *h = (*h).max(n);
    }
    GrpcGroupReport {
        out_of_order,
        missing: ok.iter().filter(|id| !seen.get(*id).is_some_and(|e| e.1)).map(|s| s.to_string()).collect(),
        redeliveries: seen.values().map(|e| e.0.saturating_sub(1)).sum(),
        ack_errors,
        skipped: received.iter().filter(|r| r.skipped).count(),
        extended: received.iter().filter(|r| r.extended).count(),
        extended_redelivered: extended_ids.iter().filter(|id| seen.get(*id).is_some_and(|e| e.0 > 1)).count(),
        extend_errors,
        received: seen.len(),
        acked: seen.values().filter(|e| e.1).count(),
    }
}
