#!/usr/bin/env bash
# The local demo, from a fresh machine: Ferry's main job on loopback.
#
#   1. two real RocketMQ clusters: the source (4.9.8) and the target (5.3.3), each with a broker named
#      broker-a, as Apache's sample configs name it (clients see the target's as zz-broker-a);
#   2. a sample topic and two groups on the source, `ferry export` of its metadata;
#   3. `ferry serve` in front; a real Java producer and consumer pointed at Ferry (only at Ferry),
#      sending and consuming all the time;
#   4. the topic walked through Initial, DualRead, DualReadWrite, CuttingOver and Completed with
#      `ferry migrate`, each step taken once its health checks pass;
#   5. traffic stopped: every message sent was consumed, and the last ones went to the target.
#
# Everything stops when the script ends (pass --keep to leave clusters and Ferry running; stop
# clusters with `testkit/rocketmq.sh stop-all`).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true

step() { printf '\n==> %s\n' "$*"; }
rmq() { testkit/rocketmq.sh "$@"; }

step "fetching RocketMQ and building Ferry"
rmq fetch
cargo build --release -p ferry
ferry=$PWD/target/release/ferry
work=$(mktemp -d)

# Starts a cluster on the first free ports of a small range; prints its NAMESRV address.
start() {
  local name=$1 version=$2 cluster=$3 broker=$4 base=$5 out
  for attempt in 0 1 2 3 4; do
    local ns=$((base + attempt * 100)) bp=$((base + attempt * 100 + 11))
    if out=$(rmq start "$name" --version "$version" --namesrv-port "$ns" --broker-port "$bp" \
        --cluster-name "$cluster" --broker-name "$broker" --watch-pid $$); then
      grep '^NAMESRV=' <<<"$out" | cut -d= -f2
      return 0
    elif [ $? -ne 3 ]; then
      printf '%s\n' "$out" >&2
      return 1
    fi
  done
  echo "no free ports for $name" >&2
  return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pids=()
cleanup() {
  touch "$work/stop"
  sleep 1
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  $keep || rmq stop demo-source >/dev/null 2>&1 || true
  $keep || rmq stop demo-target >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "starting the source (4.9.8) and the target (5.3.3) on loopback"
source_ns=$(start demo-source 4.9.8 SourceCluster broker-a 24100)
target_ns=$(start demo-target 5.3.3 TargetCluster broker-a 25100)
echo "source NameServer $source_ns, target NameServer $target_ns"

step "a sample topic and groups on the source (DefaultMQAdminExt, the mqadmin path)"
rmq harness admin --namesrv "$source_ns" \
  create-topic --cluster SourceCluster --topic orders --read 4 --write 4 , \
  create-topic --cluster SourceCluster --topic payments --read 4 --write 4 --order , \
  create-group --cluster SourceCluster --group billing --retry-max 5 , \
  create-group --cluster SourceCluster --group audit --consume-orderly >/dev/null

step "ferry export of the source's metadata"
"$ferry" export --no-input --namesrv "$source_ns" --cluster SourceCluster --output "$work/metadata.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["ferry"]; print("topics:", [t["name"] for t in d["topics"]]); print("groups:", [g["name"] for g in d["groups"]])' "$work/metadata.json"

step "ferry serve in front of both clusters"
ferry_ns_port=$(free_port)
api_port=$(free_port)
relay_first=$((26000 + RANDOM % 2000 * 2))
cat >"$work/ferry.toml" <<EOF
[proxy]
namesrv_listen = "127.0.0.1:$ferry_ns_port"
relay_bind = "127.0.0.1"
advertised_host = "127.0.0.1"
relay_ports = "$relay_first-$((relay_first + 99))"
[api]
listen = "127.0.0.1:$api_port"
token = "demo-token-0123456789abcdef"
[store]
path = "$work/ferry.db"
[engine]
route_window_secs = 10
tick_secs = 2
EOF
"$ferry" serve --config "$work/ferry.toml" >"$work/serve.log" 2>&1 &
pids+=($!)
export FERRY_TOKEN=demo-token-0123456789abcdef
migrate() { "$ferry" migrate --server "http://127.0.0.1:$api_port" "$@"; }
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$api_port/healthz" >/dev/null && break; sleep 0.2; done
echo "clients use NameServer 127.0.0.1:$ferry_ns_port; the API is http://127.0.0.1:$api_port (token $FERRY_TOKEN)"

migrate create --name demo --source-namesrv "$source_ns" --source-cluster SourceCluster \
  --target-namesrv "$target_ns" --target-cluster TargetCluster
migrate brokers 1
migrate add-topic 1 orders --group billing

step "a producer and a consumer pointed at Ferry, running all the time"
rmq harness consume-stream --namesrv "127.0.0.1:$ferry_ns_port" --topic orders --group billing \
  --from-first --poll-namesrv-ms 1000 --heartbeat-ms 1000 --stop-file "$work/stop" \
  --ready-file "$work/consumer.ready" --out "$work/consumed.jsonl" 2>"$work/consumer.log" &
pids+=($!)
rmq harness produce-stream --namesrv "127.0.0.1:$ferry_ns_port" --topic orders --group demo-pg --rate 20 \
  --poll-namesrv-ms 1000 --heartbeat-ms 1000 --stop-file "$work/stop" \
  --ready-file "$work/producer.ready" --out "$work/sent.jsonl" 2>"$work/producer.log" &
pids+=($!)
for _ in $(seq 120); do [ -s "$work/consumer.ready" ] && [ -s "$work/producer.ready" ] && break; sleep 0.5; done
sleep 3

step "walking the topic through the five stages, each step once its checks pass"
for stage in DualRead DualReadWrite CuttingOver Completed; do
  last=""
  until migrate proceed 1 orders >"$work/step.out" 2>&1; do
    # Say what blocks, when it changes.
    now=$(grep FAIL "$work/step.out" || true)
    [ "$now" != "$last" ] && sed 's/^ */    waiting: /' <<<"$now"
    last=$now
    sleep 2
  done
  echo "orders is now $stage"
done
migrate show 1
migrate clients 1

step "stopping the clients: what was sent, where, and what was consumed"
sleep 5
touch "$work/stop"
sleep 8
python3 - "$work/sent.jsonl" "$work/consumed.jsonl" <<'EOF'
import json, sys, collections
sent = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [s for s in sent if not s.get("error")]
got = {json.loads(l)["msgId"] for l in open(sys.argv[2]) if l.strip()}
per_broker = collections.Counter(s["brokerName"] for s in ok)
missing = [s["msgId"] for s in ok if s["msgId"] not in got]
print(f"sent {len(ok)} ({dict(per_broker)}), consumed {len(got)} distinct, missing {len(missing)}")
sys.exit(1 if missing else 0)
EOF
migrate complete 1
migrate history 1
if $keep; then echo "left running: source $source_ns, target $target_ns, Ferry 127.0.0.1:$ferry_ns_port"; fi
