package stripeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// This file decodes the few members of a webhook event that VerifyEvent
// keeps, in one pass over the payload, instead of json.Unmarshal into a
// struct. Under load the decode was about 40 µs of the 450 µs of CPU a
// webhook costs: encoding/json first validates the whole ~3 KB body
// (checkValid) and then walks it again with the reflective decoder, mostly
// to skip the large Checkout Session. The scanner validates and extracts in
// the same pass and allocates only the kept strings.
//
// It gives what json.Unmarshal into the old struct gave (FuzzEventDecode
// holds it to that) with one deliberate difference: keys are matched
// exactly, after their escapes are decoded, where encoding/json also takes
// a key that equals a field name case-insensitively ("ID", "Type").
// Stripe sends lowercase keys only. Everything else is encoding/json's:
// the whole payload must be RFC 8259 JSON nested at most maxDepth deep, the
// last of duplicate keys wins, null leaves a value as it was, a value of
// another type is an error, and a kept string's escapes and invalid UTF-8
// are decoded by encoding/json itself.

// maxDepth is encoding/json's nesting limit (maxNestingDepth in its
// scanner.go): the number of objects and arrays open at once.
const maxDepth = 10000

// eventFields are the members of an event that VerifyEvent keeps, as
// json.Unmarshal leaves them in a struct of these fields.
type eventFields struct {
	id, object, typ, apiVersion string
	livemode                    bool
	created                     int64
	// objectID, objectType and paymentIntent are data.object's id, object
	// and payment_intent ("" when it is null).
	objectID, objectType, paymentIntent string
	// badPaymentIntent is set when the last data.object.payment_intent is
	// neither a string nor null.
	badPaymentIntent bool
}

// decodeEvent validates payload as JSON and returns the members kept of the
// event it holds. Its errors wrap ErrMalformedEvent and quote none of the
// payload.
func decodeEvent(payload []byte) (eventFields, error) {
	s := eventScanner{b: payload}
	var ev eventFields
	s.space()
	err := s.objectOrNull(0, "the event", func(key []byte) error { return s.eventMember(&ev, key) })
	if err == nil {
		s.space()
		if s.i < len(s.b) {
			err = s.syntaxError()
		}
	}
	if err != nil {
		return eventFields{}, fmt.Errorf("%w: %w", ErrMalformedEvent, err)
	}
	return ev, nil
}

// eventScanner reads b from offset i. Each of its loops consumes at least a
// byte per turn, so all are bounded by len(b).
type eventScanner struct {
	b []byte
	i int
}

// eventMember reads the value of a top-level member with the given key.
func (s *eventScanner) eventMember(ev *eventFields, key []byte) error {
	switch string(key) {
	case "id":
		return s.stringInto(&ev.id, 1, "id")
	case "object":
		return s.stringInto(&ev.object, 1, "object")
	case "type":
		return s.stringInto(&ev.typ, 1, "type")
	case "api_version":
		return s.stringInto(&ev.apiVersion, 1, "api_version")
	case "livemode":
		return s.boolInto(&ev.livemode, 1, "livemode")
	case "created":
		return s.int64Into(&ev.created, 1, "created")
	case "data":
		return s.objectOrNull(1, "data", func(key []byte) error {
			if string(key) != "object" {
				return s.skip(2)
			}
			return s.objectOrNull(2, "data.object", func(key []byte) error { return s.dataObjectMember(ev, key) })
		})
	}
	return s.skip(1)
}

// dataObjectMember reads the value of a member of data.object.
func (s *eventScanner) dataObjectMember(ev *eventFields, key []byte) error {
	switch string(key) {
	case "id":
		return s.stringInto(&ev.objectID, 3, "data.object.id")
	case "object":
		return s.stringInto(&ev.objectType, 3, "data.object.object")
	case "payment_intent":
		// Was a json.RawMessage, which takes any value, null included.
		ev.paymentIntent, ev.badPaymentIntent = "", false
		if c := s.peek(); c == '"' || c == 'n' {
			return s.stringInto(&ev.paymentIntent, 3, "data.object.payment_intent")
		}
		ev.badPaymentIntent = true
		return s.skip(3)
	}
	return s.skip(3)
}

