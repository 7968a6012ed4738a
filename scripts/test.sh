#!/usr/bin/env bash
# The whole test suite, from a fresh machine: fetches the RocketMQ jars and builds the Java harness
# (testkit/rocketmq.sh fetch), installs Chromium, Node.js and PostgreSQL (apt-get, when missing) and the
# browser tests' npm packages, starts a throwaway PostgreSQL server on loopback for the store's tests
# (scripts/postgres.sh; stopped on exit), then runs every Rust test (unit, wire, integration tests against real
# NameServers and brokers, and the web console in headless Chromium), the lints, and a short fuzzing
# run of each fuzz target (the frame decoder and the JSON and .xlsx document readers).
#   FERRY_SKIP_FUZZ=1        skip the fuzzing run (it installs a nightly toolchain and cargo-fuzz once)
#   FERRY_FUZZ_SECONDS=N     fuzz each of the 4 targets N s (default 10, 40 s in all)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "RocketMQ 4.9.8 and 5.3.3 jars from Maven Central, Java harness"
testkit/rocketmq.sh fetch

step "Chromium, Node.js, valgrind (the relay's instruction-count test) and the browser tests' locked npm packages (tests/browser)"
missing=()
[ -x "${FERRY_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
(cd tests/browser && npm ci --no-audit --no-fund)

step "PostgreSQL (Debian's packages) and a throwaway server on loopback for the store's tests"
scripts/postgres.sh install
pg_dir=$(mktemp -d)
trap 'scripts/postgres.sh stop "$pg_dir"' EXIT
FERRY_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir")
export FERRY_TEST_POSTGRES_URL
echo "PostgreSQL at $FERRY_TEST_POSTGRES_URL (a database per test)"

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests (real clusters start once per test binary)"
cargo test --workspace --locked

if [ "${FERRY_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzzing each target for ${FERRY_FUZZ_SECONDS:-10} s"
  scripts/fuzz.sh "${FERRY_FUZZ_SECONDS:-10}"
fi

step "all tests passed"
