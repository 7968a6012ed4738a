use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::harness::{Credentials, Harness};

/// The RocketMQ releases the testkit can run (each has a pom in `testkit/poms/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum RocketMqVersion {
    /// The 4.9 line as published: the 4.9.8 client, tools, ACL, common, remoting and store jars with
    /// the 4.9.7 namesrv and broker jars, because 4.9.8 never put those two on Maven Central (see
    /// `testkit/poms/rocketmq-4.9.8.xml`). Reports version 4.9.8 on the wire; ACL 1.0.
    V4_9_8,
    /// The pure 4.9.7 release (the newest 4.x whose namesrv and broker are on Maven Central).
    V4_9_7,
    /// 5.3.3: honours a configured broker port; ACL 2.0 (users and policies).
    V5_3_3,
}

impl RocketMqVersion {
    /// The version string the script and the cache use (`4.9.8`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RocketMqVersion::V4_9_8 => "4.9.8",
            RocketMqVersion::V4_9_7 => "4.9.7",
            RocketMqVersion::V5_3_3 => "5.3.3",
        }
    }

    pub fn is_5x(self) -> bool {
        matches!(self, RocketMqVersion::V5_3_3)
    }
}

impl fmt::Display for RocketMqVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RocketMqVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "4.9.8" => Ok(RocketMqVersion::V4_9_8),
            "4.9.7" => Ok(RocketMqVersion::V4_9_7),
            "5.3.3" => Ok(RocketMqVersion::V5_3_3),
            other => Err(Error::Parse(format!("unknown RocketMQ version {other:?}"))),
        }
    }
}

/// What to start: one NameServer and one master broker by default; [`ClusterSpec::masters`] and
/// [`ClusterSpec::namesrvs`] ask for more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Names the instance (its directory is `$FERRY_RUN/<name>-<pid>`) and keys [`shared`].
    pub name: String,
    pub version: RocketMqVersion,
    /// 4.9: ACL 1.0 with the accounts of `testkit/conf/plain_acl.yml`; 5.3.3: ACL 2.0 with the
    /// same accounts migrated into users and policies. See [`crate::acl`].
    pub acl: bool,
    pub cluster_name: String,
    /// The first (or only) master broker.
    pub broker_name: String,
    /// Further master brokers of the cluster, by name (each on its own ports and store).
    pub more_brokers: Vec<String>,
    /// How many NameServers (1 or more); every broker registers with all of them.
    pub namesrvs: usize,
    /// Whether every master gets a slave (brokerId 1, same name, its own ports and store).
    pub slaves: bool,
    /// `key=value` lines added to every broker's (and slave's) configuration.
    pub broker_properties: Vec<(String, String)>,
    /// A directory with `topics.json` and/or `subscriptionGroup.json` for the broker to load at boot
    /// (see [`SeedConfig`]).
    pub seed_config: Option<PathBuf>,
}

impl ClusterSpec {
    /// Cluster `<name>-cluster` with broker `<name>-broker`, no ACL, no seed.
    pub fn new(name: impl Into<String>, version: RocketMqVersion) -> Self {
        let name = name.into();
        ClusterSpec {
            cluster_name: format!("{name}-cluster"),
            broker_name: format!("{name}-broker"),
            more_brokers: Vec::new(),
            namesrvs: 1,
            slaves: false,
            broker_properties: Vec::new(),
            name,
            version,
            acl: false,
            seed_config: None,
        }
    }

    pub fn acl(mut self, acl: bool) -> Self {
        self.acl = acl;
        self
    }

    pub fn cluster_name(mut self, cluster_name: impl Into<String>) -> Self {
        self.cluster_name = cluster_name.into();
        self
    }

    pub fn broker_name(mut self, broker_name: impl Into<String>) -> Self {
        self.broker_name = broker_name.into();
        self
    }

    pub fn seed_config(mut self, dir: impl Into<PathBuf>) -> Self {
        self.seed_config = Some(dir.into());
        self
    }

