package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// observer reads the server's cost: its /metrics (when known) and /proc
// for the server and database processes.
type observer struct {
	metricsURL string
	pid        int
	dbPids     []int
	dbName     string
	http       *http.Client
}

// snapshot is the observed counters at one instant.
type snapshot struct {
	at      time.Time
	metrics map[string]*dto.MetricFamily // nil when /metrics is unavailable
	cpu     float64                      // server CPU seconds from /proc; -1 unknown
	db      map[int]float64              // database processes' CPU seconds by PID
	// parent is the oldest process named --db-process-name (PostgreSQL's
	// postmaster), 0 when none; reaped is its reaped children's CPU
	// seconds (cutime+cstime): backends that exited.
	parent int
	reaped float64
	self   float64 // this process's CPU seconds (SDK worker and runner); -1 unknown
}

func newObserver(metricsURL string, pid int, dbPids []int, dbName string) *observer {
	return &observer{metricsURL: metricsURL, pid: pid, dbPids: dbPids, dbName: dbName,
		http: &http.Client{Timeout: 10 * time.Second}}
}

func (o *observer) snap(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now(), cpu: -1, self: -1, db: map[int]float64{}}
	if cpu, err := procCPU(os.Getpid()); err == nil {
		s.self = cpu
	}
	if o.metricsURL != "" {
		mf, err := o.scrape(ctx)
		if err != nil {
			return s, fmt.Errorf("reading %s: %w", o.metricsURL, err)
		}
		s.metrics = mf
	}
	if o.pid > 0 {
		if cpu, err := procCPU(o.pid); err == nil {
			s.cpu = cpu
		}
	}
	var oldest uint64
	for _, pid := range o.databasePids() {
		st, err := procStat(pid)
		if err != nil {
			continue
		}
		s.db[pid] = st.cpu
		if o.dbName != "" && (s.parent == 0 || st.start < oldest) {
			s.parent, s.reaped, oldest = pid, st.childCPU, st.start
		}
	}
	return s, nil
}

func (o *observer) hasDB() bool { return len(o.dbPids) > 0 || o.dbName != "" }

// databasePids are --db-pids and, with --db-process-name, every process of
// that name now (database servers fork a process per connection).
func (o *observer) databasePids() []int {
	pids := append([]int(nil), o.dbPids...)
	if o.dbName != "" {
		pids = append(pids, pidsByName(o.dbName)...)
	}
	return pids
}

func (o *observer) scrape(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	var p expfmt.TextParser
	return p.TextToMetricFamilies(resp.Body)
}

// window is what happened between two snapshots.
type window struct{ a, b snapshot }

// serverCPU is the server's CPU seconds in the window and where it was read
// ("metrics" or "proc"); ok is false when neither is available.
func (w window) serverCPU() (secs float64, source string, ok bool) {
	if a, okA := gaugeOrCounter(w.a.metrics, "process_cpu_seconds_total"); okA {
		if b, okB := gaugeOrCounter(w.b.metrics, "process_cpu_seconds_total"); okB {
			return b - a, "metrics", true
		}
	}
	if w.a.cpu >= 0 && w.b.cpu >= 0 {
		return w.b.cpu - w.a.cpu, "proc", true
	}
	return 0, "", false
}

// clientCPU is this process's CPU seconds in the window.
func (w window) clientCPU() (float64, bool) {
	return w.b.self - w.a.self, w.a.self >= 0 && w.b.self >= 0
}

// dbCPU is the database processes' CPU seconds in the window. A process
// that appeared during the window counts from zero. One that exited is
// no longer visible, but once its parent reaped it its whole CPU time is
// in the parent's cutime+cstime: with --db-process-name the increase of
// the oldest process's (PostgreSQL's postmaster) reaped-children time is
// added, less what exited processes had used before the window (already
// in the first snapshot). Without it, an exited process's time is lost.
func (w window) dbCPU() float64 {
	var total float64
	for pid, b := range w.b.db {
		total += b - w.a.db[pid]
	}
	if w.a.parent != 0 && w.a.parent == w.b.parent {
		total += w.b.reaped - w.a.reaped
		for pid, a := range w.a.db {
			if _, alive := w.b.db[pid]; !alive {
				total -= a
			}
		}
	}
	return total
}

// counterDelta is the increase of a counter family, summed over series.
func (w window) counterDelta(name string) (float64, bool) {
	a, okA := gaugeOrCounter(w.a.metrics, name)
	b, okB := gaugeOrCounter(w.b.metrics, name)
	return b - a, okA && okB
}

// histogramCountDelta is the increase of a histogram's sample count.
func (w window) histogramCountDelta(name string) (float64, bool) {
	a, okA := histogram(w.a.metrics, name)
	b, okB := histogram(w.b.metrics, name)
	if !okA || !okB {
		return 0, false
	}
	return float64(b.count - a.count), true
}

