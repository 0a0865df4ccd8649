package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/query"
)

// visMaxPageSize bounds one page whatever the caller asks.
const visMaxPageSize = 10000

// visPageToken is the keyset position after a page: the sort key values
// of its last row (the run ID last) and the order they belong to.
type visPageToken struct {
	Order  string `json:"o"`
	Values []any  `json:"v"`
}

func orderSignature(keys []visSortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%t", k.col, k.desc)
	}
	return strings.Join(parts, ",")
}

func encodePageToken(keys []visSortKey, values []any) ([]byte, error) {
	return json.Marshal(visPageToken{Order: orderSignature(keys), Values: values})
}

// decodePageToken checks a token against the order and returns its values
// typed as the columns are.
func decodePageToken(keys []visSortKey, token []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(token))
	dec.UseNumber()
	var t visPageToken
	if err := dec.Decode(&t); err != nil || t.Order != orderSignature(keys) || len(t.Values) != len(keys) {
		return nil, persistence.ErrInvalidPageToken
	}
	out := make([]any, len(keys))
	for i, k := range keys {
		switch v := t.Values[i].(type) {
		case string:
			if !k.str {
				return nil, persistence.ErrInvalidPageToken
			}
			out[i] = v
		case json.Number:
			n, err := v.Int64()
			if err != nil || k.str {
				return nil, persistence.ErrInvalidPageToken
			}
			out[i] = n
		default:
			return nil, persistence.ErrInvalidPageToken
		}
	}
	return out, nil
}

// ListVisibility implements persistence.VisibilityStore.
func (s *Store) ListVisibility(ctx context.Context, req *persistence.ListVisibilityRequest) (*persistence.ListVisibilityResponse, error) {
	if err := checkLimit(req.PageSize); err != nil {
		return nil, err
	}
	size := min(req.PageSize, visMaxPageSize)
	keys := visSortKeys(req.Query)
	w := &visWhere{namespaceID: req.NamespaceID}
	w.b.WriteString("v.namespace_id = ?")
	w.args = append(w.args, req.NamespaceID)
	if req.Query != nil && req.Query.Filter != nil {
		w.b.WriteString(" AND (")
		w.expr(req.Query.Filter)
		w.b.WriteString(")")
	}
	if len(req.NextPageToken) > 0 {
		after, err := decodePageToken(keys, req.NextPageToken)
		if err != nil {
			return nil, err
		}
		cond, args := keysetCondition(keys, after)
		w.b.WriteString(" AND " + cond)
		w.args = append(w.args, args...)
	}
	stmt := "SELECT v." + strings.Join(visColumns, ", v.") + " FROM " + visTable + " v WHERE " + w.b.String() +
		orderByClause(keys) + " LIMIT ?"
	args := append(w.args, size+1)
	var recs []*persistence.VisibilityRecord
	var lastKeys [][]any
	err := s.read(ctx, "list visibility", func() error {
		recs, lastKeys = nil, nil
		rows, err := s.rdb.QueryContext(ctx, s.d.Rebind(stmt), args...)
		if err != nil {
			return s.dbErr("list visibility", err)
		}
		defer rows.Close()
		for rows.Next() {
			rec, row, err := scanVisibility(rows)
			if err != nil {
				return s.dbErr("list visibility", err)
			}
			recs = append(recs, rec)
			lastKeys = append(lastKeys, sortValues(keys, row))
		}
		return s.dbErr("list visibility", rows.Err())
	})
	if err != nil {
		return nil, err
	}
	resp := &persistence.ListVisibilityResponse{Records: recs}
	if len(recs) > size {
		resp.Records = recs[:size]
		if resp.NextPageToken, err = encodePageToken(keys, lastKeys[size-1]); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// visRawRow holds the scanned columns a sort key may use.
type visRawRow map[string]any

func sortValues(keys []visSortKey, row visRawRow) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = row[k.col]
	}
	return out
}