    /// `n` master brokers named `<name>-broker-a`, `<name>-broker-b`, ... (`n` = 1: one master
    /// named `<name>-broker`, the default). Rename them afterwards with [`ClusterSpec::broker_names`].
    pub fn masters(mut self, n: usize) -> Self {
        assert!(n >= 1, "a cluster needs a master broker");
        if n == 1 {
            self.broker_name = format!("{}-broker", self.name);
            self.more_brokers.clear();
        } else {
            let names: Vec<String> = (0..n).map(|i| format!("{}-broker-{}", self.name, letter(i))).collect();
            self.broker_name = names[0].clone();
            self.more_brokers = names[1..].to_vec();
        }
        self
    }

    /// Master brokers by name, the first becoming [`ClusterSpec::broker_name`].
    pub fn broker_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
        assert!(!names.is_empty(), "a cluster needs a master broker");
        self.broker_name = names.remove(0);
        self.more_brokers = names;
        self
    }

    /// `n` NameServers (default 1); [`Cluster::namesrv_addr`] is then their `;`-separated list.
    pub fn namesrvs(mut self, n: usize) -> Self {
        assert!(n >= 1, "a cluster needs a NameServer");
        self.namesrvs = n;
        self
    }

    /// A slave for every master: brokerId 1 under the master's name, replicating it (ASYNC_MASTER
    /// -> SLAVE). Consumers pull from it when the master suggests so (see
    /// [`ClusterSpec::pull_from_slaves`]).
    pub fn slaves(mut self, slaves: bool) -> Self {
        self.slaves = slaves;
        self
    }

    /// A setting written into every broker's configuration (BrokerConfig / MessageStoreConfig
    /// field names, e.g. `transactionCheckInterval`).
    pub fn broker_property(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.broker_properties.push((key.into(), value.to_string()));
        self
    }

    /// Masters send consumers to their slave for every pull that has more to read behind it:
    /// `slaveReadEnable` lets a master suggest its slave, and `accessMessageInMemoryMaxRatio=0`
    /// makes it suggest so whenever messages remain past the pulled ones (the store compares that
    /// distance with this share of the machine's memory: `DefaultMessageStore.getMessage`).
    pub fn pull_from_slaves(self) -> Self {
        self.broker_property("slaveReadEnable", true).broker_property("accessMessageInMemoryMaxRatio", 0)
    }

    /// Every master's name, the first first.
    pub fn all_broker_names(&self) -> Vec<&str> {
        std::iter::once(self.broker_name.as_str())
            .chain(self.more_brokers.iter().map(String::as_str))
            .collect()
    }
}

/// `a`, `b`, ..., `z`, `aa`, `ab`, ...
fn letter(i: usize) -> String {
    let c = |n: usize| char::from(b'a' + (n % 26) as u8);
    if i < 26 {
        c(i).to_string()
    } else {
        format!("{}{}", c(i / 26 - 1), c(i))
    }
}

/// One master broker of a running [`Cluster`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub name: String,
    /// `127.0.0.1:<port>` as registered in the NameServers; VIP channel on port − 2, HA on port + 1.
    pub addr: String,
    /// The script's role (`broker`, `broker1`, ...), for `rocketmq.sh kill|restart NAME ROLE`.
    pub role: String,
    /// Its store root and log directory.
    pub store_dir: PathBuf,
    pub log_dir: PathBuf,
    /// Its slave's `127.0.0.1:<port>` (brokerId 1), when the cluster has slaves.
    pub slave_addr: Option<String>,
}

/// A running cluster on 127.0.0.1: its NameServer(s) and master broker(s). Dropping it stops every JVM (and removes the
/// instance directory unless the thread is panicking or `FERRY_KEEP_RUN` is set, so that logs of a
/// failed test stay). A background watchdog also stops them when this process exits.
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    instance: String,
    info: HashMap<String, String>,
    namesrv_addr: String,
    broker_addr: String,
    namesrvs: Vec<String>,
    brokers: Vec<Broker>,
    startup: Duration,
    stopped: bool,
}

/// Attempts when the picked ports turn out to be taken (the script exits with status 3).
pub(crate) const PORT_ATTEMPTS: usize = 5;
pub(crate) const EXIT_PORT_BUSY: i32 = 3;

