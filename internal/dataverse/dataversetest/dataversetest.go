// Package dataversetest is a local server that plays the Dataverse Web API
// (v9.2) for tests, built from the Microsoft Learn pages docs/dataverse.md
// lists. It checks what the real service checks, or more: a bearer token,
// the OData headers, entity sets and their columns, the alternate keys a
// table has (configurable: defined or not), and the encoding of string
// literals in the URL. It keeps rows in memory and implements the requests
// the Dataverse sink sends: GET of a collection with $select, $filter
// (one "column eq 'literal'", case-insensitive), $orderby=createdon asc and
// $top; GET of one row by id or alternate key; PATCH (an upsert) by id or
// alternate key with If-Match (* or an ETag) and If-None-Match: *, and
// Prefer: return=representation. Errors have the service's JSON shape.
// Faults (429 with Retry-After, 5xx) can be injected, and a hook runs
// before each request so a test can play a concurrent writer.
//
// Where the pages do not give an answer's exact status, code or message,
// the server's choice is marked "emulated" in docs/dataverse.md.
package dataversetest

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Token is the bearer token the server accepts.
const Token = "dataverse-test-token"

// APIPath is where the Web API lives.
const APIPath = "/api/data/v9.2/"

// Kind is a column's type.
type Kind int

// The column types the sink writes.
const (
	Text Kind = iota
	Number
	DateTime
)

// Column is one column of a table. MaxLength bounds a Text column in
// characters; ReadOnly columns are set by the service.
type Column struct {
	Name      string
	Kind      Kind
	MaxLength int
	ReadOnly  bool
}

// Table is one table: its entity set name (in URLs), logical name (in
// messages), primary id column, other columns and the column of its
// alternate key ("" when none is defined).
type Table struct {
	EntitySet string
	Entity    string
	PrimaryID string
	Columns   []Column
	Key       string
}

// Contacts is the contact table with the columns the sink uses, at their
// default lengths; emailKey defines an alternate key on emailaddress1.
func Contacts(emailKey bool) Table {
	t := Table{EntitySet: "contacts", Entity: "contact", PrimaryID: "contactid", Columns: []Column{
		{Name: "emailaddress1", Kind: Text, MaxLength: 100},
		{Name: "firstname", Kind: Text, MaxLength: 50},
		{Name: "lastname", Kind: Text, MaxLength: 50},
		{Name: "createdon", Kind: DateTime, ReadOnly: true},
	}}
	if emailKey {
		t.Key = "emailaddress1"
	}
	return t
}

// OrderTable is the order table docs/dataverse.md asks a seller to
// create, with entity set name set ("<prefix>_<name>s"); its columns
// share the prefix. sessionKey defines the alternate key on the session
// id column.
func OrderTable(set string, sessionKey bool) Table {
	prefix, _, _ := strings.Cut(set, "_")
	p := strings.ToLower(prefix) + "_"
	t := Table{EntitySet: set, Entity: strings.TrimSuffix(set, "s"), PrimaryID: strings.TrimSuffix(set, "s") + "id", Columns: []Column{
		{Name: p + "sessionid", Kind: Text, MaxLength: 255},
		{Name: p + "state", Kind: Text, MaxLength: 100},
		{Name: p + "lastevent", Kind: Text, MaxLength: 100},
		{Name: p + "eventtime", Kind: Text, MaxLength: 40},
		{Name: p + "amount", Kind: Number},
		{Name: p + "currency", Kind: Text, MaxLength: 3},
		{Name: p + "refunded", Kind: Number},
		{Name: p + "email", Kind: Text, MaxLength: 254},
		{Name: p + "paidat", Kind: DateTime},
		{Name: "createdon", Kind: DateTime, ReadOnly: true},
	}}
	if sessionKey {
		t.Key = p + "sessionid"
	}
	return t
}

// Request is a request as the server got it.
type Request struct {
	Method string
	// URI is the path and query as sent, percent-encoding kept.
	URI string
	// Header holds the headers of ReadHeaders that the request had.
	Header http.Header
	Body   string
	// Status is the status of the answer.
	Status int
}

