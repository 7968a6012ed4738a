# shellcheck shell=bash
# Shared by the benchmarks under bench/ (sourced, not run): free loopback ports, real clusters from
# testkit/rocketmq.sh, small time helpers.
#
# The sourcing script defines, before calling anything here:
#   die MSG..., log MSG...      its own failure (exit 1) and progress messages (stderr)
#   RMQ                         path of testkit/rocketmq.sh
#   WORK                        its work dir (start_cluster writes start-NAME.env / .err there)
#   STARTED=()                  instance names; start_cluster appends, the script's EXIT trap stops
#                               them (stop_cluster)
# and, for trap_cleanup: CURRENT_PID (a run in flight, or empty), OK (1 once everything ran),
# KEEP (1: keep everything), RUN_DIR (instance dirs), KEPT (what $WORK holds, in words).

# pick_ports: two free loopback ports in 20000-32000 (below the ephemeral range, as the testkit
# picks them): a NameServer port and a broker port B whose B-2 (VIP channel) and B+1 (HA) are free.
pick_ports() {
  python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("0.0.0.0", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    ns, b = random.randrange(20002, 31990), random.randrange(20002, 31990)
    if abs(ns - b) > 3 and all(free(p) for p in (ns, b - 2, b, b + 1)):
        print(ns, b); break
PY
}

# pick_port_run N: the first of N consecutive free loopback ports in 20000-32000.
pick_port_run() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
def free(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("0.0.0.0", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    first = random.randrange(20000, 32000 - n)
    if all(free(p) for p in range(first, first + n)):
        print(first); break
PY
}

# env_of FILE KEY: the value of a KEY=VALUE line (rocketmq.sh start's output).
env_of() { awk -v key="$2" 'index($0, key "=") == 1 { print substr($0, length(key) + 2); exit }' "$1"; }

# start_cluster V NAME CLUSTER BROKER [SEED_DIR]: one NameServer + one master broker of RocketMQ V
# (rocketmq.sh start ... --watch-pid $$, so no JVM outlives the script), with the seed's
# topics.json / subscriptionGroup.json loaded at boot when SEED_DIR is given. Sets NAMESRV,
# BROKER_ADDR, STORE, BROKER_LOGS and STARTUP_MS. Retries on exit 3 (a port was taken between the
# pick and the JVM's bind).
# shellcheck disable=SC2034 # the variables it sets are the caller's
start_cluster() {
  local v=$1 name=$2 cluster=$3 broker=$4 seed=${5:-} attempt rc ns_port b_port
  local seed_args=()
  if [[ -n "$seed" ]]; then seed_args=(--seed-config "$seed"); fi
  STARTED+=("$name")
  for attempt in 1 2 3 4 5; do
    read -r ns_port b_port < <(pick_ports)
    log "starting RocketMQ $v ($name) on namesrv :$ns_port, broker :$b_port${seed:+ with the seed} (attempt $attempt)"
    rc=0
    bash "$RMQ" start "$name" --version "$v" --namesrv-port "$ns_port" --broker-port "$b_port" \
      --cluster-name "$cluster" --broker-name "$broker" ${seed_args[@]+"${seed_args[@]}"} \
      --watch-pid $$ --timeout-secs 240 >"$WORK/start-$name.env" 2>"$WORK/start-$name.err" || rc=$?
    case "$rc" in
      0)
        NAMESRV=$(env_of "$WORK/start-$name.env" NAMESRV)
        BROKER_ADDR=$(env_of "$WORK/start-$name.env" BROKER)
        STORE=$(env_of "$WORK/start-$name.env" STORE)
        BROKER_LOGS=$(env_of "$WORK/start-$name.env" BROKER_LOGS)
        STARTUP_MS=$(env_of "$WORK/start-$name.env" STARTUP_MS)
        [[ -n "$NAMESRV" && -n "$STORE" ]] || die "rocketmq.sh start printed no NAMESRV= or STORE="
        return 0
        ;;
      3) log "a port was taken, picking others" ;;
      *) cat "$WORK/start-$name.err" >&2; die "RocketMQ $v did not start (exit $rc)" ;;
    esac
  done
  cat "$WORK/start-$name.err" >&2
  die "RocketMQ $v: no free ports after 5 attempts"
}

# stop_cluster NAME: stops an instance (both JVMs; quiet, never fails).
stop_cluster() { bash "$RMQ" stop "$1" >/dev/null 2>&1 || true; }

