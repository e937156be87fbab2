package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/filedrop/filedrop/internal/order"
)

// mailSeen is one mail the transport carried: an .eml file in the outbox,
// or an operation the fake ACS accepted.
type mailSeen struct {
	key   string
	to    string
	text  string // the plain-text body
	where string
}

// keyRef is what a mail key stands for.
type keyRef struct {
	session    *session
	kind       string
	generation int
}

// keyIndex maps the keys of every mail any planned session could be sent
// (either kind, generations 1 to 3) to what they stand for, so that a mail
// nobody owed is still attributed.
func keyIndex(p *plan) map[string]keyRef {
	idx := map[string]keyRef{}
	for _, s := range p.sessions {
		for _, kind := range []string{order.MailDownloadLinks, order.MailPaymentFailed} {
			for g := 1; g <= 3; g++ {
				idx[order.MailKey(s.id, kind, g)] = keyRef{session: s, kind: kind, generation: g}
			}
		}
	}
	return idx
}

// readOutbox parses every .eml file of dir. Hidden .tmp files are the
// remains of a write that a SIGKILL interrupted; they are returned apart.
func readOutbox(dir string) (mails []mailSeen, leftovers []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp"):
			leftovers = append(leftovers, name)
			continue
		case !strings.HasSuffix(name, ".eml"):
			mails = append(mails, mailSeen{where: name}) // not a mail: unexpected
			continue
		}
		m, err := parseEML(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		m.key = strings.TrimSuffix(name, ".eml")
		mails = append(mails, m)
	}
	return mails, leftovers, nil
}

// parseEML reads the recipient and the plain-text part of an .eml file.
func parseEML(file string) (mailSeen, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return mailSeen{}, err
	}
	m := mailSeen{where: filepath.Base(file)}
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return m, fmt.Errorf("%s: %w", file, err)
	}
	if to, err := msg.Header.AddressList("To"); err == nil && len(to) > 0 {
		m.to = strings.ToLower(to[0].Address)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return m, fmt.Errorf("%s: not multipart: %v", file, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for range 10 {
		part, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			break
		}
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(part)
			if err != nil {
				return m, fmt.Errorf("%s: %w", file, err)
			}
			m.text = string(b)
			break
		}
	}
	return m, nil
}

// acsMails returns the operations the fake ACS accepted.
func acsMails(st acsStats) []mailSeen {
	var out []mailSeen
	for _, op := range st.ops {
		out = append(out, mailSeen{key: op.id, to: op.to, text: op.text, where: "operation " + op.id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// links returns the download links of a mail's text: those into the
// originals container.
func links(text string) []string {
	var out []string
	for _, u := range linkPattern.FindAllString(text, -1) {
		if strings.Contains(u, "/originals/") {
			out = append(out, u)
		}
	}
	return out
}

// linksMatch reports whether the links are exactly one per distinct
// product of the session's cart, each to that product's original.
func linksMatch(s *session, ls []string) bool {
	want := map[string]bool{}
	for _, n := range s.products {
		want[originalName(n)] = true
	}
	got := map[string]bool{}
	for _, l := range ls {
		u, err := url.Parse(l)
		if err != nil {
			return false
		}
		got[path.Base(u.Path)] = true
	}
	if len(ls) != len(want) || len(got) != len(want) {
		return false
	}
	for name := range want {
		if !got[name] {
			return false
		}
	}
	return true
}

// fetchOriginal downloads a link and reports whether it serves the
// original it names.
func fetchOriginal(ctx context.Context, link string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d", order.RedactURL(link), resp.StatusCode)
	}
	u, _ := url.Parse(link)
	for n := 1; n <= 100; n++ {
		if originalName(n) == path.Base(u.Path) {
			if !bytes.Equal(body, originalBytes(n)) {
				return fmt.Errorf("%s serves other bytes than the original", order.RedactURL(link))
			}
			return nil
		}
	}
	return fmt.Errorf("%s names no original of the test", order.RedactURL(link))
}
