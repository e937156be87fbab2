package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/secret"
)

func TestLoadEvents(t *testing.T) {
	const (
		whsec    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"             // 24 bytes
		secret32 = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" // 32 bytes
		zap      = "https://hooks.zapier.com/hooks/catch/123/" + mark + "/"
		flow     = "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=" + mark
		clientID = "11111111-2222-3333-4444-555555555555"
	)
	tests := []struct {
		name     string
		env      map[string]string
		want     Events
		enabled  bool
		problems []string // a substring of each problem, in order; none for valid settings
	}{
		{name: "off by default", env: nil, want: Events{}},
		{name: "one receiver",
			env:     map[string]string{"ORDER_EVENTS_URL": "https://receiver.example/filedrop", "ORDER_EVENTS_SECRET": whsec},
			want:    Events{URLs: []secret.Value{"https://receiver.example/filedrop"}, Secrets: []secret.Value{whsec}},
			enabled: true},
		{name: "receivers with credentials in path and query, two secrets, the link",
			env:  map[string]string{"ORDER_EVENTS_URL": zap + " , " + flow, "ORDER_EVENTS_SECRET": secret32 + "," + whsec, "ORDER_EVENTS_INCLUDE_LINK": "true"},
			want: Events{URLs: []secret.Value{zap, flow}, Secrets: []secret.Value{secret32, whsec}, IncludeLink: true}, enabled: true},
		{name: "a local receiver",
			env:  map[string]string{"ORDER_EVENTS_URL": "http://127.0.0.1:3000/hook,http://[::1]:3000,http://localhost:3000", "ORDER_EVENTS_SECRET": whsec},
			want: Events{URLs: []secret.Value{"http://127.0.0.1:3000/hook", "http://[::1]:3000", "http://localhost:3000"}, Secrets: []secret.Value{whsec}}, enabled: true},
		{name: "Dataverse",
			env:  map[string]string{"DATAVERSE_URL": "https://contoso.crm4.dynamics.com/", "DATAVERSE_CLIENT_ID": clientID, "DATAVERSE_ORDER_TABLE": "cr1a2_orders"},
			want: Events{Dataverse: Dataverse{URL: "https://contoso.crm4.dynamics.com", ClientID: clientID, OrderTable: "cr1a2_orders"}}, enabled: true},
		{name: "Dataverse by its Web API endpoint",
			env:  map[string]string{"DATAVERSE_URL": "https://contoso.api.crm.dynamics.com/api/data/v9.2/"},
			want: Events{Dataverse: Dataverse{URL: "https://contoso.api.crm.dynamics.com"}}, enabled: true},
		{name: "the link alone turns nothing on", env: map[string]string{"ORDER_EVENTS_INCLUDE_LINK": "true"}, want: Events{IncludeLink: true}},

		{name: "a receiver over http", env: map[string]string{"ORDER_EVENTS_URL": "http://receiver.example/" + mark, "ORDER_EVENTS_SECRET": whsec},
			problems: []string{`ORDER_EVENTS_URL must be an https URL (http only to 127.0.0.1, ::1 or localhost, for a local receiver), not "http://receiver.example/****"`}},
		{name: "a receiver that is no URL", env: map[string]string{"ORDER_EVENTS_URL": "receiver.example", "ORDER_EVENTS_SECRET": whsec},
			problems: []string{"ORDER_EVENTS_URL must be an absolute URL"}},
		{name: "a receiver with a password", env: map[string]string{"ORDER_EVENTS_URL": "https://u:" + mark + "@receiver.example", "ORDER_EVENTS_SECRET": whsec},
			problems: []string{`ORDER_EVENTS_URL must have no user info or fragment (a query is fine), not "https://receiver.example/****"`}},
		{name: "an empty entry", env: map[string]string{"ORDER_EVENTS_URL": "https://a.example,,https://b.example", "ORDER_EVENTS_SECRET": whsec},
			problems: []string{"ORDER_EVENTS_URL has an empty entry (entry 2 of 3)"}},
		{name: "a receiver twice", env: map[string]string{"ORDER_EVENTS_URL": zap + "," + zap, "ORDER_EVENTS_SECRET": whsec},
			problems: []string{`ORDER_EVENTS_URL lists "https://hooks.zapier.com/****" twice (entry 2 of 2)`}},
		{name: "too many receivers", env: map[string]string{"ORDER_EVENTS_URL": strings.Repeat("https://a.example,", 10) + "https://b.example", "ORDER_EVENTS_SECRET": whsec},
			problems: []string{"ORDER_EVENTS_URL lists 11 URLs; at most 10"}},
		{name: "no secret", env: map[string]string{"ORDER_EVENTS_URL": "https://receiver.example"},
			problems: []string{"ORDER_EVENTS_SECRET is required with ORDER_EVENTS_URL: the whsec_ secret the receiver verifies the webhooks with; make one with: echo whsec_$(openssl rand -base64 32)"}},
		{name: "a secret without receiver", env: map[string]string{"ORDER_EVENTS_SECRET": whsec},
			problems: []string{"ORDER_EVENTS_SECRET is set but ORDER_EVENTS_URL is not"}},
		{name: "a secret without prefix", env: map[string]string{"ORDER_EVENTS_URL": "https://receiver.example", "ORDER_EVENTS_SECRET": "MfKQ9r8GKYqrTwjUPD8ILPZIo2La" + mark},
			problems: []string{"ORDER_EVENTS_SECRET must be whsec_ secrets separated by commas; entry 1 of 1 does not start with whsec_"}},
		{name: "a secret not base64", env: map[string]string{"ORDER_EVENTS_URL": "https://receiver.example", "ORDER_EVENTS_SECRET": whsec + ",whsec_" + mark + "!"},
			problems: []string{"ORDER_EVENTS_SECRET has an entry 2 of 2 that is not whsec_ followed by standard base64"}},
		{name: "a short secret", env: map[string]string{"ORDER_EVENTS_URL": "https://receiver.example", "ORDER_EVENTS_SECRET": "whsec_AAAAAAAAAAAAAAAAAAAAAA=="},
			problems: []string{"ORDER_EVENTS_SECRET has an entry 1 of 1 whose key is 16 bytes; it must be 24 to 64 random bytes"}},
		{name: "an empty secret entry", env: map[string]string{"ORDER_EVENTS_URL": "https://receiver.example", "ORDER_EVENTS_SECRET": whsec + ","},
			problems: []string{"ORDER_EVENTS_SECRET has an empty entry 2 of 2"}},
		{name: "the link not a bool", env: map[string]string{"ORDER_EVENTS_INCLUDE_LINK": "yes please"},
			problems: []string{`ORDER_EVENTS_INCLUDE_LINK must be true or false, not "yes please"`}},
		{name: "Dataverse over http", env: map[string]string{"DATAVERSE_URL": "http://contoso.crm.dynamics.com"},
			problems: []string{`DATAVERSE_URL must be the environment URL, https://<org>.crm.dynamics.com`}},
		{name: "Dataverse with a token", env: map[string]string{"DATAVERSE_URL": "https://contoso.crm.dynamics.com/?token=" + mark},
			problems: []string{"DATAVERSE_URL must be the environment URL"}},
		{name: "Dataverse's app URL", env: map[string]string{"DATAVERSE_URL": "https://contoso.crm.dynamics.com/main.aspx"},
			problems: []string{`DATAVERSE_URL must be the environment URL, https://<org>.crm.dynamics.com (Power Apps > Settings > Session details; the Web API endpoint .../api/data/v9.2 also works), not "https://contoso.crm.dynamics.com/main.aspx"`}},
		{name: "a client id that is none", env: map[string]string{"DATAVERSE_URL": "https://contoso.crm.dynamics.com", "DATAVERSE_CLIENT_ID": "my-identity"},
			problems: []string{`DATAVERSE_CLIENT_ID must be the client id (a GUID)`}},
		{name: "a table by its display name", env: map[string]string{"DATAVERSE_URL": "https://contoso.crm.dynamics.com", "DATAVERSE_ORDER_TABLE": "Orders"},
			problems: []string{`DATAVERSE_ORDER_TABLE must be the entity set name of a custom table, such as cr1a2_orders`}},
		{name: "Dataverse settings without the URL", env: map[string]string{"DATAVERSE_CLIENT_ID": clientID, "DATAVERSE_ORDER_TABLE": "cr1a2_orders"},
			problems: []string{"DATAVERSE_CLIENT_ID is set but DATAVERSE_URL is not", "DATAVERSE_ORDER_TABLE is set but DATAVERSE_URL is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &loader{get: func(k string) string { return tt.env[k] }}
			got := loadEvents(l)
			if len(tt.problems) == 0 {
				require.Empty(t, l.errs)
				require.Equal(t, tt.want, got)
				require.Equal(t, tt.enabled, got.Enabled())
				return
			}
			require.Len(t, l.errs, len(tt.problems), "%v", l.errs)
			for i, p := range tt.problems {
				require.Contains(t, l.errs[i].Error(), p)
				require.NotContains(t, l.errs[i].Error(), mark)
			}
			require.NotContains(t, fmt.Sprintf("%v %+v %#v", got, got, got), mark)
		})
	}
}

