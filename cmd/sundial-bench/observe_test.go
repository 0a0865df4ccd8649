package main

import (
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func TestParseStatCPU(t *testing.T) {
	// The command name may contain spaces and parentheses.
	line := "4242 (sundial (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 150 0 0 20 0 12 0 100 0 0"
	got, err := parseStatCPU([]byte(line))
	if err != nil || got != 4.0 {
		t.Fatalf("parseStatCPU = %v, %v; want 4 s (400 ticks)", got, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Error("malformed stat accepted")
	}
}

func TestParseStatReapedChildren(t *testing.T) {
	line := "77 (postgres) S 1 77 77 0 -1 4194560 1234 0 0 0 30 20 700 300 20 0 1 0 5000 0 0"
	st, err := parseStat([]byte(line))
	if err != nil || st.cpu != 0.5 || st.childCPU != 10 || st.start != 5000 {
		t.Fatalf("parseStat = %+v, %v; want cpu 0.5 s, children 10 s, start 5000", st, err)
	}
}

// A backend that exits during the window is counted through the
// postmaster's reaped-children time, less what it had used before.
func TestDBCPUCountsReapedBackends(t *testing.T) {
	a := snapshot{db: map[int]float64{1: 1, 10: 2, 11: 3}, parent: 1, reaped: 100}
	// 10 ran 0.5 s more and exited (reaped: 2.5 s); 11 ran 1 s more; 12
	// appeared and ran 0.25 s; the postmaster itself 0.
	b := snapshot{db: map[int]float64{1: 1, 11: 4, 12: 0.25}, parent: 1, reaped: 102.5}
	if got := (window{a, b}).dbCPU(); got != 0.5+1+0.25 {
		t.Errorf("dbCPU = %v, want 1.75", got)
	}
	// A restarted postmaster (another PID) is not compared.
	b.parent = 2
	if got := (window{a, b}).dbCPU(); got != 1.25 {
		t.Errorf("dbCPU across a postmaster restart = %v, want the live processes' 1.25", got)
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\tsundial\nVmPeak:\t 2000000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\nThreads:\t12\n"
	rss, hwm, err := parseStatusMemory(strings.NewReader(status))
	if err != nil || rss != 40960*1024 || hwm != 81920*1024 {
		t.Fatalf("parseStatusMemory = %d, %d, %v", rss, hwm, err)
	}
	if _, _, err := parseStatusMemory(strings.NewReader("Name:\tkthread\n")); err == nil {
		t.Error("a status without memory lines accepted")
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	sortDurations(ds)
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.95: 95 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := percentile(ds, q); got != want {
			t.Errorf("percentile(%v) = %v, want %v", q, got, want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of no samples is not 0")
	}
}

func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	var p expfmt.TextParser
	mf, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return mf
}

// Figures come from the difference of two scrapes, summed over series.
func TestWindowFromMetrics(t *testing.T) {
	const before = `# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 10
# TYPE poll_success counter
poll_success{taskqueue="a"} 100
poll_success{taskqueue="b"} 100
# TYPE poll_success_sync counter
poll_success_sync{taskqueue="a"} 90
poll_success_sync{taskqueue="b"} 100
# TYPE task_schedule_to_start_latency histogram
task_schedule_to_start_latency_bucket{taskqueue="a",le="0.001"} 10
task_schedule_to_start_latency_bucket{taskqueue="a",le="0.01"} 10
task_schedule_to_start_latency_bucket{taskqueue="a",le="+Inf"} 10
task_schedule_to_start_latency_sum{taskqueue="a"} 0.005
task_schedule_to_start_latency_count{taskqueue="a"} 10
# TYPE state_transition_count histogram
state_transition_count_bucket{le="+Inf"} 5
state_transition_count_sum 5
state_transition_count_count 5
`
	const after = `# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 13.5
# TYPE poll_success counter
poll_success{taskqueue="a"} 200
poll_success{taskqueue="b"} 200
# TYPE poll_success_sync counter
poll_success_sync{taskqueue="a"} 190
poll_success_sync{taskqueue="b"} 200
# TYPE task_schedule_to_start_latency histogram
task_schedule_to_start_latency_bucket{taskqueue="a",le="0.001"} 10
task_schedule_to_start_latency_bucket{taskqueue="a",le="0.01"} 110
task_schedule_to_start_latency_bucket{taskqueue="a",le="+Inf"} 110
task_schedule_to_start_latency_sum{taskqueue="a"} 0.5
task_schedule_to_start_latency_count{taskqueue="a"} 110
# TYPE state_transition_count histogram
state_transition_count_bucket{le="+Inf"} 1205
state_transition_count_sum 9999
state_transition_count_count 1205
`
	w := window{a: snapshot{metrics: parseMetrics(t, before), cpu: -1}, b: snapshot{metrics: parseMetrics(t, after), cpu: -1}}
	if cpu, src, ok := w.serverCPU(); !ok || cpu != 3.5 || src != "metrics" {
		t.Errorf("serverCPU = %v %q %v, want 3.5 from metrics", cpu, src, ok)
	}
	if n, ok := w.histogramCountDelta("state_transition_count"); !ok || n != 1200 {
		t.Errorf("transitions = %v %v, want 1200", n, ok)
	}
	all, _ := w.counterDelta("poll_success")
	sync, _ := w.counterDelta("poll_success_sync")
	if all != 200 || sync != 200 {
		t.Errorf("polls %v sync %v, want 200 and 200", all, sync)
	}
	// 100 new observations, all in (1 ms, 10 ms]: p95 interpolates inside.
	p95, ok := w.histogramQuantile("task_schedule_to_start_latency", 0.95)
	if !ok || math.Abs(p95-0.00955) > 1e-9 {
		t.Errorf("schedule-to-start p95 = %v %v, want 0.00955", p95, ok)
	}
	// Without /metrics, CPU comes from /proc.
	w = window{a: snapshot{cpu: 1}, b: snapshot{cpu: 4}}
	if cpu, src, ok := w.serverCPU(); !ok || cpu != 3 || src != "proc" {
		t.Errorf("serverCPU from /proc = %v %q %v", cpu, src, ok)
	}
}

func TestParseFlags(t *testing.T) {
	for _, bad := range [][]string{{"--driver", "grpc"}, {"--driver", "raw", "-w", "signals"}, {"--mutexprofile", "m.pprof"}} {
		if _, err := parseFlags(bad, &strings.Builder{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
	o, err := parseFlags([]string{"--spawn", "-w", "idle", "-c", "5"}, &strings.Builder{})
	if err != nil || o.count != 1000 || o.concurrency != 5 {
		t.Fatalf("idle defaults: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"-w", "activities"}, &strings.Builder{})
	if err != nil || o.count != 3 {
		t.Fatalf("activities defaults: %+v, %v", o, err)
	}
	for _, bad := range [][]string{
		{"-w", "nope"}, {"-c", "0"}, {"-d", "0s"}, {"--postgres", "postgres://x"}, {"--db-pids", "12,x"}, {"extra"},
	} {
		if _, err := parseFlags(bad, &strings.Builder{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
