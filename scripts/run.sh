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
# Ports: PORT (7071), STRIPE_MOCK_PORT (12111), AZURITE_BLOB_PORT (10000),
# AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002). RUN_DIR (default
# .run) holds the built handler, Azurite's data, the logs and the outbox.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run=${RUN_DIR:-$root/.run}
export RUN_DIR=$run
port=${PORT:-7071}
mock_port=${STRIPE_MOCK_PORT:-12111}
mkdir -p "$run"

scripts/tools.sh
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
  echo "stopped"
}
trap cleanup INT TERM EXIT

scripts/azurite.sh start
export AzureWebJobsStorage=${AzureWebJobsStorage:-"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:${AZURITE_BLOB_PORT:-10000}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${AZURITE_QUEUE_PORT:-10001}/devstoreaccount1;TableEndpoint=http://127.0.0.1:${AZURITE_TABLE_PORT:-10002}/devstoreaccount1;"}

demo=false
if ! "$run/handler" config --has STRIPE_API_KEY 2>/dev/null; then
  demo=true
  export STRIPE_API_URL=http://127.0.0.1:$mock_port
  echo "no STRIPE_API_KEY configured: demo mode, stripe-mock on 127.0.0.1:$mock_port with demo/stripe-fixtures.json"
  .tools/bin/stripe-mock -http-addr "127.0.0.1:$mock_port" -https-addr "127.0.0.1:$((mock_port + 1))" \
    -fixtures demo/stripe-fixtures.json >"$run/stripe-mock.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$mock_port") 2>/dev/null && break; sleep 0.1; done
fi

# Create what is missing and upload the demo originals (idempotent).
"$run/handler" setup --local --originals demo/originals

"$run/handler" local --port "$port" &
pids+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

outbox=$("$run/handler" config --local --get EMAIL_OUTBOX_DIR)
cat <<MSG

filedrop is running: webhook at http://127.0.0.1:$port/api/CheckoutComplete
MSG
if $demo; then
cat <<MSG
Demo mode (no Stripe account needed). In another terminal, buy the demo photo:

  $run/handler simulate checkout --session cs_test_demo_harbour --url http://127.0.0.1:$port/api/CheckoutComplete

The mail lands in $outbox as an .eml file within seconds; its link downloads
demo/originals/harbour-at-dawn.jpg from Azurite. See the order with:

  $run/handler orders show cs_test_demo_harbour --local
MSG
else
cat <<MSG
Stripe test mode. Forward your account's events with:

  stripe listen --forward-to localhost:$port/api/CheckoutComplete

and put the whsec_ secret it prints in local.settings.json as STRIPE_WEBHOOK_SECRET.
MSG
fi
echo "Press Ctrl-C to stop."
wait "${pids[-1]}"
