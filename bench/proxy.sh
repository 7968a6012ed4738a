#!/usr/bin/env bash
# Benchmark: the real Java producer and consumer directly against a broker and through Ferry's
# proxy (`ferry serve`: NameServer front + relay), in the same run, on the same topic; and Ferry's
# memory with 1,000 client connections open through one relay (issue goals: throughput through
# Ferry at least 0.95 of direct, at most 0.2 ms added p99 send latency, under 64 MiB). Then the
# same against a third path, the Apache RocketMQ Proxy (issue 15: through Ferry at least 3x the
# Proxy's throughput, with under 1/20 of its CPU per message and 1/10 of its RSS).
#
#   bench/proxy.sh [--source-version 4.9.8] [--target-version 5.3.3] [--threads 8] [--body-size 1024]
#                  [--rounds 6] [--round-secs 3] [--warmup-secs 5] [--latency-rate 0]
#                  [--consume-count 400000] [--connections 1000] [--conn-sends 100] [--cycles 3]
#                  [--no-direct] [--no-apache-proxy] [--no-grpc] [--grpc-warmup-secs 20] [--proxy-version V]
#                  [--ferry PATH] [--keep]
#                  [--no-results]
#
# Boots a source cluster (measured) and a target cluster (a migration needs one; idle until the
# Direct phase), starts `ferry serve` (release build) with its own store and ferry.toml on free
# loopback ports, creates a migration with `ferry migrate create` and adds the benchmark topic to it
# (`add-topic`: it sits at Initial, written and read on the source, so every frame passes the
# relay's stage checks). Then,
# in one warm client JVM per phase, rounds alternate between the source's own NameServer ("direct")
# and Ferry's front ("ferry"), in ABBA order:
#   1. load     --threads synchronous senders as fast as the sends return: msgs/s, p50/p99 latency.
#   2. latency  1 sender, back to back (or --latency-rate msgs/s): one request in flight at a time, so
#               p50/p99/p99.9 are a request's own round trip, with no queue in front of it.
#   3. consume  a push consumer in a fresh group reads the topic's first --consume-count messages.
# Then --connections TCP connections to the source's relay, each sending one HEART_BEAT (a real
# RocketMQ frame; the relay opens one broker connection per client connection), and Ferry's RSS
# (VmRSS / VmHWM from /proc) idle, after the traffic, with the connections open and after they close;
# --cycles times, with new client ids each cycle (as restarted clients have), to see what stays.
# Before the connections (unless --no-apache-proxy; about 4 min at the defaults), three paths to the same
# source broker and topic: direct, the Apache RocketMQ Proxy (--proxy-version, default the target's
# 5.x release: cluster mode, its remoting port as the clients' NameServer, heap -Xms128m -Xmx256m as
# testkit/rocketmq.sh proxy-start gives it) and Ferry's front, in the load, latency and consume
# phases again, rounds ordered direct, proxy, ferry / ferry, proxy, direct. The clients there are
# rocketmq-client of the Proxy's version (the Proxy refuses a 4.9 client's sends: they lack the
# broker name a 5.x client adds), the same harness code. CPU per message of Ferry and of the Proxy's
# JVM (utime+stime from /proc over each path's rounds), their RSS (VmRSS / VmHWM), and a three-way table.
# Then (unless --no-grpc, or the target is 4.x; about 1.5 min at the defaults: --grpc-warmup-secs
# per path, the Proxies' JITs warm slowly) the gRPC path: the
# official 5.x gRPC client (rocketmq-client-java) through two Apache Proxies of --proxy-version in
# front of the target broker, one whose NameServer is the target's own ("direct") and one whose
# NameServer is Ferry's front ("ferry": the Proxy's remoting calls to the broker pass Ferry's relays),
# each with a topic of its own on that broker (the second added to the migration and stepped to
# Completed, so that it is relayed to the target). In one warm JVM, ABBA rounds: --threads
# synchronous senders and a SimpleConsumer reading the path's topic; throughput, added p50/p99 send
# latency, send-to-receipt latency, CPU per message of each Proxy and of Ferry.
# Then (unless --no-direct; about 50 s at the defaults) a second topic on both clusters, added to the
# migration and stepped to Direct (Ferry's front answers its route with the target broker's own
# address), and the load phase again on it, alternating between the target's own NameServer
# ("target") and Ferry's front ("ferry"): the ratio should be ~1.0, and the relays must carry none of
# it (checked from Ferry's API and metrics; any relayed traffic of that topic fails the run).
# --ferry PATH benchmarks that binary instead of building one (`cargo build --release -p ferry`).
# Prints a Markdown table (ratios and differences against the direct runs of the same run, goals met
# or not) and writes it to bench/results/proxy-<date>-<time>.md, with a machine-readable summary
# (throughput, added p50/p99, CPU per message and RSS per path, the parameters, the revision) in
# bench/results/proxy-<date>-<time>.json (both git-ignored). See bench/README.md.
#
# Exit: 0 when everything ran, whether or not the goals were met (the table says); 1 on any error
# (a cluster or Ferry that did not start, a failed send or consume, a connection not answered; also
# traffic of the Direct topic through a relay, after the table is printed and written);
# 2 usage. Every process it starts is stopped on exit (trap); clusters also have a watchdog on
# this script's pid.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
RMQ="$REPO_ROOT/testkit/rocketmq.sh"
RUN_DIR="${FERRY_RUN:-$REPO_ROOT/.cache/run}"
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$BENCH_DIR/lib.sh"

SOURCE_VERSION=4.9.8
TARGET_VERSION=5.3.3
THREADS=8
BODY=1024
ROUNDS=6
ROUND_SECS=3
WARMUP_SECS=5
LAT_RATE=0
CONSUME_COUNT=400000
CONNECTIONS=1000
CYCLES=3
CONN_SENDS=100
KEEP=0
WRITE_RESULTS=1
FERRY_GIVEN=""
GOAL_RATIO=0.95
GOAL_P99_MS=0.2
GOAL_MIB=64
TOPIC=ferry-bench-proxy
SOURCE_CLUSTER=bench-source
SOURCE_BROKER=bench-source-a
TARGET_CLUSTER=bench-target
TARGET_BROKER=bench-target-a
DIRECT=1
DIRECT_TOPIC=ferry-bench-direct
GRPC=1
GRPC_TOPIC=ferry-bench-grpc
# The Proxies' JITs warm slowly: a short warm-up leaves throughput rising from round to round.
GRPC_WARMUP_SECS=20
APACHE_PROXY=1
PROXY_VERSION=""   # default: the target's version when it is 5.x, else 5.3.3
# shellcheck disable=SC2034 # the GOAL3_* are read through ${!v} (into run.kv, for report.py)
# Issue 15: throughput through Ferry at least 3x through the Apache Proxy, with under a twentieth
# of its CPU per message and a tenth of its RSS.
GOAL3_TP=3 GOAL3_CPU=0.05 GOAL3_RSS=0.1

die() { echo "proxy.sh: FAIL: $*" >&2; exit 1; }
log() { echo "proxy.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --source-version) SOURCE_VERSION=$2; shift 2 ;;
    --target-version) TARGET_VERSION=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --body-size) BODY=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --round-secs) ROUND_SECS=$2; shift 2 ;;
    --warmup-secs) WARMUP_SECS=$2; shift 2 ;;
    --latency-rate) LAT_RATE=$2; shift 2 ;;
    --consume-count) CONSUME_COUNT=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --cycles) CYCLES=$2; shift 2 ;;
    --conn-sends) CONN_SENDS=$2; shift 2 ;;
    --direct) DIRECT=1; shift ;;
    --no-direct) DIRECT=0; shift ;;
    --apache-proxy) APACHE_PROXY=1; shift ;;
    --no-apache-proxy) APACHE_PROXY=0; shift ;;
    --grpc) GRPC=1; shift ;;
    --no-grpc) GRPC=0; shift ;;
    --grpc-warmup-secs) GRPC_WARMUP_SECS=$2; shift 2 ;;
    --proxy-version) PROXY_VERSION=$2; shift 2 ;;
    --ferry) FERRY_GIVEN=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-results) WRITE_RESULTS=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
for n in "$THREADS" "$BODY" "$ROUNDS" "$ROUND_SECS" "$WARMUP_SECS" "$GRPC_WARMUP_SECS" "$LAT_RATE" "$CONSUME_COUNT" "$CONNECTIONS" "$CYCLES" "$CONN_SENDS"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "proxy.sh: not a number: $n" >&2; exit 2; }
done
((THREADS >= 1 && BODY >= 1 && ROUNDS >= 1 && ROUND_SECS >= 1)) ||
  { echo "proxy.sh: --threads, --body-size, --rounds, --round-secs must be at least 1" >&2; exit 2; }
((CONSUME_COUNT >= 2)) || { echo "proxy.sh: --consume-count must be at least 2" >&2; exit 2; }
((CONNECTIONS >= 1 && CYCLES >= 1)) || { echo "proxy.sh: --connections and --cycles must be at least 1" >&2; exit 2; }
[[ "$SOURCE_VERSION" != "" && "$TARGET_VERSION" != "" ]] || { usage >&2; exit 2; }
if [[ -z "$PROXY_VERSION" ]]; then
  if [[ "$TARGET_VERSION" == 5.* ]]; then PROXY_VERSION=$TARGET_VERSION; else PROXY_VERSION=5.3.3; fi
fi
if ((APACHE_PROXY == 1)); then
  [[ "$PROXY_VERSION" == 5.* ]] || { echo "proxy.sh: --proxy-version must be a 5.x release (the Proxy exists from 5.0 on)" >&2; exit 2; }
  for pom in "rocketmq-proxy-$PROXY_VERSION" "rocketmq-$PROXY_VERSION"; do
    [[ -f "$REPO_ROOT/testkit/poms/$pom.xml" ]] ||
      { echo "proxy.sh: the testkit has no testkit/poms/$pom.xml (the Proxy and its client come from Maven Central through it)" >&2; exit 2; }
  done
fi
command -v python3 >/dev/null || die "python3 is required (helpers, connections, the report)"
[[ -r /proc/self/status ]] || die "needs Linux /proc (RSS and CPU figures)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-proxy.XXXXXX")
STARTED=()      # cluster instance names, stopped by the trap
FERRY_PID=""    # ferry serve
CURRENT_PID=""  # a harness JVM or the connection opener in flight
WATCHER_PID=""  # direct-watch.py, polling Ferry's API during the Direct topic's rounds
OK=0            # set once everything ran; failures keep the work dir and instance logs

# stop_pid PID: TERM, up to 5 s, then KILL; waits for it (our own child).
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317,SC2329 # invoked by the trap
cleanup() {
  local rc=$? name
  trap - EXIT
  if [[ -n "${CURRENT_PID:-}" ]]; then stop_pid "$CURRENT_PID"; fi
  if [[ -n "${PERF_PID:-}" ]]; then : >"$PERF_STOP"; fi
  if [[ -n "${WATCHER_PID:-}" ]]; then stop_pid "$WATCHER_PID"; fi
  if [[ -n "${FERRY_PID:-}" ]]; then stop_pid "$FERRY_PID"; fi
  for name in ${STARTED[@]+"${STARTED[@]}"}; do
    stop_cluster "$name"
    if [[ "$OK" == 1 && "$KEEP" == 0 ]]; then rm -rf "${RUN_DIR:?}/${name:?}"; fi
  done
  if [[ "$OK" == 1 && "$KEEP" == 0 ]]; then
    rm -rf "$WORK"
  else
    log "kept $WORK (outputs, ferry's log and store)${STARTED[*]:+ and instance dirs under $RUN_DIR}"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------
# Python helpers (written once into the work dir)
# ------------------------------------------------------------------------------------------------

# api.py BASE TOKEN PATH: GET an API path with the bearer token; prints the body; exit 1 unless 200.
cat >"$WORK/api.py" <<'PY'
import sys, urllib.request
base, token, path = sys.argv[1:4]
req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
with urllib.request.urlopen(req, timeout=30) as r:
    sys.stdout.write(r.read().decode())
PY

# conns.py HOST PORT N READY STOP WATCH_PID PREFIX TOPIC SENDS GO DONE: opens N TCP connections to
# a relay and sends one HEART_BEAT on each (a JSON-serialized RocketMQ frame with a HeartbeatData
# body: one producer group, client id 127.0.0.1@PREFIX-i, as a 4.9 Java client sends), then reads
# every answer (a response with code 0: the relay forwarded it to the broker on the connection it
# opened for that client, and the broker answered). Writes "N ms" to READY. Then, once GO exists,
# each connection produces SENDS messages of 1 KiB to TOPIC (SEND_MESSAGE_V2 with the header a 4.9
# producer sends, one request in flight per connection, all connections in turn); every answer must
# be SUCCESS. Writes "up_kib down_kib ms" (per connection) to DONE. Holds the connections until STOP
# exists or WATCH_PID is gone.
cat >"$WORK/conns.py" <<'PY'
import json, os, resource, socket, struct, sys, time
host, port, n, ready, stop, watch, prefix, topic, sends, go, done = sys.argv[1:12]
port, n, watch, sends = int(port), int(n), int(watch), int(sends)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < n + 64:
    want = n + 256 if hard == resource.RLIM_INFINITY else min(hard, n + 256)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

def frame(code, opaque, body, ext=None):
    header = json.dumps({"code": code, "extFields": ext or {}, "flag": 0, "language": "JAVA", "opaque": opaque,
                         "serializeTypeCurrentRPC": "JSON", "version": 401}, separators=(",", ":")).encode()
    return struct.pack(">II", 4 + len(header) + len(body), len(header)) + header + body

def exact(s, k):
    buf = bytearray()
    while len(buf) < k:
        chunk = s.recv(k - len(buf))
        if not chunk:
            raise EOFError("connection closed by the relay")
        buf += chunk
    return bytes(buf)

def read_answer(s):
    total, = struct.unpack(">I", exact(s, 4))
    rest = exact(s, total)
    word, = struct.unpack(">I", rest[:4])
    hlen = word & 0xFFFFFF
    if word >> 24 != 0:
        raise ValueError("answer not JSON-serialized (type %d)" % (word >> 24))
    return json.loads(rest[4:4 + hlen]), total + 4

def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True

def publish(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)

t0 = time.monotonic()
conns = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=60)
    hb = {"clientID": "127.0.0.1@%s-%d" % (prefix, i), "consumerDataSet": [],
          "producerDataSet": [{"groupName": "ferry_bench_conn_producer"}]}
    s.sendall(frame(34, i + 1, json.dumps(hb, separators=(",", ":")).encode()))  # HEART_BEAT
    conns.append(s)
for i, s in enumerate(conns):
    h, _ = read_answer(s)
    if not (h.get("flag", 0) & 1) or h.get("code") != 0 or h.get("opaque") != i + 1:
        sys.exit("connection %d: unexpected answer to HEART_BEAT: %s" % (i, h))
publish(ready, "%d %d\n" % (len(conns), (time.monotonic() - t0) * 1000))

while not os.path.exists(go) and not os.path.exists(stop) and alive(watch):
    time.sleep(0.05)
