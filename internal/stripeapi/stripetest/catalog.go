package stripetest

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The catalog: products, prices and payment links, kept as Stripe keeps
// them and checked as Stripe checks the requests that change them. Writes
// must carry an Idempotency-Key; a key used again with the same parameters
// answers the first answer again (with Idempotent-Replayed: true), with
// other parameters it is refused, as Stripe does.

var (
	catalogPath = regexp.MustCompile(`^/v1/(products|prices|payment_links)(?:/([^/]+))?$`)
	metadataKey = regexp.MustCompile(`^metadata\[(.+)\]$`)
	currencyRE  = regexp.MustCompile(`^[a-z]{3}$`)
)

// catalog is the server's catalog state; Server.mu guards it.
type catalog struct {
	objects map[string]map[string]any // by id
	order   map[string][]string       // ids by kind (products, prices, payment_links), oldest first
	seq     int
	idem    map[string]answered
	keys    []string
	writes  int
	// lose is the write (counted from 1) whose answer is lost; down
	// answers nothing after it.
	lose       int
	goDown     bool
	down       bool
	sessionSeq int
	// sessions are those Buy made, by id.
	sessions map[string]map[string]any
}

type answered struct {
	fingerprint string
	status      int
	body        map[string]any
}

func (c *catalog) init() {
	if c.objects == nil {
		c.objects, c.order, c.idem, c.sessions = map[string]map[string]any{}, map[string][]string{}, map[string]answered{}, map[string]map[string]any{}
	}
}

// clock is the catalog's time: one second per object made or changed, so
// that runs against fresh servers are alike.
func (c *catalog) clock() int64 { return 1_700_000_000 + int64(c.seq) }

func (c *catalog) newID(prefix string) string {
	c.seq++
	return fmt.Sprintf("%s_T%05d", prefix, c.seq)
}

// Objects returns the catalog's objects of kind ("products", "prices" or
// "payment_links") as decoded JSON, oldest first.
func (s *Server) Objects(kind string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.init()
	var out []map[string]any
	for _, id := range s.cat.order[kind] {
		out = append(out, maps.Clone(s.cat.objects[id]))
	}
	return out
}

// Writes counts the writes applied: a request answered again from its
// idempotency key is no write.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cat.writes
}

// IdempotencyKeys returns the Idempotency-Key of every write request, in
// the order they came, replays included.
func (s *Server) IdempotencyKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cat.keys)
}

// LoseAnswer makes the server apply the n-th write from now (1: the next)
// and then close the connection without an answer, as a crash or a network
// fault right after Stripe applied the write looks to the client. With
// down, it answers nothing at all after that, until Up.
func (s *Server) LoseAnswer(n int, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.lose, s.cat.goDown = s.cat.writes+n, down
}

// Up answers requests again after LoseAnswer's down, and loses no answer.
func (s *Server) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.lose, s.cat.down = 0, false
}

// AddProduct adds a product made by hand in the Dashboard: active, with the
// id, name and metadata, and a one-time default price of amount in
// currency when amount is positive.
func (s *Server) AddProduct(id, name string, metadata map[string]string, amount int64, currency string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cat.init()
	p := s.put("products", id, map[string]any{"object": "product", "name": name, "description": nil, "active": true,
		"default_price": nil, "metadata": stringMap(metadata), "images": []any{}, "type": "service"})
	if amount > 0 {
		pr := s.put("prices", s.cat.newID("price"), priceObject(id, amount, currency, nil, map[string]any{}))
		p["default_price"] = pr["id"]
	}
}

func stringMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// put stores obj as a new object of kind with id.
func (s *Server) put(kind, id string, obj map[string]any) map[string]any {
	obj["id"], obj["livemode"], obj["created"] = id, false, s.cat.clock()
	if kind == "products" {
		obj["updated"] = s.cat.clock()
	}
	s.cat.objects[id] = obj
	s.cat.order[kind] = append(s.cat.order[kind], id)
	return obj
}

