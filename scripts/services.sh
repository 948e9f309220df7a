#!/usr/bin/env bash
# Real servers for the tests on a machine without Docker, on loopback:
#   redis  Redis (Debian's redis-server), maxmemory-policy noeviction, AOF under .services/redis
#   nats   NATS 2.10 with JetStream (built with go install, cached), store under .services/nats, monitoring port
#   mongo  a MongoDB-wire-protocol server: mongo-java-server + H2 file (tools/mongo-wire),
#          data under .services/mongo (see docs/testing.md for why, and what it lacks)
#
# Usage: scripts/services.sh up | down | status | env | clean
#                            start <svc> | stop <svc> | restart <svc>     (svc: redis, nats, mongo)
#                            tools        Debian's chromium (browser tests), promtool (package
#                                         prometheus) and docker-compose (compose file check)
#                            cluster up | down | status | env | clean | start|stop|kill <node>
#                                         a 3-node NATS cluster and a 3-master Redis Cluster beside
#                                         these (scripts/services-cluster.sh; env in cluster-env)
#
# Installs what is missing (apt-get, Go, Maven), then starts each server as a daemon detached from
# the calling shell. Everything (state, logs, pid files, build cache) lives in <repo>/.services/.
# `up` is idempotent and writes .services/env, which the test run reads (test/support).
# Ports: REDIS_PORT (6379), NATS_PORT (4222), NATS_MONITOR_PORT (8222), MONGO_PORT (27017).
# State folder: SERVICES_DIR (<repo>/.services); built binaries stay in <repo>/.services, shared.
# Start timeouts in seconds: SERVICES_TIMEOUT (60).
# The MongoDB-wire server's page cache: MONGO_CACHE_MB (256); its JVM: MONGO_JAVA_OPTS
# ("-Xms1g -Xmx1g -XX:+UseParallelGC": a heap sized once, collected by two threads; the serial
# collector on a heap grown from 64 MB spent 12 s of a 3-minute bench in GC, BENCHMARKS.md).
# A cache that holds a large data set needs a larger heap:
# MONGO_CACHE_MB=4096 MONGO_JAVA_OPTS="-Xms1g -Xmx7g -XX:+UseG1GC" (BENCHMARKS.md, 1,000,000 lines).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# SERVICES_DIR: another state folder, for a second set of servers beside the first (the nemesis suite).
STATE="${SERVICES_DIR:-$ROOT/.services}"
# Built binaries are shared by every state folder.
CACHE="$ROOT/.services"
LOGS="$STATE/logs"
HOST=127.0.0.1
PORTS_FILE="$STATE/ports"
# Ports given to `up` are remembered in .services/ports, so `status`, `stop`, `env`... find them.
if [[ -f "$PORTS_FILE" ]]; then
  while IFS='=' read -r name value; do
    case "$name" in
      REDIS_PORT | NATS_PORT | NATS_MONITOR_PORT | MONGO_PORT)
        [[ -n "${!name:-}" ]] || printf -v "$name" '%s' "$value"
        ;;
    esac
  done <"$PORTS_FILE"
fi
REDIS_PORT="${REDIS_PORT:-6379}"
NATS_PORT="${NATS_PORT:-4222}"
NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-8222}"
MONGO_PORT="${MONGO_PORT:-27017}"
TIMEOUT="${SERVICES_TIMEOUT:-60}"
MONGO_WIRE_SRC="$ROOT/tools/mongo-wire"
SERVICES=(redis nats mongo)

export DEBIAN_FRONTEND=noninteractive

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The way out when this script cannot install something: said at the end of every such error.
OTHERWISE="or run servers of your own and set NATS_URL, REDIS_URL and MONGO_URL (all three)"

port_of() {
  case "$1" in
    redis) echo "$REDIS_PORT" ;;
    nats) echo "$NATS_PORT" ;;
    mongo) echo "$MONGO_PORT" ;;
    nats-[123] | redis-[123]) cluster_port_of "$1" ;;
    *) die "unknown service '$1' (expected: ${SERVICES[*]})" ;;
  esac
}

