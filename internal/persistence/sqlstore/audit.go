package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sundialhq/sundial/internal/persistence"
)

// The audit_log and role_bindings tables (schema v4).

// auditFieldMax bounds each text field of an audit row (MySQL indexes and
// VARCHAR columns; IDs are at most 1,000 characters anyway).
const auditFieldMax = 1000

// clip is s as valid UTF-8 of at most n bytes, cut on a rune boundary.
func clip(s string, n int) string {
	// PostgreSQL's text refuses NUL and invalid UTF-8: an entry must be
	// written whatever bytes the caller sent.
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AppendAudit implements persistence.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, entries []persistence.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.write(ctx, "append audit", func(tx *sql.Tx) error {
		stmt := s.q("INSERT INTO audit_log (ts, subject, source, api, namespace, workflow_id, run_id, target, request_id, code)" +
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		for _, e := range entries {
			_, err := tx.ExecContext(ctx, stmt, encodeTime(e.Time), clip(e.Subject, auditFieldMax), clip(e.Source, 255),
				clip(e.API, 255), clip(e.Namespace, 255), clip(e.WorkflowID, auditFieldMax), clip(e.RunID, 64),
				clip(e.Target, auditFieldMax), clip(e.RequestID, 255), clip(e.Code, 32))
			if err != nil {
				return s.dbErr("insert audit entry", err)
			}
		}
		return nil
	})
}

// ListAudit implements persistence.AuditStore.
func (s *Store) ListAudit(ctx context.Context, f persistence.AuditFilter) ([]persistence.AuditEntry, error) {
	if err := checkLimit(f.Limit); err != nil {
		return nil, err
	}
	where := []string{"id > ?"}
	args := []any{f.AfterID}
	if !f.From.IsZero() {
		where, args = append(where, "ts >= ?"), append(args, encodeTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "ts < ?"), append(args, encodeTime(f.To))
	}
	if f.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, f.Subject)
	}
	if f.Namespace != "" {
		where, args = append(where, "namespace = ?"), append(args, f.Namespace)
	}
	args = append(args, f.Limit)
	query := s.q("SELECT id, ts, subject, source, api, namespace, workflow_id, run_id, target, request_id, code FROM audit_log" +
		" WHERE " + strings.Join(where, " AND ") + " ORDER BY id LIMIT ?")
	var out []persistence.AuditEntry
	err := s.read(ctx, "list audit", func() error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, query, args...)
		if err != nil {
			return s.dbErr("list audit", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e persistence.AuditEntry
			var ts int64
			if err := rows.Scan(&e.ID, &ts, &e.Subject, &e.Source, &e.API, &e.Namespace, &e.WorkflowID, &e.RunID,
				&e.Target, &e.RequestID, &e.Code); err != nil {
				return s.dbErr("scan audit entry", err)
			}
			e.Time = decodeTime(ts)
			out = append(out, e)
		}
		return s.dbErr("list audit", rows.Err())
	})
	return out, err
}

// PurgeAuditBefore implements persistence.AuditStore.
func (s *Store) PurgeAuditBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "purge audit", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM audit_log WHERE ts < ?"), encodeTime(t))
		if err != nil {
			return s.dbErr("purge audit", err)
		}
		n, err = res.RowsAffected()
		return s.dbErr("purge audit", err)
	})
	return n, err
}

// PutRoleBinding implements persistence.RBACStore.
func (s *Store) PutRoleBinding(ctx context.Context, b persistence.RoleBinding) error {
	return s.write(ctx, "put role binding", func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM role_bindings WHERE principal = ? AND namespace = ? AND role = ?"),
			b.Principal, b.Namespace, b.Role).Scan(&n)
		if err != nil || n > 0 {
			return s.dbErr("read role binding", err)
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO role_bindings (principal, namespace, role, created_at) VALUES (?, ?, ?, ?)"),
			b.Principal, b.Namespace, b.Role, encodeTime(b.CreatedAt))
		return s.dbErr("insert role binding", err)
	})
}

// DeleteRoleBinding implements persistence.RBACStore.
func (s *Store) DeleteRoleBinding(ctx context.Context, principal, namespace, role string) error {
	return s.write(ctx, "delete role binding", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM role_bindings WHERE principal = ? AND namespace = ? AND role = ?"),
			principal, namespace, role)
		if err != nil {
			return s.dbErr("delete role binding", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.dbErr("delete role binding", err)
		}
		if n == 0 {
			return persistence.ErrNotFound
		}
		return nil
	})
}

// ListRoleBindings implements persistence.RBACStore.
func (s *Store) ListRoleBindings(ctx context.Context) ([]persistence.RoleBinding, error) {
	var out []persistence.RoleBinding
	err := s.read(ctx, "list role bindings", func() error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, s.q("SELECT principal, namespace, role, created_at FROM role_bindings"+
			" ORDER BY principal, namespace, role"))
		if err != nil {
			return s.dbErr("list role bindings", err)
		}
		defer rows.Close()
		for rows.Next() {
			var b persistence.RoleBinding
			var ts int64
			if err := rows.Scan(&b.Principal, &b.Namespace, &b.Role, &ts); err != nil {
				return s.dbErr("scan role binding", err)
			}
			b.CreatedAt = decodeTime(ts)
			out = append(out, b)
		}
		return s.dbErr("list role bindings", rows.Err())
	})
	return out, err
}

var (
	_ persistence.AuditStore = (*Store)(nil)
	_ persistence.RBACStore  = (*Store)(nil)
)
