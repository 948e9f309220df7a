# Clusters on loopback, beside the single-node servers (sourced by scripts/services.sh for its
# `cluster` verb; not run on its own):
#   nats-1..3   a 3-node NATS cluster with JetStream (the same nats-server 2.10.29 binary), one
#               store dir per node, routes on loopback: streams can have 3 replicas
#   redis-1..3  a 3-master Redis Cluster (Debian's redis-server, cluster-enabled, AOF), formed once
#               with `redis-cli --cluster create … --cluster-yes`
#   mongo       the state folder's single MongoDB-wire server (the same one `up` starts)
# `cluster up` is idempotent and writes <state>/cluster-env (docs/configuration.md):
#   NATS_URL=nats://127.0.0.1:4301,nats://127.0.0.1:4302,nats://127.0.0.1:4303
#   REDIS_URL=redis+cluster://127.0.0.1:7301,127.0.0.1:7302,127.0.0.1:7303
# Ports (first node; the others follow): CLUSTER_NATS_PORT (4301), CLUSTER_NATS_ROUTE_PORT (6301),
# CLUSTER_NATS_MONITOR_PORT (8301), CLUSTER_REDIS_PORT (7301; its cluster bus is port + 10000).

CLUSTER_PORTS_FILE="$STATE/cluster-ports"
if [[ -f "$CLUSTER_PORTS_FILE" ]]; then
  while IFS='=' read -r name value; do
    case "$name" in
      CLUSTER_NATS_PORT | CLUSTER_NATS_ROUTE_PORT | CLUSTER_NATS_MONITOR_PORT | CLUSTER_REDIS_PORT)
        [[ -n "${!name:-}" ]] || printf -v "$name" '%s' "$value"
        ;;
    esac
  done <"$CLUSTER_PORTS_FILE"
fi
CLUSTER_NATS_PORT="${CLUSTER_NATS_PORT:-4301}"
CLUSTER_NATS_ROUTE_PORT="${CLUSTER_NATS_ROUTE_PORT:-6301}"
CLUSTER_NATS_MONITOR_PORT="${CLUSTER_NATS_MONITOR_PORT:-8301}"
CLUSTER_REDIS_PORT="${CLUSTER_REDIS_PORT:-7301}"
CLUSTER_NODES=(nats-1 nats-2 nats-3 redis-1 redis-2 redis-3)
# The name the NATS nodes share; every node refuses routes from another cluster name.
NATS_CLUSTER_NAME=opensim-cluster

# nats-2 → 2
node_index() { echo "${1##*-}"; }

cluster_port_of() {
  local i
  i="$(node_index "$1")"
  case "$1" in
    nats-[123]) echo $((CLUSTER_NATS_PORT + i - 1)) ;;
    redis-[123]) echo $((CLUSTER_REDIS_PORT + i - 1)) ;;
    *) die "unknown cluster node '$1' (expected: ${CLUSTER_NODES[*]})" ;;
  esac
}

# The NATS node's configuration: a file, because routes and JetStream's store are blocks.
write_nats_node_config() {
  local node="$1" i routes="" k
  i="$(node_index "$node")"
  for k in 1 2 3; do routes+="nats-route://$HOST:$((CLUSTER_NATS_ROUTE_PORT + k - 1)), "; done
  mkdir -p "$STATE/$node"
  cat >"$STATE/$node.conf" <<EOF
# Written by scripts/services.sh cluster up; rewritten at each start.
server_name: $node
listen: $HOST:$((CLUSTER_NATS_PORT + i - 1))
http: $HOST:$((CLUSTER_NATS_MONITOR_PORT + i - 1))
jetstream { store_dir: "$STATE/$node" }
cluster {
  name: $NATS_CLUSTER_NAME
  listen: $HOST:$((CLUSTER_NATS_ROUTE_PORT + i - 1))
  # Its own address among them is ignored by the server: every node gets the same list.
  routes: [ ${routes%, } ]
}
EOF
}

launch_cluster_node() {
  local node="$1" port
  port="$(cluster_port_of "$node")"
  case "$node" in
    nats-*)
      write_nats_node_config "$node"
      launch "$node" "$(nats_bin)" -c "$STATE/$node.conf"
      ;;
    redis-*)
      mkdir -p "$STATE/$node"
      # nodes.conf (in --dir) remembers the cluster's membership and slots across restarts.
      launch "$node" redis-server \
        --bind "$HOST" --port "$port" --protected-mode no \
        --daemonize no --supervised no \
        --dir "$STATE/$node" --save '' --appendonly yes --appendfsync everysec \
        --maxmemory-policy noeviction --logfile '' \
        --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
      ;;
  esac
}

