#!/usr/bin/env bash
# A single-member etcd on loopback for the store tests (crates/tabby-store, tabby-cli tests/store.rs).
#   start: idempotent; waits until etcd answers /health; prints TABBY_TEST_ETCD=URL on stdout
#   stop:  stops it and removes its data directory
# Ports 23790 (clients) and 23800 (peers) keep clear of a real etcd on 2379/2380.
set -euo pipefail
CLIENT_PORT=${TABBY_ETCD_CLIENT_PORT:-23790}
PEER_PORT=${TABBY_ETCD_PEER_PORT:-23800}
DIR=${TABBY_ETCD_DIR:-/tmp/tabby-test-etcd}
PIDFILE=$DIR.pid
URL=http://127.0.0.1:$CLIENT_PORT

healthy() {
  # /health over bash's /dev/tcp: no curl needed.
  local reply
  reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$CLIENT_PORT" || exit 1
    printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    timeout 2 cat <&3) 2>/dev/null) || return 1
  [[ $reply == *'"health":"true"'* ]]
}

case "${1:-}" in
  start)
    command -v etcd >/dev/null 2>&1 || { echo "etcd is not installed (apt-get install etcd-server)" >&2; exit 2; }
    if ! healthy; then
      if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        kill "$(cat "$PIDFILE")" 2>/dev/null || true; sleep 1
      fi
      rm -rf "$DIR"; mkdir -p "$DIR"
      nohup etcd --name tabby-test --data-dir "$DIR/data" \
        --listen-client-urls "$URL" --advertise-client-urls "$URL" \
        --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
        --initial-cluster "tabby-test=http://127.0.0.1:$PEER_PORT" \
        --initial-cluster-state new >"$DIR/etcd.log" 2>&1 </dev/null &
      echo $! >"$PIDFILE"
      for _ in $(seq 1 100); do
        healthy && break
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "etcd exited; log:" >&2; tail -20 "$DIR/etcd.log" >&2; exit 1; }
        sleep 0.1
      done
      healthy || { echo "etcd did not become healthy in 10 s; log: $DIR/etcd.log" >&2; exit 1; }
    fi
    echo "TABBY_TEST_ETCD=$URL"
    ;;
  stop)
    if [ -f "$PIDFILE" ]; then
      pid=$(cat "$PIDFILE")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$PIDFILE"
    fi
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
