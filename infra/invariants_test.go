package infra

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/filedrop/filedrop"
	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/order"
)

// allowedRoles are the built-in role definitions the template may assign,
// by id, with their names (learn.microsoft.com/azure/role-based-access-control/built-in-roles;
// docs/deploy.md says why each is needed).
var allowedRoles = map[string]string{
	"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
	"ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
	"974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
	"c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
	"0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
	"09976791-48a7-449e-bb21-39d1a415f350": "Communication and Email Service Owner",
	"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
	"b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
	"3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}

// appRoles are the roles the app's identity gets, on which resource type:
// what the handler and the host need, and no more.
var appRoles = map[string]string{
	"Storage Blob Data Owner|Microsoft.Storage/storageAccounts":                           "host storage (blobs, leases, keys) and the originals, with the user-delegation key",
	"Storage Queue Data Contributor|Microsoft.Storage/storageAccounts":                    "queue triggers, enqueue, requeue and poison",
	"Storage Table Data Contributor|Microsoft.Storage/storageAccounts":                    "the order ledger, and the host's diagnostic events",
	"Communication and Email Service Owner|Microsoft.Communication/communicationServices": "sending mail with an Entra token",
	"Key Vault Secrets User|Microsoft.KeyVault/vaults":                                    "the Key Vault references",
	"Monitoring Metrics Publisher|Microsoft.Insights/components":                          "telemetry with Entra authentication",
}

// topicRoles are the roles the Event Grid system topic's identity gets:
// what delivering the ACS delivery reports needs, and no more
// (learn.microsoft.com/azure/event-grid/add-identity-roles).
var topicRoles = map[string]string{
	"Storage Queue Data Message Sender|Microsoft.Storage/storageAccounts": "adding the delivery reports to the delivery-reports queue",
}

// camel is the variable key the template uses for a role name:
// "Key Vault Secrets User" is keyVaultSecretsUser.
func camel(name string) string {
	var b strings.Builder
	for i, w := range strings.Fields(name) {
		r := []rune(strings.ToLower(w))
		if i > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		b.WriteString(string(r))
	}
	return b.String()
}

// checkRoles: every role assignment's role definition is on the allow-list,
// its scope is a resource of the template, the app's identity gets exactly
// appRoles, and the template's table of role ids names each one as the
// allow-list does.
func checkRoles(d *deployment) []error {
	var errs []error
	ids := map[string]string{}
	for _, in := range d.instances {
		ids[strings.ToLower(in.id)] = in.typ
	}
	if roles, err := d.e.value("[variables('roles')]"); err == nil {
		for key, id := range object(roles) {
			name, ok := allowedRoles[fmt.Sprint(id)]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("role %s (%v) is not on the allow-list", key, id))
			case camel(name) != key:
				errs = append(errs, fmt.Errorf("role id %v is %s, but the template calls it %s", id, name, key))
			}
		}
	}
	got := map[string]bool{}
	for _, in := range d.byType("Microsoft.Authorization/roleAssignments") {
		def, err := d.prop(in, "properties.roleDefinitionId")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		prefix := "/subscriptions/" + testSubscription + "/providers/Microsoft.Authorization/roleDefinitions/"
		roleID, ok := strings.CutPrefix(fmt.Sprint(def), prefix)
		name, allowed := allowedRoles[roleID]
		if !ok || !allowed {
			errs = append(errs, fmt.Errorf("role assignment %s: role definition %v is not on the allow-list", in.name, def))
			continue
		}
		scope, err := in.eval(d.e, in.raw["scope"])
		if err != nil {
			errs = append(errs, fmt.Errorf("role assignment %s (%s): scope: %w", in.name, name, err))
			continue
		}
		segs := strings.Split(fmt.Sprint(scope), "/")
		if len(segs) != 3 {
			errs = append(errs, fmt.Errorf("role assignment %s (%s): scope %v is not one resource (Namespace/type/name)", in.name, name, scope))
			continue
		}
		id, _ := resourceID(segs[0]+"/"+segs[1], segs[2:])
		typ, ok := ids[strings.ToLower(id)]
		if !ok {
			errs = append(errs, fmt.Errorf("role assignment %s (%s): scope %v is no resource of the template", in.name, name, scope))
			continue
		}
		principal, err := d.prop(in, "properties.principalId")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch principal {
		case testPrincipalID:
			key := name + "|" + typ
			if appRoles[key] == "" {
				errs = append(errs, fmt.Errorf("the app's identity gets %s on %s, which it does not need", name, scope))
			}
			got[key] = true
		case eventGridPrincipalID:
			key := name + "|" + typ
			if topicRoles[key] == "" {
				errs = append(errs, fmt.Errorf("the Event Grid topic's identity gets %s on %s, which it does not need", name, scope))
			}
			got[key] = true
		case operatorID:
		default:
			errs = append(errs, fmt.Errorf("role assignment %s (%s) is for %v: neither the app's identity nor the operator", in.name, name, principal))
		}
	}
	for key := range appRoles {
		if !got[key] {
			errs = append(errs, fmt.Errorf("the app's identity lacks %s", strings.Replace(key, "|", " on ", 1)))
		}
	}
	for key := range topicRoles {
		if !got[key] {
			errs = append(errs, fmt.Errorf("the Event Grid topic's identity lacks %s", strings.Replace(key, "|", " on ", 1)))
		}
	}
	return errs
}

