package ledger

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/filedrop/filedrop/internal/order"
)

// RowKey is the row key of every record. The partition key is the Checkout
// Session id and the row key a constant: there is one record per session,
// every read is a point read (PartitionKey and RowKey, the cheapest query the
// service has), and each record is its own partition, so records never
// contend with one another for throughput.
const RowKey = "order"

// The entity's property names. They are a stable contract with every record
// already stored (and with operators' queries in Storage Explorer): declared
// here once, never derived from Go identifiers.
const (
	propState           = "State"
	propReason          = "Reason"
	propLastError       = "LastError"
	propAttempts        = "Attempts"
	propCustomerEmail   = "CustomerEmail"
	propEmailLower      = "CustomerEmailLower"
	propLivemode        = "Livemode"
	propEventIDs        = "EventIDs"
	propItems           = "Items"
	propMailKind        = "MailKind"
	propMailGeneration  = "MailGeneration"
	propSentGeneration  = "SentGeneration"
	propOperationID     = "OperationID"
	propMail            = "Mail"
	propLeaseOwner      = "LeaseOwner"
	propLeaseUntil      = "LeaseUntil"
	propThrottledUntil  = "ThrottledUntil"
	propHolds           = "Holds"
	propAttentions      = "Attentions"
	propHeldUntil       = "HeldUntil"
	propRetryAt         = "RetryAt"
	propCreatedAt       = "CreatedAt"
	propUpdatedAt       = "UpdatedAt"
	propPaidAt          = "PaidAt"
	propOrderedAt       = "OrderedAt"
	propLinksReadyAt    = "LinksReadyAt"
	propMailSentAt      = "MailSentAt"
	propPaymentFailedAt = "PaymentFailedAt"
	propAttentionAt     = "AttentionAt"
	propFiles           = "Files"
	propPaymentIntent   = "PaymentIntent"
	propAccessUntil     = "AccessUntil"
	propAccessHolds     = "AccessHolds"
	propRefundedAmount  = "RefundedAmount"
	propDisputes        = "Disputes"
	propGranted         = "Granted"
	propMailEventID     = "MailEventID"
	propBudgetSpent     = "BudgetSpent"
	propMails           = "Mails"
)

// The properties of records written before access was kept as holds: read
// (and migrated into holds, order.LegacyAccess), never written. A record's
// next write replaces the entity, which drops them.
const (
	propRevokedBy     = "RevokedBy"
	propRevokeReason  = "RevokeReason"
	propRevokedAt     = "RevokedAt"
	propFullyRefunded = "FullyRefunded"
	propDispute       = "Dispute"
)

// MaxFilesBytes bounds Order.Files as stored (JSON in a string property,
// which holds at most 64 KiB, 32 Ki UTF-16 characters): about sixty files
// with their newest download times and click ids (some 500 bytes each).
const MaxFilesBytes = 32 * 1024

// MaxMailBytes is the largest Order.Mail the ledger stores: the service's
// limit for one binary property.
const MaxMailBytes = 64 * 1024

// MaxTextBytes bounds Order.LastError and Order.Reason; longer text is cut
// (at a character boundary) and ends in "…". A string property may hold at
// most 64 KiB, and an error that quotes a whole response body must not make
// the record unwritable.
const MaxTextBytes = 4 * 1024

// Resolution is the precision of the ledger's times: the 100 ns tick of
// Azure Table storage's Edm.DateTime. Times are stored in UTC, truncated to
// it, and read back exactly.
const Resolution = 100 * time.Nanosecond

// dateTimeLayout writes Edm.DateTime values: UTC, always seven fractional
// digits, so stored strings also sort as times.
const dateTimeLayout = "2006-01-02T15:04:05.0000000Z"

// minTime and maxTime bound what Edm.DateTime can hold (Azurite accepts
// more; Azure does not).
var (
	minTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
)

// timeField is a time property and the field that holds it.
type timeField struct {
	name string
	t    *time.Time
}

