#!/usr/bin/env bash
# Local infrastructure for qloop without Docker: RabbitMQ (Debian package) and a
# MongoDB-wire database (QLOOP_MONGODB_URL, else mongod on PATH, else FerretDB 1.24
# with its SQLite backend, built from deploy/local/ferretdb/).
#
#   deploy/local/infra.sh up       provision and start both (idempotent); prints the URLs
#   deploy/local/infra.sh down     stop what this script started
#   deploy/local/infra.sh status   say what answers; exit 1 if something does not
#   deploy/local/infra.sh env      print the URLs as shell assignments (eval "$(... env)")
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
state="${QLOOP_STATE_DIR:-$root/state}"
amqp_port="${QLOOP_AMQP_PORT:-5672}"
db_port="${QLOOP_DB_PORT:-27017}"
amqp_url="amqp://guest:guest@127.0.0.1:${amqp_port}/"
ferret_bin="$state/bin/qloop-ferretdb"

log() { printf 'infra: %s\n' "$*" >&2; }
die() { printf 'infra: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 10; i++)); do port_open "$1" && return 0; sleep 0.1; done
  return 1
}

db_url() {
  if [ -n "${QLOOP_MONGODB_URL:-}" ]; then echo "$QLOOP_MONGODB_URL"
  else echo "mongodb://127.0.0.1:${db_port}/"; fi
}

# --- RabbitMQ ---------------------------------------------------------------
rabbit_up() {
  if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/sbin/rabbitmq-server ]; then
    log "installing rabbitmq-server (Debian package)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null \
      || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq rabbitmq-server >/dev/null; } \
      || die "could not install rabbitmq-server: run 'apt-get update && apt-get install rabbitmq-server'"
  fi
  export PATH="$PATH:/usr/sbin"
  if ! as_root rabbitmqctl -q await_startup --timeout 2 >/dev/null 2>&1; then
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  # `await_startup` fails at once while the freshly started node has not yet registered
  # with epmd (a fresh machine: seconds), so ask again until a deadline.
  local deadline=$((SECONDS + 120))
  until as_root rabbitmqctl -q await_startup --timeout 30 >/dev/null 2>&1; do
    ((SECONDS < deadline)) \
      || die "RabbitMQ did not start within 120 s; see /var/log/rabbitmq/ (is another broker on port $amqp_port?)"
    sleep 1
  done
  # Prometheus and management endpoints for operators; harmless when already on.
  as_root timeout 120 rabbitmq-plugins -q enable rabbitmq_prometheus rabbitmq_management >/dev/null 2>&1 \
    || log "could not enable the management and prometheus plugins (continuing)"
  wait_port "$amqp_port" 60 || die "RabbitMQ started but port $amqp_port does not accept connections"
}

rabbit_down() {
  export PATH="$PATH:/usr/sbin"
  if command -v rabbitmqctl >/dev/null; then as_root rabbitmqctl -q stop >/dev/null 2>&1 || true; fi
}

# --- database ---------------------------------------------------------------
build_ferretdb() {
  # Built once, and again when its sources change (a newer wrapper: idindex.go).
  if [ -x "$ferret_bin" ] && [ -z "$(find "$here/ferretdb" -newer "$ferret_bin" -type f)" ]; then
    return 0
  fi
  command -v go >/dev/null || die "no mongod on PATH and no Go toolchain to build FerretDB: install Go (>= 1.24) or set QLOOP_MONGODB_URL"
  log "building FerretDB 1.24 (SQLite backend) into $ferret_bin (once)"
  mkdir -p "$state/bin"
  # The checksum database has no entry for FerretDB v1.24.1; go.sum (committed) pins its hash.
  (cd "$here/ferretdb" && GOFLAGS=-mod=mod GONOSUMDB=github.com/FerretDB \
     go build -trimpath -o "$ferret_bin.tmp" .) || die "building FerretDB failed (see above)"
  mv "$ferret_bin.tmp" "$ferret_bin"
}

db_up() {
  if [ -n "${QLOOP_MONGODB_URL:-}" ]; then log "using QLOOP_MONGODB_URL"; return 0; fi
  if port_open "$db_port"; then
    # Another checkout's database answers. This checkout's fault tests still start FerretDB
    # servers of their own (tests/support/private_infra.py): they need the binary here.
    if ! command -v mongod >/dev/null && command -v go >/dev/null; then build_ferretdb; fi
    return 0
  fi
  mkdir -p "$state/logs"
  if command -v mongod >/dev/null; then
    log "starting mongod"
    mkdir -p "$state/mongod"
    mongod --bind_ip 127.0.0.1 --port "$db_port" --dbpath "$state/mongod" --fork \
      --logpath "$state/logs/mongod.log" >/dev/null || die "mongod failed; see $state/logs/mongod.log"
  else
    build_ferretdb
    log "starting FerretDB on 127.0.0.1:$db_port"
    mkdir -p "$state/ferretdb"
    nohup "$ferret_bin" -listen "127.0.0.1:$db_port" -data "$state/ferretdb" \
      >>"$state/logs/ferretdb.log" 2>&1 &
    echo $! >"$state/ferretdb.pid"
  fi
  wait_port "$db_port" 30 || die "database did not open port $db_port; see $state/logs/ (a database file under $state/ferretdb that FerretDB cannot open can be removed)"
}

db_down() {
  if [ -f "$state/ferretdb.pid" ]; then
    kill "$(cat "$state/ferretdb.pid")" 2>/dev/null || true
    rm -f "$state/ferretdb.pid"
  fi
  if command -v mongod >/dev/null && [ -d "$state/mongod" ]; then
    mongod --dbpath "$state/mongod" --shutdown >/dev/null 2>&1 || true
  fi
}

print_env() {
  echo "QLOOP_AMQP_URL=$amqp_url"
  echo "QLOOP_MONGODB_URL=$(db_url)"
}

case "${1:-}" in
  up) rabbit_up; db_up; print_env ;;
  down) db_down; rabbit_down; log "stopped" ;;
  env) print_env ;;
  status)
    ok=0
    if port_open "$amqp_port"; then echo "rabbitmq: up ($amqp_url)"; else echo "rabbitmq: down"; ok=1; fi
    if [ -n "${QLOOP_MONGODB_URL:-}" ]; then echo "database: external ($QLOOP_MONGODB_URL)"
    elif port_open "$db_port"; then echo "database: up ($(db_url))"; else echo "database: down"; ok=1; fi
    exit $ok ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