// expectProps checks literal values of an instance's properties.
func expectProps(d *deployment, in instance, want map[string]any) []error {
	var errs []error
	for _, path := range sortedKeys(want) {
		got, err := d.prop(in, path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want[path]) {
			errs = append(errs, fmt.Errorf("%s %s: %s is %v, want %v", in.typ, in.name, path, got, want[path]))
		}
	}
	return errs
}

// checkStorage: no shared key and no public access anywhere: the storage
// account, its containers, ACS, Application Insights and Key Vault all
// authenticate with Entra ID only.
func checkStorage(d *deployment) []error {
	var errs []error
	for typ, want := range map[string]map[string]any{
		"Microsoft.Storage/storageAccounts": {"properties.allowSharedKeyAccess": false, "properties.allowBlobPublicAccess": false,
			"properties.minimumTlsVersion": "TLS1_2", "properties.supportsHttpsTrafficOnly": true},
		"Microsoft.Communication/communicationServices": {"properties.disableLocalAuth": true},
		"Microsoft.Insights/components":                 {"properties.DisableLocalAuth": true},
		"Microsoft.KeyVault/vaults":                     {"properties.enableRbacAuthorization": true},
	} {
		in, err := d.one(typ)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, expectProps(d, in, want)...)
	}
	for _, c := range d.byType("Microsoft.Storage/storageAccounts/blobServices/containers") {
		errs = append(errs, expectProps(d, c, map[string]any{"properties.publicAccess": "None"})...)
	}
	for _, in := range d.byType("Microsoft.Communication/emailServices/domains") {
		// Engagement tracking rewrites links, the signed order link among them.
		errs = append(errs, expectProps(d, in, map[string]any{"properties.userEngagementTracking": "Disabled"})...)
	}
	return errs
}

