package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/audit"
	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/server"
)

// SUNDIAL_TEST_AUDIT=1 turns auditing on in every server newTestEnv
// starts, records on the client side every call the tests' clients make
// to it (dialClient, rawService, dialNamespaceClient), and when the test
// ends compares the server's audit log with those calls: exactly one
// entry per mutating call (API, namespace, target, request ID, result
// code) and none for reads or worker traffic. The recorder keeps only the
// mutating calls' keys, so its cost per call is a map lookup.
var auditSuite = os.Getenv("SUNDIAL_TEST_AUDIT") == "1"

// auditClassifier says which calls are mutating: internal/audit's own list.
var auditClassifier = audit.New(audit.Options{})

type callRecorder struct {
	mu sync.Mutex
	// calls are the mutating calls' audit keys with the client's code.
	calls []recordedCall
	// external is set when callers the recorder does not see (the
	// temporal CLI, another SDK) talk to the server too.
	external bool
}

type recordedCall struct {
	key  string // audit entry fields but the code
	code codes.Code
	// unsure: the call may not have reached the API (see compare).
	unsure bool
}

var (
	recordersMu sync.Mutex
	recorders   = map[string]*callRecorder{} // by frontend address
)

// auditKey is what an entry and a recorded call must agree on, but the
// code; each field with NUL and invalid UTF-8 replaced and cut to 64
// bytes, as the store writes them.
func auditKey(e persistence.AuditEntry) string {
	f := []string{e.API, e.Namespace, e.WorkflowID, e.RunID, e.Target, e.RequestID}
	for i, s := range f {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
		f[i] = s
		if len(s) > 64 {
			f[i] = s[:64]
		}
	}
	return strings.Join(f, "|")
}

func (r *callRecorder) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if auditClassifier.Audited(method) {
		ns := ""
		if r, ok := req.(interface{ GetNamespace() string }); ok {
			ns = r.GetNamespace()
		}
		e := audit.Entry(auth.Call{Method: method, Namespace: ns, Request: req})
		st := status.Convert(err)
		c := recordedCall{key: auditKey(e), code: st.Code()}
		switch c.code {
		case codes.Canceled, codes.DeadlineExceeded, codes.Unavailable:
			c.unsure = true
		case codes.ResourceExhausted:
			// gRPC's message size limit refuses before any interceptor.
			c.unsure = strings.Contains(st.Message(), "larger than max")
		}
		r.mu.Lock()
		r.calls = append(r.calls, c)
		r.mu.Unlock()
	}
	return err
}

// recordedDialOptions are the dial options that record calls to the
// server at addr (none when the suite is not audited).
func recordedDialOptions(addr string) []grpc.DialOption {
	recordersMu.Lock()
	r := recorders[addr]
	recordersMu.Unlock()
	if r == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(r.intercept)}
}

// markUnrecordedCallers says that calls the recorder cannot see (an
// external process) reach the server at addr: entries beyond the
// recorded calls are then allowed.
func markUnrecordedCallers(addr string) {
	recordersMu.Lock()
	defer recordersMu.Unlock()
	if r := recorders[addr]; r != nil {
		r.mu.Lock()
		r.external = true
		r.mu.Unlock()
	}
}

// auditSuiteConfig turns auditing on in cfg when the suite is audited.
func auditSuiteConfig(cfg *server.Config) {
	if !auditSuite {
		return
	}
	cfg.Audit = server.AuditConfig{Enabled: true}
	if cfg.AdminAddress == "" {
		cfg.AdminAddress = "127.0.0.1:0"
	}
}

// watchAudit registers s's recorder and, at cleanup (before the server
// stops: register it after the server's Stop), checks its audit log.
func watchAudit(t *testing.T, s *server.Server) {
	if !auditSuite {
		return
	}
	addr := s.FrontendAddr()
	r := &callRecorder{}
	recordersMu.Lock()
	recorders[addr] = r
	recordersMu.Unlock()
	t.Cleanup(func() {
		recordersMu.Lock()
		delete(recorders, addr)
		recordersMu.Unlock()
		entries, err := fetchAudit(s)
		if err != nil {
			t.Errorf("audit check: %v", err)
			return
		}
		for _, p := range r.compare(entries) {
			t.Errorf("audit check: %s", p)
		}
	})
}

// compare returns the differences between the recorded calls and the
// audit entries. A call the client gave up on (Canceled,
// DeadlineExceeded) or that may not have reached the API (Unavailable,
// a message over gRPC's size limit) may have an entry with any code, or
// none.
func (r *callRecorder) compare(entries []persistence.AuditEntry) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	strict := map[string]int{} // key|code
	loose := map[string]int{}  // key
	for _, c := range r.calls {
		if c.unsure {
			loose[c.key]++
		} else {
			strict[c.key+"|"+c.code.String()]++
		}
	}
	var problems []string
	for _, e := range entries {
		if strings.HasPrefix(e.API, "admin.") {
			continue
		}
		if !auditClassifier.Audited("/temporal.api.workflowservice.v1.WorkflowService/"+e.API) ||
			!auditClassifier.Audited("/temporal.api.operatorservice.v1.OperatorService/"+e.API) {
			problems = append(problems, fmt.Sprintf("entry for a read or worker call: %+v", e))
			continue
		}
		// A call sent with no request ID is recorded with the one the
		// server gave it.
		k := auditKey(e)
		e.RequestID = ""
		k0 := auditKey(e)
		switch {
		case strict[k+"|"+e.Code] > 0:
			strict[k+"|"+e.Code]--
		case strict[k0+"|"+e.Code] > 0:
			strict[k0+"|"+e.Code]--
		case loose[k] > 0:
			loose[k]--
		case loose[k0] > 0:
			loose[k0]--
		case !r.external:
			problems = append(problems, fmt.Sprintf("entry with no recorded call (or one too many): %+v", e))
		}
	}
	for k, n := range strict {
		for ; n > 0; n-- {
			problems = append(problems, "no entry for the call "+k)
		}
	}
	return problems
}

// fetchAudit reads the whole audit log through the admin endpoint.
func fetchAudit(s *server.Server) ([]persistence.AuditEntry, error) {
	var all []persistence.AuditEntry
	after := int64(0)
	for {
		resp, err := adminRequest(s, http.MethodGet, "/admin/audit?limit=10000&after="+strconv.FormatInt(after, 10))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			_ = resp.Body.Close()
			return nil, fmt.Errorf("GET /admin/audit: %s", resp.Status)
		}
		var page struct {
			Entries []persistence.AuditEntry `json:"entries"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		if len(page.Entries) < 10000 {
			return all, nil
		}
		after = page.Entries[len(page.Entries)-1].ID
	}
}
