package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// Visibility tables (schema v2). See the schema files for the layout.
const (
	visTable      = "visibility_executions"
	visDefsTable  = "visibility_search_attributes"
	visOpenMarker = math.MaxInt64 // close_time and execution_duration of an open run
)

// visValueTables maps a storage kind to its table of indexed values.
var visValueTables = map[searchattr.Kind]string{
	searchattr.KindString: "visibility_sa_string",
	searchattr.KindInt:    "visibility_sa_int",
	searchattr.KindDouble: "visibility_sa_double",
}

// visColumns are the columns of visibility_executions in the order
// visRow produces and scanRecord reads them.
var visColumns = []string{
	"namespace_id", "run_id", "workflow_id", "workflow_type", "task_queue", "status",
	"start_time", "execution_time", "close_time", "execution_duration",
	"history_length", "history_size_bytes", "state_transition_count",
	"parent_workflow_id", "parent_run_id", "root_workflow_id", "root_run_id",
	"memo", "search_attributes", "version",
}

var (
	visInsert = "INSERT INTO " + visTable + " (" + strings.Join(visColumns, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(visColumns)), ", ") + ")"
	visUpdate = "UPDATE " + visTable + " SET " + strings.Join(visColumns[2:], " = ?, ") + " = ?" +
		" WHERE namespace_id = ? AND run_id = ? AND version = ? AND status = ?"
)

// visRow encodes a record as the values of visColumns.
func visRow(rec *persistence.VisibilityRecord) ([]any, error) {
	if rec.NamespaceID == "" || rec.RunID == "" {
		return nil, errors.New("sqlstore: upsert visibility: namespace ID and run ID are required")
	}
	var memo, sa []byte
	var err error
	if rec.Memo != nil {
		if memo, err = proto.Marshal(rec.Memo); err != nil {
			return nil, fmt.Errorf("sqlstore: upsert visibility: encode memo: %w", err)
		}
	}
	if rec.SearchAttributes != nil {
		if sa, err = proto.Marshal(rec.SearchAttributes); err != nil {
			return nil, fmt.Errorf("sqlstore: upsert visibility: encode search attributes: %w", err)
		}
	}
	closeTime, duration := int64(visOpenMarker), int64(visOpenMarker)
	if !rec.CloseTime.IsZero() {
		closeTime = encodeTime(rec.CloseTime)
		duration = max(0, int64(rec.CloseTime.Sub(rec.ExecutionTime)))
		if rec.ExecutionTime.IsZero() {
			duration = max(0, int64(rec.CloseTime.Sub(rec.StartTime)))
		}
	}
	return []any{
		rec.NamespaceID, rec.RunID, rec.WorkflowID, rec.WorkflowType, rec.TaskQueue, int32(rec.Status),
		encodeTime(rec.StartTime), encodeTime(rec.ExecutionTime), closeTime, duration,
		rec.HistoryLength, rec.HistorySizeBytes, rec.StateTransitionCount,
		rec.ParentWorkflowID, rec.ParentRunID, rec.RootWorkflowID, rec.RootRunID,
		memo, sa, rec.Version,
	}, nil
}

// UpsertVisibility implements persistence.VisibilityStore.
func (s *Store) UpsertVisibility(ctx context.Context, rec *persistence.VisibilityRecord) error {
	return s.UpsertVisibilityBatch(ctx, []*persistence.VisibilityRecord{rec})
}

// UpsertVisibilityBatch applies UpsertVisibility to every record in one
// transaction (all or nothing), for loaders and batched outbox executors.
func (s *Store) UpsertVisibilityBatch(ctx context.Context, recs []*persistence.VisibilityRecord) error {
	rows := make([][]any, len(recs))
	for i, rec := range recs {
		var err error
		if rows[i], err = visRow(rec); err != nil {
			return err
		}
	}
	err := s.write(ctx, "upsert visibility", func(tx *sql.Tx) error {
		defs := map[string]map[string]enumspb.IndexedValueType{}
		values := newValueBatch()
		deltas := countDeltas{}
		inserted, err := s.insertNewVisibilityRows(ctx, tx, recs, rows)
		if err != nil {
			return err
		}
		for i, rec := range recs {
			d, ok := defs[rec.NamespaceID]
			if !ok {
				var err error
				if d, err = s.searchAttributeDefs(ctx, tx, rec.NamespaceID); err != nil {
					return err
				}
				defs[rec.NamespaceID] = d
			}
			applied, fresh := true, inserted[i]
			if fresh {
				deltas.add(rec.NamespaceID, rec.Status, rec.RunID, 1)
			} else if applied, fresh, err = s.upsertVisibilityRow(ctx, tx, rec, rows[i], deltas); err != nil {
				return err
			}
			if !applied {
				continue
			}
			if !fresh {
				if err := s.deleteIndexedValues(ctx, tx, rec.NamespaceID, rec.RunID); err != nil {
					return err
				}
			}
			values.set(rec, d)
		}
		if err := s.insertIndexedValues(ctx, tx, values); err != nil {
			return err
		}
		return s.applyCountDeltas(ctx, tx, deltas)
	})
	if err == nil {
		s.afterVisibilityWrite(ctx, len(recs))
	}
	return err
}