impl Cluster {
    /// Fetches the jars if needed, picks free loopback ports and starts the cluster; returns once the
    /// broker is registered in the NameServer.
    pub fn start(spec: ClusterSpec) -> Result<Cluster> {
        ensure_fetched()?;
        let instance = format!("{}-{}", spec.name, std::process::id());
        let mut last_err = None;
        for _ in 0..PORT_ATTEMPTS {
            let names = spec.all_broker_names();
            let slaves = if spec.slaves { names.len() } else { 0 };
            let (namesrv_ports, broker_ports) = pick_ports_for(spec.namesrvs, names.len() + slaves);
            let (broker_ports, slave_ports) = broker_ports.split_at(names.len());
            let mut args: Vec<String> = vec![
                "start".into(),
                instance.clone(),
                "--version".into(),
                spec.version.as_str().into(),
                "--cluster-name".into(),
                spec.cluster_name.clone(),
                "--watch-pid".into(),
                std::process::id().to_string(),
            ];
            for port in namesrv_ports {
                args.extend(["--namesrv-port".into(), port.to_string()]);
            }
            for (port, name) in broker_ports.iter().zip(&names) {
                args.extend([
                    "--broker-port".into(),
                    port.to_string(),
                    "--broker-name".into(),
                    name.to_string(),
                ]);
            }
            for port in slave_ports {
                args.extend(["--slave-port".into(), port.to_string()]);
            }
            for (key, value) in &spec.broker_properties {
                args.extend(["--broker-prop".into(), format!("{key}={value}")]);
            }
            if spec.acl {
                args.push("--acl".into());
            }
            if let Some(dir) = &spec.seed_config {
                args.push("--seed-config".into());
                args.push(dir.display().to_string());
            }
            let started = Instant::now();
            match run_script(&args) {
                Ok(stdout) => {
                    let info = parse_env(&stdout);
                    let get = |k: &str| {
                        info.get(k).cloned().ok_or_else(|| {
                            Error::Parse(format!("`rocketmq.sh start` printed no {k}=\n{stdout}"))
                        })
                    };
                    let mut namesrvs = Vec::new();
                    for i in 0..spec.namesrvs {
                        namesrvs.push(get(&format!("NAMESRV_{i}"))?);
                    }
                    let mut brokers = Vec::new();
                    for i in 0..names.len() {
                        brokers.push(Broker {
                            name: get(&format!("BROKER_NAME_{i}"))?,
                            addr: get(&format!("BROKER_{i}"))?,
                            role: if i == 0 { "broker".into() } else { format!("broker{i}") },
                            store_dir: get(&format!("STORE_{i}"))?.into(),
                            log_dir: get(&format!("BROKER_LOGS_{i}"))?.into(),
                            slave_addr: if spec.slaves { Some(get(&format!("SLAVE_{i}"))?) } else { None },
                        });
                    }
                    return Ok(Cluster {
                        namesrv_addr: get("NAMESRV")?,
                        broker_addr: get("BROKER")?,
                        namesrvs,
                        brokers,
                        spec,
                        instance,
                        info,
                        startup: started.elapsed(),
                        stopped: false,
                    });
                }
                Err(e @ Error::Script { status: Some(EXIT_PORT_BUSY), .. }) => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    /// `127.0.0.1:<port>` of the NameServer; with several, their `;`-separated list (what clients
    /// and Ferry take as a NameServer address).
    pub fn namesrv_addr(&self) -> &str {
        &self.namesrv_addr
    }

    /// Each NameServer's `127.0.0.1:<port>`, in the order of [`Cluster::kill_namesrv`]'s index.
    pub fn namesrv_addrs(&self) -> &[String] {
        &self.namesrvs
    }

    /// `127.0.0.1:<port>` of the (first) master broker, as registered in the NameServer. Its VIP
    /// channel is on port − 2 and HA on port + 1.
    pub fn broker_addr(&self) -> &str {
        &self.broker_addr
    }

    /// Every master broker, the first first.
    pub fn brokers(&self) -> &[Broker] {
        &self.brokers
    }

    /// The master broker of that name.
    pub fn broker(&self, name: &str) -> Option<&Broker> {
        self.brokers.iter().find(|b| b.name == name)
    }

    fn broker_role(&self, name: &str) -> Result<&Broker> {
        self.broker(name).ok_or_else(|| {
            Error::Parse(format!(
                "cluster {} has no broker {name:?} (it has {:?})",
                self.spec.name,
                self.spec.all_broker_names()
            ))
        })
    }

    fn namesrv_role(&self, index: usize) -> Result<String> {
        if index >= self.namesrvs.len() {
            return Err(Error::Parse(format!(
                "cluster {} has {} NameServer(s), no index {index}",
                self.spec.name,
                self.namesrvs.len()
            )));
        }
        Ok(if index == 0 { "namesrv".into() } else { format!("namesrv{index}") })
    }

    /// Kills the broker's JVM with SIGKILL (no shutdown hook runs, nothing is flushed or
    /// unregistered: a crash) and waits until the process is gone and its ports are closed. Its
    /// NameServers drop it when they see the connection close.
    pub fn kill_broker(&self, name: &str) -> Result<()> {
        let role = self.broker_role(name)?.role.clone();
        run_script(&["kill".into(), self.instance.clone(), role]).map(|_| ())
    }

    /// Starts a killed broker again on the same ports, configuration and store (what it had
    /// stored comes back, consumer offsets as last persisted); returns once it is registered in
    /// every running NameServer of the cluster, with how long that took.
    pub fn restart_broker(&self, name: &str) -> Result<Duration> {
        let role = self.broker_role(name)?.role.clone();
        let started = Instant::now();
        run_script(&["restart".into(), self.instance.clone(), role]).map(|_| started.elapsed())
    }

    /// Kills the slave of that master with SIGKILL and waits until its ports are closed.
    pub fn kill_slave(&self, name: &str) -> Result<()> {
        let role = self.slave_role(name)?;
        run_script(&["kill".into(), self.instance.clone(), role]).map(|_| ())
    }

    /// Starts a killed slave again; returns once it is registered in every running NameServer.
    pub fn restart_slave(&self, name: &str) -> Result<Duration> {
        let role = self.slave_role(name)?;
        let started = Instant::now();
        run_script(&["restart".into(), self.instance.clone(), role]).map(|_| started.elapsed())
    }

    fn slave_role(&self, name: &str) -> Result<String> {
        let broker = self.broker_role(name)?;
        if broker.slave_addr.is_none() {
            return Err(Error::Parse(format!("cluster {} has no slaves", self.spec.name)));
        }
        Ok(broker.role.replacen("broker", "slave", 1))
    }

    /// Kills NameServer `index` (0-based, as in [`Cluster::namesrv_addrs`]) with SIGKILL and waits
    /// until its port is closed.
    pub fn kill_namesrv(&self, index: usize) -> Result<()> {
        let role = self.namesrv_role(index)?;
        run_script(&["kill".into(), self.instance.clone(), role]).map(|_| ())
    }

    /// Starts a killed NameServer again on its port. It starts empty: brokers register with it
    /// again on their next heartbeat (every 30 s).
    pub fn restart_namesrv(&self, index: usize) -> Result<Duration> {
        let role = self.namesrv_role(index)?;
        let started = Instant::now();
        run_script(&["restart".into(), self.instance.clone(), role]).map(|_| started.elapsed())
    }

    /// Whether the broker's JVM runs (`rocketmq.sh status`).
    pub fn broker_running(&self, name: &str) -> Result<bool> {
        let role = self.broker_role(name)?.role.clone();
        self.role_running(&role)
    }

    /// Whether NameServer `index`'s JVM runs.
    pub fn namesrv_running(&self, index: usize) -> Result<bool> {
        let role = self.namesrv_role(index)?;
        self.role_running(&role)
    }

    fn role_running(&self, role: &str) -> Result<bool> {
        // `status` exits 1 when nothing of the instance runs: read its output either way.
        let output = script_command(&["status".to_string(), self.instance.clone()]).output()?;
        let env = parse_env(&String::from_utf8_lossy(&output.stdout));
        Ok(env.get(&format!("{}_STATE", role.to_ascii_uppercase())).map(String::as_str) == Some("running"))
    }

    pub fn cluster_name(&self) -> &str {
        &self.spec.cluster_name
    }

    pub fn broker_name(&self) -> &str {
        &self.spec.broker_name
    }

    pub fn version(&self) -> RocketMqVersion {
        self.spec.version
    }

    pub fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// `$ROCKETMQ_HOME/conf/plain_acl.yml` of the broker when ACL is on (4.9: the live ACL 1.0
    /// accounts; 5.3.3: the accounts migrated into ACL 2.0 at boot).
    pub fn plain_acl_file(&self) -> Option<&Path> {
        self.info.get("PLAIN_ACL").map(Path::new)
    }

    /// The admin account when ACL is on.
    pub fn admin_credentials(&self) -> Option<Credentials> {
        self.spec.acl.then(crate::acl::admin)
    }

    /// A harness bound to this cluster's NameServer, signing with the admin account when ACL is on.
    pub fn harness(&self) -> Harness {
        let h = Harness::new(self.namesrv_addr());
        match self.admin_credentials() {
            Some(c) => h.with_credentials(c),
            None => h,
        }
    }

    /// The instance directory (`$FERRY_RUN/<name>-<pid>`): conf files, store, logs.
    pub fn instance_dir(&self) -> PathBuf {
        run_dir().join(&self.instance)
    }

    /// Directory of the broker's log files (`broker.log`, ...).
    pub fn broker_log_dir(&self) -> PathBuf {
        self.info
            .get("BROKER_LOGS")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.instance_dir().join("broker/logs/rocketmqlogs"))
    }

    /// Directory of the NameServer's log files.
    pub fn namesrv_log_dir(&self) -> PathBuf {
        self.info
            .get("NAMESRV_LOGS")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.instance_dir().join("namesrv/logs/rocketmqlogs"))
    }

    /// The broker's store root (`<store>/config/topics.json`, ...).
    pub fn store_dir(&self) -> PathBuf {
        self.info.get("STORE").map(PathBuf::from).unwrap_or_else(|| self.instance_dir().join("store"))
    }

    /// Wall time of `Cluster::start` (script, JVM boots, registration).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Every `KEY=VALUE` line `rocketmq.sh start` printed (NAMESRV, BROKER, NAMESRV_PID, BROKER_PID,
    /// STARTUP_MS, ...).
    pub fn info(&self) -> &HashMap<String, String> {
        &self.info
    }

    /// Stops every JVM of the cluster (TERM, then KILL after a grace period) and waits until the ports are free.
    /// Idempotent.
    pub fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        run_script(&["stop".to_string(), self.instance.clone()]).map(|_| ())
    }
}

