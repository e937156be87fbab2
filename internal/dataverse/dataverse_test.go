package dataverse_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/dataverse"
	"github.com/filedrop/filedrop/internal/dataverse/dataversetest"
	"github.com/filedrop/filedrop/internal/order"
	"github.com/filedrop/filedrop/internal/order/ordertest"
)

const orders = "cr1a2_orders"

// fakeCredential hands out the server's token for the environment's scope
// and fails the test for any other scope.
type fakeCredential struct {
	t     *testing.T
	scope string
	token string
	err   error

	mu    sync.Mutex
	calls int
}

func (c *fakeCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if !slices.Equal(opts.Scopes, []string{c.scope}) {
		c.t.Errorf("token scopes %v, want [%s]", opts.Scopes, c.scope)
	}
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type env struct {
	srv    *dataversetest.Server
	cred   *fakeCredential
	client *dataverse.Client
	now    time.Time
}

// newEnv starts a server with the tables and a client for it; table is
// the client's DATAVERSE_ORDER_TABLE ("" for none).
func newEnv(t *testing.T, table string, tables ...dataversetest.Table) *env {
	e := &env{srv: dataversetest.New(t, tables...), now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	require.True(t, strings.HasPrefix(e.srv.URL, "https://127.0.0.1:"))
	e.cred = &fakeCredential{t: t, scope: e.srv.URL + "/.default", token: dataversetest.Token}
	c, err := dataverse.New(e.srv.URL, e.cred, &dataverse.Options{
		HTTPClient: e.srv.Client(), OrderTable: table, Timeout: 5 * time.Second,
		Now: func() time.Time { return e.now },
	})
	require.NoError(t, err)
	e.client = c
	return e
}

// requests returns the method and URI of each request so far.
func (e *env) requests() []string {
	var out []string
	for _, r := range e.srv.Requests() {
		out = append(out, r.Method+" "+r.URI)
	}
	return out
}

func event(typ order.EventType, email, name string, at time.Time) order.Event {
	e := order.Event{
		Version: order.EventVersion,
		ID:      order.NewEventID("cs_test_a1", typ, at.String()),
		Type:    typ,
		Time:    at,
		Order: order.EventOrder{SessionID: "cs_test_a1", State: order.StateLinksReady, AmountTotal: 1999, Currency: "eur",
			PaidAt: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)},
		Customer: order.EventCustomer{Email: email, Name: name},
	}
	if typ == order.TypeRefunded {
		e.Refund = &order.EventRefund{AmountRefunded: 1999, Full: true}
	}
	return e
}

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// TestContact: one contact per customer, found case-insensitively, with or
// without the alternate key, whatever the address holds.
func TestContact(t *testing.T) {
	tests := []struct {
		name      string
		email     string
		custName  string
		seed      []dataversetest.Row // contacts there before
		want      []dataversetest.Row // contacts after, without ids and dates
		created   bool
		dup       bool
		skipped   string
		keyPath   bool // the address can be a key: the key upsert is tried
		noRequest bool
	}{
		{name: "a new customer", email: "ada@example.com", custName: "Ada King Lovelace",
			want: []dataversetest.Row{{"emailaddress1": "ada@example.com", "firstname": "Ada King", "lastname": "Lovelace"}}, created: true, keyPath: true},
		{name: "a known customer, another case", email: "Ada@Example.com", custName: "Ada Lovelace",
			seed: []dataversetest.Row{{"emailaddress1": "ada@example.com", "firstname": "A", "lastname": "L"}},
			want: []dataversetest.Row{{"emailaddress1": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}}, keyPath: true},
		{name: "a single name", email: "cher@example.com", custName: "Cher",
			want: []dataversetest.Row{{"emailaddress1": "cher@example.com", "lastname": "Cher"}}, created: true, keyPath: true},
		{name: "no name, known customer: left alone", email: "ada@example.com",
			seed: []dataversetest.Row{{"emailaddress1": "ada@example.com", "firstname": "A", "lastname": "L"}},
			want: []dataversetest.Row{{"emailaddress1": "ada@example.com", "firstname": "A", "lastname": "L"}}, keyPath: true},
		{name: "long names are cut", email: "long@example.com", custName: strings.Repeat("é", 60) + " " + strings.Repeat("ß", 51),
			want: []dataversetest.Row{{"emailaddress1": "long@example.com", "firstname": strings.Repeat("é", 50), "lastname": strings.Repeat("ß", 50)}}, created: true, keyPath: true},
		{name: "a quote in the address", email: "o'brien@example.com", custName: "Pat O'Brien",
			want: []dataversetest.Row{{"emailaddress1": "o'brien@example.com", "firstname": "Pat", "lastname": "O'Brien"}}, created: true, keyPath: true},
		{name: "plus addressing: no key lookup", email: "ada+shop@example.com", custName: "Ada",
			want: []dataversetest.Row{{"emailaddress1": "ada+shop@example.com", "lastname": "Ada"}}, created: true},
		{name: "a slash and a percent: no key lookup", email: "a/b%c@example.com", custName: "Ab",
			seed: []dataversetest.Row{{"emailaddress1": "A/B%C@example.com"}},
			want: []dataversetest.Row{{"emailaddress1": "A/B%C@example.com", "lastname": "Ab"}}},
		{name: "an address too long for the column", email: strings.Repeat("a", 90) + "@example.com", custName: "A",
			skipped: "the address is longer than contact.emailaddress1's 100 characters", noRequest: true},
		{name: "no address", noRequest: true},
	}
	for _, key := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(map[bool]string{true: "key", false: "no key"}[key]+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, "", dataversetest.Contacts(key))
				var seeded []string
				for _, row := range tt.seed {
					seeded = append(seeded, e.srv.Insert("contacts", row))
				}
				res, err := e.client.Upsert(t.Context(), event(order.TypePaid, tt.email, tt.custName, t0))
				require.NoError(t, err)
				require.Equal(t, tt.skipped, res.ContactSkipped)
				if tt.noRequest {
					require.Empty(t, e.srv.Requests())
					require.Empty(t, res.ContactID)
					return
				}
				var got []dataversetest.Row
				for _, row := range e.srv.Rows("contacts") {
					delete(row, "contactid")
					delete(row, "createdon")
					got = append(got, row)
				}
				require.Equal(t, tt.want, got)
				require.Equal(t, tt.created, res.ContactCreated)
				if len(seeded) > 0 {
					require.Equal(t, seeded[0], res.ContactID)
				}
				usedKey := slices.ContainsFunc(e.requests(), func(r string) bool { return strings.Contains(r, "contacts(emailaddress1=") })
				require.Equal(t, tt.keyPath, usedKey, "%v", e.requests())
				usedFilter := slices.ContainsFunc(e.requests(), func(r string) bool { return strings.Contains(r, "$filter=") })
				require.Equal(t, !key || !tt.keyPath, usedFilter, "found by $filter without a key, or for an address a key cannot hold: %v", e.requests())
			})
		}
	}
}