# ms_since T0: milliseconds since T0 (microseconds, as ${EPOCHREALTIME//[!0-9]/} gives).
ms_since() { local now=${EPOCHREALTIME//[!0-9]/}; echo $(((now - $1) / 1000)); }

# find_gnu_time: GNU_TIME, the GNU time that `timed` reads peak RSS and CPU from; empty (the /proc
# fallback) when there is none or BENCH_GNU_TIME= (empty) asks for the fallback.
find_gnu_time() {
  GNU_TIME=${BENCH_GNU_TIME-/usr/bin/time}
  if [[ -n "$GNU_TIME" ]] && ! "$GNU_TIME" -f '%M' -o /dev/null true 2>/dev/null; then GNU_TIME=""; fi
}

# timed OUT ERR MARKER CMD...: runs CMD with stdout/stderr to files. Sets T_MS (wall ms until the
# process exited), T_RESULT_MS (wall ms until stdout showed MARKER, also on an unfinished last line:
# mqadmin prints its final line without a newline; empty when MARKER is empty or never seen),
# RSS_KB (peak resident set: GNU time's %M, else VmHWM polled from /proc) and CPU_S (user + system
# seconds; n/a without GNU time). Returns CMD's status. Polls with shell builtins only (no fork per
# poll), so it costs the measured process next to nothing.
timed() {
  local out=$1 err=$2 marker=$3 t0 rc=0 pid rfd line partial="" state key val user sys
  shift 3
  T_RESULT_MS="" RSS_KB=0 CPU_S=n/a
  : >"$out"
  t0=${EPOCHREALTIME//[!0-9]/}
  if [[ -n "$GNU_TIME" ]]; then
    "$GNU_TIME" -f '%M %U %S' -o "$WORK/time.out" "$@" >>"$out" 2>"$err" &
  else
    "$@" >>"$out" 2>"$err" &
  fi
  pid=$!
  CURRENT_PID=$pid
  exec {rfd}<"$out"
  while [[ -z "$GNU_TIME" || (-n "$marker" && -z "$T_RESULT_MS") ]]; do
    if [[ -n "$marker" && -z "$T_RESULT_MS" ]]; then
      while IFS= read -r -u "$rfd" line; do
        line=$partial$line partial=""
        if [[ "$line" == *"$marker"* ]]; then T_RESULT_MS=$(ms_since "$t0"); line=""; break; fi
      done
      partial+=$line # an unfinished last line (read hit the end of the file)
      if [[ -z "$T_RESULT_MS" && "$partial" == *"$marker"* ]]; then T_RESULT_MS=$(ms_since "$t0"); fi
    fi
    if [[ -z "$GNU_TIME" ]]; then
      while read -r key val _; do
        if [[ "$key" == VmHWM: ]]; then RSS_KB=$val; fi
      done 2>/dev/null <"/proc/$pid/status" || true
    fi
    { read -r _ _ state _ || state=X; } 2>/dev/null <"/proc/$pid/stat" || state=X
    if [[ "$state" == Z || "$state" == X ]]; then break; fi
    read -r -t 0.005 -u "$SLEEP_FD" _ || true
  done
  wait "$pid" || rc=$?
  T_MS=$(ms_since "$t0")
  CURRENT_PID=""
  exec {rfd}<&-
  if [[ -n "$GNU_TIME" ]]; then
    read -r RSS_KB user sys < <(tail -n 1 "$WORK/time.out")
    CPU_S=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  fi
  return "$rc"
}

# cleanup: the EXIT trap of a benchmark (trap_cleanup installs it). Stops a run still in flight
# (its process and, under GNU time, the JVM or ferry below it) and every started instance; removes
# the work and instance dirs after a full run unless --keep, keeps them after a failure.
# shellcheck disable=SC2317,SC2329 # invoked by the trap
cleanup() {
  local rc=$? name
  trap - EXIT
  if [[ -n "${CURRENT_PID:-}" ]]; then
    pkill -TERM -P "$CURRENT_PID" 2>/dev/null || true
    kill -TERM "$CURRENT_PID" 2>/dev/null || true
    wait "$CURRENT_PID" 2>/dev/null || true
  fi
  for name in ${STARTED[@]+"${STARTED[@]}"}; do
    bash "$RMQ" stop "$name" >/dev/null 2>&1 || true
    if [[ "$OK" == 1 && "$KEEP" == 0 ]]; then rm -rf "${RUN_DIR:?}/${name:?}"; fi
  done
  if [[ "$OK" == 1 && "$KEEP" == 0 ]]; then
    rm -rf "$WORK"
  else
    log "kept $WORK (${KEPT:-outputs})${STARTED[*]:+ and instance dirs under $RUN_DIR}"
  fi
  exit "$rc"
}

# bench_workdir NAME KEPT: a new work dir $WORK (NAME.XXXXXX under $TMPDIR), no instance or run
# in flight yet, and cleanup on exit (trap_cleanup); KEPT says in words what a failed run leaves.
bench_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  STARTED=()    # instance names, stopped by the trap
  CURRENT_PID=""
  OK=0          # set once everything ran; failures keep the work dir and instance logs
  KEPT=$2
  trap_cleanup
}

# trap_cleanup: cleanup on exit, and an exit (hence cleanup) on INT and TERM.
trap_cleanup() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
