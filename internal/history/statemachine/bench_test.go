package statemachine

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Benchmarks of the hot transitions of the activities workload (start,
// workflow task started, completed with ScheduleActivityTask, activity
// started and completed) and of the mutable-state encoding every write
// pays. Transitions that need a prepared run take it from a batch built
// with the timer stopped. Run with
//
//	go test ./internal/history/statemachine/ -run XXX -bench . -benchmem

func benchStartRequest() *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace: "default", WorkflowId: "bench-workflow-id-0001", WorkflowType: &commonpb.WorkflowType{Name: "ExecuteActivity"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: "bench-task-queue"}, RequestId: "0b4a6a4e-9d1c-4b0e-8f43-7f5d2f7d8c21",
		Input:    &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte("3")}}},
		Identity: "1234@bench-host@",
	}
}

func benchStart(now time.Time) *State {
	s, _ := Start(StartInput{NamespaceID: "ns-id", RunID: "run-id", Request: benchStartRequest()}, now)
	return s
}

func benchScheduleActivity(i int) *commandpb.Command {
	return &commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
		Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{
			ActivityId: "5", ActivityType: &commonpb.ActivityType{Name: "Echo"},
			TaskQueue:           &taskqueuepb.TaskQueue{Name: "bench-task-queue"},
			StartToCloseTimeout: durationpb.New(time.Minute),
			Input:               &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"echo-0"`)}}},
		}},
	}
}

// benchStartedWFT returns a run whose first workflow task is started.
func benchStartedWFT(b *testing.B, now time.Time) (*State, WorkflowTaskRef) {
	s := benchStart(now)
	if _, err := StartWorkflowTask(s, s.WorkflowTask.ScheduledEventID, "poll-1", "worker", DefaultLimits, now); err != nil {
		b.Fatal(err)
	}
	wt := s.WorkflowTask
	return s, WorkflowTaskRef{ScheduledEventID: wt.ScheduledEventID, StartedEventID: wt.StartedEventID, Attempt: wt.Attempt}
}

// benchScheduledActivity returns a run with one activity scheduled by a
// completed workflow task.
func benchScheduledActivity(b *testing.B, now time.Time) (*State, int64) {
	s, ref := benchStartedWFT(b, now)
	if _, _, err := CompleteWorkflowTask(s, CompleteInput{Ref: ref, Commands: []*commandpb.Command{benchScheduleActivity(0)}, Identity: "worker"},
		DefaultLimits, now); err != nil {
		b.Fatal(err)
	}
	for id := range s.Activities {
		return s, id
	}
	b.Fatal("no activity scheduled")
	return nil, 0
}

func BenchmarkStart(b *testing.B) {
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		benchStart(now)
	}
}

// batchSize is how many prepared runs are built per StopTimer.
const batchSize = 1024

// eachPrepared runs op b.N times, each on a value from prepare, which is
// called in batches with the timer stopped.
func eachPrepared[T any](b *testing.B, prepare func() T, op func(T)) {
	b.ReportAllocs()
	batch := make([]T, 0, batchSize)
	for i := 0; i < b.N; i++ {
		if len(batch) == 0 {
			b.StopTimer()
			for range min(batchSize, b.N-i) {
				batch = append(batch, prepare())
			}
			b.StartTimer()
		}
		op(batch[len(batch)-1])
		batch = batch[:len(batch)-1]
	}
}

func BenchmarkStartWorkflowTask(b *testing.B) {
	now := t0
	eachPrepared(b, func() *State { return benchStart(now) }, func(s *State) {
		if _, err := StartWorkflowTask(s, s.WorkflowTask.ScheduledEventID, "poll-1", "worker", DefaultLimits, now); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkCompleteWorkflowTaskScheduleActivity(b *testing.B) {
	now := t0
	type prepared struct {
		s    *State
		ref  WorkflowTaskRef
		cmds []*commandpb.Command
	}
	eachPrepared(b, func() prepared {
		s, ref := benchStartedWFT(b, now)
		return prepared{s, ref, []*commandpb.Command{benchScheduleActivity(0)}}
	}, func(p prepared) {
		if _, _, err := CompleteWorkflowTask(p.s, CompleteInput{Ref: p.ref, Commands: p.cmds, Identity: "worker"}, DefaultLimits, now); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkStartActivity(b *testing.B) {
	now := t0
	type prepared struct {
		s  *State
		id int64
	}
	eachPrepared(b, func() prepared {
		s, id := benchScheduledActivity(b, now)
		return prepared{s, id}
	}, func(p prepared) {
		if _, err := StartActivity(p.s, p.id, "", "poll-2", "worker", now); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkCompleteActivity(b *testing.B) {
	now := t0
	result := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"echo-0"`)}}}
	type prepared struct {
		s   *State
		ref ActivityRef
	}
	eachPrepared(b, func() prepared {
		s, id := benchScheduledActivity(b, now)
		if _, err := StartActivity(s, id, "", "poll-2", "worker", now); err != nil {
			b.Fatal(err)
		}
		return prepared{s, ActivityRef{ScheduledEventID: id, Attempt: s.Activities[id].Attempt}}
	}, func(p prepared) {
		if _, err := CompleteActivity(p.s, p.ref, result, "worker", now); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkEncodeState and BenchmarkDecodeState measure the mutable-state
// blob written with every transition and read on every cache miss, for a
// run with one pending activity.
func BenchmarkEncodeState(b *testing.B) {
	s, _ := benchScheduledActivity(b, t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeState(b *testing.B) {
	s, _ := benchScheduledActivity(b, t0)
	blob, err := s.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(blob); err != nil {
			b.Fatal(err)
		}
	}
}