if os.path.exists(go) and sends > 0:
    t0 = time.monotonic()
    body = b"m" * 1024
    up = down = 0
    for r in range(sends):
        frames = []
        for i, s in enumerate(conns):
            # SendMessageRequestHeaderV2: a producerGroup, b topic, c defaultTopic, d defaultTopicQueueNums,
            # e queueId, f sysFlag, g bornTimestamp, h flag, i properties, j reconsumeTimes, k unitMode, m batch.
            ext = {"a": "ferry_bench_conn_producer", "b": topic, "c": "TBW102", "d": "4", "e": str((i + r) % 8),
                   "f": "0", "g": str(int(time.time() * 1000)), "h": "0", "i": "WAIT\u0001true\u0002",
                   "j": "0", "k": "false", "m": "false"}
            f = frame(310, 1000 + r, body, ext)  # SEND_MESSAGE_V2
            s.sendall(f)
            up += len(f)
        for i, s in enumerate(conns):
            h, size = read_answer(s)
            down += size
            if h.get("code") != 0 or h.get("opaque") != 1000 + r:
                sys.exit("connection %d: send %d answered %s" % (i, r, h))
    publish(done, "%.1f %.1f %d\n" % (up / n / 1024, down / n / 1024, (time.monotonic() - t0) * 1000))
while not os.path.exists(stop) and alive(watch):
    time.sleep(0.05)
for s in conns:
    s.close()
PY

# latency.py BEFORE AFTER: the difference of two /api/proxy snapshots' source-side latency
# histograms (the relay's own view: request read from the client until the broker's answer read).
# Prints "count p50_le_us p99_le_us" (bucket upper bounds).
cat >"$WORK/latency.py" <<'PY'
import json, sys
a, b = (json.load(open(p))["latency"]["source"] for p in sys.argv[1:3])
before = {str(k): c for k, c in a["buckets"]}
diff = [(k, c - before.get(str(k), 0)) for k, c in b["buckets"]]
count = sum(c for _, c in diff)
def q(p):
    rank, seen = max(1, -(-count * p // 1)), 0
    for k, c in diff:
        seen += c
        if seen >= rank:
            return "inf" if k is None else str(k)
    return "-"
print(count, q(0.5) if count else "-", q(0.99) if count else "-")
PY

# route.py HOST PORT TOPIC: asks a NameServer (Ferry's front) for TOPIC's route the way a 4.9
# client does (GET_ROUTEINFO_BY_TOPIC, JSON header); prints the broker addresses the answer names,
# one per line; exit 1 unless it answers SUCCESS.
cat >"$WORK/route.py" <<'PY'
import json, re, socket, struct, sys
host, port, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3]
header = json.dumps({"code": 105, "extFields": {"topic": topic}, "flag": 0, "language": "JAVA", "opaque": 1,
                     "serializeTypeCurrentRPC": "JSON", "version": 401}, separators=(",", ":")).encode()
s = socket.create_connection((host, port), timeout=30)
s.sendall(struct.pack(">II", 4 + len(header), len(header)) + header)
def exact(k):
    buf = bytearray()
    while len(buf) < k:
        chunk = s.recv(k - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return bytes(buf)
total, = struct.unpack(">I", exact(4))
rest = exact(total)
hlen = struct.unpack(">I", rest[:4])[0] & 0xFFFFFF
h = json.loads(rest[4:4 + hlen])
if h.get("code") != 0:
    sys.exit("route of %s: answered %s" % (topic, h))
# brokerAddrs is {0:"host:port"} (fastjson's integer keys: not JSON), so the addresses are matched.
for addr in sorted(set(re.findall(r'"(\d+\.\d+\.\d+\.\d+:\d+)"', rest[4 + hlen:].decode()))):
    print(addr)
PY

# direct-watch.py BASE TOKEN MIGRATION BROKER STOP WATCH_PID OUT: while the Direct topic's rounds
# run, polls Ferry's API every 0.25 s: client connections through the target's relays
# (/api/proxy), those through the relay for BROKER and connections to the front (the migration's
# leave report, /api/migrations/ID/leave). Until STOP exists or WATCH_PID is gone; then writes
# "samples max_target_side max_broker_relay max_front" to OUT.
cat >"$WORK/direct-watch.py" <<'PY'
import json, os, sys, time, urllib.request
base, token, mid, broker, stop, watch, out = sys.argv[1:8]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
n = side = relay = front = 0
while not os.path.exists(stop) and alive(int(watch)):
    side = max(side, get("/api/proxy")["connections"]["target"])
    leave = get("/api/migrations/%s/leave" % mid)
    relay = max([relay] + [r["connections"] for r in leave["relaysInUse"]
                           if str(r["side"]).lower() == "target" and r["broker"] == broker])
    front = max(front, leave["frontConnections"])
    n += 1
    time.sleep(0.25)
with open(out + ".tmp", "w") as f:
    f.write("%d %d %d %d\n" % (n, side, relay, front))
os.rename(out + ".tmp", out)
PY

# relayed.py METRICS_BEFORE METRICS_AFTER PROXY_BEFORE PROXY_AFTER TOPIC: what went through the
# relays between two snapshots: TOPIC's messages produced and consumed (ferry_*_messages_total of
# /metrics, both sides), and requests in the target side's latency histogram (/api/proxy).
# Prints "produced consumed target_requests".
cat >"$WORK/relayed.py" <<'PY'
import json, re, sys
mb, ma, pb, pa, topic = sys.argv[1:6]
def counters(path):
    out = {}
    for line in open(path):
        m = re.match(r'(ferry_(?:produced|consumed)_messages_total)\{(.*)\} (\S+)$', line.strip())
        if m and 'topic="%s"' % topic in m.group(2):
            out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(3))
    return out
b, a = counters(mb), counters(ma)
delta = lambda k: a.get(k, 0) - b.get(k, 0)
reqs = json.load(open(pa))["latency"]["target"]["count"] - json.load(open(pb))["latency"]["target"]["count"]
print("%d %d %d" % (delta("ferry_produced_messages_total"), delta("ferry_consumed_messages_total"), reqs))
PY

# summarize.py PHASE FILE: figures of one phase's JSON lines (one per round and target). Per-round
# ratios ferry/direct (throughput) and differences ferry - direct (latency), then their medians:
# each round's pair ran back to back, so the pairs share the machine's state. In the phase "direct"
# (the Direct topic) the baseline is named "target" (the target's own NameServer). Prints
# KEY=VALUE lines for the script, then "RAW ..." Markdown rows of the raw rounds.
cat >"$WORK/summarize.py" <<'PY'
import json, statistics, sys
phase, path = sys.argv[1], sys.argv[2]
rounds = {}
for line in open(path):
    line = line.strip()
    if line:
        r = json.loads(line)
        rounds.setdefault(r["round"], {})[r["target"]] = r
base = "target" if phase == "direct" else "direct"
pairs = [(rounds[k][base], rounds[k]["ferry"]) for k in sorted(rounds) if {base, "ferry"} <= set(rounds[k])]
if not pairs:
    sys.exit("no complete round in " + path)
med = statistics.median
def col(key, who):
    return [p[who][key] for p in pairs]
out = {}
def fmt_list(xs, f):
    return ", ".join(f % x for x in xs)
if phase in ("load", "latency", "direct"):
    d_tp, f_tp = col("msgsPerSec", 0), col("msgsPerSec", 1)
    ratios = [f / d for d, f in zip(d_tp, f_tp)]
    out["TP_DIRECT"] = "%.0f" % med(d_tp)
    out["TP_FERRY"] = "%.0f" % med(f_tp)
    out["TP_RATIO"] = "%.3f" % med(ratios)
    out["TP_RATIOS"] = fmt_list(ratios, "%.3f")
    for q in ("p50Us", "p99Us", "p999Us"):
        d, f = col(q, 0), col(q, 1)
        out[q.upper() + "_DIRECT"] = "%.0f" % med(d)
        out[q.upper() + "_FERRY"] = "%.0f" % med(f)
        out[q.upper() + "_ADDED_MS"] = "%.3f" % (med([y - x for x, y in zip(d, f)]) / 1000)
        out[q.upper() + "_ADDED_LIST"] = fmt_list([(y - x) / 1000 for x, y in zip(d, f)], "%+.3f")
    out["FAILED"] = str(sum(p[0]["failed"] + p[1]["failed"] for p in pairs))
    out["SENT"] = str(sum(p[0]["sent"] + p[1]["sent"] for p in pairs))
    ferry_sent = sum(p[1]["sent"] for p in pairs)
else:
    d_tp, f_tp = col("msgsPerSec", 0), col("msgsPerSec", 1)
    ratios = [f / d for d, f in zip(d_tp, f_tp)]
    out["TP_DIRECT"] = "%.0f" % med(d_tp)
    out["TP_FERRY"] = "%.0f" % med(f_tp)
    out["TP_RATIO"] = "%.3f" % med(ratios)
    out["TP_RATIOS"] = fmt_list(ratios, "%.3f")
    out["FIRST_DIRECT"] = "%.0f" % med(col("firstMs", 0))
    out["FIRST_FERRY"] = "%.0f" % med(col("firstMs", 1))
    ferry_sent = sum(p[1]["count"] for p in pairs)
# CPU: where the cycles went (seconds summed over the rounds of each target).
def cpu(who, key):
    xs = [p[who]["cpu"].get(key) for p in pairs]
    return None if any(x is None for x in xs) else sum(xs)
for who, name in ((0, "DIRECT"), (1, "FERRY")):
    for key in ("client", "broker", "ferry"):
        v = cpu(who, key)
        out["CPU_%s_%s" % (key.upper(), name)] = "-" if v is None else "%.2f" % v
    busy = [p[who]["cpu"].get("machineBusyCores") for p in pairs]
    out["BUSY_" + name] = "-" if None in busy else "%.2f" % med(busy)
f_cpu = cpu(1, "ferry")
out["FERRY_US_PER_MSG"] = "-" if f_cpu is None or not ferry_sent else "%.1f" % (f_cpu * 1e6 / ferry_sent)
# CPU per message of the three processes together (client JVM, broker, Ferry), and the cores other
# processes on the machine used meanwhile (busy cores minus ours): the contention each round saw.
msgs_key = "count" if phase == "consume" else "sent"
for who, name in ((0, "DIRECT"), (1, "FERRY")):
    ours = sum(sum(p[who]["cpu"].get(k, 0) for k in ("client", "broker", "ferry")) for p in pairs)
    n = sum(p[who][msgs_key] for p in pairs)
    out["ALL_US_PER_MSG_" + name] = "%.1f" % (ours * 1e6 / n) if n else "-"
    others = [p[who]["cpu"]["machineBusyCores"] - sum(p[who]["cpu"].get(k, 0) for k in ("client", "broker", "ferry"))
              / p[who]["cpu"]["wallSecs"] for p in pairs
              if "machineBusyCores" in p[who]["cpu"] and p[who]["cpu"].get("wallSecs")]
    out["OTHERS_" + name] = "%.2f" % max(0.0, med(others)) if others else "-"
out["ROUNDS"] = str(len(pairs))
for k, v in out.items():
    print("%s=%s" % (k, v))
# Raw rows: round, target, figures.
for i, (d, f) in enumerate(pairs, 1):
    for r in (d, f):
        if phase == "consume":
            print("RAW | %s | %d | %s | %.0f msgs/s | first after %.0f ms | CPU s: %s |" % (
                phase, i, r["target"], r["msgsPerSec"], r["firstMs"], json.dumps(r["cpu"], separators=(",", ":"))))
        else:
            print("RAW | %s | %d | %s | %.0f msgs/s, %d sent, %d failed | p50 %d, p99 %d, p99.9 %d, max %d µs | CPU s: %s |" % (
                phase, i, r["target"], r["msgsPerSec"], r["sent"], r["failed"], r["p50Us"], r["p99Us"], r["p999Us"],
                r["maxUs"], json.dumps(r["cpu"], separators=(",", ":"))))
PY

# summarize3.py PHASE FILE OUT: the three-way phases (direct, the Apache RocketMQ Proxy, Ferry; one
# JSON line per round and path). Per path: median throughput and latencies over the rounds, CPU
# microseconds per message of each process (its CPU seconds summed over that path's rounds, divided
# by the messages of those rounds). Between paths: medians of the per-round ratios (throughput,
# latency) and differences (latency: "added"), each round's three runs having gone back to back.
# Writes OUT (JSON, read by report3.py); prints one "RAW ..." Markdown row per round and path.
cat >"$WORK/summarize3.py" <<'PY'
import json, statistics, sys
phase, path, out = sys.argv[1:4]
PATHS = ("direct", "apache-proxy", "ferry")
OWN = {"direct": None, "apache-proxy": "proxy", "ferry": "ferry"}  # the path's own process (--cpu-pids name)
rounds = {}
for line in open(path):
    if line.strip():
        r = json.loads(line)
        rounds.setdefault(r["round"], {})[r["target"]] = r
full = [rounds[k] for k in sorted(rounds) if set(PATHS) <= set(rounds[k])]
if not full:
    sys.exit("no complete round in " + path)
med = statistics.median
consume = phase.startswith("consume")
msgs_key = "count" if consume else "sent"
res = {"rounds": len(full), "paths": {}, "vs": {}}
for p in PATHS:
    rs = [r[p] for r in full]
    d = {"throughput_msgs_s": round(med([x["msgsPerSec"] for x in rs]), 1),
         "throughput_per_round": [x["msgsPerSec"] for x in rs]}
    if consume:
        d["first_ms"] = round(med([x["firstMs"] for x in rs]), 1)
    else:
        for q, k in (("p50", "p50Us"), ("p99", "p99Us"), ("p999", "p999Us")):
            d[q + "_ms"] = round(med([x[k] for x in rs]) / 1000, 3)
        d["sent"] = sum(x["sent"] for x in rs)
        d["failed"] = sum(x["failed"] for x in rs)
    n = sum(x[msgs_key] for x in rs)
    d["messages"] = n
    secs, per = {}, {}
    for k in ("client", "broker", "ferry", "proxy"):
        xs = [x["cpu"].get(k) for x in rs]
        if None not in xs:
            secs[k] = round(sum(xs), 3)
            per[k] = round(sum(xs) * 1e6 / n, 2) if n else None
    d["cpu_secs"] = secs
    d["cpu_us_per_msg"] = per
    own = OWN[p]
    d["own_cpu_us_per_msg"] = per.get(own) if own else None
    # The path's work on this machine: client + broker + the path's own process (the idle one of
    # the other path left out: it does not serve these messages).
    keys = ["client", "broker"] + ([own] if own else [])
    d["path_cpu_us_per_msg"] = round(sum(per[k] for k in keys), 2) if all(per.get(k) is not None for k in keys) else None
    busy = [x["cpu"].get("machineBusyCores") for x in rs]
    d["busy_cores"] = None if None in busy else round(med(busy), 2)
    res["paths"][p] = d
for a, b in (("apache-proxy", "direct"), ("ferry", "direct"), ("ferry", "apache-proxy")):
    ra, rb = [r[a] for r in full], [r[b] for r in full]
    tp = [x["msgsPerSec"] / y["msgsPerSec"] if y["msgsPerSec"] else 0 for x, y in zip(ra, rb)]
    v = {"throughput_ratio": round(med(tp), 3), "throughput_ratios": [round(t, 3) for t in tp]}
    if not consume:
        for q, k in (("p50", "p50Us"), ("p99", "p99Us"), ("p999", "p999Us")):
            diffs = [(x[k] - y[k]) / 1000 for x, y in zip(ra, rb)]
            v[q + "_added_ms"] = round(med(diffs), 3)
            v[q + "_added_per_round_ms"] = [round(t, 3) for t in diffs]
            v[q + "_ratio"] = round(med([x[k] / y[k] for x, y in zip(ra, rb) if y[k]]), 3)
    pa, pb = res["paths"][a], res["paths"][b]
    if pa["own_cpu_us_per_msg"] is not None and pb["own_cpu_us_per_msg"]:
        v["own_cpu_ratio"] = round(pa["own_cpu_us_per_msg"] / pb["own_cpu_us_per_msg"], 3)
    if pa["path_cpu_us_per_msg"] is not None and pb["path_cpu_us_per_msg"]:
        v["path_cpu_ratio"] = round(pa["path_cpu_us_per_msg"] / pb["path_cpu_us_per_msg"], 3)
    res["vs"]["%s/%s" % (a, b)] = v
# Ferry's added latency against the Proxy's (both vs direct, medians of the per-round differences).
if not consume:
    for q in ("p50", "p99"):
        pd, fd = res["vs"]["apache-proxy/direct"][q + "_added_ms"], res["vs"]["ferry/direct"][q + "_added_ms"]
        res["vs"]["ferry/apache-proxy"][q + "_added_ratio"] = round(fd / pd, 3) if pd > 0 else None
json.dump(res, open(out, "w"), indent=1)
for i, r in enumerate(full, 1):
    for p in PATHS:
        x = r[p]
        cpu = json.dumps(x["cpu"], separators=(",", ":"))
        if consume:
            print("RAW | %s | %d | %s | %.0f msgs/s | first after %.0f ms | CPU s: %s |" % (
                phase, i, p, x["msgsPerSec"], x["firstMs"], cpu))
        else:
            print("RAW | %s | %d | %s | %.0f msgs/s, %d sent, %d failed | p50 %d, p99 %d, p99.9 %d, max %d µs | CPU s: %s |" % (
                phase, i, p, x["msgsPerSec"], x["sent"], x["failed"], x["p50Us"], x["p99Us"], x["p999Us"], x["maxUs"], cpu))
PY

# report.py KV OUT_JSON: the three-way section of the report (Markdown, printed; nothing when the
# Apache Proxy was skipped) and the run's machine-readable summary (OUT_JSON; "-": none). Reads the
# script's KEY=VALUE file KV (parameters, revision, memory figures), the two-way summaries
# (WORK/summary-PHASE.txt) and the three-way ones (WORK/three-PHASE.json) from KV's directory.
cat >"$WORK/report.py" <<'PY'
import json, os, sys
kv_path, out = sys.argv[1:3]
work = os.path.dirname(os.path.abspath(kv_path))
kv = {}
for line in open(kv_path):
    k, _, v = line.rstrip("\n").partition("=")
    kv[k] = v
def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None
def summary(phase):
    p = os.path.join(work, "summary-%s.txt" % phase)
    if not os.path.exists(p):
        return None
    d = {}
    for line in open(p):
        if not line.startswith("RAW") and "=" in line:
            k, _, v = line.rstrip("\n").partition("=")
            d[k] = v
    return d
def three(phase):
    p = os.path.join(work, "three-%s.json" % phase)
    return json.load(open(p)) if os.path.exists(p) else None
mib = lambda kib: None if num(kib) is None else round(num(kib) / 1024, 1)

# ---- the three-way section and its figures
T = {ph: three(ph) for ph in ("load", "latency", "consume")}
three_way = None
md = []
if kv.get("APACHE_PROXY") == "1" and T["load"]:
    G_TP, G_CPU, G_RSS = num(kv["GOAL3_TP"]), num(kv["GOAL3_CPU"]), num(kv["GOAL3_RSS"])
    rss = {"apache-proxy": {"idle": mib(kv["PROXY_RSS_IDLE"]), "after": mib(kv["PROXY_RSS_AFTER"]), "peak": mib(kv["PROXY_HWM"])},
           "ferry": {"idle": mib(kv["FERRY3_RSS_IDLE"]), "after": mib(kv["FERRY3_RSS_AFTER"]), "peak": mib(kv["FERRY3_HWM"])}}
    L, Q = T["load"], T["latency"]
    fp_l = L["vs"]["ferry/apache-proxy"]
    tp_ratio = fp_l["throughput_ratio"]
    cpu_ratio = fp_l.get("own_cpu_ratio")
    rss_ratio = round(rss["ferry"]["after"] / rss["apache-proxy"]["after"], 3) if rss["apache-proxy"]["after"] else None
    goals = {
        "throughput_ferry_vs_apache_proxy": {"phase": "load", "value": tp_ratio, "goal": ">= %g" % G_TP,
                                             "met": tp_ratio >= G_TP},
        "cpu_per_msg_ferry_vs_apache_proxy": {"phase": "load", "value": cpu_ratio, "goal": "< %g" % G_CPU,
                                              "met": cpu_ratio is not None and cpu_ratio < G_CPU},
        "rss_ferry_vs_apache_proxy": {"when": "after the three-way rounds", "value": rss_ratio, "goal": "< %g" % G_RSS,
                                      "met": rss_ratio is not None and rss_ratio < G_RSS},
    }
    paths = {}
    for p in ("direct", "apache-proxy", "ferry"):
        lp, qp = L["paths"][p], (Q["paths"][p] if Q else None)
        row = {"throughput_msgs_s": lp["throughput_msgs_s"],
               "added_p50_ms": 0.0 if p == "direct" else (Q["vs"][p + "/direct"]["p50_added_ms"] if Q else None),
               "added_p99_ms": 0.0 if p == "direct" else (Q["vs"][p + "/direct"]["p99_added_ms"] if Q else None),
               "added_p50_under_load_ms": 0.0 if p == "direct" else L["vs"][p + "/direct"]["p50_added_ms"],
               "added_p99_under_load_ms": 0.0 if p == "direct" else L["vs"][p + "/direct"]["p99_added_ms"],
               "cpu_us_per_msg": lp["own_cpu_us_per_msg"],
               "cpu_us_per_msg_latency_phase": qp["own_cpu_us_per_msg"] if qp else None,
               "path_cpu_us_per_msg": lp["path_cpu_us_per_msg"],
               "broker_cpu_us_per_msg": lp["cpu_us_per_msg"].get("broker"),
               "rss_mib": rss.get(p, {}).get("after"),
               "rss_peak_mib": rss.get(p, {}).get("peak")}
        paths[p] = row
    three_way = {
        "client": "rocketmq-client %s (remoting), one JVM per phase" % kv["CLIENT5_VERSION"],
        "broker": kv["THREE_BROKER"],
        "apache_proxy": {"version": kv["PROXY_VERSION"], "mode": "cluster", "protocol": "remoting",
                         "jvm": kv["PROXY_JVM"], "config": kv.get("PROXY_PROPS"),
                         "startup_ms": num(kv.get("PROXY_STARTUP_MS"))},
        "order": "odd rounds direct, apache-proxy, ferry; even rounds ferry, apache-proxy, direct",
        "summary_note": "throughput and CPU per message (the path's own process) from the load phase; added p50/p99 "
                        "from the latency phase (one request in flight), medians of per-round differences vs direct; "
                        "RSS after the three-way rounds",
        "paths": paths, "goals": goals, "rss_mib": rss,
        "phases": {k: v for k, v in T.items() if v},
    }

    def f_tp(x): return "%s msgs/s" % format(round(x), ",")
    def f_ms(x): return "%.3f ms" % x
    def f_us(x): return "–" if x is None else "%.1f µs" % x
    def f_mib(x): return "–" if x is None else "%.1f MiB" % x
    def f_r(x, bold=False):
        s = "–" if x is None else "%.3f×" % x
        return "**%s**" % s if bold and x is not None else s
    def verdict(ok): return "**met**" if ok else "**missed**"
    def lat_rows(ph, name, label):
        rows = []
        for q, qn in (("p50", "p50"), ("p99", "p99")):
            d, pr, fe = (ph["paths"][p][q + "_ms"] for p in ("direct", "apache-proxy", "ferry"))
            pv, fv, fp = ph["vs"]["apache-proxy/direct"], ph["vs"]["ferry/direct"], ph["vs"]["ferry/apache-proxy"]
            rows.append("| | send latency %s | %s | %s | %s | %+.3f ms (%s) | %+.3f ms (%s) | added: %s; latency %s | | |" % (
                qn, f_ms(d), f_ms(pr), f_ms(fe), pv[q + "_added_ms"], f_r(pv[q + "_ratio"]), fv[q + "_added_ms"],
                f_r(fv[q + "_ratio"]), f_r(fp.get(q + "_added_ratio")), f_r(fp[q + "_ratio"])))
        return rows
    def cpu_rows(ph, judge):
        P = ph["paths"]
        fp = ph["vs"]["ferry/apache-proxy"]
        rows = ["| | CPU per message: the path's own process | | %s (Proxy JVM) | %s (Ferry) | | | %s | %s | %s |" % (
            f_us(P["apache-proxy"]["own_cpu_us_per_msg"]), f_us(P["ferry"]["own_cpu_us_per_msg"]),
            f_r(fp.get("own_cpu_ratio"), judge), "< %g×" % G_CPU if judge else "",
            verdict(goals["cpu_per_msg_ferry_vs_apache_proxy"]["met"]) if judge else "")]
        rows.append("| | CPU per message: broker | %s | %s | %s | | | | | |" % tuple(
            f_us(P[p]["cpu_us_per_msg"].get("broker")) for p in ("direct", "apache-proxy", "ferry")))
        rows.append("| | CPU per message: client + broker + the path's process | %s | %s | %s | %s | %s | %s | | |" % (
            f_us(P["direct"]["path_cpu_us_per_msg"]), f_us(P["apache-proxy"]["path_cpu_us_per_msg"]),
            f_us(P["ferry"]["path_cpu_us_per_msg"]), f_r(ph["vs"]["apache-proxy/direct"].get("path_cpu_ratio")),
            f_r(ph["vs"]["ferry/direct"].get("path_cpu_ratio")), f_r(fp.get("path_cpu_ratio"))))
        return rows
    def tp_row(ph, label, judge):
        P, V = ph["paths"], ph["vs"]
        return "| %s | throughput | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, f_tp(P["direct"]["throughput_msgs_s"]), f_tp(P["apache-proxy"]["throughput_msgs_s"]),
            f_tp(P["ferry"]["throughput_msgs_s"]), f_r(V["apache-proxy/direct"]["throughput_ratio"]),
            f_r(V["ferry/direct"]["throughput_ratio"]), f_r(V["ferry/apache-proxy"]["throughput_ratio"], judge),
            "≥ %g×" % G_TP if judge else "", verdict(goals["throughput_ferry_vs_apache_proxy"]["met"]) if judge else "")
    md.append("### Three paths: direct, the Apache RocketMQ Proxy, Ferry")
    md.append("")
    md.append(open(os.path.join(work, "three-notes.md")).read().rstrip())
    md.append("")
    md.append("| phase | figure | direct | Apache Proxy | Ferry | Proxy vs direct | Ferry vs direct | Ferry vs Proxy | goal | |")
    md.append("|---|---|---|---|---|---|---|---|---|---|")
    md.append(tp_row(L, "load (%s threads, %s B, sync)" % (kv["THREADS"], kv["BODY"]), True))
    md += lat_rows(L, "load", "")
    md += cpu_rows(L, True)
    if Q:
        md.append(tp_row(Q, "latency (%s)" % kv["LAT_DESC"], False))
        md += lat_rows(Q, "latency", "")
        md += cpu_rows(Q, False)
    C = T["consume"]
    if C:
        md.append(tp_row(C, "consume (fresh group, %s msgs)" % kv["CONSUME3_COUNT"], False))
        md += cpu_rows(C, False)[:1]
    for key, label, judge in (("idle", "RSS before the three-way rounds", False),
                              ("after", "**RSS after the three-way rounds**", True),
                              ("peak", "peak RSS (VmHWM; Ferry's includes the two-way phases)", False)):
        a, b = rss["apache-proxy"][key], rss["ferry"][key]
        r = round(b / a, 3) if a and b is not None else None
        md.append("| %s | %s | | %s | %s | | | %s | %s | %s |" % (
            "memory" if key == "idle" else "", label, f_mib(a), f_mib(b), f_r(r, judge), "< %g×" % G_RSS if judge else "",
            verdict(goals["rss_ferry_vs_apache_proxy"]["met"]) if judge else ""))
    md.append("")
    lst = lambda v, k: ", ".join("%.3f" % x for x in v[k])
    md.append("- Per-round throughput ratios, load: Proxy/direct %s; Ferry/direct %s; Ferry/Proxy %s." % (
        lst(L["vs"]["apache-proxy/direct"], "throughput_ratios"), lst(L["vs"]["ferry/direct"], "throughput_ratios"),
        lst(L["vs"]["ferry/apache-proxy"], "throughput_ratios")))
    if Q:
        md.append("- Added p99 per round, latency phase: Proxy %s ms; Ferry %s ms." % (
            ", ".join("%+.3f" % x for x in Q["vs"]["apache-proxy/direct"]["p99_added_per_round_ms"]),
            ", ".join("%+.3f" % x for x in Q["vs"]["ferry/direct"]["p99_added_per_round_ms"])))
    busy = "; ".join("%s %s" % (ph, " / ".join(str(T[ph]["paths"][p]["busy_cores"]) for p in ("direct", "apache-proxy", "ferry")))
                     for ph in ("load", "latency", "consume") if T[ph])
    md.append("- Machine busy (average cores in use, median round, direct / Proxy / Ferry): %s." % busy)
    idle = []
    for ph in ("load", "latency", "consume"):
        if T[ph]:
            P = T[ph]["paths"]
            idle.append("%s: Ferry %s in direct rounds, %s in Proxy rounds; Proxy %s in direct rounds, %s in Ferry rounds" % (
                ph, f_us(P["direct"]["cpu_us_per_msg"].get("ferry")), f_us(P["apache-proxy"]["cpu_us_per_msg"].get("ferry")),
                f_us(P["direct"]["cpu_us_per_msg"].get("proxy")), f_us(P["ferry"]["cpu_us_per_msg"].get("proxy"))))
    md.append("- CPU of the idle middleman (µs per message of the rounds it was not in: heartbeats, route refreshes, "
              "its own housekeeping; not counted for either path): %s." % "; ".join(idle))