// TestContactDuplicatesBefore: with two contacts of one address made by
// others, the oldest is updated and the duplicate reported.
func TestContactDuplicatesBefore(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(false))
	oldest := e.srv.Insert("contacts", dataversetest.Row{"emailaddress1": "ada@example.com"})
	e.srv.Insert("contacts", dataversetest.Row{"emailaddress1": "ADA@example.com"})
	res, err := e.client.Upsert(t.Context(), event(order.TypePaid, "ada@example.com", "Ada", t0))
	require.NoError(t, err)
	require.Equal(t, dataverse.Result{ContactID: oldest, DuplicateContacts: true}, res)
	require.Len(t, e.srv.Rows("contacts"), 2, "no third")
}

// TestContactRaceWithoutKey: another delivery creates the contact between
// this one's lookup and its create; the create loses (412), the lookup
// that follows finds the winner, and there is one contact.
func TestContactRaceWithoutKey(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(false))
	const email = "ada@example.com"
	var once sync.Once
	e.srv.BeforeEach(func(r dataversetest.Request) {
		if r.Header.Get("If-None-Match") == "*" {
			once.Do(func() {
				e.srv.Insert("contacts", dataversetest.Row{"contactid": dataverse.ContactID(email, 0), "emailaddress1": email})
			})
		}
	})
	res, err := e.client.Upsert(t.Context(), event(order.TypePaid, email, "Ada Lovelace", t0))
	require.NoError(t, err)
	require.Equal(t, dataverse.Result{ContactID: dataverse.ContactID(email, 0)}, res)
	rows := e.srv.Rows("contacts")
	require.Len(t, rows, 1)
	require.Equal(t, "Lovelace", rows[0]["lastname"])
	require.Equal(t, []string{
		"GET /api/data/v9.2/contacts?$select=contactid&$filter=emailaddress1%20eq%20'ada%40example.com'&$orderby=createdon%20asc&$top=2",
		"PATCH /api/data/v9.2/contacts(" + dataverse.ContactID(email, 0) + ")",
		"GET /api/data/v9.2/contacts?$select=contactid&$filter=emailaddress1%20eq%20'ada%40example.com'&$orderby=createdon%20asc&$top=2",
		"PATCH /api/data/v9.2/contacts(" + dataverse.ContactID(email, 0) + ")",
	}, e.requests()[2:], "after the two tries of the key")
}

