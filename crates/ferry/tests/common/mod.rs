//! What the tests of the real `ferry serve` binary share: starting it and reading where it
//! listens from what it prints, and the small helpers of the tests that walk a topic through it.
// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `ferry serve` as a child process, killed when dropped.
pub struct Serve {
    pub child: Child,
    /// The API's base address and the NameServer address clients are given, as it printed them.
    pub api: String,
    pub namesrv: String,
    /// Everything it wrote to stderr so far.
    pub stderr: Arc<Mutex<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// SIGTERM, then the exit status and everything written to stderr.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "ferry serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        };
        std::thread::sleep(Duration::from_millis(200));
        let stderr = self.stderr.lock().unwrap().clone();
        (status, stderr)
    }

    /// The last 30 lines it wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let all = self.stderr.lock().unwrap().clone();
        let lines: Vec<&str> = all.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// Bytes a process wrote, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The stdout of a command that must have succeeded (else its status, stdout and stderr).
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Test-wide clock for the log lines.
pub fn log(start: Instant, what: impl AsRef<str>) {
    eprintln!("[{:>6.1}s] {}", start.elapsed().as_secs_f32(), what.as_ref());
}

/// The failing checks of a check report (the API's JSON), as (name, detail).
pub fn failing(report: &serde_json::Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["passed"] == false)
        .map(|c| {
            (c["name"].as_str().unwrap_or("").to_string(), c["detail"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

/// The failing checks in one line.
pub fn blockers(report: &serde_json::Value) -> String {
    failing(report).iter().map(|(n, d)| format!("{n}: {d}")).collect::<Vec<_>>().join("; ")
}

/// The binary under test.
pub fn ferry() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
}

/// Runs `command` (the binary, or a shell that execs it) with `serve ARGS` in `dir` and waits until
/// it says where it listens; `Err` with its stderr when it exits first or says nothing for 60 s.
pub fn spawn(mut command: Command, dir: &Path, args: &[&str]) -> Result<Serve, String> {
    let mut child = command
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env_remove("FERRY_STORE")
        .env_remove("FERRY_LOG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ferry serve");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut api, mut namesrv) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.is_none() || namesrv.is_none() {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let after = |label: &str| {
                    line.split_once(label).map(|(_, r)| r.split_whitespace().next().unwrap().to_string())
                };
                api = api.or(after("API: "));
                namesrv = namesrv.or(after("NameServer for clients: "));
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(format!("exited with {status}: {}", stderr.lock().unwrap()));
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    return Err(format!("said nothing for 60 s: {}", stderr.lock().unwrap()));
                }
            }
        }
    }
    Ok(Serve { child, api: api.unwrap(), namesrv: namesrv.unwrap(), stderr })
}
