package schedule

import (
	"strings"

	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// matches evaluates a list filter against one schedule in memory: its
// ID, paused flag, workflow type and its own search attributes. A nil
// filter matches everything. Schedules are few per namespace compared
// with workflows, and a listing reads them anyway.
func matches(e query.Expr, scheduleID string, st *state) bool {
	switch x := e.(type) {
	case nil:
		return true
	case *query.And:
		return matches(x.Left, scheduleID, st) && matches(x.Right, scheduleID, st)
	case *query.Or:
		return matches(x.Left, scheduleID, st) || matches(x.Right, scheduleID, st)
	case *query.Not:
		return !matches(x.X, scheduleID, st)
	case *query.Predicate:
		return predicateHolds(x, attrValues(x.Attr, scheduleID, st))
	}
	return false
}

func attrValues(a searchattr.Attribute, scheduleID string, st *state) []searchattr.Value {
	if _, ok := scheduleAttrs[a.Name]; ok {
		return values(a.Name, scheduleID, st)
	}
	p := st.searchAttributes().GetIndexedFields()[a.Name]
	if p == nil {
		return nil
	}
	vs, err := searchattr.Decode(p, a.Type)
	if err != nil {
		return nil
	}
	return vs
}

// predicateHolds: any stored value satisfying the operator makes the
// predicate true (list attributes match on any element).
func predicateHolds(p *query.Predicate, vs []searchattr.Value) bool {
	if p.Op == query.OpIsNull {
		return len(vs) == 0
	}
	for _, v := range vs {
		if valueHolds(p, v) {
			return true
		}
	}
	return false
}

func valueHolds(p *query.Predicate, v searchattr.Value) bool {
	switch p.Op {
	case query.OpEq:
		return len(p.Values) > 0 && compare(v, p.Values[0]) == 0
	case query.OpLt:
		return compare(v, p.Values[0]) < 0
	case query.OpLe:
		return compare(v, p.Values[0]) <= 0
	case query.OpGt:
		return compare(v, p.Values[0]) > 0
	case query.OpGe:
		return compare(v, p.Values[0]) >= 0
	case query.OpIn:
		for _, w := range p.Values {
			if compare(v, w) == 0 {
				return true
			}
		}
	case query.OpBetween:
		return compare(v, p.Values[0]) >= 0 && compare(v, p.Values[1]) <= 0
	case query.OpStartsWith:
		return v.Kind == searchattr.KindString && strings.HasPrefix(v.Str, p.Values[0].Str)
	}
	return false
}

func compare(a, b searchattr.Value) int {
	switch a.Kind {
	case searchattr.KindString:
		return strings.Compare(a.Str, b.Str)
	case searchattr.KindInt:
		return cmp3(a.Int < b.Int, a.Int > b.Int)
	case searchattr.KindDouble:
		return cmp3(a.Double < b.Double, a.Double > b.Double)
	}
	return 1
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}