port_answers() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_file() { echo "$STATE/$1.pid"; }

# The pid of a running server that this script started, or nothing. A pid file whose process
# is gone, a zombie, or some other program (pid reused) does not count.
running_pid() {
  local file pid state
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(signature_of "$1")" || return 0
  echo "$pid"
}

# What a server's command line contains (see start_one).
signature_of() {
  case "$1" in
    redis) echo "redis-server" ;;
    nats) echo "nats-server" ;;
    mongo) echo "mongo-wire" ;;
    # Its configuration file; a Redis node's process title names its port.
    nats-[123]) echo "$1\.conf" ;;
    redis-[123]) echo "redis-server.*[ :]$(cluster_port_of "$1") " ;;
  esac
}

# The variable that moves a server's port, for the message about a port already taken.
port_variable_of() {
  case "$1" in
    nats-[123]) echo CLUSTER_NATS_PORT ;;
    redis-[123]) echo CLUSTER_REDIS_PORT ;;
    *) echo "$(tr '[:lower:]' '[:upper:]' <<<"$1")_PORT" ;;
  esac
}

# ---------------------------------------------------------------- installation

APT_UPDATED=0
apt_install() {
  # Say what is missing and what to do, rather than let apt-get fail obscurely.
  command -v apt-get >/dev/null \
    || die "missing: $*; this script installs with apt-get (Debian), which is not here. Install them with this system's package manager, $OTHERWISE"
  [[ "$(id -u)" == 0 ]] \
    || die "missing: $*; installing them needs root: run 'sudo apt-get install -y $*' once, $OTHERWISE"
  log "installing $* (apt-get; log in $LOGS/apt.log)"
  # Keep package scripts from starting system-wide daemons on our ports.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  local rc=0
  # Another apt-get (another engineer, a CI step) may hold the lock: wait for it rather than fail.
  local lock=(-o DPkg::Lock::Timeout=300)
  {
    if [[ "$APT_UPDATED" == 0 ]]; then
      apt-get "${lock[@]}" update -q && APT_UPDATED=1
    fi
    apt-get "${lock[@]}" install -y -q --no-install-recommends "$@"
  } >>"$LOGS/apt.log" 2>&1 || rc=$?
  [[ "$created_policy" == 1 ]] && rm -f "$policy"
  if [[ "$rc" != 0 ]]; then
    tail -n 20 "$LOGS/apt.log" >&2
    die "could not install $* (tried: apt-get update, then apt-get install -y --no-install-recommends $*; log $LOGS/apt.log). Offline, or no Debian mirror? Install them by other means, $OTHERWISE"
  fi
}

ensure_installed() {
  local want=("$@") missing=()
  local svc
  for svc in "${want[@]}"; do
    case "$svc" in
      redis) command -v redis-server >/dev/null || missing+=(redis-server) ;;
      nats) ensure_nats_server ;;
      mongo)
        command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
        if [[ ! -f "$(mongo_jar)" ]]; then
          command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
          command -v mvn >/dev/null || missing+=(maven)
        fi
        ;;
    esac
  done
  if ((${#missing[@]} > 0)); then
    apt_install "${missing[@]}"
  fi
}

# NATS 2.10 (Debian ships 2.9, which lacks consumers with several filter subjects): built
# from the Go module proxy into .services/bin once, the same major version as docker-compose.
# v2.10.29 needs Go >= 1.23: Debian's golang-go (1.19) cannot build it, so it is never installed
# from apt. A Go from 1.21 on fetches the newer toolchain itself (GOTOOLCHAIN=auto) when online.
NATS_VERSION="v2.10.29"
NATS_GO_MIN="1.23"
nats_bin() { echo "$CACHE/bin/nats-server-$NATS_VERSION"; }
NATS_NEEDS="nats-server $NATS_VERSION is built from source and needs Go >= $NATS_GO_MIN (Debian's golang-go is 1.19 and cannot build it)"
NATS_FIX="Install Go >= $NATS_GO_MIN from https://go.dev/dl/ (e.g. into /usr/local/go), or put a nats-server 2.10 binary at $(nats_bin), $OTHERWISE"

# `version_at_least 1.26.8 1.23`: true when the first version is at least the second.
version_at_least() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]; }

