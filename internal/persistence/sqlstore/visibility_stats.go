package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"sort"
	"sync/atomic"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/persistence"
)

// StatisticsRefresher is an optional Dialect capability for databases
// whose query planner statistics are not kept up to date by the database
// itself (SQLite). Without statistics, SQLite cannot tell a selective
// search attribute predicate from an unselective one and may scan a whole
// index for the first page of a listing.
type StatisticsRefresher interface {
	// RefreshStatisticsStatements returns statements, run in one write
	// transaction, that refresh the statistics of the given tables
	// quickly (sampling, not reading every row).
	RefreshStatisticsStatements(tables []string) []string
}

// visibilityStats schedules statistics refreshes: after 1,000 written runs,
// then whenever the count written since the start doubles, and at least
// every 256Ki runs, so the planner's picture of a growing table stays
// within a factor of two.
type visibilityStats struct {
	written atomic.Int64
	next    atomic.Int64
}

const (
	statsFirst = 1000
	statsEvery = 256 << 10
)

var visStatsTables = []string{visTable, "visibility_sa_string", "visibility_sa_int", "visibility_sa_double"}

// afterVisibilityWrite refreshes statistics when n more runs written make
// it due. A failed refresh is logged, never returned: the write it
// follows has committed.
func (s *Store) afterVisibilityWrite(ctx context.Context, n int) {
	r, ok := s.d.(StatisticsRefresher)
	if !ok {
		return
	}
	s.vis.next.CompareAndSwap(0, statsFirst)
	total := s.vis.written.Add(int64(n))
	next := s.vis.next.Load()
	if total < next || !s.vis.next.CompareAndSwap(next, total+min(total, statsEvery)) {
		return
	}
	err := s.write(ctx, "refresh visibility statistics", func(tx *sql.Tx) error {
		for _, stmt := range r.RefreshStatisticsStatements(visStatsTables) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return s.dbErr("refresh statistics", err)
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("sqlstore: refreshing visibility statistics failed", "err", err)
	}
}

// countBuckets spreads a namespace's per-status counts over rows, so that
// concurrent writers on server databases rarely wait for one another.
const countBuckets = 16

type countKey struct {
	namespaceID string
	status      int32
	bucket      int32
}

// countDeltas accumulates a transaction's changes to visibility_counts.
type countDeltas map[countKey]int64

func (d countDeltas) add(namespaceID string, status enumspb.WorkflowExecutionStatus, runID string, n int64) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(runID))
	d[countKey{namespaceID, int32(status), int32(h.Sum32() % countBuckets)}] += n
}

// apply writes the deltas in key order (so concurrent transactions lock
// counter rows in the same order and cannot deadlock).
func (s *Store) applyCountDeltas(ctx context.Context, tx *sql.Tx, d countDeltas) error {
	keys := make([]countKey, 0, len(d))
	for k, n := range d {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.namespaceID != b.namespaceID {
			return a.namespaceID < b.namespaceID
		}
		if a.status != b.status {
			return a.status < b.status
		}
		return a.bucket < b.bucket
	})
	for _, k := range keys {
		res, err := tx.ExecContext(ctx, s.q("UPDATE visibility_counts SET n = n + ? WHERE namespace_id = ? AND status = ? AND bucket = ?"),
			d[k], k.namespaceID, k.status, k.bucket)
		if err != nil {
			return s.dbErr("update visibility counts", err)
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return s.dbErr("update visibility counts", err)
		}
		if rows == 1 {
			continue
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO visibility_counts (namespace_id, status, bucket, n) VALUES (?, ?, ?, ?)"),
			k.namespaceID, k.status, k.bucket, d[k])
		if s.isUnique(err) {
			return &persistence.UnavailableError{Err: fmt.Errorf("sqlstore: visibility counts: concurrent insert: %w", err)}
		}
		if err != nil {
			return s.dbErr("insert visibility counts", err)
		}
	}
	return nil
}

// countFromCounters answers an unfiltered count from visibility_counts.
func (s *Store) countFromCounters(ctx context.Context, namespaceID string, grouped bool) (*persistence.VisibilityCount, error) {
	var out *persistence.VisibilityCount
	err := s.read(ctx, "count visibility", func() error {
		out = &persistence.VisibilityCount{}
		rows, err := s.rdb.QueryContext(ctx, s.q("SELECT status, n FROM visibility_counts WHERE namespace_id = ?"), namespaceID)
		if err != nil {
			return s.dbErr("count visibility", err)
		}
		defer rows.Close()
		byStatus := map[int32]int64{}
		for rows.Next() {
			var status int32
			var n int64
			if err := rows.Scan(&status, &n); err != nil {
				return s.dbErr("count visibility", err)
			}
			byStatus[status] += n
			out.Count += n
		}
		if grouped {
			for status, n := range byStatus {
				if n != 0 {
					out.Groups = append(out.Groups, persistence.VisibilityStatusCount{Status: enumspb.WorkflowExecutionStatus(status), Count: n})
				}
			}
			sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Status < out.Groups[j].Status })
		}
		return s.dbErr("count visibility", rows.Err())
	})
	return out, err
}
