package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// phases of a closed-loop run.
type phases struct {
	measureStart time.Time // end of warm-up
	stopStarting time.Time // end of -d: no new workflow starts
	hardStop     time.Time // end of the drain: workflows still open fail
}

// recorder collects outcomes from the runner goroutines.
type recorder struct {
	mu   sync.Mutex
	outs []outcome
}

func (r *recorder) add(o outcome) {
	r.mu.Lock()
	r.outs = append(r.outs, o)
	r.mu.Unlock()
}

func (r *recorder) all() []outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outcome(nil), r.outs...)
}

// loadRunner runs one workflow of the workload to its end (the SDK driver
// or the raw one).
type loadRunner interface {
	runOne(ctx context.Context) outcome
}

// profiler captures a server CPU profile over the measurement window.
type profiler func(ctx context.Context, d time.Duration) error

// runLoad keeps o.concurrency workflows in flight: each runner goroutine
// starts a workflow, drives it and waits for its result, then starts the
// next, until the end of -d. Counters are read at the end of the warm-up
// and at the end of -d; only workflows that ended in between count.
func runLoad(ctx context.Context, d loadRunner, o *options, obs *observer, prof profiler, log *slog.Logger) (*result, error) {
	now := time.Now()
	ph := phases{measureStart: now.Add(o.warmup)}
	ph.stopStarting = ph.measureStart.Add(o.duration)
	ph.hardStop = ph.stopStarting.Add(o.drain)
	runCtx, cancel := context.WithDeadline(ctx, ph.hardStop)
	defer cancel()

	rec := &recorder{}
	var wg sync.WaitGroup
	for i := 0; i < o.concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(ph.stopStarting) && runCtx.Err() == nil {
				rec.add(d.runOne(runCtx))
			}
		}()
	}
	log.Info("warming up", "for", o.warmup)
	if !sleepUntil(ctx, ph.measureStart) {
		cancel()
		wg.Wait()
		return nil, errInterrupted
	}
	a, err := obs.snap(ctx)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	profErr := make(chan error, 1)
	if prof != nil {
		go func() { profErr <- prof(ctx, o.duration) }()
	} else {
		profErr <- nil
	}
	log.Info("measuring", "for", o.duration)
	if !sleepUntil(ctx, ph.stopStarting) {
		cancel()
		wg.Wait()
		return nil, errInterrupted
	}
	b, err := obs.snap(ctx)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	log.Info("draining workflows in flight", "at most", o.drain)
	wg.Wait()
	if ctx.Err() != nil {
		return nil, errInterrupted
	}
	res := newResult(o)
	res.fill(rec.all(), window{a, b}, obs, o)
	if err := <-profErr; err != nil {
		return res, fmt.Errorf("server CPU profile: %w", err)
	}
	return res, nil
}

var errInterrupted = errors.New("interrupted")

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// runIdle starts o.count workflows that wait for a signal (o.concurrency
// starts at a time, for at most -d), waits until each ran its first
// workflow task, and measures the server's memory with them all open.
func runIdle(ctx context.Context, d *driver, o *options, obs *observer, pid int, gc func(context.Context) error, log *slog.Logger) (*result, error) {
	idleStarted.Store(0)
	before := memoryOf(pid)
	a, err := obs.snap(ctx)
	if err != nil {
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var next, opened atomic.Int64
	rec := &recorder{}
	var wg sync.WaitGroup
	for i := 0; i < o.concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for startCtx.Err() == nil && next.Add(1) <= int64(o.count) {
				_, oc := d.start(startCtx)
				if errors.Is(oc.err, context.DeadlineExceeded) && startCtx.Err() != nil {
					return // -d ended mid-call: not a failure
				}
				oc.end = time.Now()
				if oc.started {
					opened.Add(1)
				}
				rec.add(oc)
			}
		}()
	}
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-progress.C:
			log.Info("idle: starting", "open", opened.Load(), "of", o.count)
		}
	}
	startsEnded := time.Now()
	// Every started run's first workflow task must have run before its
	// state is at rest.
	settle, cancelSettle := context.WithTimeout(ctx, o.drain)
	defer cancelSettle()
	for idleStarted.Load() < opened.Load() && settle.Err() == nil {
		sleepUntil(settle, time.Now().Add(200*time.Millisecond))
	}
	if ctx.Err() != nil {
		return nil, errInterrupted
	}
	if gc != nil {
		if err := gc(ctx); err != nil {
			log.Warn("could not run a GC in the server before measuring", "err", err)
		}
	}
	b, err := obs.snap(ctx)
	if err != nil {
		return nil, err
	}
	after := memoryOf(pid)
	res := newResult(o)
	res.fill(rec.all(), window{a, b}, obs, o)
	res.fillIdle(opened.Load(), idleStarted.Load(), before, after, startsEnded.Sub(a.at), b)
	return res, nil
}

// memory is a process's RSS and peak RSS in bytes (zero when unknown).
type memory struct{ rss, hwm int64 }

func memoryOf(pid int) memory {
	if pid <= 0 {
		return memory{}
	}
	rss, hwm, err := procMemory(pid)
	if err != nil {
		return memory{}
	}
	return memory{rss, hwm}
}

// percentile is the nearest-rank q-quantile of sorted samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func sortDurations(ds []time.Duration) []time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}
