package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error kinds with a counter of their own, service_errors_<kind>, as the
// reference server counts them.
const (
	kindNotFound        = "entity_not_found"
	kindAlreadyStarted  = "execution_already_started"
	kindInvalidArgument = "invalid_argument"
	kindNotActive       = "namespace_not_active"
	kindUnauthorized    = "unauthorized"
	kindContextTimeout  = "context_timeout"
	kindQueryFailed     = "query_failed"
)

func (m *Metrics) defineService() {
	m.serviceRequests = m.counter("service_requests", "Requests received, by service and RPC.", serviceLabels...)
	m.serviceErrors = m.counter("service_errors",
		"Requests that failed unexpectedly (internal, unavailable, unknown, data loss).", serviceLabels...)
	m.serviceErrorWithType = m.counter("service_error_with_type", "Failed requests by error type (every error).",
		append(serviceLabels, LabelErrorType)...)
	m.serviceLatency = m.histogram("service_latency", "Request latency in seconds (long polls included).",
		latencyBuckets, serviceLabels...)
	m.serviceErrorKinds = map[string]*prometheus.CounterVec{}
	for _, k := range []string{kindNotFound, kindAlreadyStarted, kindInvalidArgument, kindNotActive,
		kindUnauthorized, kindContextTimeout, kindQueryFailed} {
		m.serviceErrorKinds[k] = m.counter("service_errors_"+k, "Requests that failed with "+k+".", serviceLabels...)
	}
	m.resourceExhausted = m.counter("service_errors_resource_exhausted", "Requests refused by a limit, by cause.",
		append(serviceLabels, LabelCause)...)
}

// Request records one handled request: service_requests and
// service_latency always; on error, service_error_with_type, the kind's
// own service_errors_<kind> counter, and service_errors when the error is
// unexpected (a server fault rather than the caller's).
func (m *Metrics) Request(service, operation, namespace string, latency time.Duration, err error) {
	if m == nil {
		return
	}
	m.serviceRequests.WithLabelValues(service, operation, namespace).Inc()
	m.serviceLatency.WithLabelValues(service, operation, namespace).Observe(seconds(latency))
	if err == nil {
		return
	}
	c := Classify(err)
	m.serviceErrorWithType.WithLabelValues(service, operation, namespace, c.Type).Inc()
	if c.Kind == "resource_exhausted" {
		m.resourceExhausted.WithLabelValues(service, operation, namespace, c.Cause).Inc()
	} else if k := m.serviceErrorKinds[c.Kind]; k != nil {
		k.WithLabelValues(service, operation, namespace).Inc()
	}
	if c.Unexpected {
		m.serviceErrors.WithLabelValues(service, operation, namespace).Inc()
	}
}

// Class is what Classify tells about an error.
type Class struct {
	// Type is the error's type name ("NotFound", "Internal", ...).
	Type string
	// Kind names its service_errors_<kind> counter ("" for none).
	Kind string
	// Cause is a ResourceExhausted error's cause.
	Cause string
	// Unexpected: a server fault (Internal, Unavailable, Unknown,
	// DataLoss), counted in service_errors.
	Unexpected bool
}

// Classify sorts an error returned to a client: a gRPC status error (as
// the frontend's interceptor returns) or a serviceerror value.
func Classify(err error) Class {
	var se error = err
	if st, ok := status.FromError(err); ok {
		se = serviceerror.FromStatus(st)
	}
	c := Class{Type: ErrorType(se)}
	var re *serviceerror.ResourceExhausted
	switch {
	case errors.As(se, new(*serviceerror.NotFound)), errors.As(se, new(*serviceerror.NamespaceNotFound)):
		c.Kind = kindNotFound
	case errors.As(se, new(*serviceerror.WorkflowExecutionAlreadyStarted)):
		c.Kind = kindAlreadyStarted
	case errors.As(se, new(*serviceerror.InvalidArgument)):
		c.Kind = kindInvalidArgument
	case errors.As(se, new(*serviceerror.QueryFailed)):
		c.Kind = kindQueryFailed
	case errors.As(se, new(*serviceerror.NamespaceNotActive)):
		c.Kind = kindNotActive
	case errors.As(se, new(*serviceerror.PermissionDenied)):
		c.Kind = kindUnauthorized
	case errors.As(se, new(*serviceerror.DeadlineExceeded)), errors.As(se, new(*serviceerror.Canceled)):
		c.Kind = kindContextTimeout
	case errors.As(se, &re):
		c.Kind, c.Cause = "resource_exhausted", re.Cause.String()
	}
	switch serviceerror.ToStatus(err).Code() {
	case codes.Internal, codes.Unavailable, codes.Unknown, codes.DataLoss:
		c.Unexpected = true
	}
	return c
}
