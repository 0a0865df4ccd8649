package persistence

import (
	"context"
	"time"
)

// AuditEntry is one audited call.
type AuditEntry struct {
	// ID is assigned by the store on append, rising with append order.
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Subject   string    `json:"subject"` // the caller's identity ("" when unauthenticated)
	Source    string    `json:"source"`  // the caller's address
	API       string    `json:"api"`     // method name, e.g. "StartWorkflowExecution"
	Namespace string    `json:"namespace"`
	// WorkflowID and RunID name the target execution, when there is one;
	// Target names any other target (a schedule, a search attribute, a
	// role binding, a DLQ task).
	WorkflowID string `json:"workflow_id,omitempty"`
	RunID      string `json:"run_id,omitempty"`
	Target     string `json:"target,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	// Code is the gRPC code name of the outcome ("OK", "PermissionDenied", …).
	Code string `json:"code"`
}

// AuditFilter selects audit entries; zero fields do not filter.
type AuditFilter struct {
	From, To  time.Time // From inclusive, To exclusive
	Subject   string
	Namespace string
	AfterID   int64 // entries with a larger ID (paging)
	Limit     int   // required, > 0
}

// AuditStore is an append-only log of audited calls. No method changes an
// entry; only PurgeAuditBefore (the retention policy) removes entries.
// It is an optional capability of a Store.
type AuditStore interface {
	// AppendAudit writes entries in one transaction, assigning IDs.
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// ListAudit returns up to f.Limit entries matching f, by rising ID.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// PurgeAuditBefore removes entries older than t and says how many.
	PurgeAuditBefore(ctx context.Context, t time.Time) (int64, error)
}

// RoleBinding grants Role in Namespace ("temporal-system" = cluster-wide)
// to a principal: a token subject, or every token with a group claim.
type RoleBinding struct {
	// Principal is "user:SUBJECT", "group:NAME" or cert-cn:/cert-dns:/cert-uri: (see auth.PrincipalSyntax).
	Principal string
	Namespace string
	Role      string // read, write, worker or admin
	CreatedAt time.Time
}

// RBACStore keeps role bindings. It is an optional capability of a Store.
type RBACStore interface {
	// PutRoleBinding adds b; adding an existing (Principal, Namespace,
	// Role) again is not an error and keeps the first CreatedAt.
	PutRoleBinding(ctx context.Context, b RoleBinding) error
	// DeleteRoleBinding removes a binding; ErrNotFound if there is none.
	DeleteRoleBinding(ctx context.Context, principal, namespace, role string) error
	// ListRoleBindings returns every binding ordered by principal,
	// namespace, role.
	ListRoleBindings(ctx context.Context) ([]RoleBinding, error)
}