# GET on a monitoring port with bash alone (no curl on a bare machine): the body, or nothing.
http_get() {
  (
    exec 3<>"/dev/tcp/$HOST/$1" || exit 0
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$HOST" >&3
    timeout 5 cat <&3 | tr -d '\r' | sed '1,/^$/d'
  ) 2>/dev/null || true
}

redis_cli() { redis-cli -h "$HOST" -p "$1" "${@:2}"; }

# `cluster_info 7301 cluster_state` → ok
cluster_info() { redis_cli "$1" cluster info 2>/dev/null | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }

# JetStream is usable once every node has a meta leader (the node's /healthz says so).
wait_for_jetstream_cluster() {
  local deadline=$((SECONDS + TIMEOUT)) k body
  for k in 1 2 3; do
    until body="$(http_get $((CLUSTER_NATS_MONITOR_PORT + k - 1)) '/healthz?js-enabled-only=true')" && [[ "$body" == *'"ok"'* ]] \
      && [[ "$(http_get $((CLUSTER_NATS_MONITOR_PORT + k - 1)) /jsz)" == *'"leader"'* ]]; do
      if ((SECONDS >= deadline)); then
        log "nats-$k: no JetStream meta leader within ${TIMEOUT}s (healthz: ${body:-no answer}); last lines of $LOGS/nats-$k.log:"
        tail -n 25 "$LOGS/nats-$k.log" >&2 || true
        die "the NATS cluster did not form; try: scripts/services.sh cluster down, then cluster up (or cluster clean to start afresh)"
      fi
      sleep 0.3
    done
  done
}

# Forms the Redis Cluster once (three empty masters); afterwards each node's nodes.conf holds it.
form_redis_cluster() {
  local ports=() k known assigned
  for k in 1 2 3; do ports+=("$HOST:$((CLUSTER_REDIS_PORT + k - 1))"); done
  known="$(cluster_info "$CLUSTER_REDIS_PORT" cluster_known_nodes)"
  assigned="$(cluster_info "$CLUSTER_REDIS_PORT" cluster_slots_assigned)"
  if [[ "$known" == 1 && "$assigned" == 0 ]]; then
    log "forming the Redis Cluster: redis-cli --cluster create ${ports[*]} --cluster-replicas 0 --cluster-yes"
    redis-cli --cluster create "${ports[@]}" --cluster-replicas 0 --cluster-yes >>"$LOGS/redis-cluster-create.log" 2>&1 \
      || {
        tail -n 20 "$LOGS/redis-cluster-create.log" >&2
        die "redis-cli --cluster create failed (log $LOGS/redis-cluster-create.log); try: scripts/services.sh cluster clean, then cluster up"
      }
  elif [[ "$known" != 3 || "$assigned" != 16384 ]]; then
    die "redis-1 ($HOST:$CLUSTER_REDIS_PORT) is in a partial cluster ($known nodes known, $assigned of 16384 slots assigned), not one this script can finish; start afresh with: scripts/services.sh cluster clean, then cluster up"
  fi
  local deadline=$((SECONDS + TIMEOUT))
  for k in 1 2 3; do
    until [[ "$(cluster_info $((CLUSTER_REDIS_PORT + k - 1)) cluster_state)" == ok ]]; do
      ((SECONDS < deadline)) || die "redis-$k: cluster_state not ok within ${TIMEOUT}s ($(redis_cli $((CLUSTER_REDIS_PORT + k - 1)) cluster info 2>&1 | tr -d '\r' | grep -E 'cluster_state|slots_ok|known_nodes' | tr '\n' ' ')); see $LOGS/redis-$k.log"
      sleep 0.2
    done
  done
}

cluster_env_lines() {
  echo "export NATS_URL=nats://$HOST:$CLUSTER_NATS_PORT,nats://$HOST:$((CLUSTER_NATS_PORT + 1)),nats://$HOST:$((CLUSTER_NATS_PORT + 2))"
  echo "export REDIS_URL=redis+cluster://$HOST:$CLUSTER_REDIS_PORT,$HOST:$((CLUSTER_REDIS_PORT + 1)),$HOST:$((CLUSTER_REDIS_PORT + 2))"
  echo "export MONGO_URL=mongodb://$HOST:$MONGO_PORT/opensim"
}

