// Package searchattr knows Temporal's search attributes: the system ones
// every namespace has (stored as columns of the visibility row), the
// predefined ones workflows may set (TemporalChangeVersion, BuildIds, …),
// and how a search attribute value travels (a JSON payload) and is indexed
// (typed values). It is pure: no I/O, no clock.
package searchattr

import (
	"maps"

	enumspb "go.temporal.io/api/enums/v1"
)

// Column names a system attribute kept as a column of the visibility row.
// ColumnNone marks an attribute kept as indexed rows (predefined and
// custom attributes).
type Column int

// The system columns. The SQL translation maps each to one column.
const (
	ColumnNone Column = iota
	ColumnWorkflowID
	ColumnRunID
	ColumnWorkflowType
	ColumnTaskQueue
	ColumnExecutionStatus
	ColumnStartTime
	ColumnExecutionTime
	ColumnCloseTime
	ColumnExecutionDuration
	ColumnHistoryLength
	ColumnHistorySizeBytes
	ColumnStateTransitionCount
	ColumnParentWorkflowID
	ColumnParentRunID
	ColumnRootWorkflowID
	ColumnRootRunID
)

// Attribute describes one search attribute.
type Attribute struct {
	Name string
	Type enumspb.IndexedValueType
	// Column is non-zero for system attributes stored as a column of the
	// visibility row; they cannot be set through SearchAttributes.
	Column Column
	// Predefined marks system attributes workflows may set (they are
	// indexed like custom ones but nobody registers them).
	Predefined bool
}

// Custom reports whether a is a user-registered attribute.
func (a Attribute) Custom() bool { return a.Column == ColumnNone && !a.Predefined }

const (
	typeKeyword     = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	typeKeywordList = enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST
	typeInt         = enumspb.INDEXED_VALUE_TYPE_INT
	typeDatetime    = enumspb.INDEXED_VALUE_TYPE_DATETIME
	typeBool        = enumspb.INDEXED_VALUE_TYPE_BOOL
)

// columns are the system attributes with their column. ExecutionStatus is
// a Keyword to clients (its values are the status names) but is stored as
// the enum number.
var columns = []Attribute{
	{Name: "WorkflowId", Type: typeKeyword, Column: ColumnWorkflowID},
	{Name: "RunId", Type: typeKeyword, Column: ColumnRunID},
	{Name: "WorkflowType", Type: typeKeyword, Column: ColumnWorkflowType},
	{Name: "TaskQueue", Type: typeKeyword, Column: ColumnTaskQueue},
	{Name: "ExecutionStatus", Type: typeKeyword, Column: ColumnExecutionStatus},
	{Name: "StartTime", Type: typeDatetime, Column: ColumnStartTime},
	{Name: "ExecutionTime", Type: typeDatetime, Column: ColumnExecutionTime},
	{Name: "CloseTime", Type: typeDatetime, Column: ColumnCloseTime},
	{Name: "ExecutionDuration", Type: typeInt, Column: ColumnExecutionDuration},
	{Name: "HistoryLength", Type: typeInt, Column: ColumnHistoryLength},
	{Name: "HistorySizeBytes", Type: typeInt, Column: ColumnHistorySizeBytes},
	{Name: "StateTransitionCount", Type: typeInt, Column: ColumnStateTransitionCount},
	{Name: "ParentWorkflowId", Type: typeKeyword, Column: ColumnParentWorkflowID},
	{Name: "ParentRunId", Type: typeKeyword, Column: ColumnParentRunID},
	{Name: "RootWorkflowId", Type: typeKeyword, Column: ColumnRootWorkflowID},
	{Name: "RootRunId", Type: typeKeyword, Column: ColumnRootRunID},
}

// predefined are the system attributes that workflows, schedules and
// batch jobs set through SearchAttributes (the Go SDK's GetVersion upserts
// TemporalChangeVersion).
var predefined = []Attribute{
	{Name: "TemporalChangeVersion", Type: typeKeywordList},
	{Name: "BinaryChecksums", Type: typeKeywordList},
	{Name: "BuildIds", Type: typeKeywordList},
	{Name: "BatcherNamespace", Type: typeKeyword},
	{Name: "BatcherUser", Type: typeKeyword},
	{Name: "TemporalScheduledStartTime", Type: typeDatetime},
	{Name: "TemporalScheduledById", Type: typeKeyword},
	{Name: "TemporalSchedulePaused", Type: typeBool},
	{Name: "TemporalNamespaceDivision", Type: typeKeyword},
	{Name: "TemporalPauseInfo", Type: typeKeywordList},
	{Name: "TemporalReportedProblems", Type: typeKeywordList},
	{Name: "TemporalWorkerDeployment", Type: typeKeyword},
	{Name: "TemporalWorkerDeploymentVersion", Type: typeKeyword},
	{Name: "TemporalWorkflowVersioningBehavior", Type: typeKeyword},
	{Name: "TemporalUsedWorkerDeploymentVersions", Type: typeKeywordList},
}

var system = func() map[string]Attribute {
	m := map[string]Attribute{}
	for _, a := range columns {
		m[a.Name] = a
	}
	for _, a := range predefined {
		a.Predefined = true
		m[a.Name] = a
	}
	return m
}()

// System returns the system or predefined attribute called name.
func System(name string) (Attribute, bool) {
	a, ok := system[name]
	return a, ok
}

// SystemTypes returns every system and predefined attribute with its type
// (a new map the caller owns).
func SystemTypes() map[string]enumspb.IndexedValueType {
	out := make(map[string]enumspb.IndexedValueType, len(system))
	for name, a := range system {
		out[name] = a.Type
	}
	return out
}

// ColumnAttribute returns the system attribute stored in column c.
func ColumnAttribute(c Column) Attribute {
	for _, a := range columns {
		if a.Column == c {
			return a
		}
	}
	panic("searchattr: unknown column")
}

// Custom builds the Attribute of a registered custom attribute.
func Custom(name string, t enumspb.IndexedValueType) Attribute {
	return Attribute{Name: name, Type: t}
}

// Lookup resolves a search attribute name within a namespace: system and
// predefined attributes first, then custom ones.
type Lookup func(name string) (Attribute, bool)

// NewLookup returns the Lookup of a namespace whose custom attributes are
// custom (not retained: it is copied).
func NewLookup(custom map[string]enumspb.IndexedValueType) Lookup {
	c := maps.Clone(custom)
	return func(name string) (Attribute, bool) {
		if a, ok := system[name]; ok {
			return a, true
		}
		if t, ok := c[name]; ok {
			return Custom(name, t), true
		}
		return Attribute{}, false
	}
}

// ValidType reports whether t is one of the seven search attribute types.
func ValidType(t enumspb.IndexedValueType) bool {
	return t >= enumspb.INDEXED_VALUE_TYPE_TEXT && t <= enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST
}

// TypeName is the short name clients use for t ("Keyword", "KeywordList").
func TypeName(t enumspb.IndexedValueType) string {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_TEXT:
		return "Text"
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return "Keyword"
	case enumspb.INDEXED_VALUE_TYPE_INT:
		return "Int"
	case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		return "Double"
	case enumspb.INDEXED_VALUE_TYPE_BOOL:
		return "Bool"
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		return "Datetime"
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return "KeywordList"
	}
	return t.String()
}