impl Drop for Cluster {
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

/// A cluster started once per test binary and shared by its tests, keyed by `spec.name`: the first
/// call starts it (other names start in parallel), later calls return the same cluster. Statics are
/// never dropped: the watchdog started with `--watch-pid` stops the JVMs when the binary exits.
///
/// Panics if the cluster cannot be started (every test sharing it then fails with the same
/// message), or if a later call asks for the same name with a different spec.
pub fn shared(spec: ClusterSpec) -> &'static Cluster {
    type Slot = OnceLock<std::result::Result<Cluster, String>>;
    static SLOTS: OnceLock<Mutex<HashMap<String, &'static Slot>>> = OnceLock::new();
    let slot: &'static Slot = {
        let mut map = SLOTS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        map.entry(spec.name.clone()).or_insert_with(|| Box::leak(Box::new(OnceLock::new())))
    };
    let name = spec.name.clone();
    let wanted = spec.clone();
    match slot.get_or_init(|| Cluster::start(spec).map_err(|e| e.to_string())) {
        Ok(cluster) => {
            assert_eq!(
                cluster.spec(),
                &wanted,
                "ferry_testkit::shared({name:?}) called with two different specs"
            );
            cluster
        }
        Err(e) => panic!("shared cluster {name:?} failed to start: {e}"),
    }
}