// TestContactConcurrentDeliveries: many deliveries of one customer's
// events at once make one contact, with or without the key.
func TestContactConcurrentDeliveries(t *testing.T) {
	for _, key := range []bool{true, false} {
		e := newEnv(t, "", dataversetest.Contacts(key))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				_, err := e.client.Upsert(context.Background(), event(order.TypePaid, "ada+x@example.com", "Ada", t0.Add(time.Duration(i))))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, e.srv.Rows("contacts"), 1, "key %v", key)
	}
}

// TestContactIDTaken: the contact this client created got another address
// by hand; the customer's next contact takes the next id.
func TestContactIDTaken(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(false))
	const email = "ada@example.com"
	e.srv.Insert("contacts", dataversetest.Row{"contactid": dataverse.ContactID(email, 0), "emailaddress1": "ada.lovelace@example.org"})
	res, err := e.client.Upsert(t.Context(), event(order.TypePaid, email, "Ada", t0))
	require.NoError(t, err)
	require.Equal(t, dataverse.Result{ContactID: dataverse.ContactID(email, 1), ContactCreated: true}, res)
	require.Len(t, e.srv.Rows("contacts"), 2)
}

// TestContactIDs pins the derivation (Python uuid.uuid5 agrees): a changed one would create a second
// contact for every customer created before the change.
func TestContactIDs(t *testing.T) {
	require.Equal(t, "760b1054-b077-54ca-85df-504b314df4ee", dataverse.ContactID("Ada@Example.com", 0))
	require.Equal(t, dataverse.ContactID("ada@example.com", 0), dataverse.ContactID(" ADA@example.com ", 0))
	require.NotEqual(t, dataverse.ContactID("ada@example.com", 0), dataverse.ContactID("ada@example.com", 1))
}

// TestKeyNotDefined: the service calls the email key not valid twice; the
// client writes without it, and keeps to that for an hour before it tries
// the key again.
func TestKeyNotDefined(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(false))
	_, err := e.client.Upsert(t.Context(), event(order.TypePaid, "ada@example.com", "Ada", t0))
	require.NoError(t, err)
	keyTries := func() int {
		n := 0
		for _, r := range e.requests() {
			if strings.Contains(r, "contacts(emailaddress1=") {
				n++
			}
		}
		return n
	}
	require.Equal(t, 2, keyTries(), "tried twice (the service refuses a valid key now and then)")
	_, err = e.client.Upsert(t.Context(), event(order.TypeLinksReady, "ada@example.com", "Ada", t0))
	require.NoError(t, err)
	require.Equal(t, 2, keyTries(), "not again within the hour")
	e.now = e.now.Add(61 * time.Minute)
	_, err = e.client.Upsert(t.Context(), event(order.TypeLinksReady, "ada@example.com", "Ada", t0))
	require.NoError(t, err)
	require.Equal(t, 4, keyTries(), "again after the hour")
	require.Len(t, e.srv.Rows("contacts"), 1)
}

// TestKeyRefusedOnce: a valid key refused once under load is tried again,
// not given up.
func TestKeyRefusedOnce(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(true))
	e.srv.Fail(1, dataversetest.Fault{Status: 400, Code: "0x8006088a"})
	res, err := e.client.Upsert(t.Context(), event(order.TypePaid, "ada@example.com", "Ada", t0))
	require.NoError(t, err)
	require.True(t, res.ContactCreated)
	require.Len(t, e.requests(), 2)
	require.Contains(t, e.requests()[1], "contacts(emailaddress1=")
}

