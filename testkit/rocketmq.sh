#!/usr/bin/env bash
# Real Apache RocketMQ clusters for Ferry's tests: one NameServer + one master broker per instance,
# on 127.0.0.1, from jars fetched off Maven Central (no binary zip, no Docker).
#
#   testkit/rocketmq.sh fetch [VERSION...]          jars for 4.9.8 and 5.3.3 (default) + the Java harness
#   testkit/rocketmq.sh start NAME --version V --namesrv-port P --broker-port B
#                             [--cluster-name C] [--broker-name N] [--slave-port S] [--acl]
#                             [--seed-config DIR] [--broker-prop KEY=VALUE] [--watch-pid PID]
#                             [--timeout-secs S]
#                             (--namesrv-port, --broker-port and --broker-name may repeat: several
#                             NameServers, several master brokers, the i-th name with the i-th port;
#                             --slave-port, given once per master or not at all, starts a slave of
#                             the i-th master (brokerId 1) on the i-th port; --broker-prop adds a
#                             line to every broker's conf)
#   testkit/rocketmq.sh kill NAME ROLE              SIGKILL one JVM: namesrv, namesrv1, ..., broker,
#                                                   broker1, ..., slave, slave1, ...
#   testkit/rocketmq.sh restart NAME ROLE           start it again on the same ports, conf and store
#   testkit/rocketmq.sh stop NAME | stop-all | status NAME | prune [--older-than-mins N]
#   testkit/rocketmq.sh harness ARGS...             run the Java harness (produce / consume / admin)
#   testkit/rocketmq.sh harness5 ARGS...            run the 5.x harness (pop-consume / recall), built
#                                                   with javac against the 5.3.3 jars
#   testkit/rocketmq.sh mqadmin VERSION ARGS...     run that version's mqadmin (MQAdminStartup)
#   testkit/rocketmq.sh proxy-start NAME --version V --namesrv ADDR --grpc-port P --remoting-port R
#                             [--cluster-name C] [--prop KEY=JSON ...] [--watch-pid PID] [--timeout-secs S]
#                                                   the Apache RocketMQ Proxy (5.x) in cluster mode,
#                                                   a remoting client of the brokers through ADDR;
#                                                   `stop NAME` stops it
#   testkit/rocketmq.sh harness-grpc ARGS...        run the gRPC harness (produce-stream /
#                                                   simple-consume) on rocketmq-client-java
#
# Environment: FERRY_CACHE (default <repo>/.cache) holds jars and the harness build;
# FERRY_RUN (default <repo>/.cache/run) holds one directory per instance; MVN (default mvn);
# JAVA (default $JAVA_HOME/bin/java or java). See testkit/README.md. Linux only (/proc, setsid, flock).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTKIT="$REPO_ROOT/testkit"
SELF="$TESTKIT/rocketmq.sh"
CACHE="${FERRY_CACHE:-$REPO_ROOT/.cache}"
RUN="${FERRY_RUN:-$REPO_ROOT/.cache/run}"
MVN="${MVN:-mvn}"
if [[ -n "${JAVA:-}" ]]; then :
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java
fi
DEFAULT_VERSIONS=(4.9.8 5.3.3)

# The ACL accounts written by --acl (must match testkit/conf/plain_acl.yml).
ACL_ADMIN_AK=ferryadmin
ACL_ADMIN_SK=ferryadmin-secret-123

die() { echo "rocketmq.sh: $*" >&2; exit 1; }
log() { echo "rocketmq.sh: $*" >&2; }
now_ms() { date +%s%3N; }

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'; }

# ---------------------------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------------------------

# Content hash of files, used as the "already done" marker so that editing a pom or the harness
# sources triggers a re-fetch / rebuild, and an unchanged tree costs nothing (no Maven JVM).
stamp_of() { (cd "$1" && shift && sha256sum "$@" | sha256sum | cut -c1-16); }

# Maven in batch mode, quiet; its output is kept in a file and shown only when it fails (it would
# otherwise mix into the machine-readable output of `start`). A clean ~/.m2 works: only Maven
# Central is needed.
mvn_run() {
  local logf
  logf=$(mktemp "${TMPDIR:-/tmp}/ferry-mvn.XXXXXX")
  if ! "$MVN" -B -q -Dstyle.color=never "$@" >"$logf" 2>&1; then
    cat "$logf" >&2
    rm -f "$logf"
    die "maven failed: $MVN $*"
  fi
  rm -f "$logf"
}

fetch_version() {
  local v=$1 pom="$TESTKIT/poms/rocketmq-$1.xml" dir="$CACHE/rocketmq/$1" stamp
  [[ -f "$pom" ]] || die "no pom for RocketMQ $v (expected $pom; copy a sibling pom to add a version)"
  stamp=$(stamp_of "$TESTKIT/poms" "rocketmq-$v.xml")
  if [[ -f "$dir/.fetched" && "$(cat "$dir/.fetched")" == "$stamp" ]]; then return 0; fi
  log "fetching RocketMQ $v from Maven Central into $dir/lib"
  rm -rf "$dir/lib.tmp"
  mkdir -p "$dir"
  mvn_run -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dir/lib.tmp"
  # Swap in atomically-ish so a half-finished download is never taken for a complete one.
  rm -rf "${dir:?}/lib"
  mv "$dir/lib.tmp" "$dir/lib"
  echo "$stamp" >"$dir/.fetched"
}

# Jars of one more artifact, for what only some tests need (the Proxy, the gRPC client): pom
# testkit/poms/NAME.xml, jars into $CACHE/NAME/lib. Same marker and swap as fetch_version.
fetch_artifact() {
  local n=$1 pom="$TESTKIT/poms/$1.xml" dir="$CACHE/$1" stamp
  [[ -f "$pom" ]] || die "no pom $pom"
  stamp=$(stamp_of "$TESTKIT/poms" "$n.xml")
  if [[ -f "$dir/.fetched" && "$(cat "$dir/.fetched")" == "$stamp" ]]; then return 0; fi
  log "fetching $n from Maven Central into $dir/lib"
  rm -rf "$dir/lib.tmp"
  mkdir -p "$dir"
  mvn_run -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/lib.tmp"
  rm -rf "${dir:?}/lib"
  mv "$dir/lib.tmp" "$dir/lib"
  echo "$stamp" >"$dir/.fetched"
}

# The harness is a Maven module (testkit/harness); its jar and its dependencies (rocketmq-client,
# -tools, -acl 4.9.8) go to $CACHE/harness/build. The source tree stays clean.
build_harness() {
  local src="$TESTKIT/harness" out="$CACHE/harness" stamp files
  files=$(cd "$src" && find pom.xml src -type f | LC_ALL=C sort | tr '\n' ' ')
  # shellcheck disable=SC2086 # word splitting of the file list is intended
  stamp=$(stamp_of "$src" $files)
  if [[ -f "$out/.built" && "$(cat "$out/.built")" == "$stamp" && -f "$out/build/ferry-harness.jar" ]]; then
    return 0
  fi
  log "building the Java harness into $out/build"
  rm -rf "$out/build"
  mkdir -p "$out"
  mvn_run -f "$src/pom.xml" -Dferry.build.dir="$out/build" package
  echo "$stamp" >"$out/.built"
}

