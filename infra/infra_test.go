package infra

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	templateFile = "azuredeploy.json"
	exampleFile  = "azuredeploy.parameters.example.json"
)

func loadTestSchemas(t *testing.T) *schemas {
	t.Helper()
	s, err := loadSchemas(filepath.Join("testdata", "arm-schemas"))
	require.NoError(t, err)
	return s
}

// TestTemplate validates every resource against its schema and checks every
// invariant: the template as committed has no problem.
func TestTemplate(t *testing.T) {
	errs := check(readJSON(t, templateFile), loadTestSchemas(t))
	require.Empty(t, errs, "%v", errors.Join(errs...))
}

// TestParametersExample: the example sets declared parameters with values of
// their type and no secret.
func TestParametersExample(t *testing.T) {
	tpl, example := readJSON(t, templateFile), readJSON(t, exampleFile)
	require.Empty(t, checkExample(tpl, example))
	object(example["parameters"])["stripeApiKey"] = map[string]any{"value": "rk_test_51Secret"}
	object(example["parameters"])["shopNmae"] = map[string]any{"value": "typo"}
	object(example["parameters"])["instanceMemoryMB"] = map[string]any{"value": "512"}
	errs := errors.Join(checkExample(tpl, example)...)
	require.ErrorContains(t, errs, "secure parameter stripeApiKey")
	require.ErrorContains(t, errs, "shopNmae, which the template does not declare")
	require.ErrorContains(t, errs, "instanceMemoryMB is string, not int")
}

// resource returns the first resource of the template of type typ whose
// name expression contains nameHas.
func resource(t *testing.T, tpl map[string]any, typ, nameHas string) map[string]any {
	t.Helper()
	for _, r := range tpl["resources"].([]any) {
		m := object(r)
		if m["type"] == typ && strings.Contains(fmt.Sprint(m["name"]), nameHas) {
			return m
		}
	}
	t.Fatalf("no %s named like %s", typ, nameHas)
	return nil
}

// at returns the object at a path of keys under m.
func at(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = object(m[p])
	}
	return m
}

