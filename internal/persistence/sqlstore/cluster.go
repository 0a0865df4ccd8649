package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sundialhq/sundial/internal/persistence"
)

// InitCluster implements persistence.ClusterStore.
func (s *Store) InitCluster(ctx context.Context, numShards int32) (int32, error) {
	if numShards <= 0 {
		return 0, fmt.Errorf("sqlstore: numShards must be positive, got %d", numShards)
	}
	var stored int32
	err := s.write(ctx, "init cluster", func(tx *sql.Tx) error {
		ins := s.d.InsertIgnore("cluster_metadata", []string{"id", "num_shards"}, []string{"id"})
		if _, err := tx.ExecContext(ctx, s.q(ins), 1, numShards); err != nil {
			return s.dbErr("insert cluster_metadata", err)
		}
		err := tx.QueryRowContext(ctx, s.q("SELECT num_shards FROM cluster_metadata WHERE id = ?"), 1).Scan(&stored)
		return s.dbErr("read cluster_metadata", err)
	})
	return stored, err
}

// CreateNamespace implements persistence.NamespaceStore.
func (s *Store) CreateNamespace(ctx context.Context, ns persistence.NamespaceRecord) error {
	if ns.ID == "" || ns.Name == "" {
		return errors.New("sqlstore: namespace ID and name are required")
	}
	return s.write(ctx, "create namespace", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO namespaces (id, name, data) VALUES (?, ?, ?)"),
			ns.ID, ns.Name, nonNil(ns.Data))
		if s.isUnique(err) {
			return fmt.Errorf("namespace %q (id %s): %w", ns.Name, ns.ID, persistence.ErrAlreadyExists)
		}
		return s.dbErr("insert namespace", err)
	})
}

// GetNamespaceByName implements persistence.NamespaceStore.
func (s *Store) GetNamespaceByName(ctx context.Context, name string) (persistence.NamespaceRecord, error) {
	return s.getNamespace(ctx, "name", name)
}

// GetNamespaceByID implements persistence.NamespaceStore.
func (s *Store) GetNamespaceByID(ctx context.Context, id string) (persistence.NamespaceRecord, error) {
	return s.getNamespace(ctx, "id", id)
}

// getNamespace looks a namespace up by column, which is "id" or "name".
func (s *Store) getNamespace(ctx context.Context, column, value string) (persistence.NamespaceRecord, error) {
	var ns persistence.NamespaceRecord
	err := s.read(ctx, "get namespace", func() error {
		err := s.rdb.QueryRowContext(ctx, s.q("SELECT id, name, data FROM namespaces WHERE "+column+" = ?"), value).
			Scan(&ns.ID, &ns.Name, &ns.Data)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("namespace %s %q: %w", column, value, persistence.ErrNotFound)
		}
		return s.dbErr("get namespace", err)
	})
	return ns, err
}

// ListNamespaces implements persistence.NamespaceStore; namespaces come
// ordered by name.
func (s *Store) ListNamespaces(ctx context.Context) ([]persistence.NamespaceRecord, error) {
	var out []persistence.NamespaceRecord
	err := s.read(ctx, "list namespaces", func() error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, s.q("SELECT id, name, data FROM namespaces ORDER BY name"))
		if err != nil {
			return s.dbErr("list namespaces", err)
		}
		defer rows.Close()
		for rows.Next() {
			var ns persistence.NamespaceRecord
			if err := rows.Scan(&ns.ID, &ns.Name, &ns.Data); err != nil {
				return s.dbErr("scan namespace", err)
			}
			out = append(out, ns)
		}
		return s.dbErr("list namespaces", rows.Err())
	})
	return out, err
}