cmd_fetch() {
  local versions=("$@")
  [[ ${#versions[@]} -gt 0 ]] || versions=("${DEFAULT_VERSIONS[@]}")
  mkdir -p "$CACHE"
  # Tests start clusters from several threads and processes: one fetch at a time.
  exec 9>"$CACHE/.fetch.lock"
  flock 9
  local v
  for v in "${versions[@]}"; do fetch_version "$v"; done
  build_harness
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# helpers for processes and ports
# ---------------------------------------------------------------------------------------------

# JDK 9+ encapsulation: 4.9.x MappedFile.clean reflects on DirectByteBuffer/jdk.internal.ref.Cleaner
# when it unmaps files; 5.x DLedger/hessian reflect on java.lang. Harmless when unused.
java_opens() {
  local first
  first=$("$JAVA" -version 2>&1 | head -n1)
  if [[ "$first" == *'"1.'* ]]; then return 0; fi # Java 8 knows none of these flags
  echo "--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED" \
    "--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED" \
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED"
}

# Is some socket LISTENing on TCP port $1 (any address, IPv4 or IPv6)? Reads /proc so that no
# ss/netstat/nc is needed. State 0A = LISTEN; the port is the hex after the colon.
port_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  local tables=(/proc/net/tcp)
  [[ -r /proc/net/tcp6 ]] && tables+=(/proc/net/tcp6) # absent when IPv6 is disabled
  awk -v hex="$hex" '{ n = split($2, a, ":"); if (a[n] == hex && $4 == "0A") found = 1 }
    END { exit found ? 0 : 1 }' "${tables[@]}"
}

# Is PID alive and one of ours (its command line contains MARKER: "<instance dir>/" for the JVMs,
# the script's path for a watchdog)? Guards against killing an unrelated process that inherited a
# recycled PID.
pid_is_ours() {
  local pid=$1 marker=$2
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# Alive and not a zombie (a dead test binary not yet reaped by cargo still answers kill -0).
pid_alive() {
  local pid=$1 state
  [[ -r "/proc/$pid/stat" ]] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
  [[ "$state" != Z && "$state" != X ]]
}

read_pid() { if [[ -f "$1" ]]; then cat "$1"; fi; }

# Start a command in its own session (so Ctrl-C on the caller's terminal does not hit it and it
# outlives this script), stdin from /dev/null and output to a file (so it never holds the caller's
# pipes open: a Rust test reading our stdout would otherwise wait for the JVM to exit).
# The pid is written by the process itself before exec, so it is exactly the JVM's pid.
spawn() {
  local pidfile=$1 out=$2
  shift 2
  rm -f "$pidfile" # a restarted role's old pid must not be taken for the new one
  # shellcheck disable=SC2016 # $$ and $@ are for the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >"$out" 2>&1 &
  local i
  for i in $(seq 1 100); do [[ -s "$pidfile" ]] && return 0; sleep 0.02; done
  die "could not start $*"
}

# ---------------------------------------------------------------------------------------------
# Remoting requests from bash (no JVM needed), over /dev/tcp.
# Frame: u32 total length (4 + header length + body length), u32 header length (serialize type
# 0 = JSON in the top byte), JSON header, body. Prints the response frame with non-printable bytes
# blanked, which is enough to grep it.
# ---------------------------------------------------------------------------------------------
be32() { printf '%08x' "$1" | sed 's/../\\x&/g'; }

remoting_request() {
  local port=$1 header=$2 body=${3:-} frame
  frame="$(be32 $((4 + ${#header} + ${#body})))$(be32 ${#header})$header$body"
  # timeout: never hang on a half-open socket. dd reads exactly the frame the length prefix announces.
  # shellcheck disable=SC2016 # the inner script expands its own positional parameters
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "%b" "$2" >&3
    len=$(dd bs=4 count=1 iflag=fullblock 2>/dev/null <&3 | od -An -tu1 | awk "{ print \$1*16777216 + \$2*65536 + \$3*256 + \$4 }")
    [ -n "$len" ] && [ "$len" -gt 0 ] || exit 1
    dd bs="$len" count=1 iflag=fullblock 2>/dev/null <&3 | tr -c "[:print:]" " "
  ' _ "$port" "$frame" 2>/dev/null
}

# GET_BROKER_CLUSTER_INFO (106) from a NameServer.
namesrv_cluster_info() {
  remoting_request "$1" '{"code":106,"extFields":{},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":399}'
}

# UPDATE_BROKER_CONFIG (25) with brokerPermission set to its default (6 = read|write): the broker
# answers by registering itself in the NameServer at once (AdminBrokerProcessor.updateBrokerConfig).
# Why: a 5.x broker registers synchronously in start() only with the NameServers its client has
# already connected to (BrokerOuterAPI.registerBrokerAll uses getAvailableNameSrvList(), filled by an
# asynchronous scan, NettyRemotingClient.scanAvailableNameSrv); when that scan loses the race, the
# first registration is silently skipped and the next comes from a timer 10 s later. With ACL the
# request is signed like AclClientRPCHook does: HmacSHA1 over the sorted extFields values + body.
nudge_broker_registration() {
  local port=$1 body='brokerPermission=6' ext='{}' sig
  if [[ "$ACL" == 1 ]]; then
    command -v openssl >/dev/null || return 0
    sig=$(printf '%s%s' "$ACL_ADMIN_AK" "$body" | openssl dgst -sha1 -hmac "$ACL_ADMIN_SK" -binary | base64)
    ext="{\"AccessKey\":\"$ACL_ADMIN_AK\",\"Signature\":\"$sig\"}"
  fi
  remoting_request "$port" "{\"code\":25,\"extFields\":$ext,\"flag\":0,\"language\":\"JAVA\",\"opaque\":2,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":399}" "$body" >/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------------------------

# An instance runs one or more NameServers and one or more master brokers. Each JVM is a *role*:
# the first NameServer is `namesrv`, the next `namesrv1`, `namesrv2`...; the first broker `broker`,
# the next `broker1`, ... A role ROLE has ROLE.pid, ROLE.out, ROLE.conf and its own user.home ROLE/
# in the instance directory; broker i keeps its store in store<i> (the first in store/), so the
# files of a one-broker instance are where they always were. A killed role restarts from these.

# The suffix of the i-th role: "" for 0, else i.
role_suffix() { if (($1 == 0)); then echo ""; else echo "$1"; fi; }

tail_logs() {
  local inst=$1 f role
  for f in "$inst"/*.out; do
    [[ -s "$f" ]] || continue
    role=$(basename "$f" .out)
    for f in "$inst/$role.out" "$inst/$role/logs/rocketmqlogs/namesrv.log" \
      "$inst/$role/logs/rocketmqlogs/broker.log"; do
      [[ -s "$f" ]] || continue
      echo "----- tail -n 30 $f" >&2
      # 5.x logback prints its own configuration status to stdout: skip that noise.
      grep -v ' |-INFO in \| |-WARN in ' "$f" | tail -n 30 >&2
    done
  done
}

# Exit code 3 means "a port is taken": callers (the Rust testkit) pick other ports and retry.
EXIT_PORT_BUSY=3

# Does some output or log file of the instance say a port was taken?
port_clash_logged() {
  local inst=$1 f
  for f in "$inst"/*.out "$inst"/*/logs/rocketmqlogs/*.log; do
    [[ -f "$f" ]] || continue
    grep -qs 'Address already in use' "$f" && return 0
  done
  return 1
}

fail_start() {
  local inst=$1 msg=$2 code=1
  if port_clash_logged "$inst"; then
    code=$EXIT_PORT_BUSY
    msg="$msg (a port was taken: Address already in use)"
  fi
  log "$msg"
  tail_logs "$inst"
  stop_instance "$(basename "$inst")" quiet || true
  exit "$code"
}

# write_broker_conf FILE BROKER_NAME PORT STORE_DIR BROKER_ID (NameServers from $NAMESRV_LIST).
# Id 0 is the master, 1 its slave: the slave finds the master's HA port (registered by the master
# as brokerIP2:listenPort+1) through the NameServers' answer to its registration.
write_broker_conf() {
  local f=$1 name=$2 port=$3 store=$4 id=$5 role=ASYNC_MASTER
  ((id == 0)) || role=SLAVE
  cat >"$f" <<EOC
# Written by testkit/rocketmq.sh start; keys map onto BrokerConfig / NettyServerConfig /
# MessageStoreConfig (and AuthConfig in 5.x) by reflection (MixAll.properties2Object).
brokerClusterName=$CLUSTER_NAME
brokerName=$name
brokerId=$id
brokerRole=$role
flushDiskType=ASYNC_FLUSH
namesrvAddr=$NAMESRV_LIST
listenPort=$port
# The address registered in the NameServer; the default is the first non-loopback IP.
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
storePathRootDir=$store
storePathCommitLog=$store/commitlog
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
# Small files: the defaults (1 GiB commit log, 6 MB consume queues, 400 MB index) are sparse
# mmaps, but tests with many brokers should not reserve that much address space and disk.
mappedFileSizeCommitLog=67108864
# 30000 entries of 20 bytes
mappedFileSizeConsumeQueue=600000
maxHashSlotNum=100000
maxIndexNum=400000
EOC
  case "$VERSION" in
    5.*)
      cat >>"$f" <<EOC
# 5.x timer wheel (delay messages): 100 MB timer log by default.
mappedFileSizeTimerLog=16777216
EOC
      ;;
  esac
  if [[ "$ACL" == 1 ]]; then
    case "$VERSION" in
      4.*)
        cat >>"$f" <<EOC
# ACL 1.0: accounts in \$ROCKETMQ_HOME/conf/plain_acl.yml.
aclEnable=true
EOC
        ;;
      5.*)
        cat >>"$f" <<EOC
# ACL 2.0 (5.3+). Users and policies live in RocksDB under <storePathRootDir>/config. The broker
# creates the initial super user, then migrates the ACL 1.0 accounts of
# \$ROCKETMQ_HOME/conf/plain_acl.yml (users + topic/group policies; no IP whitelists).
authenticationEnabled=true
authorizationEnabled=true
authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider
authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider
authorizationProvider=org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider
authorizationMetadataProvider=org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider
initAuthenticationUser={"username":"$ACL_ADMIN_AK","password":"$ACL_ADMIN_SK"}
innerClientAuthenticationCredentials={"accessKey":"$ACL_ADMIN_AK","secretKey":"$ACL_ADMIN_SK"}
migrateAuthFromV1Enabled=true
EOC
        ;;
    esac
  fi
  if ((${#BROKER_PROPS[@]} > 0)); then
    echo "# --broker-prop" >>"$f"
    printf '%s\n' "${BROKER_PROPS[@]}" >>"$f"
  fi
}

# JVM options shared by every role of the instance ($VERSION, $INST set).
jvm_common() {
  # shellcheck disable=SC2207 # the flags contain no spaces
  local opens=($(java_opens))
  # user.home: RocketMQ logs to ~/logs/rocketmqlogs and the NameServer keeps its kv config under
  # ~/namesrv; one home per process isolates instances from each other and from the real home
  # (5.x NameServer and broker would otherwise write some of the same log files).
  COMMON=(-server -XX:+UseSerialGC -XX:+PerfDisableSharedMem -XX:-OmitStackTraceInFastThrow
    -Drocketmq.home.dir="$INST/home" "${opens[@]}" -cp "$CACHE/rocketmq/$VERSION/lib/*")
}

spawn_namesrv() {
  local role=$1
  ROCKETMQ_HOME="$INST/home" spawn "$INST/$role.pid" "$INST/$role.out" \
    "$JAVA" -Xms64m -Xmx128m -XX:MaxDirectMemorySize=128m -Duser.home="$INST/$role" "${COMMON[@]}" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c "$INST/$role.conf"
}

spawn_broker() {
  local role=$1
  ROCKETMQ_HOME="$INST/home" spawn "$INST/$role.pid" "$INST/$role.out" \
    "$JAVA" -Xms256m -Xmx384m -XX:MaxDirectMemorySize=256m -Duser.home="$INST/$role" "${COMMON[@]}" \
    org.apache.rocketmq.broker.BrokerStartup -c "$INST/$role.conf"
}

# wait_namesrv ROLE PORT DEADLINE: "boot success" and the port listening.
wait_namesrv() {
  local role=$1 port=$2 deadline=$3
  until grep -qs 'boot success' "$INST/$role.out" && port_listening "$port"; do
    pid_alive "$(read_pid "$INST/$role.pid")" || fail_role "$role" "NameServer $NAME ($role) exited during startup"
    ((SECONDS < deadline)) || fail_role "$role" "NameServer $NAME ($role) not up after ${timeout}s"
    sleep 0.1
  done
}

# A NameServer role of the instance whose JVM runs: "role port" lines.
live_namesrvs() {
  local i=0 role port
  for port in "${NAMESRV_PORTS[@]}"; do
    role=namesrv$(role_suffix "$i")
    if pid_is_ours "$(read_pid "$INST/$role.pid")" "$INST/"; then echo "$role $port"; fi
    i=$((i + 1))
  done
}

# wait_broker ROLE BROKER_NAME PORT DEADLINE. Ready = the broker printed "boot success"
# (BrokerStartup.start, after registerBrokerAll) AND every running NameServer of the instance lists
# it at 127.0.0.1:<port> in its cluster info. The latter also proves the broker honoured
# listenPort. Then port-2 (VIP server) and port+1 (HA) must be listening too.
wait_broker() {
  local role=$1 name=$2 port=$3 deadline=$4 info booted_at="" nudged=0 registered ns nsport p
  while :; do
    if grep -qs 'boot success' "$INST/$role.out"; then
      registered=1
      while read -r ns nsport; do
        [[ -n "$ns" ]] || continue
        info=$(namesrv_cluster_info "$nsport" || true)
        if [[ "$info" != *"\"$name\""* || "$info" != *"127.0.0.1:$port"* ]]; then registered=0; fi
      done < <(live_namesrvs)
      ((registered)) && break
      booted_at=${booted_at:-$SECONDS}
      # Booted but not registered after a second: ask for a registration (see nudge_broker_registration).
      if [[ "$VERSION" == 5.* ]] && ((nudged < 3 && SECONDS - booted_at >= 1 + 2 * nudged)); then
        nudge_broker_registration "$port"
        nudged=$((nudged + 1))
      fi
    fi
    pid_alive "$(read_pid "$INST/$role.pid")" || fail_role "$role" "broker $name of $NAME exited during startup"
    ((SECONDS < deadline)) || fail_role "$role" "broker $name of $NAME not registered in its NameServers after ${timeout}s"
    sleep 0.2
  done
  for p in "$((port - 2))" "$port" "$((port + 1))"; do
    port_listening "$p" || fail_role "$role" "broker $name of $NAME is up but nothing listens on port $p"
  done
}

# A failure while starting: the whole instance goes on `start`, only the role on `restart`.
fail_role() {
  local role=$1 msg=$2
  if [[ "${RESTARTING:-}" == 1 ]]; then
    local code=1
    if grep -qs 'Address already in use' "$INST/$role.out" "$INST/$role"/logs/rocketmqlogs/*.log; then
      code=$EXIT_PORT_BUSY
      msg="$msg (a port was taken: Address already in use)"
    fi
    log "$msg"
    for f in "$INST/$role.out" "$INST/$role"/logs/rocketmqlogs/{namesrv,broker}.log; do
      [[ -s "$f" ]] || continue
      echo "----- tail -n 30 $f" >&2
      grep -v ' |-INFO in \| |-WARN in ' "$f" | tail -n 30 >&2
    done
    stop_pids "$INST/" "$INST/$role.pid"
    exit "$code"
  fi
  fail_start "$INST" "$msg"
}

cmd_start() {
  NAME=${1:-}
  [[ -n "$NAME" && "$NAME" != -* ]] || die "start: NAME is required"
  shift
  VERSION="" CLUSTER_NAME="" ACL=0 SEED="" WATCH_PID=""
  NAMESRV_PORTS=() BROKER_PORTS=() BROKER_NAMES=() SLAVE_PORTS=() BROKER_PROPS=()
  timeout=90
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --version) VERSION=$2; shift 2 ;;
      --namesrv-port) NAMESRV_PORTS+=("$2"); shift 2 ;;
      --broker-port) BROKER_PORTS+=("$2"); shift 2 ;;
      --cluster-name) CLUSTER_NAME=$2; shift 2 ;;
      --broker-name) BROKER_NAMES+=("$2"); shift 2 ;;
      --slave-port) SLAVE_PORTS+=("$2"); shift 2 ;;
      --broker-prop) BROKER_PROPS+=("$2"); shift 2 ;;
      --acl) ACL=1; shift ;;
      --seed-config) SEED=$2; shift 2 ;;
      --watch-pid) WATCH_PID=$2; shift 2 ;;
      --timeout-secs) timeout=$2; shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  [[ "$NAME" =~ ^[A-Za-z0-9._-]+$ ]] || die "start: NAME may only contain letters, digits, . _ -"
  [[ -n "$VERSION" ]] || die "start: --version is required (4.9.8 or 5.3.3)"
  ((${#NAMESRV_PORTS[@]} > 0 && ${#BROKER_PORTS[@]} > 0)) ||
    die "start: --namesrv-port and --broker-port are required"
  local p
  for p in "${NAMESRV_PORTS[@]}" "${BROKER_PORTS[@]}" "${SLAVE_PORTS[@]}"; do
    [[ "$p" =~ ^[0-9]+$ ]] || die "start: port $p is not a number"
  done
  local kv
  for kv in "${BROKER_PROPS[@]}"; do
    [[ "$kv" =~ ^[A-Za-z][A-Za-z0-9.]*=[^[:space:]]*$ ]] || die "start: --broker-prop $kv is not KEY=VALUE"
  done
  CLUSTER_NAME=${CLUSTER_NAME:-$NAME-cluster}
  local nb=${#BROKER_PORTS[@]} i
  if ((${#BROKER_NAMES[@]} == 0)); then
    if ((nb == 1)); then BROKER_NAMES=("$NAME-broker"); else
      for ((i = 0; i < nb; i++)); do BROKER_NAMES+=("$NAME-broker-$(printf "\\x$(printf '%x' $((97 + i)))")"); done
    fi
  fi
  ((${#BROKER_NAMES[@]} == nb)) || die "start: give one --broker-name per --broker-port"
  ((${#SLAVE_PORTS[@]} == 0 || ${#SLAVE_PORTS[@]} == nb)) ||
    die "start: give one --slave-port per --broker-port, or none"
  if [[ -n "$SEED" ]]; then
    [[ -f "$SEED/topics.json" || -f "$SEED/subscriptionGroup.json" ]] ||
      die "start: --seed-config $SEED has neither topics.json nor subscriptionGroup.json"
  fi
  if [[ -n "$WATCH_PID" ]]; then pid_alive "$WATCH_PID" || die "start: --watch-pid $WATCH_PID is not running"; fi

  cmd_fetch "$VERSION"

  INST="$RUN/$NAME"
  if instance_running "$INST"; then die "start: instance $NAME is already running (stop it first)"; fi

  # Broker ports: listenPort, the "fast"/VIP server on listenPort-2 (BrokerController) and HA on
  # listenPort+1 (BrokerStartup).
  local ports=("${NAMESRV_PORTS[@]}")
  for p in "${BROKER_PORTS[@]}" "${SLAVE_PORTS[@]}"; do ports+=("$((p - 2))" "$p" "$((p + 1))"); done
  for p in "${ports[@]}"; do
    if port_listening "$p"; then
      log "start: port $p is already in use"
      exit "$EXIT_PORT_BUSY"
    fi
  done

  # A fresh instance every time: old store, config and logs go.
  rm -rf "$INST"
  mkdir -p "$INST/home/conf"
  local home="$INST/home"
  case "$VERSION" in
    4.*) cp "$TESTKIT"/conf/4.9/logback_*.xml "$home/conf/" ;;
  esac
  if [[ "$ACL" == 1 ]]; then
    cp "$TESTKIT/conf/plain_acl.yml" "$home/conf/plain_acl.yml"
    # mqadmin reads its credentials from here when ACL is on.
    printf 'accessKey: %s\nsecretKey: %s\n' "$ACL_ADMIN_AK" "$ACL_ADMIN_SK" >"$home/conf/tools.yml"
  fi
  NAMESRV_LIST=""
  for p in "${NAMESRV_PORTS[@]}"; do NAMESRV_LIST+="${NAMESRV_LIST:+;}127.0.0.1:$p"; done
  local role sfx
  for ((i = 0; i < ${#NAMESRV_PORTS[@]}; i++)); do
    role=namesrv$(role_suffix "$i")
    mkdir -p "$INST/$role"
    # orderMessageEnable: routes then carry orderTopicConf for topics created with --order (as
    # `mqadmin updateTopic -o true` sets up), which Ferry must handle; off by default in RocketMQ.
    printf 'listenPort=%s\norderMessageEnable=true\n' "${NAMESRV_PORTS[$i]}" >"$INST/$role.conf"
  done
  for ((i = 0; i < nb; i++)); do
    sfx=$(role_suffix "$i")
    mkdir -p "$INST/broker$sfx" "$INST/store$sfx/config"
    if [[ -n "$SEED" ]]; then
      # The broker loads <storePathRootDir>/config/{topics,subscriptionGroup}.json at boot.
      local f
      for f in topics.json subscriptionGroup.json; do
        if [[ -f "$SEED/$f" ]]; then cp "$SEED/$f" "$INST/store$sfx/config/$f"; fi
      done
    fi
    write_broker_conf "$INST/broker$sfx.conf" "${BROKER_NAMES[$i]}" "${BROKER_PORTS[$i]}" "$INST/store$sfx" 0
  done
  for ((i = 0; i < ${#SLAVE_PORTS[@]}; i++)); do
    sfx=$(role_suffix "$i")
    # A slave starts empty and copies its master's commit log and (every 10 s, SlaveSynchronize)
    # its topics, groups and offsets: no seed.
    mkdir -p "$INST/slave$sfx" "$INST/slavestore$sfx/config"
    write_broker_conf "$INST/slave$sfx.conf" "${BROKER_NAMES[$i]}" "${SLAVE_PORTS[$i]}" "$INST/slavestore$sfx" 1
  done
  # What `kill` and `restart` need later.
  {
    echo "VERSION=$VERSION"
    echo "ACL=$ACL"
    echo "NAMESRV_PORTS=${NAMESRV_PORTS[*]}"
    echo "BROKER_PORTS=${BROKER_PORTS[*]}"
    echo "BROKER_NAMES=${BROKER_NAMES[*]}"
    echo "SLAVE_PORTS=${SLAVE_PORTS[*]}"
  } >"$INST/roles.env"

  jvm_common
  local t0 t1 t2 t3 deadline=$((SECONDS + timeout))
  t0=$(now_ms)
  for ((i = 0; i < ${#NAMESRV_PORTS[@]}; i++)); do spawn_namesrv "namesrv$(role_suffix "$i")"; done
  for ((i = 0; i < ${#NAMESRV_PORTS[@]}; i++)); do
    wait_namesrv "namesrv$(role_suffix "$i")" "${NAMESRV_PORTS[$i]}" "$deadline"
  done
  t1=$(now_ms)
  # Brokers boot side by side.
  for ((i = 0; i < nb; i++)); do spawn_broker "broker$(role_suffix "$i")"; done
  for ((i = 0; i < nb; i++)); do
    wait_broker "broker$(role_suffix "$i")" "${BROKER_NAMES[$i]}" "${BROKER_PORTS[$i]}" "$deadline"
  done
  # Slaves once their masters are registered (a slave asks the NameServers for its master's HA
  # address when it registers).
  for ((i = 0; i < ${#SLAVE_PORTS[@]}; i++)); do spawn_broker "slave$(role_suffix "$i")"; done
  for ((i = 0; i < ${#SLAVE_PORTS[@]}; i++)); do
    wait_broker "slave$(role_suffix "$i")" "${BROKER_NAMES[$i]}" "${SLAVE_PORTS[$i]}" "$deadline"
  done
  t2=$(now_ms)
  t3=$(now_ms)

  if [[ -n "$WATCH_PID" ]]; then
    spawn "$INST/watchdog.pid" "$INST/watchdog.log" bash "$SELF" _watch "$NAME" "$WATCH_PID"
  fi

  {
    echo "NAME=$NAME"
    echo "VERSION=$VERSION"
    echo "NAMESRV=$NAMESRV_LIST"
    echo "BROKER=127.0.0.1:${BROKER_PORTS[0]}"
    echo "CLUSTER=$CLUSTER_NAME"
    echo "BROKER_NAME=${BROKER_NAMES[0]}"
    echo "ROCKETMQ_HOME=$home"
    echo "STORE=$INST/store"
    echo "NAMESRV_LOGS=$INST/namesrv/logs/rocketmqlogs"
    echo "BROKER_LOGS=$INST/broker/logs/rocketmqlogs"
    echo "NAMESRV_PID=$(read_pid "$INST/namesrv.pid")"
    echo "BROKER_PID=$(read_pid "$INST/broker.pid")"
    # Every role, numbered from 0 (role namesrv<i>/broker<i>, 0 without a number).
    echo "NAMESRV_COUNT=${#NAMESRV_PORTS[@]}"
    for ((i = 0; i < ${#NAMESRV_PORTS[@]}; i++)); do
      sfx=$(role_suffix "$i")
      echo "NAMESRV_$i=127.0.0.1:${NAMESRV_PORTS[$i]}"
      echo "NAMESRV_LOGS_$i=$INST/namesrv$sfx/logs/rocketmqlogs"
    done
    echo "BROKER_COUNT=$nb"
    for ((i = 0; i < nb; i++)); do
      sfx=$(role_suffix "$i")
      echo "BROKER_$i=127.0.0.1:${BROKER_PORTS[$i]}"
      echo "BROKER_NAME_$i=${BROKER_NAMES[$i]}"
      echo "STORE_$i=$INST/store$sfx"
      echo "BROKER_LOGS_$i=$INST/broker$sfx/logs/rocketmqlogs"
    done
    echo "SLAVE_COUNT=${#SLAVE_PORTS[@]}"
    for ((i = 0; i < ${#SLAVE_PORTS[@]}; i++)); do
      sfx=$(role_suffix "$i")
      echo "SLAVE_$i=127.0.0.1:${SLAVE_PORTS[$i]}"
      echo "SLAVE_LOGS_$i=$INST/slave$sfx/logs/rocketmqlogs"
    done
    echo "PORTS=${ports[*]}"
    if [[ "$ACL" == 1 ]]; then
      echo "PLAIN_ACL=$home/conf/plain_acl.yml"
      echo "ACL_ADMIN_AK=$ACL_ADMIN_AK"
      echo "ACL_ADMIN_SK=$ACL_ADMIN_SK"
    fi
    echo "NAMESRV_MS=$((t1 - t0))"
    echo "BROKER_MS=$((t2 - t1))"
    echo "STARTUP_MS=$((t3 - t0))"
  } >"$INST/instance.env"
  cat "$INST/instance.env"
}

# ---------------------------------------------------------------------------------------------
# kill / restart one role (fault injection)
# ---------------------------------------------------------------------------------------------

# Loads roles.env of instance $1 into NAME, INST, VERSION, ACL, NAMESRV_PORTS, BROKER_PORTS, ...
load_roles() {
  NAME=$1
  INST="$RUN/$NAME"
  [[ -f "$INST/roles.env" ]] || die "no instance $NAME (or one started by an older rocketmq.sh)"
  SLAVE_PORTS=()
  local k v
  while IFS='=' read -r k v; do
    case "$k" in
      VERSION) VERSION=$v ;;
      ACL) ACL=$v ;;
      NAMESRV_PORTS) read -r -a NAMESRV_PORTS <<<"$v" ;;
      BROKER_PORTS) read -r -a BROKER_PORTS <<<"$v" ;;
      BROKER_NAMES) read -r -a BROKER_NAMES <<<"$v" ;;
      SLAVE_PORTS) read -r -a SLAVE_PORTS <<<"$v" ;;
    esac
  done <"$INST/roles.env"
}

# role_info ROLE: sets ROLE_KIND (namesrv|broker), ROLE_INDEX, ROLE_PORTS (all its ports).
role_info() {
  local role=$1 idx
  case "$role" in
    namesrv*) ROLE_KIND=namesrv; idx=${role#namesrv} ;;
    broker*) ROLE_KIND=broker; idx=${role#broker} ;;
    slave*) ROLE_KIND=slave; idx=${role#slave} ;;
    *) die "unknown role $role (namesrv, namesrv1, ..., broker, broker1, ..., slave, slave1, ...)" ;;
  esac
  [[ -z "$idx" || "$idx" =~ ^[1-9][0-9]*$ ]] || die "unknown role $role"
  ROLE_INDEX=${idx:-0}
  if [[ "$ROLE_KIND" == namesrv ]]; then
    ((ROLE_INDEX < ${#NAMESRV_PORTS[@]})) || die "instance $NAME has no role $role"
    ROLE_PORTS=("${NAMESRV_PORTS[$ROLE_INDEX]}")
  else
    local ports=("${BROKER_PORTS[@]}")
    [[ "$ROLE_KIND" == broker ]] || ports=("${SLAVE_PORTS[@]}")
    ((ROLE_INDEX < ${#ports[@]})) || die "instance $NAME has no role $role"
    local p=${ports[$ROLE_INDEX]}
    ROLE_PORTS=("$((p - 2))" "$p" "$((p + 1))")
  fi
}

# SIGKILL (no shutdown hook, no flush: what a crash or an OOM kill leaves) and wait until the
# process is gone and its ports are free. Prints KILLED_PID=.
cmd_kill() {
  local name=${1:-} role=${2:-} pid i p
  [[ -n "$name" && -n "$role" ]] || die "kill: NAME and ROLE are required"
  load_roles "$name"
  role_info "$role"
  pid=$(read_pid "$INST/$role.pid")
  pid_is_ours "$pid" "$INST/" || die "kill: $role of $name is not running"
  kill -KILL "$pid"
  for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.05; done
  pid_alive "$pid" && die "kill: $role of $name (pid $pid) still alive after SIGKILL"
  for p in "${ROLE_PORTS[@]}"; do
    for ((i = 0; i < 100; i++)); do port_listening "$p" || break; sleep 0.05; done
  done
  echo "KILLED_PID=$pid"
}

# Starts a role again with its conf, ports and store (a broker recovers what it had stored,
# consumer offsets included); waits as `start` does. Prints PID= and STARTUP_MS=.
cmd_restart() {
  local name=${1:-} role=${2:-} p t0
  [[ -n "$name" && -n "$role" ]] || die "restart: NAME and ROLE are required"
  shift 2 || true
  timeout=90
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --timeout-secs) timeout=$2; shift 2 ;;
      *) die "restart: unknown option $1" ;;
    esac
  done
  load_roles "$name"
  role_info "$role"
  if pid_is_ours "$(read_pid "$INST/$role.pid")" "$INST/"; then die "restart: $role of $name is running"; fi
  for p in "${ROLE_PORTS[@]}"; do
    if port_listening "$p"; then
      log "restart: port $p of $role is in use"
      exit "$EXIT_PORT_BUSY"
    fi
  done
  RESTARTING=1
  jvm_common
  t0=$(now_ms)
  local deadline=$((SECONDS + timeout))
  if [[ "$ROLE_KIND" == namesrv ]]; then
    spawn_namesrv "$role"
    wait_namesrv "$role" "${ROLE_PORTS[0]}" "$deadline"
  else
    spawn_broker "$role"
    wait_broker "$role" "${BROKER_NAMES[$ROLE_INDEX]}" "${ROLE_PORTS[1]}" "$deadline"
  fi
  echo "PID=$(read_pid "$INST/$role.pid")"
  echo "STARTUP_MS=$(($(now_ms) - t0))"
}

# ---------------------------------------------------------------------------------------------
# stop / status / watchdog
# ---------------------------------------------------------------------------------------------

# The pid files of an instance's JVMs (namesrv*.pid, broker*.pid, slave*.pid).
role_pidfiles() {
  local f
  for f in "$1"/namesrv*.pid "$1"/broker*.pid "$1"/slave*.pid "$1"/proxy*.pid; do
    [[ -f "$f" ]] && echo "$f"
  done
  return 0
}

instance_running() {
  local inst=$1 f
  while IFS= read -r f; do
    pid_is_ours "$(read_pid "$f")" "$inst/" && return 0
  done < <(role_pidfiles "$inst")
  return 1
}

# Value of KEY in an instance's instance.env (empty when absent).
env_value() {
  [[ -f "$1/instance.env" ]] || return 0
  awk -v key="$2" 'index($0, key "=") == 1 { print substr($0, length(key) + 2); exit }' "$1/instance.env"
}

# TERM both JVMs at once, then KILL whatever is still alive after a short grace period
# (FERRY_STOP_GRACE_SECS, default 2). A graceful shutdown takes long for nothing here: about 7 s
# for a 4.9 broker and 15-17 s for a 5.3.3 broker (service threads joined one by one), and the
# store is thrown away at the next start anyway.
stop_pids() {
  local marker=$1 grace=${FERRY_STOP_GRACE_SECS:-2} pidfile pid pids=() i alive
  shift
  for pidfile in "$@"; do
    pid=$(read_pid "$pidfile")
    if pid_is_ours "$pid" "$marker"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for ((i = 0; i < grace * 10; i++)); do
    alive=0
    for pid in "${pids[@]}"; do pid_alive "$pid" && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  done
  rm -f "$@"
}

stop_instance() {
  local name=$1 mode=${2:-} inst="$RUN/$1" p ports=() i
  [[ -d "$inst" ]] || { [[ "$mode" == quiet ]] || log "no instance $name"; return 0; }
  if [[ "$mode" != from-watchdog ]]; then stop_pids "$SELF _watch $name " "$inst/watchdog.pid"; fi
  local ns broker pidfiles=() f
  ns=$(env_value "$inst" NAMESRV)
  broker=$(env_value "$inst" BROKER)
  while IFS= read -r f; do pidfiles+=("$f"); done < <(role_pidfiles "$inst")
  stop_pids "$inst/" "${pidfiles[@]}"
  # shellcheck disable=SC2207 # a list of port numbers
  ports=($(env_value "$inst" PORTS))
  if ((${#ports[@]} == 0)); then
    # instance.env of an older rocketmq.sh: one NameServer and one broker.
    [[ -n "$ns" ]] && ports+=("${ns##*:}")
    [[ -n "$broker" ]] && ports+=("$((${broker##*:} - 2))" "${broker##*:}" "$((${broker##*:} + 1))")
  fi
  for p in "${ports[@]}"; do
    for ((i = 0; i < 100; i++)); do port_listening "$p" || break; sleep 0.1; done
    if port_listening "$p"; then log "warning: port $p still in use after stopping $name"; fi
  done
  [[ "$mode" == quiet || "$mode" == from-watchdog ]] || log "stopped $name"
  return 0
}

cmd_stop() {
  [[ -n "${1:-}" ]] || die "stop: NAME is required"
  stop_instance "$1"
}

cmd_stop_all() {
  local d
  [[ -d "$RUN" ]] || return 0
  for d in "$RUN"/*/; do
    [[ -d "$d" ]] || continue
    stop_instance "$(basename "$d")"
  done
}

# Remove instance directories whose JVMs are gone and that nobody touched for N minutes
# (default 60): leftovers of shared clusters and failed tests. Recent ones stay for their logs.
cmd_prune() {
  local mins=60 d
  if [[ "${1:-}" == --older-than-mins ]]; then mins=$2; fi
  [[ -d "$RUN" ]] || return 0
  while IFS= read -r d; do
    instance_running "$d" && continue
    pid_is_ours "$(read_pid "$d/watchdog.pid")" "$SELF _watch $(basename "$d") " && continue
    rm -rf "$d"
  done < <(find "$RUN" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -mmin "+$mins")
}

cmd_status() {
  local name=${1:-} inst role pid
  [[ -n "$name" ]] || die "status: NAME is required"
  inst="$RUN/$name"
  [[ -d "$inst" ]] || { echo "STATUS=absent"; return 1; }
  local f
  while IFS= read -r f; do
    role=$(basename "$f" .pid)
    pid=$(read_pid "$f")
    if pid_is_ours "$pid" "$inst/"; then echo "${role^^}_STATE=running"; else echo "${role^^}_STATE=stopped"; fi
  done < <(role_pidfiles "$inst")
  [[ -f "$inst/instance.env" ]] && cat "$inst/instance.env"
  if instance_running "$inst"; then echo "STATUS=running"; else echo "STATUS=stopped"; return 1; fi
}

# Background watchdog (started by `start --watch-pid`): when the watched process (a test binary)
# is gone, stop this instance. Test binaries keep shared clusters in statics that never drop, and
# a crashed or killed test never runs Drop: this is what leaves no JVMs behind.
cmd_watch() {
  local name=$1 pid=$2 inst="$RUN/$1"
  while pid_alive "$pid"; do
    instance_running "$inst" || exit 0
    sleep 1
  done
  echo "$(date '+%F %T') watched pid $pid is gone, stopping $name"
  rm -f "$inst/watchdog.pid"
  stop_instance "$name" from-watchdog
}

# ---------------------------------------------------------------------------------------------
# harness / mqadmin
# ---------------------------------------------------------------------------------------------

cmd_harness() {
  cmd_fetch "${DEFAULT_VERSIONS[0]}" >/dev/null
  local home="$RUN/.harness-home"
  mkdir -p "$home"
  # shellcheck disable=SC2207
  local opens=($(java_opens))
  # Short-lived client JVMs: small heap, C1 only (starts faster), client logs (rocketmq_client.log)
  # under $RUN/.harness-home instead of ~/logs. FERRY_HARNESS_JAVA_OPTS adds JVM options, e.g.
  # -Dcom.rocketmq.sendMessageWithVIPChannel=true (off by default in the 4.9.8 client).
  # shellcheck disable=SC2086 # FERRY_HARNESS_JAVA_OPTS is a list of options
  exec "$JAVA" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+PerfDisableSharedMem \
    -Duser.home="$home" "${opens[@]}" ${FERRY_HARNESS_JAVA_OPTS:-} \
    -jar "$CACHE/harness/build/ferry-harness.jar" "$@"
}

# The 5.x harness (testkit/harness5): what only a 5.x client does (POP, recall), with rocketmq-client
# 5.3.3 from the 5.3.3 jars already fetched for the brokers: compiled with javac (no Maven) into
# $CACHE/harness5/classes, again whenever its sources change.
build_harness5() {
  local src="$TESTKIT/harness5/src" out="$CACHE/harness5" stamp files
  files=$(cd "$src" && find . -name '*.java' | LC_ALL=C sort | tr '\n' ' ')
  # shellcheck disable=SC2086 # word splitting of the file list is intended
  stamp=$(stamp_of "$src" $files)
  if [[ -f "$out/.built" && "$(cat "$out/.built")" == "$stamp" ]]; then return 0; fi
  log "building the 5.x harness into $out/classes"
  rm -rf "$out/classes.tmp"
  mkdir -p "$out/classes.tmp"
  # shellcheck disable=SC2046 # one argument per source file
  "${JAVA%java}javac" -nowarn -d "$out/classes.tmp" -cp "$CACHE/rocketmq/5.3.3/lib/*" \
    $(find "$src" -name '*.java') >&2 || die "javac failed for $src"
  rm -rf "$out/classes"
  mv "$out/classes.tmp" "$out/classes"
  echo "$stamp" >"$out/.built"
}

cmd_harness5() {
  cmd_fetch 5.3.3 >/dev/null
  (exec 9>"$CACHE/.fetch.lock"; flock 9; build_harness5)
  local home="$RUN/.harness5-home"
  mkdir -p "$home"
  # shellcheck disable=SC2207
  local opens=($(java_opens))
  # shellcheck disable=SC2086 # FERRY_HARNESS_JAVA_OPTS is a list of options
  exec "$JAVA" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+PerfDisableSharedMem \
    -Duser.home="$home" "${opens[@]}" ${FERRY_HARNESS_JAVA_OPTS:-} \
    -cp "$CACHE/harness5/classes:$CACHE/rocketmq/5.3.3/lib/*" dev.ferry.harness5.Main "$@"
}

# ---------------------------------------------------------------------------------------------
# The Apache RocketMQ Proxy (5.x) and the gRPC harness
# ---------------------------------------------------------------------------------------------

# proxy-start NAME --version V --namesrv ADDR --grpc-port P --remoting-port R [--cluster-name C]
#   [--prop KEY=JSON ...] [--watch-pid PID] [--timeout-secs S]
# ProxyStartup (proxy/.../ProxyStartup.java @ rocketmq-all-5.3.3) reads rmq-proxy.json from
# -Dcom.rocketmq.proxy.configPath (config/Configuration.java L56), fields of ProxyConfig: proxyMode
# CLUSTER (its default) makes it a remoting client of the brokers found through namesrvAddr.
# --prop adds a field (value as JSON: 5, true, "text"), e.g. topicRouteServiceCacheRefreshSeconds=1.
# Ready = the gRPC port listens. Prints KEY=VALUE lines (kept in <instance>/instance.env).
cmd_proxy_start() {
  NAME=${1:-}
  [[ -n "$NAME" && "$NAME" != --* ]] || die "proxy-start: NAME is required"
  shift
  local version=5.3.3 namesrv="" grpc="" remoting="" cluster=DefaultCluster watch="" timeout=90 props=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --version) version=$2; shift 2 ;;
      --namesrv) namesrv=$2; shift 2 ;;
      --grpc-port) grpc=$2; shift 2 ;;
      --remoting-port) remoting=$2; shift 2 ;;
      --cluster-name) cluster=$2; shift 2 ;;
      --prop) props+=("$2"); shift 2 ;;
      --watch-pid) watch=$2; shift 2 ;;
      --timeout-secs) timeout=$2; shift 2 ;;
      *) die "proxy-start: unknown option $1" ;;
    esac
  done
  [[ -n "$namesrv" && -n "$grpc" && -n "$remoting" ]] || die "proxy-start: --namesrv, --grpc-port and --remoting-port are required"
  INST="$RUN/$NAME"
  if [[ -d "$INST" ]] && instance_running "$INST"; then die "instance $NAME is running"; fi
  local p
  for p in "$grpc" "$remoting"; do
    if port_listening "$p"; then echo "rocketmq.sh: port $p is taken" >&2; exit 3; fi
  done
  (exec 9>"$CACHE/.fetch.lock"; flock 9; fetch_artifact "rocketmq-proxy-$version")
  rm -rf "$INST"
  mkdir -p "$INST/home/conf" "$INST/proxy"
  {
    echo "{"
    echo "  \"rocketMQClusterName\": \"$cluster\","
    echo "  \"namesrvAddr\": \"$namesrv\","
    echo "  \"proxyMode\": \"cluster\","
    echo "  \"grpcServerPort\": $grpc,"
    echo "  \"remotingListenPort\": $remoting,"
    for p in "${props[@]}"; do echo "  \"${p%%=*}\": ${p#*=},"; done
    echo "  \"proxyName\": \"$NAME\""
    echo "}"
  } >"$INST/home/conf/rmq-proxy.json"
  # shellcheck disable=SC2207 # the flags contain no spaces
  local opens=($(java_opens)) t0 deadline
  t0=$(now_ms)
  ROCKETMQ_HOME="$INST/home" spawn "$INST/proxy.pid" "$INST/proxy.out" \
    "$JAVA" -server -Xms128m -Xmx256m -XX:MaxDirectMemorySize=256m -XX:+UseSerialGC -XX:+PerfDisableSharedMem \
    -Duser.home="$INST/proxy" -Drocketmq.home.dir="$INST/home" \
    -Dcom.rocketmq.proxy.configPath="$INST/home/conf/rmq-proxy.json" "${opens[@]}" \
    -cp "$CACHE/rocketmq-proxy-$version/lib/*" org.apache.rocketmq.proxy.ProxyStartup
  if [[ -n "$watch" ]]; then
    spawn "$INST/watchdog.pid" "$INST/watchdog.log" bash "$SELF" _watch "$NAME" "$watch"
  fi
  deadline=$(($(date +%s) + timeout))
  while ! port_listening "$grpc"; do
    if ! pid_is_ours "$(read_pid "$INST/proxy.pid")" "$INST/"; then
      tail -n 40 "$INST/proxy.out" >&2 || true
      die "the proxy exited before its gRPC port $grpc listened"
    fi
    if (($(date +%s) > deadline)); then
      tail -n 40 "$INST/proxy.out" >&2 || true
      stop_instance "$NAME" quiet
      die "the proxy's gRPC port $grpc did not listen within ${timeout}s"
    fi
    sleep 0.2
  done
  {
    echo "NAME=$NAME"
    echo "VERSION=$version"
    echo "GRPC=127.0.0.1:$grpc"
    echo "REMOTING=127.0.0.1:$remoting"
    echo "NAMESRV=$namesrv"
    echo "PROXY_PID=$(read_pid "$INST/proxy.pid")"
    echo "PROXY_LOGS=$INST/proxy/logs/rocketmqlogs"
    echo "PORTS=$grpc $remoting"
    echo "STARTUP_MS=$(($(now_ms) - t0))"
  } >"$INST/instance.env"
  cat "$INST/instance.env"
}