// objectOrNull reads an object, calling member for each key with s.i at
// its value (member must read the value), or a null, which leaves a struct
// as it was. depth is the number of containers open around the value, here
// and below.
func (s *eventScanner) objectOrNull(depth int, name string, member func(key []byte) error) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		return s.mismatch(depth, name, "an object")
	}
	s.i++ // depth is at most 2 here, far below maxDepth
	s.space()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.key()
		if err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		s.space()
		switch s.next() {
		case ',':
			s.space()
		case '}':
			return nil
		default:
			return s.syntaxError()
		}
	}
}

// stringInto reads a string into *dst, or a null, which leaves *dst as it
// was.
func (s *eventScanner) stringInto(dst *string, depth int, name string) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
		tok, plain, err := s.str()
		if err != nil {
			return err
		}
		if plain {
			*dst = string(tok[1 : len(tok)-1])
			return nil
		}
		return unquote(tok, dst)
	}
	return s.mismatch(depth, name, "a string")
}

// boolInto reads true or false into *dst, or a null, which leaves *dst as
// it was.
func (s *eventScanner) boolInto(dst *bool, depth int, name string) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case 't':
		*dst = true
		return s.literal("true")
	case 'f':
		*dst = false
		return s.literal("false")
	}
	return s.mismatch(depth, name, "true or false")
}

// int64Into reads a number into *dst, or a null, which leaves *dst as it
// was. As for json.Unmarshal, a fraction, an exponent or a number out of
// range is an error.
func (s *eventScanner) int64Into(dst *int64, depth int, name string) error {
	if c := s.peek(); c == 'n' {
		return s.literal("null")
	} else if c != '-' && !isDigit(c) {
		return s.mismatch(depth, name, "an integer")
	}
	tok, err := s.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an integer of 64 bits", name)
	}
	*dst = n
	return nil
}

// mismatch reads a value of another type than a kept member's and returns
// the error json.Unmarshal would give for it: a syntax error first.
func (s *eventScanner) mismatch(depth int, name, want string) error {
	if err := s.skip(depth); err != nil {
		return err
	}
	return fmt.Errorf("%s is not %s", name, want)
}

// skip reads and validates one value of any type. It keeps the containers
// it opens on a stack rather than recursing, so that a deeply nested
// payload costs no goroutine stack.
func (s *eventScanner) skip(depth int) error {
	var buf [64]bool
	inObject := buf[:0] // per container opened here: an object, or an array
	for {
		var err error
		switch c := s.peek(); c {
		case '{', '[':
			if depth+len(inObject) >= maxDepth {
				return fmt.Errorf("nested deeper than %d", maxDepth)
			}
			s.i++
			s.space()
			if c == '{' && s.peek() == '}' || c == '[' && s.peek() == ']' {
				s.i++
				break
			}
			inObject = append(inObject, c == '{')
			if c == '{' {
				if _, _, err := s.keyToken(); err != nil {
					return err
				}
			}
			continue
		case '"':
			_, _, err = s.str()
		case 't':
			err = s.literal("true")
		case 'f':
			err = s.literal("false")
		case 'n':
			err = s.literal("null")
		default:
			_, err = s.number()
		}
		if err != nil {
			return err
		}
		// After a value: close containers up to a comma, or the end.
		for {
			if len(inObject) == 0 {
				return nil
			}
			obj := inObject[len(inObject)-1]
			s.space()
			c := s.next()
			if c == ',' {
				s.space()
				if obj {
					if _, _, err := s.keyToken(); err != nil {
						return err
					}
				}
				break
			}
			if obj && c != '}' || !obj && c != ']' {
				return s.syntaxError()
			}
			inObject = inObject[:len(inObject)-1]
		}
	}
}

