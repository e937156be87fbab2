package infra

import (
	"fmt"
	"strconv"
	"strings"
)

// An ARM template expression ("[format('{0}', variables('x'))]") parsed into
// a tree: literals, function calls, property access and indexing. The
// grammar is the one documented for template expressions
// (learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions).

// node is one part of a parsed expression.
type node interface{ String() string }

type (
	strLit struct{ v string }
	numLit struct{ v int }
	call   struct {
		name string
		args []node
	}
	member struct {
		x    node
		name string
	}
	index struct{ x, i node }
)

func (n strLit) String() string { return "'" + strings.ReplaceAll(n.v, "'", "''") + "'" }
func (n numLit) String() string { return strconv.Itoa(n.v) }
func (n call) String() string {
	args := make([]string, len(n.args))
	for i, a := range n.args {
		args[i] = a.String()
	}
	return n.name + "(" + strings.Join(args, ", ") + ")"
}
func (n member) String() string { return n.x.String() + "." + n.name }
func (n index) String() string  { return n.x.String() + "[" + n.i.String() + "]" }

// isExpression reports whether a JSON string is an ARM expression: it starts
// with [ and ends with ], and does not start with [[ (an escaped literal).
func isExpression(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && !strings.HasPrefix(s, "[[")
}

// parseExpression parses the expression s, brackets included.
func parseExpression(s string) (node, error) {
	if !isExpression(s) {
		return nil, fmt.Errorf("not an expression: %q", s)
	}
	p := &parser{src: s[1 : len(s)-1]}
	n, err := p.expr()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("%s: unexpected %q at %d", s, p.src[p.pos:], p.pos+1)
	}
	return n, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *parser) peek() byte {
	p.space()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) expect(c byte) error {
	if p.peek() != c {
		if p.pos >= len(p.src) {
			return fmt.Errorf("expected %q, found the end (unbalanced brackets?)", c)
		}
		return fmt.Errorf("expected %q at %d, found %q", c, p.pos+1, p.src[p.pos])
	}
	p.pos++
	return nil
}

// expr is a primary followed by any number of .name and [index].
func (p *parser) expr() (node, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case '.':
			p.pos++
			name := p.ident()
			if name == "" {
				return nil, fmt.Errorf("expected a property name at %d", p.pos+1)
			}
			n = member{x: n, name: name}
		case '[':
			p.pos++
			i, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(']'); err != nil {
				return nil, err
			}
			n = index{x: n, i: i}
		default:
			return n, nil
		}
	}
}

func (p *parser) primary() (node, error) {
	switch c := p.peek(); {
	case c == '\'':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		v, err := strconv.Atoi(p.src[start:p.pos])
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p.src[start:p.pos])
		}
		return numLit{v: v}, nil
	case c == 0:
		return nil, fmt.Errorf("unexpected end of expression")
	}
	name := p.ident()
	if name == "" {
		return nil, fmt.Errorf("unexpected %q at %d", p.src[p.pos], p.pos+1)
	}
	if lower := strings.ToLower(name); strings.HasPrefix(lower, "list") {
		return nil, fmt.Errorf("%s reads keys or connection strings (a shared key): use an identity", name)
	} else if !knownFunctions[lower] {
		return nil, fmt.Errorf("unknown template function %s", name)
	}
	if err := p.expect('('); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := call{name: name}
	if p.peek() == ')' {
		p.pos++
		return c, nil
	}
	for {
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, a)
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return c, nil
		default:
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("%s( is not closed (unbalanced brackets)", name)
			}
			return nil, fmt.Errorf("expected , or ) at %d in %s(...), found %q", p.pos+1, name, p.src[p.pos])
		}
	}
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

// str reads a quoted string; ” is a quote inside it.
func (p *parser) str() (node, error) {
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '\'' {
			b.WriteByte('\'')
			p.pos++
			continue
		}
		return strLit{v: b.String()}, nil
	}
	return nil, fmt.Errorf("string not closed")
}

// knownFunctions are the template functions Resource Manager documents
// (learn.microsoft.com/azure/azure-resource-manager/templates/template-functions),
// lower case. The list* functions are left out on purpose: they read keys and
// connection strings, and this template uses none.
var knownFunctions = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(`
		array concat contains createArray empty first indexOf intersection items json last lastIndexOf length max min range skip take union
		coalesce equals greater greaterOrEquals less lessOrEquals
		dateTimeAdd dateTimeFromEpoch dateTimeToEpoch utcNow
		deployer deployment environment parameters variables
		and bool false if not or true
		add copyIndex div float int mod mul sub
		extensionResourceId managementGroupResourceId pickZones providers reference references resourceId subscriptionResourceId tenantResourceId
		managementGroup resourceGroup subscription tenant
		base64 base64ToJson base64ToString dataUri dataUriToString endsWith format guid newGuid padLeft replace split startsWith string substring toLower toUpper trim uniqueString uri uriComponent uriComponentToString
		filter groupBy map mapValues reduce sort toObject lambda lambdaVariables objectKeys shallowMerge tryGet tryIndexFromEnd indexFromEnd join
		parseCidr cidrSubnet cidrHost`) {
		m[strings.ToLower(f)] = true
	}
	return m
}()

// walk calls fn for n and every node under it.
func walk(n node, fn func(node)) {
	fn(n)
	switch n := n.(type) {
	case call:
		for _, a := range n.args {
			walk(a, fn)
		}
	case member:
		walk(n.x, fn)
	case index:
		walk(n.x, fn)
		walk(n.i, fn)
	}
}
