#!/usr/bin/env bash
# Fuzzes with cargo-fuzz, each target for N seconds (default 10; 4 targets, so 40 s in all, plus
# the build), starting from its named seed corpus in fuzz/corpus/<target>:
#   decode_frame     the frame decoder and fastjson body parser (fuzz/fuzz_targets/decode_frame.rs)
#   read_json        metadata documents: Ferry's JSON, Apache's export.sh / exportMetadata files
#   read_xlsx        .xlsx workbooks as uploaded (ZIP bytes)
#   read_xlsx_parts  the XML inside a workbook (a sheet and the shared strings), packed into a valid ZIP
# Each target first replays the inputs that once crashed it (fuzz/regressions/<target>/, below): one
# that fails again fails the run. Installs a nightly toolchain and cargo-fuzz if they are missing. A
# crash, a panic, an input taking over 10 s or a run over 1 GiB fails and leaves the input in
# fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. scripts/fuzz.sh 600 read_xlsx   (a longer run of one)
#   scripts/fuzz.sh --seeds                 rewrite the document readers' seeds with Ferry's own writers
# Inputs that once crashed a target are kept in fuzz/regressions/<target>/; replay one with
#   (cd fuzz && cargo +nightly fuzz run <target> regressions/<target>/<file>)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--seeds" ]]; then
  # Same dependency versions as the workspace, and its build directory.
  cp Cargo.lock fuzz/seeds/Cargo.lock
  CARGO_TARGET_DIR="$PWD/target" cargo run --manifest-path fuzz/seeds/Cargo.toml
  rm -f fuzz/seeds/Cargo.lock
  exit 0
fi

seconds=${1:-10}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(decode_frame read_json read_xlsx read_xlsx_parts)

max_len() {
  case "$1" in
    decode_frame) echo 4096 ;;
    read_xlsx_parts) echo 32768 ;;
    *) echo 65536 ;;
  esac
}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
  regressions=(fuzz/regressions/"$target"/*)
  if [[ -e "${regressions[0]}" ]]; then
    echo "replaying ${#regressions[@]} regression input(s) of $target"
    # Given files rather than a folder, libFuzzer runs each of them once and stops.
    (cd fuzz && cargo +nightly fuzz run "$target" "${regressions[@]#fuzz/}" -- \
      -rss_limit_mb=1024 -timeout=10)
  fi
  echo "fuzzing $target for $seconds s"
  # Work on a copy so that new inputs do not dirty the committed seed corpus.
  mkdir -p "$work/$target"
  cp fuzz/corpus/"$target"/* "$work/$target"/
  (cd fuzz && cargo +nightly fuzz run "$target" "$work/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -max_len="$(max_len "$target")" -print_final_stats=1)
done
