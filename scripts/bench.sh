#!/usr/bin/env bash
# Measures filedrop on this machine, on 127.0.0.1 only, and prints Markdown
# (docs/benchmarks.md explains each figure): the webhook at concurrency 4,
# 16 and 64 in serve mode beside Azurite's enqueue ceiling, CPU per webhook,
# idle memory and ready time after exec, webhook-to-mail latency, storage
# transactions per paid order, and executions, CPU and memory per order by
# stage. It starts its own Azurite and stripe-mock (internal/testenv) and
# stops everything it started. It exits non-zero if a request failed or a
# mail never came, never because of a figure.
#
#   scripts/bench.sh                      # full run, about 3 minutes
#   scripts/bench.sh -quick               # small counts, about 25 s (CI)
#   scripts/bench.sh -baseline main       # also measures main's handler, side by side
#   scripts/bench.sh -h                   # every flag
#
# -baseline REF builds the handler of a git ref (from git archive, in
# .run/bench/) and measures it beside this tree's, the rounds of the two
# interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh run >/dev/null
mkdir -p .run/bench

# The handler is built as scripts/publish.sh builds the deployed binary.
build() { # dir out
  (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$2" ./cmd/handler)
}

command="scripts/bench.sh $*"
args=()
while [ $# -gt 0 ]; do
  case $1 in
  -baseline | --baseline)
    [ $# -ge 2 ] || { echo "bench: -baseline needs a git ref" >&2; exit 2; }
    ref=$2
    shift 2
    sha=$(git rev-parse --short=7 "$ref^{commit}") || { echo "bench: -baseline: $ref is not a commit" >&2; exit 2; }
    bin=$PWD/.run/bench/handler-$sha
    if [ ! -x "$bin" ]; then
      src=$(mktemp -d)
      git archive "$sha" | tar -x -C "$src"
      build "$src" "$bin"
      rm -rf "$src"
    fi
    label="$ref"
    [ "$ref" = "$sha" ] || label="$ref ($sha)"
    args+=(-before "$bin" -before-label "$label")
    ;;
  *) args+=("$1"); shift ;;
  esac
done

build . "$PWD/.run/bench/handler"
label="this tree ($(git rev-parse --abbrev-ref HEAD) $(git rev-parse --short=7 HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo +))"
# Built and exec'd rather than go run, which does not pass SIGTERM on: a
# stopped script still stops everything.
go build -o .run/bench/bench ./scripts/bench
exec .run/bench/bench -command "$command" -handler .run/bench/handler -label "$label" "${args[@]}"
