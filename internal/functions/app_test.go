package functions

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop"
)

func TestLoadAppFromTheShippedFiles(t *testing.T) {
	app, err := LoadApp(filedrop.AppFiles, func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, app.FunctionTimeout)
	require.Equal(t, QueueSettings{MessageEncoding: "base64", MaxDequeueCount: 5, VisibilityTimeout: 30 * time.Second,
		MaxPollingInterval: 2 * time.Second, BatchSize: 16}, app.Queues)

	cc := app.Functions["CheckoutComplete"]
	require.Equal(t, "httpTrigger", cc.Trigger)
	require.Equal(t, 2, cc.Bindings, "forwarding needs exactly one httpTrigger and one http output")
	require.Equal(t, []string{"post"}, cc.Methods)

	for _, name := range []string{"ProcessOrder", "SendLink", "DeliveryReport", "OrderEvents"} {
		f := app.Functions[name]
		require.Equal(t, "queueTrigger", f.Trigger, name)
		require.Equal(t, "binary", f.DataType, name)
		require.Equal(t, "AzureWebJobsStorage", f.Connection, name)
		require.Equal(t, f.Queue+"-poison", f.PoisonQueue())
	}
	require.Len(t, app.QueueFunctions(), 4)
	require.Equal(t, "order-events", app.Functions["OrderEvents"].Queue)
	require.Equal(t, "delivery-reports", app.Functions["DeliveryReport"].Queue, "the queue the Event Grid subscription writes to (infra/azuredeploy.json)")

	rc := app.Functions["Reconcile"]
	require.Equal(t, "timerTrigger", rc.Trigger)
	require.Equal(t, "timer", rc.Binding)
	require.Equal(t, "%RECONCILE_SCHEDULE%", rc.Schedule, "unset: left for the caller's default")
	require.Equal(t, "RECONCILE_SCHEDULE", rc.ScheduleSetting)
	require.False(t, rc.RunOnStartup, "runOnStartup is for local debugging only")
	require.Equal(t, []Function{rc}, app.TimerFunctions())

	app, err = LoadApp(filedrop.AppFiles, func(k string) string {
		if k == "RECONCILE_SCHEDULE" {
			return "0 */5 * * * *"
		}
		return ""
	})
	require.NoError(t, err)
	require.Equal(t, "0 */5 * * * *", app.Functions["Reconcile"].Schedule)
}

func TestLoadAppErrors(t *testing.T) {
	host := &fstest.MapFile{Data: []byte(`{"version":"2.0"}`)}
	queueFn := func(q string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(`{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"` + q + `","connection":"AzureWebJobsStorage"}]}`)}
	}
	tests := []struct {
		name    string
		files   fstest.MapFS
		env     map[string]string
		wantErr string
		check   func(t *testing.T, a App)
	}{
		{name: "no host.json", files: fstest.MapFS{}, wantErr: "host.json"},
		{name: "wrong version", files: fstest.MapFS{"host.json": {Data: []byte(`{"version":"1.0"}`)}}, wantErr: "version"},
		{name: "bad time span", files: fstest.MapFS{"host.json": {Data: []byte(`{"version":"2.0","functionTimeout":"5m"}`)}}, wantErr: "functionTimeout"},
		{name: "no functions", files: fstest.MapFS{"host.json": host}, wantErr: "no */function.json"},
		{name: "bad queue name", files: fstest.MapFS{"host.json": host, "F/function.json": queueFn("Bad_Name")}, wantErr: "not a valid queue name"},
		{name: "queue name from an unset setting", files: fstest.MapFS{"host.json": host, "F/function.json": queueFn("%ORDERS_QUEUE%")}, wantErr: "ORDERS_QUEUE"},
		{name: "queue name from a setting", files: fstest.MapFS{"host.json": host, "F/function.json": queueFn("%ORDERS_QUEUE%")},
			env: map[string]string{"ORDERS_QUEUE": "orders-x"}, check: func(t *testing.T, a App) {
				require.Equal(t, "orders-x", a.Functions["F"].Queue)
				require.Equal(t, time.Minute, a.Queues.MaxPollingInterval, "extension default")
			}},
		{name: "unbounded", files: fstest.MapFS{"host.json": {Data: []byte(`{"version":"2.0","functionTimeout":"-1"}`)}, "F/function.json": queueFn("orders")},
			check: func(t *testing.T, a App) { require.Zero(t, a.FunctionTimeout) }},
		{name: "days in a time span", files: fstest.MapFS{"host.json": {Data: []byte(`{"version":"2.0","functionTimeout":"1.02:00:00"}`)}, "F/function.json": queueFn("orders")},
			check: func(t *testing.T, a App) { require.Equal(t, 26*time.Hour, a.FunctionTimeout) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := LoadApp(tc.files, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, a)
		})
	}
}
