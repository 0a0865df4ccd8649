// Package audit records the calls that change something — who did what,
// from where, to which target, with what result — in the database's
// append-only audit log, and purges entries past the retention period.
package audit

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/persistence"
)

// writeTimeout bounds one audit write.
const writeTimeout = 10 * time.Second

// workerProtocol are the write APIs of workers talking to the server
// (polls, task results, heartbeats): routine traffic that changes no
// user-visible intent, never audited (they would flood the log).
var workerProtocol = map[string]bool{
	"PollWorkflowTaskQueue": true, "PollActivityTaskQueue": true, "PollNexusTaskQueue": true,
	"RespondWorkflowTaskCompleted": true, "RespondWorkflowTaskFailed": true, "RespondQueryTaskCompleted": true,
	"RecordActivityTaskHeartbeat": true, "RecordActivityTaskHeartbeatById": true,
	"RespondActivityTaskCompleted": true, "RespondActivityTaskCompletedById": true,
	"RespondActivityTaskFailed": true, "RespondActivityTaskFailedById": true,
	"RespondActivityTaskCanceled": true, "RespondActivityTaskCanceledById": true,
	"RespondNexusTaskCompleted": true, "RespondNexusTaskFailed": true,
	"ResetStickyTaskQueue": true, "ShutdownWorker": true, "RecordWorkerHeartbeat": true,
}

// Options configures a Log.
type Options struct {
	Store persistence.AuditStore
	// Reads also records read-only APIs (`audit.reads: true`).
	Reads bool
	// Retention, when positive, purges entries older than this.
	Retention time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

// Log writes audit entries. Its Observe method is the auth interceptor's
// hook.
type Log struct {
	opts Options
}

// New returns a Log over opts.Store.
func New(opts Options) *Log {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Log{opts: opts}
}

// Audited reports whether a call of fullMethod is recorded: every API that
// changes something (including admin and unclassified APIs), except the
// worker protocol; read-only APIs only when reads are on; the health check
// never.
func (l *Log) Audited(fullMethod string) bool {
	if fullMethod == auth.HealthCheckMethod {
		return false
	}
	if auth.IsRead(fullMethod) {
		return l.opts.Reads
	}
	return !workerProtocol[methodName(fullMethod)]
}

// Observe records c if it is audited, before the call's answer goes back,
// so an answered call is in the log even if the process dies right after.
// A failed write is logged, not returned: the call has already happened.
func (l *Log) Observe(ctx context.Context, c auth.Call) {
	if !l.Audited(c.Method) {
		return
	}
	e := Entry(c)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := l.opts.Store.AppendAudit(wctx, []persistence.AuditEntry{e}); err != nil {
		l.opts.Logger.Error("writing audit entry", "api", e.API, "subject", e.Subject, "error", err)
	}
}

// Record appends an entry for an operation outside the gRPC API (the
// admin endpoint: RBAC and DLQ commands).
func (l *Log) Record(ctx context.Context, e persistence.AuditEntry) {
	if e.Time.IsZero() {
		e.Time = l.opts.Now()
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := l.opts.Store.AppendAudit(wctx, []persistence.AuditEntry{e}); err != nil {
		l.opts.Logger.Error("writing audit entry", "api", e.API, "error", err)
	}
}

// RunRetention purges entries older than the retention every interval
// until ctx ends; it returns at once when there is no retention.
func (l *Log) RunRetention(ctx context.Context, interval time.Duration) {
	if l.opts.Retention <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := l.opts.Store.PurgeAuditBefore(ctx, l.opts.Now().Add(-l.opts.Retention)); err != nil && ctx.Err() == nil {
			l.opts.Logger.Warn("purging old audit entries", "error", err)
		} else if n > 0 {
			l.opts.Logger.Info("purged old audit entries", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Entry turns a finished call into an audit entry, taking the target from
// the request's well-known fields.
func Entry(c auth.Call) persistence.AuditEntry {
	e := persistence.AuditEntry{Time: c.Time, Subject: c.Subject, Source: c.Peer, API: methodName(c.Method),
		Namespace: c.Namespace, Code: c.Code.String()}
	if m, ok := c.Request.(proto.Message); ok {
		target(m.ProtoReflect(), &e)
	}
	return e
}

// target fills the workflow, run, request ID and other target of e from
// fields named as across the Temporal API.
func target(m protoreflect.Message, e *persistence.AuditEntry) {
	str := func(msg protoreflect.Message, name protoreflect.Name) string {
		f := msg.Descriptor().Fields().ByName(name)
		if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
			return ""
		}
		return msg.Get(f).String()
	}
	// "execution" names the run in the activity operator calls.
	for _, name := range []protoreflect.Name{"workflow_execution", "execution"} {
		if f := m.Descriptor().Fields().ByName(name); e.WorkflowID == "" && f != nil && f.Kind() == protoreflect.MessageKind && m.Has(f) {
			ex := m.Get(f).Message()
			e.WorkflowID, e.RunID = str(ex, "workflow_id"), str(ex, "run_id")
		}
	}
	if e.WorkflowID == "" {
		e.WorkflowID, e.RunID = str(m, "workflow_id"), str(m, "run_id")
	}
	e.RequestID = str(m, "request_id")
	// The activities an activity operator call (pause, reset, ...) names.
	if o := m.Descriptor().Oneofs().ByName("activity"); o != nil {
		if f := m.WhichOneof(o); f != nil {
			switch f.Name() {
			case "id":
				e.Target = "activity_id:" + m.Get(f).String()
			case "type":
				e.Target = "activity_type:" + m.Get(f).String()
			default: // match_all, unpause_all
				e.Target = "activity:all"
			}
			return
		}
	}
	for _, name := range []protoreflect.Name{"schedule_id", "job_id", "deployment_name", "rule_id"} {
		if v := str(m, name); v != "" {
			e.Target = string(name) + ":" + v
			return
		}
	}
	if f := m.Descriptor().Fields().ByName("search_attributes"); f != nil {
		var names []string
		v := m.Get(f)
		switch {
		case f.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				names = append(names, k.String())
				return true
			})
		case f.IsList() && f.Kind() == protoreflect.StringKind:
			for i := 0; i < v.List().Len(); i++ {
				names = append(names, v.List().Get(i).String())
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			e.Target = "search_attributes:" + strings.Join(names, ",")
		}
	}
}

func methodName(full string) string {
	return full[strings.LastIndex(full, "/")+1:]
}
