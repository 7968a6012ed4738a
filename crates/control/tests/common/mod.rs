//! What the real-cluster walks of this crate share: Ferry (proxy and engine) in this process on a
//! store of its own, and a step taken as soon as its checks pass.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_control::migration::{Engine, EngineError, EngineSettings, MigrationId};
use ferry_control::Store;
use ferry_proxy::{Proxy, ProxyConfig, Stage};

/// How long a step may wait for its checks.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(240);

/// How long a relay keeps a client that sends nothing (60 s by default).
pub const RELAY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Ferry in this process, ticking every second, routes settled after a 5 s window.
pub struct Ferry {
    pub rt: tokio::runtime::Runtime,
    pub engine: Arc<Engine>,
    /// The NameServer address clients are given.
    pub namesrv: String,
    _ticker: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Ferry {
    /// `relay_offset` keeps the relay ports of walks in one test binary apart.
    pub fn start(relay_offset: u16) -> Ferry {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let first = 10_000 + (std::process::id() % 80) as u16 * 100 + relay_offset;
        let engine = rt.block_on(async {
            let store = Store::open(&dir.path().join("ferry.db")).await.unwrap();
            let mut config = ProxyConfig::loopback(port, first, first + 39);
            // Clients here heartbeat every second: one that stops using a relay is let go soon.
            config.relays.idle_timeout = RELAY_IDLE_TIMEOUT;
            let proxy = Arc::new(Proxy::start(config, &[]).await.unwrap());
            let settings = EngineSettings {
                route_window: Duration::from_secs(5),
                tick: Duration::from_secs(1),
                ..EngineSettings::default()
            };
            Engine::start(store, proxy, settings).await.unwrap()
        });
        let ticker = {
            let _guard = rt.enter();
            engine.spawn_ticker()
        };
        Ferry { rt, engine, namesrv: format!("127.0.0.1:{port}"), _ticker: ticker, _dir: dir }
    }

    /// One step forward as soon as its checks pass, saying what blocks it while it waits.
    pub fn proceed(&self, id: MigrationId, topic: &str, to: Stage, actor: &str) {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            match self.rt.block_on(self.engine.proceed(id, topic, None, actor)) {
                Ok(t) => {
                    assert_eq!(t.stage, to);
                    eprintln!("[{:>5.1}s] now {to}", started.elapsed().as_secs_f32());
                    return;
                }
                Err(EngineError::Blocked { report, .. }) => {
                    if report.blockers() != last {
                        last = report.blockers();
                        eprintln!("[{:>5.1}s] toward {to}: {last}", started.elapsed().as_secs_f32());
                    }
                    assert!(started.elapsed() < STEP_TIMEOUT, "never ready for {to}: {last}");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => panic!("step to {to}: {e}"),
            }
        }
    }
}
