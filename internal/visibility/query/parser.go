package query

import (
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// Grammar (keywords case-insensitive, names case-sensitive):
//
//	query     = [ or ] [ GROUP BY name { "," name } ] [ ORDER BY order { "," order } ]
//	or        = and { OR and }
//	and       = not { AND not }
//	not       = NOT not | "(" or ")" | predicate
//	predicate = name ( cmp literal
//	                 | [ NOT ] IN "(" literal { "," literal } ")"
//	                 | [ NOT ] BETWEEN literal AND literal
//	                 | [ NOT ] STARTS_WITH literal
//	                 | IS [ NOT ] NULL )
//	cmp       = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	order     = name [ ASC | DESC ]
//	name      = identifier | "`" any text "`"
//	literal   = 'string' | "string" | number | TRUE | FALSE

// maxDepth bounds nesting (parentheses and NOT) so a hostile query cannot
// exhaust the stack; maxPredicates bounds the work a query asks of the
// database.
const (
	maxDepth      = 100
	maxPredicates = 500
	maxInValues   = 1000
)

// Parse parses and type-checks text against the attributes lookup knows.
// An empty text is a query with no filter. Errors are *Error.
func Parse(text string, lookup searchattr.Lookup) (*Query, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, lookup: lookup}
	q := &Query{}
	if !p.peek().keyword("ORDER") && !p.peek().keyword("GROUP") && p.peek().kind != tokEOF {
		if q.Filter, err = p.or(0); err != nil {
			return nil, err
		}
	}
	if p.peek().keyword("GROUP") {
		if q.GroupBy, err = p.groupBy(); err != nil {
			return nil, err
		}
	}
	if p.peek().keyword("ORDER") {
		if q.OrderBy, err = p.orderBy(); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, errorf(t.pos, "expected AND, OR, GROUP BY, ORDER BY or end of query, found %s", t.describe())
	}
	return q, nil
}

type parser struct {
	toks       []token
	i          int
	lookup     searchattr.Lookup
	predicates int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// accept consumes the keyword kw if it is next.
func (p *parser) accept(kw string) bool {
	if p.peek().keyword(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectKeyword(kw string) error {
	if t := p.next(); !t.keyword(kw) {
		return errorf(t.pos, "expected %s, found %s", kw, t.describe())
	}
	return nil
}

func (p *parser) expect(kind tokenKind, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, errorf(t.pos, "expected %s, found %s", what, t.describe())
	}
	return t, nil
}

func (p *parser) or(depth int) (Expr, error) {
	left, err := p.and(depth)
	for err == nil && p.accept("OR") {
		var right Expr
		if right, err = p.and(depth); err == nil {
			left = &Or{Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) and(depth int) (Expr, error) {
	left, err := p.not(depth)
	for err == nil && p.accept("AND") {
		var right Expr
		if right, err = p.not(depth); err == nil {
			left = &And{Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) not(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, errorf(p.peek().pos, "query nests deeper than %d levels", maxDepth)
	}
	if p.accept("NOT") {
		x, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	if p.peek().kind == tokLParen {
		p.next()
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return x, nil
	}
	return p.predicate()
}

// name reads an attribute name and resolves it.
func (p *parser) name() (searchattr.Attribute, token, error) {
	t := p.next()
	if t.kind != tokIdent && t.kind != tokQuotedIdent {
		return searchattr.Attribute{}, t, errorf(t.pos, "expected a search attribute name, found %s", t.describe())
	}
	a, ok := p.lookup(t.text)
	if !ok {
		e := errorf(t.pos, "search attribute %s is not defined", t.text)
		e.Undefined = t.text
		return a, t, e
	}
	return a, t, nil
}

func (p *parser) groupBy() ([]searchattr.Attribute, error) {
	p.next() // GROUP
	if err := p.expectKeyword("BY"); err != nil {
		return nil, err
	}
	var out []searchattr.Attribute
	for {
		a, t, err := p.name()
		if err != nil {
			return nil, err
		}
		if a.Column != searchattr.ColumnExecutionStatus || len(out) > 0 {
			return nil, errorf(t.pos, "GROUP BY is supported on ExecutionStatus only, not on %s", t.text)
		}
		out = append(out, a)
		if p.peek().kind != tokComma {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) orderBy() ([]Order, error) {
	p.next() // ORDER
	if err := p.expectKeyword("BY"); err != nil {
		return nil, err
	}
	var out []Order
	for {
		a, t, err := p.name()
		if err != nil {
			return nil, err
		}
		if a.Column == searchattr.ColumnNone {
			return nil, errorf(t.pos, "ORDER BY is supported on system attributes only, not on %s", t.text)
		}
		o := Order{Attr: a}
		if p.accept("DESC") {
			o.Desc = true
		} else {
			p.accept("ASC")
		}
		out = append(out, o)
		if p.peek().kind != tokComma {
			return out, nil
		}
		p.next()
	}
}
