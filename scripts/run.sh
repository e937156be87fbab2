#!/usr/bin/env bash
# Runs the whole pipeline on this machine (the README's first command):
#   Azurite for storage, the outbox folder for mail, the handler in local mode
#   serving http://127.0.0.1:7071/api/CheckoutComplete and running the queue
#   functions, and, when no Stripe key is configured, stripe-mock with the
#   project's demo fixtures (demo/stripe-fixtures.json) in place of Stripe.
# With STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET in local.settings.json (or the
# environment), it runs against your Stripe test mode instead: forward events
# with  stripe listen --forward-to localhost:7071/api/CheckoutComplete
# Ctrl-C stops everything this script started, by PID.
#
# Unless the settings name order event sinks of their own (ORDER_EVENTS_URL,
# DATAVERSE_URL), it also starts a receiver of the order events (handler
# events receive), which verifies each signed webhook as a seller's receiver
# would and writes it to the events folder; handler local sends them there.
#
# Ports: PORT (7071), EVENTS_PORT (7072), STRIPE_MOCK_PORT (12111), AZURITE_BLOB_PORT (10000),
# AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002); 0 lets the system
# choose (what the tests do: such a port cannot collide). RUN_DIR (default
# .run) holds the built handler, Azurite's data, the logs and the outbox.
# A service that does not come up stops the script with the end of its log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run=${RUN_DIR:-$root/.run}
export RUN_DIR=$run
port=${PORT:-7071}
mock_port=${STRIPE_MOCK_PORT:-12111}
mkdir -p "$run"

scripts/tools.sh run
echo "building the handler"
go build -o "$run/handler" ./cmd/handler

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  scripts/azurite.sh stop >/dev/null || true
  rm -f "$run/stripe-mock.url" "$run/events.url"
  echo "stopped"
}
trap cleanup INT TERM EXIT

answers() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
in_use() { # name port variable
  if [ "$2" != 0 ] && answers "$2"; then
    echo "run.sh: cannot start $1: port $2 on 127.0.0.1 is already in use by another process; stop it or set $3 (0 lets the system choose)" >&2
    exit 1
  fi
}
# ready waits until a service's output has a line matching pattern; if the
# service exits or 60 s pass first, it stops with the end of that output.
# Empty the file before starting the service (the redirection of a
# background job may come after the first look).
ready() { # name pid file pattern
  local why="was not ready within 60 s"
  for _ in $(seq 1 600); do
    if grep -qE "$4" "$3" 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then why="exited before it was ready"; break; fi
    sleep 0.1
  done
  if [ -s "$3" ]; then
    echo "run.sh: $1 $why; the last lines of $3:" >&2
    tail -n 20 "$3" | sed 's/^/  /' >&2
  else
    echo "run.sh: $1 $why (its errors, if any, are above)" >&2
  fi
  exit 1
}

scripts/azurite.sh start
# The ports Azurite listens on (it may have chosen them).
AZURITE_BLOB_PORT=${AZURITE_BLOB_PORT:-10000} AZURITE_QUEUE_PORT=${AZURITE_QUEUE_PORT:-10001} AZURITE_TABLE_PORT=${AZURITE_TABLE_PORT:-10002}
if [ -f "$run/azurite.ports" ]; then . "$run/azurite.ports"; fi
export AzureWebJobsStorage=${AzureWebJobsStorage:-"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZURITE_BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$AZURITE_QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$AZURITE_TABLE_PORT/devstoreaccount1;"}

