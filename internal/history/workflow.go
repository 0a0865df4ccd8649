package history

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
)

func newUUID() string { return uuid.NewString() }

// writeTimeout bounds a state write. Writes do not inherit the caller's
// cancellation, so a client that goes away never leaves a write half done.
const writeTimeout = 10 * time.Second

// load fills ent from the store when it is not cached.
func (e *Engine) load(ctx context.Context, sh *shard, key persistence.WorkflowKey, ent *entry) error {
	if err := sh.owned(); err != nil {
		ent.st = nil // another owner moves the run on: our copy is stale
		return err
	}
	if gen := sh.gen.Load(); ent.st != nil && ent.gen != gen {
		ent.st = nil // cached under an earlier acquisition of the shard
	}
	e.opts.Metrics.CacheLookup(metrics.CacheMutableState, ent.st == nil)
	if ent.st != nil {
		return nil
	}
	rec, err := e.opts.Store.GetWorkflow(ctx, sh.id, key)
	if errors.Is(err, persistence.ErrNotFound) {
		return ErrWorkflowNotFound
	}
	if err != nil {
		return err
	}
	st, err := statemachine.Decode(rec.State)
	if err != nil {
		return err
	}
	ent.st, ent.version, ent.gen = st, rec.Version, sh.gen.Load()
	ent.size.Store(int64(len(rec.State)))
	return nil
}

// transition is a state-machine step run under the workflow's lock.
type transition func(st *statemachine.State, now time.Time) (statemachine.Output, error)

// update runs fn on the run's state and writes what it produced in one
// transaction. fn may run twice if the record changed under us (it is then
// re-run on the reloaded state).
func (e *Engine) update(ctx context.Context, key persistence.WorkflowKey, fn transition) error {
	return e.updateWith(ctx, key, func(st *statemachine.State, now time.Time) (statemachine.Output, *newRun, error) {
		out, err := fn(st, now)
		return out, nil, err
	})
}

// runTransition is a transition that may also create another run of the
// same workflow ID in the same transaction (reset).
type runTransition func(st *statemachine.State, now time.Time) (statemachine.Output, *newRun, error)

// updateWith is update for a transition that may create a run; a run it
// returns replaces out.Next.
func (e *Engine) updateWith(ctx context.Context, key persistence.WorkflowKey, fn runTransition) error {
	if err := e.begin(); err != nil {
		return err
	}
	defer e.ops.Done()
	sh := e.shardOf(key.NamespaceID, key.WorkflowID)
	ent := e.cache.lock(key)
	defer e.cache.unlock(key, ent)
	for attempt := 0; ; attempt++ {
		if err := e.load(ctx, sh, key, ent); err != nil {
			return err
		}
		out, next, err := fn(ent.st, e.opts.Clock.Now())
		if err != nil || out.NoChange {
			return err
		}
		err = e.persist(sh, key, ent, out, next)
		if errors.Is(err, persistence.ErrConditionFailed) && attempt == 0 {
			continue
		}
		if errors.Is(err, persistence.ErrConditionFailed) {
			return ErrBusy
		}
		return err
	}
}

// view runs fn on the run's current state without changing it.
func (e *Engine) view(ctx context.Context, key persistence.WorkflowKey, fn func(st *statemachine.State)) error {
	if err := e.begin(); err != nil {
		return err
	}
	defer e.ops.Done()
	sh := e.shardOf(key.NamespaceID, key.WorkflowID)
	ent := e.cache.lock(key)
	defer e.cache.unlock(key, ent)
	if err := e.load(ctx, sh, key, ent); err != nil {
		return err
	}
	fn(ent.st)
	return nil
}

// persist writes one transition of ent's state, and the run that follows
// it (next, or else out.Next) in the same transaction. On failure the
// cached state is dropped (it holds the unwritten change).
func (e *Engine) persist(sh *shard, key persistence.WorkflowKey, ent *entry, out statemachine.Output, next *newRun) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	events, err := encodeEvents(out)
	if err != nil {
		ent.st = nil
		return err
	}
	ent.st.StateTransitions++
	state, err := ent.st.Encode()
	if err != nil {
		ent.st = nil
		return err
	}
	req := &persistence.UpdateWorkflowRequest{
		ShardID: sh.id, Key: key, ExpectedVersion: ent.version,
		State: state, NextEventID: ent.st.NextEventID, Events: events,
	}
	if out.Closed {
		req.UpdateCurrent, req.CurrentState, req.CurrentStatus = true, persistence.RunStateClosed, int32(ent.st.Execution.Status)
		out.Tasks = append(out.Tasks, e.retentionTask(key.NamespaceID, ent.st))
	}
	if next == nil {
		if next, err = e.nextRun(sh, out.Next); err != nil {
			ent.st = nil
			return err
		}
	}
	tasks := keyed(key, out.Tasks)
	if next != nil {
		req.NewRun = next.create
		c := next.create.Current
		tasks = append(tasks, keyed(persistence.WorkflowKey{NamespaceID: c.NamespaceID, WorkflowID: c.WorkflowID, RunID: c.RunID}, next.tasks)...)
	}
	rows, err := sh.write(ctx, tasks, func(rangeID int64, rows []persistence.OutboxTask) error {
		req.RangeID, req.Tasks = rangeID, rows[:len(out.Tasks)]
		if next != nil {
			next.create.RangeID, next.create.Tasks = rangeID, rows[len(out.Tasks):]
		}
		return e.opts.Store.UpdateWorkflow(ctx, req)
	})
	if err != nil {
		ent.st = nil
		return err
	}
	ent.version++
	ent.size.Store(int64(len(state)))
	ent.tail.append(events)
	e.recordTransition(ent.st, out.Closed)
	sh.enqueue(rows)
	if ent.st.Running() {
		e.watch.notifyOpen(key)
	} else {
		e.watch.notify(key)
	}
	return nil
}