# ---- the gRPC path (its own section, written by summarize-grpc.py)
grpc = None
if os.path.exists(os.path.join(work, "grpc.json")):
    grpc = json.load(open(os.path.join(work, "grpc.json")))
    md += open(os.path.join(work, "grpc.md")).read().splitlines()

# ---- the machine-readable summary
if out != "-":
    def two(phase):
        s = summary(phase)
        if not s:
            return None
        d = {"rounds": int(s["ROUNDS"]),
             "direct": {"throughput_msgs_s": num(s["TP_DIRECT"])}, "ferry": {"throughput_msgs_s": num(s["TP_FERRY"])},
             "throughput_ratio": num(s["TP_RATIO"])}
        base = "target" if phase == "direct" else "direct"
        if phase != "consume":
            for q in ("P50US", "P99US", "P999US"):
                key = q[:-2].lower()
                d["direct"][key + "_ms"] = round(num(s[q + "_DIRECT"]) / 1000, 3)
                d["ferry"][key + "_ms"] = round(num(s[q + "_FERRY"]) / 1000, 3)
                d["ferry"]["added_%s_ms" % key] = num(s[q + "_ADDED_MS"])
        d["ferry"]["cpu_us_per_msg"] = num(s["FERRY_US_PER_MSG"])
        d["direct"]["path_cpu_us_per_msg"] = num(s["ALL_US_PER_MSG_DIRECT"])
        d["ferry"]["path_cpu_us_per_msg"] = num(s["ALL_US_PER_MSG_FERRY"])
        if phase == "direct":
            d = {"baseline": "the target's own NameServer", **d}
            d["target"] = d.pop("direct")
        return d
    two_way = {"client": "rocketmq-client 4.9.8 (the testkit harness), one JVM per phase",
               "load": two("load"), "latency": two("latency"), "consume": two("consume"),
               "ferry_rss_mib": {"idle": mib(kv["MEM_IDLE_RSS"]), "after_traffic": mib(kv["MEM_AFTER_RSS"]),
                                 "connections_open": mib(kv["C1_RSS"]), "connections_after_sends": mib(kv.get("C1_BUSY_RSS")),
                                 "connections_closed": mib(kv["C1_CLOSED_RSS"]), "peak": mib(kv["MEM_HWM"]),
                                 "connections": int(kv["CONNECTIONS"])}}
    if kv.get("DIRECT") == "1":
        two_way["direct_topic"] = two("direct")
        two_way["direct_topic"]["relayed"] = {"produced": int(kv["RELAYED_PRODUCED"]), "consumed": int(kv["RELAYED_CONSUMED"]),
                                              "target_requests": int(kv["RELAYED_REQS"])}
    params = {k.lower(): (int(kv[k]) if kv[k].isdigit() else kv[k]) for k in (
        "SOURCE_VERSION", "TARGET_VERSION", "PROXY_VERSION", "THREADS", "BODY", "ROUNDS", "ROUND_SECS", "WARMUP_SECS",
        "LAT_RATE", "CONSUME_COUNT", "CONNECTIONS", "CONN_SENDS", "CYCLES", "DIRECT", "APACHE_PROXY", "GRPC")}
    two_way["ferry_syscalls_per_request_load"] = num(kv.get("LOAD_SYSCALLS_PER_REQ"))
    two_way["ferry_kernel_us_per_request_load"] = num(kv.get("LOAD_KERNEL_US_PER_REQ"))
    two_way["ferry_user_us_per_request_load"] = num(kv.get("LOAD_USER_US_PER_REQ"))
    two_way["ferry_wakeups_per_request_load"] = num(kv.get("LOAD_WAKEUPS_PER_REQ"))
    two_way["ferry_preemptions_per_request_load"] = num(kv.get("LOAD_PREEMPTED_PER_REQ"))
    params["body_size"] = params.pop("body")
    doc = {"kind": "ferry bench/proxy.sh", "date": kv["DATE"], "revision": kv["REV"], "git_commit": kv["GIT_COMMIT"],
           "machine": {"cores": int(kv["CORES"]), "cpu": kv["CPU"], "memory": kv["MEMTOTAL"], "loadavg_before": kv["LOADAVG"],
                       "java": kv["JAVA_V"]},
           "params": params, "duration_s": int(kv["TOTAL_S"]),
           "three_way": three_way, "two_way": two_way, "grpc": grpc}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
