#!/usr/bin/env bash
# Benchmark: `ferry export` against Apache's `mqadmin exportMetadata` on a real broker seeded with
# 10,000 topics and 10,000 subscription groups (issue target: ferry export under 5 s).
#
#   bench/export.sh [--versions 4.9.8,5.3.3] [--runs 5] [--warmup 1] [--topics 10000] [--groups 10000]
#                   [--target-secs 5] [--keep] [--no-results]
#
# For each RocketMQ version: boots one NameServer + one broker (testkit/rocketmq.sh) that loads the
# seed from topics.json / subscriptionGroup.json at boot, runs --warmup untimed rounds, then --runs
# timed rounds of `ferry export` and of the baseline `mqadmin exportMetadata` (alternating, same
# cluster, same moment), checks every output holds every seeded topic and group with the seeded
# settings, and prints a Markdown table: median and min-max wall time (mqadmin also until it
# printed "success"), mqadmin/ferry ratio of the medians, peak RSS, CPU time, and PASS/FAIL of
# every ferry run against --target-secs. The table also goes to
# bench/results/export-<date>-<time>.md (git-ignored). See bench/README.md.
#
# Exit: 0 all PASS; 1 a target missed (results still written) or any error (an output missing a
# topic or group, a cluster that did not start, ...); 2 usage. No JVM outlives the script: clusters
# are stopped on exit and each has a watchdog on this script's pid.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
RMQ="$REPO_ROOT/testkit/rocketmq.sh"
RUN_DIR="${FERRY_RUN:-$REPO_ROOT/.cache/run}"
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$BENCH_DIR/lib.sh"

VERSIONS=(4.9.8 5.3.3)
RUNS=5
WARMUP=1
N_TOPICS=10000
N_GROUPS=10000
TARGET_SECS=5
KEEP=0
WRITE_RESULTS=1
CLUSTER=bench-cluster
BROKER=bench-broker-a

die() { echo "export.sh: FAIL: $*" >&2; exit 1; }
log() { echo "export.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --versions) IFS=', ' read -r -a VERSIONS <<<"$2"; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --topics) N_TOPICS=$2; shift 2 ;;
    --groups) N_GROUPS=$2; shift 2 ;;
    --target-secs) TARGET_SECS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-results) WRITE_RESULTS=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$RUNS" "$WARMUP" "$N_TOPICS" "$N_GROUPS"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "export.sh: not a number: $n" >&2; exit 2; }