ensure_nats_server() {
  [[ -x "$(nats_bin)" ]] && return 0
  local go_cmd go_version
  go_cmd="$(command -v go || true)"
  [[ -z "$go_cmd" && -x /usr/local/go/bin/go ]] && go_cmd=/usr/local/go/bin/go
  [[ -n "$go_cmd" ]] || die "$NATS_NEEDS, and no Go was found (PATH, /usr/local/go/bin). $NATS_FIX"
  go_version="$("$go_cmd" version | awk '{print $3}' | sed 's/^go//')"
  version_at_least "$go_version" 1.21 \
    || die "$NATS_NEEDS; found Go $go_version at $go_cmd, too old to fetch a newer toolchain. $NATS_FIX"
  log "building nats-server $NATS_VERSION (go install with Go $go_version; log in $LOGS/nats-build.log)"
  mkdir -p "$CACHE/bin" "$LOGS"
  # The module cache first, as a file proxy: offline, `go install pkg@version` still asks the proxy
  # for the module's deprecation (even with GOPROXY=off), which a file proxy answers from the cache.
  local proxy
  proxy="$("$go_cmd" env GOPROXY)"
  [[ -d "$("$go_cmd" env GOMODCACHE)/cache/download" ]] && proxy="file://$("$go_cmd" env GOMODCACHE)/cache/download,$proxy"
  GOPROXY="$proxy" GOBIN="$CACHE/bin/tmp" "$go_cmd" install "github.com/nats-io/nats-server/v2@$NATS_VERSION" >>"$LOGS/nats-build.log" 2>&1 \
    || {
      tail -n 20 "$LOGS/nats-build.log" >&2
      die "building nats-server failed (tried: GOPROXY=$proxy $go_cmd install github.com/nats-io/nats-server/v2@$NATS_VERSION with Go $go_version; log $LOGS/nats-build.log). Offline, the Go module cache must hold the modules already. $NATS_FIX"
    }
  mv "$CACHE/bin/tmp/nats-server" "$(nats_bin)"
  rmdir "$CACHE/bin/tmp" 2>/dev/null || true
}