// times lists the record's time properties.
func times(o *order.Snapshot) []timeField {
	return []timeField{
		{propLeaseUntil, &o.LeaseUntil},
		{propThrottledUntil, &o.ThrottledUntil},
		{propHeldUntil, &o.HeldUntil},
		{propRetryAt, &o.RetryAt},
		{propCreatedAt, &o.CreatedAt},
		{propUpdatedAt, &o.UpdatedAt},
		{propPaidAt, &o.PaidAt},
		{propOrderedAt, &o.OrderedAt},
		{propLinksReadyAt, &o.LinksReadyAt},
		{propMailSentAt, &o.MailSentAt},
		{propPaymentFailedAt, &o.PaymentFailedAt},
		{propAttentionAt, &o.AttentionAt},
		{propAccessUntil, &o.AccessUntil},
	}
}

// intField is an integer property and the field that holds it.
type intField struct {
	name string
	n    *int
}

// ints lists the record's integer properties.
func ints(o *order.Snapshot) []intField {
	return []intField{
		{propAttempts, &o.Attempts},
		{propHolds, &o.Holds},
		{propAttentions, &o.Attentions},
		{propItems, &o.Items},
		{propMailGeneration, &o.MailGeneration},
		{propSentGeneration, &o.SentGeneration},
	}
}

// normalize returns o as the ledger stores it and as Get will return it:
// times in UTC truncated to Resolution, long text cut, empty slices nil. It
// fails, permanently, when o cannot be stored at all.
func normalize(rec order.Order) (order.Order, error) {
	o := rec.Snapshot()
	if err := checkSessionID(o.SessionID); err != nil {
		return rec, err
	}
	o.LastError = truncate(o.LastError, MaxTextBytes)
	o.Reason = truncate(o.Reason, MaxTextBytes)
	if len(o.EventIDs) == 0 {
		o.EventIDs = nil
	}
	if len(o.Mail) == 0 {
		o.Mail = nil
	}
	o.AccessHolds = slices.Clone(o.AccessHolds)
	for i := range o.AccessHolds {
		h := &o.AccessHolds[i]
		h.Reason = truncate(h.Reason, MaxTextBytes)
		h.At = h.At.UTC().Truncate(Resolution)
	}
	if len(o.AccessHolds) == 0 {
		o.AccessHolds = nil
	}
	if len(o.Disputes) == 0 {
		o.Disputes = nil
	}
	o.Disputes = slices.Clone(o.Disputes)
	if len(o.Granted.Disputes) == 0 {
		o.Granted.Disputes = nil
	}
	o.Granted.Disputes = slices.Clone(o.Granted.Disputes)
	if !o.Granted.At.IsZero() {
		o.Granted.At = o.Granted.At.UTC().Truncate(Resolution)
	}
	o.Mails = normalizeMails(o.Mails)
	o.Outbox = normalizeOutbox(o.Outbox)
	if len(o.Files) == 0 {
		o.Files = nil
	}
	o.Files = slices.Clone(o.Files) // the caller's record is not touched
	for i := range o.Files {
		f := &o.Files[i]
		if len(f.DownloadedAt) == 0 {
			f.DownloadedAt = nil
		}
		f.DownloadedAt = slices.Clone(f.DownloadedAt)
		if len(f.Clicks) == 0 {
			f.Clicks = nil
		}
		f.Clicks = slices.Clone(f.Clicks)
		for j, t := range f.DownloadedAt {
			f.DownloadedAt[j] = t.UTC().Truncate(Resolution)
		}
	}
	if len(o.Mail) > MaxMailBytes {
		return rec, order.Permanentf("order %s: mail of %d bytes is over the ledger's %d-byte limit", o.SessionID, len(o.Mail), MaxMailBytes)
	}
	for _, f := range ints(&o) {
		if *f.n < math.MinInt32 || *f.n > math.MaxInt32 {
			return rec, order.Permanentf("order %s: %s %d does not fit the ledger's 32-bit integer", o.SessionID, f.name, *f.n)
		}
	}
	for _, f := range times(&o) {
		if f.t.IsZero() {
			*f.t = time.Time{}
			continue
		}
		t := f.t.UTC().Truncate(Resolution)
		if t.Before(minTime) || t.After(maxTime) {
			return rec, order.Permanentf("order %s: %s %s is outside the years 1601 to 9999 the ledger can hold", o.SessionID, f.name, t.Format(time.RFC3339))
		}
		*f.t = t
	}
	return order.Restore(o), nil
}

