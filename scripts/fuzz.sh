#!/usr/bin/env bash
# Fuzzes the frame decoder (fuzz/fuzz_targets/decode_frame.rs) with cargo-fuzz for N seconds
# (default 30), starting from the named seed corpus in fuzz/corpus/decode_frame. Installs a nightly
# toolchain and cargo-fuzz if they are missing. A crash fails the run and leaves the input in
# fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz

# Work on a copy so that new inputs do not dirty the committed seed corpus.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp fuzz/corpus/decode_frame/* "$work"/
cd fuzz
cargo +nightly fuzz run decode_frame "$work" -- -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=4096
