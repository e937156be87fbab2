#!/usr/bin/env bash
# Starts and stops Azurite (installed by scripts/tools.sh) on 127.0.0.1, with
# its data on disk in .run/azurite, and waits until it answers.
#   scripts/azurite.sh start   # idempotent; prints the PID
#   scripts/azurite.sh stop    # stops the Azurite this script started, by PID
#   scripts/azurite.sh status
# Ports: AZURITE_BLOB_PORT (10000), AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002).
# RUN_DIR (default .run) holds the data, the log and the PID file.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${RUN_DIR:-$PWD/.run}
pidfile=$run/azurite.pid
blob=${AZURITE_BLOB_PORT:-10000} queue=${AZURITE_QUEUE_PORT:-10001} table=${AZURITE_TABLE_PORT:-10002}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

answers() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case "${1:-}" in
start)
  if running; then echo "azurite already running (pid $(cat "$pidfile"))"; exit 0; fi
  for p in $blob $queue $table; do
    if answers "$p"; then echo "azurite: port $p on 127.0.0.1 is already in use by another process; stop it or set AZURITE_*_PORT" >&2; exit 1; fi
  done
  scripts/tools.sh
  mkdir -p "$run/azurite"
  setsid .tools/node_modules/.bin/azurite --silent --skipApiVersionCheck --disableTelemetry \
    --location "$run/azurite" \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table" >"$run/azurite.log" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    if answers "$blob" && answers "$queue" && answers "$table"; then
      echo "azurite running (pid $(cat "$pidfile")): blob :$blob, queue :$queue, table :$table"; exit 0
    fi
    if ! running; then echo "azurite exited; see $run/azurite.log:" >&2; tail -20 "$run/azurite.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "azurite did not answer within 15 s; see $run/azurite.log" >&2; exit 1
  ;;
stop)
  if running; then
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "azurite stopped (pid $pid)"
  fi
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "azurite running (pid $(cat "$pidfile"))"; else echo "azurite not running"; exit 1; fi
  ;;
*) echo "usage: scripts/azurite.sh start|stop|status" >&2; exit 2 ;;
esac
