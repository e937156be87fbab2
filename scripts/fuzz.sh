#!/usr/bin/env bash
# Runs every Go fuzz target of the module, one at a time, each for the given
# number of seconds (default 30), and fails if any finds a failing input.
#   scripts/fuzz.sh        # 30 s each
#   scripts/fuzz.sh 3      # a short burst (scripts/test.sh runs FUZZ_SECONDS, default 3)
# A failing input is saved under the package's testdata/fuzz/<Target>/, where
# plain go test then runs it every time: commit it with the fix.
#
# Go 1.26's fuzz coordinator can fail a target that found nothing, printing a
# bare "context deadline exceeded" as -fuzztime runs out (go.dev/issue/75804,
# fixed in Go 1.27). Such a run wrote no failing input, so the target is run
# again, at most twice; any other failure fails at once.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
case $seconds in
'' | *[!0-9]* | 0) echo "usage: scripts/fuzz.sh [seconds per target, a whole number above 0]" >&2; exit 2 ;;
esac

# go test -list prints a package's matching names and then its "ok <pkg>" line.
listing=$(go test -list '^Fuzz' ./...)
targets=() # "package target"
names=()
while read -r first second _; do
  case $first in
  Fuzz*) names+=("$first") ;;
  ok)
    for n in "${names[@]}"; do targets+=("$second $n"); done
    names=()
    ;;
  esac
done <<<"$listing"

if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no Fuzz targets found; nothing to do"
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
fuzz_one() { # package target: fuzz it, keeping its output in $log
  go test -run '^$' -fuzz "^${2}\$" -fuzztime "${seconds}s" "$1" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}
deadline_race() { # the run failed on the coordinator's deadline alone
  grep -Eqx '[[:space:]]*context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"
}

echo "fuzz: ${#targets[@]} target(s), ${seconds} s each"
failed=()
for t in "${targets[@]}"; do
  pkg=${t% *} name=${t#* }
  echo "fuzz: $name in $pkg"
  runs=1
  until fuzz_one "$pkg" "$name"; do
    if deadline_race && [ "$runs" -lt 3 ]; then
      echo "fuzz: $name stopped on Go's fuzz deadline race with no failing input (go.dev/issue/75804); running it again"
      runs=$((runs + 1))
      continue
    fi
    failed+=("$name in $pkg")
    break
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed (a failing input that was found is in its package's testdata/fuzz/):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} target(s) passed"
