package sqlstore

import (
	"fmt"
	"strings"
	"unicode/utf8"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// visColumn is how a system attribute is stored: its column, the value
// standing for "absent" (nil if it is never absent) and whether it holds
// strings.
type visColumn struct {
	name   string
	absent any
	str    bool
}

var visColumnOf = map[searchattr.Column]visColumn{
	searchattr.ColumnWorkflowID:           {name: "workflow_id", str: true},
	searchattr.ColumnRunID:                {name: "run_id", str: true},
	searchattr.ColumnWorkflowType:         {name: "workflow_type", str: true},
	searchattr.ColumnTaskQueue:            {name: "task_queue", str: true},
	searchattr.ColumnExecutionStatus:      {name: "status"},
	searchattr.ColumnStartTime:            {name: "start_time"},
	searchattr.ColumnExecutionTime:        {name: "execution_time"},
	searchattr.ColumnCloseTime:            {name: "close_time", absent: int64(visOpenMarker)},
	searchattr.ColumnExecutionDuration:    {name: "execution_duration", absent: int64(visOpenMarker)},
	searchattr.ColumnHistoryLength:        {name: "history_length"},
	searchattr.ColumnHistorySizeBytes:     {name: "history_size_bytes"},
	searchattr.ColumnStateTransitionCount: {name: "state_transition_count"},
	searchattr.ColumnParentWorkflowID:     {name: "parent_workflow_id", absent: "", str: true},
	searchattr.ColumnParentRunID:          {name: "parent_run_id", absent: "", str: true},
	searchattr.ColumnRootWorkflowID:       {name: "root_workflow_id", absent: "", str: true},
	searchattr.ColumnRootRunID:            {name: "root_run_id", absent: "", str: true},
}

// visWhere translates a filter into a SQL condition on visibility_executions
// aliased v, with '?' placeholders. The SQL is built from constant pieces
// only; every literal is a parameter.
type visWhere struct {
	b           strings.Builder
	args        []any
	namespaceID string
}

func (w *visWhere) expr(e query.Expr) {
	switch e := e.(type) {
	case *query.And:
		w.binary(e.Left, " AND ", e.Right)
	case *query.Or:
		w.binary(e.Left, " OR ", e.Right)
	case *query.Not:
		w.b.WriteString("NOT (")
		w.expr(e.X)
		w.b.WriteString(")")
	case *query.Predicate:
		if e.Attr.Column != searchattr.ColumnNone {
			w.columnPredicate(e)
		} else {
			w.valuePredicate(e)
		}
	default:
		panic(fmt.Sprintf("sqlstore: unknown query node %T", e))
	}
}

func (w *visWhere) binary(l query.Expr, op string, r query.Expr) {
	w.b.WriteString("(")
	w.expr(l)
	w.b.WriteString(op)
	w.expr(r)
	w.b.WriteString(")")
}

func (w *visWhere) columnPredicate(p *query.Predicate) {
	c, ok := visColumnOf[p.Attr.Column]
	if !ok {
		panic(fmt.Sprintf("sqlstore: no column for %s", p.Attr.Name))
	}
	col := "v." + c.name
	if p.Op == query.OpIsNull {
		if c.absent == nil {
			w.b.WriteString("1 = 0")
			return
		}
		w.b.WriteString(col + " = ?")
		w.args = append(w.args, c.absent)
		return
	}
	if c.absent != nil {
		w.b.WriteString("(" + col + " <> ? AND ")
		w.args = append(w.args, c.absent)
		w.condition(col, p)
		w.b.WriteString(")")
		return
	}
	w.condition(col, p)
}

// valuePredicate tests the indexed values of a predefined or custom
// attribute: "v.run_id IN (runs having a matching value)", which the
// databases answer from the value table's primary key.
func (w *visWhere) valuePredicate(p *query.Predicate) {
	if p.Attr.Type == enumspb.INDEXED_VALUE_TYPE_TEXT && p.Op == query.OpEq && len(p.Values) == 0 {
		w.b.WriteString("1 = 0") // a Text literal without words matches nothing
		return
	}
	table := visValueTables[searchattr.KindOf(p.Attr.Type)]
	if p.Op == query.OpIsNull {
		w.b.WriteString("NOT (")
	}
	w.b.WriteString("v.run_id IN (SELECT a.run_id FROM " + table + " a WHERE a.namespace_id = ? AND a.name = ?")
	w.args = append(w.args, w.namespaceID, p.Attr.Name)
	if p.Op != query.OpIsNull {
		w.b.WriteString(" AND ")
		w.condition("a.value", p)
	}
	w.b.WriteString(")")
	if p.Op == query.OpIsNull {
		w.b.WriteString(")")
	}
}

// condition writes "col <op> values" for every operator but IS NULL.
func (w *visWhere) condition(col string, p *query.Predicate) {
	vals := make([]any, len(p.Values))
	for i, v := range p.Values {
		vals[i] = sqlValue(v)
	}
	switch p.Op {
	case query.OpEq, query.OpIn:
		if len(vals) == 1 {
			w.b.WriteString(col + " = ?")
		} else {
			w.b.WriteString(col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")")
		}
		w.args = append(w.args, vals...)
	case query.OpLt, query.OpLe, query.OpGt, query.OpGe:
		w.b.WriteString(col + " " + p.Op.String() + " ?")
		w.args = append(w.args, vals[0])
	case query.OpBetween:
		w.b.WriteString("(" + col + " >= ? AND " + col + " <= ?)")
		w.args = append(w.args, vals[0], vals[1])
	case query.OpStartsWith:
		w.startsWith(col, p.Values[0].Str)
	default:
		panic(fmt.Sprintf("sqlstore: unknown operator %v", p.Op))
	}
}

// startsWith writes a prefix test as a range, which uses indexes on every
// backend and needs no LIKE escaping: s starts with p exactly when
// p <= s < upper, upper being p with its last code point incremented
// (under code point order, which the schema's collations give).
func (w *visWhere) startsWith(col, prefix string) {
	if prefix == "" {
		w.b.WriteString("1 = 1")
		return
	}
	upper, ok := prefixUpperBound(prefix)
	if !ok {
		w.b.WriteString(col + " >= ?")
		w.args = append(w.args, prefix)
		return
	}
	w.b.WriteString("(" + col + " >= ? AND " + col + " < ?)")
	w.args = append(w.args, prefix, upper)
}

// prefixUpperBound returns the least string greater than every string
// starting with prefix, or false if there is none (the prefix is all
// U+10FFFF).
func prefixUpperBound(prefix string) (string, bool) {
	rs := []rune(prefix)
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i] + 1
		if r >= 0xD800 && r <= 0xDFFF {
			r = 0xE000 // skip surrogates, which UTF-8 cannot hold
		}
		if r <= utf8.MaxRune {
			rs[i] = r
			return string(rs[:i+1]), true
		}
	}
	return "", false
}

