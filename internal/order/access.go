package order

import (
	"errors"
	"slices"
	"time"
)

// File is one purchased file as the order page shows it, and its downloads.
// The JSON names are stored in the ledger: a stable contract.
type File struct {
	Title    string `json:"title"`
	Blob     string `json:"blob"`
	FileName string `json:"file_name"`
	Size     int64  `json:"size"`
	// Downloads counts the downloads through the order page.
	Downloads int `json:"downloads,omitempty"`
	// DownloadedAt are the times of the newest MaxDownloadTimes downloads,
	// oldest first.
	DownloadedAt []time.Time `json:"downloaded_at,omitempty"`
	// Clicks are the ids of the newest MaxClicks recorded downloads,
	// oldest first (see RecordClick).
	Clicks []string `json:"clicks,omitempty"`
}

// MaxClicks bounds File.Clicks. A click id is looked up only by the write
// that recorded it, seconds later, so a few are plenty; it keeps the record
// small.
const MaxClicks = 4

// MaxDownloadTimes bounds File.DownloadedAt, so that an unlimited file's
// record stays small.
const MaxDownloadTimes = 10

// Access is what an order page may offer. The values are printed by the
// CLI: a stable contract.
type Access string

const (
	// AccessOpen: the files may be downloaded (each within its limit).
	AccessOpen Access = "open"
	// AccessPending: the payment is not confirmed yet, or the files are
	// being prepared.
	AccessPending Access = "pending"
	// AccessPaymentFailed: the payment failed; there is nothing to download.
	AccessPaymentFailed Access = "payment_failed"
	// AccessRevoked: a hold other than an open dispute stands (a refund,
	// a lost dispute, an operator).
	AccessRevoked Access = "revoked"
	// AccessSuspended: the only holds that stand are open disputes (won
	// lifts them).
	AccessSuspended Access = "suspended"
	// AccessExpired: the download window is over.
	AccessExpired Access = "expired"
)

// Why a download is refused. A page names each in words a customer can act on.
var (
	ErrAccessPending = errors.New("the order is not ready for download")
	ErrPaymentFailed = errors.New("the payment failed")
	ErrAccessRevoked = errors.New("access to the order was revoked")
	ErrAccessExpired = errors.New("the download window is over")
	ErrLimitReached  = errors.New("the file's download limit is reached")
	ErrNoSuchFile    = errors.New("the order has no such file")
	// ErrClickRecorded is no refusal: the click's download is recorded
	// already (see RecordClick).
	ErrClickRecorded  = errors.New("the click's download is recorded already")
	errInvalidRefund  = errors.New("refund amounts must not be negative")
	errInvalidGrantAt = errors.New("grant needs a fulfilled order")
)

// AccessEnds is when the order's download window closes: AccessUntil when an
// operator set it, else window after the payment was recorded. Zero when
// the order was never fulfilled.
func (o *Order) AccessEnds(window time.Duration) time.Time {
	switch {
	case !o.accessUntil.IsZero():
		return o.accessUntil
	case o.PaidAt.IsZero() || len(o.Files) == 0:
		return time.Time{}
	}
	return o.PaidAt.Add(window)
}

// Access says what the order page may offer at now: open only while no
// hold stands (see Hold); the holds recorded decide before the payment's
// state and the window's end.
func (o *Order) Access(now time.Time, window time.Duration) Access {
	switch {
	case o.Revoked() && !slices.ContainsFunc(o.accessHolds, func(h Hold) bool { return !h.Suspends() }):
		return AccessSuspended
	case o.Revoked():
		return AccessRevoked
	case o.state == StatePaymentFailed:
		return AccessPaymentFailed
	case len(o.Files) == 0 || o.PaidAt.IsZero():
		return AccessPending
	case !now.Before(o.AccessEnds(window)):
		return AccessExpired
	}
	return AccessOpen
}

// Remaining is how many downloads file i has left under limit (0 means
// unlimited, reported as -1).
func (f File) Remaining(limit int) int {
	if limit <= 0 {
		return -1
	}
	return max(limit-f.Downloads, 0)
}

// RecordDownload counts a download of file i at now, if the order allows it
// (see Access) and the file is under limit (0: unlimited). It is meant to
// run inside Mutate, so that of two downloads racing for the last one,
// exactly one is recorded.
func (o *Order) RecordDownload(i int, now time.Time, window time.Duration, limit int) error {
	if err := accessError(o.Access(now, window)); err != nil {
		return err
	}
	if i < 0 || i >= len(o.Files) {
		return ErrNoSuchFile
	}
	f := &o.Files[i]
	if f.Remaining(limit) == 0 {
		return ErrLimitReached
	}
	f.Downloads++
	f.DownloadedAt = append(f.DownloadedAt, now)
	if n := len(f.DownloadedAt); n > MaxDownloadTimes {
		f.DownloadedAt = f.DownloadedAt[n-MaxDownloadTimes:]
	}
	return nil
}

// RecordClick is RecordDownload for one click, identified by click (unique
// per click; "" records like RecordDownload). A click already recorded
// returns ErrClickRecorded and changes nothing: a write whose answer was
// lost and that conflicts on its retry re-reads the record and finds its own
// click there, and must not count it twice.
func (o *Order) RecordClick(i int, click string, now time.Time, window time.Duration, limit int) error {
	if click != "" && i >= 0 && i < len(o.Files) && slices.Contains(o.Files[i].Clicks, click) {
		return ErrClickRecorded
	}
	if err := o.RecordDownload(i, now, window, limit); err != nil {
		return err
	}
	if click == "" {
		return nil
	}
	f := &o.Files[i]
	f.Clicks = append(f.Clicks, click)
	if n := len(f.Clicks); n > MaxClicks {
		f.Clicks = f.Clicks[n-MaxClicks:]
	}
	return nil
}

// accessError is the error of an access other than open.
func accessError(a Access) error {
	switch a {
	case AccessOpen:
		return nil
	case AccessPaymentFailed:
		return ErrPaymentFailed
	case AccessRevoked, AccessSuspended:
		return ErrAccessRevoked
	case AccessExpired:
		return ErrAccessExpired
	}
	return ErrAccessPending
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// RecordFiles records files, the purchased files as fulfilment found them,
// keeping the downloads already counted for a file of the same blob.
func (o *Order) RecordFiles(files []File) {
	old := make(map[string]File, len(o.Files))
	for _, f := range o.Files {
		old[f.Blob] = f
	}
	out := make([]File, len(files))
	for i, f := range files {
		if prev, ok := old[f.Blob]; ok {
			f.Downloads, f.DownloadedAt, f.Clicks = prev.Downloads, prev.DownloadedAt, prev.Clicks
		}
		out[i] = f
	}
	o.Files = out
}