// ReadHeaders are the request headers the Web API reads, which a Request
// keeps, in the order the documentation lists them.
func ReadHeaders() []string {
	return []string{"Authorization", "Accept", "Content-Type", "OData-MaxVersion", "OData-Version", "If-Match", "If-None-Match", "Prefer"}
}

// Row is a stored row: its columns, with the primary id and createdon.
type Row map[string]any

type row struct {
	id      string
	values  Row
	version int
}

type table struct {
	Table
	columns map[string]Column
	rows    []*row
}

// Server is a running fake. It is safe for concurrent use.
type Server struct {
	// URL is the environment URL, https://127.0.0.1:<port>.
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	tables   map[string]*table
	seq      int
	requests []Request
	faults   []Fault
	before   func(Request)
}

// Fault is an answer to inject: a status, the error's code (default
// 0x80072322, too many requests, for 429) and a Retry-After header.
type Fault struct {
	Status     int
	Code       string
	RetryAfter string
}

// New starts a server over TLS (a bearer token never goes over plain
// http) with the tables; it stops when the test ends.
func New(t testing.TB, tables ...Table) *Server {
	s := &Server{tables: map[string]*table{}}
	for _, tb := range tables {
		tt := &table{Table: tb, columns: map[string]Column{}}
		for _, c := range tb.Columns {
			tt.columns[c.Name] = c
		}
		tt.columns[tb.PrimaryID] = Column{Name: tb.PrimaryID, Kind: Text}
		s.tables[tb.EntitySet] = tt
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// A test that closes the server mid-connection is not an error to print.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Requests returns every request so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Rows returns copies of the rows of an entity set, oldest first.
func (s *Server) Rows(set string) []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Row
	for _, r := range s.tables[set].rows {
		c := Row{}
		for k, v := range r.values {
			c[k] = v
		}
		out = append(out, c)
	}
	return out
}

// Insert adds a row as another writer would (a user, another integration)
// and returns its id: a random one unless values holds the primary id.
func (s *Server) Insert(set string, values Row) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[set]
	id, _ := values[t.PrimaryID].(string)
	if id == "" {
		id = uuid.NewString()
	}
	s.create(t, id, values)
	return id
}

// Update changes columns of a row as another writer would.
func (s *Server) Update(set, id string, values Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.tables[set].byID(id)
	for k, v := range values {
		r.values[k] = v
	}
	s.seq++
	r.version = s.seq
}