// visSortKey is one term of a listing's order; the last one is always the
// run ID, which makes the order total.
type visSortKey struct {
	col  string
	desc bool
	str  bool
}

// visSortKeys returns q's order, or the default: CloseTime DESC (open runs,
// whose close_time is the maximum, first) then StartTime DESC.
func visSortKeys(q *query.Query) []visSortKey {
	var keys []visSortKey
	if q == nil || len(q.OrderBy) == 0 {
		keys = []visSortKey{{col: "close_time", desc: true}, {col: "start_time", desc: true}}
	} else {
		for _, o := range q.OrderBy {
			c := visColumnOf[o.Attr.Column]
			keys = append(keys, visSortKey{col: c.name, desc: o.Desc, str: c.str})
		}
	}
	// The run ID follows the first key's direction so that a uniform
	// order can be read from an index backwards.
	return append(keys, visSortKey{col: "run_id", desc: keys[0].desc, str: true})
}

func orderByClause(keys []visSortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "v." + k.col
		if k.desc {
			parts[i] += " DESC"
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// keysetCondition selects the rows after the row whose sort key values
// are after: (k0 after a0) OR (k0 = a0 AND k1 after a1) OR …, led by
// "k0 after-or-equal a0" so that databases use it as an index range.
func keysetCondition(keys []visSortKey, after []any) (string, []any) {
	var b strings.Builder
	var args []any
	cmp := func(k visSortKey, orEqual bool) string {
		op := map[bool]string{true: "<", false: ">"}[k.desc]
		if orEqual {
			op += "="
		}
		return "v." + k.col + " " + op + " ?"
	}
	b.WriteString(cmp(keys[0], true) + " AND (")
	args = append(args, after[0])
	for i := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(")
		for j := 0; j < i; j++ {
			b.WriteString("v." + keys[j].col + " = ? AND ")
			args = append(args, after[j])
		}
		b.WriteString(cmp(keys[i], false) + ")")
		args = append(args, after[i])
	}
	b.WriteString(")")
	return b.String(), args
}