print("\n".join(md))
PY

# summarize-grpc.py FILE OUT_JSON OUT_MD PROXY_DIRECT_RSS_KIB PROXY_FERRY_RSS_KIB VERSION: the gRPC
# path's rounds (one JSON line per round and path): medians per path, per-round ratios and
# differences ferry vs direct (each round's pair ran back to back), CPU microseconds per message of
# each Proxy and of Ferry (CPU seconds over the path's rounds / messages sent in them).
cat >"$WORK/summarize-grpc.py" <<'PY'
import json, statistics, sys
path, out_json, out_md, rss_d, rss_f, version = sys.argv[1:7]
rounds = {}
for line in open(path):
    if line.strip():
        r = json.loads(line)
        rounds.setdefault(r["round"], {})[r["target"]] = r
pairs = [(rounds[k]["direct"], rounds[k]["ferry"]) for k in sorted(rounds) if {"direct", "ferry"} <= set(rounds[k])]
if not pairs:
    sys.exit("no complete round in " + path)
med = statistics.median
col = lambda key, who: [p[who][key] for p in pairs]
def cpu_us(who, names):
    sent = sum(p[who]["sent"] for p in pairs)
    secs = sum(sum(p[who]["cpu"].get(n, 0) for n in names) for p in pairs)
    return round(secs * 1e6 / sent, 1) if sent else None
paths = {}
for who, name, own in ((0, "direct", ["proxy-direct"]), (1, "ferry", ["proxy-ferry", "ferry"])):
    paths[name] = {
        "throughput_msgs_s": round(med(col("msgsPerSec", who))),
        "send_p50_ms": round(med(col("p50Us", who)) / 1000, 3), "send_p99_ms": round(med(col("p99Us", who)) / 1000, 3),
        "receipt_p50_ms": round(med(col("e2eP50Ms", who)), 3), "receipt_p99_ms": round(med(col("e2eP99Ms", who)), 3),
        "sent": sum(col("sent", who)), "failed": sum(col("failed", who)), "received": sum(col("received", who)),
        "proxy_cpu_us_per_msg": cpu_us(who, own[:1]), "path_cpu_us_per_msg": cpu_us(who, own),
        "broker_cpu_us_per_msg": cpu_us(who, ["broker"]), "client_cpu_us_per_msg": cpu_us(who, ["client"]),
        "proxy_rss_mib": round(int(rss_d if who == 0 else rss_f) / 1024, 1),
    }
paths["ferry"]["ferry_cpu_us_per_msg"] = cpu_us(1, ["ferry"])
ratios = [f["msgsPerSec"] / d["msgsPerSec"] for d, f in pairs if d["msgsPerSec"]]
added = lambda key: [(f[key] - d[key]) / 1000 for d, f in pairs]
vs = {"throughput_ratio": round(med(ratios), 3), "throughput_ratios": [round(x, 3) for x in ratios],
      "send_p50_added_ms": round(med(added("p50Us")), 3), "send_p99_added_ms": round(med(added("p99Us")), 3),
      "receipt_p50_added_ms": round(med([f["e2eP50Ms"] - d["e2eP50Ms"] for d, f in pairs]), 3),
      "receipt_p99_added_ms": round(med([f["e2eP99Ms"] - d["e2eP99Ms"] for d, f in pairs]), 3)}
doc = {"client": "rocketmq-client-java 5.0.8 (gRPC): a Producer and a SimpleConsumer per path, one JVM",
       "apache_proxy": {"version": version, "mode": "cluster", "protocol": "gRPC", "jvm": "-Xms128m -Xmx256m"},
       "paths": {"direct": "the Apache Proxy, its NameServer the target's", "ferry": "the Apache Proxy, its NameServer Ferry's front"},
       "order": "odd rounds direct, ferry; even rounds ferry, direct", "rounds": len(pairs),
       "figures": paths, "ferry_vs_direct": vs}
json.dump(doc, open(out_json, "w"), indent=1)
D, F = paths["direct"], paths["ferry"]
f_us = lambda x: "–" if x is None else "%.1f µs" % x
md = ["", "### The gRPC path: the Apache Proxy %s straight to the broker, and with Ferry behind it" % version, "",
      "| | Proxy → broker | Proxy → Ferry → broker | Ferry vs direct |", "|---|---|---|---|",
      "| throughput (%d rounds each, median) | %s msgs/s | %s msgs/s | %.3f× |" % (len(pairs), format(D["throughput_msgs_s"], ","), format(F["throughput_msgs_s"], ","), vs["throughput_ratio"]),
      "| send p50 / p99 | %.3f / %.3f ms | %.3f / %.3f ms | %+.3f / %+.3f ms |" % (D["send_p50_ms"], D["send_p99_ms"], F["send_p50_ms"], F["send_p99_ms"], vs["send_p50_added_ms"], vs["send_p99_added_ms"]),
      "| send to receipt p50 / p99 | %.3f / %.3f ms | %.3f / %.3f ms | %+.3f / %+.3f ms |" % (D["receipt_p50_ms"], D["receipt_p99_ms"], F["receipt_p50_ms"], F["receipt_p99_ms"], vs["receipt_p50_added_ms"], vs["receipt_p99_added_ms"]),
      "| CPU per message: the Proxy | %s | %s | |" % (f_us(D["proxy_cpu_us_per_msg"]), f_us(F["proxy_cpu_us_per_msg"])),
      "| CPU per message: Ferry | | %s | |" % f_us(F["ferry_cpu_us_per_msg"]),
      "| CPU per message: the broker | %s | %s | |" % (f_us(D["broker_cpu_us_per_msg"]), f_us(F["broker_cpu_us_per_msg"])),
      "| sent / failed / received in the rounds | %d / %d / %d | %d / %d / %d | |" % (D["sent"], D["failed"], D["received"], F["sent"], F["failed"], F["received"]),
      "| Proxy RSS after the rounds | %.1f MiB | %.1f MiB | |" % (D["proxy_rss_mib"], F["proxy_rss_mib"]),
      "", "- Per-round throughput ratios, Ferry path / direct path: %s." % ", ".join("%.3f" % x for x in vs["throughput_ratios"])]
open(out_md, "w").write("\n".join(md) + "\n")
print("\n".join(md[3:]), file=sys.stderr)
PY

# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------

# mem PID: "VmRSS VmHWM" in KiB, the number of threads and of open file descriptors.
mem() {
  local key val rss=0 hwm=0 threads=0 fds
  while read -r key val _; do
    case "$key" in
      VmRSS:) rss=$val ;;
      VmHWM:) hwm=$val ;;
      Threads:) threads=$val ;;
    esac
  done <"/proc/$1/status"
  fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  echo "$rss $hwm $threads $fds"
}
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }
api() { python3 "$WORK/api.py" "$API" "$TOKEN" "$1"; }

# perf_start PHASE / perf_stop: the system calls Ferry makes over a phase (perf's syscall
# tracepoint; perf_stop sets PERF_COUNT to their count, or "-" where perf cannot attach; not in
# a subshell: it waits for perf, a child of this shell). Hardware instruction
# counters are often missing in VMs (this machine's): instructions per frame are frame_cost's
# (bench/README.md).
PERF_PID=""
perf_start() {
  PERF_OUT="$WORK/perf-$1.csv" PERF_STOP="$WORK/perf-$1.stop"
  rm -f "$PERF_STOP"
  if command -v perf >/dev/null && perf stat -x, -e raw_syscalls:sys_enter -o /dev/null -- true 2>/dev/null; then
    # Counted until the command given it ends (a background job ignores SIGINT, which would stop perf).
    perf stat -x, -e raw_syscalls:sys_enter,task-clock -p "$FERRY_PID" -o "$PERF_OUT" -- \
      bash -c 'while [[ ! -e "$1" ]]; do sleep 0.1; done' _ "$PERF_STOP" 2>/dev/null &
    PERF_PID=$!
  fi
}
perf_stop() {
  PERF_COUNT="-"
  if [[ -z "$PERF_PID" ]]; then return 0; fi
  : >"$PERF_STOP"
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  PERF_COUNT=$(awk -F, '$3 == "raw_syscalls:sys_enter" && $1 ~ /^[0-9]+$/ { n = $1 } END { print (n == "" ? "-" : n) }' "$PERF_OUT")
}

# cpu_ticks PID: "user system" CPU of a process so far, in clock ticks (/proc/PID/stat fields 14
# and 15, counted after the command name, which may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'; }

# ctx_switches PID: the context switches of all the process's threads so far (voluntary: a thread
# went to sleep, in epoll_wait or a futex, and was woken again; nonvoluntary: it was preempted).
ctx_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^voluntary_ctxt_switches/ { v += $2 } /^nonvoluntary_ctxt_switches/ { n += $2 } END { print v + 0, n + 0 }'
}

# create_topic SIDE TOPIC: the topic with 8 read and 8 write queues on the source's or the target's
# cluster.
create_topic() {
  local ns=$TARGET_NS cluster=$TARGET_CLUSTER out="$WORK/admin-$2-$1"
  if [[ "$1" == source ]]; then ns=$SOURCE_NS cluster=$SOURCE_CLUSTER; fi
  bash "$RMQ" harness admin --namesrv "$ns" create-topic --cluster "$cluster" --topic "$2" \
    --read 8 --write 8 >"$out.out" 2>"$out.err" || { cat "$out.err" >&2; die "could not create $2 on the $1"; }
}

# await_phase PHASE PROGRESS: waits for the phase's client JVM started in the background (so the
# trap can stop it); on failure the tail of WORK/PHASE.stderr and exit; else its progress lines
# (those matching the ERE PROGRESS), indented.
await_phase() {
  local rc=0
  CURRENT_PID=$!
  wait "$CURRENT_PID" || rc=$?
  CURRENT_PID=""
  if ((rc != 0)); then
    tail -n 20 "$WORK/$1.stderr" >&2
    die "the $1 phase failed (harness exit $rc)"
  fi
  grep -E "$2" "$WORK/$1.stderr" | sed 's/^/  /' >&2 || true
}

# harness PHASE ARGS...: one harness JVM (in the background, so the trap can stop it), JSON lines to
# WORK/PHASE.jsonl, its stderr to WORK/PHASE.stderr; CPU of Ferry and of MEASURED_BROKER_PID.
harness() {
  local phase=$1
  shift
  # C2 like an application's JVM (the testkit's default is C1 only, for short test clients).
  FERRY_HARNESS_JAVA_OPTS="-XX:TieredStopAtLevel=4 -Xms256m -Xmx512m" \
    bash "$RMQ" harness "$@" --clk-tck "$CLK_TCK" --cpu-pids "ferry=$FERRY_PID,broker=$MEASURED_BROKER_PID" \
    --out "$WORK/$phase.jsonl" 2>"$WORK/$phase.stderr" &
  await_phase "$phase" '^ferry-harness: (warm-up|round|consume)'
}

# harness5 PHASE ARGS...: as harness, but the testkit harness's own classes (the same Bench code)
# run on the jars of RocketMQ $PROXY_VERSION, i.e. rocketmq-client 5.x, for the three-way phases:
# the Apache Proxy's remoting server forwards a client's request to the broker named in it and
# answers VERSION_NOT_SUPPORTED "Request doesn't have field bname" when there is none (the "n" field
# of SEND_MESSAGE_V2, "bname" of the others; proxy/src/main/java/org/apache/rocketmq/proxy/remoting/
# activity/AbstractRemotingActivity.java, request(), @ rocketmq-all-5.3.3); a 4.9 client sends none,
# a 5.x client fills them in (remoting/.../rpc/RpcRequestHeader.java, SendMessageRequestHeaderV2.n).
# CPU of Ferry, the measured broker and the Proxy's JVM.
harness5() {
  local phase=$1
  shift
  local classes="$CACHE_DIR/harness/build/classes" jars="$CACHE_DIR/rocketmq/$PROXY_VERSION/lib"
  [[ -f "$classes/dev/ferry/harness/Bench.class" ]] || die "no harness classes in $classes (rocketmq.sh fetch builds them)"
  [[ -d "$jars" ]] || die "no RocketMQ $PROXY_VERSION jars in $jars"
  mkdir -p "$WORK/client5-home"
  # The options of `rocketmq.sh harness` with FERRY_HARNESS_JAVA_OPTS as harness() gives them.
  # stdout to a file: the 5.x jars' logback prints its configuration status there.
  # shellcheck disable=SC2086 # JAVA_OPENS is a list of options
  "$JAVA_BIN" -Xms256m -Xmx512m -XX:+UseSerialGC -XX:+PerfDisableSharedMem -Duser.home="$WORK/client5-home" \
    $JAVA_OPENS -cp "$classes:$jars/*" dev.ferry.harness.Main "$@" --clk-tck "$CLK_TCK" \
    --cpu-pids "ferry=$FERRY_PID,broker=$MEASURED_BROKER_PID,proxy=$PROXY_PID" \
    --out "$WORK/$phase.jsonl" >"$WORK/$phase.stdout" 2>"$WORK/$phase.stderr" &
  await_phase "$phase" '^ferry-harness: (warm-up|round|consume|send failed)'
}