// TestPlantedMistakesFail: each mistake planted in a copy of the template
// is reported, with a message that says what is wrong.
func TestPlantedMistakesFail(t *testing.T) {
	site := func(t *testing.T, tpl map[string]any) map[string]any {
		return resource(t, tpl, "Microsoft.Web/sites", "appName")
	}
	settings := func(t *testing.T, tpl map[string]any) map[string]any {
		return object(resource(t, tpl, "Microsoft.Web/sites/config", "appsettings")["properties"])
	}
	storage := func(t *testing.T, tpl map[string]any) map[string]any {
		return resource(t, tpl, "Microsoft.Storage/storageAccounts", "storageAccountName")
	}
	tests := []struct {
		name   string
		mutate func(t *testing.T, tpl map[string]any)
		want   string
	}{
		{"a wrong enum: storage kind", func(t *testing.T, tpl map[string]any) { storage(t, tpl)["kind"] = "StorageV3" },
			"Microsoft.Storage/storageAccounts@2025-01-01"},
		{"a wrong enum: runtime", func(t *testing.T, tpl map[string]any) {
			at(site(t, tpl), "properties", "functionAppConfig", "runtime")["name"] = "golang"
		}, "Microsoft.Web/sites@2024-11-01"},
		{"a wrong enum: minimum TLS", func(t *testing.T, tpl map[string]any) {
			at(storage(t, tpl), "properties")["minimumTlsVersion"] = "TLS1_9"
		}, "Microsoft.Storage/storageAccounts@2025-01-01"},
		{"a number as a string", func(t *testing.T, tpl map[string]any) {
			at(site(t, tpl), "properties", "functionAppConfig", "scaleAndConcurrency")["instanceMemoryMB"] = "512"
		}, "Microsoft.Web/sites@2024-11-01"},
		{"a boolean as a string", func(t *testing.T, tpl map[string]any) {
			at(storage(t, tpl), "properties")["allowSharedKeyAccess"] = "false"
		}, "Microsoft.Storage/storageAccounts@2025-01-01"},
		{"a misspelt property", func(t *testing.T, tpl map[string]any) {
			p := at(site(t, tpl), "properties")
			p["httpsOnyl"], p["httpsOnly"] = p["httpsOnly"], nil
			delete(p, "httpsOnly")
		}, "httpsOnyl"},
		{"a misspelt nested property", func(t *testing.T, tpl map[string]any) {
			c := at(site(t, tpl), "properties", "siteConfig")
			c["minTlsVerison"] = c["minTlsVersion"]
			delete(c, "minTlsVersion")
		}, "minTlsVerison"},
		{"a misspelt top-level property", func(t *testing.T, tpl map[string]any) {
			storage(t, tpl)["skus"] = map[string]any{"name": "Standard_LRS"}
		}, "skus"},
		{"an unknown parameter", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["SHOP_NAME"] = "[parameters('shopTitle')]"
		}, `the parameter "shopTitle", which the template does not declare`},
		{"an unknown variable", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["LEDGER_TABLE"] = "[variables('ledger')]"
		}, `the variable "ledger", which the template does not declare`},
		{"an unbalanced expression", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["SHOP_NAME"] = "[format('{0}', parameters('shopName')]"
		}, "unbalanced"},
		{"an expression not closed", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["SHOP_NAME"] = "[parameters('shopName')"
		}, "unbalanced brackets"},
		{"an unknown function", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["SHOP_NAME"] = "[formatt('{0}', parameters('shopName'))]"
		}, "unknown template function formatt"},
		{"a dependsOn to nothing", func(t *testing.T, tpl map[string]any) {
			s := site(t, tpl)
			s["dependsOn"] = append(s["dependsOn"].([]any), "[resourceId('Microsoft.Storage/storageAccounts', 'nosuchaccount')]")
		}, "nosuchaccount, which is no resource or copy loop of the template"},
		{"a dependsOn to a copy loop that does not exist", func(t *testing.T, tpl map[string]any) {
			s := site(t, tpl)
			s["dependsOn"] = append(s["dependsOn"].([]any), "queuez")
		}, "dependsOn queuez"},
		{"a role id off the allow-list", func(t *testing.T, tpl map[string]any) {
			object(object(tpl["variables"])["roles"])["storageBlobDataOwner"] = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" // Owner
		}, "is not on the allow-list"},
		{"a role the app does not need", func(t *testing.T, tpl map[string]any) {
			v := object(tpl["variables"])
			v["appRoleAssignments"] = append(v["appRoleAssignments"].([]any), map[string]any{"role": "keyVaultSecretsOfficer", "scope": "[variables('keyVaultScope')]"})
		}, "gets Key Vault Secrets Officer"},
		{"a role the app lacks", func(t *testing.T, tpl map[string]any) {
			v := object(tpl["variables"])
			v["appRoleAssignments"] = v["appRoleAssignments"].([]any)[1:]
		}, "lacks Storage Blob Data Owner"},
		{"the delivery reports to a queue no function reads", func(t *testing.T, tpl map[string]any) {
			object(tpl["variables"])["deliveryReportQueue"] = "delivery-report"
		}, "queueName is delivery-report, want delivery-reports"},
		{"the delivery reports in the CloudEvents schema", func(t *testing.T, tpl map[string]any) {
			at(resource(t, tpl, "Microsoft.EventGrid/systemTopics/eventSubscriptions", "mail-delivery-reports"), "properties")["eventDeliverySchema"] = "CloudEventSchemaV1_0"
		}, "eventDeliverySchema is CloudEventSchemaV1_0, want EventGridSchema"},
		{"the delivery reports with a misspelt destination", func(t *testing.T, tpl map[string]any) {
			at(resource(t, tpl, "Microsoft.EventGrid/systemTopics/eventSubscriptions", "mail-delivery-reports"),
				"properties", "deliveryWithResourceIdentity", "destination")["endpointType"] = "StorageQueues"
		}, "Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15"},
		{"the topic's identity without its role", func(t *testing.T, tpl map[string]any) {
			at(resource(t, tpl, "Microsoft.Authorization/roleAssignments", "acsEventsRoleAssignment"), "properties")["roleDefinitionId"] =
				"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('roles').storageQueueDataContributor)]"
		}, "the Event Grid topic's identity gets Storage Queue Data Contributor"},
		{"the subscription before its role", func(t *testing.T, tpl map[string]any) {
			s := resource(t, tpl, "Microsoft.EventGrid/systemTopics/eventSubscriptions", "mail-delivery-reports")
			s["dependsOn"] = append(s["dependsOn"].([]any), "[extensionResourceId(resourceId('Microsoft.Storage/storageAccounts', variables('storageAccountName')), 'Microsoft.Authorization/roleAssignments', 'nosuchassignment')]")
		}, "nosuchassignment, which is no resource or copy loop of the template"},
		{"a queue name not matching a function.json", func(t *testing.T, tpl map[string]any) {
			object(tpl["variables"])["functionQueues"] = []any{"process-order", "send-links"}
		}, "queue send-link (a function.json's queueName"},
		{"the originals' container missing", func(t *testing.T, tpl map[string]any) {
			resource(t, tpl, "Microsoft.Storage/storageAccounts/blobServices/containers", "originalsContainer")["name"] = "[format('{0}/default/photos', variables('storageAccountName'))]"
		}, "no Microsoft.Storage/storageAccounts/blobServices/containers named originals"},
		{"the ledger table missing", func(t *testing.T, tpl map[string]any) {
			object(resource(t, tpl, "Microsoft.Web/sites/config", "appsettings")["properties"])["LEDGER_TABLE"] = "ledger"
		}, "tables named ledger"},
		{"a missing required setting", func(t *testing.T, tpl map[string]any) { delete(settings(t, tpl), "PUBLIC_BASE_URL") },
			"PUBLIC_BASE_URL is required"},
		{"the mail transport missing", func(t *testing.T, tpl map[string]any) { delete(settings(t, tpl), "ACS_ENDPOINT") },
			"set exactly one of them"},
		{"the timer's schedule missing", func(t *testing.T, tpl map[string]any) { delete(settings(t, tpl), "RECONCILE_SCHEDULE") },
			"RECONCILE_SCHEDULE is missing: the host schedules Reconcile"},
		{"a setting the handler does not know", func(t *testing.T, tpl map[string]any) { settings(t, tpl)["EMAIL_SENDR"] = "x@shop.example" },
			"EMAIL_SENDR is not one the handler reads"},
		{"a setting Flex Consumption refuses", func(t *testing.T, tpl map[string]any) { settings(t, tpl)["FUNCTIONS_WORKER_RUNTIME"] = "custom" },
			"FUNCTIONS_WORKER_RUNTIME must not be set"},
		{"a Key Vault reference to a secret not declared", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["ORDER_LINK_SECRET"] = "[format('@Microsoft.KeyVault(VaultName={0};SecretName=link-secret)', variables('keyVaultName'))]"
		}, "refers to secret link-secret"},
		{"a shared key: storage", func(t *testing.T, tpl map[string]any) {
			at(storage(t, tpl), "properties")["allowSharedKeyAccess"] = true
		},
			"allowSharedKeyAccess is true, want false"},
		{"a shared key: a connection string", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["AzureWebJobsStorage"] = "[format('DefaultEndpointsProtocol=https;AccountName={0};AccountKey={1}', variables('storageAccountName'), listKeys(resourceId('Microsoft.Storage/storageAccounts', variables('storageAccountName')), '2025-01-01').keys[0].value)]"
		}, "listKeys reads keys or connection strings"},
		{"a shared key: ACS access keys", func(t *testing.T, tpl map[string]any) {
			at(resource(t, tpl, "Microsoft.Communication/communicationServices", "communicationServiceName"), "properties")["disableLocalAuth"] = false
		}, "disableLocalAuth is false, want true"},
		{"public blob access", func(t *testing.T, tpl map[string]any) {
			at(resource(t, tpl, "Microsoft.Storage/storageAccounts/blobServices/containers", "originalsContainer"), "properties")["publicAccess"] = "Blob"
		}, "publicAccess is Blob, want None"},
		{"click tracking on", func(t *testing.T, tpl map[string]any) {
			at(resource(t, tpl, "Microsoft.Communication/emailServices/domains", "managedDomainName"), "properties")["userEngagementTracking"] = "Enabled"
		}, "userEngagementTracking is Enabled"},
		{"a secret in an output", func(t *testing.T, tpl map[string]any) {
			object(tpl["outputs"])["apiKey"] = map[string]any{"type": "string", "value": "[parameters('stripeApiKey')]"}
		}, "output apiKey uses the secure parameter stripeApiKey"},
		{"an output of a secure type", func(t *testing.T, tpl map[string]any) {
			object(tpl["outputs"])["linkSecret"] = map[string]any{"type": "securestring", "value": "[parameters('shopName')]"}
		}, "output linkSecret is of type securestring"},
		{"an event missing from the Stripe command", func(t *testing.T, tpl map[string]any) {
			v := object(tpl["variables"])
			v["webhookEvents"] = strings.Replace(v["webhookEvents"].(string), `-d "enabled_events[]=charge.refunded" `, "", 1)
		}, "does not ask for charge.refunded"},
		{"FTP on", func(t *testing.T, tpl map[string]any) {
			at(site(t, tpl), "properties", "siteConfig")["ftpsState"] = "FtpsOnly"
		},
			"ftpsState is FtpsOnly, want Disabled"},
		{"HTTP allowed", func(t *testing.T, tpl map[string]any) { at(site(t, tpl), "properties")["httpsOnly"] = false },
			"httpsOnly is false, want true"},
		{"TLS 1.0", func(t *testing.T, tpl map[string]any) {
			at(site(t, tpl), "properties", "siteConfig")["minTlsVersion"] = "1.0"
		},
			"minTlsVersion is 1.0, want 1.2"},
		{"a fixed instance memory", func(t *testing.T, tpl map[string]any) {
			at(site(t, tpl), "properties", "functionAppConfig", "scaleAndConcurrency")["instanceMemoryMB"] = json.Number("2048")
		}, "scaleAndConcurrency.instanceMemoryMB is 2048, want the parameter"},
		{"the deployment package read with the app's system identity", func(t *testing.T, tpl map[string]any) {
			a := at(site(t, tpl), "properties", "functionAppConfig", "deployment", "storage", "authentication")
			a["type"] = "SystemAssignedIdentity"
			delete(a, "userAssignedIdentityResourceId")
		}, "authentication.type is SystemAssignedIdentity"},
		{"the order events' queue missing", func(t *testing.T, tpl map[string]any) {
			object(tpl["variables"])["functionQueues"] = []any{"process-order", "send-link", "delivery-reports"}
		}, "queue order-events (a function.json's queueName"},
		{"the webhook URL in plain text", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["ORDER_EVENTS_URL"] = "[parameters('orderEventsUrl')]"
		}, "ORDER_EVENTS_URL holds a secret: it must be a Key Vault reference"},
		{"the webhook secret without its Key Vault secret", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["ORDER_EVENTS_SECRET"] = "[format('@Microsoft.KeyVault(VaultName={0};SecretName=events-secret)', variables('keyVaultName'))]"
		}, "refers to secret events-secret"},
		{"the order events left disabled with a sink", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["AzureWebJobs.OrderEvents.Disabled"] = "true"
		}, "AzureWebJobs.OrderEvents.Disabled is \"true\" while a sink is configured"},
		{"Dataverse with the system identity", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["DATAVERSE_CLIENT_ID"] = ""
		}, "DATAVERSE_CLIENT_ID must be the user-assigned identity's client id"},
		{"a Dataverse URL that is no environment", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["DATAVERSE_URL"] = "[format('{0}/main.aspx', parameters('dataverseUrl'))]"
		}, "DATAVERSE_URL must be the environment URL"},
		{"a reference to a resource not in the template", func(t *testing.T, tpl map[string]any) {
			settings(t, tpl)["ACS_ENDPOINT"] = "[format('https://{0}', reference(resourceId('Microsoft.Communication/communicationServices', 'elsewhere'), '2025-05-01').hostName)]"
		}, "names no resource of the template"},
	}
	sch := loadTestSchemas(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := readJSON(t, templateFile)
			tt.mutate(t, tpl)
			errs := check(tpl, sch)
			require.NotEmpty(t, errs, "the planted mistake passed")
			require.ErrorContains(t, errors.Join(errs...), tt.want)
		})
	}
}