done
((RUNS >= 1)) || { echo "export.sh: --runs must be at least 1" >&2; exit 2; }
[[ "$TARGET_SECS" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "export.sh: bad --target-secs" >&2; exit 2; }
command -v python3 >/dev/null || die "python3 is required (seed generation and output checks)"

bench_workdir ferry-bench-export "outputs, logs" # what a failed run leaves in $WORK

# ------------------------------------------------------------------------------------------------
# Python helpers (written once into the work dir)
# ------------------------------------------------------------------------------------------------

# Check an export against expected.json. KIND: ferry (its document: Apache `metadata` section AND
# the `ferry` section) or mqadmin (exportMetadata's metadata.json). Prints one summary line; exit 1
# with the first differences when a seeded topic or group is missing or has other settings.
# consumeMessageOrderly is only checked where the output carries it (4.9 brokers drop the field).
cat >"$WORK/verify.py" <<'PY'
import json, sys
expected_file, kind, path = sys.argv[1:4]
exp = json.load(open(expected_file))
doc = json.load(open(path))
problems = []
orderly_checked = [0]
def check_tables(label, topics, groups):
    missing_t = [n for n in exp["topics"] if n not in topics]
    missing_g = [n for n in exp["groups"] if n not in groups]
    if missing_t:
        problems.append("%s: %d of %d seeded topics missing, e.g. %s" % (label, len(missing_t), len(exp["topics"]), missing_t[:3]))
    if missing_g:
        problems.append("%s: %d of %d seeded groups missing, e.g. %s" % (label, len(missing_g), len(exp["groups"]), missing_g[:3]))
    for n, want in exp["topics"].items():
        got = topics.get(n)
        if got is None:
            continue
        for k, v in want.items():
            if got.get(k) != v:
                problems.append("%s: topic %s: %s = %r, seeded %r" % (label, n, k, got.get(k), v))
    for n, want in exp["groups"].items():
        got = groups.get(n)
        if got is None:
            continue
        for k, v in want.items():
            if k not in got and k == "consumeMessageOrderly":
                continue
            if k == "consumeMessageOrderly":
                orderly_checked[0] += 1
            if got.get(k) != v:
                problems.append("%s: group %s: %s = %r, seeded %r" % (label, n, k, got.get(k), v))
    return len(topics) - (len(exp["topics"]) - len(missing_t)), len(groups) - (len(exp["groups"]) - len(missing_g))

meta = doc.get("metadata", doc) if kind == "ferry" else doc
extra_t, extra_g = check_tables(kind + " metadata", meta.get("topicConfigTable") or {},
                                meta.get("subscriptionGroupTable") or {})
summary = "%s: %d topics, %d groups (seeded %d/%d; %d other topics, %d other groups)" % (
    kind, len(meta.get("topicConfigTable") or {}), len(meta.get("subscriptionGroupTable") or {}),
    len(exp["topics"]), len(exp["groups"]), extra_t, extra_g)
if kind == "ferry":
    fd = doc.get("ferry") or {}
    ft = {t["name"]: t for t in fd.get("topics", [])}
    fg = {g["name"]: dict(g.get("config", {}), name=g["name"]) for g in fd.get("groups", [])}
    if len(ft) != len(fd.get("topics", [])) or len(fg) != len(fd.get("groups", [])):
        problems.append("ferry section: duplicate topic or group entries")
    check_tables("ferry section", ft, fg)
    want_ns = sorted({n.split("%", 1)[0] for n in list(exp["topics"]) + list(exp["groups"]) if "%" in n})
    missing_ns = [ns for ns in want_ns if ns not in fd.get("namespaces", [])]
    if missing_ns:
        problems.append("ferry section: namespaces %s missing (has %s)" % (missing_ns, fd.get("namespaces")))
    summary += "; ferry section %d topics, %d groups, namespaces %s" % (len(ft), len(fg), fd.get("namespaces"))
summary += "; consumeMessageOrderly %s" % ("checked" if orderly_checked[0] else "not in the output, not checked")
if problems:
    print("%s: %s does not hold the seeded metadata (%d problems):" % (path, kind, len(problems)))
    for p in problems[:15]:
        print("  " + p)
    sys.exit(1)
print(summary)
PY

# Ports, clusters (start_cluster / stop_cluster), ms_since, timed: bench/lib.sh.

run_ferry() { # RUN_LABEL; sets T_MS RSS_KB CPU_S, checks the output
  local label=$1 out="$WORK/ferry-$V-$1.json"
  rm -f "$out"
  timed "$WORK/ferry-$V-$label.stdout" "$WORK/ferry-$V-$label.stderr" "" \
    "$FERRY" export --no-input -n "$NAMESRV" -c "$CLUSTER" -o "$out" ||
    { cat "$WORK/ferry-$V-$label.stderr" >&2; die "ferry export failed on $V (run $label)"; }
  if [[ -s "$WORK/ferry-$V-$label.stderr" ]]; then
    log "ferry stderr ($V, $label): $(head -c 400 "$WORK/ferry-$V-$label.stderr")"
  fi
  FERRY_SIZE=$(stat -c %s "$out")
  python3 "$WORK/verify.py" "$WORK/seed/expected.json" ferry "$out" >"$WORK/verify.out" ||
    { cat "$WORK/verify.out" >&2; die "ferry export on $V (run $label) misses seeded metadata"; }
  FERRY_CHECK=$(cat "$WORK/verify.out")
  if [[ "$KEEP" == 0 ]]; then rm -f "$out"; fi
}

# The baseline, as operators run it: one `mqadmin exportMetadata` JVM (testkit/rocketmq.sh mqadmin:
# the version's own tools jar, exec'd java; the wrapper adds ~50 ms). Sets T_MS (until the JVM
# exited), T_RESULT_MS (until it printed "... metadata.json success", i.e. the file is written),
# RSS_KB, CPU_S; checks the output.
run_mqadmin() {
  local label=$1 dir="$WORK/mqadmin-$V-$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  timed "$WORK/mqadmin-$V-$label.stdout" "$WORK/mqadmin-$V-$label.stderr" "metadata.json success" \
    bash "$RMQ" mqadmin "$V" exportMetadata -n "$NAMESRV" -c "$CLUSTER" -f "$dir" ||
    { tail -n 20 "$WORK/mqadmin-$V-$label".std* >&2; die "mqadmin exportMetadata failed on $V (run $label)"; }
  # MQAdminStartup prints a failed subcommand's exception and still exits 0: the file decides.
  [[ -s "$dir/metadata.json" && -n "$T_RESULT_MS" ]] ||
    { tail -n 20 "$WORK/mqadmin-$V-$label".std* >&2; die "mqadmin exportMetadata on $V (run $label) wrote no metadata.json"; }
  MQADMIN_SIZE=$(stat -c %s "$dir/metadata.json")
  python3 "$WORK/verify.py" "$WORK/seed/expected.json" mqadmin "$dir/metadata.json" >"$WORK/verify.out" ||
    { cat "$WORK/verify.out" >&2; die "mqadmin exportMetadata on $V (run $label) misses seeded metadata"; }
  MQADMIN_CHECK=$(cat "$WORK/verify.out")
  if [[ "$KEEP" == 0 ]]; then rm -rf "$dir"; fi
}

# median min max of numbers
stats() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
  END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; print m, a[1], a[NR] }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.0f MiB", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }
