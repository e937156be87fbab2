#!/usr/bin/env bash
# Builds the handler for Azure (static linux/amd64) beside host.json and
# publishes the app with Azure Functions Core Tools:
#   scripts/publish.sh <function-app-name>
# .funcignore keeps sources, tests and local settings out of the package.
set -euo pipefail
cd "$(dirname "$0")/.."
app=${1:?usage: scripts/publish.sh <function-app-name>}
command -v func >/dev/null || { echo "publish: Azure Functions Core Tools (func) is not installed; see the README" >&2; exit 1; }
GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o handler ./cmd/handler
echo "built ./handler ($(du -h handler | cut -f1)), publishing to $app"
func azure functionapp publish "$app"
if [ -z "${FILEDROP_SETTINGS_FROM_TEMPLATE:-}" ]; then # scripts/deploy.sh sets them through infra/azuredeploy.json
	echo "published. Check that the app settings include RECONCILE_SCHEDULE (the host schedules Reconcile from it)"
	echo "and PUBLIC_BASE_URL + ORDER_LINK_SECRET (or DOWNLOAD_LINKS=direct); then run ./handler setup once."
fi
