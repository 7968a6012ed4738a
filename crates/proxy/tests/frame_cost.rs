//! The relay's cost per frame, in instructions counted by `valgrind --tool=callgrind`, must not
//! grow by more than a fifth over the figure recorded in `crates/proxy/benches/frame-cost.json`
//! for the same build profile (`cargo test` builds debug; `cargo test --release` compares with
//! the release figure). What is measured: `crates/proxy/examples/frame_cost/replay.rs`.
//!
//! After a change that makes the relay cheaper (or knowingly dearer), record the new figure:
//!
//! ```sh
//! FERRY_FRAME_COST_RECORD=1 cargo test -p ferry-proxy --test frame_cost            # debug
//! FERRY_FRAME_COST_RECORD=1 cargo test --release -p ferry-proxy --test frame_cost  # release
//! ```

#[path = "../examples/frame_cost/replay.rs"]
mod replay;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The recorded figures, by profile.
const RECORDED: &str = "benches/frame-cost.json";
/// The cost may grow this much over the recorded figure.
const ALLOWED: f64 = 1.2;

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

#[test]
fn a_relayed_frame_costs_at_most_a_fifth_more_instructions_than_recorded() {
    assert!(replay::have_valgrind(), "{}", replay::INSTALL_VALGRIND);
    let started = Instant::now();
    let exe = std::env::current_exe().unwrap();
    // This binary again, running only the replay below.
    let cmd = || {
        let mut c = Command::new(&exe);
        c.args(["--exact", "replay_under_valgrind", "--ignored", "--test-threads=1", "--quiet"]);
        c
    };
    let dir = std::env::temp_dir().join(format!("ferry-frame-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cost = replay::measure(cmd, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let cost = cost.unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(RECORDED);
    let mut recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|_| "{}".into())).unwrap();
    let measured = format!(
        "{:.0} instructions per frame ({} build, {} frames per iteration, {}: {} Ir, {}: {} Ir; {:.1} s)",
        cost.per_frame.round(),
        profile(),
        cost.frames_per_iteration,
        cost.runs[0].0,
        cost.runs[0].1,
        cost.runs[1].0,
        cost.runs[1].1,
        started.elapsed().as_secs_f64(),
    );
    if std::env::var_os("FERRY_FRAME_COST_RECORD").is_some() {
        recorded[profile()] = serde_json::json!({
            "instructions_per_frame": cost.per_frame.round() as u64,
            "revision": replay::revision(),
            "frames_per_iteration": cost.frames_per_iteration,
            "iterations": [cost.runs[0].0, cost.runs[1].0],
        });
        std::fs::write(&path, serde_json::to_string_pretty(&recorded).unwrap() + "\n").unwrap();
        println!("recorded in {RECORDED}: {measured}");
        return;
    }
    let entry = &recorded[profile()];
    let Some(figure) = entry["instructions_per_frame"].as_f64() else {
        panic!(
            "no {} figure in {RECORDED}; measured {measured}. Record it with FERRY_FRAME_COST_RECORD=1",
            profile()
        );
    };
    let at = entry["revision"].as_str().unwrap_or("?");
    println!("measured {measured}; recorded {figure:.0} at {at}, limit {:.0}", figure * ALLOWED);
    assert!(
        cost.per_frame <= figure * ALLOWED,
        "the relay's cost per frame grew more than {:.0}%: {measured}, recorded {figure:.0} at {at} \
         ({RECORDED}); if the growth is meant, record the new figure (FERRY_FRAME_COST_RECORD=1)",
        (ALLOWED - 1.0) * 100.0
    );
}

/// What runs under valgrind: the stream replayed `FERRY_FRAME_COST_ITERATIONS` times (once
/// without it).
#[test]
#[ignore = "run under valgrind by the test above"]
fn replay_under_valgrind() {
    let n = std::env::var(replay::ITERATIONS_ENV).ok().and_then(|n| n.parse().ok()).unwrap_or(1);
    replay::replay(n);
}
