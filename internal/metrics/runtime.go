package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// Runtime gauges under Temporal's names, read at scrape time.
var (
	descGoroutines = prometheus.NewDesc("num_goroutines", "Goroutines running.", nil, nil)
	descAllocated  = prometheus.NewDesc("memory_allocated", "Bytes of allocated heap objects.", nil, nil)
	descHeap       = prometheus.NewDesc("memory_heap", "Bytes of allocated heap objects (HeapAlloc).", nil, nil)
	descHeapIdle   = prometheus.NewDesc("memory_heapidle", "Bytes in idle heap spans.", nil, nil)
	descHeapInuse  = prometheus.NewDesc("memory_heapinuse", "Bytes in in-use heap spans.", nil, nil)
	descStack      = prometheus.NewDesc("memory_stack", "Bytes in stack spans.", nil, nil)
	descNumGC      = prometheus.NewDesc("memory_num_gc", "Completed GC cycles since start.", nil, nil)
)

// runtimeCollector reports goroutines and memory from runtime.MemStats.
type runtimeCollector struct{}

func (runtimeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGoroutines, descAllocated, descHeap, descHeapIdle, descHeapInuse, descStack, descNumGC} {
		ch <- d
	}
}

func (runtimeCollector) Collect(ch chan<- prometheus.Metric) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(descGoroutines, float64(runtime.NumGoroutine()))
	gauge(descAllocated, float64(ms.Alloc))
	gauge(descHeap, float64(ms.HeapAlloc))
	gauge(descHeapIdle, float64(ms.HeapIdle))
	gauge(descHeapInuse, float64(ms.HeapInuse))
	gauge(descStack, float64(ms.StackInuse))
	ch <- prometheus.MustNewConstMetric(descNumGC, prometheus.CounterValue, float64(ms.NumGC))
}
