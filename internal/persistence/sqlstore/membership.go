package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// The cluster_membership table: one row per (role, identity), refreshed by
// its process's heartbeat (see the sqlite schema file for the layout).

const memberColumns = "role, identity, rpc_address, host, started_at, last_heartbeat, session_expiry"

// HeartbeatClusterMembers implements persistence.MembershipStore. A row is
// replaced by delete and insert, which every backend does the same way.
func (s *Store) HeartbeatClusterMembers(ctx context.Context, members []persistence.ClusterMember) error {
	return s.write(ctx, "heartbeat cluster members", func(tx *sql.Tx) error {
		for _, m := range members {
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM cluster_membership WHERE role = ? AND identity = ?"),
				m.Role, m.Identity); err != nil {
				return s.dbErr("delete cluster member", err)
			}
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO cluster_membership ("+memberColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)"),
				m.Role, m.Identity, m.RPCAddress, m.Host, encodeTime(m.StartedAt), encodeTime(m.LastHeartbeat),
				encodeTime(m.SessionExpiry)); err != nil {
				return s.dbErr("insert cluster member", err)
			}
		}
		return nil
	})
}

// ListClusterMembers implements persistence.MembershipStore.
func (s *Store) ListClusterMembers(ctx context.Context, aliveAt time.Time) ([]persistence.ClusterMember, error) {
	var out []persistence.ClusterMember
	err := s.read(ctx, "list cluster members", func() error {
		out = out[:0]
		query, args := "SELECT "+memberColumns+" FROM cluster_membership", []any{}
		if !aliveAt.IsZero() {
			query += " WHERE session_expiry > ?"
			args = append(args, encodeTime(aliveAt))
		}
		rows, err := s.rdb.QueryContext(ctx, s.q(query+" ORDER BY role, identity"), args...)
		if err != nil {
			return s.dbErr("list cluster members", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m persistence.ClusterMember
			var started, beat, expiry int64
			if err := rows.Scan(&m.Role, &m.Identity, &m.RPCAddress, &m.Host, &started, &beat, &expiry); err != nil {
				return s.dbErr("scan cluster member", err)
			}
			m.StartedAt, m.LastHeartbeat, m.SessionExpiry = decodeTime(started), decodeTime(beat), decodeTime(expiry)
			out = append(out, m)
		}
		return s.dbErr("list cluster members", rows.Err())
	})
	return out, err
}

// DeleteClusterMember implements persistence.MembershipStore.
func (s *Store) DeleteClusterMember(ctx context.Context, role, identity string) error {
	return s.write(ctx, "delete cluster member", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM cluster_membership WHERE role = ? AND identity = ?"), role, identity)
		return s.dbErr("delete cluster member", err)
	})
}

// PruneClusterMembers implements persistence.MembershipStore.
func (s *Store) PruneClusterMembers(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "prune cluster members", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM cluster_membership WHERE session_expiry <= ?"), encodeTime(before))
		if err != nil {
			return s.dbErr("prune cluster members", err)
		}
		n, err = res.RowsAffected()
		return s.dbErr("prune cluster members", err)
	})
	return n, err
}
