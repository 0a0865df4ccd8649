package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

// procStat reads a process's RSS (bytes) and CPU time used (user +
// system) from /proc.
func procStat(t testing.TB, pid int) (rss int64, cpu time.Duration) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			rss = kb * 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return rss, time.Duration(utime+stime) * time.Second / ticks
}

// BenchmarkScheduleIdleCost measures what idle schedules cost: it creates
// SUNDIAL_SCHEDULE_IDLE_N (default 100,000) hourly schedules, none due
// during a 60 s window, and reports the server's RSS and its share of one
// core over that window (targets: ≤ 300 MB, < 5%; figures in
// docs/PERFORMANCE.md). One measurement whatever b.N:
//
//	go test ./tests/ -run '^$' -bench BenchmarkScheduleIdleCost -benchtime 1x -timeout 40m
func BenchmarkScheduleIdleCost(b *testing.B) {
	t := b
	n := 100000
	if v := os.Getenv("SUNDIAL_SCHEDULE_IDLE_N"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	bin := buildSundial(t)
	dbFile := filepath.Join(t.TempDir(), "sundial.db")
	port := freePort(t)
	ctx := testContext(t, 30*time.Minute)
	out := &lockedBuffer{}
	p := startServerProcess(t, bin, dbFile, port, out)
	t.Cleanup(func() { p.kill() })
	c := dialWhenUp(t, ctx, fmt.Sprintf("127.0.0.1:%d", port), p)
	defer c.Close()

	// Hourly, at a phase half an hour away, so nothing fires while we
	// measure.
	phase := time.Duration((time.Now().Unix()+1800)%3600) * time.Second
	var next atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
					ID:     fmt.Sprintf("idle-%06d", i),
					Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour, Offset: phase}}},
					Action: &client.ScheduleWorkflowAction{ID: fmt.Sprintf("idle-wf-%d", i), Workflow: scheduleQuick, TaskQueue: "idle"},
				})
				if err != nil {
					t.Errorf("create %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.False(t, t.Failed())
	t.Logf("created %d schedules in %v", n, time.Since(began).Round(time.Second))

	pid := p.cmd.Process.Pid
	_, cpu0 := procStat(t, pid)
	t0 := time.Now()
	window := time.NewTimer(60 * time.Second) // the measured idle period
	<-window.C
	rss, cpu1 := procStat(t, pid)
	share := float64(cpu1-cpu0) / float64(time.Since(t0))
	t.Logf("idle: RSS %.0f MB, CPU %.2f%% of one core", float64(rss)/(1<<20), share*100)
	b.ReportMetric(float64(rss)/(1<<20), "RSS-MB")
	b.ReportMetric(share*100, "CPU-%")
	b.ReportMetric(float64(n), "schedules")
}