# start_apache_proxy NAMESRV CLUSTER BROKER_VERSION: the Apache RocketMQ Proxy $PROXY_VERSION in
# cluster mode (testkit/rocketmq.sh proxy-start: -Xms128m -Xmx256m -XX:MaxDirectMemorySize=256m,
# SerialGC), a remoting client of the brokers NAMESRV knows, on free ports (a gRPC one it needs and
# its remoting port); remotingAccessAddr 127.0.0.1, the address its route answers name (its default
# is the host's first non-loopback one); its defaults otherwise, except in front of a 4.x broker:
# there enableTopicMessageTypeCheck=false, since before every send the check reads the topic's
# config through a cache whose loader asks the broker GET_TOPIC_CONFIG (351), a request 4.x brokers
# do not know, so the failed load is never cached and every send would cost one more broker round
# trip that a 5.x broker spares it (proxy/.../service/metadata/ClusterMetadataService.java
# getTopicMessageType, remoting/activity/SendMessageActivity.java @ rocketmq-all-5.3.3): off, the
# Proxy does what it does in front of a 5.x broker, minus a cache hit. Sets PROXY_NAME PROXY_PID
# PROXY_ADDR PROXY_STARTUP_MS PROXY_PROPS.
start_apache_proxy() { # NS CLUSTER BROKER_VERSION [TAG]: sets PROXY_NAME, _PID, _ADDR (remoting), _GRPC, _STARTUP_MS
  local ns=$1 cluster=$2 broker_version=$3 tag=${4:-apx} attempt rc base
  local props=(--prop 'remotingAccessAddr="127.0.0.1"')
  PROXY_PROPS="remotingAccessAddr \"127.0.0.1\""
  if [[ "$broker_version" == 4.* ]]; then
    props+=(--prop enableTopicMessageTypeCheck=false)
    PROXY_PROPS+=", enableTopicMessageTypeCheck false (a $broker_version broker does not know GET_TOPIC_CONFIG)"
  fi
  PROXY_NAME="bench-proxy-$tag-$$"
  STARTED+=("$PROXY_NAME")
  for attempt in 1 2 3 4 5; do
    base=$(pick_port_run 2)
    log "starting the Apache RocketMQ Proxy $PROXY_VERSION (cluster mode, remoting :$((base + 1)), gRPC :$base, attempt $attempt)"
    rc=0
    bash "$RMQ" proxy-start "$PROXY_NAME" --version "$PROXY_VERSION" --namesrv "$ns" --cluster-name "$cluster" \
      --grpc-port "$base" --remoting-port "$((base + 1))" "${props[@]}" \
      --watch-pid $$ --timeout-secs 180 >"$WORK/start-$PROXY_NAME.env" 2>"$WORK/start-$PROXY_NAME.err" || rc=$?
    case "$rc" in
      0)
        PROXY_PID=$(env_of "$WORK/start-$PROXY_NAME.env" PROXY_PID)
        PROXY_ADDR=$(env_of "$WORK/start-$PROXY_NAME.env" REMOTING)
        PROXY_GRPC=$(env_of "$WORK/start-$PROXY_NAME.env" GRPC)
        PROXY_STARTUP_MS=$(env_of "$WORK/start-$PROXY_NAME.env" STARTUP_MS)
        [[ -n "$PROXY_PID" && -n "$PROXY_ADDR" ]] || die "rocketmq.sh proxy-start printed no PROXY_PID= or REMOTING="
        return 0
        ;;
      3) log "a port was taken, picking others" ;;
      *) cat "$WORK/start-$PROXY_NAME.err" >&2; die "the Apache RocketMQ Proxy $PROXY_VERSION did not start (exit $rc)" ;;
    esac
  done
  die "the Apache RocketMQ Proxy: no free ports after 5 attempts"
}

# ------------------------------------------------------------------------------------------------
# Build, fetch, clusters, Ferry
# ------------------------------------------------------------------------------------------------

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
CACHE_DIR="${FERRY_CACHE:-$REPO_ROOT/.cache}"
# The JVM and the module flags testkit/rocketmq.sh uses (java_opens there), for harness5.
if [[ -n "${JAVA:-}" ]]; then JAVA_BIN=$JAVA
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA_BIN="$JAVA_HOME/bin/java"
else JAVA_BIN=java
fi
JAVA_OPENS=""
if [[ "$("$JAVA_BIN" -version 2>&1 | head -n 1)" != *'"1.'* ]]; then
  JAVA_OPENS="--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED"
