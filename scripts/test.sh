#!/usr/bin/env bash
# The whole test suite, from a fresh machine: fetches the RocketMQ jars and builds the Java harness
# (testkit/rocketmq.sh fetch), then runs every Rust test (unit, wire, and integration tests against
# real NameServers and brokers), the lints, and a short fuzzing run of the frame decoder.
#   FERRY_SKIP_FUZZ=1   skip the fuzzing run (it installs a nightly toolchain and cargo-fuzz once)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "RocketMQ 4.9.8 and 5.3.3 jars from Maven Central, Java harness"
testkit/rocketmq.sh fetch

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests (real clusters start once per test binary)"
cargo test --workspace --locked

if [ "${FERRY_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzzing the frame decoder for ${FERRY_FUZZ_SECONDS:-30} s"
  scripts/fuzz.sh "${FERRY_FUZZ_SECONDS:-30}"
fi

step "all tests passed"
