package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

// startServer runs an in-process Sundial with metrics on a free port and
// returns its frontend address and metrics URL.
func startServer(t *testing.T) (addr, metricsURL string) {
	t.Helper()
	s, err := server.New(server.Config{
		IP: "127.0.0.1", Port: 0, DBFilename: filepath.Join(t.TempDir(), "bench.db"),
		NumShards: 4, Namespaces: []string{"default"}, DynamicConfig: config.NewDynamic(nil),
		MetricsAddress: "127.0.0.1:0",
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.FrontendAddr(), "http://" + s.MetricsAddr() + "/metrics"
}

// Each workload runs briefly against an in-process server without
// failures and reports the server-side figures. Nothing here depends on
// how fast the machine is: only failures and counts are checked.
func TestWorkloadsAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	addr, metricsURL := startServer(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, w := range []string{"activities", "signals", "timers", "children"} {
		t.Run(w, func(t *testing.T) {
			o, err := parseFlags([]string{"--address", addr, "--metrics-url", metricsURL, "--server-pid", "0",
				"-w", w, "-c", "2", "-d", "1s", "--warmup", "200ms", "--drain", "60s"}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			o.serverPid = os.Getpid() // the server runs in this process
			res, err := bench(t.Context(), o, log, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed != 0 {
				t.Fatalf("%d workflows failed: %s", res.Failed, res.FirstError)
			}
			if res.ServerCPUSource != "metrics" || res.TransitionsPS == nil || res.ServerPeakRSSMB == nil {
				t.Errorf("figures missing: cpu source %q, transitions %v, peak RSS %v", res.ServerCPUSource, res.TransitionsPS, res.ServerPeakRSSMB)
			}
			if line := res.summary(); !strings.Contains(line, "sundial-bench "+w) || !strings.Contains(line, "failed 0") {
				t.Errorf("summary %q", line)
			}
		})
	}
	t.Run("idle", func(t *testing.T) {
		o, err := parseFlags([]string{"--address", addr, "--metrics-url", metricsURL,
			"-w", "idle", "--count", "20", "-c", "4", "-d", "60s", "--drain", "60s"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		o.serverPid = os.Getpid()
		res, err := bench(t.Context(), o, log, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != 0 || res.Idle == nil || res.Idle.Open != 20 || res.Idle.FirstTaskDone != 20 {
			t.Fatalf("idle: failed %d, %+v", res.Failed, res.Idle)
		}
		if res.Idle.CacheBytes == nil || *res.Idle.CacheBytes <= 0 {
			t.Errorf("history cache bytes not reported: %v", res.Idle.CacheBytes)
		}
	})
}

// The raw driver (plain gRPC, no SDK) completes activities workflows of
// the SDK workload's shape: each with count Echo activities.
func TestRawDriverCompletesWorkflows(t *testing.T) {
	addr, metricsURL := startServer(t)
	o, err := parseFlags([]string{"--driver", "raw", "--address", addr, "--metrics-url", metricsURL,
		"-w", "activities", "--count", "3", "-c", "4", "-d", "1s", "--warmup", "200ms", "--drain", "60s",
		"--workflow-pollers", "2", "--activity-pollers", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.serverPid = os.Getpid()
	res, err := bench(t.Context(), o, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || res.Completed == 0 {
		t.Fatalf("completed %d, failed %d: %s", res.Completed, res.Failed, res.FirstError)
	}
	if res.Driver != "raw" {
		t.Errorf("driver %q", res.Driver)
	}
	if line := res.summary(); !strings.Contains(line, "[raw driver]") || !strings.Contains(line, "failed 0") {
		t.Errorf("summary %q", line)
	}
}

// One raw workflow's history has the SDK workload's shape: count
// sequential Echo activities, then completion with the last result.
func TestRawDriverWorkflowShape(t *testing.T) {
	addr, _ := startServer(t)
	d, err := newRawDriver(addr, "default", "raw-shape", 3, 1, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if oc := d.runOne(ctx); oc.err != nil {
		t.Fatal(oc.err)
	}
	h, err := d.svc.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: d.idPrefix + "-1"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h.GetHistory().GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := e.GetActivityTaskScheduledEventAttributes()
			got = append(got, "schedule "+a.GetActivityType().GetName()+" "+string(a.GetInput().GetPayloads()[0].GetData()))
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			got = append(got, "completed "+string(e.GetActivityTaskCompletedEventAttributes().GetResult().GetPayloads()[0].GetData()))
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			got = append(got, "done "+string(e.GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads()[0].GetData()))
		}
	}
	want := []string{`schedule Echo "echo-0"`, `completed "echo-0"`, `schedule Echo "echo-1"`, `completed "echo-1"`,
		`schedule Echo "echo-2"`, `completed "echo-2"`, `done "echo-2"`}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("history:\n got %q\nwant %q", got, want)
	}
}

// A bad --spawn binary fails with the server's output, within the
// start-up bound.
func TestSpawnReportsABadBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sundial")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho no such server >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"--spawn", "--server-bin", bin, "-d", "1s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bench(t.Context(), o, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no such server") {
		t.Fatalf("err = %v, want the server's output", err)
	}
}
