#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's packages; no system service.
#
#   scripts/postgres.sh install             installs PostgreSQL (apt-get) if no initdb is found
#   scripts/postgres.sh start DIR [PID]     initdb in DIR (new or empty), starts the server on a free
#                                           loopback port, prints its URL (postgresql://ferry@127.0.0.1:PORT/postgres,
#                                           no password: trust on loopback only). With PID, the server
#                                           stops and DIR is removed once that process is gone.
#   scripts/postgres.sh stop DIR            stops it and removes DIR
#   scripts/postgres.sh database URL NAME   creates database NAME on the server at URL, prints its URL
#
# initdb and postgres refuse to run as root: as root, the server runs as the package's `postgres`
# user (created, as `ferry-pg`, if missing). Durability is off (fsync, full page writes): test data only.
set -euo pipefail

self=$(readlink -f "$0")

die() { echo "postgres.sh: $*" >&2; exit 1; }

bin_dir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$found" ] && [ -x "$found/initdb" ]; then echo "$found"; return; fi
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then dirname "$(command -v initdb)"; return; fi
  return 1
}

install() {
  if bin_dir >/dev/null; then return; fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # No cluster of the package's own, and no service: the tests start theirs.
  $sudo mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold postgresql >/dev/null
  bin_dir >/dev/null || die "PostgreSQL installed but no initdb found under /usr/lib/postgresql"
}

# Runs a command as the server's user: ourselves, or as root a user initdb accepts.
as_server_user() {
  if [ "$(id -u)" != 0 ]; then "$@"; return; fi
  # From / : the server's user may not enter the caller's working directory.
  local user=postgres
  if ! id "$user" >/dev/null 2>&1; then
    user=ferry-pg
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
  fi
  (cd / && runuser -u "$user" -- "$@")
}

server_user() {
  if [ "$(id -u)" != 0 ]; then id -un; elif id postgres >/dev/null 2>&1; then echo postgres; else echo ferry-pg; fi
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free loopback port found"
}

start() {
  local dir=${1:?usage: postgres.sh start DIR [PID]} watch=${2:-}
  local bin
  bin=$(bin_dir) || die "no PostgreSQL found (initdb): run scripts/postgres.sh install, or apt-get install postgresql"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  if [ "$(id -u)" = 0 ]; then
    as_server_user true
    chown "$(server_user)" "$dir"
    chmod 0700 "$dir"
    as_server_user test -w "$dir" || die "$dir: the server's user $(server_user) cannot reach it (a folder above is private): use a folder under /tmp"
  fi
  as_server_user "$bin/initdb" -D "$dir/data" -U ferry --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s start -o \
      "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
       -c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB" >/dev/null 2>&1; then
      break
    fi
    [ "$attempt" = 5 ] && { cat "$dir/server.log" >&2; die "the server did not start"; }
  done
  if [ -n "$watch" ]; then
    # Gone with the process that asked for it (a test binary), whatever way it ends.
    setsid bash -c "while kill -0 $watch 2>/dev/null; do sleep 1; done; '$self' stop '$dir'" \
      </dev/null >/dev/null 2>&1 &
  fi
  echo "postgresql://ferry@127.0.0.1:$port/postgres"
}

stop() {
  local dir=${1:?usage: postgres.sh stop DIR}
  [ -d "$dir" ] || return 0
  local bin
  if bin=$(bin_dir) && [ -f "$dir/data/postmaster.pid" ]; then
    as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate -s stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

database() {
  local url=${1:?usage: postgres.sh database URL NAME} name=${2:?usage: postgres.sh database URL NAME}
  [[ "$name" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "bad database name: $name"
  local psql=psql bin
  if bin=$(bin_dir) && [ -x "$bin/psql" ]; then psql="$bin/psql"; fi
  "$psql" "$url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $name" >/dev/null
  local base=${url%%\?*} query=""
  [ "$base" = "$url" ] || query="?${url#*\?}"
  echo "${base%/*}/$name$query"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  database) shift; database "$@" ;;
  *) die "usage: postgres.sh install | start DIR [PID] | stop DIR | database URL NAME" ;;
esac
