//! A PostgreSQL server for the store's tests, and a new database on it per test.
//!
//! The server is `$FERRY_TEST_POSTGRES_URL` when set (`./scripts/test.sh` starts one for the whole
//! run and sets it); else one is started for this test process by `scripts/postgres.sh start`
//! (PostgreSQL from Debian's packages, `scripts/postgres.sh install`), on a free loopback port,
//! stopped and removed when the process exits. Without either, the PostgreSQL variants of the
//! tests fail saying how to run them: they are never skipped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::repo_root;

/// Names the test server: `postgresql://USER@HOST:PORT/DATABASE` (any database; each test gets its own).
pub const POSTGRES_URL_ENV: &str = "FERRY_TEST_POSTGRES_URL";

/// `scripts/postgres.sh`.
pub fn postgres_script() -> PathBuf {
    repo_root().join("scripts/postgres.sh")
}

/// The test server's URL: `$FERRY_TEST_POSTGRES_URL`, else a server started for this process.
/// Panics, saying how to get one, when PostgreSQL is not installed.
pub fn postgres_server() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Some(url) = std::env::var(POSTGRES_URL_ENV).ok().filter(|u| !u.trim().is_empty()) {
            return url.trim().to_string();
        }
        // Directly under the temporary folder: as root, the server runs as another user, who
        // must reach it.
        let dir = std::env::temp_dir().join(format!("ferry-pg-{}", std::process::id()));
        let out = Command::new(postgres_script())
            .arg("start")
            .arg(&dir)
            .arg(std::process::id().to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", postgres_script().display()));
        if !out.status.success() {
            panic!(
                "the PostgreSQL store tests need a server and none could be started:\n{}\nRun them with \
                 ./scripts/test.sh (which installs and starts PostgreSQL), or install it \
                 (scripts/postgres.sh install) and run cargo test again, or point {POSTGRES_URL_ENV} at a \
                 server (postgresql://USER@HOST:PORT/postgres, allowed to create databases)",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        String::from_utf8(out.stdout).expect("a URL").trim().to_string()
    })
}

/// A new, empty database on the test server, its name made from `label` and unique to this
/// process (`ferry_<label>_<pid>_<n>`): its URL.
pub fn postgres_database(label: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let label: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(36)
        .collect();
    let name = format!("ferry_{label}_{}_{n}", std::process::id());
    let out = Command::new(postgres_script())
        .args(["database", postgres_server(), &name])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", postgres_script().display()));
    assert!(
        out.status.success(),
        "cannot create database {name} on the test server: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).expect("a URL").trim().to_string()
}

/// Declares each test twice, against both store backends: `NAME::sqlite` on
/// `Store::open_in_memory()` and `NAME::postgres` on `Store::open_postgres` of a new database on
/// the test server ([`postgres_database`]). `Store` must be in scope where it is used.
///
/// ```ignore
/// ferry_testkit::store_tests! {
///     async fn tasks_round_trip(store) {
///         assert!(store.tasks().await.unwrap().is_empty());
///     }
/// }
/// ```
#[macro_export]
macro_rules! store_tests {
    ($($(#[$meta:meta])* async fn $name:ident($store:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $store = Store::open_in_memory().await.unwrap();
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let url = $crate::postgres_database(stringify!($name));
                    let $store = Store::open_postgres(&url).await.unwrap();
                    $body
                }
            }
        )*
    };
}