func TestRedactEvents(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"ORDER_EVENTS_URL", "https://hooks.zapier.com/hooks/catch/1/" + mark + "/", "https://hooks.zapier.com/****"},
		{"ORDER_EVENTS_URL", "https://a.example,https://x.logic.azure.com:443/w?sig=" + mark, "https://a.example,https://x.logic.azure.com:443/****"},
		{"ORDER_EVENTS_URL", "https://u:" + mark + "@a.example", "https://a.example/****"},
		{"ORDER_EVENTS_URL", "%zz" + mark, Masked},
		{"ORDER_EVENTS_SECRET", "whsec_" + mark + ",whsec_x", "whsec_…"},
		{"DATAVERSE_URL", "https://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com"},
		{"DATAVERSE_ORDER_TABLE", "cr1a2_orders", "cr1a2_orders"},
	}
	for _, tt := range tests {
		got := Redact(tt.name, tt.value)
		require.Equal(t, tt.want, got, "%s=%s", tt.name, tt.value)
		require.NotContains(t, got, mark)
	}
	require.False(t, Printable("ORDER_EVENTS_URL", "https://receiver.example"), "a receiver's URL is never printed whole")
	require.False(t, Printable("ORDER_EVENTS_SECRET", "whsec_x"))
	require.True(t, Printable("DATAVERSE_URL", "https://contoso.crm.dynamics.com"))
	require.True(t, Printable("DATAVERSE_CLIENT_ID", "11111111-2222-3333-4444-555555555555"))
}

// TestLoadReportsEventProblems: the events' problems reach Load's error
// with the others, and a valid setting turns the events on.
func TestLoadReportsEventProblems(t *testing.T) {
	env := map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_a", "STRIPE_API_KEY": "sk_test_1", "AzureWebJobsStorage": "UseDevelopmentStorage=true",
		"EMAIL_SENDER": "a@shop.example", "EMAIL_OUTBOX_DIR": "o", "PUBLIC_BASE_URL": "http://127.0.0.1:7071", "ORDER_LINK_SECRET": strings.Repeat("s", 32)}
	c, err := Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.False(t, c.Events.Enabled(), "off by default")
	env["DATAVERSE_URL"] = "https://contoso.crm.dynamics.com"
	c, err = Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.True(t, c.Events.Enabled())
	env["ORDER_EVENTS_URL"] = "https://receiver.example"
	_, err = Load(func(k string) string { return env[k] })
	require.ErrorContains(t, err, "ORDER_EVENTS_SECRET is required with ORDER_EVENTS_URL")
}
