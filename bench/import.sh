#!/usr/bin/env bash
# Benchmark: `ferry import` of 1,000 topics and 1,000 subscription groups into an empty cluster,
# against the same work done the way operators do it today, one `mqadmin updateTopic` /
# `mqadmin updateSubGroup` per item (issue goal: ferry at least 10x faster).
#
#   bench/import.sh [--versions 4.9.8,5.3.3] [--topics 1000] [--groups 1000] [--baseline-sample 100]
#                   [--source-version 4.9.8] [--concurrency N] [--target-ratio 10] [--keep] [--no-results]
#
# Once: boots a source cluster (--source-version) seeded at boot with the topics and groups and
# writes the document with `ferry export`. Then for each target version: a fresh empty cluster for
# ferry (timed `ferry import` of the whole document, exit 0 and every item "created", then `ferry
# export` of the target must hold exactly the seeded items with the seeded settings; then a second
# timed `ferry import`: every item "unchanged" and the broker's topic and group tables not written),
# and a second fresh empty cluster of the same version for the baseline: --baseline-sample topics
# and as many groups, one mqadmin JVM each, sequentially, each timed; the sampled items must then be
# on that cluster with the seeded settings. The baseline total for all items is extrapolated
# linearly from the sample's per-item means (labelled as such). Prints a Markdown table: ferry's
# wall time, peak RSS and CPU, the baseline per item and extrapolated, the ratio, PASS/FAIL against
# --target-ratio; the table also goes to bench/results/import-<date>-<time>.md (git-ignored).
# See bench/README.md.
#
# Exit: 0 all PASS; 1 a goal missed (results still written) or any error (an item failed or is
# missing, a cluster that did not start, ...); 2 usage. No JVM outlives the script: clusters are
# stopped on exit and each has a watchdog on this script's pid.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
RMQ="$REPO_ROOT/testkit/rocketmq.sh"
RUN_DIR="${FERRY_RUN:-$REPO_ROOT/.cache/run}"
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$BENCH_DIR/lib.sh"

VERSIONS=(4.9.8 5.3.3)
SOURCE_VERSION=4.9.8
N_TOPICS=1000
N_GROUPS=1000
SAMPLE=100
CONCURRENCY=""
TARGET_RATIO=10
KEEP=0
WRITE_RESULTS=1
SOURCE_CLUSTER=bench-source
SOURCE_BROKER=bench-source-a
CLUSTER=bench-cluster
BROKER=bench-broker-a

die() { echo "import.sh: FAIL: $*" >&2; exit 1; }
log() { echo "import.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --versions) IFS=', ' read -r -a VERSIONS <<<"$2"; shift 2 ;;
    --source-version) SOURCE_VERSION=$2; shift 2 ;;
    --topics) N_TOPICS=$2; shift 2 ;;
    --groups) N_GROUPS=$2; shift 2 ;;
    --baseline-sample) SAMPLE=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --target-ratio) TARGET_RATIO=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-results) WRITE_RESULTS=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$N_TOPICS" "$N_GROUPS" "$SAMPLE" ${CONCURRENCY:+"$CONCURRENCY"}; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "import.sh: not a number: $n" >&2; exit 2; }
done
((N_TOPICS >= 1 && N_GROUPS >= 1)) || { echo "import.sh: --topics and --groups must be at least 1" >&2; exit 2; }
((SAMPLE >= 1)) || { echo "import.sh: --baseline-sample must be at least 1" >&2; exit 2; }
((SAMPLE <= N_TOPICS && SAMPLE <= N_GROUPS)) ||
  { echo "import.sh: --baseline-sample is larger than --topics or --groups" >&2; exit 2; }