fi
PROXY_PID="" PROXY_NAME=""
T_BENCH0=${EPOCHREALTIME//[!0-9]/}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

if [[ -n "$FERRY_GIVEN" ]]; then
  BUILT=$FERRY_GIVEN
  [[ -x "$BUILT" ]] || die "--ferry $BUILT is not an executable"
  REV="the binary $BUILT ($(stat -c %y "$BUILT" | cut -d. -f1))"
else
  # The revision as the build starts (others may commit while it runs).
  REV=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n "$(git -C "$REPO_ROOT" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
    REV="$REV + uncommitted changes in crates/"
  fi
  log "building ferry (release)"
  (cd "$REPO_ROOT" && cargo build --release -p ferry --quiet)
  BUILT="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/ferry"
  [[ -x "$BUILT" ]] || die "no ferry binary at $BUILT"
fi
# A copy, so a rebuild in the tree while the benchmark runs does not change the binary.
FERRY="$WORK/ferry"
cp "$BUILT" "$FERRY"

versions=("$SOURCE_VERSION" "$TARGET_VERSION")
# The three-way phases' clients run on the Proxy's release's jars.
if ((APACHE_PROXY == 1)); then versions+=("$PROXY_VERSION"); fi
mapfile -t all_versions < <(printf '%s\n' "${versions[@]}" | sort -u)
log "fetching RocketMQ ${all_versions[*]} and building the harness (idempotent)"
bash "$RMQ" fetch "${all_versions[@]}"

start_cluster "$SOURCE_VERSION" "bench-proxy-src-$$" "$SOURCE_CLUSTER" "$SOURCE_BROKER"
SOURCE_NS=$NAMESRV SOURCE_BROKER_ADDR=$BROKER_ADDR
SOURCE_BROKER_PID=$(env_of "$WORK/start-bench-proxy-src-$$.env" BROKER_PID)
MEASURED_BROKER_PID=$SOURCE_BROKER_PID
log "source RocketMQ $SOURCE_VERSION up at $SOURCE_NS (broker $SOURCE_BROKER_ADDR) in $STARTUP_MS ms"
start_cluster "$TARGET_VERSION" "bench-proxy-dst-$$" "$TARGET_CLUSTER" "$TARGET_BROKER"
TARGET_NS=$NAMESRV TARGET_BROKER_ADDR=$BROKER_ADDR
TARGET_BROKER_PID=$(env_of "$WORK/start-bench-proxy-dst-$$.env" BROKER_PID)
log "target RocketMQ $TARGET_VERSION up at $TARGET_NS in $STARTUP_MS ms"

log "creating topic $TOPIC (8 queues) on the source"
bash "$RMQ" harness admin --namesrv "$SOURCE_NS" create-topic --cluster "$SOURCE_CLUSTER" --topic "$TOPIC" \
  --read 8 --write 8 >"$WORK/admin.out" 2>"$WORK/admin.err" ||
  { cat "$WORK/admin.err" >&2; die "could not create $TOPIC on the source"; }

# ferry serve: its own store and ferry.toml, everything on loopback; a fixed token, so nothing is
# read from its output. Ports: front, API, then the relay range (each broker takes a pair).
TOKEN="ferry-bench-token-$$-$RANDOM$RANDOM"
for attempt in 1 2 3 4 5; do
  base=$(pick_port_run 16)
  FRONT_PORT=$base API_PORT=$((base + 1))
  cat >"$WORK/ferry.toml" <<EOF
[proxy]
namesrv_listen = "127.0.0.1:$FRONT_PORT"
relay_bind = "127.0.0.1"
advertised_host = "127.0.0.1"
relay_ports = "$((base + 2))-$((base + 15))"

[api]
listen = "127.0.0.1:$API_PORT"
token = "$TOKEN"

[store]
path = "$WORK/ferry.db"
EOF
  log "starting ferry serve (front :$FRONT_PORT, API :$API_PORT, relays :$((base + 2))-$((base + 15)), attempt $attempt)"
  "$FERRY" serve --config "$WORK/ferry.toml" >"$WORK/ferry.stdout" 2>"$WORK/ferry.log" &
  FERRY_PID=$!
  up=0
  for ((i = 0; i < 300; i++)); do
    if grep -q '^Ferry is serving' "$WORK/ferry.stdout" 2>/dev/null; then up=1; break; fi
    kill -0 "$FERRY_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ((up == 1)); then break; fi
  stop_pid "$FERRY_PID"
  FERRY_PID=""
  if ! grep -q 'cannot listen\|cannot be bound\|Address already in use' "$WORK/ferry.log"; then
    tail -n 20 "$WORK/ferry.log" >&2
    die "ferry serve did not start"
  fi
  log "a port was taken, picking others"
done
[[ -n "$FERRY_PID" ]] || die "ferry serve: no free ports after 5 attempts"
FERRY_NS="127.0.0.1:$FRONT_PORT"
API="http://127.0.0.1:$API_PORT"
export FERRY_SERVER="$API" FERRY_TOKEN="$TOKEN" FERRY_ACTOR=bench

log "ferry migrate create / add-topic $TOPIC (Initial: the source is written and read)"
"$FERRY" migrate create --name bench --source-namesrv "$SOURCE_NS" --source-cluster "$SOURCE_CLUSTER" \
  --target-namesrv "$TARGET_NS" --target-cluster "$TARGET_CLUSTER" --json >"$WORK/migration.json" 2>"$WORK/migrate.err" ||
  { cat "$WORK/migrate.err" >&2; die "ferry migrate create failed"; }
MIGRATION=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/migration.json")
"$FERRY" migrate add-topic "$MIGRATION" "$TOPIC" --json >"$WORK/add-topic.json" 2>"$WORK/migrate.err" ||
  { cat "$WORK/migrate.err" >&2; die "ferry migrate add-topic failed"; }
sleep 1
read -r MEM_IDLE_RSS _ MEM_IDLE_THREADS MEM_IDLE_FDS < <(mem "$FERRY_PID")
log "ferry idle: RSS $(mib "$MEM_IDLE_RSS"), $MEM_IDLE_THREADS threads, $MEM_IDLE_FDS fds"

# ------------------------------------------------------------------------------------------------
# Traffic: direct vs through Ferry, alternating rounds in one client JVM per phase
# ------------------------------------------------------------------------------------------------

TARGETS="direct=$SOURCE_NS,ferry=$FERRY_NS"
api /api/proxy >"$WORK/proxy-0.json"

log "load: $THREADS threads, ${BODY}-byte messages, warm-up ${WARMUP_SECS} s per target, $ROUNDS x $ROUND_SECS s rounds each"
perf_start load
read -r LOAD_UTIME0 LOAD_STIME0 < <(cpu_ticks "$FERRY_PID")
read -r LOAD_VCSW0 LOAD_NVCSW0 < <(ctx_switches "$FERRY_PID")
harness load bench-produce --namesrv "$TARGETS" --topic "$TOPIC" --threads "$THREADS" --body-size "$BODY" \
  --round-secs "$ROUND_SECS" --rounds "$ROUNDS" --warmup-secs "$WARMUP_SECS"
read -r LOAD_UTIME1 LOAD_STIME1 < <(cpu_ticks "$FERRY_PID")
read -r LOAD_VCSW1 LOAD_NVCSW1 < <(ctx_switches "$FERRY_PID")
perf_stop
LOAD_SYSCALLS=$PERF_COUNT
api /api/proxy >"$WORK/proxy-1.json"

LAT_DESC="1 thread, back to back"
if ((LAT_RATE > 0)); then LAT_DESC="1 thread, $LAT_RATE msgs/s"; fi
log "latency: $LAT_DESC, warm-up $((WARMUP_SECS > 2 ? 2 : WARMUP_SECS)) s per target, $ROUNDS x $ROUND_SECS s rounds each"
harness latency bench-produce --namesrv "$TARGETS" --topic "$TOPIC" --threads 1 --rate "$LAT_RATE" \
  --body-size "$BODY" --round-secs "$ROUND_SECS" --rounds "$ROUNDS" --warmup-secs "$((WARMUP_SECS > 2 ? 2 : WARMUP_SECS))"
api /api/proxy >"$WORK/proxy-2.json"

stored=$(cat "$WORK/load.jsonl" "$WORK/latency.jsonl" | python3 -c 'import json,sys; print(sum(json.loads(l)["sent"] for l in sys.stdin if l.strip()))')
if ((stored < CONSUME_COUNT)); then
  log "the topic holds about $stored messages, fewer than --consume-count $CONSUME_COUNT: reading $stored"
  CONSUME_COUNT=$stored
fi
log "consume: a fresh group reads the first $CONSUME_COUNT of the topic's $stored+ messages, $ROUNDS rounds per target"
harness consume bench-consume --namesrv "$TARGETS" --topic "$TOPIC" --count "$CONSUME_COUNT" --rounds "$ROUNDS" \
  --warmup-count "$((CONSUME_COUNT / 4))" --timeout-secs 120
api /api/proxy >"$WORK/proxy-3.json"

read -r RELAY_LOAD_N RELAY_LOAD_P50 RELAY_LOAD_P99 < <(python3 "$WORK/latency.py" "$WORK/proxy-0.json" "$WORK/proxy-1.json")
# Per request Ferry relayed in the load phase (warm-ups included; the direct rounds' idle calls too).
LOAD_SYSCALLS_PER_REQ=$(awk -v n="$LOAD_SYSCALLS" -v r="$RELAY_LOAD_N" 'BEGIN { if (n == "-" || r + 0 == 0) print "-"; else printf "%.2f", n / r }')
log "Ferry's system calls in the load phase: $LOAD_SYSCALLS for $RELAY_LOAD_N relayed requests ($LOAD_SYSCALLS_PER_REQ per request)"
# Where Ferry's CPU goes in the load phase: in the kernel (its system calls: loopback TCP both ways,
# epoll, futex) or in user space (its own code, the runtime, malloc), per relayed request.
read -r LOAD_KERNEL_US_PER_REQ LOAD_USER_US_PER_REQ < <(awk -v u=$((LOAD_UTIME1 - LOAD_UTIME0)) \
  -v k=$((LOAD_STIME1 - LOAD_STIME0)) -v hz="$CLK_TCK" -v r="$RELAY_LOAD_N" \
  'BEGIN { if (r + 0 == 0) print "- -"; else printf "%.1f %.1f\n", k / hz * 1e6 / r, u / hz * 1e6 / r }')
log "Ferry's CPU per relayed request in the load phase: $LOAD_KERNEL_US_PER_REQ µs in the kernel, $LOAD_USER_US_PER_REQ µs in user space"
# How often its threads slept and were woken (the kernel's share is mostly that, on this VM).
read -r LOAD_WAKEUPS_PER_REQ LOAD_PREEMPTED_PER_REQ < <(awk -v v=$((LOAD_VCSW1 - LOAD_VCSW0)) \
  -v n=$((LOAD_NVCSW1 - LOAD_NVCSW0)) -v r="$RELAY_LOAD_N" \
  'BEGIN { if (r + 0 == 0) print "- -"; else printf "%.2f %.2f\n", v / r, n / r }')
log "Ferry's context switches per relayed request in the load phase: $LOAD_WAKEUPS_PER_REQ voluntary (slept, woken), $LOAD_PREEMPTED_PER_REQ preempted"
read -r RELAY_LAT_N RELAY_LAT_P50 RELAY_LAT_P99 < <(python3 "$WORK/latency.py" "$WORK/proxy-1.json" "$WORK/proxy-2.json")

sleep 1
read -r MEM_AFTER_RSS MEM_AFTER_HWM MEM_AFTER_THREADS MEM_AFTER_FDS < <(mem "$FERRY_PID")
log "ferry after the traffic: RSS $(mib "$MEM_AFTER_RSS"), peak $(mib "$MEM_AFTER_HWM"), $MEM_AFTER_THREADS threads, $MEM_AFTER_FDS fds"

# ------------------------------------------------------------------------------------------------
# Three paths: direct, the Apache RocketMQ Proxy, Ferry (issue 15); --no-apache-proxy skips it
# ------------------------------------------------------------------------------------------------

if ((APACHE_PROXY == 1)); then
  T_THREE0=${EPOCHREALTIME//[!0-9]/}
  # In front of the measured (source) broker, as Ferry is. A remoting client uses the Proxy by
  # giving its remoting port as the NameServer: GET_ROUTEINFO_BY_TOPIC is answered by the Proxy
  # itself, with the NameServer's route whose broker addresses are replaced by the Proxy's own
  # remotingAccessAddr:remotingListenPort (proxy/src/main/java/org/apache/rocketmq/proxy/remoting/
  # activity/GetTopicRouteActivity.java @ rocketmq-all-5.3.3); every later request goes to it, and
  # it forwards each to the broker the request names (AbstractRemotingActivity.request()).
  start_apache_proxy "$SOURCE_NS" "$SOURCE_CLUSTER" "$SOURCE_VERSION"
  log "Apache Proxy up at $PROXY_ADDR (pid $PROXY_PID) in $PROXY_STARTUP_MS ms"
  # Its route for the topic must name the Proxy alone (retried: its route cache fills after start).
  for ((i = 0; i < 60; i++)); do
    if python3 "$WORK/route.py" "${PROXY_ADDR%:*}" "${PROXY_ADDR##*:}" "$TOPIC" >"$WORK/route-apache-proxy.txt" 2>"$WORK/route-apache-proxy.err" &&
      [[ "$(paste -sd' ' "$WORK/route-apache-proxy.txt")" == "$PROXY_ADDR" ]]; then
      break
    fi
    sleep 1
  done
  PROXY_ROUTE=$(paste -sd' ' "$WORK/route-apache-proxy.txt" 2>/dev/null || true)
  [[ "$PROXY_ROUTE" == "$PROXY_ADDR" ]] ||
    die "the Apache Proxy routes $TOPIC to '${PROXY_ROUTE:-nothing}' ($(tail -n 1 "$WORK/route-apache-proxy.err" 2>/dev/null)), not to itself ($PROXY_ADDR)"
  sleep 2
  read -r PROXY_RSS_IDLE _ PROXY_THREADS_IDLE _ < <(mem "$PROXY_PID")
  read -r FERRY3_RSS_IDLE _ < <(mem "$FERRY_PID")
  log "Apache Proxy routes $TOPIC to $PROXY_ROUTE; idle: RSS $(mib "$PROXY_RSS_IDLE"), $PROXY_THREADS_IDLE threads (Ferry: $(mib "$FERRY3_RSS_IDLE"))"

  TARGETS3="direct=$SOURCE_NS,apache-proxy=$PROXY_ADDR,ferry=$FERRY_NS"
  log "three-way load: rocketmq-client $PROXY_VERSION, $THREADS threads, warm-up ${WARMUP_SECS} s per path, $ROUNDS x $ROUND_SECS s rounds each"
  harness5 load3 bench-produce --namesrv "$TARGETS3" --topic "$TOPIC" --threads "$THREADS" --body-size "$BODY" \
    --round-secs "$ROUND_SECS" --rounds "$ROUNDS" --warmup-secs "$WARMUP_SECS"
  log "three-way latency: $LAT_DESC, $ROUNDS x $ROUND_SECS s rounds each"
  harness5 latency3 bench-produce --namesrv "$TARGETS3" --topic "$TOPIC" --threads 1 --rate "$LAT_RATE" \
    --body-size "$BODY" --round-secs "$ROUND_SECS" --rounds "$ROUNDS" --warmup-secs "$((WARMUP_SECS > 2 ? 2 : WARMUP_SECS))"
  CONSUME3_COUNT=$CONSUME_COUNT
  log "three-way consume: a fresh group reads the first $CONSUME3_COUNT messages, $ROUNDS rounds per path"
  harness5 consume3 bench-consume --namesrv "$TARGETS3" --topic "$TOPIC" --count "$CONSUME3_COUNT" --rounds "$ROUNDS" \
    --warmup-count "$((CONSUME3_COUNT / 4))" --timeout-secs 180
  sleep 1
  read -r PROXY_RSS_AFTER PROXY_HWM PROXY_THREADS_AFTER _ < <(mem "$PROXY_PID")
  read -r FERRY3_RSS_AFTER FERRY3_HWM _ < <(mem "$FERRY_PID")
  PROXY_LOGS=$(env_of "$WORK/start-$PROXY_NAME.env" PROXY_LOGS)
  PROXY_WARNINGS=$(grep -c ' WARN \| ERROR ' "$PROXY_LOGS/proxy.log" 2>/dev/null || true)
  cp "$PROXY_LOGS/proxy.log" "$WORK/apache-proxy.log" 2>/dev/null || true # kept with the work dir (--keep)
  if [[ "${PROXY_WARNINGS:-0}" != 0 ]]; then
    log "the Apache Proxy's log has $PROXY_WARNINGS WARN/ERROR lines, the first ones:"
    grep ' WARN \| ERROR ' "$PROXY_LOGS/proxy.log" | head -n 3 | cut -c1-300 | sed 's/^/  /' >&2 || true
  fi
  log "after the three-way rounds: Apache Proxy RSS $(mib "$PROXY_RSS_AFTER"), peak $(mib "$PROXY_HWM"), $PROXY_THREADS_AFTER threads; Ferry RSS $(mib "$FERRY3_RSS_AFTER"), peak $(mib "$FERRY3_HWM")"
  # Stopped before the connections phase, so that it takes no CPU there.
  stop_cluster "$PROXY_NAME"
  PROXY_PID=""
  THREE_MS=$(ms_since "$T_THREE0")
fi

# ------------------------------------------------------------------------------------------------
# The gRPC path: the Apache Proxy straight to the target broker, and through Ferry; --no-grpc skips it
# ------------------------------------------------------------------------------------------------

if ((GRPC == 1)) && [[ "$TARGET_VERSION" != 5.* ]]; then
  log "the gRPC path needs a 5.x broker (gRPC consumers read by POP): the target is $TARGET_VERSION, skipped"
  GRPC=0
fi
if ((GRPC == 1)); then
  T_GRPC0=${EPOCHREALTIME//[!0-9]/}
  # Two topics on the target broker, one per path, so that each path's consumer reads only its own
  # path's messages; the second on the source too and added to the migration, stepped to Completed
  # (relayed to the target), the first not migrating (the direct Proxy reads the target's NameServer).
  create_topic target "$GRPC_TOPIC-direct"
  create_topic source "$GRPC_TOPIC-ferry"
  create_topic target "$GRPC_TOPIC-ferry"
  "$FERRY" migrate add-topic "$MIGRATION" "$GRPC_TOPIC-ferry" --json >"$WORK/add-topic-grpc.json" 2>"$WORK/migrate.err" ||
    { cat "$WORK/migrate.err" >&2; die "ferry migrate add-topic $GRPC_TOPIC-ferry failed"; }
  # --ignore-checks as for the Direct topic: no live clients of the topic until it is relayed.
  for stage in DualRead DualReadWrite CuttingOver Completed; do
    "$FERRY" migrate proceed "$MIGRATION" "$GRPC_TOPIC-ferry" --ignore-checks \
      --reason "bench/proxy.sh gRPC path: no live clients in a benchmark; measuring a relayed topic" \
      --json >"$WORK/proceed-grpc-$stage.json" 2>"$WORK/migrate.err" ||
      { cat "$WORK/migrate.err" >&2; die "ferry migrate proceed $GRPC_TOPIC-ferry (to $stage) failed"; }
  done
  start_apache_proxy "$TARGET_NS" "$TARGET_CLUSTER" "$TARGET_VERSION" grpcd
  GRPC_PROXY_DIRECT=$PROXY_GRPC GRPC_PROXY_DIRECT_PID=$PROXY_PID GRPC_PROXY_DIRECT_NAME=$PROXY_NAME
  start_apache_proxy "$FERRY_NS" "$TARGET_CLUSTER" "$TARGET_VERSION" grpcf
  GRPC_PROXY_FERRY=$PROXY_GRPC GRPC_PROXY_FERRY_PID=$PROXY_PID GRPC_PROXY_FERRY_NAME=$PROXY_NAME
  PROXY_PID=""
  log "gRPC: Apache Proxies at $GRPC_PROXY_DIRECT (the target's NameServer) and $GRPC_PROXY_FERRY (Ferry's front); $THREADS threads, warm-up ${GRPC_WARMUP_SECS} s per path, $ROUNDS x $ROUND_SECS s rounds each"
  FERRY_HARNESS_JAVA_OPTS="-XX:TieredStopAtLevel=4 -Xms256m -Xmx512m" \
    bash "$RMQ" harness-grpc bench-produce --endpoints "direct=$GRPC_PROXY_DIRECT,ferry=$GRPC_PROXY_FERRY" \
    --topics "direct=$GRPC_TOPIC-direct,ferry=$GRPC_TOPIC-ferry" --threads "$THREADS" --body-size "$BODY" \
    --round-secs "$ROUND_SECS" --rounds "$ROUNDS" --warmup-secs "$GRPC_WARMUP_SECS" --clk-tck "$CLK_TCK" \
    --cpu-pids "ferry=$FERRY_PID,broker=$TARGET_BROKER_PID,proxy-direct=$GRPC_PROXY_DIRECT_PID,proxy-ferry=$GRPC_PROXY_FERRY_PID" \
    --out "$WORK/grpc.jsonl" >"$WORK/grpc.stdout" 2>"$WORK/grpc.stderr" &
  await_phase grpc '^ferry-harness-grpc: '
  read -r GRPC_PROXY_DIRECT_RSS _ < <(mem "$GRPC_PROXY_DIRECT_PID")
  read -r GRPC_PROXY_FERRY_RSS _ < <(mem "$GRPC_PROXY_FERRY_PID")
  stop_cluster "$GRPC_PROXY_DIRECT_NAME"
  stop_cluster "$GRPC_PROXY_FERRY_NAME"
  python3 "$WORK/summarize-grpc.py" "$WORK/grpc.jsonl" "$WORK/grpc.json" "$WORK/grpc.md" \
    "$GRPC_PROXY_DIRECT_RSS" "$GRPC_PROXY_FERRY_RSS" "$PROXY_VERSION" || die "could not summarize the gRPC phase"
  GRPC_MS=$(ms_since "$T_GRPC0")
  log "gRPC path done in $((GRPC_MS / 1000)) s"
fi

# ------------------------------------------------------------------------------------------------
# Memory with N client connections through the source's relay
# ------------------------------------------------------------------------------------------------

RELAY_PORT=$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
ports = [r["port"] for r in p["relays"] if str(r["side"]).lower() == "source" and r["backend"] == sys.argv[2]]
print(ports[0] if ports else "")' "$WORK/proxy-3.json" "$SOURCE_BROKER_ADDR")
[[ -n "$RELAY_PORT" ]] || { cat "$WORK/proxy-3.json" >&2; die "no relay for the source broker $SOURCE_BROKER_ADDR"; }
nofile=$(ulimit -n)
if [[ "$nofile" != unlimited ]] && ((nofile < 2 * CONNECTIONS + 256)); then
  log "ferry's open-files limit is $nofile; $CONNECTIONS connections need about $((2 * CONNECTIONS + 100))"
fi
# connections CYCLE SENDS: opens --connections connections (client ids ferry-bench-conn-CYCLE-i),
# measures Ferry with them open; with SENDS > 0 each connection then produces SENDS messages and
# Ferry is measured again; then they close, the relay must count zero, and Ferry is measured once
# more. Sets MEM_PRE_RSS MEM_PRE_FDS (before), MEM_CONN_* (open), MEM_BUSY_RSS (after the sends),
# MEM_CLOSED_* (closed), CONN_OPEN CONN_MS CONN_GAUGE, SENT_UP_KIB SENT_DOWN_KIB SENT_MS.
connections() {
  local cycle=$1 sends=$2 i n
  read -r MEM_PRE_RSS _ _ MEM_PRE_FDS < <(mem "$FERRY_PID")
  rm -f "$WORK"/conns.{ready,go,done,stop}
  log "cycle $cycle: opening $CONNECTIONS connections to the relay 127.0.0.1:$RELAY_PORT (one HEART_BEAT each)"
  python3 "$WORK/conns.py" 127.0.0.1 "$RELAY_PORT" "$CONNECTIONS" "$WORK/conns.ready" "$WORK/conns.stop" $$ \
    "ferry-bench-conn-$cycle" "$TOPIC" "$sends" "$WORK/conns.go" "$WORK/conns.done" 2>"$WORK/conns.err" &
  CURRENT_PID=$!
  wait_file "$WORK/conns.ready" "$CONNECTIONS connections were not all answered"
  read -r CONN_OPEN CONN_MS <"$WORK/conns.ready"
  sleep 2
  read -r MEM_CONN_RSS _ MEM_CONN_THREADS MEM_CONN_FDS < <(mem "$FERRY_PID")
  api /api/proxy >"$WORK/proxy-conns-$cycle.json"
  CONN_GAUGE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["connections"]["source"])' \
    "$WORK/proxy-conns-$cycle.json")
  log "cycle $cycle: $CONN_OPEN connections answered in $CONN_MS ms; ferry: RSS $(mib "$MEM_CONN_RSS"), $MEM_CONN_FDS fds (+$((MEM_CONN_FDS - MEM_PRE_FDS))), relay connections $CONN_GAUGE"
  MEM_BUSY_RSS="" SENT_UP_KIB="" SENT_DOWN_KIB="" SENT_MS=""
  if ((sends > 0)); then
    log "cycle $cycle: each connection produces $sends messages of 1 KiB"
    : >"$WORK/conns.go"
    wait_file "$WORK/conns.done" "the connections' sends did not all succeed"
    read -r SENT_UP_KIB SENT_DOWN_KIB SENT_MS <"$WORK/conns.done"
    sleep 1
    read -r MEM_BUSY_RSS _ < <(mem "$FERRY_PID")
    log "cycle $cycle: sent in $SENT_MS ms ($SENT_UP_KIB KiB up, $SENT_DOWN_KIB KiB down per connection); ferry: RSS $(mib "$MEM_BUSY_RSS")"
  fi
  : >"$WORK/conns.stop"
  wait "$CURRENT_PID" || die "the connection opener failed: $(cat "$WORK/conns.err")"
  CURRENT_PID=""
  for ((i = 0; i < 100; i++)); do
    n=$(api /api/proxy | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"]["source"])')
    ((n == 0)) && break
    sleep 0.1
  done
  sleep 1
  read -r MEM_CLOSED_RSS MEM_HWM _ MEM_CLOSED_FDS < <(mem "$FERRY_PID")
  log "cycle $cycle: connections closed: ferry RSS $(mib "$MEM_CLOSED_RSS"), peak $(mib "$MEM_HWM"), $MEM_CLOSED_FDS fds"
}

# wait_file PATH WHAT: waits (up to 180 s) for the connection opener to publish PATH; dies if it
# exits first or the time runs out.
wait_file() {
  local i
  for ((i = 0; i < 1800; i++)); do
    [[ -s "$1" ]] && return 0
    kill -0 "$CURRENT_PID" 2>/dev/null || { cat "$WORK/conns.err" >&2; die "$2 (the connection opener failed)"; }
    sleep 0.1
  done
  die "$2 within 180 s"
}

# The figures of the first cycle; more cycles with other client ids (clients restarting) show
# whether closed connections leave memory behind: a leak grows by the same amount every cycle,
# allocator reuse levels off.
connections 1 "$CONN_SENDS"
C1_BUSY_RSS=$MEM_BUSY_RSS C1_UP=$SENT_UP_KIB C1_DOWN=$SENT_DOWN_KIB C1_SENT_MS=$SENT_MS
C1_PRE_RSS=$MEM_PRE_RSS C1_PRE_FDS=$MEM_PRE_FDS C1_RSS=$MEM_CONN_RSS C1_THREADS=$MEM_CONN_THREADS
C1_FDS=$MEM_CONN_FDS C1_CLOSED_RSS=$MEM_CLOSED_RSS C1_OPEN=$CONN_OPEN C1_MS=$CONN_MS C1_GAUGE=$CONN_GAUGE
CYCLES_OPEN=("$(mib "$C1_RSS")") CYCLES_CLOSED=("$(mib "$C1_CLOSED_RSS")")
for ((cycle = 2; cycle <= CYCLES; cycle++)); do
  prev_closed=$MEM_CLOSED_RSS
  connections "$cycle" 0
  CYCLES_OPEN+=("$(mib "$MEM_CONN_RSS")") CYCLES_CLOSED+=("$(mib "$MEM_CLOSED_RSS")")
  LAST_GROWTH=$(awk -v a="$MEM_CLOSED_RSS" -v b="$prev_closed" -v n="$CONNECTIONS" \
    'BEGIN { printf "%+.0f KiB (%+.2f KiB per connection)", a - b, (a - b) / n }')
done

# ------------------------------------------------------------------------------------------------
# A topic at Direct: the target's own NameServer vs Ferry's front (routes only); --no-direct skips it
# ------------------------------------------------------------------------------------------------

if ((DIRECT == 1)); then
  T_DIRECT0=${EPOCHREALTIME//[!0-9]/}
  # On both clusters, 8 queues each: a migration moves clients, not messages, so the target needs
  # the topic (add-topic would import it too, and then finds it unchanged).
  for side in source target; do
    log "creating topic $DIRECT_TOPIC (8 queues) on the $side"
    create_topic "$side" "$DIRECT_TOPIC"
  done
  "$FERRY" migrate add-topic "$MIGRATION" "$DIRECT_TOPIC" --json >"$WORK/add-topic-direct.json" 2>"$WORK/migrate.err" ||
    { cat "$WORK/migrate.err" >&2; die "ferry migrate add-topic $DIRECT_TOPIC failed"; }
  # Every step with --ignore-checks: their checks need what this benchmark does not run (consumers
  # of the topic registered on both sides with offsets on the target, clients that fetched each new
  # route, no backlog on the source; and Direct's migration-done wants every topic of the migration
  # Completed, while the first topic stays at Initial). The reason is kept in the topic's history.
  for stage in DualRead DualReadWrite CuttingOver Completed Direct; do
    "$FERRY" migrate proceed "$MIGRATION" "$DIRECT_TOPIC" --ignore-checks \
      --reason "bench/proxy.sh --direct: no live consumers in a benchmark; measuring a Direct topic's throughput" \
      --json >"$WORK/proceed-$stage.json" 2>"$WORK/migrate.err" ||
      { cat "$WORK/migrate.err" >&2; die "ferry migrate proceed $DIRECT_TOPIC (to $stage) failed"; }
  done
  api /api/proxy >"$WORK/proxy-d0.json"
  stage=$(python3 -c '
import json, sys
print(",".join(s["stage"] for s in json.load(open(sys.argv[1]))["stages"] if s["topic"] == sys.argv[2]) or "none")' \
    "$WORK/proxy-d0.json" "$DIRECT_TOPIC")
  [[ "$stage" == Direct ]] || die "$DIRECT_TOPIC is at $stage in Ferry's stage table after five steps, not Direct"
  python3 "$WORK/route.py" 127.0.0.1 "$FRONT_PORT" "$DIRECT_TOPIC" >"$WORK/route-direct.txt" ||
    die "Ferry's front did not answer the route of $DIRECT_TOPIC"
  DIRECT_ROUTE=$(paste -sd' ' "$WORK/route-direct.txt")
  [[ "$DIRECT_ROUTE" == "$TARGET_BROKER_ADDR" ]] ||
    die "Ferry's front routes $DIRECT_TOPIC to ${DIRECT_ROUTE:-nothing}, not to the target broker $TARGET_BROKER_ADDR alone"
  DIRECT_SETUP_MS=$(ms_since "$T_DIRECT0")
  log "$DIRECT_TOPIC is Direct: Ferry's front routes it to $DIRECT_ROUTE (the target broker) (set up in $DIRECT_SETUP_MS ms)"

  api /metrics >"$WORK/metrics-d0.txt"
  rm -f "$WORK"/direct-watch.{stop,out}
  python3 "$WORK/direct-watch.py" "$API" "$TOKEN" "$MIGRATION" "$TARGET_BROKER_ADDR" "$WORK/direct-watch.stop" $$ \
    "$WORK/direct-watch.out" 2>"$WORK/direct-watch.err" &
  WATCHER_PID=$!
  MEASURED_BROKER_PID=$TARGET_BROKER_PID
  log "direct: $DIRECT_TOPIC, the target's NameServer vs Ferry's front, $THREADS threads, warm-up ${WARMUP_SECS} s per target, $ROUNDS x $ROUND_SECS s rounds each"
  harness direct bench-produce --namesrv "target=$TARGET_NS,ferry=$FERRY_NS" --topic "$DIRECT_TOPIC" \
    --threads "$THREADS" --body-size "$BODY" --round-secs "$ROUND_SECS" --rounds "$ROUNDS" --warmup-secs "$WARMUP_SECS"
  : >"$WORK/direct-watch.stop"
  wait "$WATCHER_PID" || die "polling Ferry's API during the direct phase failed: $(tail -n 3 "$WORK/direct-watch.err")"
  WATCHER_PID=""
  read -r WATCH_N WATCH_SIDE WATCH_RELAY WATCH_FRONT <"$WORK/direct-watch.out"
  api /metrics >"$WORK/metrics-d1.txt"
  api /api/proxy >"$WORK/proxy-d1.json"
  read -r RELAYED_PRODUCED RELAYED_CONSUMED RELAYED_REQS < <(python3 "$WORK/relayed.py" "$WORK/metrics-d0.txt" \
    "$WORK/metrics-d1.txt" "$WORK/proxy-d0.json" "$WORK/proxy-d1.json" "$DIRECT_TOPIC")
  rc=0
  "$FERRY" migrate leave "$MIGRATION" --json >"$WORK/leave.json" 2>"$WORK/migrate.err" || rc=$?
  ((rc == 0 || rc == 7)) || { cat "$WORK/migrate.err" >&2; die "ferry migrate leave failed (exit $rc)"; }
  LEAVE_VERDICT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$WORK/leave.json")
  DIRECT_MS=$(ms_since "$T_DIRECT0")
  log "direct: relayed meanwhile: $RELAYED_PRODUCED messages of $DIRECT_TOPIC produced, $RELAYED_CONSUMED consumed, $RELAYED_REQS requests through target relays; at most $WATCH_SIDE connections through target relays, $WATCH_RELAY through the relay for $TARGET_BROKER_ADDR, $WATCH_FRONT to the front ($WATCH_N polls); leave: $LEAVE_VERDICT (exit $rc)"
fi

log "stopping ferry serve (SIGTERM)"
kill -TERM "$FERRY_PID"
rc=0
wait "$FERRY_PID" || rc=$?
FERRY_PID=""
((rc == 0)) || { tail -n 20 "$WORK/ferry.log" >&2; die "ferry serve exited $rc on SIGTERM"; }
WARNINGS=$(grep -c 'WARN\|ERROR' "$WORK/ferry.log" || true)
for name in "${STARTED[@]}"; do stop_cluster "$name"; done

# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------

load_env() { # PHASE FILE PREFIX: summarize.py's KEY=VALUE lines as PREFIX_KEY variables; RAW rows kept
  local line
  python3 "$WORK/summarize.py" "$1" "$2" >"$WORK/summary-$1.txt" || die "could not summarize $2"
  while IFS= read -r line; do
    case "$line" in
      RAW*) RAW+=("${line#RAW }") ;;
      *=*) printf -v "$3_${line%%=*}" '%s' "${line#*=}" ;;
    esac
  done <"$WORK/summary-$1.txt"
}
RAW=()
load_env load "$WORK/load.jsonl" L
load_env latency "$WORK/latency.jsonl" T
load_env consume "$WORK/consume.jsonl" C
if ((DIRECT == 1)); then load_env direct "$WORK/direct.jsonl" D; fi
# shellcheck disable=SC2154 # set by load_env
{
  ((L_FAILED == 0 && T_FAILED == 0)) || die "failed sends: $L_FAILED under load, $T_FAILED in the latency phase"
  ((DIRECT == 0 || D_FAILED == 0)) || die "failed sends: $D_FAILED in the direct phase"
}

verdict() { if awk "BEGIN { exit !($1) }"; then echo "**met**"; else echo "**missed**"; fi; }
# shellcheck disable=SC2154
{
  V_RATIO=$(verdict "$L_TP_RATIO >= $GOAL_RATIO")
  V_P99=$(verdict "$T_P99US_ADDED_MS <= $GOAL_P99_MS")
  V_CRATIO=$(verdict "$C_TP_RATIO >= $GOAL_RATIO")
  V_MEM=$(verdict "$C1_RSS < $GOAL_MIB * 1024")
  V_MEM_BUSY=""
  if [[ -n "$C1_BUSY_RSS" ]]; then V_MEM_BUSY=$(verdict "$C1_BUSY_RSS < $GOAL_MIB * 1024"); fi
}
ms() { awk -v us="$1" 'BEGIN { printf "%.3f ms", us / 1000 }'; }
added() { awk -v v="$1" 'BEGIN { printf "%+.3f ms", v }'; }
# The Direct topic's rows and notes (--direct), and whether the relays carried any of it.
DIRECT_ROWS="" DIRECT_NOTE="" RELAYED_ANY=0
# shellcheck disable=SC2154 # D_* come from load_env
if ((DIRECT == 1)); then
  if ((RELAYED_PRODUCED != 0 || RELAYED_CONSUMED != 0 || RELAYED_REQS != 0 || WATCH_SIDE != 0)); then RELAYED_ANY=1; fi
  V_DRATIO=$(verdict "$D_TP_RATIO >= $GOAL_RATIO")
  V_RELAYED=$(verdict "$RELAYED_ANY == 0")
  DIRECT_ROWS="| **Direct topic** ($THREADS threads, ${BODY} B, sync; direct = the target's NameServer, Ferry = its front: routes only) | producer throughput | $D_TP_DIRECT msgs/s | $D_TP_FERRY msgs/s | **${D_TP_RATIO}×** | ≥ $GOAL_RATIO | $V_DRATIO |
| | send latency p50 | $(ms "$D_P50US_DIRECT") | $(ms "$D_P50US_FERRY") | $(added "$D_P50US_ADDED_MS") | | |
| | send latency p99 | $(ms "$D_P99US_DIRECT") | $(ms "$D_P99US_FERRY") | **$(added "$D_P99US_ADDED_MS")** | | |
| | through the relays meanwhile | | $RELAYED_PRODUCED msgs, $RELAYED_REQS requests, ≤ $WATCH_SIDE connections | | 0 | $V_RELAYED |"
  DIRECT_NOTE=$'\n'"- Direct topic: \`$DIRECT_TOPIC\` (8 queues) created on both clusters, added to the migration and
  stepped Initial → DualRead → DualReadWrite → CuttingOver → Completed → Direct with \`--ignore-checks\`
  (the checks need consumers this benchmark does not run); Ferry's front then routed it to $DIRECT_ROUTE,
  the target broker itself. One client JVM, rounds alternating the target's own NameServer and Ferry's
  front in ABBA order, on the target broker ($TARGET_VERSION). Per-round ratios $D_TP_RATIOS; added p99 per
  round $D_P99US_ADDED_LIST ms. CPU seconds (client JVM / target broker / Ferry): target $D_CPU_CLIENT_DIRECT /
  $D_CPU_BROKER_DIRECT / $D_CPU_FERRY_DIRECT, ferry $D_CPU_CLIENT_FERRY / $D_CPU_BROKER_FERRY / $D_CPU_FERRY_FERRY. During the rounds
  ($WATCH_N polls of \`/api/proxy\` and \`/api/migrations/$MIGRATION/leave\`): at most $WATCH_SIDE client connections
  through the target's relays, $WATCH_RELAY through the relay for $TARGET_BROKER_ADDR, $WATCH_FRONT to the front;
  through the relays (\`/metrics\`, \`/api/proxy\`): $RELAYED_PRODUCED messages of the topic produced, $RELAYED_CONSUMED
  consumed, $RELAYED_REQS requests on the target side. \`ferry migrate leave\` afterwards: $LEAVE_VERDICT (the first
  topic is still at Initial). Set up in $((DIRECT_SETUP_MS / 1000)) s; the whole phase took $((DIRECT_MS / 1000)) s."
fi
per_conn=$(awk -v a="$C1_RSS" -v b="$C1_PRE_RSS" -v n="$CONNECTIONS" 'BEGIN { printf "%.1f KiB", (a - b) / n }')
BUSY_ROW=""
if [[ -n "$C1_BUSY_RSS" ]]; then
  per_busy=$(awk -v a="$C1_BUSY_RSS" -v b="$C1_PRE_RSS" -v n="$CONNECTIONS" 'BEGIN { printf "%.1f KiB", (a - b) / n }')
  BUSY_ROW="| | **the same connections after each produced $CONN_SENDS messages** of 1 KiB | | **$(mib "$C1_BUSY_RSS")** | $per_busy per connection | < $GOAL_MIB MiB | $V_MEM_BUSY |"
fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
memtotal=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo unknown)
java_v=$("$JAVA_BIN" -version 2>&1 | head -n 1 || true)

# The three-way phases: summaries, notes, the section (report.py) and the JSON summary.
THREE_SECTION="" THREE_TITLE=""
if ((APACHE_PROXY == 1)); then
  THREE_TITLE=" and through the Apache RocketMQ Proxy"
  for ph in load latency consume; do
    python3 "$WORK/summarize3.py" "${ph}3" "$WORK/${ph}3.jsonl" "$WORK/three-$ph.json" >"$WORK/summary3-$ph.txt" ||
      die "could not summarize $WORK/${ph}3.jsonl"
    while IFS= read -r line; do RAW+=("${line#RAW }"); done <"$WORK/summary3-$ph.txt"
  done
  read -r F3_DIRECT F3_PROXY F3_FERRY < <(python3 -c '
import json, sys
t = [json.load(open(p))["paths"] for p in sys.argv[1:]]
print(*(sum(x[k].get("failed", 0) for x in t) for k in ("direct", "apache-proxy", "ferry")))' \
    "$WORK/three-load.json" "$WORK/three-latency.json")
  ((F3_DIRECT == 0 && F3_FERRY == 0)) || die "failed sends in the three-way phases: $F3_DIRECT direct, $F3_FERRY through Ferry"
  cat >"$WORK/three-notes.md" <<END_OF_NOTES
- Same run, same source broker (RocketMQ $SOURCE_VERSION, \`$SOURCE_BROKER_ADDR\`) and topic \`$TOPIC\`, after the two-way
  phases above. Three paths, only the client's NameServer address differing: "direct" = the source's own
  NameServer; "Apache Proxy" = the remoting port of the Apache RocketMQ Proxy $PROXY_VERSION (Maven Central,
  \`rocketmq-proxy\`), cluster mode, a remoting client of the broker through the source's NameServer; it answers
  routes naming itself (\`$PROXY_ROUTE\`) and forwards every request; "Ferry" = Ferry's front, as above.
- The Proxy's JVM: -Xms128m -Xmx256m -XX:MaxDirectMemorySize=256m -XX:+UseSerialGC (testkit/rocketmq.sh
  proxy-start); set in rmq-proxy.json besides ports and addresses: $PROXY_PROPS; its defaults otherwise
  (thread pools sized by the $(nproc) cores); started in $((PROXY_STARTUP_MS / 1000)) s;
  ${PROXY_WARNINGS:-0} WARN/ERROR lines in its proxy.log.
- Clients: rocketmq-client $PROXY_VERSION (the testkit harness's Bench code on the $PROXY_VERSION jars), one JVM
  per phase, not the 4.9.8 client of the two-way phases: the Proxy answers a 4.9 client's sends
  VERSION_NOT_SUPPORTED (they lack the broker-name field a 5.x client adds;
  \`proxy/.../remoting/activity/AbstractRemotingActivity.java\` @ rocketmq-all-5.3.3).
- Rounds: $ROUNDS of $ROUND_SECS s per path and phase, ordered direct, Proxy, Ferry in odd rounds and Ferry,
  Proxy, direct in even ones; warm-up first (${WARMUP_SECS} s per path under load). Ratios are medians of the
  per-round ratios; "added" latency is the median of the per-round differences against direct; "Ferry
  vs Proxy" for latency is added (Ferry) / added (Proxy), and the median per-round latency ratio.
- CPU per message: utime+stime from /proc/PID/stat of each process over a path's rounds, divided by the
  messages of those rounds. The goals are judged in the load phase (throughput, CPU) and on RSS after
  these rounds. Everything shares $(nproc) cores: what the middleman uses is taken from the broker and
  the client.
END_OF_NOTES
  if ((F3_PROXY > 0)); then
    echo "- **$F3_PROXY sends through the Apache Proxy failed** (load and latency phases; see the raw rounds)." >>"$WORK/three-notes.md"
  fi
  echo "- The three-way phases took $((THREE_MS / 1000)) s." >>"$WORK/three-notes.md"
fi
total_ms=$(ms_since "$T_BENCH0")
{
  kv() { printf '%s=%s\n' "$1" "$2"; }
  kv DATE "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
  kv REV "$REV"
  kv GIT_COMMIT "$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  kv CORES "$(nproc)"
  kv CPU "$cpu"
  kv MEMTOTAL "$memtotal"
  kv LOADAVG "$LOADAVG"
  kv JAVA_V "$java_v"
  kv TOTAL_S "$((total_ms / 1000))"
  for v in SOURCE_VERSION TARGET_VERSION PROXY_VERSION THREADS BODY ROUNDS ROUND_SECS WARMUP_SECS LAT_RATE \
    CONSUME_COUNT CONNECTIONS CONN_SENDS CYCLES DIRECT APACHE_PROXY GRPC GOAL3_TP GOAL3_CPU GOAL3_RSS LAT_DESC \
    MEM_IDLE_RSS MEM_AFTER_RSS C1_RSS C1_BUSY_RSS C1_CLOSED_RSS MEM_HWM LOAD_SYSCALLS_PER_REQ \
    LOAD_KERNEL_US_PER_REQ LOAD_USER_US_PER_REQ LOAD_WAKEUPS_PER_REQ LOAD_PREEMPTED_PER_REQ; do
    kv "$v" "${!v}"
  done
  if ((DIRECT == 1)); then
    kv RELAYED_PRODUCED "$RELAYED_PRODUCED"
    kv RELAYED_CONSUMED "$RELAYED_CONSUMED"
    kv RELAYED_REQS "$RELAYED_REQS"
  fi
  if ((APACHE_PROXY == 1)); then
    kv CLIENT5_VERSION "$PROXY_VERSION"
    kv THREE_BROKER "the source broker, RocketMQ $SOURCE_VERSION ($SOURCE_BROKER_ADDR)"
    kv PROXY_JVM "-Xms128m -Xmx256m -XX:MaxDirectMemorySize=256m -XX:+UseSerialGC"
    kv PROXY_PROPS "$PROXY_PROPS"
    kv CONSUME3_COUNT "$CONSUME3_COUNT"
    for v in PROXY_STARTUP_MS PROXY_RSS_IDLE PROXY_RSS_AFTER PROXY_HWM FERRY3_RSS_IDLE FERRY3_RSS_AFTER FERRY3_HWM; do
      kv "$v" "${!v}"
    done
  fi
} >"$WORK/run.kv"
STAMP=$(date +%Y-%m-%d-%H%M%S)
JSON_OUT="-"
if [[ "$WRITE_RESULTS" == 1 ]]; then
  mkdir -p "$BENCH_DIR/results"
  JSON_OUT="$BENCH_DIR/results/proxy-$STAMP.json"
fi
THREE_SECTION=$(python3 "$WORK/report.py" "$WORK/run.kv" "$JSON_OUT") || die "could not write the report's three-way section or the JSON summary"

# shellcheck disable=SC2154 # L_*, T_*, C_* come from load_env
REPORT=$(
  cat <<END_OF_REPORT
## Java clients direct vs through ferry serve${THREE_TITLE}, $(date '+%Y-%m-%d %H:%M %Z')

- Machine: $(nproc) cores ($cpu), $memtotal RAM, load average $LOADAVG before the run; $java_v.
- Ferry: $REV (release build${TOKIO_WORKER_THREADS:+, TOKIO_WORKER_THREADS=$TOKIO_WORKER_THREADS}), \`ferry serve\` with a migration ($SOURCE_VERSION source, $TARGET_VERSION
  target, both one NameServer + one master broker on 127.0.0.1); topic \`$TOPIC\` (8 queues) added at
  Initial. "direct" = the source's own NameServer; "ferry" = Ferry's front, so every request goes
  client → relay → broker. Client: rocketmq-client 4.9.8 (the testkit harness), one JVM per phase,
  rounds alternating direct/ferry in ABBA order; $ROUNDS rounds of $ROUND_SECS s per target and phase.
- Clients, broker and Ferry share the $(nproc) cores, so Ferry's CPU comes out of the broker's
  and the clients' (on a host of its own it would not).
- Ratios are medians of the per-round ratios ferry / direct; "ferry vs direct" for latency is the
  median of the per-round differences ferry − direct. The p99 goal is judged in the latency phase
  (one request in flight); under load a lower throughput also means shorter queues, so the load
  phase's latencies are shown, not judged.

| phase | figure | direct | through Ferry | ferry vs direct | goal | |
|---|---|---|---|---|---|---|
| load ($THREADS threads, ${BODY} B, sync) | producer throughput | $L_TP_DIRECT msgs/s | $L_TP_FERRY msgs/s | **${L_TP_RATIO}×** | ≥ $GOAL_RATIO | $V_RATIO |
| | send latency p50 | $(ms "$L_P50US_DIRECT") | $(ms "$L_P50US_FERRY") | $(added "$L_P50US_ADDED_MS") | | |
| | send latency p99 | $(ms "$L_P99US_DIRECT") | $(ms "$L_P99US_FERRY") | $(added "$L_P99US_ADDED_MS") | | |
| latency ($LAT_DESC) | producer throughput | $T_TP_DIRECT msgs/s | $T_TP_FERRY msgs/s | ${T_TP_RATIO}× | | |
| | send latency p50 | $(ms "$T_P50US_DIRECT") | $(ms "$T_P50US_FERRY") | $(added "$T_P50US_ADDED_MS") | | |
| | send latency p99 | $(ms "$T_P99US_DIRECT") | $(ms "$T_P99US_FERRY") | **$(added "$T_P99US_ADDED_MS")** | ≤ $GOAL_P99_MS ms | $V_P99 |
| | send latency p99.9 | $(ms "$T_P999US_DIRECT") | $(ms "$T_P999US_FERRY") | $(added "$T_P999US_ADDED_MS") | | |
| consume (fresh group, $CONSUME_COUNT msgs) | consumer throughput | $C_TP_DIRECT msgs/s | $C_TP_FERRY msgs/s | **${C_TP_RATIO}×** | (≥ $GOAL_RATIO) | $V_CRATIO |
| memory | Ferry RSS idle (migration, no clients) | | $(mib "$MEM_IDLE_RSS") | | | |
| | after the traffic above | | $(mib "$MEM_AFTER_RSS") | | | |
| | **$CONNECTIONS client connections open** through one relay (one heartbeat each) | | **$(mib "$C1_RSS")** | $per_conn per connection | < $GOAL_MIB MiB | $V_MEM |
${BUSY_ROW}
| | after they closed | | $(mib "$C1_CLOSED_RSS") | | | |
| | $CYCLES cycles of $CONNECTIONS clients (new ids each), open | | ${CYCLES_OPEN[*]} | | | |
| | the same cycles, after they closed | | ${CYCLES_CLOSED[*]} | last cycle ${LAST_GROWTH:-n/a} | | |
| | peak (VmHWM) of the whole run | | $(mib "$MEM_HWM") | | | |
${DIRECT_ROWS}

- Per-round ratios: load $L_TP_RATIOS; latency $T_TP_RATIOS; consume $C_TP_RATIOS. Added p99 per round: load
  $L_P99US_ADDED_LIST ms; latency $T_P99US_ADDED_LIST ms.
- Machine busy (average cores in use, median round, direct / ferry): load $L_BUSY_DIRECT / $L_BUSY_FERRY,
  latency $T_BUSY_DIRECT / $T_BUSY_FERRY, consume $C_BUSY_DIRECT / $C_BUSY_FERRY; of which processes other
  than the client, the broker and Ferry: load $L_OTHERS_DIRECT / $L_OTHERS_FERRY, latency $T_OTHERS_DIRECT / $T_OTHERS_FERRY,
  consume $C_OTHERS_DIRECT / $C_OTHERS_FERRY cores.
- CPU seconds over the rounds of each target (client JVM / broker / Ferry): load direct
  $L_CPU_CLIENT_DIRECT / $L_CPU_BROKER_DIRECT / $L_CPU_FERRY_DIRECT, ferry $L_CPU_CLIENT_FERRY / $L_CPU_BROKER_FERRY / $L_CPU_FERRY_FERRY;
  consume direct $C_CPU_CLIENT_DIRECT / $C_CPU_BROKER_DIRECT / $C_CPU_FERRY_DIRECT, ferry $C_CPU_CLIENT_FERRY / $C_CPU_BROKER_FERRY / $C_CPU_FERRY_FERRY.
  Ferry's CPU per message relayed: $L_FERRY_US_PER_MSG µs (load), $T_FERRY_US_PER_MSG µs (latency), $C_FERRY_US_PER_MSG µs (consume).
  Ferry's system calls in the load phase (\`perf stat -e raw_syscalls:sys_enter\`): $LOAD_SYSCALLS for
  $RELAY_LOAD_N relayed requests, $LOAD_SYSCALLS_PER_REQ per request (warm-ups and idle direct rounds included).
  Ferry's CPU per relayed request in the load phase (\`/proc/PID/stat\`): $LOAD_KERNEL_US_PER_REQ µs in the kernel
  (its system calls: loopback TCP both ways, epoll, futex), $LOAD_USER_US_PER_REQ µs in user space (its code, the runtime, malloc);
  its threads slept and were woken $LOAD_WAKEUPS_PER_REQ times per request and were preempted $LOAD_PREEMPTED_PER_REQ times
  (\`/proc/PID/task/*/status\`).
  Client + broker + Ferry CPU per message, direct / ferry: load $L_ALL_US_PER_MSG_DIRECT / $L_ALL_US_PER_MSG_FERRY µs,
  latency $T_ALL_US_PER_MSG_DIRECT / $T_ALL_US_PER_MSG_FERRY µs, consume $C_ALL_US_PER_MSG_DIRECT / $C_ALL_US_PER_MSG_FERRY µs.
- Ferry's own latency histogram (\`/api/proxy\`, source side, request read from the client until the
  broker's answer read; bucket upper bounds): load $RELAY_LOAD_N requests, p50 ≤ $RELAY_LOAD_P50 µs,
  p99 ≤ $RELAY_LOAD_P99 µs; latency phase $RELAY_LAT_N requests, p50 ≤ $RELAY_LAT_P50 µs, p99 ≤ $RELAY_LAT_P99 µs.
- Consumer: first message $C_FIRST_DIRECT ms (direct) / $C_FIRST_FERRY ms (ferry) after \`start()\` (median).
- Connections: $C1_OPEN connections to the relay at 127.0.0.1:$RELAY_PORT, each answered its
  HEART_BEAT by the broker, in $C1_MS ms; Ferry then held $C1_FDS file descriptors ($((C1_FDS - C1_PRE_FDS))
  more than before: one client and one broker socket per connection), $C1_THREADS threads;
  \`ferry_relay_connections{side="source"}\` = $C1_GAUGE. RSS before opening them: $(mib "$C1_PRE_RSS").
  ${C1_UP:+Then each connection produced $CONN_SENDS messages (SEND_MESSAGE_V2, 1 KiB bodies, one in flight per
  connection): $C1_UP KiB up and $C1_DOWN KiB down per connection, in $C1_SENT_MS ms in all.}
  Each further cycle opened $CONNECTIONS connections with new client ids (as restarted clients have,
  one heartbeat each, no sends) after the previous ones had closed; a leak grows RSS by about the
  same amount every cycle.${DIRECT_NOTE}
- Ferry's log: $WARNINGS WARN/ERROR lines; it stopped cleanly on SIGTERM. The whole benchmark took $((total_ms / 1000)) s.
${THREE_SECTION:+
$THREE_SECTION
}
Raw rounds:

| phase | round | target | throughput | latency | CPU |
|---|---|---|---|---|---|
$(printf '%s\n' "${RAW[@]}")
END_OF_REPORT
)
echo
echo "$REPORT"
if [[ "$WRITE_RESULTS" == 1 ]]; then
  mkdir -p "$BENCH_DIR/results"
  results="$BENCH_DIR/results/proxy-$STAMP.md"
  echo "$REPORT" >"$results"
  echo
  echo "written to ${results#"$REPO_ROOT"/} and ${JSON_OUT#"$REPO_ROOT"/} (git-ignored)"
fi
((RELAYED_ANY == 0)) || die "the Direct topic's traffic went through Ferry's relays (see the table); kept the work dir"
OK=1
exit 0
