#!/usr/bin/env bash
# Starts and stops Azurite (installed by scripts/tools.sh) on 127.0.0.1, with
# its data on disk in .run/azurite, and waits until it answers.
#   scripts/azurite.sh start   # idempotent; prints the PID
#   scripts/azurite.sh stop    # stops the Azurite this script started, by PID
#   scripts/azurite.sh status
# Ports: AZURITE_BLOB_PORT (10000), AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002);
# 0 lets the system choose. The ports Azurite listens on are written to
# $RUN_DIR/azurite.ports as those three variables (scripts/run.sh reads it).
# RUN_DIR (default .run) holds the data, the log, the ports and the PID file.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${RUN_DIR:-$PWD/.run}
pidfile=$run/azurite.pid portsfile=$run/azurite.ports log=$run/azurite.log
blob=${AZURITE_BLOB_PORT:-10000} queue=${AZURITE_QUEUE_PORT:-10001} table=${AZURITE_TABLE_PORT:-10002}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

answers() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case "${1:-}" in
start)
  if running; then echo "azurite already running (pid $(cat "$pidfile"))"; exit 0; fi
  for p in $blob $queue $table; do
    if [ "$p" != 0 ] && answers "$p"; then echo "azurite: port $p on 127.0.0.1 is already in use by another process; stop it or set AZURITE_*_PORT" >&2; exit 1; fi
  done
  scripts/tools.sh run
  mkdir -p "$run/azurite"
  # Emptied here, not by the redirection below: that one runs in the
  # background and the wait could read the last run's lines first.
  rm -f "$portsfile"; : >"$log"
  setsid .tools/node_modules/.bin/azurite --silent --skipApiVersionCheck --disableTelemetry \
    --location "$run/azurite" \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table" >"$log" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  # Ready once it says all three services listen (also with ports it chose).
  for _ in $(seq 1 600); do
    if [ "$(grep -c 'service is successfully listening at' "$log" 2>/dev/null)" = 3 ]; then
      port_of() { sed -n "s|.*Azurite $1 service is successfully listening at http://[0-9.]*:\([0-9]*\).*|\1|p" "$log"; }
      blob=$(port_of Blob) queue=$(port_of Queue) table=$(port_of Table)
      printf 'AZURITE_BLOB_PORT=%s\nAZURITE_QUEUE_PORT=%s\nAZURITE_TABLE_PORT=%s\n' "$blob" "$queue" "$table" >"$portsfile"
      echo "azurite running (pid $(cat "$pidfile")): blob :$blob, queue :$queue, table :$table"; exit 0
    fi
    if ! running; then
      rm -f "$pidfile"
      echo "azurite exited before it listened; the last lines of $log:" >&2; tail -n 20 "$log" | sed 's/^/  /' >&2; exit 1
    fi
    sleep 0.1
  done
  echo "azurite did not listen within 60 s; the last lines of $log:" >&2; tail -n 20 "$log" | sed 's/^/  /' >&2
  scripts/azurite.sh stop >&2
  exit 1
  ;;
stop)
  if running; then
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "azurite stopped (pid $pid)"
  fi
  rm -f "$pidfile" "$portsfile"
  ;;
status)
  if running; then echo "azurite running (pid $(cat "$pidfile"))"; else echo "azurite not running"; exit 1; fi
  ;;
*) echo "usage: scripts/azurite.sh start|stop|status" >&2; exit 2 ;;
esac
