package functions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// Shapes of Data.<binding> the host sends (see DecodeInvocation).
const (
	shapeBinary = iota // dataType binary: base64 of the bytes
	shapeTwice         // no dataType: the text JSON-encoded twice (the real host)
	shapeOnce          // no dataType: encoded once (the public docs)
	shapeObject        // no dataType: the message's JSON itself (older hosts)
	shapes
)

// FuzzDecodeInvocation builds the invocation body the host would send for
// the queue message msg, in each shape and with Metadata values quoted
// (the real host) or plain (the docs), and checks that DecodeInvocation
// gives back exactly msg, the dequeue count, the message id and the
// insertion time. It also feeds msg itself as a body: whatever arrives,
// DecodeInvocation never panics and refuses with ErrBadInvocation.
func FuzzDecodeInvocation(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg []byte, shape uint8, quoted bool, dequeueCount int, id string, inserted int64) {
		if _, err := DecodeInvocation(httptest.NewRequest(http.MethodPost, "/ProcessOrder", bytes.NewReader(msg)), "msg", shape%2 == 0); err != nil {
			require.ErrorIs(t, err, ErrBadInvocation)
		}

		shape %= shapes
		data, ok := encodeData(msg, int(shape))
		if !ok {
			return // the host cannot send msg in this shape
		}
		if !utf8.ValidString(id) {
			return // Metadata is JSON text
		}
		at := time.Unix(int64(uint64(inserted)%253402300800), 0).UTC() // years 1970 to 9999
		meta := map[string]json.RawMessage{
			"DequeueCount":  metaValue(strconv.Itoa(dequeueCount), quoted, true),
			"Id":            metaValue(id, quoted, false),
			"InsertionTime": metaValue(at.Format("2006-01-02T15:04:05+00:00"), false, false),
			"sys":           json.RawMessage(`{"MethodName":"ProcessOrder","UtcNow":"2025-06-01T12:00:01.5Z","RandGuid":"1a2b"}`),
		}
		binding := "msg"
		if quoted {
			binding = "Msg" // matched case-insensitively
		}
		metaJSON, err := json.Marshal(meta)
		require.NoError(t, err)
		// By hand: json.Marshal would compact and escape an object's bytes.
		body := []byte(`{"Data":{"` + binding + `":` + string(data) + `},"Metadata":` + string(metaJSON) + `}`)
		if len(body) > MaxInvocationBytes {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/ProcessOrder", bytes.NewReader(body))
		req.Header.Set("X-Azure-Functions-InvocationId", "inv-1")

		inv, err := DecodeInvocation(req, "msg", shape == shapeBinary)
		require.NoError(t, err, "%s", body)
		want := msg
		if shape == shapeObject {
			want = bytes.TrimSpace(msg)
		}
		require.Equal(t, want, inv.Data, "%s", body)
		require.Equal(t, dequeueCount, inv.DequeueCount)
		if quoted || !looksQuoted(id) {
			require.Equal(t, id, inv.MessageID)
		}
		require.True(t, at.Equal(inv.InsertionTime), "%v != %v", at, inv.InsertionTime)
		require.Equal(t, "inv-1", inv.ID)
	})
}

// encodeData returns Data.<binding> for msg in shape, and false when the
// host cannot send msg so: JSON text holds only UTF-8, and a message that is
// itself a JSON string (spaces around it aside) cannot be told from the
// shape encoded twice.
func encodeData(msg []byte, shape int) (json.RawMessage, bool) {
	quote := func(s string) []byte { b, _ := json.Marshal(s); return b }
	switch shape {
	case shapeBinary:
		return quote(base64.StdEncoding.EncodeToString(msg)), true
	case shapeTwice:
		if !utf8.Valid(msg) {
			return nil, false
		}
		return quote(string(quote(string(msg)))), true
	case shapeOnce:
		if !utf8.Valid(msg) || isJSONString(bytes.TrimSpace(msg)) {
			return nil, false
		}
		return quote(string(msg)), true
	default:
		t := bytes.TrimSpace(msg)
		if !json.Valid(msg) || len(t) == 0 || t[0] == '"' {
			return nil, false
		}
		return msg, true
	}
}

// metaValue encodes a Metadata value as the host does (quoted: a JSON string
// holding the value's own JSON, "\"guid\"", or "1" for a number) or as the
// docs show it (a plain string, or a number).
func metaValue(v string, quoted, number bool) json.RawMessage {
	quote := func(s string) []byte { b, _ := json.Marshal(s); return b }
	switch {
	case number && !quoted:
		return json.RawMessage(v)
	case number:
		return quote(v)
	case quoted:
		return quote(string(quote(v)))
	}
	return quote(v)
}

func isJSONString(b []byte) bool {
	var s string
	return json.Unmarshal(b, &s) == nil
}

// looksQuoted reports whether a plain Metadata id would be read as quoted.
func looksQuoted(s string) bool {
	return len(s) >= 2 && strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) && isJSONString([]byte(s))
}