// TestSettingsAsDeployed evaluates the app settings for a few sets of
// parameters: the mail rate follows the sending domain's quota unless set,
// the sender and the public URL follow the domain parameters, and the
// storage and mail settings name the user-assigned identity.
func TestSettingsAsDeployed(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		want   map[string]string
	}{
		{"defaults", nil, map[string]string{
			"MAIL_RATE_LIMIT":                           "5/m,10/h",
			"EMAIL_SENDER":                              "DoNotReply@5f6a7b8c-1234-4d2e-9abc-0123456789ab.azurecomm.net",
			"ALLOW_LIVE_MODE":                           "false",
			"RECONCILE_SCHEDULE":                        "0 */15 * * * *",
			"AzureWebJobsStorage__credential":           "managedidentity",
			"AzureWebJobsStorage__clientId":             testClientID,
			"ACS_CLIENT_ID":                             testClientID,
			"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=" + testClientID + ";Authorization=AAD",
		}},
		{"a custom domain not yet verified", map[string]any{"customEmailDomain": "shop.example"}, map[string]string{
			"MAIL_RATE_LIMIT": "5/m,10/h", "EMAIL_SENDER": "DoNotReply@5f6a7b8c-1234-4d2e-9abc-0123456789ab.azurecomm.net"}},
		{"a verified custom domain", map[string]any{"customEmailDomain": "shop.example", "useCustomEmailDomain": true}, map[string]string{
			"MAIL_RATE_LIMIT": "30/m,100/h", "EMAIL_SENDER": "DoNotReply@shop.example"}},
		{"a rate of the seller's quota", map[string]any{"mailRateLimit": "12/m,200/h"}, map[string]string{"MAIL_RATE_LIMIT": "12/m,200/h"}},
		{"live mode and a custom host", map[string]any{"allowLiveMode": true, "customHostName": "photos.shop.example"}, map[string]string{
			"ALLOW_LIVE_MODE": "true", "PUBLIC_BASE_URL": "https://photos.shop.example"}},
		{"no order events: nothing set, the function disabled", nil, map[string]string{
			"ORDER_EVENTS_URL": "", "ORDER_EVENTS_SECRET": "", "DATAVERSE_URL": "", "DATAVERSE_CLIENT_ID": "", "DATAVERSE_ORDER_TABLE": "",
			"AzureWebJobs.OrderEvents.Disabled": "true"}},
		{"order events as webhooks", map[string]any{"orderEventsWebhooks": true}, map[string]string{
			"ORDER_EVENTS_URL":                  "Key Vault secret order-events-url",
			"ORDER_EVENTS_SECRET":               "Key Vault secret order-events-secret",
			"DATAVERSE_URL":                     "",
			"AzureWebJobs.OrderEvents.Disabled": "false"}},
		{"order events into Dataverse", map[string]any{"dataverseUrl": "https://contoso.crm4.dynamics.com", "dataverseOrderTable": "cr1a2_orders"},
			map[string]string{"ORDER_EVENTS_URL": "", "DATAVERSE_URL": "https://contoso.crm4.dynamics.com", "DATAVERSE_CLIENT_ID": testClientID,
				"DATAVERSE_ORDER_TABLE": "cr1a2_orders", "AzureWebJobs.OrderEvents.Disabled": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := evaluate(readJSON(t, templateFile), tt.params)
			require.NoError(t, err)
			require.Empty(t, checkSettings(d))
			vault, err := d.one("Microsoft.KeyVault/vaults")
			require.NoError(t, err)
			for k, v := range tt.want {
				if secret, ok := strings.CutPrefix(v, "Key Vault secret "); ok {
					v = "@Microsoft.KeyVault(VaultName=" + vault.name + ";SecretName=" + secret + ")"
				}
				require.Equal(t, v, d.settings[k], k)
			}
			require.True(t, strings.HasPrefix(d.settings["PUBLIC_BASE_URL"], "https://"), d.settings["PUBLIC_BASE_URL"])
			out, err := d.e.value(object(object(d.tpl["outputs"])["orderPageBaseUrl"])["value"])
			require.NoError(t, err)
			require.Equal(t, d.settings["PUBLIC_BASE_URL"]+"/api/download/", out, "the order page's base URL follows PUBLIC_BASE_URL")
		})
	}
}