// key reads a member's key, its colon and the space after, and returns
// the key decoded.
func (s *eventScanner) key() ([]byte, error) {
	tok, plain, err := s.keyToken()
	if err != nil {
		return nil, err
	}
	if plain || bytes.IndexByte(tok, '\\') < 0 {
		// Without escapes, the bytes are the key or, if they are not
		// ASCII, match no kept key either way.
		return tok[1 : len(tok)-1], nil
	}
	var k string
	if err := unquote(tok, &k); err != nil {
		return nil, err
	}
	return []byte(k), nil
}

// keyToken reads a member's key, its colon and the space after, and returns
// the key's token as str does.
func (s *eventScanner) keyToken() (tok []byte, plain bool, err error) {
	if tok, plain, err = s.str(); err != nil {
		return nil, false, err
	}
	s.space()
	if s.next() != ':' {
		return nil, false, s.syntaxError()
	}
	s.space()
	return tok, plain, nil
}

// str reads a string token, quotes included, and reports whether it is
// plain: ASCII without escapes, so that its bytes are its value.
func (s *eventScanner) str() (tok []byte, plain bool, err error) {
	start := s.i
	if s.next() != '"' {
		return nil, false, s.syntaxError()
	}
	plain = true
	for {
		// The common bytes in a tight loop.
		for s.i < len(s.b) && s.b[s.i] >= 0x20 && s.b[s.i] < 0x80 && s.b[s.i] != '"' && s.b[s.i] != '\\' {
			s.i++
		}
		switch c := s.next(); {
		case c == '"':
			return s.b[start:s.i], plain, nil
		case c >= 0x80:
			plain = false
		case c == '\\':
			plain = false
			switch s.next() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for range 4 {
					if c := s.next(); !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'f') {
						return nil, false, s.syntaxError()
					}
				}
			default:
				return nil, false, s.syntaxError()
			}
		default: // a control character, or the end of the payload
			return nil, false, s.syntaxError()
		}
	}
}

// number reads a number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *eventScanner) number() ([]byte, error) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.next(); {
	case c == '0':
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return nil, s.syntaxError()
	}
	if s.peek() == '.' {
		s.i++
		if !isDigit(s.next()) {
			return nil, s.syntaxError()
		}
		s.digits()
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !isDigit(s.next()) {
			return nil, s.syntaxError()
		}
		s.digits()
	}
	return s.b[start:s.i], nil
}

func (s *eventScanner) digits() {
	for isDigit(s.peek()) {
		s.i++
	}
}

// literal reads word (true, false or null).
func (s *eventScanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.syntaxError()
	}
	s.i += len(word)
	return nil
}

// space skips JSON whitespace: space, tab, line feed and carriage return.
func (s *eventScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// peek returns the byte at s.i, or 0 (valid nowhere in JSON) at the end.
func (s *eventScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// next returns the byte at s.i, or 0 at the end, and moves past it.
func (s *eventScanner) next() byte {
	c := s.peek()
	s.i++
	return c
}

// syntaxError reports about where the payload stopped being JSON, without
// quoting it.
func (s *eventScanner) syntaxError() error {
	return fmt.Errorf("invalid JSON near byte %d of %d", min(s.i, len(s.b)), len(s.b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// unquote decodes a string token with escapes or bytes beyond ASCII into
// *dst as json.Unmarshal does, since that is the exact rule (lone
// surrogates and invalid UTF-8 become U+FFFD).
func unquote(tok []byte, dst *string) error {
	var v string // not dst: that would move the caller's fields to the heap
	if err := json.Unmarshal(tok, &v); err != nil {
		return fmt.Errorf("a string the scanner took: %w", err) // never: str validated it
	}
	*dst = v
	return nil
}