func orderRow(t *testing.T, e *env) dataversetest.Row {
	rows := e.srv.Rows(orders)
	require.Len(t, rows, 1)
	row := rows[0]
	delete(row, "cr1a2_orderid")
	delete(row, "createdon")
	return row
}

// TestOrderRow: one row per order, written by each event in time order; an
// event older than the row's is not written over it.
func TestOrderRow(t *testing.T) {
	e := newEnv(t, orders, dataversetest.Contacts(true), dataversetest.OrderTable(orders, true))
	paid := event(order.TypePaid, "ada@example.com", "Ada", t0)
	res, err := e.client.Upsert(t.Context(), paid)
	require.NoError(t, err)
	require.True(t, res.OrderWritten)
	require.Equal(t, dataversetest.Row{
		"cr1a2_sessionid": "cs_test_a1", "cr1a2_state": "links_ready", "cr1a2_lastevent": "order.paid",
		"cr1a2_eventtime": "2026-05-01T10:00:00Z", "cr1a2_amount": float64(1999), "cr1a2_currency": "eur",
		"cr1a2_email": "ada@example.com", "cr1a2_paidat": "2026-05-01T09:00:00Z",
	}, orderRow(t, e))

	refunded := event(order.TypeRefunded, "ada@example.com", "Ada", t0.Add(time.Hour+time.Nanosecond))
	refunded.Order.State = order.StateMailSent
	res, err = e.client.Upsert(t.Context(), refunded)
	require.NoError(t, err)
	require.True(t, res.OrderWritten)
	want := dataversetest.Row{
		"cr1a2_sessionid": "cs_test_a1", "cr1a2_state": "mail_sent", "cr1a2_lastevent": "order.refunded",
		"cr1a2_eventtime": "2026-05-01T11:00:00.000000001Z", "cr1a2_amount": float64(1999), "cr1a2_currency": "eur",
		"cr1a2_refunded": float64(1999), "cr1a2_email": "ada@example.com", "cr1a2_paidat": "2026-05-01T09:00:00Z",
	}
	require.Equal(t, want, orderRow(t, e))

	// The paid event delivered again after the refund (a retry that came
	// late): one nanosecond earlier is earlier.
	late := event(order.TypeLinksReady, "ada@example.com", "Ada", t0.Add(time.Hour))
	res, err = e.client.Upsert(t.Context(), late)
	require.NoError(t, err)
	require.False(t, res.OrderWritten)
	require.Equal(t, want, orderRow(t, e), "the row is not taken back")

	res, err = e.client.Upsert(t.Context(), refunded)
	require.NoError(t, err)
	require.True(t, res.OrderWritten, "the same event again is written again, to the same effect")
	require.Equal(t, want, orderRow(t, e))
}

// TestOrderRowRace: another writer changes the row between this client's
// read and write: the write is refused (412) and done again on the new
// version.
func TestOrderRowRace(t *testing.T) {
	e := newEnv(t, orders, dataversetest.Contacts(true), dataversetest.OrderTable(orders, true))
	_, err := e.client.Upsert(t.Context(), event(order.TypePaid, "", "", t0))
	require.NoError(t, err)
	id := e.srv.Rows(orders)[0]["cr1a2_orderid"].(string)
	var once sync.Once
	e.srv.BeforeEach(func(r dataversetest.Request) {
		if strings.HasPrefix(r.Header.Get("If-Match"), `W/"`) {
			once.Do(func() { e.srv.Update(orders, id, dataversetest.Row{"cr1a2_state": "received"}) })
		}
	})
	res, err := e.client.Upsert(t.Context(), event(order.TypeLinksReady, "", "", t0.Add(time.Minute)))
	require.NoError(t, err)
	require.True(t, res.OrderWritten)
	require.Equal(t, "order.links_ready", orderRow(t, e)["cr1a2_lastevent"])
	var ifMatch []string
	for _, r := range e.srv.Requests() {
		if v := r.Header.Get("If-Match"); v != "" {
			ifMatch = append(ifMatch, v)
		}
	}
	require.Len(t, ifMatch, 2, "written twice: once refused")
	require.NotEqual(t, ifMatch[0], ifMatch[1])
}

