package query

import (
	"math"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

var comparisons = map[string]Op{"=": OpEq, "<": OpLt, "<=": OpLe, ">": OpGt, ">=": OpGe}

const expectedOperator = "an operator (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, STARTS_WITH, IS NULL)"

// predicate parses "name op literal…" and returns it, wrapped in Not for
// the negated operators.
func (p *parser) predicate() (Expr, error) {
	attr, nameTok, err := p.name()
	if err != nil {
		return nil, err
	}
	p.predicates++
	if p.predicates > maxPredicates {
		return nil, errorf(nameTok.pos, "query has more than %d conditions", maxPredicates)
	}
	opTok := p.next()
	negate := false
	var op Op
	var lits []token
	switch {
	case opTok.kind == tokOp:
		op, negate = comparisons[opTok.text], opTok.text == "!=" || opTok.text == "<>"
		if negate {
			op = OpEq
		}
		lits, err = p.literals(1)
	case opTok.keyword("IS"):
		op, negate = OpIsNull, p.accept("NOT")
		err = p.expectKeyword("NULL")
	default:
		if opTok.keyword("NOT") {
			negate = true
			opTok = p.next()
		}
		op, lits, err = p.wordOperator(opTok, negate)
	}
	if err != nil {
		return nil, err
	}
	pred, err := resolve(attr, nameTok, op, opTok, lits)
	if err != nil {
		return nil, err
	}
	if negate {
		return &Not{X: pred}, nil
	}
	return pred, nil
}

// wordOperator parses the operand list of IN, BETWEEN or STARTS_WITH.
func (p *parser) wordOperator(opTok token, negated bool) (Op, []token, error) {
	switch {
	case opTok.keyword("IN"):
		lits, err := p.inList()
		return OpIn, lits, err
	case opTok.keyword("BETWEEN"):
		lo, err := p.literals(1)
		if err != nil {
			return 0, nil, err
		}
		if err := p.expectKeyword("AND"); err != nil {
			return 0, nil, err
		}
		hi, err := p.literals(1)
		return OpBetween, append(lo, hi...), err
	case opTok.keyword("STARTS_WITH"):
		lits, err := p.literals(1)
		return OpStartsWith, lits, err
	}
	if negated {
		return 0, nil, errorf(opTok.pos, "expected IN, BETWEEN or STARTS_WITH after NOT, found %s", opTok.describe())
	}
	return 0, nil, errorf(opTok.pos, "expected %s, found %s", expectedOperator, opTok.describe())
}

func (p *parser) inList() ([]token, error) {
	if _, err := p.expect(tokLParen, "'(' after IN"); err != nil {
		return nil, err
	}
	var lits []token
	for {
		l, err := p.literals(1)
		if err != nil {
			return nil, err
		}
		lits = append(lits, l...)
		if len(lits) > maxInValues {
			return nil, errorf(l[0].pos, "IN has more than %d values", maxInValues)
		}
		t := p.next()
		if t.kind == tokRParen {
			return lits, nil
		}
		if t.kind != tokComma {
			return nil, errorf(t.pos, "expected ',' or ')', found %s", t.describe())
		}
	}
}

// literals reads n literal tokens.
func (p *parser) literals(n int) ([]token, error) {
	out := make([]token, 0, n)
	for range n {
		t := p.next()
		if t.kind != tokString && t.kind != tokNumber && !t.keyword("TRUE") && !t.keyword("FALSE") {
			return nil, errorf(t.pos, "expected a value (a quoted string or a number), found %s", t.describe())
		}
		out = append(out, t)
	}
	return out, nil
}

// allowed lists the operators each kind of attribute supports.
func allowed(a searchattr.Attribute, op Op) bool {
	if op == OpIsNull {
		return true
	}
	switch {
	case a.Column == searchattr.ColumnExecutionStatus:
		return op == OpEq || op == OpIn
	case a.Type == enumspb.INDEXED_VALUE_TYPE_BOOL, a.Type == enumspb.INDEXED_VALUE_TYPE_TEXT:
		return op == OpEq
	case a.Type == enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return op == OpEq || op == OpIn || op == OpStartsWith
	case a.Type == enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return true
	}
	return op != OpStartsWith // numbers and times
}

func resolve(a searchattr.Attribute, nameTok token, op Op, opTok token, lits []token) (*Predicate, error) {
	if !allowed(a, op) {
		return nil, errorf(opTok.pos, "operator %s is not supported on %s (type %s)", op, nameTok.text, searchattr.TypeName(a.Type))
	}
	pred := &Predicate{Attr: a, Op: op}
	for _, l := range lits {
		v, err := literalValue(a, l)
		if err != nil {
			return nil, err
		}
		pred.Values = append(pred.Values, v...)
	}
	return pred, nil
}

// literalValue converts one literal to the attribute's storage kind. Text
// literals become their words (possibly none).
func literalValue(a searchattr.Attribute, l token) ([]searchattr.Value, error) {
	bad := func(want string) error {
		return errorf(l.pos, "invalid value %s for %s (type %s): expected %s", l.describe(), a.Name, searchattr.TypeName(a.Type), want)
	}
	isString := l.kind == tokString
	switch {
	case a.Column == searchattr.ColumnExecutionStatus:
		return statusValue(l, bad)
	case a.Column == searchattr.ColumnExecutionDuration:
		return durationValue(l, bad)
	case a.Type == enumspb.INDEXED_VALUE_TYPE_TEXT && isString:
		var out []searchattr.Value
		for _, w := range searchattr.Tokenize(l.text) {
			out = append(out, searchattr.StringValue(w))
		}
		return out, nil
	case (a.Type == enumspb.INDEXED_VALUE_TYPE_KEYWORD || a.Type == enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST) && isString:
		return []searchattr.Value{searchattr.StringValue(l.text)}, nil
	case a.Type == enumspb.INDEXED_VALUE_TYPE_INT:
		n, err := strconv.ParseInt(l.text, 10, 64)
		if err != nil || l.keyword("TRUE") || l.keyword("FALSE") {
			return nil, bad("an integer")
		}
		return []searchattr.Value{searchattr.IntValue(n)}, nil
	case a.Type == enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		f, err := strconv.ParseFloat(l.text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad("a number")
		}
		return []searchattr.Value{searchattr.DoubleValue(f)}, nil
	case a.Type == enumspb.INDEXED_VALUE_TYPE_BOOL:
		b, err := strconv.ParseBool(strings.ToLower(l.text))
		if err != nil || l.kind == tokNumber {
			return nil, bad("true or false")
		}
		return []searchattr.Value{searchattr.BoolValue(b)}, nil
	case a.Type == enumspb.INDEXED_VALUE_TYPE_DATETIME:
		return timeValue(l, bad)
	}
	return nil, bad("a quoted string")
}

func statusValue(l token, bad func(string) error) ([]searchattr.Value, error) {
	s, err := enumspb.WorkflowExecutionStatusFromString(l.text)
	if err != nil || s == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return nil, bad("a workflow execution status (Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew, TimedOut)")
	}
	return []searchattr.Value{searchattr.IntValue(int64(s))}, nil
}

// durationValue accepts nanoseconds or a Go duration string ("1h30m").
func durationValue(l token, bad func(string) error) ([]searchattr.Value, error) {
	if l.kind == tokNumber {
		if n, err := strconv.ParseInt(l.text, 10, 64); err == nil {
			return []searchattr.Value{searchattr.IntValue(n)}, nil
		}
	}
	if d, err := time.ParseDuration(l.text); err == nil && l.kind == tokString {
		return []searchattr.Value{searchattr.IntValue(int64(d))}, nil
	}
	return nil, bad("a duration ('1h30m') or a number of nanoseconds")
}

// timeValue accepts an RFC 3339 time or Unix nanoseconds.
func timeValue(l token, bad func(string) error) ([]searchattr.Value, error) {
	if l.kind == tokNumber {
		if n, err := strconv.ParseInt(l.text, 10, 64); err == nil {
			return []searchattr.Value{searchattr.IntValue(n)}, nil
		}
	}
	if t, err := searchattr.ParseTime(l.text); err == nil && l.kind == tokString {
		return []searchattr.Value{searchattr.TimeValue(t)}, nil
	}
	return nil, bad("an RFC 3339 time such as '2024-01-02T15:04:05Z'")
}