# The gRPC harness (testkit/harness-grpc): rocketmq-client-java (one shaded jar) compiled with
# javac into $CACHE/harness-grpc/classes, again whenever its sources change.
GRPC_CLIENT=rocketmq-client-java-5.0.8
build_harness_grpc() {
  local src="$TESTKIT/harness-grpc/src" out="$CACHE/harness-grpc" stamp files
  files=$(cd "$src" && find . -name '*.java' | LC_ALL=C sort | tr '\n' ' ')
  # shellcheck disable=SC2086 # word splitting of the file list is intended
  stamp=$(stamp_of "$src" $files)-$GRPC_CLIENT
  if [[ -f "$out/.built" && "$(cat "$out/.built")" == "$stamp" ]]; then return 0; fi
  log "building the gRPC harness into $out/classes"
  rm -rf "$out/classes.tmp"
  mkdir -p "$out/classes.tmp"
  # shellcheck disable=SC2046 # one argument per source file
  "${JAVA%java}javac" -nowarn -d "$out/classes.tmp" -cp "$CACHE/$GRPC_CLIENT/lib/*" \
    $(find "$src" -name '*.java') >&2 || die "javac failed for $src"
  rm -rf "$out/classes"
  mv "$out/classes.tmp" "$out/classes"
  echo "$stamp" >"$out/.built"
}