[[ -z "$CONCURRENCY" ]] || ((CONCURRENCY >= 1)) || { echo "import.sh: --concurrency must be at least 1" >&2; exit 2; }
[[ "$TARGET_RATIO" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "import.sh: bad --target-ratio" >&2; exit 2; }
((${#VERSIONS[@]} >= 1)) || { echo "import.sh: --versions is empty" >&2; exit 2; }
command -v python3 >/dev/null || die "python3 is required (seed generation and checks)"

bench_workdir ferry-bench-import "document, outputs, logs" # what a failed run leaves in $WORK

# ------------------------------------------------------------------------------------------------
# Python helpers (written once into the work dir)
# ------------------------------------------------------------------------------------------------

# check.py EXPECTED LABEL DOC [SAMPLE]: DOC (a `ferry export` document) must hold every expected
# topic and group (or, with SAMPLE, every name listed there) with the expected settings, in its
# Apache `metadata` tables. Without SAMPLE it must also hold nothing else (the export leaves system
# items out). Prints one summary line; exit 1 with the first differences.
cat >"$WORK/check.py" <<'PY'
import json, sys
expected_file, label, path = sys.argv[1:4]
exp = json.load(open(expected_file))
doc = json.load(open(path))
if len(sys.argv) > 4:
    names = set(l.strip() for l in open(sys.argv[4]) if l.strip())
    exp = {"topics": {n: v for n, v in exp["topics"].items() if n in names},
           "groups": {n: v for n, v in exp["groups"].items() if n in names}}
    exact = False
else:
    exact = True
meta = doc.get("metadata", {})
topics, groups = meta.get("topicConfigTable") or {}, meta.get("subscriptionGroupTable") or {}
problems = []
for kind, want_all, have in (("topic", exp["topics"], topics), ("group", exp["groups"], groups)):
    missing = [n for n in want_all if n not in have]
    if missing:
        problems.append("%d of %d %ss missing, e.g. %s" % (len(missing), len(want_all), kind, missing[:3]))
    extra = [n for n in have if n not in want_all]
    if exact and extra:
        problems.append("%d %ss not in the seed, e.g. %s" % (len(extra), kind, extra[:3]))
    for n, want in want_all.items():
        got = have.get(n)
        if got is None:
            continue
        for k, v in want.items():
            if got.get(k) != v:
                problems.append("%s %s: %s = %r, expected %r" % (kind, n, k, got.get(k), v))
extra_t = len([n for n in topics if n not in exp["topics"]])
extra_g = len([n for n in groups if n not in exp["groups"]])
summary = "%s: %d topics, %d groups (%s %d/%d with the seeded settings; %d other topics, %d other groups)" % (
    label, len(topics), len(groups), "all" if exact else "sampled", len(exp["topics"]), len(exp["groups"]),
    extra_t, extra_g)
if problems:
    print("%s: %s (%d problems):" % (path, label, len(problems)))
    for p in problems[:15]:
        print("  " + p)
    sys.exit(1)
print(summary)
PY

# outcomes.py JSON WANT: `ferry import --json` output; every item must have status WANT (created on
# the first run, unchanged on the second). Prints "N items: a created, b unchanged, ...; W warnings".
cat >"$WORK/outcomes.py" <<'PY'
import collections, json, sys
path, want = sys.argv[1:3]
text = open(path).read()
start = text.find("[")
items = json.loads(text[start:]) if start >= 0 else []
by = collections.Counter(i["outcome"]["status"] for i in items)
kinds = collections.Counter(i["kind"] for i in items)
warnings = sum(len(i.get("warnings") or []) for i in items)
summary = "%d items (%s): %s; %d warnings" % (
    len(items), ", ".join("%d %ss" % (n, k.lower()) for k, n in sorted(kinds.items())),
    ", ".join("%d %s" % (n, s) for s, n in sorted(by.items())), warnings)
print(summary)
bad = [i for i in items if i["outcome"]["status"] != want]
for i in bad[:10]:
    print("  %s %s: %s %s" % (i["kind"], i["targetName"], i["outcome"]["status"], i["outcome"].get("cause", "")),
          file=sys.stderr)
sys.exit(1 if bad or not items else 0)
PY

# sample.py EXPECTED N NAMESRV CLUSTER OUT_DIR: N topics and N groups drawn from the seed with a
# fixed random seed (the same sample every run; a stride would hit a biased mix, e.g. every 10th
# topic is namespaced and every 5th of those ordered), in seed order, and the
# mqadmin arguments an operator would give for each, with every seeded setting as a flag. Writes
# OUT_DIR/names (one name per line) and OUT_DIR/args (kind, then the arguments, tab separated).
cat >"$WORK/sample.py" <<'PY'
import json, os, random, sys
exp = json.load(open(sys.argv[1]))
n, namesrv, cluster, out = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def spread(names):
    names = list(names)
    return [names[i] for i in sorted(random.Random(20261125).sample(range(len(names)), n))]
lines, names = [], []
for t in spread(exp["topics"]):
    c = exp["topics"][t]
    args = ["updateTopic", "-n", namesrv, "-c", cluster, "-t", t, "-r", str(c["readQueueNums"]),
            "-w", str(c["writeQueueNums"]), "-p", str(c["perm"])]
    if c["order"]:
        args += ["-o", "true"]
    lines.append("\t".join(["topic"] + args)); names.append(t)
for g in spread(exp["groups"]):
    c = exp["groups"][g]
    args = ["updateSubGroup", "-n", namesrv, "-c", cluster, "-g", g, "-r", str(c["retryMaxTimes"]),
            "-q", str(c["retryQueueNums"]), "-d", str(c["consumeBroadcastEnable"]).lower(),
            "-s", str(c["consumeEnable"]).lower()]
    lines.append("\t".join(["group"] + args)); names.append(g)
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "args"), "w").write("\n".join(lines) + "\n")
open(os.path.join(out, "names"), "w").write("\n".join(names) + "\n")
ordered = sum(1 for t in spread(exp["topics"]) if exp["topics"][t]["order"])
ns_t = sum(1 for t in spread(exp["topics"]) if "%" in t)
ns_g = sum(1 for g in spread(exp["groups"]) if "%" in g)
print("%d topics (%d namespaced, %d ordered), %d groups (%d namespaced)" % (n, ns_t, ordered, n, ns_g))
PY

# dataversion.py STORE: the dataVersion of the broker's topic and group tables (bumped by every
# write the broker takes), to show that a re-run wrote nothing.
cat >"$WORK/dataversion.py" <<'PY'
import json, os, sys
cfg = os.path.join(sys.argv[1], "config")
out = []
for f, table in (("topics.json", "topicConfigTable"), ("subscriptionGroup.json", "subscriptionGroupTable")):
    d = json.load(open(os.path.join(cfg, f)))
    v = d.get("dataVersion", {})
    out.append("%s=%s/%s(%d)" % (f, v.get("counter"), v.get("timestamp"), len(d.get(table, {}))))
print(" ".join(out))
PY

# brokertime.py BROKER_LOGS: what the broker's own log says about the topic writes it took
# ("executionTime of create topic:T is N ms", 5.x and 4.9). Prints "n median p90 max sum" in ms, or
# nothing when the broker does not log it.
cat >"$WORK/brokertime.py" <<'PY'
import os, re, sys
ms = []
path = os.path.join(sys.argv[1], "broker.log")
if os.path.exists(path):
    for line in open(path, errors="replace"):
        m = re.search(r"executionTime of create topic:\S+ is (\d+) ms", line)
        if m:
            ms.append(int(m.group(1)))
if ms:
    ms.sort()
    print(len(ms), ms[len(ms) // 2], ms[int(len(ms) * 0.9)], ms[-1], sum(ms))
PY

# Ports, clusters (start_cluster / stop_cluster), ms_since, timed: bench/lib.sh.

# ferry_export NAMESRV CLUSTER OUT: an untimed `ferry export` (document, checks).
ferry_export() {
  "$FERRY" export --no-input -n "$1" -c "$2" -o "$3" >"$3.stdout" 2>"$3.stderr" ||
    { cat "$3.stderr" >&2; die "ferry export of $1 ($2) failed"; }
}

# run_ferry_import LABEL WANT: the timed import into the ferry target ($NAMESRV); sets T_MS RSS_KB
# CPU_S and OUTCOMES (summary); every item must end WANT (created / unchanged) and ferry exit 0.
run_ferry_import() {
  local label=$1 want=$2 rc=0 base="$WORK/ferry-$V-$1"
  # Ferry's task store (tasks and item results, SQLite) in the work dir, not the user's.
  timed "$base.json" "$base.stderr" "" env FERRY_STORE="$WORK/ferry-store-$V.db" \
    "$FERRY" import -n "$NAMESRV" -c "$CLUSTER" --from "$WORK/document.json" --json \
    ${CONCURRENCY:+--concurrency "$CONCURRENCY"} || rc=$?
  if [[ -s "$base.stderr" ]]; then log "ferry import stderr ($V, $label): $(head -c 400 "$base.stderr")"; fi
  OUTCOMES=$(python3 "$WORK/outcomes.py" "$base.json" "$want" 2>"$base.bad") || {
    cat "$base.bad" >&2
    die "ferry import on $V ($label, exit $rc): not every item $want: $OUTCOMES"
  }
  ((rc == 0)) || { tail -n 5 "$base.stderr" >&2; die "ferry import on $V ($label) exited $rc"; }
}

# The baseline, as operators run it: one mqadmin JVM per item (testkit/rocketmq.sh mqadmin: the
# version's own tools jar, exec'd java; the wrapper adds ~50 ms), one after the other. Sets
# B_TOPIC_MS B_TOPIC_RES B_GROUP_MS B_GROUP_RES (lists: whole command; until it printed the
# resulting config, i.e. after its last write) and B_RSS (max peak RSS, KiB).
run_baseline() {
  local kind i=0 n rc args log_base marker
  B_TOPIC_MS=() B_TOPIC_RES=() B_GROUP_MS=() B_GROUP_RES=() B_RSS=0
  n=$(wc -l <"$WORK/sample-$V/args")
  while IFS=$'\t' read -r -a args; do
    kind=${args[0]}
    args=("${args[@]:1}")
    i=$((i + 1))
    log_base="$WORK/mqadmin-$V-$i"
    # The command's last output, after its last write: `TopicConfig [...]` / `SubscriptionGroupConfig...`.
    marker="TopicConfig ["
    if [[ "$kind" == group ]]; then marker="SubscriptionGroupConfig"; fi
    rc=0
    timed "$log_base.stdout" "$log_base.stderr" "$marker" bash "$RMQ" mqadmin "$V" "${args[@]}" || rc=$?
    # MQAdminStartup prints a failed subcommand's exception and still exits 0: the result line decides.
    if ((rc != 0)) || [[ -z "$T_RESULT_MS" ]]; then
      grep -v '|-' "$log_base.stdout" | tail -n 20 >&2 || true
      tail -n 5 "$log_base.stderr" >&2 || true
      die "mqadmin ${args[*]} on $V: exit $rc, no result printed"
    fi
    if [[ "$kind" == topic ]]; then
      B_TOPIC_MS+=("$T_MS") B_TOPIC_RES+=("$T_RESULT_MS")
    else
      B_GROUP_MS+=("$T_MS") B_GROUP_RES+=("$T_RESULT_MS")
    fi
    if ((RSS_KB > B_RSS)); then B_RSS=$RSS_KB; fi
    if ((i % 25 == 0 || i == n)); then
      log "baseline $V: $i/$n calls, last: $kind $(secs "$T_MS") s (result after $(secs "$T_RESULT_MS") s)"
    fi
    if [[ "$KEEP" == 0 ]]; then rm -f "$log_base.stdout" "$log_base.stderr"; fi
  done <"$WORK/sample-$V/args"
}

# mean min max of numbers
stats() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1; s += $1 } END { printf "%.1f %d %d\n", s / NR, a[1], a[NR] }'; }
mean_of() { stats "$@" | cut -d' ' -f1; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
mins() { awk -v ms="$1" 'BEGIN { s = ms / 1000; if (s < 120) printf "%.0f s", s; else printf "%.0f s (%.1f min)", s, s / 60 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.0f MiB", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f×", a / b }'; }
# "mean s (min–max s)" of a list of ms
per_item() {
  local mean min max
  read -r mean min max < <(stats "$@")
  echo "$(secs "$mean") s ($(secs "$min")–$(secs "$max") s)"
}
cpu_cell() { if [[ "$1" == n/a ]]; then echo n/a; else awk -v c="$1" 'BEGIN { printf "%.2f s", c }'; fi; }

# ------------------------------------------------------------------------------------------------
# Build, fetch, seed, document
# ------------------------------------------------------------------------------------------------

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
T_BENCH0=${EPOCHREALTIME//[!0-9]/}
find_gnu_time
# A pipe nobody writes to: `read -t` on it is a sleep without a fork.
exec {SLEEP_FD}<> <(:)

log "building ferry (release)"
(cd "$REPO_ROOT" && cargo build --release -p ferry --quiet)
BUILT="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/ferry"
[[ -x "$BUILT" ]] || die "no ferry binary at $BUILT"
# A copy, so a rebuild in the tree while the benchmark runs (about 30 min) does not change the binary.
FERRY="$WORK/ferry"
cp "$BUILT" "$FERRY"
# The revision the copy was built from (the tree may move on while the benchmark runs).
rev=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$REPO_ROOT" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
  rev="$rev + uncommitted changes in crates/"
fi

mapfile -t all_versions < <(printf '%s\n' "$SOURCE_VERSION" "${VERSIONS[@]}" | sort -u)
log "fetching RocketMQ ${all_versions[*]} (idempotent)"
bash "$RMQ" fetch "${all_versions[@]}"

log "writing the seed: $N_TOPICS topics, $N_GROUPS groups"
python3 "$BENCH_DIR/seed.py" import "$WORK/seed" "$N_TOPICS" "$N_GROUPS"

src="bench-import-src-$$"
start_cluster "$SOURCE_VERSION" "$src" "$SOURCE_CLUSTER" "$SOURCE_BROKER" "$WORK/seed"
log "source RocketMQ $SOURCE_VERSION up at $NAMESRV in $(secs "$STARTUP_MS") s; exporting the document"
ferry_export "$NAMESRV" "$SOURCE_CLUSTER" "$WORK/document.json"
DOC_CHECK=$(python3 "$WORK/check.py" "$WORK/seed/expected.json" "document (ferry export of the source)" \
  "$WORK/document.json") || { echo "$DOC_CHECK" >&2; die "the source's export does not hold the seed"; }
DOC_KIB=$(($(stat -c %s "$WORK/document.json") / 1024))
log "$DOC_CHECK"
stop_cluster "$src"

# ------------------------------------------------------------------------------------------------
# Per target version
# ------------------------------------------------------------------------------------------------

ROWS=()
DETAILS=()
RAW=()
ALL_PASS=1
N_ITEMS=$((N_TOPICS + N_GROUPS))
for V in "${VERSIONS[@]}"; do
  # --- ferry: a fresh empty target --------------------------------------------------------------
  name="bench-import-ferry-$V-$$"
  start_cluster "$V" "$name" "$CLUSTER" "$BROKER"
  ferry_startup=$STARTUP_MS
  # Untimed: the target is empty, and the broker is past its first runtime sample (a freshly booted
  # broker refuses GET_BROKER_RUNTIME_INFO for about a second; import retries it every 500 ms).
  ferry_export "$NAMESRV" "$CLUSTER" "$WORK/ferry-$V-before.json"
  empty=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metadata"]; print(len(m["topicConfigTable"]) + len(m["subscriptionGroupTable"]))' "$WORK/ferry-$V-before.json")
  [[ "$empty" == 0 ]] || die "the fresh $V target is not empty ($empty topics and groups)"
  log "ferry target $V up at $NAMESRV in $(secs "$ferry_startup") s, empty; importing $N_TOPICS topics and $N_GROUPS groups"

  run_ferry_import run1 created
  f1_ms=$T_MS f1_rss=$RSS_KB f1_cpu=$CPU_S f1_out=$OUTCOMES
  log "ferry import $V: $(secs "$f1_ms") s, peak RSS $(mib "$f1_rss"), CPU $f1_cpu s; $f1_out"

  ferry_export "$NAMESRV" "$CLUSTER" "$WORK/ferry-$V-after.json"
  F_CHECK=$(python3 "$WORK/check.py" "$WORK/seed/expected.json" "ferry target after the import" \
    "$WORK/ferry-$V-after.json") || { echo "$F_CHECK" >&2; die "the $V target does not hold what ferry imported"; }
  log "$F_CHECK"

  dv_before=$(python3 "$WORK/dataversion.py" "$STORE")
  run_ferry_import run2 unchanged
  f2_ms=$T_MS f2_rss=$RSS_KB f2_out=$OUTCOMES
  dv_after=$(python3 "$WORK/dataversion.py" "$STORE")
  [[ "$dv_before" == "$dv_after" ]] ||
    die "the second ferry import on $V wrote to the broker: $dv_before -> $dv_after"
  log "ferry import $V again: $(secs "$f2_ms") s; $f2_out; broker tables not written ($dv_after)"
  f_broker=$(python3 "$WORK/brokertime.py" "$BROKER_LOGS")
  stop_cluster "$name"

  # --- baseline: a second fresh empty target, one mqadmin per item ------------------------------
  name="bench-import-mqadmin-$V-$$"
  start_cluster "$V" "$name" "$CLUSTER" "$BROKER"
  base_startup=$STARTUP_MS
  ferry_export "$NAMESRV" "$CLUSTER" "$WORK/mqadmin-$V-before.json"
  SAMPLE_DESC=$(python3 "$WORK/sample.py" "$WORK/seed/expected.json" "$SAMPLE" "$NAMESRV" "$CLUSTER" "$WORK/sample-$V")
  log "baseline target $V up at $NAMESRV in $(secs "$base_startup") s; sample: $SAMPLE_DESC, one mqadmin each"
  run_baseline
  ferry_export "$NAMESRV" "$CLUSTER" "$WORK/mqadmin-$V-after.json"
  B_CHECK=$(python3 "$WORK/check.py" "$WORK/seed/expected.json" "baseline target after the mqadmin calls" \
    "$WORK/mqadmin-$V-after.json" "$WORK/sample-$V/names") ||
    { echo "$B_CHECK" >&2; die "the $V baseline target does not hold what mqadmin created"; }
  log "$B_CHECK"
  b_broker=$(python3 "$WORK/brokertime.py" "$BROKER_LOGS")
  stop_cluster "$name"

  # --- figures ----------------------------------------------------------------------------------
  t_mean=$(mean_of "${B_TOPIC_MS[@]}") g_mean=$(mean_of "${B_GROUP_MS[@]}")
  t_res=$(mean_of "${B_TOPIC_RES[@]}") g_res=$(mean_of "${B_GROUP_RES[@]}")
  b_total=$(awk -v t="$t_mean" -v g="$g_mean" -v nt="$N_TOPICS" -v ng="$N_GROUPS" 'BEGIN { printf "%.0f", t * nt + g * ng }')
  b_res_total=$(awk -v t="$t_res" -v g="$g_res" -v nt="$N_TOPICS" -v ng="$N_GROUPS" 'BEGIN { printf "%.0f", t * nt + g * ng }')
  b_measured=0
  for ms in "${B_TOPIC_MS[@]}" "${B_GROUP_MS[@]}"; do b_measured=$((b_measured + ms)); done
  verdict=PASS
  # The goal is judged on the conservative figure (mqadmin until its result was printed).
  if ! awk -v b="$b_res_total" -v f="$f1_ms" -v r="$TARGET_RATIO" 'BEGIN { exit !(b >= r * f) }'; then
    verdict=FAIL ALL_PASS=0
  fi
  ROWS+=("| $V | **ferry import**, all $N_ITEMS items | **$(secs "$f1_ms") s** (measured) | 1× | $(mib "$f1_rss") | $(cpu_cell "$f1_cpu") | **$verdict** |")
  ROWS+=("| $V | ferry import again (all unchanged) | $(secs "$f2_ms") s (measured) | | $(mib "$f2_rss") | | |")
  ROWS+=("| $V | mqadmin, one JVM per item | $(mins "$b_total") **extrapolated** from $((SAMPLE * 2)) | **$(ratio "$b_total" "$f1_ms")** | $(mib "$B_RSS") per JVM | | |")
  ROWS+=("| $V | mqadmin, until each printed its result | $(mins "$b_res_total") **extrapolated** from $((SAMPLE * 2)) | **$(ratio "$b_res_total" "$f1_ms")** | | | |")
  DETAILS+=("- $V: targets booted empty and registered in $(secs "$ferry_startup") s (ferry's) and $(secs "$base_startup") s (baseline's).")
  DETAILS+=("  - ferry import: $f1_out. Again: $f2_out; the broker's topic and group tables were not written (dataVersion unchanged).")
  DETAILS+=("  - $F_CHECK.")
  line="  - ferry's first import: $(awk -v n="$N_ITEMS" -v ms="$f1_ms" 'BEGIN { printf "%.0f", n * 1000 / ms }') items/s, $(cpu_cell "$f1_cpu") CPU in $(secs "$f1_ms") s wall."
  if [[ -n "$f_broker" ]]; then
    read -r bn bmed bp90 bmax bsum <<<"$f_broker"
    line+=" The broker's own log (\`executionTime of create topic\`) for its $bn topic writes: median $bmed ms, p90 $bp90 ms, max $bmax ms, $(secs "$bsum") s in all."
  fi
  DETAILS+=("$line")
  DETAILS+=("  - Baseline sample: $SAMPLE_DESC. Per \`updateTopic\`: $(per_item "${B_TOPIC_MS[@]}") whole command, $(per_item "${B_TOPIC_RES[@]}") until its result; per \`updateSubGroup\`: $(per_item "${B_GROUP_MS[@]}"), $(per_item "${B_GROUP_RES[@]}"). The $((SAMPLE * 2)) calls took $(mins "$b_measured") in all (measured).")
  DETAILS+=("  - $B_CHECK.")
  if [[ -n "$b_broker" ]]; then
    read -r bn bmed bp90 bmax bsum <<<"$b_broker"
    DETAILS+=("  - The broker's own log for the baseline's $bn topic writes: median $bmed ms, p90 $bp90 ms, max $bmax ms.")
  fi
  RAW+=("| $V | ferry import | $f1_ms, again $f2_ms | $f1_rss, again $f2_rss |")
  RAW+=("| $V | mqadmin updateTopic | ${B_TOPIC_MS[*]} | until result: ${B_TOPIC_RES[*]} |")
  RAW+=("| $V | mqadmin updateSubGroup | ${B_GROUP_MS[*]} | until result: ${B_GROUP_RES[*]} |")
done

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo unknown)
java_v=$(java -version 2>&1 | head -n 1 || true)
rss_how="GNU time %M; CPU = user + sys"
if [[ -z "$GNU_TIME" ]]; then rss_how="VmHWM polled from /proc; no CPU figures without GNU time"; fi

REPORT=$(
  cat <<END_OF_REPORT
## ferry import vs one mqadmin call per item, $(date '+%Y-%m-%d %H:%M %Z')

- Machine: $(nproc) cores ($cpu), $mem RAM, load average $LOADAVG before the run; $java_v.
- Ferry: $rev (release build); \`ferry import --json\`${CONCURRENCY:+ --concurrency $CONCURRENCY}${CONCURRENCY:- (default concurrency)}.
- Document: \`ferry export\` of a RocketMQ $SOURCE_VERSION source seeded with $N_TOPICS topics and
  $N_GROUPS groups (${DOC_KIB} KiB). Each target version: one fresh empty NameServer + master broker on
  127.0.0.1 for ferry, another for the baseline.
- Baseline: \`mqadmin updateTopic -c\` / \`updateSubGroup -c\` with every seeded setting as a flag,
  one JVM per item, sequentially, on $SAMPLE topics + $SAMPLE groups; the total for all $N_ITEMS
  items is **extrapolated linearly** from the per-item means (topics and groups separately).
  Ratio = baseline total / ferry's first import. Goal: at least ${TARGET_RATIO}×, judged on the
  conservative "until each printed its result" figure.

| RocketMQ | what | wall time | ratio | peak RSS | CPU | ≥ ${TARGET_RATIO}× |
|---|---|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

- $DOC_CHECK.
$(printf '%s\n' "${DETAILS[@]}")
- The whole benchmark took $(mins "$(ms_since "$T_BENCH0")").

Raw (ms; peak RSS KiB, $rss_how):

| RocketMQ | what | wall ms | |
|---|---|---|---|
$(printf '%s\n' "${RAW[@]}")
END_OF_REPORT
)
echo
echo "$REPORT"
if [[ "$WRITE_RESULTS" == 1 ]]; then
  mkdir -p "$BENCH_DIR/results"
  results="$BENCH_DIR/results/import-$(date +%Y-%m-%d-%H%M%S).md"
  echo "$REPORT" >"$results"
  echo
  echo "written to ${results#"$REPO_ROOT"/} (git-ignored)"
fi
OK=1
if [[ "$ALL_PASS" == 1 ]]; then exit 0; fi
log "ferry import missed the ${TARGET_RATIO}× goal"
exit 1
