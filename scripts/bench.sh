#!/usr/bin/env bash
# Measures filedrop on this machine and prints Markdown tables (docs/benchmarks.md
# has a full run and explains the numbers):
#   1. the enqueue ceiling: base64 messages/s the storage SDK gets into Azurite;
#   2. the webhook: signed checkout.session.completed events to the handler in
#      serve mode and through handler local, at several concurrency levels
#      (req/s, p50, p99, max, errors, and the ratio to 1);
#   3. end to end: webhook to mail file in the outbox, for paid orders;
#   4. cold start (exec to first 200 on GET /), resident memory, binary size;
#   5. storage transactions per paid order (an Azurite of its own with --debug);
# then each webhook level against issue 16's targets (CPU per webhook, ratios
# to the enqueue ceiling), and with -pprof DIR a CPU and allocation profile of
# the webhook and its breakdown by category.
# It starts its own Azurite and stripe-mock on 127.0.0.1 (OS-chosen ports, data
# in a temporary folder) and the handler as child processes, and stops all of
# them by PID at the end, on failure and on Ctrl-C. Nothing else needs to run.
# Exits non-zero if a request failed or a mail never came (never on a timing).
#
#   scripts/bench.sh                 # full run, about 2 minutes
#   scripts/bench.sh -quick          # small counts, about 20 s (CI)
#   scripts/bench.sh -requests 5000 -concurrency 1,8,32 -out /tmp/bench.md
#   scripts/bench.sh -pprof /tmp/prof  # also profile the webhook (FILEDROP_PPROF)
#   scripts/bench.sh -h              # every flag
# The Go micro-benchmarks are separate:
#   go test -run '^$' -bench . -benchmem ./internal/checkoutcomplete/ ./internal/functions/ ./internal/mail/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh run
mkdir -p .run/bench
# The handler is built as scripts/publish.sh builds the deployed binary. The
# load program is built and exec'd rather than started with go run, which
# does not pass SIGTERM on: this way a stopped script still stops everything.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o .run/bench/handler ./cmd/handler
go build -o .run/bench/bench ./scripts/bench
exec .run/bench/bench -handler .run/bench/handler "$@"
