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

# Docker: a private dockerd with its data, exec root and socket under "$state" (overlay2, vfs where overlay2 cannot
# mount). Bridge networking works in this sandbox; containers publish ports on 127.0.0.1. See docs/engines.md.
docker_start() {
  local sock="$state/docker.sock" driver
  command -v dockerd >/dev/null 2>&1 || { echo "ci-services: dockerd is not installed (run: $0 install)" >&2; return 1; }
  if ! { [ -S "$sock" ] && DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; }; then
    for driver in overlay2 vfs; do
      rm -f "$state/dockerd.pid" "$sock"
      dockerd --storage-driver="$driver" --data-root "$state/docker" --exec-root "$state/docker-exec" \
        --host "unix://$sock" --pidfile "$state/dockerd.pid" >"$state/dockerd.log" 2>&1 &
      for _ in $(seq 1 100); do
        DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1 && break 2
        kill -0 $! 2>/dev/null || break
        sleep 0.1
      done
      kill $! 2>/dev/null || true
      echo "ci-services: dockerd did not start with --storage-driver=$driver" >&2
      tail -n 5 "$state/dockerd.log" >&2
    done
    DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1 || return 1
  fi
  echo "export ISOBENCH_TEST_DOCKER_HOST=unix://$sock"
}
docker_stop() {
  local pid
  if [ -f "$state/dockerd.pid" ]; then
    pid=$(cat "$state/dockerd.pid")
    DOCKER_HOST="unix://$state/docker.sock" docker ps -aq --filter label=isobench=1 2>/dev/null \
      | xargs -r env DOCKER_HOST="unix://$state/docker.sock" docker rm -f >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$state/dockerd.pid"
  fi
}

case "$cmd" in
  install)
    need=()
    [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
    command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
    # The docker tests' image carries the host's `patch` (agent patches without git in the image).
    command -v patch >/dev/null 2>&1 || need+=(patch)
    # The live-progress test runs `isobench run` on a pseudo-terminal with util-linux `script`.
    command -v script >/dev/null 2>&1 || need+=(bsdutils)
    # The report's browser test renders it in headless Debian chromium.
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
    # The llama.cpp end-to-end test builds llama-server (cmake, a C++ compiler, ccache for nearby commits) and makes
    # its tiny model with numpy (Debian's python3-numpy is for /usr/bin/python3; a python3 on PATH with numpy does too).
    command -v cmake >/dev/null 2>&1 || need+=(cmake)
    command -v c++ >/dev/null 2>&1 || need+=(build-essential)
    command -v ccache >/dev/null 2>&1 || need+=(ccache)
    python3 -c 'import numpy' >/dev/null 2>&1 || /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need+=(python3-numpy)
    if [ ${#need[@]} -gt 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq "${need[@]}" >&2
    fi
    ;;
  start)
    mkdir -p "$state"
    if wants pg; then pg_start; fi
    if wants docker; then docker_start; fi
    ;;
  stop)
    if wants pg; then pg_stop; fi
    if wants docker; then docker_stop; fi
    ;;
esac
