#!/usr/bin/env bash
# install | start | stop the services that loopback tests use.
# `start` prints `export VAR=...` lines for the tests (eval them): ISOBENCH_TEST_PG_URL, ISOBENCH_TEST_DOCKER_HOST.
set -euo pipefail
cmd=${1:?usage: ci-services.sh install|start|stop}
state=${ISOBENCH_SERVICES_DIR:-/tmp/isobench-ci-services}
# Optional second argument: start/stop only that service (`pg`, ...); tests that need one service start only it.
only=${2:-all}
wants() { [ "$only" = all ] || [ "$only" = "$1" ]; }

# PostgreSQL: a throw-away cluster in "$state/pg", on 127.0.0.1 with trust auth (loopback only, test data only),
# fsync off because the cluster is deleted after the run. Logs go to stderr and "$state/pg/server.log"; stdout is only the export line.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  local bin port data="$state/pg"
  bin=$(pg_bin)
  [ -n "$bin" ] || { echo "ci-services: PostgreSQL is not installed (run: $0 install)" >&2; return 1; }
  if [ -f "$state/pg.port" ] && as_postgres "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    port=$(cat "$state/pg.port")
  else
    rm -rf "$data"
    mkdir -p "$data"
    chmod 755 "$state"
    [ "$(id -u)" = 0 ] && chown postgres: "$data"
    as_postgres "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >&2
    port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    as_postgres "$bin/pg_ctl" start -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c full_page_writes=off -c max_connections=200" >&2 \
      || { cat "$data/server.log" >&2; return 1; }
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres isobench_test >&2
    echo "$port" > "$state/pg.port"
  fi
  echo "export ISOBENCH_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/isobench_test"
}
pg_stop() {
  local bin
  bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$state/pg/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl" stop -D "$state/pg" -m fast -w >&2 || true
  fi
  rm -rf "$state/pg" "$state/pg.port"
}

case "$cmd" in
  install)
    need=()
    [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
    command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
    if [ ${#need[@]} -gt 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq "${need[@]}" >&2
    fi
    ;;
  start)
    mkdir -p "$state"
    if wants pg; then pg_start; fi
    ;;
  stop)
    if wants pg; then pg_stop; fi
    ;;
esac