median_of() { stats "$@" | cut -d' ' -f1; }
max_of() { stats "$@" | cut -d' ' -f3; }
# "median s | min–max s" table cells for a list of ms
time_cells() {
  local med min max
  read -r med min max < <(stats "$@")
  echo "$(secs "$med") s | $(secs "$min")–$(secs "$max") s"
}
cpu_cell() { if [[ "$1" == n/a ]]; then echo n/a; else awk -v c="$1" 'BEGIN { printf "%.2f s", c }'; fi; }

# ------------------------------------------------------------------------------------------------
# Build, fetch, seed
# ------------------------------------------------------------------------------------------------

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
find_gnu_time
# A pipe nobody writes to: `read -t` on it is a sleep without a fork.
exec {SLEEP_FD}<> <(:)

log "building ferry (release)"
(cd "$REPO_ROOT" && cargo build --release -p ferry --quiet)
FERRY="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/ferry"
[[ -x "$FERRY" ]] || die "no ferry binary at $FERRY"

log "fetching RocketMQ ${VERSIONS[*]} (idempotent)"
bash "$RMQ" fetch "${VERSIONS[@]}"

log "writing the seed: $N_TOPICS topics, $N_GROUPS groups"
python3 "$BENCH_DIR/seed.py" export "$WORK/seed" "$N_TOPICS" "$N_GROUPS"

# ------------------------------------------------------------------------------------------------
# Per version
# ------------------------------------------------------------------------------------------------