# Tools the tests use besides the servers, from Debian: chromium (the console's browser tests run
# /usr/bin/chromium, as root with --no-sandbox), promtool (package prometheus: checks the alert
# rules) and docker-compose (checks docker-compose.yml with `docker-compose config`).
ensure_tools() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  if ((${#missing[@]} == 0)); then
    log "tools present: /usr/bin/chromium, $(command -v promtool), $(command -v docker-compose)"
    return 0
  fi
  OTHERWISE="or install them yourself: chromium at /usr/bin/chromium, promtool and docker-compose in PATH"
  apt_install "${missing[@]}"
  log "tools installed: ${missing[*]}"
}

# The mongo-wire jar is cached under .services/build, keyed by a hash of its sources,
# so a second `up` (or an unchanged clone) does not run Maven again.
mongo_jar() {
  local hash
  hash="$(cd "$MONGO_WIRE_SRC" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  echo "$CACHE/build/mongo-wire-$hash.jar"
}

build_mongo_wire() {
  local jar
  jar="$(mongo_jar)"
  [[ -f "$jar" ]] && return 0
  log "building tools/mongo-wire (Maven; log in $LOGS/mongo-wire-build.log)"
  local started=$SECONDS
  if ! mvn -B -q -f "$MONGO_WIRE_SRC/pom.xml" -DskipTests package >"$LOGS/mongo-wire-build.log" 2>&1; then
    tail -n 30 "$LOGS/mongo-wire-build.log" >&2
    die "building tools/mongo-wire failed (tried: mvn package with $(mvn -v 2>/dev/null | head -n 1); log $LOGS/mongo-wire-build.log). Maven downloads about 28 MB from Maven Central into ~/.m2 the first time: offline, ~/.m2 must hold them already. $OTHERWISE"
  fi
  mkdir -p "$CACHE/build"
  rm -f "$CACHE"/build/mongo-wire-*.jar
  cp "$MONGO_WIRE_SRC/target/mongo-wire.jar" "$jar.tmp" && mv "$jar.tmp" "$jar"
  log "built tools/mongo-wire in $((SECONDS - started)) s"
}

# ---------------------------------------------------------------- start / stop

launch() {
  local svc="$1"
  shift
  local logfile="$LOGS/$svc.log"
  {
    echo "---- $(date -u +%FT%TZ) starting: $*"
  } >>"$logfile"
  # setsid + nohup: a daemon in its own session, not tied to the calling shell or terminal.
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$(pid_file "$svc")"
}

start_one() {
  local svc="$1" port pid
  port="$(port_of "$svc")"
  pid="$(running_pid "$svc")"
  if [[ -n "$pid" ]]; then
    if wait_for "$svc" "$pid" "$port"; then
      log "$svc already running (pid $pid, $HOST:$port)"
      return 0
    fi
    pid="$(running_pid "$svc")"
    if [[ -n "$pid" ]]; then
      log "last lines of $LOGS/$svc.log:"
      tail -n 25 "$LOGS/$svc.log" >&2 || true
      die "$svc is running (pid $pid) but not answering; try: scripts/services.sh restart $svc"
    fi
    # It died while we waited (e.g. killed just before): start a new one below.
  fi
  rm -f "$(pid_file "$svc")"
  if port_answers "$port"; then
    die "$svc: port $port on $HOST is already taken by a process this script did not start; stop it or set $(port_variable_of "$svc")"
  fi
  mkdir -p "$STATE/$svc" "$LOGS"
  case "$svc" in
    redis)
      launch redis redis-server \
        --bind "$HOST" --port "$REDIS_PORT" --protected-mode no \
        --daemonize no --supervised no \
        --dir "$STATE/redis" --save '' --appendonly yes --appendfsync everysec \
        --maxmemory-policy noeviction --logfile ''
      ;;
    nats)
      launch nats "$(nats_bin)" \
        -a "$HOST" -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" \
        -js -sd "$STATE/nats" -n opensim-test
      ;;
    mongo)
      build_mongo_wire
      launch mongo env MONGO_HOST="$HOST" MONGO_PORT="$MONGO_PORT" MONGO_FILE="$STATE/mongo/mongo.mv.db" \
        MONGO_CACHE_MB="${MONGO_CACHE_MB:-256}" java ${MONGO_JAVA_OPTS:--Xms1g -Xmx1g -XX:+UseParallelGC} -jar "$(mongo_jar)"
      ;;
    nats-* | redis-*) launch_cluster_node "$svc" ;;
  esac
  pid="$(cat "$(pid_file "$svc")")"
  if ! wait_for "$svc" "$pid" "$port"; then
    log "$svc did not start; last lines of $LOGS/$svc.log:"
    tail -n 25 "$LOGS/$svc.log" >&2 || true
    exit 1
  fi
  log "$svc started (pid $pid, $HOST:$port)"
}

# Waits until the port answers. Fails if the process exits first or the timeout passes.
wait_for() {
  local svc="$1" pid="$2" port="$3" deadline=$((SECONDS + TIMEOUT))
  until port_answers "$port"; do
    # The process itself, not running_pid: its command line reads empty for an instant while
    # `env … java` execs, and a slow start (a large data file) was once taken for an exit.
    if ! kill -0 "$pid" 2>/dev/null || [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]]; then
      log "$svc (pid $pid) exited before answering on $HOST:$port"
      rm -f "$(pid_file "$svc")"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$svc (pid $pid) did not answer on $HOST:$port within ${TIMEOUT}s"
      return 1
    fi
    sleep 0.2
  done
}

