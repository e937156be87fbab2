package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/filedrop/filedrop/internal/order"
)

// The contact columns' default lengths (contact table reference); longer
// names are cut, a longer address is not written.
const (
	maxEmail = 100
	maxName  = 50
)

// keyUnsafe are the characters with which an alternate key lookup does
// not work (define-alternate-keys-entity).
const keyUnsafe = `/<>*%&:\?+`

// contactRounds bounds the find-then-write rounds of one contact.
const contactRounds = 4

// contactNamespace is the UUID namespace of the contact ids this client
// creates.
var contactNamespace = uuid.MustParse("b7f3c1e2-5d4a-4f0b-9e8c-2a6d1f3b7c90")

// ContactID is the id a contact for email is created with after n
// conflicts: a UUIDv5 of the address in lower case (and n, when not 0).
// Every delivery computes the same ids in the same order, so only one of
// two concurrent creates can win.
func ContactID(email string, n int) string {
	name := strings.ToLower(strings.TrimSpace(email))
	if n > 0 {
		name = fmt.Sprintf("%s#%d", name, n)
	}
	return uuid.NewSHA1(contactNamespace, []byte(name)).String()
}

// splitName splits a customer's name into the contact's first and last
// name: the last word is the last name (a single word too, so the contact's
// full name shows it), each cut to the column's length.
func splitName(name string) (first, last string) {
	words := strings.Fields(name)
	if len(words) == 0 {
		return "", ""
	}
	return cut(strings.Join(words[:len(words)-1], " "), maxName), cut(words[len(words)-1], maxName)
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// names is the body that sets a contact's name; empty for no name.
func names(name string) map[string]any {
	first, last := splitName(name)
	body := map[string]any{}
	if first != "" {
		body["firstname"] = first
	}
	if last != "" {
		body["lastname"] = last
	}
	return body
}

// upsertContact writes the customer's contact: by the email key when the
// service has one and the address allows, else find-then-write.
func (c *Client) upsertContact(ctx context.Context, cust order.EventCustomer) (Result, error) {
	email := cust.Email
	switch {
	case email == "":
		return Result{}, nil
	case utf8.RuneCountInString(email) > maxEmail:
		return Result{ContactSkipped: fmt.Sprintf("the address is longer than contact.emailaddress1's %d characters", maxEmail)}, nil
	}
	if c.useKey() && !strings.ContainsAny(email, keyUnsafe) {
		res, err := c.upsertContactByKey(ctx, email, cust.Name)
		if !errors.Is(err, errNoKey) {
			return res, err
		}
		c.keyMissing()
	}
	return c.findOrCreateContact(ctx, email, cust.Name)
}

// errNoKey reports that contact.emailaddress1 has no alternate key.
var errNoKey = errors.New("contact.emailaddress1 has no alternate key")

// upsertContactByKey is one PATCH by the alternate key (use-upsert). A
// "key not valid" answer is tried once more, as the service gives it
// for a valid key now and then under load (OData/odata.net#2545), then
// reported as errNoKey.
func (c *Client) upsertContactByKey(ctx context.Context, email, name string) (Result, error) {
	r := request{
		method: http.MethodPatch,
		path:   "contacts(emailaddress1=" + literal(email) + ")?$select=contactid",
		header: map[string]string{"Prefer": "return=representation"},
		body:   names(name),
	}
	for try := 0; ; try++ {
		a, err := c.do(ctx, r)
		if err != nil {
			return Result{}, err
		}
		switch {
		case a.status == http.StatusOK || a.status == http.StatusCreated || a.status == http.StatusNoContent:
			var row struct {
				ContactID string `json:"contactid"`
			}
			_ = json.Unmarshal(a.body, &row) // the status is what counts
			return Result{ContactID: row.ContactID, ContactCreated: a.status == http.StatusCreated}, nil
		case a.status == http.StatusBadRequest && a.error().Code == codeNotFoundSegment && try == 0:
			continue
		case a.status == http.StatusBadRequest && a.error().Code == codeNotFoundSegment:
			return Result{}, errNoKey
		}
		return Result{}, c.fail(r, a, URLSetting)
	}
}

// findOrCreateContact finds the contact by $filter and updates it with
// If-Match: *, or creates it with If-None-Match: * under ContactID. A lost
// race (412 on create, 404 on update) starts the round again; a create
// that conflicts while no contact has the address (a contact of that id
// whose address was changed) takes the next ContactID.
func (c *Client) findOrCreateContact(ctx context.Context, email, name string) (Result, error) {
	conflicts := 0
	for range contactRounds {
		id, dup, err := c.findContact(ctx, email)
		if err != nil {
			return Result{}, err
		}
		if id != "" {
			res := Result{ContactID: id, DuplicateContacts: dup}
			body := names(name)
			if len(body) == 0 {
				return res, nil // nothing to update
			}
			r := request{method: http.MethodPatch, path: "contacts(" + id + ")", header: map[string]string{"If-Match": "*"}, body: body}
			a, err := c.do(ctx, r)
			switch {
			case err != nil:
				return Result{}, err
			case a.status == http.StatusNoContent || a.status == http.StatusOK:
				return res, nil
			case a.status == http.StatusNotFound && a.error().Code != codeNotFoundSegment:
				continue // deleted since it was found
			}
			return Result{}, c.fail(r, a, URLSetting)
		}
		id = ContactID(email, conflicts)
		body := names(name)
		body["emailaddress1"] = email
		r := request{method: http.MethodPatch, path: "contacts(" + id + ")", header: map[string]string{"If-None-Match": "*"}, body: body}
		a, err := c.do(ctx, r)
		switch {
		case err != nil:
			return Result{}, err
		case a.status == http.StatusNoContent || a.status == http.StatusCreated || a.status == http.StatusOK:
			return Result{ContactID: id, ContactCreated: true}, nil
		case a.status == http.StatusPreconditionFailed:
			conflicts++
			continue // another delivery created it, or the id is taken: look again
		}
		return Result{}, c.fail(r, a, URLSetting)
	}
	return Result{}, order.Transient(fmt.Errorf("the contact changed under every one of %d attempts to write it", contactRounds))
}

// findContact returns the id of the oldest contact with the address
// (filters on strings are case-insensitive), and whether there are more.
func (c *Client) findContact(ctx context.Context, email string) (id string, dup bool, err error) {
	r := request{
		method: http.MethodGet,
		path:   "contacts?$select=contactid&$filter=emailaddress1%20eq%20" + literal(email) + "&$orderby=createdon%20asc&$top=2",
	}
	a, err := c.do(ctx, r)
	if err != nil {
		return "", false, err
	}
	if a.status != http.StatusOK {
		return "", false, c.fail(r, a, URLSetting)
	}
	var list struct {
		Value []struct {
			ContactID string `json:"contactid"`
		} `json:"value"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil {
		return "", false, order.Transient(fmt.Errorf("%s %s: decode the answer: %w", r.method, r.what(), err))
	}
	if len(list.Value) == 0 {
		return "", false, nil
	}
	if _, err := uuid.Parse(list.Value[0].ContactID); err != nil {
		return "", false, order.Transient(fmt.Errorf("%s %s: the answer's contactid is not an id", r.method, r.what()))
	}
	return list.Value[0].ContactID, len(list.Value) > 1, nil
}