// checkSessionID reports, permanently, a session id that cannot be a
// partition key: empty, over 1 KiB, or holding / \ # ? or a control character.
func checkSessionID(id string) error {
	switch {
	case id == "":
		return order.Permanentf("order without a session id")
	case len(id) > 1024:
		return order.Permanentf("session id of %d bytes is over the 1 KiB limit of a partition key", len(id))
	case strings.ContainsFunc(id, func(r rune) bool {
		return r == '/' || r == '\\' || r == '#' || r == '?' || r < 0x20 || (r >= 0x7f && r <= 0x9f)
	}):
		return order.Permanentf("session id %q holds a character a partition key cannot (/ \\ # ? or a control character)", id)
	}
	return nil
}

// truncate cuts s to at most n bytes at a character boundary, ending in "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// encode returns the JSON entity of a normalized order. Property types:
// strings and Livemode as JSON strings and booleans; the counters as Edm.Int32
// (plain JSON numbers); EventIDs as a JSON array in a string; Mail as
// Edm.Binary; times as Edm.DateTime. Zero times and an empty Mail are left
// out (a zero time.Time is outside Edm.DateTime's range); in replace mode a
// left-out property is removed. CustomerEmailLower is the lower-cased
// CustomerEmail, so List can find an address server-side whatever its case.
//
// It builds the JSON itself rather than with aztables.EDMEntity, whose
// MarshalJSON doubles single quotes in the keys it writes.
func encode(rec order.Order) ([]byte, error) {
	o := rec.Snapshot()
	ids := o.EventIDs
	if ids == nil {
		ids = []string{}
	}
	eventIDs, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	files, err := encodeFiles(o)
	if err != nil {
		return nil, err
	}
	e := map[string]any{
		"PartitionKey":    o.SessionID,
		"RowKey":          RowKey,
		propState:         string(o.State),
		propReason:        o.Reason,
		propLastError:     o.LastError,
		propCustomerEmail: o.CustomerEmail,
		propEmailLower:    strings.ToLower(o.CustomerEmail),
		propLivemode:      o.Livemode,
		propEventIDs:      string(eventIDs),
		propMailKind:      o.MailKind,
		propOperationID:   o.OperationID,
		propLeaseOwner:    o.LeaseOwner,
	}
	access, err := encodeAccess(o)
	if err != nil {
		return nil, err
	}
	// The download page's properties are left out while empty: most
	// records never need them.
	mails, err := encodeMails(o)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]string{propFiles: files, propPaymentIntent: o.PaymentIntent, propMailEventID: o.MailEventID,
		propAccessHolds: access.holds, propDisputes: access.disputes, propGranted: access.granted, propMails: mails} {
		if v != "" {
			e[name] = v
		}
	}
	if o.BudgetSpent {
		e[propBudgetSpent] = true
	}
	if err := encodeOutbox(rec, e); err != nil {
		return nil, err
	}
	if o.RefundedAmount != 0 {
		e[propRefundedAmount] = strconv.FormatInt(o.RefundedAmount, 10)
		e[propRefundedAmount+"@odata.type"] = "Edm.Int64"
	}
	for _, f := range ints(&o) {
		e[f.name] = int32(*f.n)
	}
	if len(o.Mail) > 0 {
		e[propMail] = base64.StdEncoding.EncodeToString(o.Mail)
		e[propMail+"@odata.type"] = "Edm.Binary"
	}
	for _, f := range times(&o) {
		if !f.t.IsZero() {
			e[f.name] = f.t.UTC().Format(dateTimeLayout)
			e[f.name+"@odata.type"] = "Edm.DateTime"
		}
	}
	return json.Marshal(e)
}