write_cluster_ports() {
  printf 'CLUSTER_NATS_PORT=%s\nCLUSTER_NATS_ROUTE_PORT=%s\nCLUSTER_NATS_MONITOR_PORT=%s\nCLUSTER_REDIS_PORT=%s\n' \
    "$CLUSTER_NATS_PORT" "$CLUSTER_NATS_ROUTE_PORT" "$CLUSTER_NATS_MONITOR_PORT" "$CLUSTER_REDIS_PORT" >"$CLUSTER_PORTS_FILE"
}

cluster_status() {
  local node pid port down=0 k
  for node in "${CLUSTER_NODES[@]}"; do
    port="$(cluster_port_of "$node")"
    pid="$(running_pid "$node")"
    if [[ -n "$pid" ]] && port_answers "$port"; then
      printf '%-8s up    pid %-7s %s:%s\n' "$node" "$pid" "$HOST" "$port"
    else
      printf '%-8s down  %s:%s%s\n' "$node" "$HOST" "$port" "${pid:+ (pid $pid not answering; log: $LOGS/$node.log)}"
      down=1
    fi
  done
  for k in 1 2 3; do
    port=$((CLUSTER_NATS_MONITOR_PORT + k - 1))
    port_answers "$port" || continue
    printf 'nats      JetStream meta leader: %s\n' "$(http_get "$port" /jsz | sed -n 's/.*"leader": *"\([^"]*\)".*/\1/p' | head -n 1)"
    break
  done
  for k in 1 2 3; do
    port=$((CLUSTER_REDIS_PORT + k - 1))
    port_answers "$port" || continue
    printf 'redis     cluster_state %s; masters and slots:\n' "$(cluster_info "$port" cluster_state)"
    redis_cli "$port" cluster nodes 2>/dev/null | awk '$3 ~ /master/ {printf "            %s %s\n", $2, substr($0, index($0, $9))}'
    break
  done
  return "$down"
}

cluster_main() {
  local verb="${1:-}"
  case "$verb" in
    up)
      local started=$SECONDS node
      ensure_installed redis nats mongo
      command -v redis-cli >/dev/null || die "redis-cli is missing (Debian package redis-tools, installed with redis-server); install it, $OTHERWISE"
      write_ports
      write_cluster_ports
      for node in "${CLUSTER_NODES[@]}"; do start_one "$node"; done
      wait_for_jetstream_cluster
      form_redis_cluster
      start_one mongo
      cluster_env_lines >"$STATE/cluster-env.tmp" && mv "$STATE/cluster-env.tmp" "$STATE/cluster-env"
      log "clusters up in $((SECONDS - started)) s; URLs in $STATE/cluster-env (also: scripts/services.sh cluster env)"
      ;;
    down)
      local node
      for node in "${CLUSTER_NODES[@]}"; do stop_one "$node"; done
      rm -f "$STATE/cluster-env"
      log "clusters stopped; the single-node servers (and mongo) keep running"
      ;;
    start)
      [[ -n "${2:-}" ]] && cluster_port_of "$2" >/dev/null || die "usage: scripts/services.sh cluster start <node> (${CLUSTER_NODES[*]})"
      ensure_installed "${2%-*}" && write_cluster_ports && start_one "$2"
      ;;
    stop)
      [[ -n "${2:-}" ]] && cluster_port_of "$2" >/dev/null || die "usage: scripts/services.sh cluster stop <node> (${CLUSTER_NODES[*]})"
      stop_one "$2"
      ;;
    kill)
      # kill -9, for fault tests by hand: no shutdown of any kind (no leadership handed over).
      [[ -n "${2:-}" ]] && cluster_port_of "$2" >/dev/null || die "usage: scripts/services.sh cluster kill <node> (${CLUSTER_NODES[*]})"
      local pid
      pid="$(running_pid "$2")"
      [[ -n "$pid" ]] || die "$2 is not running"
      kill -KILL "$pid"
      log "$2 (pid $pid) killed with SIGKILL; start it again with: scripts/services.sh cluster start $2"
      ;;
    status) cluster_status ;;
    env) cluster_env_lines ;;
    clean)
      local node
      for node in "${CLUSTER_NODES[@]}"; do stop_one "$node"; done
      for node in "${CLUSTER_NODES[@]}"; do rm -rf "${STATE:?}/$node" "$STATE/$node.conf"; done
      rm -f "$STATE/cluster-env" "$CLUSTER_PORTS_FILE"
      log "cluster data removed (the single-node servers and their data untouched)"
      ;;
    *)
      sed -n '1,13p' "$ROOT/scripts/services-cluster.sh" | sed 's/^# \{0,1\}//' >&2
      echo "Usage: scripts/services.sh cluster up | down | status | env | clean | start <node> | stop <node> | kill <node>" >&2
      exit 2
      ;;
  esac
}