demo=false
if ! "$run/handler" config --has STRIPE_API_KEY 2>/dev/null; then
  demo=true
  in_use stripe-mock "$mock_port" STRIPE_MOCK_PORT
  # HTTPS, which nothing here uses, on a port the system chooses: it cannot
  # collide (stripe-mock would otherwise take 12112 on every interface).
  : >"$run/stripe-mock.log"
  .tools/bin/stripe-mock -http-addr "127.0.0.1:$mock_port" -https-addr 127.0.0.1:0 \
    -fixtures demo/stripe-fixtures.json >"$run/stripe-mock.log" 2>&1 &
  pids+=($!)
  ready stripe-mock $! "$run/stripe-mock.log" '^Listening for HTTP at address: '
  mock_addr=$(sed -n 's/^Listening for HTTP at address: //p' "$run/stripe-mock.log" | head -n 1)
  export STRIPE_API_URL=http://$mock_addr
  # handler's --local commands in another terminal read it from here, as
  # they read Azurite's ports from azurite.ports.
  echo "$STRIPE_API_URL" >"$run/stripe-mock.url"
  echo "no STRIPE_API_KEY configured: demo mode, stripe-mock on $mock_addr with demo/stripe-fixtures.json"
fi

# Create what is missing and upload the demo originals (idempotent).
"$run/handler" setup --local --originals demo/originals

# The order events' receiver, unless the settings name sinks of their own:
# handler local's defaults read its address from events.url, and both sign
# and verify with the secret kept in the run folder (order-events-secret).
events=false
rm -f "$run/events.url"
if ! "$run/handler" config --has ORDER_EVENTS_URL 2>/dev/null && ! "$run/handler" config --has DATAVERSE_URL 2>/dev/null; then
  events=true
  events_port=${EVENTS_PORT:-7072}
  in_use "the order events' receiver" "$events_port" EVENTS_PORT
  : >"$run/events.out"
  "$run/handler" events receive --local --port "$events_port" --dir "$run/events" >"$run/events.out" &
  pids+=($!)
  ready "the order events' receiver" $! "$run/events.out" '^Press Ctrl-C to stop\.$'
  sed -n 's/^Receiving order events at \(http:[^ ]*\) .*/\1/p' "$run/events.out" | head -n 1 >"$run/events.url"
fi

# handler local prints its routes and then a last line once it serves; its
# log (stderr) comes to this terminal.
in_use "handler local" "$port" PORT
: >"$run/handler.out"
"$run/handler" local --port "$port" >"$run/handler.out" &
pids+=($!)
ready "handler local" $! "$run/handler.out" '^Press Ctrl-C to stop\.$'
grep -vx 'Press Ctrl-C to stop.' "$run/handler.out" || true
webhook=$(sed -n 's/^CheckoutComplete: \[POST\] //p' "$run/handler.out" | head -n 1)
port=${webhook#http://127.0.0.1:} port=${port%%/*}

outbox=$("$run/handler" config --local --get EMAIL_OUTBOX_DIR)
# The commands below work in any terminal: the --local ones find Azurite's
# and stripe-mock's ports in the run folder.
handler=$run/handler
if [ "$run" != "$root/.run" ]; then handler="RUN_DIR=$run $run/handler"; fi
cat <<MSG

filedrop is running: webhook at $webhook
MSG
if $demo; then
cat <<MSG
Demo mode (no Stripe account needed). In another terminal, buy the demo photo:

  $handler simulate checkout --session cs_test_demo_harbour --url $webhook

The mail lands in $outbox as an .eml file within seconds; its link opens the
order page, whose Download button fetches demo/originals/harbour-at-dawn.jpg
from Azurite. See the order with:

  $handler orders show cs_test_demo_harbour --local

Refund it, or dispute it, and watch the order page close; reopen it:

  $handler simulate refund --url $webhook
  $handler grant cs_test_demo_harbour --local
  $handler simulate dispute --url $webhook
  $handler simulate dispute --status won --url $webhook
MSG
fi
if $events; then
cat <<MSG

Each change of an order (paid, links ready, mail accepted, refunded, access
revoked, ...) is sent as a signed webhook to a local receiver, which verifies
it and writes it to $run/events/<id>.json (its lines: $run/events.out).
See what each sink took with:

  $handler events list --session cs_test_demo_harbour --local
MSG
fi
if ! $demo; then
cat <<MSG
Stripe test mode. Forward your account's events with:

  stripe listen --forward-to localhost:$port/api/CheckoutComplete

and put the whsec_ secret it prints in local.settings.json as STRIPE_WEBHOOK_SECRET.
MSG
fi
echo "Press Ctrl-C to stop."
wait "${pids[-1]}"
