//! The 5.x harness (`testkit/harness5`, real `rocketmq-client` 5.3.3 over remoting): what only a
//! 5.x client does. One JVM per call, through `testkit/rocketmq.sh harness5`.

use serde::Deserialize;

use crate::cluster::{ensure_fetched, script_command};
use crate::error::{Error, Result};
use crate::harness::temp_base;

/// The 5.x harness pointed at a NameServer (Ferry's front, or a cluster's own).
#[derive(Debug, Clone)]
pub struct Harness5 {
    namesrv: String,
}

/// A POP consumer: a `DefaultMQPushConsumer` with client rebalance off, so the broker assigns
/// its queues and, where `defaultMessageRequestMode=POP`, it consumes by POP and acks each message.
#[derive(Debug, Clone)]
pub struct PopConsume {
    pub topic: String,
    pub group: String,
    /// Distinct messages to ack before the linger starts.
    pub expect: usize,
    pub invisible_ms: u64,
    /// Answer RECONSUME_LATER to each message's first delivery: the client changes its invisible
    /// time to 10 s and the broker delivers it again from its POP retry topic.
    pub reconsume_first: bool,
    /// How long to keep consuming (and recording redeliveries) once all were acked.
    pub linger_ms: u64,
    pub timeout_ms: u64,
}

impl PopConsume {
    pub fn new(topic: impl Into<String>, group: impl Into<String>, expect: usize) -> PopConsume {
        PopConsume {
            topic: topic.into(),
            group: group.into(),
            expect,
            invisible_ms: 60_000,
            reconsume_first: false,
            linger_ms: 0,
            timeout_ms: 60_000,
        }
    }

    pub fn invisible_ms(mut self, ms: u64) -> Self {
        self.invisible_ms = ms;
        self
    }

    pub fn reconsume_first(mut self) -> Self {
        self.reconsume_first = true;
        self
    }

    pub fn linger_ms(mut self, ms: u64) -> Self {
        self.linger_ms = ms;
        self
    }

    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }
}

/// One delivery to the POP consumer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Popped {
    pub msg_id: String,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub reconsume_times: i32,
    /// The receipt the client acks with (`POP_CK`).
    pub pop_ck: Option<String>,
    /// The broker the receipt names: where the client sends its ack.
    pub pop_broker: Option<String>,
    /// `CONSUME_SUCCESS` (acked) or `RECONSUME_LATER` (invisible time changed).
    pub answer: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// What a recall did.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Recalled {
    pub msg_id: String,
    /// The broker the message was sent to, by its name in the route.
    pub broker_name: String,
    pub recall_handle: Option<String>,
    /// The handle decoded: `v1 topic brokerName timestamp messageId`.
    pub handle: Option<String>,
    /// The message id the broker answered the recall with.
    pub recalled: Option<String>,
    pub recall_error: Option<String>,
}

impl Harness5 {
    pub fn new(namesrv: impl Into<String>) -> Harness5 {
        Harness5 { namesrv: namesrv.into() }
    }

    /// Consumes by POP until `expect` distinct messages were acked and the linger passed; every
    /// delivery, redeliveries included. A timeout is an error carrying what arrived.
    pub fn pop_consume(&self, c: &PopConsume) -> Result<Vec<Popped>> {
        let mut args = vec![
            "pop-consume".to_string(),
            "--topic".into(),
            c.topic.clone(),
            "--group".into(),
            c.group.clone(),
            "--expect".into(),
            c.expect.to_string(),
            "--invisible-ms".into(),
            c.invisible_ms.to_string(),
            "--linger-ms".into(),
            c.linger_ms.to_string(),
            "--timeout-ms".into(),
            c.timeout_ms.to_string(),
        ];
        if c.reconsume_first {
            args.push("--reconsume-first".into());
        }
        let run = self.run(args)?;
        let popped = parse(&run.lines)?;
        if !run.success {
            return Err(Error::Harness {
                stderr: format!("{}{}", run.stderr, run.lines.join("\n")),
                command: run.command,
                status: run.status,
            });
        }
        Ok(popped)
    }

    /// Sends one message due in `delay_ms` to a queue of `broker` (its name in the route) and
    /// recalls it with the handle the send answer carried. A failed recall is in the result.
    pub fn recall(&self, topic: &str, broker: &str, delay_ms: u64) -> Result<Recalled> {
        let args = vec![
            "recall".to_string(),
            "--topic".into(),
            topic.into(),
            "--broker".into(),
            broker.into(),
            "--delay-ms".into(),
            delay_ms.to_string(),
        ];
        let run = self.run(args)?;
        let mut all: Vec<Recalled> = parse(&run.lines)?;
        all.pop().ok_or(Error::Harness { command: run.command, status: run.status, stderr: run.stderr })
    }

    /// Runs one command.
    fn run(&self, mut args: Vec<String>) -> Result<Run> {
        ensure_fetched()?;
        let out = temp_base(&args[0]).with_extension("txt");
        let command = args.join(" ");
        args.splice(
            1..1,
            ["--namesrv".to_string(), self.namesrv.clone(), "--out".into(), out.display().to_string()],
        );
        let mut all = vec!["harness5".to_string()];
        all.extend(args);
        let output = script_command(&all).output()?;
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        let lines = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        Ok(Run { command, success: output.status.success(), status: output.status.code(), stderr, lines })
    }
}

/// One harness5 call: its command line (for errors), how it ended, and its output lines.
struct Run {
    command: String,
    success: bool,
    status: Option<i32>,
    stderr: String,
    lines: Vec<String>,
}

fn parse<T: serde::de::DeserializeOwned>(lines: &[String]) -> Result<Vec<T>> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).map_err(|e| Error::Parse(format!("harness5 output {l:?}: {e}"))))
        .collect()
}
