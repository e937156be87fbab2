package functions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxInvocationBytes bounds an invocation body: a 64 KiB queue message
// grows by base64 and JSON escaping; 1 MiB leaves room for metadata.
const MaxInvocationBytes = 1 << 20

// Invocation is a decoded non-forwarded invocation (a queue trigger).
type Invocation struct {
	// ID is X-Azure-Functions-InvocationId.
	ID string
	// Data is the trigger's payload: the queue message's exact bytes.
	Data []byte
	// DequeueCount is Metadata.DequeueCount (0 when absent).
	DequeueCount int
	// MessageID is Metadata.Id, with the host's inner quotes removed.
	MessageID string
	// InsertionTime is Metadata.InsertionTime, when present.
	InsertionTime time.Time
}

// ErrBadInvocation reports a request body the host would never send.
var ErrBadInvocation = errors.New("bad invocation")

// DecodeInvocation reads the invocation of a queue function from r. binding
// is the trigger's name in function.json and binary its dataType. It accepts
// every shape the real host sends and the one the public docs show:
//   - dataType binary: Data.<binding> is the base64 of the message bytes;
//   - no dataType: the message text JSON-encoded twice (a JSON string whose
//     value is a JSON string literal), or once as the docs show it, or, as
//     older hosts do, the message's JSON itself;
//   - Metadata values JSON-encoded ("DequeueCount": "1", "Id": "\"guid\"") or
//     plain (1, "guid").
//
// The body may be chunked; it is read up to MaxInvocationBytes.
func DecodeInvocation(r *http.Request, binding string, binary bool) (Invocation, error) {
	inv := Invocation{ID: r.Header.Get("X-Azure-Functions-InvocationId")}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxInvocationBytes+1))
	if err != nil {
		return inv, fmt.Errorf("read invocation: %w", err)
	}
	if len(body) > MaxInvocationBytes {
		return inv, fmt.Errorf("%w: body over %d bytes", ErrBadInvocation, MaxInvocationBytes)
	}
	var env struct {
		Data     map[string]json.RawMessage `json:"Data"`
		Metadata map[string]json.RawMessage `json:"Metadata"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return inv, fmt.Errorf("%w: %v", ErrBadInvocation, err)
	}
	raw, ok := lookupFold(env.Data, binding)
	if !ok {
		return inv, fmt.Errorf("%w: Data has no %q binding", ErrBadInvocation, binding)
	}
	if inv.Data, err = decodeData(raw, binary); err != nil {
		return inv, fmt.Errorf("%w: Data.%s: %v", ErrBadInvocation, binding, err)
	}
	if v, ok := lookupFold(env.Metadata, "DequeueCount"); ok {
		if inv.DequeueCount, err = strconv.Atoi(metaString(v)); err != nil {
			return inv, fmt.Errorf("%w: Metadata.DequeueCount %s is not a number", ErrBadInvocation, v)
		}
	}
	if v, ok := lookupFold(env.Metadata, "Id"); ok {
		inv.MessageID = metaString(v)
	}
	if v, ok := lookupFold(env.Metadata, "InsertionTime"); ok {
		inv.InsertionTime, _ = time.Parse(time.RFC3339, metaString(v))
	}
	return inv, nil
}

// decodeData unwraps the trigger payload.
func decodeData(raw json.RawMessage, binary bool) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		if binary {
			return nil, errors.New("binary data must be a base64 string")
		}
		// The message's JSON object itself (docs and older hosts).
		if !json.Valid(raw) {
			return nil, errors.New("not JSON")
		}
		return raw, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	if binary {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("binary data is not base64: %w", err)
		}
		return b, nil
	}
	// Encoded twice: the string's value is itself a JSON string literal.
	if t := strings.TrimSpace(s); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		var inner string
		if err := json.Unmarshal([]byte(t), &inner); err == nil {
			return []byte(inner), nil
		}
	}
	return []byte(s), nil // encoded once
}

// metaString returns a Metadata value as plain text, whether the host sent
// a number, a string, or a string holding a JSON string literal.
func metaString(v json.RawMessage) string {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return strings.TrimSpace(string(v)) // a number or bare value
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		var inner string
		if json.Unmarshal([]byte(s), &inner) == nil {
			return inner
		}
	}
	return s
}

func lookupFold(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