// histogramQuantile is the q-quantile of a histogram's observations in the
// window, interpolated within buckets like PromQL's histogram_quantile.
func (w window) histogramQuantile(name string, q float64) (float64, bool) {
	a, okA := histogram(w.a.metrics, name)
	b, okB := histogram(w.b.metrics, name)
	if !okA || !okB {
		return 0, false
	}
	var d []bucket
	for _, bb := range b.buckets {
		d = append(d, bucket{upper: bb.upper, cum: bb.cum - a.cumAt(bb.upper)})
	}
	return bucketQuantile(q, d)
}

// hist is a histogram family summed over its series.
type hist struct {
	count   uint64
	buckets []bucket // sorted by upper bound, cumulative
}

type bucket struct {
	upper float64
	cum   float64
}

func (h hist) cumAt(upper float64) float64 {
	for _, b := range h.buckets {
		if b.upper == upper {
			return b.cum
		}
	}
	return 0
}

func histogram(mfs map[string]*dto.MetricFamily, name string) (hist, bool) {
	mf := mfs[name]
	if mf == nil || mf.GetType() != dto.MetricType_HISTOGRAM {
		return hist{}, false
	}
	sums := map[float64]float64{}
	var h hist
	for _, m := range mf.GetMetric() {
		hg := m.GetHistogram()
		h.count += hg.GetSampleCount()
		for _, b := range hg.GetBucket() {
			sums[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	for u, c := range sums {
		h.buckets = append(h.buckets, bucket{upper: u, cum: c})
	}
	sort.Slice(h.buckets, func(i, j int) bool { return h.buckets[i].upper < h.buckets[j].upper })
	h.buckets = append(h.buckets, bucket{upper: math.Inf(1), cum: float64(h.count)})
	return h, true
}

// bucketQuantile interpolates linearly within the bucket holding the
// quantile; a quantile in the +Inf bucket is the highest finite bound.
func bucketQuantile(q float64, bs []bucket) (float64, bool) {
	if len(bs) == 0 {
		return 0, false
	}
	total := bs[len(bs)-1].cum
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	lower, prevCum := 0.0, 0.0
	for i, b := range bs {
		if b.cum >= rank {
			if math.IsInf(b.upper, 1) {
				if i > 0 {
					return bs[i-1].upper, true
				}
				return 0, false
			}
			if b.cum == prevCum {
				return b.upper, true
			}
			return lower + (b.upper-lower)*(rank-prevCum)/(b.cum-prevCum), true
		}
		lower, prevCum = b.upper, b.cum
	}
	return bs[len(bs)-1].upper, true
}

// gaugeOrCounter sums a counter, gauge or untyped family over its series.
func gaugeOrCounter(mfs map[string]*dto.MetricFamily, name string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	var v float64
	for _, m := range mf.GetMetric() {
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			v += m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			v += m.GetGauge().GetValue()
		case dto.MetricType_UNTYPED:
			v += m.GetUntyped().GetValue()
		default:
			return 0, false
		}
	}
	return v, true
}

// procCPU is a process's user+system CPU seconds from /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	st, err := procStat(pid)
	return st.cpu, err
}

// stat is what the bench reads of /proc/PID/stat.
type stat struct {
	cpu      float64 // utime+stime, seconds
	childCPU float64 // cutime+cstime: reaped children's, seconds
	start    uint64  // starttime, clock ticks after boot
}

func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

// parseStatCPU reads utime and stime of a /proc/PID/stat line.
func parseStatCPU(b []byte) (float64, error) {
	st, err := parseStat(b)
	return st.cpu, err
}

// parseStat reads utime, stime, cutime, cstime (fields 14-17) and
// starttime (field 22) of a /proc/PID/stat line. The command name (field
// 2) may hold spaces and parentheses, so fields are counted after its
// last ')'.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("malformed /proc stat %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 20 {
		return stat{}, fmt.Errorf("short /proc stat %q", b)
	}
	var v [5]uint64
	for k, n := range []int{14, 15, 16, 17, 22} {
		x, err := strconv.ParseUint(f[n-3], 10, 64)
		if err != nil {
			return stat{}, fmt.Errorf("malformed /proc stat %q", b)
		}
		v[k] = x
	}
	return stat{cpu: float64(v[0]+v[1]) / clockTicks, childCPU: float64(v[2]+v[3]) / clockTicks, start: v[4]}, nil
}

// procMemory returns VmRSS and VmHWM (peak RSS) of a process, in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return parseStatusMemory(f)
}

func parseStatusMemory(r io.Reader) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("malformed %s line %q", k, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			hwm = n * 1024
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss == 0 && hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM (kernel thread or exited)")
	}
	return rss, hwm, nil
}

// pidsByName lists the processes whose /proc/PID/comm is name.
func pidsByName(name string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
