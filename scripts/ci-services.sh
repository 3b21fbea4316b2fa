#!/usr/bin/env bash
# install | start | stop the services that loopback tests use.
# `start` prints `export VAR=...` lines for the tests (eval them): ISOBENCH_TEST_PG_URL, ISOBENCH_TEST_DOCKER_HOST.
set -euo pipefail
cmd=${1:?usage: ci-services.sh install|start|stop}
state=${ISOBENCH_SERVICES_DIR:-/tmp/isobench-ci-services}

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
    ;;
  stop)
    ;;
esac
