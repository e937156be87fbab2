#!/usr/bin/env bash
# The fault test (internal/faulttest): runs the real handler binary as
# handler local against Azurite and feeds it signed Checkout webhooks (30%
# delivered twice, some concurrently; some asynchronous events before their
# completed) while it is killed with SIGKILL and restarted, while Azurite
# restarts, and while the mail service fails transiently and throttles.
# A tenth of the paid orders get a full refund webhook before, during or
# after their fulfilment while a probe presses their download button.
# The order events go, as signed webhooks, to a receiver that verifies them
# as the Standard Webhooks libraries do and fails a few at random (mode
# outage: it is down for an "hour" and heals by itself).
# Then it checks: one mail per paid order, one notice per failed payment,
# none for unpaid ones, every ledger record final, every queue and poison
# queue empty, every refunded order revoked and no download after its
# revoke was recorded, and every change the ledger shows received as one
# order event under one id, none missing, none extra. It prints the counts
# and exits non-zero on any mismatch.
#
#   scripts/fault.sh                                  # CI size: 100 orders, 2 kills, plus a short ACS phase
#   scripts/fault.sh --orders 1000 --kills 5          # the full run
#   scripts/fault.sh --mode burst --orders 500 --rate 30   # 500 mails through 30 a minute (about 17 minutes)
#   scripts/fault.sh --mode outage --orders 200       # outages longer than the host's retries (about 4 minutes)
#
# Logs, the outbox and each phase's report.txt are kept in .run/fault/.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/fault.sh [--orders N] [--kills K] [--mode all|outbox|acs|burst|outage] [--rate R]
                        [--window D] [--acs-orders N] [--azurite-restarts N] [--seed S]
                        [--settle D] [--timeout D] [--busy]

  --orders N            paid orders (plus a tenth as many unpaid and failed ones each); default 100
  --kills K             SIGKILLs of the handler per phase; default 2 (burst: 0)
  --mode M              all: an outbox phase and, beside it, an ACS phase of --acs-orders orders
                        with at most one kill (default); outbox; acs; burst (paid orders only,
                        against a fake ACS that accepts --rate sends per minute); outage (paid orders
                        only: Stripe down for a "15-minute" window, ACS and the order events' receiver
                        down for an "hour", storage
                        answering 503 ServerBusy in bursts, 10% of the webhooks never delivered; the
                        back-off and the Reconcile schedule are compressed in time; checks that the
                        pipeline heals with no operator and that the scheduled Reconcile queued
                        exactly the never-delivered sessions)
  --rate R              sends per minute the fake ACS accepts; default 60 (burst: 30)
  --window D            the sliding window the rate is enforced over; default 10s (burst: 1m)
  --acs-orders N        paid orders of the ACS phase in mode all; default 40
  --azurite-restarts N  Azurite restarts per phase; default 1 (burst and mode all's ACS phase: 0)
  --seed S              repeat a run's plan (each run prints its seed)
  --settle D            how long the pipeline may take to settle after the faults; default by size
  --timeout D           go test's timeout; default 30m, 2h above 200 orders or in burst mode
  --busy                a second process spins on every core for the whole run, as a noisy
                        neighbour would; Azurite, standing in for the remote storage service,
                        runs at a higher priority (nice -10) than it, the handler and the test
USAGE
}

orders=100 timeout=""
args=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --orders) orders=$2; shift 2 ;;
    --kills) args+=(-fault.kills "$2"); shift 2 ;;
    --mode) mode=$2; args+=(-fault.mode "$2"); shift 2 ;;
    --rate) args+=(-fault.rate "$2"); shift 2 ;;
    --window) args+=(-fault.window "$2"); shift 2 ;;
    --acs-orders) args+=(-fault.acs-orders "$2"); shift 2 ;;
    --azurite-restarts) args+=(-fault.azurite-restarts "$2"); shift 2 ;;
    --seed) args+=(-fault.seed "$2"); shift 2 ;;
    --busy) args+=(-fault.busy); shift ;;
    --settle) args+=(-fault.timeout "$2"); shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    *) echo "fault.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$timeout" ]; then
  timeout=30m
  if [ "$orders" -gt 200 ] || [ "${mode:-all}" = burst ]; then timeout=2h; fi
fi

scripts/tools.sh run
logs=$PWD/.run/fault
rm -rf "$logs"
mkdir -p "$(dirname "$logs")"
echo "fault test: logs, outbox and reports in $logs" >&2
exec go test ./internal/faulttest -run '^TestFault$' -count=1 -v -timeout "$timeout" \
  -args -fault.orders "$orders" -fault.logs "$logs" "${args[@]}"
