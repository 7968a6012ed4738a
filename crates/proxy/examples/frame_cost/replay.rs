//! The relay's instruction-count benchmark, shared by the example (`main.rs`) and the guard test
//! (`crates/proxy/tests/frame_cost.rs`, which includes this file).
//!
//! [`replay`] runs a recorded stream of real client and broker frames
//! (`crates/proxy/benches/data/stream.bin`, recorded by `crates/proxy/tests/record_frames.rs`)
//! through the relay's own pumps and per-frame path (`ferry_proxy::relay::relay_streams`: frame
//! checks, header decode, verdict by stage, the pending table, counters, the registry on
//! heartbeats, writes to the peer), with in-process streams for sockets: one relay connection per
//! recorded connection, a source-side relay, the stream's topic at DualReadWrite (its stage looked
//! up and forwarding both ways). Each iteration passes every frame once, in the recorded order,
//! and waits until the relay has passed all of it.
//!
//! [`measure`] runs a command (the example or the test binary, in its replay mode) under
//! `valgrind --tool=callgrind` twice, with [`ITERATIONS`] and more iterations: the difference
//! divided by the frames it replayed is the cost of one frame, start-up removed.
#![allow(dead_code)] // Each includer uses its part.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ferry_proxy::relay::{relay_streams, RelayContext, RelaySettings};
use ferry_proxy::{ClientRegistry, Side, Stage, StageTable, TopicPolicy, Traffic};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::sync::CancellationToken;

/// The recorded stream (format in `crates/proxy/tests/record_frames.rs`).
pub const STREAM: &[u8] = include_bytes!("../../benches/data/stream.bin");
const MAGIC: &[u8; 8] = b"FERRYFR1";
/// The topic the recorded clients produced and consumed.
pub const TOPIC: &str = "bench-orders";

/// The environment variable that puts a binary in replay mode: iterations to run.
pub const ITERATIONS_ENV: &str = "FERRY_FRAME_COST_ITERATIONS";
/// Iterations of the two runs: the first includes the warm-up (the first heartbeat recorded,
/// buffers grown), the difference does not. Instruction counts barely move from run to run:
/// (2, 12) gives the same figure within 0.5%.
pub const ITERATIONS: (u64, u64) = (1, 3);

pub struct Record {
    /// Client to broker; else broker to client.
    pub up: bool,
    pub conn: usize,
    pub frame: Vec<u8>,
}

pub fn records() -> Vec<Record> {
    let mut rest = STREAM.strip_prefix(MAGIC).expect("stream.bin starts with FERRYFR1");
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[2..6].try_into().unwrap()) as usize;
        out.push(Record { up: rest[0] == 0, conn: usize::from(rest[1]), frame: rest[6..6 + len].to_vec() });
        rest = &rest[6 + len..];
    }
    out
}

/// One relay connection as its peers see it.
struct Peers {
    client: DuplexStream,
    broker: DuplexStream,
    /// Bytes the client wrote and the broker read; the broker wrote and the client read.
    up: (u64, u64),
    down: (u64, u64),
}

/// Reads from `s` until `have` reaches `want`.
async fn drain(s: &mut DuplexStream, have: &mut u64, want: u64, buf: &mut [u8]) {
    while *have < want {
        let n = s.read(buf).await.expect("in-process read");
        assert!(n > 0, "the relay closed the connection ({have} of {want} bytes)");
        *have += n as u64;
    }
}

