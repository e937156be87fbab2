#!/usr/bin/env bash
# Installs the project's tools into .tools/ (nothing global), at pinned
# versions. Idempotent: a tool already there at its version is skipped.
#   scripts/tools.sh       # all: Azurite (npm), stripe-mock and staticcheck (go install),
#                          # and Chromium (apt, as root) for the mail layout and order page browser tests
#   scripts/tools.sh run   # only what scripts/run.sh needs: Azurite and stripe-mock
set -euo pipefail
cd "$(dirname "$0")/.."
AZURITE_VERSION=3.37.0
STRIPE_MOCK_VERSION=v0.197.0
STATICCHECK_VERSION=v0.8.2
root=$PWD/.tools
mkdir -p "$root/bin"

case "${1:-all}" in
run) want=(azurite stripe-mock) ;;
all) want=(azurite stripe-mock staticcheck) ;;
*) echo "usage: scripts/tools.sh [run|all]" >&2; exit 2 ;;
esac

# What is missing, and roughly how long each takes the first time (a fresh
# module cache, 2 cores): the estimates are said up front because npm and go
# install print nothing while they work.
azurite_ok() { [ -x "$root/node_modules/.bin/azurite" ] && grep -q "\"version\": \"$AZURITE_VERSION\"" "$root/node_modules/azurite/package.json" 2>/dev/null; }
go_ok() { [ -x "$root/bin/$1" ] && [ -f "$root/bin/.$1-$2" ]; } # name version
missing=()
for t in "${want[@]}"; do
  case $t in
  azurite) azurite_ok || missing+=("azurite@$AZURITE_VERSION (npm, about 30 s)") ;;
  stripe-mock) go_ok stripe-mock "$STRIPE_MOCK_VERSION" || missing+=("stripe-mock@$STRIPE_MOCK_VERSION (go install, about a minute)") ;;
  staticcheck) go_ok staticcheck "$STATICCHECK_VERSION" || missing+=("staticcheck@$STATICCHECK_VERSION (go install, about a minute)") ;;
  esac
done
# Chromium is the one system package: the mail layout test
# (internal/mail TestRenderInBrowser) renders the mails in it and the order
# page test (internal/cli TestBrowserDownloadsAndRefund) downloads with it;
# both skip when it is missing. Only root can install it; others are told how.
if [ "${1:-all}" = all ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tools: installing chromium with apt-get for the mail layout test (about 1-2 minutes) ..." >&2
    start=$SECONDS
    if ! { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; }; then
      echo "tools: installing chromium with apt-get failed (see above)" >&2
      exit 1
    fi
    echo "tools: chromium installed ($((SECONDS - start)) s)" >&2
  else
    echo "tools: chromium is missing: the mail layout and order page browser tests will skip (install it: sudo apt-get install chromium)" >&2
  fi
fi

[ ${#missing[@]} -eq 0 ] && exit 0
echo "tools: installing into .tools/ (first run only; later runs skip this):" >&2
printf '  %s\n' "${missing[@]}" >&2

step() { # what command...
  local what=$1 start=$SECONDS
  shift
  echo "tools: $what ..." >&2
  "$@" >&2
  echo "tools: $what done ($((SECONDS - start)) s)" >&2
}
for t in "${want[@]}"; do
  case $t in
  azurite)
    azurite_ok || step "installing azurite@$AZURITE_VERSION with npm" \
      npm install --prefix "$root" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION"
    ;;
  stripe-mock | staticcheck)
    if [ "$t" = stripe-mock ]; then mod=github.com/stripe/stripe-mock ver=$STRIPE_MOCK_VERSION
    else mod=honnef.co/go/tools/cmd/staticcheck ver=$STATICCHECK_VERSION; fi
    if ! go_ok "$t" "$ver"; then
      step "building $mod@$ver with go install" env GOBIN="$root/bin" GOFLAGS=-buildvcs=false go install "$mod@$ver"
      rm -f "$root/bin/.$t-"*
      touch "$root/bin/.$t-$ver"
    fi
    ;;
  esac
done
