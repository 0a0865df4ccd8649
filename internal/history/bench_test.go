package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

// Benchmarks of whole engine transitions through the SQLite store (WAL,
// synchronous=FULL, a file in the test's temporary directory): state
// machine, mutable-state and event encoding, the fenced write and its
// fsync. Matching is a no-op, so the outbox's dispatch tasks only check the
// state and are deleted, as in the server. Run with
//
//	go test ./internal/history/ -run XXX -bench . -benchmem -benchtime 2000x

// nopMatching accepts every task and answers no queries.
type nopMatching struct{}

func (nopMatching) AddWorkflowTask(context.Context, *matching.AddTaskRequest) error { return nil }
func (nopMatching) AddActivityTask(context.Context, *matching.AddTaskRequest) error { return nil }
func (nopMatching) DispatchQuery(context.Context, string, string, bool, *workflowservice.PollWorkflowTaskQueueResponse) (*matching.QueryResult, error) {
	return nil, errors.New("no queries in benchmarks")
}

func newBenchEngine(b *testing.B) *Engine {
	b.Helper()
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.InitCluster(ctx, 4); err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(Options{Store: store, Matching: nopMatching{}, NumShards: 4,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		e.Stop()
		_ = store.Close()
	})
	return e
}

var benchSeq int

func benchStart(b *testing.B, e *Engine) *workflowservice.StartWorkflowExecutionResponse {
	benchSeq++
	resp, err := e.StartWorkflowExecution(context.Background(), "ns-id", &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: fmt.Sprintf("bench-%d", benchSeq),
		WorkflowType: &commonpb.WorkflowType{Name: "ExecuteActivity"},
		TaskQueue:    &taskqueuepb.TaskQueue{Name: "bench-tq"}, RequestId: fmt.Sprintf("req-%d", benchSeq),
		Identity: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	return resp
}

// benchStartedWFT starts a run and its first workflow task, returning the
// task's token.
func benchStartedWFT(b *testing.B, e *Engine) *tasktoken.Token {
	benchSeq++
	wfID := fmt.Sprintf("bench-%d", benchSeq)
	resp, err := e.StartWorkflowExecution(context.Background(), "ns-id", &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: wfID,
		WorkflowType: &commonpb.WorkflowType{Name: "ExecuteActivity"},
		TaskQueue:    &taskqueuepb.TaskQueue{Name: "bench-tq"}, RequestId: fmt.Sprintf("req-%d", benchSeq),
		Identity: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	poll, err := e.RecordWorkflowTaskStarted(context.Background(), &matching.RecordStartedRequest{
		NamespaceID: "ns-id", WorkflowID: wfID, RunID: resp.GetRunId(), ScheduledEventID: 2,
		PollRequestID: fmt.Sprintf("poll-%d", benchSeq), Identity: "bench", TaskQueue: "bench-tq",
	})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := tasktoken.Decode(poll.GetTaskToken())
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// BenchmarkStartWorkflowExecutionSQLite: one StartWorkflowExecution (the
// current-run check and the creating write).
func BenchmarkStartWorkflowExecutionSQLite(b *testing.B) {
	e := newBenchEngine(b)
	b.ReportAllocs()
	for b.Loop() {
		benchStart(b, e)
	}
}

// BenchmarkWorkflowTaskCompletionSQLite: one RespondWorkflowTaskCompleted
// with a ScheduleActivityTask command (no eager activity), the workflow
// task of the activities workload.
func BenchmarkWorkflowTaskCompletionSQLite(b *testing.B) {
	e := newBenchEngine(b)
	const batch = 256
	toks := make([]*tasktoken.Token, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(toks) == 0 {
			b.StopTimer()
			for range min(batch, b.N-i) {
				toks = append(toks, benchStartedWFT(b, e))
			}
			b.StartTimer()
		}
		tok := toks[len(toks)-1]
		toks = toks[:len(toks)-1]
		_, err := e.RespondWorkflowTaskCompleted(context.Background(), tok, &workflowservice.RespondWorkflowTaskCompletedRequest{
			Identity: "bench",
			Commands: []*commandpb.Command{{
				CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
				Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{
					ActivityId: "5", ActivityType: &commonpb.ActivityType{Name: "Echo"},
					TaskQueue:           &taskqueuepb.TaskQueue{Name: "bench-tq"},
					StartToCloseTimeout: durationpb.New(time.Minute),
				}},
			}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
