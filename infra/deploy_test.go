package infra

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The stand-ins for az, func and go that scripts/deploy.sh finds on PATH.
// Each appends its arguments to $FAKE_LOG, one line a call, and fails when
// $FAKE_FAIL is part of that line. az answers as the real one does for the
// calls the script makes (and refuses any other); go "builds" a handler
// stand-in that records how it was run.
const (
	fakeAz = `#!/usr/bin/env bash
line="az $*"
echo "$line" >> "$FAKE_LOG"
if [ -n "${FAKE_FAIL:-}" ] && [[ "$line" == *"$FAKE_FAIL"* ]]; then echo "ERROR: stand-in az refuses: $FAKE_FAIL" >&2; exit 1; fi
case "$*" in
"account show --output none") ;;
"account show --query user.type --output tsv") echo user ;;
"ad signed-in-user show --query id --output tsv") echo 55555555-5555-5555-5555-555555555555 ;;
"group show "*) [ -n "${FAKE_GROUP:-}" ] || { echo "ERROR: (ResourceGroupNotFound)" >&2; exit 3; } ;;
"group create "*) ;;
"keyvault list "*) echo "${FAKE_VAULT:-}" ;;
"deployment group create "*)
	for a in "$@"; do case "$a" in @*) cat "${a#@}" >> "$FAKE_LOG.params" ;; esac; done ;;
"deployment group show "*)
	case "$*" in
	*.functionAppName.value*) echo filedrop-test ;;
	*.storageAccountName.value*) echo filedroptest ;;
	*.keyVaultName.value*) echo kv-test ;;
	*.webhookUrl.value*) echo https://filedrop-test.azurewebsites.net/api/CheckoutComplete ;;
	*.orderPageBaseUrl.value*) echo https://filedrop-test.azurewebsites.net/api/download/ ;;
	*.senderAddress.value*) echo DoNotReply@x.azurecomm.net ;;
	*.stripeWebhookCommand.value*) echo 'stripe webhook_endpoints create -d url="https://filedrop-test.azurewebsites.net/api/CheckoutComplete"' ;;
	*) echo "stand-in az: no such output: $*" >&2; exit 64 ;;
	esac ;;
*) echo "stand-in az: unexpected call: $*" >&2; exit 64 ;;
esac
`
	fakeFunc = `#!/usr/bin/env bash
line="func $* (handler built: $([ -x handler ] && echo yes || echo no))"
echo "$line" >> "$FAKE_LOG"
if [ -n "${FAKE_FAIL:-}" ] && [[ "$line" == *"$FAKE_FAIL"* ]]; then echo "stand-in func: publish failed" >&2; exit 1; fi
`
	fakeGo = `#!/usr/bin/env bash
echo "go $* [GOOS=${GOOS:-} GOARCH=${GOARCH:-} CGO_ENABLED=${CGO_ENABLED:-}]" >> "$FAKE_LOG"
out=""
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
cat > "$out" <<'HANDLER'
#!/usr/bin/env bash
line="handler $* [accountName=${AzureWebJobsStorage__accountName:-} credential=${AzureWebJobsStorage__credential:-} connection=${AzureWebJobsStorage:-} AZURE_TOKEN_CREDENTIALS=${AZURE_TOKEN_CREDENTIALS:-} local.settings.json=$([ -f local.settings.json ] && echo yes || echo no)]"
echo "$line" >> "$FAKE_LOG"
if [ -n "${FAKE_FAIL:-}" ] && [[ "$line" == *"$FAKE_FAIL"* ]]; then echo "setup: 403 AuthorizationPermissionMismatch" >&2; exit 1; fi
HANDLER
chmod +x "$out"
`
)

// deployRun is what one run of scripts/deploy.sh did.
type deployRun struct {
	calls          []string
	params         string // the deployment's parameter files as az read them
	stdout, stderr string
	code           int
}

