package batch

import (
	"context"
	"errors"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// errStopped: the job closed under the runner (StopBatchOperation), or
// another process holds its lease now.
var errStopped = errors.New("batch: job is no longer running")

// runner runs one job. It is used by one goroutine.
type runner struct {
	w      *Worker
	client Client
	job    *persistence.BatchJob
	req    *workflowservice.StartBatchOperationRequest
	prog   persistence.BatchProgress
	cur    cursor

	interval time.Duration // between actions
	next     time.Time     // earliest time of the next action
	saved    time.Time     // last progress write
}

// run acts on every target after the saved cursor and closes the job as
// completed. A job whose definition or query cannot be used closes as
// failed. It returns errStopped if the job was closed meanwhile, and store
// errors as they come (the job then resumes later).
func (r *runner) run(ctx context.Context) error {
	var err error
	if r.req, err = DecodeRequest(r.job.Data); err != nil {
		return r.close(ctx, persistence.BatchJobFailed, err)
	}
	if r.cur, err = decodeCursor(r.prog.Cursor); err != nil {
		return r.close(ctx, persistence.BatchJobFailed, err)
	}
	r.interval = time.Duration(float64(time.Second) / r.w.rps(r.req.GetMaxOperationsPerSecond()))
	r.saved = r.w.opts.Clock.Now()
	if r.req.GetVisibilityQuery() == "" {
		err = r.runList(ctx)
	} else {
		err = r.runQuery(ctx)
	}
	if err != nil {
		return err
	}
	return r.close(ctx, persistence.BatchJobCompleted, nil)
}

func (r *runner) runList(ctx context.Context) error {
	targets := Executions(r.req)
	for i := r.cur.Index; i < len(targets); i++ {
		if err := r.do(ctx, targets[i]); err != nil {
			return err
		}
		r.cur.Index = i + 1
		if err := r.maybeSave(ctx, false); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) runQuery(ctx context.Context) error {
	base, err := r.baseQuery(ctx)
	if err != nil {
		return err
	}
	for {
		page, err := r.w.opts.Visibility.ListVisibility(ctx, &persistence.ListVisibilityRequest{
			NamespaceID: r.job.NamespaceID, Query: r.after(base), PageSize: pageSize,
		})
		if err != nil {
			return err
		}
		for _, rec := range page.Records {
			if err := r.do(ctx, &commonpb.WorkflowExecution{WorkflowId: rec.WorkflowID, RunId: rec.RunID}); err != nil {
				return err
			}
			r.cur = cursor{WorkflowID: rec.WorkflowID, RunID: rec.RunID}
			if err := r.maybeSave(ctx, false); err != nil {
				return err
			}
		}
		if len(page.Records) < pageSize {
			return nil
		}
		if err := r.maybeSave(ctx, true); err != nil {
			return err
		}
	}
}

// baseQuery is the job's target filter: the user's query (narrowed to
// open runs for terminate, cancel and signal), and for reset only runs
// started before the job, so a batch reset never resets the runs it
// creates. A query that no longer parses (a search attribute was removed)
// closes the job as failed.
func (r *runner) baseQuery(ctx context.Context) (*query.Query, error) {
	t := OperationType(r.req)
	q, err := r.w.opts.Queries.Parse(ctx, r.job.NamespaceID, TargetQuery(r.req.GetVisibilityQuery(), t))
	var qe *query.Error
	if errors.As(err, &qe) {
		return nil, r.close(ctx, persistence.BatchJobFailed, err)
	}
	if err != nil {
		return nil, err
	}
	if t == enumspb.BATCH_OPERATION_TYPE_RESET_WORKFLOW {
		startTime, _ := searchattr.System("StartTime")
		q.Filter = and(q.Filter, &query.Predicate{Attr: startTime, Op: query.OpLe,
			Values: []searchattr.Value{{Kind: searchattr.KindInt, Int: r.job.StartTime.UnixNano()}}})
	}
	return q, nil
}

// after is base restricted to targets after the cursor, in (WorkflowId,
// RunId) order: a key no action changes, so the walk neither skips nor
// repeats a run while the runs it acts on close.
func (r *runner) after(base *query.Query) *query.Query {
	wf, _ := searchattr.System("WorkflowId")
	run, _ := searchattr.System("RunId")
	q := &query.Query{Filter: base.Filter, OrderBy: []query.Order{{Attr: wf}, {Attr: run}}}
	if r.cur.WorkflowID == "" && r.cur.RunID == "" {
		return q
	}
	str := func(s string) []searchattr.Value { return []searchattr.Value{{Kind: searchattr.KindString, Str: s}} }
	q.Filter = and(q.Filter, &query.Or{
		Left: &query.Predicate{Attr: wf, Op: query.OpGt, Values: str(r.cur.WorkflowID)},
		Right: &query.And{
			Left:  &query.Predicate{Attr: wf, Op: query.OpEq, Values: str(r.cur.WorkflowID)},
			Right: &query.Predicate{Attr: run, Op: query.OpGt, Values: str(r.cur.RunID)},
		},
	})
	return q
}

func and(l, r query.Expr) query.Expr {
	if l == nil {
		return r
	}
	return &query.And{Left: l, Right: r}
}

// do acts on one target at the job's rate, retrying retryable errors a
// few times, and counts the outcome.
func (r *runner) do(ctx context.Context, exec *commonpb.WorkflowExecution) error {
	if err := r.pace(ctx); err != nil {
		return err
	}
	wait := retryBackoff
	for attempt := 1; ; attempt++ {
		err := r.act(ctx, exec)
		if err == nil {
			r.prog.Completed++
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retryable(err) || attempt == maxAttempts {
			r.prog.Failed++
			r.w.log.Info("batch: action failed", "job_id", r.job.JobID, "workflow_id", exec.GetWorkflowId(),
				"run_id", exec.GetRunId(), "error", err)
			return nil
		}
		if err := r.w.sleep(ctx, wait); err != nil {
			return err
		}
		wait *= 2
	}
}

// pace waits until the next action is due: one every interval, no burst.
func (r *runner) pace(ctx context.Context) error {
	now := r.w.opts.Clock.Now()
	if r.next.After(now) {
		if err := r.w.sleep(ctx, r.next.Sub(now)); err != nil {
			return err
		}
		now = r.next
	}
	r.next = now.Add(r.interval)
	return nil
}

// maybeSave writes the progress when saveInterval has passed (or force).
func (r *runner) maybeSave(ctx context.Context, force bool) error {
	now := r.w.opts.Clock.Now()
	if !force && now.Sub(r.saved) < saveInterval {
		return nil
	}
	r.prog.Cursor = r.cur.encode()
	err := r.w.opts.Store.UpdateBatchProgress(ctx, r.job.NamespaceID, r.job.JobID, r.w.opts.Owner, r.prog)
	if errors.Is(err, persistence.ErrConditionFailed) || errors.Is(err, persistence.ErrNotFound) {
		return errStopped
	}
	if err == nil {
		r.saved = now
	}
	return err
}

// close closes the job with its final progress; a completed job's total
// becomes what it did, as on the reference server. cause (for a failed
// job) is logged.
func (r *runner) close(ctx context.Context, state persistence.BatchJobState, cause error) error {
	if cause != nil {
		r.w.log.Warn("batch: job failed", "namespace_id", r.job.NamespaceID, "job_id", r.job.JobID, "error", cause)
	}
	if state == persistence.BatchJobCompleted {
		r.prog.Total = r.prog.Completed + r.prog.Failed
	}
	r.prog.Cursor = r.cur.encode()
	err := r.w.opts.Store.CloseBatchJob(ctx, r.job.NamespaceID, r.job.JobID, r.w.opts.Owner, state, r.w.opts.Clock.Now(), &r.prog)
	if errors.Is(err, persistence.ErrConditionFailed) || errors.Is(err, persistence.ErrNotFound) {
		return errStopped
	}
	if err == nil && cause != nil {
		return errStopped // closed as failed: nothing more to do
	}
	return err
}
