#!/usr/bin/env bash
# Deploys filedrop to Azure in one command, from an empty resource group to a
# running shop:
#   scripts/deploy.sh <resource-group> [--location L] [--originals DIR]
# It checks the tools and your Azure login, deploys infra/azuredeploy.json
# (with infra/azuredeploy.parameters.json when you made one from the
# example), builds and publishes the handler (scripts/publish.sh), uploads the
# originals of DIR with your own Azure login (handler setup --originals), and
# prints what is left to do as commands to copy. Running it again is safe:
# nothing is created twice and no secret is replaced unless you give it.
#
# Secrets come from the environment, never from arguments or files of the
# repository: STRIPE_API_KEY (required the first time), STRIPE_WEBHOOK_SECRET
# (once the Stripe endpoint exists), ORDER_LINK_SECRET (made for you the
# first time), and, for order events as signed webhooks (with
# orderEventsWebhooks true in infra/azuredeploy.parameters.json),
# ORDER_EVENTS_URL and ORDER_EVENTS_SECRET. docs/deploy.md has the details.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: scripts/deploy.sh <resource-group> [--location L] [--originals DIR]" >&2
	exit 2
}
step() { printf '\n==> %s\n' "$*"; }
die() {
	echo "deploy: $*" >&2
	exit 1
}
# run WHAT CMD...: runs CMD and stops with a message naming WHAT if it fails.
run() {
	local what=$1
	shift
	"$@" || die "$what failed (exit $?): $1 ${2:-} ${3:-} ...; the output above says why. Fix it and run scripts/deploy.sh again."
}

rg="" location="" originals=""
while [ $# -gt 0 ]; do
	case "$1" in
	--location) [ $# -ge 2 ] || usage; location=$2; shift 2 ;;
	--originals) [ $# -ge 2 ] || usage; originals=$2; shift 2 ;;
	-h | --help) usage ;;
	-*) echo "deploy: unknown option $1" >&2; usage ;;
	*) [ -z "$rg" ] || usage; rg=$1; shift ;;
	esac
done
[ -n "$rg" ] || usage
if [ -n "$originals" ]; then
	[ -d "$originals" ] || die "--originals $originals is not a folder"
	originals=$(cd "$originals" && pwd)
fi
for secret in STRIPE_API_KEY STRIPE_WEBHOOK_SECRET ORDER_LINK_SECRET ORDER_EVENTS_URL ORDER_EVENTS_SECRET; do
	case "${!secret:-}" in *[\"\\]*) die "$secret holds a quote or a backslash, which no such secret has" ;; esac
done

step "Checking the tools and your Azure login"
command -v az >/dev/null || die "the Azure CLI (az) is not installed: https://learn.microsoft.com/cli/azure/install-azure-cli"
command -v func >/dev/null || die "Azure Functions Core Tools (func) is not installed: https://learn.microsoft.com/azure/azure-functions/functions-run-local"
command -v go >/dev/null || die "Go is not installed; the handler is built from this repository: https://go.dev/dl/"
az account show --output none || die "you are not logged in to Azure: run az login (and az account set --subscription <id>), then run this again"

step "Finding who you are, to give you the roles handler setup and az keyvault secret set need"
operator="" operator_type=User
login_type=$(run "reading your login" az account show --query user.type --output tsv)
case "$login_type" in
user) operator=$(az ad signed-in-user show --query id --output tsv) || operator="" ;;
servicePrincipal)
	operator_type=ServicePrincipal
	operator=$(az ad sp show --id "$(az account show --query user.name --output tsv)" --query id --output tsv) || operator=""
	;;
esac
[ -n "$operator" ] || echo "deploy: could not find your object id; you get no data roles (handler setup and az keyvault secret set will be refused)" >&2

step "Resource group $rg"
if az group show --name "$rg" --output none 2>/dev/null; then
	echo "exists"
else
	[ -n "$location" ] || die "resource group $rg does not exist: give --location (a region with Flex Consumption: az functionapp list-flexconsumption-locations -o table)"
	run "creating resource group $rg" az group create --name "$rg" --location "$location" --output none
fi

# The vault exists from the first deployment on; its secrets are then only
# replaced when given in the environment.
vault=$(run "listing the resource group's key vaults" az keyvault list --resource-group "$rg" --query "[?tags.filedrop=='secrets'].name | [0]" --output tsv)
if [ -z "$vault" ]; then
	[ -n "${STRIPE_API_KEY:-}" ] || die "the first deployment needs STRIPE_API_KEY in the environment: a restricted key (rk_test_...) with read access to Checkout Sessions, Products, Charges and Disputes, for example: read -rs STRIPE_API_KEY && export STRIPE_API_KEY"
	if [ -z "${ORDER_LINK_SECRET:-}" ]; then
		ORDER_LINK_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
		echo "made a new ORDER_LINK_SECRET (it goes into Key Vault only)"
	fi
