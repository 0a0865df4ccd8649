package matching

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/metrics"
)

func describeAll(t *testing.T, e *Engine, tq string, partition int32) *Description {
	t.Helper()
	d, err := e.DescribeTaskQueue(context.Background(), DescribeRequest{NamespaceID: testNS, Name: tq, Partition: partition})
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	return d
}

// The backlog is exact per partition and in total, its age counts from
// each task's arrival (kept in the row, so a new engine over the same
// store reports it too), rates count adds and dispatches, and pollers are
// listed.
func TestDescribeTaskQueue(t *testing.T) {
	store := newFakeStore()
	h := newHarness(t, store, nil)
	for i := range 8 {
		h.add("tq", "wf-"+string(rune('a'+i)))
	}
	if r := describeAll(t, h.e, "tq", -1).Total.AddRate; r != 8.0/rateWindow {
		t.Errorf("add rate %v, want %v", r, 8.0/rateWindow)
	}
	h.clock.Advance(time.Minute)
	d := describeAll(t, h.e, "tq", -1)
	if d.Total.BacklogCount != 8 || len(d.Partitions) != 4 {
		t.Fatalf("total %d over %d partitions, want 8 over 4", d.Total.BacklogCount, len(d.Partitions))
	}
	for _, p := range d.Partitions {
		if p.BacklogCount != 2 || p.BacklogAge < time.Minute {
			t.Errorf("partition %d: count %d age %v, want 2 and >= 1m", p.Partition, p.BacklogCount, p.BacklogAge)
		}
	}
	if d.Total.BacklogAge < time.Minute || d.Total.AddRate != 0 {
		t.Errorf("total age %v add rate %v, want >= 1m and 0 (the adds left the 30 s window)", d.Total.BacklogAge, d.Total.AddRate)
	}
	if one := describeAll(t, h.e, "tq", 3); len(one.Partitions) != 1 || one.Total.BacklogCount != 2 {
		t.Errorf("partition 3 alone: %+v", one.Total)
	}
	if _, err := h.e.DescribeTaskQueue(context.Background(), DescribeRequest{NamespaceID: testNS, Name: "tq", Partition: 4}); !errors.Is(err, ErrNoSuchPartition) {
		t.Errorf("partition 4: %v, want ErrNoSuchPartition", err)
	}

	// A new engine (a restart) loads the queue to answer.
	h2 := newHarness(t, store, nil)
	d = describeAll(t, h2.e, "tq", -1)
	if d.Total.BacklogCount != 8 || d.Total.BacklogAge <= 0 {
		t.Fatalf("after restart: count %d age %v, want 8 and > 0", d.Total.BacklogCount, d.Total.BacklogAge)
	}
	for range 8 {
		h2.mustPoll("tq")
	}
	d = describeAll(t, h2.e, "tq", -1)
	if d.Total.BacklogCount != 0 || d.Total.BacklogAge != 0 || d.Total.DispatchRate != 8.0/rateWindow {
		t.Errorf("drained: %+v, want count 0, age 0, dispatch rate %v", d.Total, 8.0/rateWindow)
	}
	if len(d.Pollers) != 1 || d.Pollers[0].Identity != "worker-1" || d.Pollers[0].RatePerSecond != defaultPollerRate {
		t.Errorf("pollers %+v, want worker-1 at the default rate", d.Pollers)
	}
}

// Polls and the backlog are exported as metrics under Temporal's names.
func TestMatchingMetrics(t *testing.T) {
	m := metrics.New()
	h := newHarness(t, nil, nil)
	h.e = New(Options{Store: h.store, Dynamic: config.NewDynamic(map[string]any{KeyLongPollExpirationInterval: "2s"}),
		Clock: h.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m,
		NamespaceName: func(string) string { return "default" }})
	h.e.SetHistoryClient(h.hist)
	t.Cleanup(h.e.Stop)
	h.add("tq", "wf-1")
	h.add("tq", "wf-2")
	h.mustPoll("tq")
	h.mustPoll("tq")

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	page := rec.Body.String()
	labels := `{namespace="default",service_name="matching",task_type="Workflow",taskqueue="tq"}`
	for _, want := range []string{
		"poll_success" + labels + " 2",
		"task_schedule_to_start_latency_count" + labels + " 2",
		"asyncmatch_latency_count" + labels + " 2",
		"approximate_backlog_count" + labels + " 0",
		`service_requests{namespace="default",operation="AddWorkflowTask",service_name="matching"} 2`,
		`service_requests{namespace="default",operation="RecordWorkflowTaskStarted",service_name="history"} 2`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("metrics page lacks %q", want)
		}
	}
}