// visBulkChunk bounds the runs of one multi-row statement (20 parameters
// each in an INSERT).
const visBulkChunk = 100

// insertNewVisibilityRows inserts, with multi-row INSERTs, the records of a
// batch whose runs are not stored yet (the common case: a run's first
// write, a bulk load), and reports which it inserted. A run that appears
// twice in the batch is inserted once, at its first occurrence; the others
// take the per-row path. A concurrent insert of the same run fails the
// statement, and the transaction is run again.
func (s *Store) insertNewVisibilityRows(ctx context.Context, tx *sql.Tx, recs []*persistence.VisibilityRecord, rows [][]any) ([]bool, error) {
	inserted := make([]bool, len(recs))
	seen := map[[2]string]bool{}
	for start := 0; start < len(recs); start += visBulkChunk {
		chunk := recs[start:min(len(recs), start+visBulkChunk)]
		existing, err := s.existingRuns(ctx, tx, chunk)
		if err != nil {
			return nil, err
		}
		var args []any
		n := 0
		for i, rec := range chunk {
			k := [2]string{rec.NamespaceID, rec.RunID}
			if existing[k] || seen[k] {
				continue
			}
			seen[k] = true
			inserted[start+i] = true
			args = append(args, rows[start+i]...)
			n++
		}
		if n == 0 {
			continue
		}
		stmt := visInsert + strings.Repeat(", ("+strings.TrimSuffix(strings.Repeat("?, ", len(visColumns)), ", ")+")", n-1)
		_, err = tx.ExecContext(ctx, s.q(stmt), args...)
		if s.isUnique(err) {
			return nil, &persistence.UnavailableError{Err: fmt.Errorf("sqlstore: upsert visibility: concurrent insert: %w", err)}
		}
		if err != nil {
			return nil, s.dbErr("insert visibility", err)
		}
	}
	return inserted, nil
}

// existingRuns returns which of recs' runs are stored.
func (s *Store) existingRuns(ctx context.Context, tx *sql.Tx, recs []*persistence.VisibilityRecord) (map[[2]string]bool, error) {
	byNamespace := map[string][]any{}
	for _, rec := range recs {
		byNamespace[rec.NamespaceID] = append(byNamespace[rec.NamespaceID], rec.RunID)
	}
	out := map[[2]string]bool{}
	for ns, runIDs := range byNamespace {
		stmt := "SELECT run_id FROM " + visTable + " WHERE namespace_id = ? AND run_id IN (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(runIDs)), ", ") + ")"
		rows, err := tx.QueryContext(ctx, s.q(stmt), append([]any{ns}, runIDs...)...)
		if err != nil {
			return nil, s.dbErr("read visibility runs", err)
		}
		for rows.Next() {
			var runID string
			if err := rows.Scan(&runID); err != nil {
				rows.Close()
				return nil, s.dbErr("read visibility runs", err)
			}
			out[[2]string{ns, runID}] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.dbErr("read visibility runs", err)
		}
	}
	return out, nil
}

// casAttempts bounds how often a visibility write re-reads a row that
// changed between its read and its conditional write.
const casAttempts = 5

// upsertVisibilityRow writes the main row and records the count change.
// applied is false when a newer version is stored; fresh is true when the
// row was inserted. The update is conditioned on the version and status
// read, so the count change is exact under concurrent writers.
func (s *Store) upsertVisibilityRow(ctx context.Context, tx *sql.Tx, rec *persistence.VisibilityRecord, row []any, deltas countDeltas) (applied, fresh bool, err error) {
	for range casAttempts {
		var stored int64
		var status int32
		err = tx.QueryRowContext(ctx, s.q("SELECT version, status FROM "+visTable+" WHERE namespace_id = ? AND run_id = ?"),
			rec.NamespaceID, rec.RunID).Scan(&stored, &status)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, s.q(visInsert), row...)
			if s.isUnique(err) {
				// A concurrent writer inserted the run first; run the whole
				// transaction again, which then takes the update path.
				return false, false, &persistence.UnavailableError{Err: fmt.Errorf("sqlstore: upsert visibility: concurrent insert: %w", err)}
			}
			if err != nil {
				return false, false, s.dbErr("insert visibility", err)
			}
			deltas.add(rec.NamespaceID, rec.Status, rec.RunID, 1)
			return true, true, nil
		}
		if err != nil {
			return false, false, s.dbErr("read visibility version", err)
		}
		if stored > rec.Version {
			return false, false, nil
		}
		args := append(append([]any{}, row[2:]...), rec.NamespaceID, rec.RunID, stored, status)
		res, err := tx.ExecContext(ctx, s.q(visUpdate), args...)
		if err != nil {
			return false, false, s.dbErr("update visibility", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, false, s.dbErr("update visibility", err)
		}
		if n == 1 {
			deltas.add(rec.NamespaceID, enumspb.WorkflowExecutionStatus(status), rec.RunID, -1)
			deltas.add(rec.NamespaceID, rec.Status, rec.RunID, 1)
			return true, false, nil
		}
	}
	return false, false, &persistence.UnavailableError{Err: errors.New("sqlstore: upsert visibility: the row keeps changing")}
}

