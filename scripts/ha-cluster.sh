#!/usr/bin/env bash
# A 3-node Vault cluster with integrated storage (raft) on loopback, with this plugin registered
# and enabled: to try high availability by hand, and for the end-to-end HA test.
#
#   scripts/ha-cluster.sh up     [DIR]   start the nodes, initialise, unseal, join them; register
#                                        the plugin (its binary in every node's plugin directory)
#                                        and enable it
#   scripts/ha-cluster.sh status [DIR]   every node's PID, address and HA state
#   scripts/ha-cluster.sh down   [DIR]   stop every node (SIGTERM, then SIGKILL after 20 s)
#
# DIR (default .dev/ha) holds a folder per node (config, raft data, plugin directory, log) and
# cluster.env, to `source`: VAULT_ADDR (the active node), VAULT_TOKEN, VAULT_UNSEAL_KEY, and
# NODE<i>_ADDR, NODE<i>_PID for each node. Each node runs in a session of its own (PID = process
# group id), its plugin processes with it. Settings, from the environment:
#
#   VAULT_BIN       the vault binary (default: scripts/get-vault.sh)
#   PLUGIN_BIN      the plugin binary (default: bin/vault-plugin-secrets-forticloud, from `make build`)
#   PLUGIN_VERSION  the version to register it with, as stamped in (default: the VERSION file)
#   HA_PORTS        the nodes' API ports (default "8210 8220 8230"); cluster port = API port + 1
#   HA_MOUNT        where to enable the plugin (default forticloud; "-" enables nothing)
#   HA_LOG_LEVEL    the nodes' log level (default info)
#   HA_WATCH_PID    stop the cluster when this process ends (tests give their own PID)
#
# Unseal uses one key share (threshold 1), and listeners are plain HTTP on 127.0.0.1: a test
# rig, not a deployment.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
plugin=vault-plugin-secrets-forticloud
cmd=${1:-}
dir=${2:-$root/.dev/ha}
read -r -a ports <<<"${HA_PORTS:-8210 8220 8230}"
n=${#ports[@]}

log() { echo "ha-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# vault runs the CLI against node $1 (1-based); VAULT_TOKEN comes from the environment.
vault_at() {
  local i=$1
  shift
  VAULT_ADDR="http://127.0.0.1:${ports[$((i - 1))]}" "$VAULT_BIN" "$@"
}

# ha_state prints a node's "HA Mode" (active, standby) or its seal state when it has none.
ha_state() {
  local out rc=0
  out=$(VAULT_TOKEN= vault_at "$1" status -format=json 2>/dev/null) || rc=$?
  case $rc in
  0) jq -r 'if .ha_enabled then (if .is_self then "active" else "standby" end) else "unsealed" end' <<<"$out" 2>/dev/null || echo unknown ;;
  2) if [ "$(jq -r .initialized <<<"$out" 2>/dev/null)" = true ]; then echo sealed; else echo uninitialised; fi ;;
  *) echo down ;;
  esac
}

# wait_for polls a command for up to $1 seconds.
wait_for() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${secs}s waiting for $what"
    sleep 0.2
  done
}

node_pid() { cat "$dir/node$1/vault.pid" 2>/dev/null || true; }

stop_nodes() {
  local f pid pids=()
  for f in "$dir"/node*/vault.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { kill -TERM -- "-$pid" 2>/dev/null || true; pids+=("$pid"); }
  done
  local deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { log "node $pid did not stop on SIGTERM: killing it"; kill -KILL -- "-$pid" 2>/dev/null || true; }
    # whatever is left of its group (its plugin processes)
    kill -0 -- "-$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
  done
  local w
  w=$(cat "$dir/watchdog.pid" 2>/dev/null || true)
  [ -n "$w" ] && [ "$w" != "${HA_WATCHDOG_SELF:-}" ] && kill "$w" 2>/dev/null || true
  rm -f "$dir/watchdog.pid"
}

start_node() {
  local i=$1 p=${ports[$(($1 - 1))]} nd="$dir/node$1" j joins=""
  mkdir -p "$nd/raft" "$nd/plugins"
  cp "$PLUGIN_BIN" "$nd/plugins/$plugin"
  chmod 755 "$nd/plugins/$plugin"
  for j in $(seq "$n"); do
    [ "$j" = "$i" ] && continue
    joins+="  retry_join {
    leader_api_addr = \"http://127.0.0.1:${ports[$((j - 1))]}\"
  }
"
  done
  cat >"$nd/vault.hcl" <<HCL
storage "raft" {
  path                   = "$nd/raft"
  node_id                = "node$i"
  performance_multiplier = 1
$joins}
listener "tcp" {
  address         = "127.0.0.1:$p"
  cluster_address = "127.0.0.1:$((p + 1))"
  tls_disable     = true
}
api_addr         = "http://127.0.0.1:$p"
cluster_addr     = "https://127.0.0.1:$((p + 1))"
disable_mlock    = true
plugin_directory = "$nd/plugins"
HCL
  # A session of its own (setsid execs in place: $! is vault's PID and its process group),
  # no VAULT_* variables, stdio off the caller's pipes.
  (
    unset VAULT_ADDR VAULT_TOKEN
    exec setsid "$VAULT_BIN" server -config="$nd/vault.hcl" -log-level="${HA_LOG_LEVEL:-info}" \
      </dev/null >>"$nd/vault.log" 2>&1
  ) &
  echo $! >"$nd/vault.pid"
  wait_for 60 "node $i to listen on 127.0.0.1:$p" node_listens "$i"
}

