package metricstore

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
)

// Every method of persistence.Store but Close is metered here: a method
// added to the interface must be added to the wrapper too, or it would
// pass through unmeasured.
func TestEveryStoreMethodIsMetered(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "metricstore.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	metered := map[string]bool{}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil {
			metered[fn.Name.Name] = true
		}
	}
	iface := reflect.TypeOf((*persistence.Store)(nil)).Elem()
	for i := range iface.NumMethod() {
		if name := iface.Method(i).Name; name != "Close" && !metered[name] {
			t.Errorf("persistence.Store.%s is not metered by metricstore.Store", name)
		}
	}
}

// brokenStore fails InitCluster with a database outage.
type brokenStore struct{ persistence.Store }

func (brokenStore) InitCluster(context.Context, int32) (int32, error) {
	return 0, &persistence.UnavailableError{Err: errors.New("down")}
}

func TestMeteredCalls(t *testing.T) {
	inner, err := sqlite.Open(":memory:", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	s := Wrap(brokenStore{inner}, m)
	defer s.Close()
	ctx := context.Background()
	if _, err := s.GetNamespaceByName(ctx, "missing"); !errors.Is(err, persistence.ErrNotFound) {
		t.Fatalf("GetNamespaceByName: %v, want ErrNotFound passed through", err)
	}
	if _, err := s.ListNamespaces(ctx); err != nil {
		t.Fatal(err)
	}
	var unavailable *persistence.UnavailableError
	if _, err := s.InitCluster(ctx, 4); !errors.As(err, &unavailable) {
		t.Fatalf("InitCluster: %v, want the outage passed through", err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	page := rec.Body.String()
	for _, want := range []string{
		`persistence_requests{operation="GetNamespaceByName"} 1`,
		`persistence_error_with_type{error_type="NotFound",operation="GetNamespaceByName"} 1`,
		`persistence_requests{operation="ListNamespaces"} 1`,
		`persistence_latency_count{operation="ListNamespaces"} 1`,
		`persistence_errors{operation="InitCluster"} 1`,
		`persistence_error_with_type{error_type="Unavailable",operation="InitCluster"} 1`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("metrics page lacks %q", want)
		}
	}
	if strings.Contains(page, `persistence_errors{operation="GetNamespaceByName"}`) {
		t.Error("a not-found answer counted as a persistence error")
	}
	if Wrap(inner, nil) != persistence.Store(inner) {
		t.Error("Wrap with nil metrics should return the store itself")
	}
}