func priceObject(product string, amount int64, currency string, lookupKey any, metadata map[string]any) map[string]any {
	return map[string]any{"object": "price", "active": true, "billing_scheme": "per_unit", "currency": currency,
		"custom_unit_amount": nil, "lookup_key": lookupKey, "metadata": metadata, "nickname": nil, "product": product,
		"recurring": nil, "tax_behavior": "unspecified", "tiers_mode": nil, "transform_quantity": nil, "type": "one_time",
		"unit_amount": amount, "unit_amount_decimal": strconv.FormatInt(amount, 10)}
}

// serveCatalog answers a request on the catalog's paths and reports
// whether the path was one of them; s.mu is held.
func (s *Server) serveCatalog(w http.ResponseWriter, r *http.Request) bool {
	m := catalogPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return false
	}
	s.cat.init()
	kind, id := m[1], m[2]
	if r.Method == http.MethodGet {
		if id != "" {
			s.answerObject(w, kind, id)
			return true
		}
		s.serveCatalogList(w, kind, r.URL.Query())
		return true
	}
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, "method "+r.Method+" on "+r.URL.Path)
		return true
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		s.refuse(w, http.StatusBadRequest, "a write without an Idempotency-Key: "+r.URL.Path)
		return true
	}
	if err := r.ParseForm(); err != nil {
		s.refuse(w, http.StatusBadRequest, "form: "+err.Error())
		return true
	}
	s.cat.keys = append(s.cat.keys, key)
	fp := r.URL.Path + "?" + r.PostForm.Encode()
	if prev, ok := s.cat.idem[key]; ok {
		if prev.fingerprint != fp {
			s.answer(w, http.StatusBadRequest, stripeError("idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '"+key+"' if you meant to execute a different request.", ""))
			return true
		}
		w.Header().Set("Idempotent-Replayed", "true")
		s.answer(w, prev.status, prev.body)
		return true
	}
	status, body := s.write(kind, id, r.PostForm)
	s.cat.idem[key] = answered{fingerprint: fp, status: status, body: body}
	s.cat.writes++
	if s.cat.writes == s.cat.lose {
		s.cat.down = s.cat.goDown
		drop(w)
		return true
	}
	s.answer(w, status, body)
	return true
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

func (s *Server) answerObject(w http.ResponseWriter, kind, id string) {
	obj, ok := s.cat.objects[id]
	if !ok || !slices.Contains(s.cat.order[kind], id) {
		s.answer(w, http.StatusNotFound, noSuch(kind, id))
		return
	}
	if kind == "payment_links" {
		obj = linkAnswer(obj)
	}
	s.answer(w, http.StatusOK, obj)
}

func noSuch(kind, id string) map[string]any {
	name := map[string]string{"products": "product", "prices": "price", "payment_links": "payment_link"}[kind]
	return stripeError("invalid_request_error", "resource_missing", "No such "+name+": '"+id+"'", "id")
}

