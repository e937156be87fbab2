package app

import (
	"net/http"
	"strings"

	"github.com/filedrop/filedrop/internal/functions"
	"github.com/filedrop/filedrop/internal/orderlink"
)

// newServer is the custom handler's HTTP surface, every route in one place:
//
//	GET  /                      readiness (the host polls it at start-up)
//	POST /api/CheckoutComplete  the Stripe webhook, forwarded as it arrived
//	GET, POST /api/download/... the order page (Download), forwarded as it arrived
//	POST /ProcessOrder          queue invocation
//	POST /SendLink              queue invocation
//	POST /DeliveryReport        queue invocation
//	POST /Reconcile             timer invocation (the scheduled sweep)
//
// Function routes match case-insensitively, as the host's do.
// A nil page (no ORDER_LINK_SECRET) leaves /api/download/ unanswered.
func newServer(webhook, page http.Handler, functionRoutes map[string]http.Handler) http.Handler {
	routes := map[string]http.Handler{"/api/checkoutcomplete": webhook}
	for name, h := range functionRoutes {
		routes["/"+strings.ToLower(name)] = h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			functions.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
			return
		}
		path := strings.ToLower(r.URL.Path)
		if page != nil && strings.HasPrefix(path, orderlink.Path) {
			page.ServeHTTP(w, r)
			return
		}
		if h, ok := routes[path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		functions.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no function at " + r.URL.Path})
	})
}