// TestOrderConcurrentDeliveries: the events of one order delivered at once
// leave one row, holding the latest. A writer that loses every round to the
// others fails as transient, and its message comes back after a back-off
// (within the retry budget); this test delivers it again, up to 5 times.
func TestOrderConcurrentDeliveries(t *testing.T) {
	e := newEnv(t, orders, dataversetest.Contacts(true), dataversetest.OrderTable(orders, true))
	types := []order.EventType{order.TypePaid, order.TypeLinksReady, order.TypeMailAccepted, order.TypeMailDelivered}
	const deliveries = 5
	var wg sync.WaitGroup
	errs := make(chan error, len(types))
	for i, typ := range types {
		wg.Go(func() {
			ev := event(order.TypePaid, "ada@example.com", "Ada", t0.Add(time.Duration(i)*time.Second))
			ev.Type = typ
			if typ == order.TypeMailAccepted || typ == order.TypeMailDelivered {
				ev.Mail = &order.EventMail{Kind: order.MailDownloadLinks, Generation: 1}
			}
			var err error
			for range deliveries {
				if _, err = e.client.Upsert(context.Background(), ev); order.Classify(err) != order.ClassTransient {
					break
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, "order.mail_delivered", orderRow(t, e)["cr1a2_lastevent"])
}

// TestErrors: each failure is classified once, as the domain's error, and
// none quotes the customer's address.
func TestErrors(t *testing.T) {
	const email = "secret.customer@example.com"
	tests := []struct {
		name       string
		table      string                // the client's order table
		tables     []dataversetest.Table // the server's
		fault      *dataversetest.Fault
		cred       error
		token      string
		class      order.Class
		setting    string
		retryAfter time.Duration
		text       string
	}{
		{name: "429 with Retry-After", fault: &dataversetest.Fault{Status: 429, RetryAfter: "7"}, class: order.ClassThrottled, retryAfter: 7 * time.Second, text: "0x80072322"},
		{name: "429 without", fault: &dataversetest.Fault{Status: 429}, class: order.ClassThrottled, retryAfter: dataverse.DefaultRetryAfter},
		{name: "500", fault: &dataversetest.Fault{Status: 500}, class: order.ClassTransient},
		{name: "503", fault: &dataversetest.Fault{Status: 503, RetryAfter: "3"}, class: order.ClassTransient},
		{name: "408", fault: &dataversetest.Fault{Status: 408}, class: order.ClassTransient},
		{name: "403", fault: &dataversetest.Fault{Status: 403, Code: "0x80040220"}, class: order.ClassMisconfigured, setting: dataverse.URLSetting, text: "lacks a privilege"},
		{name: "a token the environment refuses", token: "another", class: order.ClassMisconfigured, setting: dataverse.URLSetting, text: "add it as an application user"},
		{name: "no managed identity", cred: azidentity.NewCredentialUnavailableError("no managed identity endpoint"), class: order.ClassMisconfigured, setting: dataverse.ClientIDSetting, text: "no managed identity endpoint"},
		{name: "the identity endpoint is down", cred: errors.New("dial tcp 169.254.169.254:80: i/o timeout"), class: order.ClassTransient},
		{name: "400 on contacts", fault: &dataversetest.Fault{Status: 400, Code: "0x80044331"}, class: order.ClassPermanent},
		{name: "an order table without key", table: orders, tables: []dataversetest.Table{dataversetest.Contacts(true), dataversetest.OrderTable(orders, false)},
			class: order.ClassMisconfigured, setting: dataverse.TableSetting, text: "define an alternate key on cr1a2_sessionid"},
		{name: "an order table that does not exist", table: "cr1a2_purchases", class: order.ClassMisconfigured, setting: dataverse.TableSetting, text: "the entity set does not exist"},
		{name: "an order table without a column", table: orders, tables: []dataversetest.Table{dataversetest.Contacts(true), withoutColumn(dataversetest.OrderTable(orders, true), "cr1a2_refunded")},
			class: order.ClassMisconfigured, setting: dataverse.TableSetting, text: "The property 'cr1a2_refunded' does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tables := tt.tables
			if tables == nil {
				tables = []dataversetest.Table{dataversetest.Contacts(true), dataversetest.OrderTable(orders, true)}
			}
			e := newEnv(t, tt.table, tables...)
			if tt.fault != nil {
				e.srv.Fail(1, *tt.fault)
			}
			e.cred.err = tt.cred
			if tt.token != "" {
				e.cred.token = tt.token
			}
			ev := event(order.TypeRefunded, email, "Ada", t0)
			err := e.client.Deliver(t.Context(), ev)
			ordertest.RequireClass(t, err, tt.class, tt.setting, tt.retryAfter)
			require.NotContains(t, err.Error(), "secret.customer")
			require.Contains(t, err.Error(), tt.text)
			if tt.token != "" {
				require.Equal(t, 2, e.cred.calls, "a refused token is fetched again once")
			}
		})
	}
}

func withoutColumn(t dataversetest.Table, name string) dataversetest.Table {
	t.Columns = slices.DeleteFunc(slices.Clone(t.Columns), func(c dataversetest.Column) bool { return c.Name == name })
	return t
}

// TestNetworkFault: nobody listening is transient, and the error does not
// quote the URL (whose key holds the address).
func TestNetworkFault(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(true))
	e.srv.Close()
	err := e.client.Deliver(t.Context(), event(order.TypePaid, "secret.customer@example.com", "Ada", t0))
	require.Equal(t, order.ClassTransient, order.Classify(err), "%v", err)
	require.NotContains(t, err.Error(), "secret.customer")
}

// TestCallerGivesUp: the caller's cancelled context is the caller's error,
// not a transient fault of the service.
func TestCallerGivesUp(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(true))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := e.client.Deliver(ctx, event(order.TypePaid, "ada@example.com", "Ada", t0))
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, order.ClassRetryable, order.Classify(err))
}

