#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run calls it).
# Installs the tools it needs into .tools/, then runs the house checks and
# every test. Tests start their own Azurite and stripe-mock on 127.0.0.1
# with OS-chosen ports, so nothing needs to be running beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh

step() { printf '\n== %s\n' "$*"; }

step gofmt
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

step go vet
go vet ./...

step staticcheck
.tools/bin/staticcheck ./...

step "go test -race"
if command -v chromium >/dev/null 2>&1 || [ -n "${FILEDROP_CHROMIUM:-}" ]; then
  echo "the browser test runs (headless Chromium)"
else
  echo "the browser test skips: no chromium (scripts/tools.sh installs it when run as root)"
fi
go test -race -count=1 -timeout 15m ./...

step "fuzz (${FUZZ_SECONDS:-3} s per target; FUZZ_SECONDS=0 skips, scripts/fuzz.sh for longer)"
if [ "${FUZZ_SECONDS:-3}" = 0 ]; then echo "skipped"; else scripts/fuzz.sh "${FUZZ_SECONDS:-3}"; fi

step "benchmarks compile and run once"
go test -run '^$' -bench . -benchtime 1x -count=1 ./... >/dev/null

step "load benchmark (quick)"
scripts/bench.sh -quick

step "fault test (small)"
if [ -x scripts/fault.sh ]; then scripts/fault.sh --orders "${FAULT_ORDERS:-100}" --kills "${FAULT_KILLS:-2}"; else echo "skipped: scripts/fault.sh not present"; fi

step "fault test: outages heal themselves (small)"
if [ -x scripts/fault.sh ]; then scripts/fault.sh --mode outage --orders "${OUTAGE_ORDERS:-30}"; else echo "skipped: scripts/fault.sh not present"; fi

printf '\nall checks passed\n'