// ------------------------------------------------------------------------------------------------
// The script
// ------------------------------------------------------------------------------------------------

/// The repository root, found from this crate's manifest directory (crates/testkit -> ../..).
pub fn repo_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// `testkit/rocketmq.sh`.
pub fn script_path() -> PathBuf {
    repo_root().join("testkit/rocketmq.sh")
}

/// `$FERRY_RUN`, default `<repo>/.cache/run` (as in the script).
pub(crate) fn run_dir() -> PathBuf {
    std::env::var_os("FERRY_RUN").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".cache/run"))
}

/// Runs `bash testkit/rocketmq.sh ARGS...`; returns stdout, or the whole output as an error.
pub(crate) fn run_script(args: &[String]) -> Result<String> {
    let output = script_command(args).output()?;
    check(args, output)
}

pub(crate) fn script_command(args: &[String]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script_path()).args(args);
    cmd
}

fn check(args: &[String], output: Output) -> Result<String> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    Err(Error::Script {
        command: format!("rocketmq.sh {}", args.join(" ")),
        status: output.status.code(),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// `rocketmq.sh fetch` once per process (the script itself is idempotent and locks the cache):
/// Maven downloads the jars and builds the harness on a fresh machine.
pub fn ensure_fetched() -> Result<()> {
    static FETCHED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FETCHED
        .get_or_init(|| {
            run_script(&["fetch".to_string()]).map_err(|e| e.to_string())?;
            // Instance directories of shared clusters outlive their test binaries (the watchdog
            // stops the JVMs but keeps the logs): drop the old ones.
            run_script(&["prune".to_string()]).map(|_| ()).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Parse)
}

pub(crate) fn parse_env(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Ports
// ------------------------------------------------------------------------------------------------

/// Ports come from 20000..32000: below Linux's ephemeral range (32768+), so outgoing connections
/// never hold them, and above the usual service ports.
const PORT_LOW: u16 = 20000;
const PORT_HIGH: u16 = 32000;

/// A NameServer port and a broker port whose port − 2 (VIP channel) and port + 1 (HA) are free too.
/// Ports handed out by this process are never handed out again; other processes are avoided by
/// random starting points and by checking that a bind succeeds.
#[cfg(test)]
fn pick_ports() -> (u16, u16) {
    let (n, b) = pick_ports_for(1, 1);
    (n[0], b[0])
}

/// `namesrvs` NameServer ports and `brokers` broker ports, as [`pick_ports`] picks them.
pub(crate) fn pick_ports_for(namesrvs: usize, brokers: usize) -> (Vec<u16>, Vec<u16>) {
    static TAKEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let mut taken = TAKEN.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let mut pick = |span: &[i32]| loop {
        let base = PORT_LOW + 2 + (random() % u64::from(PORT_HIGH - PORT_LOW - 4)) as u16;
        let ports: Vec<u16> = span.iter().map(|d| (i32::from(base) + d) as u16).collect();
        if ports.iter().all(|p| !taken.contains(p) && port_free(*p)) {
            taken.extend(ports.iter().copied());
            // Also keep the unused port − 1 away from other clusters: simpler arithmetic for readers.
            taken.insert(base - 1);
            return base;
        }
    };
    let namesrv = (0..namesrvs).map(|_| pick(&[0])).collect();
    let broker = (0..brokers).map(|_| pick(&[-2, 0, 1])).collect();
    (namesrv, broker)
}

fn port_free(port: u16) -> bool {
    // The JVMs bind the wildcard address; a bind of 0.0.0.0 fails if any address holds the port.
    TcpListener::bind(("0.0.0.0", port)).is_ok()
}

fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

// ------------------------------------------------------------------------------------------------
// Seed configuration
// ------------------------------------------------------------------------------------------------

/// Topics and groups for a broker to load at boot (`--seed-config`): writes `topics.json` and
/// `subscriptionGroup.json` in the broker's own format, which 4.9 and 5.x both read. Much faster
/// than creating thousands of topics over the wire.
#[derive(Debug, Clone, Default)]
pub struct SeedConfig {
    pub topics: Vec<crate::harness::TopicSpec>,
    pub groups: Vec<crate::harness::GroupSpec>,
}

impl SeedConfig {
    /// Writes both files into `dir` (created if needed) and returns `dir`, ready for
    /// [`ClusterSpec::seed_config`].
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<PathBuf> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let version = r#""dataVersion":{"counter":1,"stateVersion":0,"timestamp":0}"#;
        let topics: Vec<String> = self
            .topics
            .iter()
            .map(|t| {
                format!(
                    r#"{name}:{{"order":{order},"perm":{perm},"readQueueNums":{read},"topicFilterType":"SINGLE_TAG","topicName":{name},"topicSysFlag":0,"writeQueueNums":{write}}}"#,
                    name = json_string(&t.name),
                    order = t.order,
                    perm = t.perm,
                    read = t.read_queues,
                    write = t.write_queues
                )
            })
            .collect();
        std::fs::write(
            dir.join("topics.json"),
            format!("{{{version},\"topicConfigTable\":{{{}}}}}", topics.join(",")),
        )?;
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                format!(
                    r#"{name}:{{"brokerId":0,"consumeBroadcastEnable":{broadcast},"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":{orderly},"groupName":{name},"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":{retry_max},"retryQueueNums":{retry_queues},"whichBrokerWhenConsumeSlowly":1}}"#,
                    name = json_string(&g.name),
                    broadcast = g.broadcast,
                    orderly = g.consume_orderly,
                    retry_max = g.retry_max,
                    retry_queues = g.retry_queues
                )
            })
            .collect();
        std::fs::write(
            dir.join("subscriptionGroup.json"),
            format!("{{{version},\"subscriptionGroupTable\":{{{}}}}}", groups.join(",")),
        )?;
        Ok(dir.to_path_buf())
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_distinct_free_ports() {
        let mut seen = HashSet::new();
        for _ in 0..20 {
            let (n, b) = pick_ports();
            for p in [n, b - 2, b, b + 1] {
                assert!((PORT_LOW..PORT_HIGH).contains(&p));
                assert!(seen.insert(p), "port {p} handed out twice");
            }
        }
    }

    #[test]
    fn picks_ports_for_several_namesrvs_and_brokers() {
        let (n, b) = pick_ports_for(2, 3);
        assert_eq!((n.len(), b.len()), (2, 3));
        let mut all: Vec<u16> = n.clone();
        for p in &b {
            all.extend([p - 2, *p, p + 1]);
        }
        let distinct: HashSet<u16> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
    }

    #[test]
    fn masters_are_named_by_letter() {
        let spec = ClusterSpec::new("src", RocketMqVersion::V4_9_8).masters(3).namesrvs(2);
        assert_eq!(spec.all_broker_names(), ["src-broker-a", "src-broker-b", "src-broker-c"]);
        assert_eq!(spec.namesrvs, 2);
        let one = spec.clone().masters(1);
        assert_eq!(one.all_broker_names(), ["src-broker"]);
        assert_eq!(ClusterSpec::new("src", RocketMqVersion::V4_9_8), one.namesrvs(1));
        assert_eq!(letter(25), "z");
        assert_eq!(letter(26), "aa");
        let named = ClusterSpec::new("x", RocketMqVersion::V5_3_3).broker_names(["p", "q"]);
        assert_eq!((named.broker_name.as_str(), named.more_brokers.clone()), ("p", vec!["q".to_string()]));
    }

    #[test]
    fn parses_start_output() {
        let env = parse_env("rocketmq.sh: noise\nNAMESRV=127.0.0.1:1\nBROKER=127.0.0.1:2\nPLAIN_ACL=/a=b\n");
        assert_eq!(env["NAMESRV"], "127.0.0.1:1");
        assert_eq!(env["PLAIN_ACL"], "/a=b");
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn versions_round_trip() {
        for v in [RocketMqVersion::V4_9_8, RocketMqVersion::V4_9_7, RocketMqVersion::V5_3_3] {
            assert_eq!(v.as_str().parse::<RocketMqVersion>().unwrap(), v);
        }
    }

    #[test]
    fn seed_config_is_json() {
        let dir = std::env::temp_dir().join(format!("ferry-seed-test-{}", std::process::id()));
        let seed = SeedConfig {
            topics: vec![crate::harness::TopicSpec::new("t\"1").queues(2, 3)],
            groups: vec![crate::harness::GroupSpec::new("g1")],
        };
        seed.write(&dir).unwrap();
        let topics = serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(dir.join("topics.json")).unwrap(),
        )
        .unwrap();
        let t = topics.get("topicConfigTable").and_then(|m| m.get("t\"1")).unwrap();
        assert_eq!(t.get("writeQueueNums").and_then(serde_json::Value::as_i64), Some(3));
        let groups = serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(dir.join("subscriptionGroup.json")).unwrap(),
        )
        .unwrap();
        assert!(groups.get("subscriptionGroupTable").and_then(|m| m.get("g1")).is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
