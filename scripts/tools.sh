#!/usr/bin/env bash
# Installs the project's tools into .tools/ (nothing global): Azurite from npm,
# stripe-mock and staticcheck with go install, at pinned versions. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
AZURITE_VERSION=3.37.0
STRIPE_MOCK_VERSION=v0.197.0
STATICCHECK_VERSION=v0.8.2
root=$PWD/.tools
mkdir -p "$root/bin"

if [ ! -x "$root/node_modules/.bin/azurite" ] || ! grep -q "\"version\": \"$AZURITE_VERSION\"" "$root/node_modules/azurite/package.json" 2>/dev/null; then
  echo "tools: installing azurite@$AZURITE_VERSION into .tools/" >&2
  npm install --prefix "$root" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >&2
fi

install_go() { # name module version
  local stamp="$root/bin/.$1-$3"
  if [ ! -x "$root/bin/$1" ] || [ ! -f "$stamp" ]; then
    echo "tools: installing $2@$3 into .tools/bin" >&2
    GOBIN="$root/bin" GOFLAGS=-buildvcs=false go install "$2@$3" >&2
    rm -f "$root/bin/.$1-"*; touch "$stamp"
  fi
}
install_go stripe-mock github.com/stripe/stripe-mock "$STRIPE_MOCK_VERSION"
install_go staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION"
