package matching

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/persistence"
)

// fakeStore is an in-memory persistence.TaskQueueStore with the contract's
// fencing, plus error injection and call counters.
type fakeStore struct {
	mu      sync.Mutex
	parts   map[persistence.TaskQueueKey]*fakePartition
	creates int   // successful CreateTasks calls
	created int   // rows created
	failAdd error // if set, CreateTasks fails with it
	failGet error // if set, GetTasks fails with it
}

type fakePartition struct {
	rangeID  int64
	ackLevel int64
	tasks    map[int64]persistence.QueueTask
}

func newFakeStore() *fakeStore {
	return &fakeStore{parts: map[persistence.TaskQueueKey]*fakePartition{}}
}

func (s *fakeStore) part(key persistence.TaskQueueKey) *fakePartition {
	p := s.parts[key]
	if p == nil {
		p = &fakePartition{tasks: map[int64]persistence.QueueTask{}}
		s.parts[key] = p
	}
	return p
}

func (s *fakeStore) LeaseTaskQueue(ctx context.Context, key persistence.TaskQueueKey) (int64, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.part(key)
	p.rangeID++
	return p.rangeID, p.ackLevel, nil
}

func (s *fakeStore) UpdateAckLevel(ctx context.Context, key persistence.TaskQueueKey, rangeID, ackLevel int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.part(key)
	if p.rangeID != rangeID {
		return &persistence.TaskQueueLeaseLostError{Key: key, RangeID: rangeID}
	}
	p.ackLevel = ackLevel
	return nil
}

func (s *fakeStore) CreateTasks(ctx context.Context, key persistence.TaskQueueKey, rangeID int64, tasks []persistence.QueueTask) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAdd != nil {
		return s.failAdd
	}
	p := s.part(key)
	if p.rangeID != rangeID {
		return &persistence.TaskQueueLeaseLostError{Key: key, RangeID: rangeID}
	}
	for _, t := range tasks {
		if _, ok := p.tasks[t.TaskID]; ok {
			return persistence.ErrAlreadyExists
		}
	}
	for _, t := range tasks {
		t.Data = append([]byte(nil), t.Data...)
		p.tasks[t.TaskID] = t
	}
	s.creates++
	s.created += len(tasks)
	return nil
}

func (s *fakeStore) GetTasks(ctx context.Context, key persistence.TaskQueueKey, afterTaskID int64, limit int) ([]persistence.QueueTask, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failGet != nil {
		return nil, s.failGet
	}
	var ids []int64
	for id := range s.part(key).tasks {
		if id > afterTaskID {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var out []persistence.QueueTask
	for _, id := range ids[:min(limit, len(ids))] {
		t := s.parts[key].tasks[id]
		t.Data = append([]byte(nil), t.Data...)
		out = append(out, t)
	}
	return out, nil
}

func (s *fakeStore) CompleteTasksUpTo(ctx context.Context, key persistence.TaskQueueKey, taskID int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	p := s.part(key)
	for id := range p.tasks {
		if id <= taskID {
			delete(p.tasks, id)
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) CompleteTask(ctx context.Context, key persistence.TaskQueueKey, taskID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.part(key).tasks, taskID)
	return nil
}

func (s *fakeStore) CountTasks(ctx context.Context, key persistence.TaskQueueKey) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.part(key).tasks)), nil
}

// rows returns the number of persisted tasks over all partitions.
func (s *fakeStore) rows() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.parts {
		n += len(p.tasks)
	}
	return n
}

func (s *fakeStore) createCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

func (s *fakeStore) setFailAdd(err error) {
	s.mu.Lock()
	s.failAdd = err
	s.mu.Unlock()
}

// fakeHistory starts every task unless fail says otherwise, and records
// every call and every successful start.
type fakeHistory struct {
	mu      sync.Mutex
	calls   []RecordStartedRequest
	started map[string]int // workflow ID -> successful starts
	// fail, if set, is asked before each start; a non-nil error fails it.
	fail func(req *RecordStartedRequest, call int) error
}

func newFakeHistory() *fakeHistory { return &fakeHistory{started: map[string]int{}} }

func (h *fakeHistory) record(req *RecordStartedRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, *req)
	if h.fail != nil {
		if err := h.fail(req, len(h.calls)); err != nil {
			return err
		}
	}
	h.started[req.WorkflowID]++
	return nil
}

func (h *fakeHistory) setFail(f func(req *RecordStartedRequest, call int) error) {
	h.mu.Lock()
	h.fail = f
	h.mu.Unlock()
}

func (h *fakeHistory) RecordWorkflowTaskStarted(ctx context.Context, req *RecordStartedRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	if err := h.record(req); err != nil {
		return nil, err
	}
	return &workflowservice.PollWorkflowTaskQueueResponse{
		TaskToken:         []byte(fmt.Sprintf("%s/%d", req.WorkflowID, req.ScheduledEventID)),
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: req.WorkflowID, RunId: req.RunID},
	}, nil
}

func (h *fakeHistory) RecordActivityTaskStarted(ctx context.Context, req *RecordStartedRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	if err := h.record(req); err != nil {
		return nil, err
	}
	return &workflowservice.PollActivityTaskQueueResponse{
		TaskToken:         []byte(fmt.Sprintf("%s/%d", req.WorkflowID, req.ScheduledEventID)),
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: req.WorkflowID, RunId: req.RunID},
	}, nil
}

func (h *fakeHistory) callCount(workflowID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c.WorkflowID == workflowID {
			n++
		}
	}
	return n
}

func (h *fakeHistory) startedCopy() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.started))
	for k, v := range h.started {
		out[k] = v
	}
	return out
}

// errUnavailable stands for a transient history failure.
var errUnavailable = errors.New("history unavailable")

// skewClock is the wall clock shifted by an adjustable offset; timers are
// real.
type skewClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *skewClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *skewClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func (c *skewClock) AfterFunc(d time.Duration, f func()) clock.Timer { return time.AfterFunc(d, f) }