func (s *Store) deleteIndexedValues(ctx context.Context, tx *sql.Tx, namespaceID, runID string) error {
	for _, table := range []string{visValueTables[searchattr.KindString], visValueTables[searchattr.KindInt], visValueTables[searchattr.KindDouble]} {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM "+table+" WHERE namespace_id = ? AND run_id = ?"), namespaceID, runID); err != nil {
			return s.dbErr("delete indexed search attributes", err)
		}
	}
	return nil
}

// valueBatch collects the indexed values of a transaction's records, per
// table; a run written twice in one batch keeps its last values.
type valueBatch struct {
	byRun map[[2]string][]indexedValue
}

type indexedValue struct {
	kind  searchattr.Kind
	name  string
	value any
}

func newValueBatch() *valueBatch { return &valueBatch{byRun: map[[2]string][]indexedValue{}} }

// set records rec's indexable search attributes: predefined ones and the
// custom ones defs defines, decoded by their type. Values that do not
// decode are not indexed (the frontend validated them; a definition may
// have changed since).
func (b *valueBatch) set(rec *persistence.VisibilityRecord, defs map[string]enumspb.IndexedValueType) {
	var vals []indexedValue
	for name, payload := range rec.SearchAttributes.GetIndexedFields() {
		a, ok := searchattr.System(name)
		if !ok {
			t, defined := defs[name]
			if !defined {
				continue
			}
			a = searchattr.Custom(name, t)
		} else if !a.Predefined {
			continue
		}
		decoded, err := searchattr.Decode(payload, a.Type)
		if err != nil {
			continue
		}
		for _, v := range decoded {
			vals = append(vals, indexedValue{kind: v.Kind, name: name, value: sqlValue(v)})
		}
	}
	b.byRun[[2]string{rec.NamespaceID, rec.RunID}] = vals
}

func sqlValue(v searchattr.Value) any {
	switch v.Kind {
	case searchattr.KindInt:
		return v.Int
	case searchattr.KindDouble:
		return v.Double
	}
	return v.Str
}

// visInsertChunk bounds the rows of one multi-row INSERT (4 parameters
// each), well under every backend's parameter limit.
const visInsertChunk = 200

func (s *Store) insertIndexedValues(ctx context.Context, tx *sql.Tx, b *valueBatch) error {
	perTable := map[searchattr.Kind][]any{}
	keys := make([][2]string, 0, len(b.byRun))
	for k := range b.byRun {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		for _, v := range b.byRun[k] {
			perTable[v.kind] = append(perTable[v.kind], k[0], v.name, v.value, k[1])
		}
	}
	for kind, args := range perTable {
		for len(args) > 0 {
			n := min(len(args)/4, visInsertChunk)
			stmt := "INSERT INTO " + visValueTables[kind] + " (namespace_id, name, value, run_id) VALUES " +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", n), ", ")
			if _, err := tx.ExecContext(ctx, s.q(stmt), args[:4*n]...); err != nil {
				return s.dbErr("insert indexed search attributes", err)
			}
			args = args[4*n:]
		}
	}
	return nil
}

// DeleteVisibility implements persistence.VisibilityStore.
func (s *Store) DeleteVisibility(ctx context.Context, namespaceID, workflowID, runID string) error {
	return s.write(ctx, "delete visibility", func(tx *sql.Tx) error {
		for range casAttempts {
			var status int32
			err := tx.QueryRowContext(ctx, s.q("SELECT status FROM "+visTable+" WHERE namespace_id = ? AND run_id = ?"),
				namespaceID, runID).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return s.dbErr("read visibility", err)
			}
			res, err := tx.ExecContext(ctx, s.q("DELETE FROM "+visTable+" WHERE namespace_id = ? AND run_id = ? AND status = ?"),
				namespaceID, runID, status)
			if err != nil {
				return s.dbErr("delete visibility", err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err != nil {
					return s.dbErr("delete visibility", err)
				}
				continue // changed meanwhile: read again
			}
			if err := s.deleteIndexedValues(ctx, tx, namespaceID, runID); err != nil {
				return err
			}
			deltas := countDeltas{}
			deltas.add(namespaceID, enumspb.WorkflowExecutionStatus(status), runID, -1)
			return s.applyCountDeltas(ctx, tx, deltas)
		}
		return &persistence.UnavailableError{Err: errors.New("sqlstore: delete visibility: the row keeps changing")}
	})
}
