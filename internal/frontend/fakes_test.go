package frontend

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

// nsStore is an in-memory persistence.NamespaceStore.
type nsStore struct {
	mu   sync.Mutex
	recs []persistence.NamespaceRecord
}

func (s *nsStore) CreateNamespace(_ context.Context, ns persistence.NamespaceRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.ID == ns.ID || r.Name == ns.Name {
			return persistence.ErrAlreadyExists
		}
	}
	s.recs = append(s.recs, ns)
	return nil
}

func (s *nsStore) find(match func(persistence.NamespaceRecord) bool) (persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if match(r) {
			return r, nil
		}
	}
	return persistence.NamespaceRecord{}, persistence.ErrNotFound
}

func (s *nsStore) GetNamespaceByName(_ context.Context, name string) (persistence.NamespaceRecord, error) {
	return s.find(func(r persistence.NamespaceRecord) bool { return r.Name == name })
}

func (s *nsStore) GetNamespaceByID(_ context.Context, id string) (persistence.NamespaceRecord, error) {
	return s.find(func(r persistence.NamespaceRecord) bool { return r.ID == id })
}

func (s *nsStore) ListNamespaces(context.Context) ([]persistence.NamespaceRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]persistence.NamespaceRecord(nil), s.recs...), nil
}

func (s *nsStore) UpdateNamespace(_ context.Context, ns persistence.NamespaceRecord, prev []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.recs {
		if r.ID != ns.ID {
			continue
		}
		if string(r.Data) != string(prev) {
			return persistence.ErrConditionFailed
		}
		if ns.Name != "" {
			for _, o := range s.recs {
				if o.ID != ns.ID && o.Name == ns.Name {
					return persistence.ErrAlreadyExists
				}
			}
			s.recs[i].Name = ns.Name
		}
		s.recs[i].Data = append([]byte(nil), ns.Data...)
		return nil
	}
	return persistence.ErrNotFound
}

func (s *nsStore) DeleteNamespace(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.recs {
		if r.ID == id {
			s.recs = append(s.recs[:i], s.recs[i+1:]...)
			return nil
		}
	}
	return nil
}

// fakeHistory records the last call and answers err (or an empty success).
type fakeHistory struct {
	// Service is nil: methods a test does not fake panic if called.
	history.Service
	err        error
	lastNSID   string
	lastToken  *tasktoken.Token
	lastStart  *workflowservice.StartWorkflowExecutionRequest
	cancelResp bool
}

func (f *fakeHistory) StartWorkflowExecution(_ context.Context, nsID string, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	f.lastNSID, f.lastStart = nsID, req
	if f.err != nil {
		return nil, f.err
	}
	return &workflowservice.StartWorkflowExecutionResponse{RunId: "run"}, nil
}

func (f *fakeHistory) RespondWorkflowTaskCompleted(_ context.Context, tok *tasktoken.Token, _ *workflowservice.RespondWorkflowTaskCompletedRequest) (*workflowservice.RespondWorkflowTaskCompletedResponse, error) {
	f.lastToken = tok
	return nil, f.err
}

func (f *fakeHistory) RespondWorkflowTaskFailed(_ context.Context, tok *tasktoken.Token, _ *workflowservice.RespondWorkflowTaskFailedRequest) error {
	f.lastToken = tok
	return f.err
}

func (f *fakeHistory) RespondActivityTaskCompleted(_ context.Context, tok *tasktoken.Token, _ *commonpb.Payloads, _ string) error {
	f.lastToken = tok
	return f.err
}

func (f *fakeHistory) RespondActivityTaskFailed(_ context.Context, tok *tasktoken.Token, _ *failurepb.Failure, _ *commonpb.Payloads, _ string) error {
	f.lastToken = tok
	return f.err
}

func (f *fakeHistory) RespondActivityTaskCanceled(_ context.Context, tok *tasktoken.Token, _ *commonpb.Payloads, _ string) error {
	f.lastToken = tok
	return f.err
}

func (f *fakeHistory) RecordActivityTaskHeartbeat(_ context.Context, tok *tasktoken.Token, _ *commonpb.Payloads, _ string) (history.HeartbeatAnswer, error) {
	f.lastToken = tok
	return history.HeartbeatAnswer{CancelRequested: f.cancelResp}, f.err
}

func (f *fakeHistory) GetWorkflowExecutionHistory(_ context.Context, nsID string, _ *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	f.lastNSID = nsID
	return &workflowservice.GetWorkflowExecutionHistoryResponse{}, f.err
}

func (f *fakeHistory) GetWorkflowExecutionHistoryReverse(_ context.Context, nsID string, _ *workflowservice.GetWorkflowExecutionHistoryReverseRequest) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	f.lastNSID = nsID
	return &workflowservice.GetWorkflowExecutionHistoryReverseResponse{}, f.err
}

// fakeMatching answers polls at once with an empty (nil) response.
type fakeMatching struct {
	// Matching is nil: methods a test does not fake panic if called.
	Matching
	lastNSID string
}

func (f *fakeMatching) PollWorkflowTaskQueue(_ context.Context, nsID string, _ *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	f.lastNSID = nsID
	return nil, nil
}

func (f *fakeMatching) PollActivityTaskQueue(_ context.Context, nsID string, _ *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	f.lastNSID = nsID
	return nil, nil
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

type testEnv struct {
	h       *Handler
	hist    *fakeHistory
	match   *fakeMatching
	nsID    string // ID of "default"
	otherID string // ID of "other"
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	reg := namespace.NewRegistry(namespace.Options{Store: &nsStore{}})
	for _, n := range []string{"default", "other"} {
		if err := reg.Register(ctx, n, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	env := &testEnv{hist: &fakeHistory{}, match: &fakeMatching{}}
	h, err := New(Options{
		Namespaces: reg, History: env.hist, Matching: env.match,
		Dynamic: config.NewDynamic(nil), Logger: quietLogger,
		ServerVersion: "test", ClusterName: "active", NumShards: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	env.h = h
	d, _ := reg.GetByName(ctx, "default")
	o, _ := reg.GetByName(ctx, "other")
	env.nsID, env.otherID = d.ID, o.ID
	return env
}

// wire maps err as the interceptor does and returns the gRPC status the
// client would see.
func wire(err error) *status.Status {
	return serviceerror.ToStatus(toServiceError(err))
}