// decode reads an entity as the service returns it. A property of the wrong
// type (an operator's edit gone wrong) is a permanent error naming it; a
// missing one is the zero value.
func decode(data []byte) (order.Order, error) {
	var e aztables.EDMEntity
	if err := json.Unmarshal(data, &e); err != nil {
		return order.Order{}, order.Permanentf("decode order: %w", err)
	}
	d := decoder{props: e.Properties}
	o := order.Snapshot{
		SessionID:     e.PartitionKey,
		ETag:          e.ETag,
		State:         order.State(d.str(propState)),
		Reason:        d.str(propReason),
		LastError:     d.str(propLastError),
		CustomerEmail: d.str(propCustomerEmail),
		Livemode:      d.boolean(propLivemode),
		MailKind:      d.str(propMailKind),
		OperationID:   d.str(propOperationID),
		Mail:          d.binary(propMail),
		LeaseOwner:    d.str(propLeaseOwner),
		EventIDs:      d.stringList(propEventIDs),
		PaymentIntent: d.str(propPaymentIntent),
		MailEventID:   d.str(propMailEventID),
		BudgetSpent:   d.boolean(propBudgetSpent),
		Files:         d.files(propFiles),
	}
	o.RefundedAmount = int64(d.integer(propRefundedAmount))
	for _, f := range ints(&o) {
		*f.n = d.integer(f.name)
	}
	for _, f := range times(&o) {
		*f.t = d.time(f.name)
	}
	kept := false
	for _, p := range []struct {
		name string
		v    any
	}{{propAccessHolds, &o.AccessHolds}, {propDisputes, &o.Disputes}, {propGranted, &o.Granted}} {
		kept = kept || d.str(p.name) != ""
		d.jsonValue(p.name, p.v)
	}
	d.jsonValue(propMails, &o.Mails)
	o.Mails = normalizeMails(o.Mails)
	d.jsonValue(propOutbox, &o.Outbox)
	o.EventsDropped = d.integer(propEventsDropped)
	o.Outbox = normalizeOutbox(o.Outbox)
	utcAccess(&o)
	rec := order.Restore(o)
	legacy := order.LegacyAccess{RevokedBy: d.str(propRevokedBy), RevokeReason: d.str(propRevokeReason), RevokedAt: d.time(propRevokedAt),
		FullyRefunded: d.boolean(propFullyRefunded), Dispute: d.str(propDispute)}
	if !kept && legacy.Holds() {
		legacy.Migrate(&rec) // a record written before holds
	}
	if d.err != nil {
		return rec, order.Permanentf("decode order %s: %w", e.PartitionKey, d.err)
	}
	return rec, nil
}

// decoder reads typed properties and keeps the first problem.
type decoder struct {
	props map[string]any
	err   error
}

func (d *decoder) fail(name string, v any, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("property %s is %T, want %s", name, v, want)
	}
}

func (d *decoder) str(name string) string {
	switch v := d.props[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		d.fail(name, v, "a string")
		return ""
	}
}

func (d *decoder) boolean(name string) bool {
	switch v := d.props[name].(type) {
	case nil:
		return false
	case bool:
		return v
	default:
		d.fail(name, v, "a boolean")
		return false
	}
}

// integer accepts Edm.Int32 (what encode writes) and, for records edited by
// hand, Edm.Int64 and whole Edm.Double values.
func (d *decoder) integer(name string) int {
	switch v := d.props[name].(type) {
	case nil:
		return 0
	case int32:
		return int(v)
	case aztables.EDMInt64:
		return int(v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return int(v)
		}
		d.fail(name, v, "a whole number")
		return 0
	default:
		d.fail(name, v, "an integer")
		return 0
	}
}

func (d *decoder) time(name string) time.Time {
	switch v := d.props[name].(type) {
	case nil:
		return time.Time{}
	case aztables.EDMDateTime:
		return time.Time(v).UTC()
	default:
		d.fail(name, v, "an Edm.DateTime")
		return time.Time{}
	}
}

func (d *decoder) binary(name string) []byte {
	switch v := d.props[name].(type) {
	case nil:
		return nil
	case aztables.EDMBinary:
		if len(v) == 0 {
			return nil
		}
		return []byte(v)
	default:
		d.fail(name, v, "an Edm.Binary")
		return nil
	}
}

func (d *decoder) stringList(name string) []string {
	s := d.str(name)
	if s == "" {
		return nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(s), &ids); err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("property %s is not a JSON array of strings: %w", name, err)
		}
		return nil
	}
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// accessProps are the JSON of the access properties, "" for each that is
// empty.
type accessProps struct{ holds, disputes, granted string }