fi

step "Deploying infra/azuredeploy.json (a few minutes the first time)"
umask 077
secrets=$(mktemp)
trap 'rm -f "$secrets"' EXIT
{
	echo '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "contentVersion": "1.0.0.0", "parameters": {'
	echo '"stripeApiKey": {"value": "'"${STRIPE_API_KEY:-}"'"},'
	echo '"stripeWebhookSecret": {"value": "'"${STRIPE_WEBHOOK_SECRET:-}"'"},'
	echo '"orderLinkSecret": {"value": "'"${ORDER_LINK_SECRET:-}"'"},'
	echo '"orderEventsUrl": {"value": "'"${ORDER_EVENTS_URL:-}"'"},'
	echo '"orderEventsSecret": {"value": "'"${ORDER_EVENTS_SECRET:-}"'"}}}'
} >"$secrets"
params=(--parameters "@$secrets" --parameters operatorPrincipalId="$operator" operatorPrincipalType="$operator_type")
if [ -f infra/azuredeploy.parameters.json ]; then
	params=(--parameters @infra/azuredeploy.parameters.json "${params[@]}")
fi
run "the deployment" az deployment group create --resource-group "$rg" --name filedrop \
	--template-file infra/azuredeploy.json "${params[@]}" --output none
rm -f "$secrets"

output() { run "reading the deployment's output $1" az deployment group show --resource-group "$rg" --name filedrop --query "properties.outputs.$1.value" --output tsv; }
app=$(output functionAppName)
storage=$(output storageAccountName)
vault=$(output keyVaultName)
webhook=$(output webhookUrl)
orders=$(output orderPageBaseUrl)
sender=$(output senderAddress)
stripe_command=$(output stripeWebhookCommand)

step "Building the handler and publishing it to $app"
FILEDROP_SETTINGS_FROM_TEMPLATE=1 run "publishing" scripts/publish.sh "$app"

if [ -n "$originals" ]; then
	step "Uploading the originals of $originals with your Azure login"
	mkdir -p .run/deploy
	run "building the handler for this machine" go build -o .run/deploy/handler ./cmd/handler
	handler=$(pwd)/.run/deploy/handler
	# An empty folder: no local.settings.json of a local run may point setup
	# at Azurite. Only the account name is given, so the handler's default
	# Azure credential uses your Azure CLI login (role assignments can take a
	# few minutes to reach storage the first time: it tries again).
	workdir=$(mktemp -d)
	attempts=${FILEDROP_SETUP_ATTEMPTS:-6} wait=${FILEDROP_SETUP_WAIT:-30} n=1
	until (cd "$workdir" && env -u AzureWebJobsStorage -u AzureWebJobsStorage__credential -u AzureWebJobsStorage__clientId \
		AzureWebJobsStorage__accountName="$storage" AZURE_TOKEN_CREDENTIALS=AzureCLICredential "$handler" setup --originals "$originals"); do
		[ "$n" -lt "$attempts" ] || die "handler setup failed $attempts times; if it says 403 or AuthorizationPermissionMismatch, your roles have not reached storage yet: wait a few minutes and run this again"
		echo "handler setup failed (attempt $n of $attempts); trying again in ${wait}s"
		sleep "$wait"
		n=$((n + 1))
	done
	rmdir "$workdir"
fi

step "Deployed"
cat <<EOT
Webhook URL:        $webhook
Order pages:        $orders<session>.<token>
Mails are sent as:  $sender

What is left, to copy (skip what you have done):

1. Create the Stripe webhook endpoint (test mode; add --live for live mode) and note its signing secret (whsec_...):

   $stripe_command

2. Put the signing secret into Key Vault and restart the app so that it reads it:

   read -rs -p 'whsec_ secret: ' WHSEC && echo && az keyvault secret set --vault-name $vault --name stripe-webhook-secret --value "\$WHSEC" --output none && unset WHSEC
   az functionapp restart --resource-group $rg --name $app

   (or run STRIPE_WEBHOOK_SECRET=whsec_... scripts/deploy.sh $rg once more)

3. Upload more originals at any time: scripts/deploy.sh $rg --originals DIR
EOT
