// Package metrics is Sundial's Prometheus registry. Metric names and
// labels are the ones Temporal's server emits (tally style: counters
// without a `_total` suffix, timers as histograms in seconds with
// `_bucket/_sum/_count`), so Temporal's Grafana dashboards and alert rules
// work against Sundial unchanged. docs/OPERATIONS.md lists every metric.
//
// There is no global state: the server creates one *Metrics and passes it
// to each role. A nil *Metrics is valid and records nothing, so roles and
// tests that do not care need no wiring.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label names (Temporal's).
const (
	LabelService   = "service_name"
	LabelOperation = "operation"
	LabelNamespace = "namespace"
	LabelTaskQueue = "taskqueue"
	LabelTaskType  = "task_type"
	LabelErrorType = "error_type"
	LabelCacheType = "cache_type"
	LabelCause     = "resource_exhausted_cause"
)

// Service names used as the service_name label.
const (
	ServiceFrontend = "frontend"
	ServiceHistory  = "history"
	ServiceMatching = "matching"
)

var (
	// latencyBuckets are Temporal's default timer boundaries (1 ms to
	// 100 s), in seconds.
	latencyBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
		1, 2, 5, 10, 20, 50, 100}
	// countBuckets are Temporal's dimensionless histogram boundaries.
	countBuckets = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

	serviceLabels   = []string{LabelService, LabelOperation, LabelNamespace}
	taskQueueLabels = []string{LabelService, LabelNamespace, LabelTaskQueue, LabelTaskType}
)

// Metrics holds every metric Sundial exports. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	serviceRequests      *prometheus.CounterVec
	serviceErrors        *prometheus.CounterVec
	serviceErrorWithType *prometheus.CounterVec
	serviceErrorKinds    map[string]*prometheus.CounterVec
	resourceExhausted    *prometheus.CounterVec
	serviceLatency       *prometheus.HistogramVec

	persistenceRequests      *prometheus.CounterVec
	persistenceErrors        *prometheus.CounterVec
	persistenceErrorWithType *prometheus.CounterVec
	persistenceLatency       *prometheus.HistogramVec

	workflowOutcomes     map[string]*prometheus.CounterVec
	stateTransitions     *prometheus.HistogramVec
	lockLatency          *prometheus.HistogramVec
	acquireShards        *prometheus.CounterVec
	acquireShardsLatency *prometheus.HistogramVec
	numShards            *prometheus.GaugeVec
	shardClosed          *prometheus.CounterVec
	shardItemCreated     *prometheus.CounterVec
	shardItemRemoved     *prometheus.CounterVec
	membershipChanged    *prometheus.CounterVec
	taskRequests         *prometheus.CounterVec
	taskErrors           *prometheus.CounterVec
	dlqWrites            *prometheus.CounterVec
	taskLatency          *prometheus.HistogramVec
	cacheRequests        *prometheus.CounterVec
	cacheMiss            *prometheus.CounterVec

	pollSuccess       *prometheus.CounterVec
	pollSuccessSync   *prometheus.CounterVec
	pollTimeouts      *prometheus.CounterVec
	syncMatchLatency  *prometheus.HistogramVec
	asyncMatchLatency *prometheus.HistogramVec
	scheduleToStart   *prometheus.HistogramVec

	funcs *funcCollector
}

// New returns a registry with every metric defined, the runtime gauges
// (num_goroutines, memory_*), Go's and the process's standard collectors,
// and `restarts` counted once.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), funcs: &funcCollector{fns: map[string]gaugeFunc{}}}
	m.defineService()
	m.definePersistence()
	m.defineHistory()
	m.defineMatching()
	m.reg.MustRegister(runtimeCollector{}, m.funcs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	restarts := m.counter("restarts", "Process starts (1 per process).")
	restarts.WithLabelValues().Inc()
	return m
}

// Handler serves the registry in Prometheus' text format. A nil Metrics
// serves an empty page.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func (m *Metrics) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(h)
	return h
}

func (m *Metrics) gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(g)
	return g
}

// GaugeFunc sets fn as the source of gauge name, read at every scrape:
// fn calls emit once per series with the values of labels, in order.
// Setting a name again replaces its function. fn must be fast and must
// not call back into Metrics.
func (m *Metrics) GaugeFunc(name, help string, labels []string, fn func(emit func(v float64, labelValues ...string))) {
	if m == nil {
		return
	}
	desc := prometheus.NewDesc(name, help, labels, nil)
	m.funcs.mu.Lock()
	m.funcs.fns[name] = gaugeFunc{desc: desc, fn: fn}
	m.funcs.mu.Unlock()
}

type gaugeFunc struct {
	desc *prometheus.Desc
	fn   func(emit func(v float64, labelValues ...string))
}

// funcCollector is an unchecked collector over the GaugeFunc gauges:
// they are set after registration (by roles started later).
type funcCollector struct {
	mu  sync.Mutex
	fns map[string]gaugeFunc
}

func (c *funcCollector) Describe(chan<- *prometheus.Desc) {}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	fns := make([]gaugeFunc, 0, len(c.fns))
	for _, f := range c.fns {
		fns = append(fns, f)
	}
	c.mu.Unlock()
	for _, f := range fns {
		f.fn(func(v float64, lv ...string) {
			if m, err := prometheus.NewConstMetric(f.desc, prometheus.GaugeValue, v, lv...); err == nil {
				ch <- m
			}
		})
	}
}

func seconds(d time.Duration) float64 { return d.Seconds() }