stop_one() {
  local svc="$1" pid i
  pid="$(running_pid "$svc")"
  if [[ -z "$pid" ]]; then
    rm -f "$(pid_file "$svc")"
    log "$svc not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    [[ -n "$(running_pid "$svc")" ]] || break
    sleep 0.05
  done
  if [[ -n "$(running_pid "$svc")" ]]; then
    log "$svc (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$svc")"
  log "$svc stopped"
}

# ---------------------------------------------------------------- commands

env_lines() {
  echo "export NATS_URL=nats://$HOST:$NATS_PORT"
  echo "export REDIS_URL=redis://$HOST:$REDIS_PORT"
  echo "export MONGO_URL=mongodb://$HOST:$MONGO_PORT/opensim"
}

write_env() {
  env_lines >"$STATE/env.tmp" && mv "$STATE/env.tmp" "$STATE/env"
}

write_ports() {
  printf 'REDIS_PORT=%s\nNATS_PORT=%s\nNATS_MONITOR_PORT=%s\nMONGO_PORT=%s\n' \
    "$REDIS_PORT" "$NATS_PORT" "$NATS_MONITOR_PORT" "$MONGO_PORT" >"$PORTS_FILE"
}

status() {
  local svc pid port down=0
  for svc in "${SERVICES[@]}"; do
    port="$(port_of "$svc")"
    pid="$(running_pid "$svc")"
    if [[ -n "$pid" ]] && port_answers "$port"; then
      printf '%-6s up    pid %-7s %s:%s\n' "$svc" "$pid" "$HOST" "$port"
    elif [[ -n "$pid" ]]; then
      printf '%-6s down  pid %-7s %s:%s not answering (log: %s)\n' "$svc" "$pid" "$HOST" "$port" "$LOGS/$svc.log"
      down=1
    else
      printf '%-6s down  %s:%s\n' "$svc" "$HOST" "$port"
      down=1
    fi
  done
  return "$down"
}

check_svc() {
  [[ $# -ge 1 ]] || die "missing service name (expected: ${SERVICES[*]})"
  port_of "$1" >/dev/null
}

main() {
  local cmd="${1:-}"
  mkdir -p "$STATE" "$LOGS"
  case "$cmd" in
    up)
      local started=$SECONDS svc
      ensure_installed "${SERVICES[@]}"
      write_ports
      for svc in "${SERVICES[@]}"; do start_one "$svc"; done
      write_env
      log "all up in $((SECONDS - started)) s; URLs in .services/env (also: scripts/services.sh env)"
      ;;
    down)
      local svc
      for svc in "${SERVICES[@]}"; do stop_one "$svc"; done
      rm -f "$STATE/env" "$PORTS_FILE"
      ;;
    start)
      check_svc "${2:-}" && ensure_installed "$2" && write_ports && start_one "$2"
      ;;
    stop)
      check_svc "${2:-}" && stop_one "$2"
      ;;
    restart)
      check_svc "${2:-}" && stop_one "$2" && ensure_installed "$2" && write_ports && start_one "$2"
      ;;
    status)
      status
      ;;
    tools)
      ensure_tools
      ;;
    env)
      env_lines
      ;;
    cluster)
      # shellcheck source=services-cluster.sh
      source "$ROOT/scripts/services-cluster.sh"
      cluster_main "${@:2}"
      ;;
    clean)
      local svc
      for svc in "${SERVICES[@]}"; do stop_one "$svc"; done
      rm -rf "$STATE/redis" "$STATE/nats" "$STATE/mongo" "$STATE/env" "$PORTS_FILE" "$STATE"/{redis,nats,mongo}.pid
      log "data removed (build cache kept in .services/build)"
      ;;
    *)
      sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
