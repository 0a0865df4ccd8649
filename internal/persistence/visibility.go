package persistence

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/visibility/query"
)

// VisibilityRecord is one run as listings show it. History writes it
// through its outbox (start, search attribute upsert, close); Version
// orders those writes, since outbox tasks may run late, out of order or
// twice: a write with a lower Version than the stored one is ignored.
//
// Zero values mean "absent": a zero CloseTime is an open run; empty parent
// and root IDs mean none.
type VisibilityRecord struct {
	NamespaceID  string
	WorkflowID   string
	RunID        string
	WorkflowType string
	TaskQueue    string
	Status       enumspb.WorkflowExecutionStatus

	StartTime     time.Time
	ExecutionTime time.Time
	CloseTime     time.Time

	HistoryLength        int64
	HistorySizeBytes     int64
	StateTransitionCount int64

	// Memo and SearchAttributes are returned as stored. Search attributes
	// are also indexed by the types the namespace defines when written;
	// values of undefined names, or that do not decode as their type, are
	// kept but not indexed.
	Memo             *commonpb.Memo
	SearchAttributes *commonpb.SearchAttributes

	ParentWorkflowID string
	ParentRunID      string
	RootWorkflowID   string
	RootRunID        string

	Version int64
}

// ListVisibilityRequest asks for one page of runs matching Query (nil
// means every run), in the query's order or the default one (CloseTime
// DESC with open runs first, then StartTime DESC).
type ListVisibilityRequest struct {
	NamespaceID string
	Query       *query.Query
	// PageSize is the maximum number of records returned; it must be
	// positive.
	PageSize int
	// NextPageToken continues a previous listing of the same query; nil
	// starts from the beginning.
	NextPageToken []byte
}

// ListVisibilityResponse is one page. NextPageToken is nil on the last
// page.
type ListVisibilityResponse struct {
	Records       []*VisibilityRecord
	NextPageToken []byte
}

// VisibilityCount is the answer to a count. With GROUP BY ExecutionStatus,
// Groups has one entry per status that has runs (ordered by status) and
// Count is their sum.
type VisibilityCount struct {
	Count  int64
	Groups []VisibilityStatusCount
}

// VisibilityStatusCount is one group of a count by ExecutionStatus.
type VisibilityStatusCount struct {
	Status enumspb.WorkflowExecutionStatus
	Count  int64
}

// ErrInvalidPageToken means a page token was not produced by this store
// for the same query order; the caller should start over.
var ErrInvalidPageToken = errors.New("persistence: invalid page token")

// VisibilityStore keeps the listing view of runs and each namespace's
// custom search attribute definitions.
//
// Paging is keyset paging on the sort key plus the run ID, so a token stays
// valid while rows change: a run whose sort key does not change is returned
// exactly once across the pages, whatever else is written meanwhile.
type VisibilityStore interface {
	// UpsertVisibility creates or replaces the run's record unless the
	// stored one has a higher Version (then it does nothing and returns
	// nil). It is idempotent. NamespaceID and RunID are required.
	UpsertVisibility(ctx context.Context, rec *VisibilityRecord) error
	// DeleteVisibility removes the run's record; a missing record is not an
	// error. It is the last write of a run: an upsert after it would
	// recreate the record.
	DeleteVisibility(ctx context.Context, namespaceID, workflowID, runID string) error
	// ListVisibility returns a page of records. It serves List and Scan
	// alike. ErrInvalidPageToken for a token it cannot use.
	ListVisibility(ctx context.Context, req *ListVisibilityRequest) (*ListVisibilityResponse, error)
	// CountVisibility counts the runs matching q (nil means all), grouped
	// when q.GroupBy is set. q's ORDER BY is ignored.
	CountVisibility(ctx context.Context, namespaceID string, q *query.Query) (*VisibilityCount, error)

	// AddSearchAttributes defines custom search attributes, atomically: a
	// name already defined with the same type is left alone; one defined
	// with another type fails the whole call with ErrAlreadyExists and
	// nothing is written. The caller validates names and types.
	AddSearchAttributes(ctx context.Context, namespaceID string, attrs map[string]enumspb.IndexedValueType) error
	// RemoveSearchAttributes removes definitions and their indexed values,
	// atomically: ErrNotFound (nothing removed) if any name is not defined.
	// Stored records keep the values in SearchAttributes.
	RemoveSearchAttributes(ctx context.Context, namespaceID string, names []string) error
	// GetSearchAttributes returns the namespace's custom definitions (an
	// empty map when it has none).
	GetSearchAttributes(ctx context.Context, namespaceID string) (map[string]enumspb.IndexedValueType, error)
}