/// Replays the stream `iterations` times through the relay. Returns the frames passed.
pub fn replay(iterations: u64) -> u64 {
    let records = records();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let stages = Arc::new(StageTable::new());
        stages.set(TOPIC, TopicPolicy::at(Stage::DualReadWrite));
        let ctx = Arc::new(RelayContext::new(
            RelaySettings::on("127.0.0.1", (1, 2)),
            Arc::new(Traffic::default()),
            Arc::new(ClientRegistry::default()),
            stages,
            CancellationToken::new(),
        ));
        let conns = records.iter().map(|r| r.conn + 1).max().unwrap_or(0);
        // Room for a whole iteration each way: the client's side is read at the end of one.
        let room = STREAM.len() * 2;
        let mut peers: Vec<Peers> = (0..conns)
            .map(|_| {
                let (client, relay_client) = tokio::io::duplex(room);
                let (broker, relay_broker) = tokio::io::duplex(room);
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    relay_streams(relay_client, relay_broker, Side::Source, "127.0.0.1:10911", ctx).await
                });
                Peers { client, broker, up: (0, 0), down: (0, 0) }
            })
            .collect();
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..iterations {
            for r in &records {
                let p = &mut peers[r.conn];
                if r.up {
                    p.client.write_all(&r.frame).await.unwrap();
                    p.up.0 += r.frame.len() as u64;
                } else {
                    // The broker answers once it has what the client sent before.
                    drain(&mut p.broker, &mut p.up.1, p.up.0, &mut buf).await;
                    p.broker.write_all(&r.frame).await.unwrap();
                    p.down.0 += r.frame.len() as u64;
                }
            }
            for p in &mut peers {
                drain(&mut p.broker, &mut p.up.1, p.up.0, &mut buf).await;
                drain(&mut p.client, &mut p.down.1, p.down.0, &mut buf).await;
            }
        }
        let produced = ctx.traffic.topic(TOPIC, Side::Source).produced_messages;
        let sends = records.iter().filter(|r| r.up).count() as u64;
        assert!(produced > 0 && produced <= sends * iterations, "sends counted: {produced}");
    });
    records.len() as u64 * iterations
}

/// What [`measure`] found.
pub struct Cost {
    /// Instructions per frame, start-up removed.
    pub per_frame: f64,
    pub frames_per_iteration: u64,
    /// Instructions of the two runs.
    pub runs: [(u64, u64); 2],
    /// The callgrind output of the longer run.
    pub out_file: std::path::PathBuf,
}

/// Runs `cmd` (a binary that replays when [`ITERATIONS_ENV`] is set) under callgrind twice, the
/// two runs side by side.
pub fn measure(cmd: impl Fn() -> Command + Sync, dir: &Path) -> Result<Cost, String> {
    let frames = records().len() as u64;
    let run = |n: u64| -> Result<(u64, u64), String> {
        let out_file = dir.join(format!("callgrind.out.{n}"));
        let inner = cmd();
        let out = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out_file.display()))
            .arg(inner.get_program())
            .args(inner.get_args())
            .env(ITERATIONS_ENV, n.to_string())
            .output()
            .map_err(|e| format!("valgrind could not start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "valgrind {:?} failed ({}): {}",
                inner.get_program(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok((n, total_instructions(&out_file)?))
    };
    let (short, long) = std::thread::scope(|s| {
        let short = s.spawn(|| run(ITERATIONS.0));
        let long = run(ITERATIONS.1);
        (short.join().expect("valgrind run"), long)
    });
    let runs = [short?, long?];
    let extra = runs[1].1.saturating_sub(runs[0].1) as f64;
    let per_frame = extra / ((runs[1].0 - runs[0].0) * frames) as f64;
    Ok(Cost {
        per_frame,
        frames_per_iteration: frames,
        runs,
        out_file: dir.join(format!("callgrind.out.{}", ITERATIONS.1)),
    })
}

/// The `totals:` (else `summary:`) line of a callgrind output file: instructions executed.
fn total_instructions(file: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let line = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
    let value = line("totals:").or_else(|| line("summary:")).ok_or("no totals in the callgrind output")?;
    value
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("bad totals {value:?}"))
}

/// The short git revision of the repository, `+dirty` when the proxy or the workspace crates it
/// builds on have uncommitted changes.
pub fn revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let paths = [
        "status",
        "--porcelain",
        "--",
        ".",
        ":!benches/frame-cost.json",
        "../remoting",
        "../admin",
        "../../Cargo.lock",
    ];
    match git(&paths) {
        Some(s) if !s.is_empty() => format!("{rev}+dirty"),
        _ => rev,
    }
}

/// How to get valgrind, when it is missing.
pub const INSTALL_VALGRIND: &str = "valgrind is needed for the relay's instruction-count benchmark: \
     install it with `sudo apt-get install valgrind` (Debian/Ubuntu; scripts/test.sh does it), \
     `dnf install valgrind` or `brew install valgrind`";

pub fn have_valgrind() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}