// retentionTask deletes a closed run once the namespace's retention passed.
func (e *Engine) retentionTask(namespaceID string, st *statemachine.State) statemachine.Task {
	return statemachine.Task{Type: statemachine.TaskDeleteRun, Time: st.Execution.CloseTime.Add(e.retention(namespaceID))}
}

// retention is the namespace's retention period; the dynamic key
// history.retentionOverride replaces it for every namespace (tests).
func (e *Engine) retention(namespaceID string) time.Duration {
	if d := e.opts.Dynamic.Duration("history.retentionOverride", 0); d > 0 {
		return d
	}
	if e.opts.NamespaceRetention != nil {
		if d := e.opts.NamespaceRetention(namespaceID); d > 0 {
			return d
		}
	}
	return 24 * time.Hour
}

// newRun is a run prepared for creation with another write.
type newRun struct {
	create *persistence.CreateWorkflowRequest
	tasks  []statemachine.Task
}

// nextRun prepares the run that follows a closing one (nil if none). Its
// outbox rows are allocated with the closing run's, so they share the
// transaction.
func (e *Engine) nextRun(sh *shard, in *statemachine.StartInput) (*newRun, error) {
	if in == nil {
		return nil, nil
	}
	in.Eager = false
	st, out := statemachine.Start(*in, e.opts.Clock.Now())
	return prepareRun(sh, st, out, in.ContinuedFrom)
}

// prepareRun encodes a new run (its state and first output) for creation
// as the workflow ID's current run in place of run prev.
func prepareRun(sh *shard, st *statemachine.State, out statemachine.Output, prev string) (*newRun, error) {
	events, err := encodeEvents(out)
	if err != nil {
		return nil, err
	}
	st.StateTransitions = 1
	state, err := st.Encode()
	if err != nil {
		return nil, err
	}
	x := st.Execution
	return &newRun{
		create: &persistence.CreateWorkflowRequest{
			ShardID: sh.id, Mode: persistence.CurrentReplace, PreviousRunID: prev,
			Current: persistence.CurrentRun{
				NamespaceID: x.NamespaceID, WorkflowID: x.WorkflowID, RunID: x.RunID,
				CreateRequestID: x.CreateRequestID, State: persistence.RunStateRunning,
				Status: int32(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING),
			},
			State: state, NextEventID: st.NextEventID, Events: events,
		},
		tasks: out.Tasks,
	}, nil
}

func encodeEvents(out statemachine.Output) ([]persistence.HistoryEvent, error) {
	evs := make([]persistence.HistoryEvent, len(out.Events))
	for i, ev := range out.Events {
		b, err := proto.Marshal(ev)
		if err != nil {
			return nil, err
		}
		evs[i] = persistence.HistoryEvent{EventID: ev.EventId, Data: b}
	}
	return evs, nil
}

// watchers wake long polls when a run changes. A long poll for a run's
// close event waits on the close channels, which writes that leave the run
// open (notifyOpen) do not wake: it sleeps once instead of re-reading the
// run (behind its workflow lock) at every transition.
type watchers struct {
	mu     sync.Mutex
	m      map[persistence.WorkflowKey]chan struct{} // any change
	closes map[persistence.WorkflowKey]chan struct{} // a change that may have closed the run
	closed bool
}

// wait returns a channel closed at key's next change (or on shutdown).
// Take it before reading the state, so no change is missed.
func (w *watchers) wait(key persistence.WorkflowKey) <-chan struct{} {
	return w.channel(&w.m, key)
}

// waitClose returns a channel closed at key's next change that may have
// closed the run (or on shutdown); like wait, take it before reading.
func (w *watchers) waitClose(key persistence.WorkflowKey) <-chan struct{} {
	return w.channel(&w.closes, key)
}

func (w *watchers) channel(m *map[persistence.WorkflowKey]chan struct{}, key persistence.WorkflowKey) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if *m == nil {
		*m = map[persistence.WorkflowKey]chan struct{}{}
	}
	ch := (*m)[key]
	if ch == nil {
		ch = make(chan struct{})
		(*m)[key] = ch
	}
	return ch
}

// notify wakes every watcher of key: the run changed, maybe closed.
func (w *watchers) notify(key persistence.WorkflowKey) {
	w.mu.Lock()
	wake(w.m, key)
	wake(w.closes, key)
	w.mu.Unlock()
}

// notifyOpen wakes the watchers of any change of key: the run changed and
// is still open.
func (w *watchers) notifyOpen(key persistence.WorkflowKey) {
	w.mu.Lock()
	wake(w.m, key)
	w.mu.Unlock()
}

func wake(m map[persistence.WorkflowKey]chan struct{}, key persistence.WorkflowKey) {
	if ch := m[key]; ch != nil {
		close(ch)
		delete(m, key)
	}
}

// notifyShard wakes the long polls on the runs of a shard this process
// stopped serving: they re-read, get ownership lost, and the caller's
// routing retries them on the new owner instead of waiting out the poll.
func (w *watchers) notifyShard(shardID, numShards int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range []map[persistence.WorkflowKey]chan struct{}{w.m, w.closes} {
		for k, ch := range m {
			if ShardFor(k.NamespaceID, k.WorkflowID, numShards) == shardID {
				close(ch)
				delete(m, k)
			}
		}
	}
}

func (w *watchers) closeAll() {
	w.mu.Lock()
	w.closed = true
	for _, m := range []map[persistence.WorkflowKey]chan struct{}{w.m, w.closes} {
		for k, ch := range m {
			close(ch)
			delete(m, k)
		}
	}
	w.mu.Unlock()
}
