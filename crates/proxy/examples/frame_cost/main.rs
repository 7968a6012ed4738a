//! The relay's cost per frame in instructions: a recorded stream of real client and broker frames
//! replayed through the relay's per-frame path against in-process peers, run under
//! `valgrind --tool=callgrind` twice ([`replay`]).
//!
//! ```sh
//! cargo run --release -p ferry-proxy --example frame_cost            # the release figure
//! cargo run -p ferry-proxy --example frame_cost                      # the debug build's
//! cargo run --release -p ferry-proxy --example frame_cost -- --keep  # keep callgrind's output
//! ```
//!
//! With `FERRY_FRAME_COST_ITERATIONS=N` set it only replays the stream N times (what valgrind
//! runs). The guard in `cargo test` (`crates/proxy/tests/frame_cost.rs`) measures the debug build.

mod replay;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    if let Ok(n) = std::env::var(replay::ITERATIONS_ENV) {
        replay::replay(n.parse().expect("iterations"));
        return ExitCode::SUCCESS;
    }
    if !replay::have_valgrind() {
        eprintln!("{}", replay::INSTALL_VALGRIND);
        return ExitCode::FAILURE;
    }
    let keep = std::env::args().any(|a| a == "--keep");
    let exe = std::env::current_exe().expect("own path");
    let dir = std::env::temp_dir().join(format!("ferry-frame-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("work dir");
    let cost = replay::measure(|| Command::new(&exe), &dir);
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    match cost {
        Ok(c) => {
            println!(
                "{:.0} instructions per frame ({profile} build, revision {}; {} frames per iteration; \
                 {} iterations: {} Ir, {} iterations: {} Ir)",
                c.per_frame.round(),
                replay::revision(),
                c.frames_per_iteration,
                c.runs[0].0,
                c.runs[0].1,
                c.runs[1].0,
                c.runs[1].1,
            );
            if keep {
                println!("callgrind output: {} (callgrind_annotate it)", c.out_file.display());
            } else {
                let _ = std::fs::remove_dir_all(&dir);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