// runDeploy runs a copy of scripts/deploy.sh (with scripts/publish.sh and the
// template) in a folder of its own, with the stand-ins on PATH: leave out
// names the tools to leave off PATH.
func runDeploy(t *testing.T, env map[string]string, leaveOut []string, args ...string) deployRun {
	t.Helper()
	root, bin := t.TempDir(), t.TempDir()
	for _, f := range []string{"scripts/deploy.sh", "scripts/publish.sh", "infra/azuredeploy.json"} {
		b, err := os.ReadFile(filepath.Join("..", f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, f), b, 0o755))
	}
	for name, script := range map[string]string{"az": fakeAz, "func": fakeFunc, "go": fakeGo} {
		if !contains(leaveOut, name) {
			require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755))
		}
	}
	// A local.settings.json of a local run, which setup must not read.
	require.NoError(t, os.WriteFile(filepath.Join(root, "local.settings.json"), []byte(`{"Values":{"AzureWebJobsStorage":"UseDevelopmentStorage=true"}}`), 0o600))
	log := filepath.Join(t.TempDir(), "calls")
	vars := map[string]string{"PATH": bin + ":/usr/bin:/bin", "HOME": t.TempDir(), "FAKE_LOG": log,
		"FILEDROP_SETUP_ATTEMPTS": "2", "FILEDROP_SETUP_WAIT": "0",
		"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=dev;AccountKey=a2V5"} // from the operator's shell
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/bash", append([]string{filepath.Join(root, "scripts", "deploy.sh")}, args...)...)
	cmd.Dir = root
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := deployRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	b, _ := os.ReadFile(log)
	tmp := regexp.MustCompile(`@/[^ ]+`)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line != "" {
			r.calls = append(r.calls, tmp.ReplaceAllString(strings.ReplaceAll(line, root, "ROOT"), "@SECRETS"))
		}
	}
	p, _ := os.ReadFile(log + ".params")
	r.params = string(p)
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDeployScript runs scripts/deploy.sh with stand-in az, func and go: the
// right calls in the right order, secrets only in a parameters file, and a
// clear stop when a tool, the login or a step fails.
func TestDeployScript(t *testing.T) {
	originals := t.TempDir()
	checks := []string{
		"az account show --output none",
		"az account show --query user.type --output tsv",
		"az ad signed-in-user show --query id --output tsv",
		"az group show --name rg-shop --output none",
	}
	deployment := []string{
		"az keyvault list --resource-group rg-shop --query [?tags.filedrop=='secrets'].name | [0] --output tsv",
		"az deployment group create --resource-group rg-shop --name filedrop --template-file infra/azuredeploy.json --parameters @SECRETS --parameters operatorPrincipalId=55555555-5555-5555-5555-555555555555 operatorPrincipalType=User --output none",
		"az deployment group show --resource-group rg-shop --name filedrop --query properties.outputs.functionAppName.value --output tsv",
		"az deployment group show --resource-group rg-shop --name filedrop --query properties.outputs.storageAccountName.value --output tsv",
		"az deployment group show --resource-group rg-shop --name filedrop --query properties.outputs.keyVaultName.value --output tsv",
		"az deployment group show --resource-group rg-shop --name filedrop --query properties.outputs.webhookUrl.value --output tsv",
		"az deployment group show --resource-group rg-shop --name filedrop --query properties.outputs.orderPageBaseUrl.value --output tsv",
		"az deployment group show --resource-group rg-shop --name filedrop --query properties.outputs.senderAddress.value --output tsv",
		"az deployment group show --resource-group rg-shop --name filedrop --query properties.outputs.stripeWebhookCommand.value --output tsv",
	}
	publish := []string{
		"go build -trimpath -ldflags=-s -w -o handler ./cmd/handler [GOOS=linux GOARCH=amd64 CGO_ENABLED=0]",
		"func azure functionapp publish filedrop-test (handler built: yes)",
	}
	setup := []string{
		"go build -o .run/deploy/handler ./cmd/handler [GOOS= GOARCH= CGO_ENABLED=]",
		"handler setup --originals " + originals + " [accountName=filedroptest credential= connection= AZURE_TOKEN_CREDENTIALS=AzureCLICredential local.settings.json=no]",
	}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	first := map[string]string{"STRIPE_API_KEY": "rk_test_51FirstDeployKey"}
	again := map[string]string{"FAKE_GROUP": "1", "FAKE_VAULT": "kv-test"}
	tests := []struct {
		name      string
		env       map[string]string
		leaveOut  []string
		args      []string
		calls     []string
		code      int
		stderr    string
		stdout    []string
		params    []string // in the parameters file
		notParams []string
	}{
		{name: "first deployment with originals", env: first, args: []string{"rg-shop", "--location", "westeurope", "--originals", originals},
			calls: join(checks, []string{"az group create --name rg-shop --location westeurope --output none"}, deployment, publish, setup),
			stdout: []string{"==> Deploying infra/azuredeploy.json", "made a new ORDER_LINK_SECRET", "stripe webhook_endpoints create",
				"az keyvault secret set --vault-name kv-test --name stripe-webhook-secret", "az functionapp restart --resource-group rg-shop --name filedrop-test",
				"Mails are sent as:  DoNotReply@x.azurecomm.net"},
			params: []string{`"stripeApiKey": {"value": "rk_test_51FirstDeployKey"}`, `"orderLinkSecret": {"value": "`}},
		{name: "run again: nothing created twice, no secret replaced", env: again, args: []string{"rg-shop"},
			calls:     join(checks, deployment, publish),
			params:    []string{`"stripeApiKey": {"value": ""}`, `"orderLinkSecret": {"value": ""}`, `"stripeWebhookSecret": {"value": ""}`},
			notParams: []string{"rk_test"}},
		{name: "run again with the webhook secret", env: map[string]string{"FAKE_GROUP": "1", "FAKE_VAULT": "kv-test", "STRIPE_WEBHOOK_SECRET": "whsec_FromTheDashboard"},
			args: []string{"rg-shop"}, calls: join(checks, deployment, publish), params: []string{`"stripeWebhookSecret": {"value": "whsec_FromTheDashboard"}`}},
		{name: "run again with the order events' receiver", env: map[string]string{"FAKE_GROUP": "1", "FAKE_VAULT": "kv-test",
			"ORDER_EVENTS_URL": "https://hooks.example/catch/SecretPath", "ORDER_EVENTS_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			args: []string{"rg-shop"}, calls: join(checks, deployment, publish),
			params: []string{`"orderEventsUrl": {"value": "https://hooks.example/catch/SecretPath"}`, `"orderEventsSecret": {"value": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`}},
		{name: "first deployment without a Stripe key", args: []string{"rg-shop", "--location", "westeurope"},
			calls: join(checks, []string{"az group create --name rg-shop --location westeurope --output none", deployment[0]}), code: 1,
			stderr: "the first deployment needs STRIPE_API_KEY in the environment"},
		{name: "no resource group and no location", env: first, args: []string{"rg-shop"}, calls: checks, code: 1,
			stderr: "resource group rg-shop does not exist: give --location"},
		{name: "az missing", env: first, leaveOut: []string{"az"}, args: []string{"rg-shop"}, code: 1,
			stderr: "the Azure CLI (az) is not installed"},
		{name: "func missing", env: first, leaveOut: []string{"func"}, args: []string{"rg-shop"}, code: 1,
			stderr: "Azure Functions Core Tools (func) is not installed"},
		{name: "not logged in", env: map[string]string{"FAKE_FAIL": "az account show --output none"}, args: []string{"rg-shop"},
			calls: checks[:1], code: 1, stderr: "you are not logged in to Azure: run az login"},
		{name: "the deployment fails", env: map[string]string{"FAKE_GROUP": "1", "FAKE_VAULT": "kv-test", "FAKE_FAIL": "deployment group create"},
			args: []string{"rg-shop"}, calls: join(checks, deployment[:2]), code: 1, stderr: "the deployment failed (exit 1): az deployment group"},
		{name: "publishing fails", env: map[string]string{"FAKE_GROUP": "1", "FAKE_VAULT": "kv-test", "FAKE_FAIL": "functionapp publish"},
			args: []string{"rg-shop", "--originals", originals}, calls: join(checks, deployment, publish), code: 1, stderr: "publishing failed"},
		{name: "setup refused until the roles arrive", env: map[string]string{"FAKE_GROUP": "1", "FAKE_VAULT": "kv-test", "FAKE_FAIL": "handler setup"},
			args: []string{"rg-shop", "--originals", originals}, calls: join(checks, deployment, publish, setup, setup[1:]), code: 1,
			stderr: "handler setup failed 2 times; if it says 403"},
		{name: "no resource group given", args: nil, code: 2, stderr: "usage: scripts/deploy.sh <resource-group>"},
		{name: "an unknown option", args: []string{"rg-shop", "--region", "x"}, code: 2, stderr: "unknown option --region"},
		{name: "originals that are no folder", args: []string{"rg-shop", "--originals", filepath.Join(originals, "nope")}, code: 1,
			stderr: "is not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runDeploy(t, tt.env, tt.leaveOut, tt.args...)
			require.Equal(t, tt.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Equal(t, tt.calls, r.calls, "stderr:\n%s", r.stderr)
			require.Contains(t, r.stderr, tt.stderr)
			for _, s := range tt.stdout {
				require.Contains(t, r.stdout, s)
			}
			require.NotContains(t, r.stdout, "then run ./handler setup once", "publish.sh's hints are for a manual deployment")
			for _, p := range tt.params {
				require.Contains(t, r.params, p)
			}
			for _, p := range tt.notParams {
				require.NotContains(t, r.params, p)
			}
			for _, secret := range []string{"rk_test_51FirstDeployKey", "whsec_FromTheDashboard", "SecretPath", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
				for _, c := range r.calls {
					require.NotContains(t, c, secret, "a secret on a command line")
				}
				require.NotContains(t, r.stdout+r.stderr, secret, "a secret printed")
			}
		})
	}
}