// UpdateNamespace implements persistence.NamespaceStore. The condition is
// the whole stored description (data = prevData), which every backend
// compares byte for byte, so no version column is needed; when no row
// matched, a second read in the same transaction tells a missing
// namespace from a lost race.
func (s *Store) UpdateNamespace(ctx context.Context, ns persistence.NamespaceRecord, prevData []byte) error {
	if ns.ID == "" {
		return errors.New("sqlstore: namespace ID is required")
	}
	return s.write(ctx, "update namespace", func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if ns.Name == "" {
			res, err = tx.ExecContext(ctx, s.q("UPDATE namespaces SET data = ? WHERE id = ? AND data = ?"),
				nonNil(ns.Data), ns.ID, nonNil(prevData))
		} else {
			res, err = tx.ExecContext(ctx, s.q("UPDATE namespaces SET name = ?, data = ? WHERE id = ? AND data = ?"),
				ns.Name, nonNil(ns.Data), ns.ID, nonNil(prevData))
		}
		if s.isUnique(err) {
			return fmt.Errorf("namespace name %q: %w", ns.Name, persistence.ErrAlreadyExists)
		}
		if err != nil {
			return s.dbErr("update namespace", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.dbErr("update namespace: rows affected", err)
		}
		if n > 0 {
			return nil
		}
		var count int
		err = tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM namespaces WHERE id = ?"), ns.ID).Scan(&count)
		if err != nil {
			return s.dbErr("update namespace: look up", err)
		}
		if count == 0 {
			return fmt.Errorf("namespace id %q: %w", ns.ID, persistence.ErrNotFound)
		}
		return fmt.Errorf("namespace id %q: data changed: %w", ns.ID, persistence.ErrConditionFailed)
	})
}

// DeleteNamespace implements persistence.NamespaceStore.
func (s *Store) DeleteNamespace(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("sqlstore: namespace ID is required")
	}
	return s.write(ctx, "delete namespace", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM namespaces WHERE id = ?"), id)
		return s.dbErr("delete namespace", err)
	})
}

// AcquireShard implements persistence.ShardStore. The increment is one
// UPDATE range_id = range_id + 1, which every backend applies atomically
// under the row's write lock, so concurrent acquirers each get a distinct,
// larger value; the SELECT in the same transaction reads our own write.
func (s *Store) AcquireShard(ctx context.Context, shardID int32) (int64, error) {
	var rangeID int64
	err := s.write(ctx, "acquire shard", func(tx *sql.Tx) error {
		ins := s.d.InsertIgnore("shards", []string{"shard_id", "range_id"}, []string{"shard_id"})
		if _, err := tx.ExecContext(ctx, s.q(ins), shardID, 0); err != nil {
			return s.dbErr("insert shard", err)
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE shards SET range_id = range_id + 1 WHERE shard_id = ?"), shardID); err != nil {
			return s.dbErr("bump shard range_id", err)
		}
		err := tx.QueryRowContext(ctx, s.q("SELECT range_id FROM shards WHERE shard_id = ?"), shardID).Scan(&rangeID)
		return s.dbErr("read shard range_id", err)
	})
	return rangeID, err
}

// RenewShard implements persistence.ShardStore: the increment is
// conditioned on the caller's range_id, so it cannot take the shard from an
// owner that acquired it meanwhile. The UPDATE waits for every transaction
// holding the fence's shared lock, so once it returns no earlier write of
// the old range can still commit.
func (s *Store) RenewShard(ctx context.Context, shardID int32, rangeID int64) (int64, error) {
	err := s.write(ctx, "renew shard", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE shards SET range_id = range_id + 1 WHERE shard_id = ? AND range_id = ?"),
			shardID, rangeID)
		if err != nil {
			return s.dbErr("renew shard range_id", err)
		}
		return s.expectOneRow(res, "renew shard range_id", &persistence.ShardOwnershipLostError{ShardID: shardID, RangeID: rangeID})
	})
	if err != nil {
		return 0, err
	}
	return rangeID + 1, nil
}

// nonNil returns b, or an empty slice for nil: data columns are NOT NULL,
// and callers may legitimately pass empty opaque data.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