// Fail makes the next n requests answer f, with the service's error shape,
// before anything else is checked.
func (s *Server) Fail(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// BeforeEach sets a hook that runs before each request is served, outside
// the server's lock, so it may call Insert or Update: a concurrent writer.
func (s *Server) BeforeEach(hook func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = hook
}

// apiError is an answer with the service's error shape.
type apiError struct {
	status  int
	code    string
	message string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{Method: r.Method, URI: r.RequestURI, Header: http.Header{}, Body: string(body)}
	for _, h := range ReadHeaders() {
		for _, v := range r.Header.Values(h) {
			req.Header.Add(h, v)
		}
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	before := s.before
	s.mu.Unlock()
	if before != nil {
		before(req)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	w = sw
	defer func() { s.requests[n].Status = sw.status }()
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Code == "" && f.Status == http.StatusTooManyRequests {
			f.Code = "0x80072322" // the number of requests exceeded the limit (api-limits)
		}
		writeError(w, &apiError{f.Status, f.Code, "injected fault"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		// The service answers a missing or refused token with a challenge.
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=`+s.URL+"/")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if e := checkHeaders(r); e != nil {
		writeError(w, e)
		return
	}
	if e := s.route(w, r, body); e != nil {
		writeError(w, e)
	}
}

// checkHeaders requires the headers every request carries
// (compose-http-requests-handle-errors).
func checkHeaders(r *http.Request) *apiError {
	want := map[string]string{"OData-MaxVersion": "4.0", "OData-Version": "4.0"}
	for h, v := range want {
		if r.Header.Get(h) != v {
			return &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: the %s header is %q, not %q", h, r.Header.Get(h), v)}
		}
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		return &apiError{http.StatusBadRequest, "", "emulated: the Accept header does not ask for application/json"}
	}
	if r.Method == http.MethodPatch || r.Method == http.MethodPost {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			return &apiError{http.StatusUnsupportedMediaType, "", "emulated: the Content-Type is not application/json"}
		}
	}
	return nil
}

// segment is entityset or entityset(key), the key an id or column='literal'.
var segment = regexp.MustCompile(`^([A-Za-z0-9_]+)(?:\((.*)\))?$`)

// keyExpr is column='literal' with quotes in the literal doubled.
var keyExpr = regexp.MustCompile(`^([a-z0-9_]+)='((?:[^']|'')*)'$`)

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) *apiError {
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	if e := checkLiterals(rawPath + "?" + rawQuery); e != nil {
		return e
	}
	rest, ok := strings.CutPrefix(r.URL.Path, APIPath)
	if !ok {
		return &apiError{http.StatusNotFound, "", fmt.Sprintf("No HTTP resource was found that matches the request URI '%s'.", r.URL.Path)}
	}
	m := segment.FindStringSubmatch(rest)
	if m == nil {
		return &apiError{http.StatusNotFound, "0x8006088a", fmt.Sprintf("Resource not found for the segment '%s'.", rest)}
	}
	t := s.tables[m[1]]
	if t == nil {
		return &apiError{http.StatusNotFound, "0x8006088a", fmt.Sprintf("Resource not found for the segment '%s'.", m[1])}
	}
	query, e := parseQuery(rawQuery)
	if e != nil {
		return e
	}
	if !strings.Contains(rest, "(") {
		if r.Method != http.MethodGet {
			return &apiError{http.StatusMethodNotAllowed, "", "emulated: only GET on a collection"}
		}
		return s.list(w, t, query)
	}
	keyCol, keyVal, e := t.parseKey(m[2])
	if e != nil {
		return e
	}
	switch r.Method {
	case http.MethodGet:
		return s.get(w, t, keyCol, keyVal, query)
	case http.MethodPatch:
		return s.patch(w, r, t, keyCol, keyVal, query, body)
	}
	return &apiError{http.StatusMethodNotAllowed, "", "emulated: only GET and PATCH on a row"}
}

// checkLiterals requires every character inside a quoted literal of the
// URI to be unreserved, a quote, or percent-encoded: filter-rows lists
// $ & + , / : ; = ? @ as characters to encode, and + in a query is read
// as a space.
func checkLiterals(uri string) *apiError {
	in := false
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		switch {
		case c == '\'':
			in = !in // a doubled quote leaves and re-enters
		case !in:
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		case c == '%' && i+2 < len(uri) && isHex(uri[i+1]) && isHex(uri[i+2]):
			i += 2
		default:
			return &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: the character %q in a string literal of the URL is not percent-encoded", c)}
		}
	}
	if in {
		return &apiError{http.StatusBadRequest, "", "There is an unterminated literal at position 0 in the query."}
	}
	return nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

type query struct {
	selects []string
	filter  [2]string // column, value; empty column for none
	orderby bool      // createdon asc
	top     int
}

var filterExpr = regexp.MustCompile(`^([a-z0-9_]+) eq '((?:[^']|'')*)'$`)

// parseQuery reads the system query options the sink uses; any other is
// refused, so that a request the server does not understand fails loudly.
func parseQuery(raw string) (query, *apiError) {
	var q query
	if raw == "" {
		return q, nil
	}
	for _, part := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		val, err := url.QueryUnescape(v) // a + in a query is a space
		if err != nil {
			return q, &apiError{http.StatusBadRequest, "", "emulated: a query value is not URL-encoded"}
		}
		switch k {
		case "$select":
			q.selects = strings.Split(val, ",")
		case "$filter":
			m := filterExpr.FindStringSubmatch(val)
			if m == nil {
				return q, &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: the filter %q is not column eq 'literal'", val)}
			}
			q.filter = [2]string{m[1], strings.ReplaceAll(m[2], "''", "'")}
		case "$orderby":
			if val != "createdon asc" {
				return q, &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: the order %q is not createdon asc", val)}
			}
			q.orderby = true
		case "$top":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 5000 {
				return q, &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: $top=%q", val)}
			}
			q.top = n
		default:
			return q, &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: the query option %q is not supported here", k)}
		}
	}
	return q, nil
}

// parseKey reads the key of a row: an id, or the alternate key's column
// and value. A key on a column without an alternate key is refused as
// use-alternate-key-reference-record and OData/odata.net#2545 show.
func (t *table) parseKey(expr string) (col, val string, e *apiError) {
	if id, err := uuid.Parse(expr); err == nil {
		return t.PrimaryID, id.String(), nil
	}
	m := keyExpr.FindStringSubmatch(expr)
	if m == nil || m[1] != t.Key || t.Key == "" {
		res := "Microsoft.Dynamics.CRM." + t.Entity
		return "", "", &apiError{http.StatusBadRequest, "0x8006088a", fmt.Sprintf("The key in the request URI is not valid for resource '%s'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource '%s'.", res, res)}
	}
	val = strings.ReplaceAll(m[2], "''", "'")
	if strings.ContainsAny(val, `/<>*%&:\?+`) {
		// define-alternate-keys-entity: with these characters in a key
		// value, retrieve, update and upsert "don't work".
		return "", "", &apiError{http.StatusBadRequest, "", "emulated: a key value with / < > * % & : \\ ? + does not work"}
	}
	return m[1], val, nil
}

func (t *table) byID(id string) *row {
	for _, r := range t.rows {
		if r.id == id {
			return r
		}
	}
	return nil
}

// find returns the row whose column col equals val, case-insensitively
// (the service's collation).
func (t *table) find(col, val string) *row {
	if col == t.PrimaryID {
		return t.byID(val)
	}
	for _, r := range t.rows {
		if v, ok := r.values[col].(string); ok && strings.EqualFold(v, val) {
			return r
		}
	}
	return nil
}

func (t *table) checkSelect(cols []string) *apiError {
	for _, c := range cols {
		if _, ok := t.columns[c]; !ok {
			return &apiError{http.StatusBadRequest, "0x0", fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", c, t.Entity)}
		}
	}
	return nil
}

// view is a row as an answer shows it: its ETag and the selected columns
// (every column without $select).
func (t *table) view(r *row, selects []string) map[string]any {
	out := map[string]any{"@odata.etag": etag(r.version)}
	if len(selects) == 0 {
		for k, v := range r.values {
			out[k] = v
		}
		return out
	}
	for _, c := range selects {
		out[c] = r.values[c]
	}
	out[t.PrimaryID] = r.id
	return out
}

func etag(version int) string { return fmt.Sprintf(`W/"%d"`, version) }

func (s *Server) list(w http.ResponseWriter, t *table, q query) *apiError {
	if e := t.checkSelect(q.selects); e != nil {
		return e
	}
	if q.filter[0] != "" {
		if e := t.checkSelect([]string{q.filter[0]}); e != nil {
			return e
		}
	}
	value := []map[string]any{} // rows are kept oldest first: createdon asc
	for _, r := range t.rows {
		if v, ok := r.values[q.filter[0]].(string); q.filter[0] != "" && (!ok || !strings.EqualFold(v, q.filter[1])) {
			continue
		}
		if q.top > 0 && len(value) == q.top {
			break
		}
		value = append(value, t.view(r, q.selects))
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.URL + APIPath + "$metadata#" + t.EntitySet, "value": value})
	return nil
}

func (s *Server) get(w http.ResponseWriter, t *table, col, val string, q query) *apiError {
	if e := t.checkSelect(q.selects); e != nil {
		return e
	}
	r := t.find(col, val)
	if r == nil {
		return notFound(t, col, val)
	}
	writeJSON(w, http.StatusOK, t.view(r, q.selects))
	return nil
}

// notFound is the answer for a row that does not exist
// (perform-conditional-operations shows "... With Id = ... Does Not Exist";
// the code is emulated).
func notFound(t *table, col, val string) *apiError {
	if col == t.PrimaryID {
		return &apiError{http.StatusNotFound, "0x80040217", fmt.Sprintf("%s With Id = %s Does Not Exist", t.Entity, val)}
	}
	return &apiError{http.StatusNotFound, "0x80040217", fmt.Sprintf("%s With Ids = %s Does Not Exist", t.Entity, col)}
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, t *table, col, val string, q query, body []byte) *apiError {
	if e := t.checkSelect(q.selects); e != nil {
		return e
	}
	var values Row
	if err := json.Unmarshal(body, &values); err != nil || values == nil {
		return &apiError{http.StatusBadRequest, "", "emulated: the body is not a JSON object"}
	}
	if e := t.checkValues(values); e != nil {
		return e
	}
	existing := t.find(col, val)
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case ifNoneMatch == "*" && existing != nil:
		return &apiError{http.StatusPreconditionFailed, "", "A record with matching key values already exists."}
	case ifMatch != "" && existing == nil:
		return notFound(t, col, val)
	case ifMatch != "" && ifMatch != "*" && ifMatch != etag(existing.version):
		return &apiError{http.StatusPreconditionFailed, "", "The version of the existing record doesn't match the RowVersion property provided."}
	case ifNoneMatch != "" && ifNoneMatch != "*":
		return &apiError{http.StatusBadRequest, "", "emulated: If-None-Match other than * on a write"}
	}
	created := existing == nil
	if created {
		// use-upsert: on create the body's values win over the key's.
		if _, ok := values[col]; !ok {
			values[col] = val
		}
		id := val
		if col != t.PrimaryID {
			id = uuid.NewString()
		}
		if e := t.checkUnique(values, ""); e != nil {
			return e
		}
		existing = s.create(t, id, values)
	} else {
		// use-upsert: on update the key's columns in the body are dropped.
		delete(values, col)
		if e := t.checkUnique(values, existing.id); e != nil {
			return e
		}
		for k, v := range values {
			existing.values[k] = v
		}
		s.seq++
		existing.version = s.seq
	}
	w.Header().Set("OData-EntityId", fmt.Sprintf("%s%s%s(%s)", s.URL, APIPath, t.EntitySet, existing.id))
	if strings.Contains(r.Header.Get("Prefer"), "return=representation") {
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, t.view(existing, q.selects))
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// create stores a new row. s.mu must be held.
func (s *Server) create(t *table, id string, values Row) *row {
	s.seq++
	r := &row{id: id, values: Row{}, version: s.seq}
	for k, v := range values {
		r.values[k] = v
	}
	r.values[t.PrimaryID] = id
	// Rows are created one after another; createdon tells them apart.
	r.values["createdon"] = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(s.seq) * time.Second).Format(time.RFC3339)
	t.rows = append(t.rows, r)
	return r
}

