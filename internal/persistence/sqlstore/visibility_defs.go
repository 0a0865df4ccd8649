package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// GetSearchAttributes implements persistence.VisibilityStore.
func (s *Store) GetSearchAttributes(ctx context.Context, namespaceID string) (map[string]enumspb.IndexedValueType, error) {
	var out map[string]enumspb.IndexedValueType
	err := s.read(ctx, "get search attributes", func() error {
		var err error
		out, err = s.searchAttributeDefs(ctx, s.rdb, namespaceID)
		return err
	})
	return out, err
}

type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) searchAttributeDefs(ctx context.Context, q rowsQueryer, namespaceID string) (map[string]enumspb.IndexedValueType, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT name, type FROM "+visDefsTable+" WHERE namespace_id = ?"), namespaceID)
	if err != nil {
		return nil, s.dbErr("read search attributes", err)
	}
	defer rows.Close()
	out := map[string]enumspb.IndexedValueType{}
	for rows.Next() {
		var name string
		var t int32
		if err := rows.Scan(&name, &t); err != nil {
			return nil, s.dbErr("read search attributes", err)
		}
		out[name] = enumspb.IndexedValueType(t)
	}
	return out, s.dbErr("read search attributes", rows.Err())
}

// AddSearchAttributes implements persistence.VisibilityStore.
func (s *Store) AddSearchAttributes(ctx context.Context, namespaceID string, attrs map[string]enumspb.IndexedValueType) error {
	names := sortedNames(attrs)
	return s.write(ctx, "add search attributes", func(tx *sql.Tx) error {
		defs, err := s.searchAttributeDefs(ctx, tx, namespaceID)
		if err != nil {
			return err
		}
		for _, name := range names {
			t, exists := defs[name]
			if exists && t != attrs[name] {
				return fmt.Errorf("search attribute %s is defined as %s: %w", name, searchattr.TypeName(t), persistence.ErrAlreadyExists)
			}
		}
		for _, name := range names {
			if _, exists := defs[name]; exists {
				continue
			}
			_, err := tx.ExecContext(ctx, s.q("INSERT INTO "+visDefsTable+" (namespace_id, name, type) VALUES (?, ?, ?)"),
				namespaceID, name, int32(attrs[name]))
			if s.isUnique(err) {
				// A concurrent add of the same name: decide again on a
				// fresh read.
				return &persistence.UnavailableError{Err: fmt.Errorf("sqlstore: add search attributes: concurrent add: %w", err)}
			}
			if err != nil {
				return s.dbErr("add search attribute", err)
			}
		}
		return nil
	})
}

// RemoveSearchAttributes implements persistence.VisibilityStore. The
// indexed values of a removed attribute are deleted in the same
// transaction (an index range delete).
func (s *Store) RemoveSearchAttributes(ctx context.Context, namespaceID string, names []string) error {
	return s.write(ctx, "remove search attributes", func(tx *sql.Tx) error {
		defs, err := s.searchAttributeDefs(ctx, tx, namespaceID)
		if err != nil {
			return err
		}
		for _, name := range names {
			if _, ok := defs[name]; !ok {
				return fmt.Errorf("search attribute %s: %w", name, persistence.ErrNotFound)
			}
		}
		for _, name := range names {
			t, ok := defs[name]
			if !ok {
				continue // listed twice
			}
			delete(defs, name)
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM "+visDefsTable+" WHERE namespace_id = ? AND name = ?"), namespaceID, name); err != nil {
				return s.dbErr("remove search attribute", err)
			}
			table := visValueTables[searchattr.KindOf(t)]
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM "+table+" WHERE namespace_id = ? AND name = ?"), namespaceID, name); err != nil {
				return s.dbErr("remove search attribute values", err)
			}
		}
		return nil
	})
}

func sortedNames(m map[string]enumspb.IndexedValueType) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
