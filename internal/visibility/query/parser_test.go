package query

import (
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

var lookup = searchattr.NewLookup(map[string]enumspb.IndexedValueType{
	"CKeyword": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "CInt": enumspb.INDEXED_VALUE_TYPE_INT,
	"CDouble": enumspb.INDEXED_VALUE_TYPE_DOUBLE, "CBool": enumspb.INDEXED_VALUE_TYPE_BOOL,
	"CDatetime": enumspb.INDEXED_VALUE_TYPE_DATETIME, "CList": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	"CText": enumspb.INDEXED_VALUE_TYPE_TEXT, "With Space": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
})

func TestParse(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"WorkflowType = 'x'", "WorkflowType = ('x')"},
		{`WorkflowType = "x"`, "WorkflowType = ('x')"},
		{"WorkflowType = 'it''s'", "WorkflowType = ('it's')"},
		{`WorkflowType = 'a\'b'`, "WorkflowType = ('a'b')"},
		{"WorkflowType != 'x'", "NOT WorkflowType = ('x')"},
		{"WorkflowType <> 'x'", "NOT WorkflowType = ('x')"},
		{"CInt > 1 AND CInt < 5 OR CBool = true", "((CInt > (1) AND CInt < (5)) OR CBool = (1))"},
		{"CInt > 1 AND (CInt < 5 OR CBool = FALSE)", "(CInt > (1) AND (CInt < (5) OR CBool = (0)))"},
		{"not CInt >= 1", "NOT CInt >= (1)"},
		{"CInt <= -3", "CInt <= (-3)"},
		{"CDouble BETWEEN -1.5 AND 2e3", "CDouble BETWEEN (-1.5, 2000)"},
		{"CInt NOT BETWEEN 1 AND 2", "NOT CInt BETWEEN (1, 2)"},
		{"CKeyword IN ('a', 'b')", "CKeyword IN ('a', 'b')"},
		{"CKeyword not in ('a')", "NOT CKeyword IN ('a')"},
		{"CKeyword STARTS_WITH 'ab'", "CKeyword STARTS_WITH ('ab')"},
		{"CKeyword NOT STARTS_WITH 'ab'", "NOT CKeyword STARTS_WITH ('ab')"},
		{"CKeyword IS NULL", "CKeyword IS NULL"},
		{"CKeyword is not null", "NOT CKeyword IS NULL"},
		{"`With Space` = 'x'", "With Space = ('x')"},
		{"CText = 'Hello, World!'", "CText = ('hello', 'world')"},
		{"ExecutionStatus = 'Running'", "ExecutionStatus = (1)"},
		{"ExecutionStatus IN ('Completed', 'WORKFLOW_EXECUTION_STATUS_FAILED')", "ExecutionStatus IN (2, 3)"},
		{"ExecutionDuration > '1m'", "ExecutionDuration > (60000000000)"},
		{"CDatetime > '2024-01-02T03:04:05Z'", "CDatetime > (1704164645000000000)"},
		{"CList = 'x'", "CList = ('x')"},
		{"TemporalChangeVersion = 'v'", "TemporalChangeVersion = ('v')"},
		{"ORDER BY StartTime", "ORDER BY StartTime"},
		{"order by StartTime desc, RunId asc", "ORDER BY StartTime DESC, RunId"},
		{"CInt = 1 GROUP BY ExecutionStatus", "CInt = (1) GROUP BY ExecutionStatus"},
		{"WorkflowType = 'x' AND ExecutionStatus = 'Running' ORDER BY StartTime DESC",
			"(WorkflowType = ('x') AND ExecutionStatus = (1)) ORDER BY StartTime DESC"},
	}
	for _, c := range cases {
		q, err := Parse(c.in, lookup)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := q.String(); got != c.want {
			t.Errorf("Parse(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in  string
		pos int
		msg string
	}{
		{"WorkflowType = ", 16, "expected a value"},
		{"WorkflowType 'x'", 14, "expected an operator"},
		{"WorkflowType == 'x'", 15, "expected a value"},
		{"= 'x'", 1, "expected a search attribute name, found '='"},
		{"Nope = 'x'", 1, "search attribute Nope is not defined"},
		{"CInt = 1 AND", 13, "expected a search attribute name, found end of query"},
		{"(CInt = 1", 10, "expected ')', found end of query"},
		{"CInt = 1)", 9, "expected AND, OR, GROUP BY, ORDER BY or end of query, found ')'"},
		{"CInt = 'x'", 8, "invalid value string 'x' for CInt (type Int): expected an integer"},
		{"CInt = 1.5", 8, "expected an integer"},
		{"CDouble = 'x'", 11, "expected a number"},
		{"CBool = 1", 9, "expected true or false"},
		{"CDatetime = 'yesterday'", 13, "expected an RFC 3339 time"},
		{"CKeyword = 5", 12, "expected a quoted string"},
		{"ExecutionStatus = 'Sleeping'", 19, "expected a workflow execution status"},
		{"ExecutionStatus > 'Running'", 17, "operator > is not supported on ExecutionStatus"},
		{"CBool > true", 7, "operator > is not supported on CBool (type Bool)"},
		{"CText STARTS_WITH 'a'", 7, "operator STARTS_WITH is not supported on CText (type Text)"},
		{"CInt STARTS_WITH 1", 6, "operator STARTS_WITH is not supported"},
		{"CInt IN ()", 10, "expected a value"},
		{"CInt IN (1 2)", 12, "expected ',' or ')'"},
		{"CInt IN 1", 9, "expected '(' after IN"},
		{"CInt BETWEEN 1 OR 2", 16, "expected AND"},
		{"CInt NOT = 1", 10, "expected IN, BETWEEN or STARTS_WITH after NOT"},
		{"CInt IS 1", 9, "expected NULL"},
		{"CKeyword = 'abc", 12, "unterminated string"},
		{"`CKeyword = 1", 1, "unterminated backquoted name"},
		{"CInt = 1 ORDER StartTime", 16, "expected BY"},
		{"ORDER BY CInt", 10, "ORDER BY is supported on system attributes only"},
		{"GROUP BY WorkflowType", 10, "GROUP BY is supported on ExecutionStatus only"},
		{"CInt = 1 # x", 10, "unexpected character '#'"},
		{"CInt = 1 ORDER BY StartTime AND", 29, "expected AND, OR, GROUP BY, ORDER BY or end of query, found 'AND'"},
	}
	for _, c := range cases {
		_, err := Parse(c.in, lookup)
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("Parse(%q) = %v, want *Error", c.in, err)
			continue
		}
		if qe.Pos != c.pos || !strings.Contains(qe.Msg, c.msg) {
			t.Errorf("Parse(%q) error at %d %q, want at %d containing %q", c.in, qe.Pos, qe.Msg, c.pos, c.msg)
		}
	}
}

func TestParseBounds(t *testing.T) {
	deep := strings.Repeat("(", 200) + "CInt = 1" + strings.Repeat(")", 200)
	if _, err := Parse(deep, lookup); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("deep nesting: %v", err)
	}
	many := strings.Repeat("CInt = 1 OR ", 600) + "CInt = 2"
	if _, err := Parse(many, lookup); err == nil || !strings.Contains(err.Error(), "more than 500 conditions") {
		t.Errorf("many conditions: %v", err)
	}
	if _, err := Parse(strings.Repeat(" ", maxQueryLength+1), lookup); err == nil {
		t.Error("an over-long query parsed")
	}
	if _, err := Parse("CKeyword = '\xff'", lookup); err == nil {
		t.Error("invalid UTF-8 parsed")
	}
	var e *Error
	_, err := Parse("Missing = 1", lookup)
	if !errors.As(err, &e) || e.Undefined != "Missing" {
		t.Errorf("undefined name not reported: %v", err)
	}
}