node_listens() {
  local pid
  pid=$(node_pid "$1")
  kill -0 "$pid" 2>/dev/null || { tail -20 "$dir/node$1/vault.log" >&2; die "node $1 exited"; }
  [ "$(ha_state "$1")" != down ]
}

is_state() { [ "$(ha_state "$1")" = "$2" ]; }

voters() {
  vault_at "$1" operator raft list-peers -format=json 2>/dev/null |
    jq '[.data.config.servers[] | select(.voter)] | length' 2>/dev/null || echo 0
}
all_voters() { [ "$(voters 1)" -eq "$n" ]; }

up() {
  [ -n "${VAULT_BIN:-}" ] || VAULT_BIN=$("$here/get-vault.sh")
  [ -n "${PLUGIN_BIN:-}" ] || {
    PLUGIN_BIN="$root/bin/$plugin"
    [ -x "$PLUGIN_BIN" ] || (cd "$root" && make build >&2)
  }
  [ -x "$PLUGIN_BIN" ] || die "no plugin binary at $PLUGIN_BIN"
  local version=${PLUGIN_VERSION:-$(cat "$root/VERSION")}
  local mount=${HA_MOUNT:-forticloud}
  export VAULT_BIN
  for i in $(seq "$n"); do
    [ -n "$(node_pid "$i")" ] && kill -0 "$(node_pid "$i")" 2>/dev/null && die "node $i already runs (PID $(node_pid "$i")): run down first"
  done
  [ ! -e "$dir/node1/raft/vault.db" ] || die "$dir holds a cluster already: run down and remove $dir, or give another DIR"
  mkdir -p "$dir"
  # Whatever fails from here, leave no node running.
  trap 'log "up failed: stopping the nodes"; stop_nodes' EXIT
  if [ -n "${HA_WATCH_PID:-}" ]; then
    # Stop the cluster if whoever started it dies first (a test killed by its timeout).
    (
      export HA_WATCHDOG_SELF=$BASHPID
      trap '' INT HUP # a Ctrl-C that kills the watched process must not kill the watchdog
      exec </dev/null >/dev/null 2>&1
      while kill -0 "$HA_WATCH_PID" 2>/dev/null; do sleep 1; done
      "$here/ha-cluster.sh" down "$dir"
    ) &
    echo $! >"$dir/watchdog.pid"
  fi

  log "starting node 1 on 127.0.0.1:${ports[0]}"
  start_node 1
  local init key token
  init=$(vault_at 1 operator init -key-shares=1 -key-threshold=1 -format=json)
  key=$(jq -r '.unseal_keys_b64[0]' <<<"$init")
  token=$(jq -r '.root_token' <<<"$init")
  export VAULT_TOKEN=$token
  vault_at 1 operator unseal "$key" >/dev/null
  wait_for 60 "node 1 to become active" is_state 1 active
  # Promote joining nodes to voters after 1 s of health instead of autopilot's default 10 s.
  wait_for 30 "autopilot configuration" autopilot_config
  for i in $(seq 2 "$n"); do
    log "starting node $i on 127.0.0.1:${ports[$((i - 1))]}"
    start_node "$i"
    # With retry_join, unsealing a new node makes it join the cluster (it needs the key to
    # answer the leader's challenge). The first try may come before it found the leader.
    wait_for 60 "node $i to unseal and join" unseal_node "$i" "$key"
    wait_for 60 "node $i to become a standby" is_state "$i" standby
  done
  wait_for 60 "all $n nodes to be raft voters" all_voters

  local sha
  sha=$(sha256sum "$PLUGIN_BIN" | cut -d' ' -f1)
  for i in $(seq "$n"); do
    # The catalog is replicated, the binary is not: it is in every node's plugin directory,
    # with this SHA-256. Registering through each node (a standby forwards) checks each one
    # answers.
    vault_at "$i" plugin register -sha256="$sha" -version="$version" secret "$plugin" >/dev/null
  done
  if [ "$mount" != "-" ]; then
    vault_at 1 secrets enable -path="$mount" -plugin-version="$version" "$plugin" >/dev/null
  fi

  {
    echo "VAULT_ADDR=http://127.0.0.1:${ports[0]}"
    echo "VAULT_TOKEN=$token"
    echo "VAULT_UNSEAL_KEY=$key"
    for i in $(seq "$n"); do
      echo "NODE${i}_ADDR=http://127.0.0.1:${ports[$((i - 1))]}"
      echo "NODE${i}_PID=$(node_pid "$i")"
    done
  } >"$dir/cluster.env.tmp"
  chmod 600 "$dir/cluster.env.tmp"
  mv "$dir/cluster.env.tmp" "$dir/cluster.env"
  trap - EXIT
  log "up: $n nodes, plugin $plugin $version at $mount/; source $dir/cluster.env"
  status
}

autopilot_config() {
  vault_at 1 operator raft autopilot set-config -server-stabilization-time=1s -cleanup-dead-servers=false >/dev/null 2>&1
}

unseal_node() {
  vault_at "$1" operator unseal "$2" >/dev/null 2>&1 || true
  local s
  s=$(ha_state "$1")
  [ "$s" = standby ] || [ "$s" = active ]
}

status() {
  local i
  for i in $(seq "$n"); do
    printf 'node%s  pid %-8s http://127.0.0.1:%s  %s\n' "$i" "$(node_pid "$i")" "${ports[$((i - 1))]}" "$(ha_state "$i")"
  done
}

case $cmd in
up) up ;;
down) stop_nodes ;;
status) [ -n "${VAULT_BIN:-}" ] || VAULT_BIN=$("$here/get-vault.sh"); status ;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
