// Package outbox "sends" mail.Message values by writing each as an RFC 5322
// .eml file into a folder, for a local run: any mail client opens them.
//
// A mail's file is named by its key (<key>.eml) and written atomically (a
// temporary file renamed into place), so a redelivery replaces the file of
// the same mail instead of adding a second one, and a reader never sees half
// a file. The Bcc recipients, which a message never names, are not recorded.
package outbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/order"
)

// Outbox writes mail into one folder.
type Outbox struct {
	dir string
}

// New returns an Outbox for dir, creating the folder if it does not exist.
func New(dir string) (*Outbox, error) {
	if dir == "" {
		return nil, fmt.Errorf("outbox: no folder")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{dir: dir}, nil
}

// Path returns the file of the mail with key.
func (o *Outbox) Path(key string) string { return filepath.Join(o.dir, key+".eml") }

// Send writes m to Path(m.Key) and returns m.Key as the operation id. The
// mail is accepted: an outbox has nothing more to report.
func (o *Outbox) Send(ctx context.Context, m mail.Message) (mail.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return mail.Receipt{}, err
	}
	if err := m.Validate(); err != nil {
		return mail.Receipt{}, order.Permanent(fmt.Errorf("outbox: %w", err))
	}
	f, err := os.CreateTemp(o.dir, "."+m.Key+"-*.tmp")
	if err != nil {
		return mail.Receipt{}, fmt.Errorf("outbox: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename: nothing to remove
	_, err = m.WriteTo(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, o.Path(m.Key))
	}
	if err != nil {
		return mail.Receipt{}, fmt.Errorf("outbox: write %s: %w", m.Key, err)
	}
	return mail.Receipt{OperationID: m.Key, Status: mail.Accepted}, nil
}
