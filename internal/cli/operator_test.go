package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/storage"
	"github.com/filedrop/filedrop/internal/storage/ledger"
	"github.com/filedrop/filedrop/internal/testenv"
)

// ops is an Azurite with the pipeline's queues, container and table, on
// which the operator's commands run.
type ops struct {
	settings map[string]string
	dir      string
	acct     storage.Account
	ledger   *ledger.Ledger
	queues   *storage.Queues
}

// newOps starts Azurite, runs handler setup on it and returns the handles
// the tests seed and check through. extra adds settings.
func newOps(t *testing.T, extra map[string]string) *ops {
	t.Helper()
	az := testenv.StartAzurite(t)
	o := &ops{settings: baseSettings(az.ConnectionString, t.TempDir()), dir: t.TempDir()}
	maps.Copy(o.settings, extra)
	_, stderr, err := o.run(t, "setup")
	require.NoError(t, err, stderr)
	o.acct, o.queues = az.Account(t), az.Queues(t)
	o.ledger, err = ledger.New(o.acct, "orders")
	require.NoError(t, err)
	return o
}

// run runs the handler with args to its end, within a minute, and returns
// what it printed.
func (o *ops) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	err = Run(ctx, Env{Args: args, Getenv: func(k string) string { return o.settings[k] }, Stdin: strings.NewReader(""),
		Stdout: &out, Stderr: &errs, Dir: o.dir})
	return out.String(), errs.String(), err
}

// exitCode is the process exit code err gives.
func exitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	}
	return ExitFailure
}

// seed writes records into the ledger as they are.
func (o *ops) seed(t *testing.T, recs ...order.Order) {
	t.Helper()
	for _, r := range recs {
		_, err := o.ledger.Create(context.Background(), r)
		require.NoError(t, err)
	}
}

// record reads a record from the ledger.
func (o *ops) record(t *testing.T, session string) order.Order {
	t.Helper()
	rec, err := o.ledger.Get(context.Background(), session)
	require.NoError(t, err)
	return rec
}

// peek returns the decoded payloads of the queue's visible messages.
func (o *ops) peek(t *testing.T, queue string) [][]byte {
	t.Helper()
	msgs, err := o.queues.Queue(queue).Peek(context.Background(), 32)
	require.NoError(t, err)
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = m.Data
	}
	return out
}

// orderMessages returns the order messages on the ProcessOrder queue.
func (o *ops) orderMessages(t *testing.T) []order.ProcessJob {
	t.Helper()
	var out []order.ProcessJob
	for _, data := range o.peek(t, "process-order") {
		m, err := order.DecodeProcessJob(data)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

// downloadMail is a valid download mail of one file, as JSON.
func downloadMail(t *testing.T, session string, generation int, expires time.Time) []byte {
	t.Helper()
	data, err := json.Marshal(order.MailJob{Version: 1, Kind: order.MailDownloadLinks, SessionID: session, EventID: "evt_" + session,
		Generation: generation, Customer: order.Customer{Email: "jane@example.com", Name: "Jane"},
		Items: []order.Item{{Title: "Harbour", FileName: "harbour.jpg",
			URL: fmt.Sprintf("https://acct.blob.core.windows.net/originals/harbour.jpg?sv=2024&sig=SECRET%s", session), ExpiresAt: expires}}})
	require.NoError(t, err)
	return data
}

func TestParseArgsTakesFlagsAnywhere(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"cs_test_1", "--json"}, []string{"cs_test_1"}},
		{[]string{"--json", "cs_test_1"}, []string{"cs_test_1"}},
		{[]string{"--json", "a", "--local", "b"}, []string{"a", "b"}},
		{nil, nil},
	}
	for _, tt := range tests {
		fs := flags(Env{Stderr: &bytes.Buffer{}}, "x", "x")
		local, asJSON := operatorFlags(fs)
		got, done, err := parseArgs(fs, tt.args)
		require.NoError(t, err)
		require.False(t, done)
		require.Equal(t, tt.want, got, tt.args)
		require.True(t, *asJSON || len(tt.args) == 0, tt.args)
		require.Equal(t, len(tt.args) == 4, *local, tt.args)
	}
}

func TestProgressReportsEveryNOrEverySecond(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	p := &progress{w: &out, every: 3, interval: time.Second, now: func() time.Time { return clock }, last: clock}
	for i := range 7 {
		if i == 4 {
			clock = clock.Add(2 * time.Second) // a slow item
		}
		p.step(func() string { return fmt.Sprint("at ", p.n) })
	}
	require.Equal(t, "at 3\nat 5\nat 6\n", out.String())
}

func TestOperatorCommandsWithoutStorage(t *testing.T) {
	closed := "http://127.0.0.1:" + testenv.FreePort(t) + "/" + testenv.DevAccountName
	o := &ops{dir: t.TempDir(), settings: baseSettings(fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;QueueEndpoint=%s;TableEndpoint=%s;",
		testenv.DevAccountName, testenv.DevAccountKey, closed, closed, closed), t.TempDir())}
	for _, args := range [][]string{
		{"orders", "list"}, {"orders", "show", "cs_test_1"}, {"resend", "cs_test_1"}, {"poison", "list"}, {"poison", "redrive"},
	} {
		_, _, err := o.run(t, args...)
		require.Equal(t, ExitFailure, exitCode(err), "%v: %v", args, err)
		require.ErrorContains(t, err, "is Azurite running?", args)
	}
}
