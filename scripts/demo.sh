#!/usr/bin/env bash
# The local demo, from a fresh machine: two real RocketMQ clusters on loopback (source 4.9.8,
# target 5.3.3), sample topics and groups created through the real admin API, sample traffic from
# the real Java client, then `ferry export` of the source. Clusters stop when the script ends
# (pass --keep to leave them running; stop them with `testkit/rocketmq.sh stop-all`).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true

step() { printf '\n==> %s\n' "$*"; }
rmq() { testkit/rocketmq.sh "$@"; }

step "fetching RocketMQ and building Ferry"
rmq fetch
cargo build --release -p ferry
ferry=target/release/ferry

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

cleanup() { $keep || rmq stop demo-source >/dev/null 2>&1 || true; $keep || rmq stop demo-target >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "starting the source (4.9.8) and the target (5.3.3) on loopback"
source_ns=$(start demo-source 4.9.8 SourceCluster source-broker-a 24100)
target_ns=$(start demo-target 5.3.3 TargetCluster target-broker-a 25100)
echo "source NameServer $source_ns, target NameServer $target_ns"

step "creating sample topics and groups on the source (DefaultMQAdminExt, the mqadmin path)"
rmq harness admin --namesrv "$source_ns" \
  create-topic --cluster SourceCluster --topic orders --read 8 --write 8 , \
  create-topic --cluster SourceCluster --topic payments --read 4 --write 4 --order , \
  create-topic --cluster SourceCluster --topic shop%inventory --read 4 --write 4 , \
  create-group --cluster SourceCluster --group billing --retry-max 5 , \
  create-group --cluster SourceCluster --group shop%audit --consume-orderly >/dev/null

step "sample traffic: 200 orders produced, 150 consumed by group billing"
rmq harness produce --namesrv "$source_ns" --topic orders --count 200 --out /dev/null
rmq harness consume --namesrv "$source_ns" --topic orders --group billing --expect 150 \
  --timeout-secs 60 --from-first --out /dev/null || true

step "ferry export of the source cluster"
out=$(mktemp -d)/rocketmq-metadata-export.json
"$ferry" export --no-input --namesrv "$source_ns" --cluster SourceCluster --output "$out"
echo
echo "The document: $out"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["ferry"]; print("topics:", [t["name"] for t in d["topics"]]); print("groups:", [g["name"] for g in d["groups"]]); print("namespaces:", d["namespaces"])' "$out"
if $keep; then echo "clusters left running: source $source_ns, target $target_ns"; fi
