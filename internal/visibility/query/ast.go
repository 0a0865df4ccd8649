// Package query parses Temporal's visibility list filter ("WorkflowType =
// 'x' AND ExecutionStatus = 'Running' ORDER BY StartTime DESC") into a
// typed tree that a store translates into its own query language.
//
// Parsing resolves every attribute name (through a searchattr.Lookup) and
// converts every literal to the attribute's type, so a Query that parsed is
// well-typed: stores need no further checks.
//
// Semantics, the same on every store:
//   - A predicate holds when the attribute has a value that satisfies it;
//     for a KeywordList, when any element does; for Text, when any word of
//     the literal is a word of the value. A predicate on an attribute a run
//     does not have is false.
//   - Negated forms (!=, NOT IN, NOT BETWEEN, NOT STARTS_WITH, IS NOT NULL,
//     NOT) are exactly the negation of the positive form, so
//     "CustomKeyword != 'a'" also matches runs without CustomKeyword.
//   - Strings compare by Unicode code point, case-sensitively.
package query

import (
	"fmt"
	"strings"

	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// Query is a parsed list filter.
type Query struct {
	// Filter is nil when the query has no condition (every run matches).
	Filter Expr
	// OrderBy is empty when the query does not say; stores then use their
	// default order (CloseTime DESC with open runs first, StartTime DESC).
	OrderBy []Order
	// GroupBy is empty or ExecutionStatus (the only grouping supported).
	GroupBy []searchattr.Attribute
}

// Order is one ORDER BY term, always on a system column.
type Order struct {
	Attr searchattr.Attribute
	Desc bool
}

// Expr is a node of the filter: *And, *Or, *Not or *Predicate.
type Expr interface {
	exprString(b *strings.Builder)
}

// And holds when both sides hold.
type And struct{ Left, Right Expr }

// Or holds when either side holds.
type Or struct{ Left, Right Expr }

// Not holds when X does not.
type Not struct{ X Expr }

// Op is the operator of a Predicate. Negated operators are expressed as
// Not around the positive one.
type Op int

const (
	OpEq         Op = iota + 1 // Values[0]; for Text: any of Values (words)
	OpLt                       // Values[0]
	OpLe                       // Values[0]
	OpGt                       // Values[0]
	OpGe                       // Values[0]
	OpIn                       // any of Values (at least one)
	OpBetween                  // Values[0] <= v <= Values[1]
	OpStartsWith               // Values[0] is a string prefix
	OpIsNull                   // no Values
)

var opNames = map[Op]string{
	OpEq: "=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=", OpIn: "IN",
	OpBetween: "BETWEEN", OpStartsWith: "STARTS_WITH", OpIsNull: "IS NULL",
}

func (o Op) String() string { return opNames[o] }

// Predicate compares one attribute with typed literal values. Values hold
// the attribute's storage kind (searchattr.KindOf(Attr.Type)); for
// ExecutionStatus they are the enum numbers, for ExecutionDuration
// nanoseconds, for Datetime Unix nanoseconds. For Text, OpEq's Values are
// the words of the literal and may be empty (the predicate is then false).
type Predicate struct {
	Attr   searchattr.Attribute
	Op     Op
	Values []searchattr.Value
}

// String renders q canonically (fully parenthesized), for tests and logs.
func (q *Query) String() string {
	var b strings.Builder
	if q.Filter != nil {
		q.Filter.exprString(&b)
	}
	for i, a := range q.GroupBy {
		b.WriteString(map[bool]string{true: " GROUP BY ", false: ", "}[i == 0])
		b.WriteString(a.Name)
	}
	for i, o := range q.OrderBy {
		b.WriteString(map[bool]string{true: " ORDER BY ", false: ", "}[i == 0])
		b.WriteString(o.Attr.Name)
		if o.Desc {
			b.WriteString(" DESC")
		}
	}
	return strings.TrimSpace(b.String())
}

func (e *And) exprString(b *strings.Builder) { binary(b, e.Left, "AND", e.Right) }
func (e *Or) exprString(b *strings.Builder)  { binary(b, e.Left, "OR", e.Right) }
func (e *Not) exprString(b *strings.Builder) {
	b.WriteString("NOT ")
	e.X.exprString(b)
}

func binary(b *strings.Builder, l Expr, op string, r Expr) {
	b.WriteString("(")
	l.exprString(b)
	b.WriteString(" " + op + " ")
	r.exprString(b)
	b.WriteString(")")
}

func (e *Predicate) exprString(b *strings.Builder) {
	fmt.Fprintf(b, "%s %s", e.Attr.Name, e.Op)
	if e.Op == OpIsNull {
		return
	}
	vals := make([]string, len(e.Values))
	for i, v := range e.Values {
		if v.Kind == searchattr.KindString {
			vals[i] = "'" + v.Str + "'"
		} else {
			vals[i] = v.String()
		}
	}
	fmt.Fprintf(b, " (%s)", strings.Join(vals, ", "))
}
