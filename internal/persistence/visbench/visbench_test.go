package visbench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/mysql"
	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// rowsEnv overrides the number of runs loaded (default 1,000,000).
const rowsEnv = "SUNDIAL_BENCH_ROWS"

const (
	namespaceID = "bench-namespace"
	batchSize   = 2000
	types       = 20
	customers   = 10000
)

type batcher interface {
	persistence.Store
	UpsertVisibilityBatch(ctx context.Context, recs []*persistence.VisibilityRecord) error
}

var statuses = []enumspb.WorkflowExecutionStatus{
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
}

func payload(v any) *commonpb.Payload {
	data, _ := json.Marshal(v)
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: data}
}

// record i is a closed run: 20 workflow types, the status mix above,
// starts spread over 30 days, and two custom attributes: CustomerId
// (10,000 values, 100 runs each) and Priority (Int, 0..9).
func record(i int) *persistence.VisibilityRecord {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 2592 * time.Millisecond)
	return &persistence.VisibilityRecord{
		NamespaceID: namespaceID, WorkflowID: fmt.Sprintf("order-%08d", i),
		RunID:        fmt.Sprintf("%08x-0000-4000-8000-%012x", i*2654435761%(1<<32), i), // scattered, like UUIDv4
		WorkflowType: fmt.Sprintf("type-%d", i%types), TaskQueue: "bench", Status: statuses[(i/types)%len(statuses)],
		StartTime: start, ExecutionTime: start, CloseTime: start.Add(time.Duration(1+i%600) * time.Second),
		HistoryLength: int64(11 + i%50), HistorySizeBytes: int64(2000 + i%5000), StateTransitionCount: int64(6 + i%30),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"CustomerId": payload(fmt.Sprintf("cust-%d", (i*7919)%customers)),
			"Priority":   payload(i % 10),
		}},
		Version: 1,
	}
}

// typeOfCustomer is the workflow type of customer c's runs (record gives
// all runs of a customer the same type).
func typeOfCustomer(c int) int {
	for i := 0; ; i++ {
		if (i*7919)%customers == c {
			return i % types
		}
	}
}

func load(b *testing.B, s batcher, n int) {
	ctx := context.Background()
	err := s.AddSearchAttributes(ctx, namespaceID, map[string]enumspb.IndexedValueType{
		"CustomerId": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "Priority": enumspb.INDEXED_VALUE_TYPE_INT})
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	recs := make([]*persistence.VisibilityRecord, 0, batchSize)
	for i := 0; i < n; i += batchSize {
		recs = recs[:0]
		for j := i; j < min(n, i+batchSize); j++ {
			recs = append(recs, record(j))
		}
		if err := s.UpsertVisibilityBatch(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d runs in %v", n, time.Since(began).Round(time.Second))
}

func rows(b *testing.B) int {
	if v := os.Getenv(rowsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive integer", rowsEnv, v)
		}
		return n
	}
	return 1_000_000
}

// BenchmarkVisibility runs the queries on SQLite and, when their
// environment variables are set (see sqltest), PostgreSQL and MySQL.
func BenchmarkVisibility(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		dir := b.TempDir()
		if d := os.Getenv("SUNDIAL_BENCH_KEEP"); d != "" {
			dir = d
		}
		s, err := sqlite.Open(filepath.Join(dir, "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		s, err := postgres.Open(context.Background(), sqltest.Postgres.NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
	b.Run("mysql", func(b *testing.B) {
		s, err := mysql.Open(context.Background(), sqltest.MySQL.NewDatabase(b))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
}

func run(b *testing.B, s persistence.Store) {
	bs, ok := s.(batcher)
	if !ok {
		b.Fatalf("%T cannot load in batches", s)
	}
	load(b, bs, rows(b))
	defs, err := s.GetSearchAttributes(context.Background(), namespaceID)
	if err != nil {
		b.Fatal(err)
	}
	lookup := searchattr.NewLookup(defs)
	parse := func(text string) *query.Query {
		q, err := query.Parse(text, lookup)
		if err != nil {
			b.Fatal(err)
		}
		return q
	}
	count := func(text string) func(ctx context.Context) (int, error) {
		q := parse(text)
		return func(ctx context.Context) (int, error) {
			c, err := s.CountVisibility(ctx, namespaceID, q)
			if err != nil {
				return 0, err
			}
			return int(c.Count), nil
		}
	}
	list := func(text string) func(ctx context.Context) (int, error) {
		q := parse(text)
		return func(ctx context.Context) (int, error) {
			resp, err := s.ListVisibility(ctx, &persistence.ListVisibilityRequest{NamespaceID: namespaceID, Query: q, PageSize: 100})
			if err != nil {
				return 0, err
			}
			return len(resp.Records), nil
		}
	}
	cases := []struct {
		name string
		op   func(ctx context.Context) (int, error)
	}{
		{"CountGroupByStatus", count("GROUP BY ExecutionStatus")},
		{"CountAll", count("")},
		{"ListFilteredByStartTime", list("WorkflowType = 'type-7' AND ExecutionStatus = 'Failed' ORDER BY StartTime DESC")},
		{"ListDefaultOrder", list("")},
		{"CustomKeywordEquality", list("CustomerId = 'cust-4242'")},
		{"CustomKeywordAndType", list(fmt.Sprintf("CustomerId = 'cust-4242' AND WorkflowType = 'type-%d'", typeOfCustomer(4242)))},
		{"CountCustomKeyword", count("CustomerId = 'cust-4242'")},
		{"UnselectiveCustomInt", list("Priority = 3 ORDER BY StartTime DESC")},
		{"CountFilteredGroupByStatus", count("WorkflowType = 'type-7' GROUP BY ExecutionStatus")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				var err error
				if n, err = c.op(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "rows")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