// serveCatalogList lists kind newest first, as Stripe does, filtered by
// active (and product for prices), a page of limit after starting_after.
// Payment links must be listed with their line items expanded: the
// catalog cannot tell what a link sells otherwise.
func (s *Server) serveCatalogList(w http.ResponseWriter, kind string, q url.Values) {
	var expand []string
	for k, v := range q {
		if expandKey.MatchString(k) {
			expand = append(expand, v...)
		}
	}
	if kind == "payment_links" && !slices.Contains(expand, "data.line_items") {
		s.refuse(w, http.StatusBadRequest, fmt.Sprintf("payment links listed with expand %v: want data.line_items", expand))
		return
	}
	var all []any
	ids := s.cat.order[kind]
	for i := len(ids) - 1; i >= 0; i-- {
		obj := s.cat.objects[ids[i]]
		if a := q.Get("active"); a != "" && strconv.FormatBool(obj["active"] == true) != a {
			continue
		}
		if p := q.Get("product"); p != "" && obj["product"] != p {
			continue
		}
		if kind == "payment_links" {
			items := s.linkItems(obj)
			obj = linkAnswer(obj)
			obj["line_items"] = items
		}
		all = append(all, obj)
	}
	data, more, problem := page(all, q.Get("starting_after"), q.Get("limit"), 100)
	if problem != "" {
		s.refuse(w, http.StatusBadRequest, problem)
		return
	}
	s.answer(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": more, "url": "/v1/" + kind})
}

// linkItems is a payment link's line items as Stripe embeds them.
func (s *Server) linkItems(link map[string]any) map[string]any {
	var data []any
	for i, it := range link["items"].([]map[string]any) {
		price := s.cat.objects[it["price"].(string)]
		q := it["quantity"].(int64)
		amount := price["unit_amount"].(int64) * q
		data = append(data, map[string]any{"id": fmt.Sprintf("li_%s_%d", link["id"], i), "object": "item",
			"amount_discount": 0, "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
			"currency": price["currency"], "description": s.cat.objects[price["product"].(string)]["name"],
			"price": price, "quantity": q})
	}
	return map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/payment_links/" + link["id"].(string) + "/line_items"}
}

// params is a write's form, checked against what the endpoint takes.
type params struct {
	form     url.Values
	metadata map[string]string
	problem  string
}

func parseParams(form url.Values, allowed ...string) params {
	p := params{form: form, metadata: map[string]string{}}
	for k, v := range form {
		if m := metadataKey.FindStringSubmatch(k); m != nil {
			switch {
			case len(m[1]) > 40:
				p.problem = "metadata key " + m[1] + " is longer than 40 characters"
			case len([]rune(v[0])) > 500:
				p.problem = "metadata value of " + m[1] + " is longer than 500 characters"
			}
			p.metadata[m[1]] = v[0]
			continue
		}
		if !slices.Contains(allowed, k) {
			p.problem = "unexpected parameter " + k
		}
	}
	return p
}

// write applies a write to kind (id: "" to create) and returns Stripe's
// answer.
func (s *Server) write(kind, id string, form url.Values) (int, map[string]any) {
	var p params
	switch kind {
	case "products":
		p = parseParams(form, "name", "description", "active", "default_price")
	case "prices":
		p = parseParams(form, "product", "currency", "unit_amount", "lookup_key", "transfer_lookup_key", "active")
	default:
		p = parseParams(form, "line_items[0][price]", "line_items[0][quantity]", "active")
	}
	if p.problem != "" {
		s.tb.Errorf("stripetest: bad request: %s", p.problem)
		return http.StatusBadRequest, stripeError("invalid_request_error", "parameter_unknown", p.problem, "")
	}
	if id != "" {
		if _, ok := s.cat.objects[id]; !ok || !slices.Contains(s.cat.order[kind], id) {
			return http.StatusNotFound, noSuch(kind, id)
		}
	}
	switch kind {
	case "products":
		return s.writeProduct(id, p)
	case "prices":
		return s.writePrice(id, p)
	}
	return s.writeLink(id, p)
}

func invalid(param, msg string) (int, map[string]any) {
	return http.StatusBadRequest, stripeError("invalid_request_error", "", msg, param)
}

func (s *Server) writeProduct(id string, p params) (int, map[string]any) {
	f := p.form
	if id == "" && strings.TrimSpace(f.Get("name")) == "" {
		return invalid("name", "Missing required param: name.")
	}
	if id == "" && f.Has("description") && f.Get("description") == "" {
		return invalid("description", "You passed an empty string for 'description'. We assume empty values are an attempt to unset a parameter; however 'description' cannot be unset. You should remove 'description' from your request or supply a non-empty value.")
	}
	if dp := f.Get("default_price"); dp != "" {
		price, ok := s.cat.objects[dp]
		switch {
		case !ok || price["object"] != "price":
			return invalid("default_price", "No such price: '"+dp+"'")
		case price["product"] != id:
			return invalid("default_price", "The price specified belongs to another product.")
		case price["active"] != true:
			return invalid("default_price", "The default price must be active.")
		}
	}
	var prod map[string]any
	if id == "" {
		prod = s.put("products", s.cat.newID("prod"), map[string]any{"object": "product", "active": true, "description": nil,
			"default_price": nil, "metadata": map[string]any{}, "images": []any{}, "type": "service", "name": ""})
	} else {
		prod = s.cat.objects[id]
		s.cat.seq++
		prod["updated"] = s.cat.clock()
	}
	if f.Has("name") {
		prod["name"] = f.Get("name")
	}
	if f.Has("description") {
		prod["description"] = nullable(f.Get("description"))
	}
	if f.Has("active") {
		prod["active"] = f.Get("active") == "true"
	}
	if f.Has("default_price") {
		prod["default_price"] = f.Get("default_price")
	}
	mergeMetadata(prod, p.metadata)
	return http.StatusOK, maps.Clone(prod)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// mergeMetadata sets obj's metadata keys as Stripe does: an empty value
// deletes the key.
func mergeMetadata(obj map[string]any, md map[string]string) {
	m := obj["metadata"].(map[string]any)
	for k, v := range md {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

func (s *Server) writePrice(id string, p params) (int, map[string]any) {
	f := p.form
	if id != "" {
		price := s.cat.objects[id]
		if f.Has("active") {
			prod := s.cat.objects[price["product"].(string)]
			if f.Get("active") == "false" && prod["default_price"] == id {
				return invalid("active", "This price cannot be archived because it is the default price of its product.")
			}
			price["active"] = f.Get("active") == "true"
		}
		mergeMetadata(price, p.metadata)
		return http.StatusOK, maps.Clone(price)
	}
	prod, ok := s.cat.objects[f.Get("product")]
	amount, err := strconv.ParseInt(f.Get("unit_amount"), 10, 64)
	switch {
	case !ok || prod["object"] != "product":
		return http.StatusBadRequest, stripeError("invalid_request_error", "resource_missing", "No such product: '"+f.Get("product")+"'", "product")
	case !currencyRE.MatchString(f.Get("currency")):
		return invalid("currency", "Invalid currency: "+f.Get("currency"))
	case err != nil || amount < 0:
		return invalid("unit_amount", "Invalid non-negative integer: unit_amount")
	}
	var lookup any
	if lk := f.Get("lookup_key"); lk != "" {
		lookup = lk
		for _, pid := range s.cat.order["prices"] {
			other := s.cat.objects[pid]
			if other["lookup_key"] != lk {
				continue
			}
			if f.Get("transfer_lookup_key") != "true" {
				return invalid("lookup_key", "A price (`"+pid+"`) already uses that lookup key.")
			}
			other["lookup_key"] = nil
		}
	}
	metadata := map[string]any{}
	for k, v := range p.metadata {
		metadata[k] = v
	}
	return http.StatusOK, maps.Clone(s.put("prices", s.cat.newID("price"), priceObject(f.Get("product"), amount, f.Get("currency"), lookup, metadata)))
}

func (s *Server) writeLink(id string, p params) (int, map[string]any) {
	f := p.form
	if id != "" {
		link := s.cat.objects[id]
		if f.Has("active") {
			link["active"] = f.Get("active") == "true"
		}
		mergeMetadata(link, p.metadata)
		return http.StatusOK, linkAnswer(link)
	}
	priceID := f.Get("line_items[0][price]")
	price, ok := s.cat.objects[priceID]
	q, err := strconv.ParseInt(f.Get("line_items[0][quantity]"), 10, 64)
	switch {
	case priceID == "":
		return invalid("line_items", "Missing required param: line_items.")
	case !ok || price["object"] != "price":
		return http.StatusBadRequest, stripeError("invalid_request_error", "resource_missing", "No such price: '"+priceID+"'", "line_items[0][price]")
	case price["active"] != true:
		return invalid("line_items[0][price]", "The price `"+priceID+"` is not active.")
	case s.cat.objects[price["product"].(string)]["active"] != true:
		return invalid("line_items[0][price]", "The product of price `"+priceID+"` is not active.")
	case err != nil || q < 1:
		return invalid("line_items[0][quantity]", "Invalid positive integer: quantity")
	}
	metadata := map[string]any{}
	for k, v := range p.metadata {
		metadata[k] = v
	}
	lid := s.cat.newID("plink")
	link := s.put("payment_links", lid, map[string]any{"object": "payment_link", "active": true, "url": s.URL + buyPrefix + lid,
		"currency": price["currency"], "metadata": metadata, "items": []map[string]any{{"price": priceID, "quantity": q}},
		"after_completion": map[string]any{"type": "hosted_confirmation", "hosted_confirmation": map[string]any{"custom_message": nil}}})
	return http.StatusOK, linkAnswer(link)
}

// linkAnswer is a payment link as Stripe answers a write: without its line
// items, which are listed only when expanded.
func linkAnswer(link map[string]any) map[string]any {
	out := maps.Clone(link)
	delete(out, "items")
	return out
}