func TestInvalidEventIsPermanent(t *testing.T) {
	e := newEnv(t, "", dataversetest.Contacts(true))
	ev := event(order.TypePaid, "ada@example.com", "Ada", t0)
	ev.Version = 0
	err := e.client.Deliver(t.Context(), ev)
	require.True(t, order.IsPermanent(err))
	require.Empty(t, e.srv.Requests())
}

func TestEnvironmentURL(t *testing.T) {
	tests := []struct{ in, want, problem string }{
		{"https://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com", ""},
		{"https://contoso.crm4.dynamics.com/", "https://contoso.crm4.dynamics.com", ""},
		{"https://contoso.api.crm.dynamics.com/api/data/v9.2/", "https://contoso.api.crm.dynamics.com", ""},
		{"https://contoso.crm.dynamics.com/api/data/v9.2", "https://contoso.crm.dynamics.com", ""},
		{"http://contoso.crm.dynamics.com", "", "not an https URL"},
		{"contoso.crm.dynamics.com", "", "not an absolute URL"},
		{"https://contoso.crm.dynamics.com/main.aspx", "", `the path "/main.aspx"`},
		{"https://contoso.crm.dynamics.com/api/data/v9.1", "", "the path"},
		{"https://u:p@contoso.crm.dynamics.com", "", "user info"},
		{"https://contoso.crm.dynamics.com?x=1", "", "a query"},
	}
	for _, tt := range tests {
		got, err := dataverse.EnvironmentURL(tt.in)
		if tt.problem != "" {
			require.ErrorContains(t, err, tt.problem, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
	}
	require.Equal(t, "https://contoso.crm.dynamics.com/.default", dataverse.Scope("https://contoso.crm.dynamics.com"))
	_, err := dataverse.New("https://contoso.crm.dynamics.com", nil, nil)
	require.ErrorContains(t, err, "no token credential")
}

func TestOrderColumns(t *testing.T) {
	c, err := dataverse.OrderColumns("cr1a2_orders")
	require.NoError(t, err)
	require.Equal(t, dataverse.Columns{SessionID: "cr1a2_sessionid", State: "cr1a2_state", LastEvent: "cr1a2_lastevent", EventTime: "cr1a2_eventtime",
		Amount: "cr1a2_amount", Currency: "cr1a2_currency", Refunded: "cr1a2_refunded", Email: "cr1a2_email", PaidAt: "cr1a2_paidat"}, c)
	c, err = dataverse.OrderColumns("New_Orders")
	require.NoError(t, err)
	require.Equal(t, "new_sessionid", c.SessionID, "logical names are lower case")
	for _, bad := range []string{"orders", "x_orders", "toolongprefix_orders", "cr1_", "cr1_orders(x)", "1cr_orders"} {
		_, err := dataverse.OrderColumns(bad)
		require.Error(t, err, bad)
	}
}
