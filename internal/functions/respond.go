package functions

import (
	"encoding/json"
	"net/http"
)

// Response is the body of an answer to a non-forwarded invocation.
type Response struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
	// Error is not read by the host; it helps a person reading a capture.
	Error string `json:"Error,omitempty"`
}

// writeResponse answers with application/json and a non-empty object, as
// the host requires (an empty body or a 204 makes it wait for the timeout).
func writeResponse(w http.ResponseWriter, status int, r Response) {
	if r.Outputs == nil {
		r.Outputs = map[string]any{}
	}
	if r.Logs == nil {
		r.Logs = []string{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(r)
}

// WriteJSON answers a forwarded HTTP request with a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setJSONHeaders sets the headers of a JSON answer to a forwarded request.
func setJSONHeaders(h http.Header) {
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
}