ROWS=()
DETAILS=()
RAW=()
ALL_PASS=1
for V in "${VERSIONS[@]}"; do
  name="bench-export-$V-$$"
  start_cluster "$V" "$name" "$CLUSTER" "$BROKER" "$WORK/seed"
  log "RocketMQ $V up at $NAMESRV in $(secs "$STARTUP_MS") s; $WARMUP warm-up round(s), then $RUNS timed"

  cold=""
  for ((i = 1; i <= WARMUP; i++)); do
    run_ferry "warmup$i"
    log "warm-up $i: ferry $(secs "$T_MS") s"
    if ((i == 1)); then cold="ferry $(secs "$T_MS") s"; fi
    run_mqadmin "warmup$i"
    log "warm-up $i: mqadmin $(secs "$T_MS") s (result after $(secs "$T_RESULT_MS") s)"
    if ((i == 1)); then cold+=", mqadmin $(secs "$T_MS") s (\`success\` after $(secs "$T_RESULT_MS") s)"; fi
  done

  f_ms=() f_rss=() f_cpu=() m_ms=() m_res=() m_rss=() m_cpu=()
  for ((i = 1; i <= RUNS; i++)); do
    # Alternate which tool goes first, so neither always runs right after the other.
    order="ferry mqadmin"
    if ((i % 2 == 0)); then order="mqadmin ferry"; fi
    for tool in $order; do
      if [[ "$tool" == ferry ]]; then
        run_ferry "run$i"
        f_ms+=("$T_MS") f_rss+=("$RSS_KB") f_cpu+=("$CPU_S")
        log "run $i/$RUNS: ferry $(secs "$T_MS") s, peak RSS $(mib "$RSS_KB"), CPU $CPU_S s"
      else
        run_mqadmin "run$i"
        m_ms+=("$T_MS") m_res+=("$T_RESULT_MS") m_rss+=("$RSS_KB") m_cpu+=("$CPU_S")
        log "run $i/$RUNS: mqadmin $(secs "$T_MS") s (result after $(secs "$T_RESULT_MS") s), peak RSS $(mib "$RSS_KB"), CPU $CPU_S s"
      fi
    done
  done
  log "$FERRY_CHECK"
  log "$MQADMIN_CHECK"

  bash "$RMQ" stop "$name" >/dev/null 2>&1 || true

  f_med=$(median_of "${f_ms[@]}")
  verdict=PASS
  if ! awk -v t="$(max_of "${f_ms[@]}")" -v s="$TARGET_SECS" 'BEGIN { exit !(t < s * 1000) }'; then
    verdict=FAIL ALL_PASS=0
  fi
  ROWS+=("| $V | **ferry export** | $(time_cells "${f_ms[@]}") | 1.0× | $(mib "$(max_of "${f_rss[@]}")") | $(cpu_cell "$(median_of "${f_cpu[@]}")") | **$verdict** |")
  ROWS+=("| $V | mqadmin exportMetadata | $(time_cells "${m_ms[@]}") | **$(ratio "$(median_of "${m_ms[@]}")" "$f_med")** | $(mib "$(max_of "${m_rss[@]}")") | $(cpu_cell "$(median_of "${m_cpu[@]}")") | |")
  ROWS+=("| $V | mqadmin, until \`success\` printed | $(time_cells "${m_res[@]}") | $(ratio "$(median_of "${m_res[@]}")" "$f_med") | | | |")
  DETAILS+=("- $V: NameServer + broker booted with the seed and registered in $(secs "$STARTUP_MS") s; ferry's document $((FERRY_SIZE / 1024)) KiB, mqadmin's metadata.json $((MQADMIN_SIZE / 1024)) KiB.")
  if [[ -n "$cold" ]]; then
    DETAILS+=("  - First (untimed) round, right after the broker registered: $cold.")
  fi
  DETAILS+=("  - $FERRY_CHECK")
  DETAILS+=("  - $MQADMIN_CHECK")
  RAW+=("| $V | ferry | ${f_ms[*]} | | ${f_rss[*]} | ${f_cpu[*]} |")
  RAW+=("| $V | mqadmin | ${m_ms[*]} | ${m_res[*]} | ${m_rss[*]} | ${m_cpu[*]} |")
done

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------

rev=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$REPO_ROOT" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
  rev="$rev + uncommitted changes in crates/"
fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo unknown)
java_v=$(java -version 2>&1 | head -n 1 || true)
rss_how="GNU time %M; CPU = user + sys"
if [[ -z "$GNU_TIME" ]]; then rss_how="VmHWM polled from /proc; no CPU figures without GNU time"; fi

REPORT=$(
  cat <<END_OF_REPORT
## ferry export vs mqadmin exportMetadata, $(date '+%Y-%m-%d %H:%M %Z')

- Machine: $(nproc) cores ($cpu), $mem RAM, load average $LOADAVG before the run; $java_v.
- Ferry: $rev (release build).
- One NameServer + one master broker per version on 127.0.0.1, seeded at boot with $N_TOPICS
  topics and $N_GROUPS groups; $WARMUP untimed warm-up round(s), then $RUNS timed rounds
  alternating the two tools. Wall time of the whole command; "vs ferry" = median / ferry's median.
  Target: every ferry run under ${TARGET_SECS} s.

| RocketMQ | tool | median | min–max | vs ferry | peak RSS | CPU (median) | < ${TARGET_SECS} s |
|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

$(printf '%s\n' "${DETAILS[@]}")

Raw runs (ms; peak RSS KiB, $rss_how):

| RocketMQ | tool | wall ms | until \`success\` ms | peak RSS KiB | CPU s |
|---|---|---|---|---|---|
$(printf '%s\n' "${RAW[@]}")
END_OF_REPORT
)
echo
echo "$REPORT"
if [[ "$WRITE_RESULTS" == 1 ]]; then
  mkdir -p "$BENCH_DIR/results"
  results="$BENCH_DIR/results/export-$(date +%Y-%m-%d-%H%M%S).md"
  echo "$REPORT" >"$results"
  echo
  echo "written to ${results#"$REPO_ROOT"/} (git-ignored)"
fi
OK=1
if [[ "$ALL_PASS" == 1 ]]; then exit 0; fi
log "ferry export missed the ${TARGET_SECS} s target"
exit 1