// checkApp: a Flex Consumption (FC1) Linux plan; the app runs the custom
// handler, HTTPS only, TLS 1.2, no FTP, with the user-assigned identity for
// its deployment package and Key Vault references; instance memory and count
// come from parameters.
func checkApp(d *deployment) []error {
	var errs []error
	plan, err := d.one("Microsoft.Web/serverfarms")
	if err != nil {
		return []error{err}
	}
	errs = append(errs, expectProps(d, plan, map[string]any{"sku.name": "FC1", "sku.tier": "FlexConsumption", "properties.reserved": true})...)
	site, err := d.one("Microsoft.Web/sites")
	if err != nil {
		return append(errs, err)
	}
	identity, err := d.one("Microsoft.ManagedIdentity/userAssignedIdentities")
	if err != nil {
		return append(errs, err)
	}
	errs = append(errs, expectProps(d, site, map[string]any{
		"kind":                                      "functionapp,linux",
		"identity.type":                             "UserAssigned",
		"properties.httpsOnly":                      true,
		"properties.keyVaultReferenceIdentity":      identity.id,
		"properties.siteConfig.minTlsVersion":       "1.2",
		"properties.siteConfig.scmMinTlsVersion":    "1.2",
		"properties.siteConfig.ftpsState":           "Disabled",
		"properties.functionAppConfig.runtime.name": "custom",
		"properties.functionAppConfig.deployment.storage.authentication.type":                           "UserAssignedIdentity",
		"properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId": identity.id,
	})...)
	if _, err := d.prop(site, "properties.identity"); err == nil {
		errs = append(errs, fmt.Errorf("identity belongs beside properties, not in them"))
	}
	ids, err := d.prop(site, "identity.userAssignedIdentities")
	if _, ok := object(ids)[identity.id]; err != nil || !ok || len(object(ids)) != 1 {
		errs = append(errs, fmt.Errorf("the site's one user-assigned identity must be %s, not %v", identity.id, ids))
	}
	scale := object(object(object(object(site.raw["properties"])["functionAppConfig"])["scaleAndConcurrency"]))
	for key, param := range map[string]string{"instanceMemoryMB": "instanceMemoryMB", "maximumInstanceCount": "maximumInstanceCount"} {
		if want := "[parameters('" + param + "')]"; scale[key] != want {
			errs = append(errs, fmt.Errorf("functionAppConfig.scaleAndConcurrency.%s is %v, want the parameter %s", key, scale[key], want))
		}
	}
	ftp := false
	for _, in := range d.byType("Microsoft.Web/sites/basicPublishingCredentialsPolicies") {
		if in.leaf() == "ftp" {
			ftp = true
			errs = append(errs, expectProps(d, in, map[string]any{"properties.allow": false})...)
		}
	}
	if !ftp {
		errs = append(errs, fmt.Errorf("FTP publishing credentials are not switched off (sites/basicPublishingCredentialsPolicies ftp)"))
	}
	return errs
}

// webhookEvents are the events the README asks the Stripe endpoint for.
var webhookEvents = []string{"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed",
	"charge.refunded", "charge.dispute.created", "charge.dispute.closed"}

// checkOutputs: the outputs a seller needs are there, none refers to a
// secure parameter, a Key Vault secret or a key, and none evaluates to a
// secret; the Stripe command asks for the six events.
func checkOutputs(d *deployment) []error {
	var errs []error
	secure := map[string]bool{}
	for name, p := range object(d.tpl["parameters"]) {
		if t, _ := object(p)["type"].(string); strings.HasPrefix(strings.ToLower(t), "secure") {
			secure[name] = true
		}
	}
	outputs := object(d.tpl["outputs"])
	for _, name := range []string{"webhookUrl", "orderPageBaseUrl", "senderAddress", "stripeWebhookCommand", "functionAppName", "storageAccountName", "keyVaultName"} {
		if _, ok := outputs[name]; !ok {
			errs = append(errs, fmt.Errorf("output %s is missing", name))
		}
	}
	for _, name := range sortedKeys(outputs) {
		o := object(outputs[name])
		if t, _ := o["type"].(string); strings.HasPrefix(strings.ToLower(t), "secure") {
			errs = append(errs, fmt.Errorf("output %s is of type %s", name, t))
		}
		if s, ok := o["value"].(string); ok && isExpression(s) {
			if n, err := parseExpression(s); err == nil {
				walk(n, func(n node) {
					c, ok := n.(call)
					if !ok || len(c.args) == 0 {
						return
					}
					lit, _ := c.args[0].(strLit)
					switch {
					case strings.EqualFold(c.name, "parameters") && secure[lit.v]:
						errs = append(errs, fmt.Errorf("output %s uses the secure parameter %s", name, lit.v))
					case strings.Contains(strings.ToLower(lit.v), "microsoft.keyvault/vaults/secrets"):
						errs = append(errs, fmt.Errorf("output %s reads a Key Vault secret", name))
					}
				})
			}
		}
		v, err := d.e.value(o["value"])
		if err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", name, err))
			continue
		}
		s := fmt.Sprint(v)
		for _, secret := range testParameters {
			if str, ok := secret.(string); ok && len(str) > 20 && strings.Contains(s, str) {
				errs = append(errs, fmt.Errorf("output %s holds a secret given as a parameter", name))
			}
		}
		if sharedKey.MatchString(s) {
			errs = append(errs, fmt.Errorf("output %s holds a key or signature", name))
		}
		if name == "stripeWebhookCommand" {
			for _, ev := range webhookEvents {
				if !strings.Contains(s, "enabled_events[]="+ev+"\"") {
					errs = append(errs, fmt.Errorf("output %s does not ask for %s", name, ev))
				}
			}
			if !strings.Contains(s, fmt.Sprint(d.settings["PUBLIC_BASE_URL"])+"/api/CheckoutComplete?code=") {
				errs = append(errs, fmt.Errorf("output %s does not point at the app's CheckoutComplete with its function key: %s", name, s))
			}
		}
	}
	return errs
}

