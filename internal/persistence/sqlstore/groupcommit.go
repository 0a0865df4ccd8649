package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Group commit, for a database with one write connection (SQLite): write
// transactions that arrive while another is committing are run together,
// each in a savepoint of one transaction, and committed with one COMMIT,
// so one fsync covers them all. Under load this divides the commits (and
// the WAL pages written) by the number of concurrent writers; an idle
// writer still commits alone at once (no waiting for company).
//
// Each member keeps the semantics of its own transaction: a member whose
// function fails is rolled back to its savepoint and gets its own error,
// the others still commit; members see the writes of earlier members of
// the group, as if they had run one after the other. A failed COMMIT gives
// every member that had succeeded an unknown outcome, exactly as a lone
// transaction's failed COMMIT does. If the transaction as a whole is lost
// before COMMIT (SQLite rolls back the whole transaction on some errors,
// e.g. an interrupted statement or a full disk), every member gets a
// transient error and is retried by Store.retry.

// maxGroup bounds the members of one group transaction.
const maxGroup = 128

// errTakeLead tells a queued writer that it now leads the next group.
var errTakeLead = errors.New("sqlstore: take the group commit lead")

type groupWriter struct {
	mu      sync.Mutex
	queue   []*groupMember
	leading bool
}

type groupMember struct {
	ctx  context.Context
	op   string
	fn   func(tx *sql.Tx) error
	done chan error // capacity 1: errTakeLead, then the member's result
}

// groupWrite runs fn as a member of the next group transaction and returns
// its result once the group has committed or failed. The wait ignores ctx:
// a write that may commit is never reported as not done.
func (s *Store) groupWrite(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	m := &groupMember{ctx: ctx, op: op, fn: fn, done: make(chan error, 1)}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, m)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead {
		if err := <-m.done; err != errTakeLead {
			return err
		}
	}
	// The leader is the first queued member, so its own write is in the
	// group it commits.
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := append([]*groupMember(nil), g.queue[:n]...)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.mu.Unlock()

	s.commitGroup(batch)

	// Hand the lead to the next queued writer, so no caller serves others'
	// writes for longer than one group.
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].done <- errTakeLead
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return <-m.done
}

// commitGroup runs batch in one transaction and sends each member its
// result.
func (s *Store) commitGroup(batch []*groupMember) {
	results := make([]error, len(batch))
	defer func() {
		for i, m := range batch {
			m.done <- results[i]
		}
	}()
	// lost: nothing of the group took effect, and a member's own error may
	// have come from another member's write that is now undone, so every
	// member runs again (Store.retry).
	lost := func(op string, err error) {
		for i := range results {
			results[i] = retryable(s.dbErr(op, err))
		}
	}
	// Not a member's context: database/sql rolls a transaction back when
	// the context given to BeginTx ends, which would undo the others.
	bg := context.Background()
	tx, err := s.d.BeginWrite(bg, s.wdb)
	if err != nil {
		lost("begin group", err)
		return
	}
	var applied []int // members whose writes are in the transaction
	for i, m := range batch {
		if err := m.ctx.Err(); err != nil {
			results[i] = s.dbErr(m.op+": begin", err)
			continue
		}
		if _, err := tx.ExecContext(bg, "SAVEPOINT member"); err != nil {
			_ = tx.Rollback()
			lost(m.op+": savepoint", err)
			return
		}
		if err := m.fn(tx); err != nil {
			results[i] = err
			// ROLLBACK TO fails when the database already rolled back the
			// whole transaction (SQLite does on an interrupt or a full disk).
			if _, rerr := tx.ExecContext(bg, "ROLLBACK TO member"); rerr != nil {
				_ = tx.Rollback()
				lost(m.op+": group transaction rolled back", errors.Join(err, rerr))
				return
			}
		} else {
			applied = append(applied, i)
		}
		if _, err := tx.ExecContext(bg, "RELEASE member"); err != nil {
			_ = tx.Rollback()
			lost(m.op+": release savepoint", err)
			return
		}
	}
	if len(applied) == 0 {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		// Members that failed were decided against writes that may not have
		// committed: they run again. The others' outcome is unknown.
		for i := range results {
			if results[i] != nil {
				results[i] = retryable(s.dbErr(batch[i].op+": group commit failed", err))
			}
		}
		for _, i := range applied {
			wrapped := fmt.Errorf("sqlstore %s: %s: commit: %w: %w", s.d.Name(), batch[i].op, persistence.ErrUnknownOutcome, err)
			results[i] = &persistence.UnavailableError{Err: &noRetry{wrapped}}
		}
	}
}

// retryable marks err transient: the write it reports did not take effect
// and may run again.
func retryable(err error) error {
	var un *persistence.UnavailableError
	if errors.As(err, &un) {
		return err
	}
	return &persistence.UnavailableError{Err: err}
}
