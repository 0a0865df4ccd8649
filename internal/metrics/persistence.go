package metrics

import (
	"fmt"
	"strings"
	"time"
)

func (m *Metrics) definePersistence() {
	m.persistenceRequests = m.counter("persistence_requests", "Store calls, by store method.", LabelOperation)
	m.persistenceErrors = m.counter("persistence_errors",
		"Store calls that failed unexpectedly (not a not-found, condition, conflict or fencing answer).", LabelOperation)
	m.persistenceErrorWithType = m.counter("persistence_error_with_type", "Failed store calls by error type (every error).",
		LabelOperation, LabelErrorType)
	m.persistenceLatency = m.histogram("persistence_latency", "Store call latency in seconds.", latencyBuckets, LabelOperation)
}

// Persistence records one store call. errType names the call's error
// ("" for success); expected marks an error that is an answer of the
// store's contract (not found, condition failed, already exists,
// ownership lost, ...): it is counted by type but not in
// persistence_errors.
func (m *Metrics) Persistence(operation string, latency time.Duration, errType string, expected bool) {
	if m == nil {
		return
	}
	m.persistenceRequests.WithLabelValues(operation).Inc()
	m.persistenceLatency.WithLabelValues(operation).Observe(seconds(latency))
	if errType == "" {
		return
	}
	m.persistenceErrorWithType.WithLabelValues(operation, errType).Inc()
	if !expected {
		m.persistenceErrors.WithLabelValues(operation).Inc()
	}
}

// ErrorType names an error by its Go type without the pointer and
// package ("UnavailableError"), or "error" for anonymous ones.
func ErrorType(err error) string {
	t := strings.TrimPrefix(fmt.Sprintf("%T", err), "*")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	switch t {
	case "errorString", "wrapError", "wrapErrors", "joinError":
		return "error"
	}
	return t
}