// MaxAccessBytes bounds the JSON of each access property. The domain
// bounds them far below (an operator's hold, a refund's, and at most
// order.MaxDisputes disputes, with reasons of at most MaxTextBytes): a
// record over it is refused rather than written in part.
const MaxAccessBytes = 32 * 1024

// encodeAccess returns o's holds, disputes and grant as their properties
// hold them.
func encodeAccess(o order.Snapshot) (accessProps, error) {
	var p accessProps
	for _, f := range []struct {
		name  string
		empty bool
		v     any
		dst   *string
	}{
		{propAccessHolds, len(o.AccessHolds) == 0, o.AccessHolds, &p.holds},
		{propDisputes, len(o.Disputes) == 0, o.Disputes, &p.disputes},
		{propGranted, o.Granted.At.IsZero() && o.Granted.Refunded == 0 && len(o.Granted.Disputes) == 0, o.Granted, &p.granted},
	} {
		if f.empty {
			continue
		}
		b, err := json.Marshal(f.v)
		if err != nil {
			return p, err
		}
		if len(b) > MaxAccessBytes {
			return p, order.Permanentf("order %s: %s takes %d bytes, over the ledger's %d-byte limit", o.SessionID, f.name, len(b), MaxAccessBytes)
		}
		*f.dst = string(b)
	}
	return p, nil
}

// utcAccess puts the times of o's holds and grant in UTC, as the other
// times are read.
func utcAccess(o *order.Snapshot) {
	for i := range o.AccessHolds {
		o.AccessHolds[i].At = o.AccessHolds[i].At.UTC()
	}
	if !o.Granted.At.IsZero() {
		o.Granted.At = o.Granted.At.UTC()
	}
}

// jsonValue reads a property holding JSON into v; a missing or empty one leaves
// v as it is.
func (d *decoder) jsonValue(name string, v any) {
	s := d.str(name)
	if s == "" {
		return
	}
	if err := json.Unmarshal([]byte(s), v); err != nil && d.err == nil {
		d.err = fmt.Errorf("property %s is not the JSON it should hold: %w", name, err)
	}
}

// encodeFiles returns o.Files as the JSON the Files property holds ("" for
// none). When the files with their download history are over
// MaxFilesBytes, the history is shortened (the oldest download times and
// click ids first; the counts stay), so that a big cart downloaded often
// stays writable; a permanent error only when the files alone do not fit.
func encodeFiles(o order.Snapshot) (string, error) {
	if len(o.Files) == 0 {
		return "", nil
	}
	b, err := json.Marshal(o.Files)
	if err != nil {
		return "", err
	}
	for keep := max(order.MaxDownloadTimes, order.MaxClicks) - 1; len(b) > MaxFilesBytes && keep >= 0; keep-- {
		files := slices.Clone(o.Files) // the caller's record is not changed
		for i := range files {
			files[i].DownloadedAt = newest(files[i].DownloadedAt, keep)
			files[i].Clicks = newest(files[i].Clicks, max(keep, 1)) // the newest click keeps a retried write idempotent
		}
		if b, err = json.Marshal(files); err != nil {
			return "", err
		}
	}
	if len(b) > MaxFilesBytes {
		return "", order.Permanentf("order %s: its %d files take %d bytes, over the ledger's %d-byte limit", o.SessionID, len(o.Files), len(b), MaxFilesBytes)
	}
	return string(b), nil
}

// newest returns the last n of s (s itself when it is no longer).
func newest[S ~[]E, E any](s S, n int) S {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func (d *decoder) files(name string) []order.File {
	s := d.str(name)
	if s == "" {
		return nil
	}
	var files []order.File
	if err := json.Unmarshal([]byte(s), &files); err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("property %s is not a JSON array of files: %w", name, err)
		}
		return nil
	}
	for i := range files {
		for j, t := range files[i].DownloadedAt {
			files[i].DownloadedAt[j] = t.UTC()
		}
	}
	if len(files) == 0 {
		return nil
	}
	return files
}