// checkValues refuses a column the table does not have and a value of the
// wrong type or length.
func (t *table) checkValues(values Row) *apiError {
	for k, v := range values {
		c, ok := t.columns[k]
		if !ok {
			return &apiError{http.StatusBadRequest, "0x80060888", fmt.Sprintf("The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", k, t.Entity)}
		}
		if c.ReadOnly {
			return &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: the column %s is set by the service", k)}
		}
		bad := false
		switch c.Kind {
		case Text:
			str, isStr := v.(string)
			bad = !isStr
			if isStr && c.MaxLength > 0 && utf8.RuneCountInString(str) > c.MaxLength {
				return &apiError{http.StatusBadRequest, "0x80044331", fmt.Sprintf("A validation error occurred. The length of the '%s' attribute of the '%s' entity exceeded the maximum allowed length of '%d'.", k, t.Entity, c.MaxLength)}
			}
		case Number:
			_, isNum := v.(float64)
			bad = !isNum
		case DateTime:
			str, isStr := v.(string)
			_, err := time.Parse(time.RFC3339, str)
			bad = !isStr || err != nil
		}
		if bad {
			return &apiError{http.StatusBadRequest, "", fmt.Sprintf("emulated: the value of %s is not of its column's type", k)}
		}
	}
	return nil
}

// checkUnique enforces the alternate key's uniqueness, case-insensitively.
func (t *table) checkUnique(values Row, self string) *apiError {
	if t.Key == "" {
		return nil
	}
	v, ok := values[t.Key].(string)
	if !ok {
		return nil
	}
	if other := t.find(t.Key, v); other != nil && other.id != self {
		return &apiError{http.StatusPreconditionFailed, "0x80060892", fmt.Sprintf("A record that has the attribute values %s already exists. The entity key requires that this set of attributes contains unique values.", t.Key)}
	}
	return nil
}

// statusWriter keeps the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"code": e.code, "message": e.message}})
}

// Close stops the server: requests then fail as a network fault.
func (s *Server) Close() { s.srv.Close() }