func scanVisibility(rows *sql.Rows) (*persistence.VisibilityRecord, visRawRow, error) {
	var r persistence.VisibilityRecord
	var status int32
	var start, exec, closeTime, duration int64
	var memo, sa []byte
	err := rows.Scan(&r.NamespaceID, &r.RunID, &r.WorkflowID, &r.WorkflowType, &r.TaskQueue, &status,
		&start, &exec, &closeTime, &duration,
		&r.HistoryLength, &r.HistorySizeBytes, &r.StateTransitionCount,
		&r.ParentWorkflowID, &r.ParentRunID, &r.RootWorkflowID, &r.RootRunID,
		&memo, &sa, &r.Version)
	if err != nil {
		return nil, nil, err
	}
	r.Status = enumspb.WorkflowExecutionStatus(status)
	r.StartTime, r.ExecutionTime = decodeTime(start), decodeTime(exec)
	if closeTime != visOpenMarker {
		r.CloseTime = decodeTime(closeTime)
	}
	if len(memo) > 0 {
		r.Memo = &commonpb.Memo{}
		if err := proto.Unmarshal(memo, r.Memo); err != nil {
			return nil, nil, fmt.Errorf("decode memo of run %s: %w", r.RunID, err)
		}
	}
	if len(sa) > 0 {
		r.SearchAttributes = &commonpb.SearchAttributes{}
		if err := proto.Unmarshal(sa, r.SearchAttributes); err != nil {
			return nil, nil, fmt.Errorf("decode search attributes of run %s: %w", r.RunID, err)
		}
	}
	raw := visRawRow{
		"run_id": r.RunID, "workflow_id": r.WorkflowID, "workflow_type": r.WorkflowType,
		"task_queue": r.TaskQueue, "status": int64(status), "start_time": start,
		"execution_time": exec, "close_time": closeTime, "execution_duration": duration,
		"history_length": r.HistoryLength, "history_size_bytes": r.HistorySizeBytes,
		"state_transition_count": r.StateTransitionCount,
		"parent_workflow_id":     r.ParentWorkflowID, "parent_run_id": r.ParentRunID,
		"root_workflow_id": r.RootWorkflowID, "root_run_id": r.RootRunID,
	}
	return &r, raw, nil
}

// CountVisibility implements persistence.VisibilityStore.
func (s *Store) CountVisibility(ctx context.Context, namespaceID string, q *query.Query) (*persistence.VisibilityCount, error) {
	if q == nil || q.Filter == nil {
		return s.countFromCounters(ctx, namespaceID, q != nil && len(q.GroupBy) > 0)
	}
	w := &visWhere{namespaceID: namespaceID}
	w.b.WriteString("v.namespace_id = ?")
	w.args = append(w.args, namespaceID)
	if q != nil && q.Filter != nil {
		w.b.WriteString(" AND (")
		w.expr(q.Filter)
		w.b.WriteString(")")
	}
	grouped := q != nil && len(q.GroupBy) > 0
	stmt := "SELECT COUNT(*) FROM " + visTable + " v WHERE " + w.b.String()
	if grouped {
		stmt = "SELECT v.status, COUNT(*) FROM " + visTable + " v WHERE " + w.b.String() +
			" GROUP BY v.status ORDER BY v.status"
	}
	var out *persistence.VisibilityCount
	err := s.read(ctx, "count visibility", func() error {
		out = &persistence.VisibilityCount{}
		rows, err := s.rdb.QueryContext(ctx, s.d.Rebind(stmt), w.args...)
		if err != nil {
			return s.dbErr("count visibility", err)
		}
		defer rows.Close()
		for rows.Next() {
			var g persistence.VisibilityStatusCount
			var status int32
			if grouped {
				err = rows.Scan(&status, &g.Count)
			} else {
				err = rows.Scan(&g.Count)
			}
			if err != nil {
				return s.dbErr("count visibility", err)
			}
			out.Count += g.Count
			if grouped {
				g.Status = enumspb.WorkflowExecutionStatus(status)
				out.Groups = append(out.Groups, g)
			}
		}
		return s.dbErr("count visibility", rows.Err())
	})
	return out, err
}