// checkExample: the parameters example sets only parameters the template
// declares, with values of their type, and no secure parameter.
func checkExample(tpl, example map[string]any) []error {
	var errs []error
	params := object(tpl["parameters"])
	for name, p := range object(example["parameters"]) {
		decl := object(params[name])
		if decl == nil {
			errs = append(errs, fmt.Errorf("the example sets %s, which the template does not declare", name))
			continue
		}
		t, _ := decl["type"].(string)
		v := object(p)["value"]
		if strings.HasPrefix(strings.ToLower(t), "secure") {
			errs = append(errs, fmt.Errorf("the example sets the secure parameter %s: secrets go in the environment (docs/deploy.md)", name))
			continue
		}
		ok := false
		switch strings.ToLower(t) {
		case "string":
			_, ok = v.(string)
		case "bool":
			_, ok = v.(bool)
		case "int":
			n, isNum := v.(interface{ Int64() (int64, error) })
			ok = isNum
			if isNum {
				_, err := n.Int64()
				ok = err == nil
			}
		}
		if !ok {
			errs = append(errs, fmt.Errorf("the example's %s is %T, not %s", name, v, t))
		}
	}
	return errs
}

// checkEventGrid: the ACS delivery reports reach the DeliveryReport
// function's queue: a system topic on the template's Communication
// Service, with its own identity, and one subscription to the email
// delivery reports in the Event Grid schema, delivered into that queue with
// the topic's identity (the account takes no shared key).
func checkEventGrid(d *deployment) []error {
	var errs []error
	topic, err := d.one("Microsoft.EventGrid/systemTopics")
	if err != nil {
		return []error{err}
	}
	acs, err := d.one("Microsoft.Communication/communicationServices")
	if err != nil {
		return []error{err}
	}
	account, err := d.one("Microsoft.Storage/storageAccounts")
	if err != nil {
		return []error{err}
	}
	errs = append(errs, expectProps(d, topic, map[string]any{"identity.type": "SystemAssigned",
		"properties.topicType": "Microsoft.Communication.CommunicationServices", "properties.source": acs.id})...)
	sub, err := d.one("Microsoft.EventGrid/systemTopics/eventSubscriptions")
	if err != nil {
		return append(errs, err)
	}
	if !strings.HasPrefix(sub.name, topic.name+"/") {
		errs = append(errs, fmt.Errorf("event subscription %s is not on the system topic %s", sub.name, topic.name))
	}
	app, err := functions.LoadApp(filedrop.AppFiles, func(string) string { return "" })
	if err != nil {
		return append(errs, err)
	}
	queue, err := app.QueueOf("DeliveryReport")
	if err != nil {
		return append(errs, err)
	}
	const via = "properties.deliveryWithResourceIdentity."
	errs = append(errs, expectProps(d, sub, map[string]any{
		"properties.eventDeliverySchema":                               "EventGridSchema",
		"properties.filter.includedEventTypes":                         []any{order.EventEmailDeliveryReport},
		via + "identity.type":                                          "SystemAssigned",
		via + "destination.endpointType":                               "StorageQueue",
		via + "destination.properties.resourceId":                      account.id,
		via + "destination.properties.queueName":                       queue,
		via + "destination.properties.queueMessageTimeToLiveInSeconds": 604800,
	})...)
	if _, err := d.prop(sub, "properties.destination"); err == nil {
		errs = append(errs, fmt.Errorf("event subscription %s delivers without the topic's identity (properties.destination); the account takes no shared key", sub.name))
	}
	return errs
}