cmd_harness_grpc() {
  mkdir -p "$CACHE"
  (exec 9>"$CACHE/.fetch.lock"; flock 9; fetch_artifact "$GRPC_CLIENT"; build_harness_grpc)
  local home="$RUN/.harness-grpc-home"
  mkdir -p "$home"
  # The client logs under ~/logs/rocketmq (its own logback): user.home keeps them in $RUN.
  # shellcheck disable=SC2086 # FERRY_HARNESS_JAVA_OPTS is a list of options
  exec "$JAVA" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+PerfDisableSharedMem \
    -Duser.home="$home" ${FERRY_HARNESS_JAVA_OPTS:-} \
    -cp "$CACHE/harness-grpc/classes:$CACHE/$GRPC_CLIENT/lib/*" dev.ferry.harnessgrpc.Main "$@"
}

cmd_mqadmin() {
  local v=${1:-}
  [[ -n "$v" ]] || die "mqadmin: VERSION is required"
  shift
  cmd_fetch "$v" >/dev/null
  local home="$RUN/.mqadmin-home-$v"
  mkdir -p "$home/conf"
  case "$v" in 4.*) cp "$TESTKIT/conf/4.9/logback_tools.xml" "$home/conf/" ;; esac
  # shellcheck disable=SC2207
  local opens=($(java_opens))
  ROCKETMQ_HOME="$home" exec "$JAVA" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Duser.home="$home" -Drocketmq.home.dir="$home" "${opens[@]}" \
    -cp "$CACHE/rocketmq/$v/lib/*" org.apache.rocketmq.tools.command.MQAdminStartup "$@"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    fetch) cmd_fetch "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    stop-all) cmd_stop_all ;;
    prune) cmd_prune "$@" ;;
    status) cmd_status "$@" ;;
    harness) cmd_harness "$@" ;;
    harness5) cmd_harness5 "$@" ;;
    mqadmin) cmd_mqadmin "$@" ;;
    proxy-start) cmd_proxy_start "$@" ;;
    harness-grpc) cmd_harness_grpc "$@" ;;
    kill) cmd_kill "$@" ;;
    restart) cmd_restart "$@" ;;
    _watch) cmd_watch "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

# Sourcing the script (for debugging its functions) defines them without running anything.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
