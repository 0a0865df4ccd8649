package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// WAL checkpoints run off the write path. By default SQLite checkpoints
// inside the COMMIT that makes the WAL reach 1,000 pages, i.e. in the
// group-commit writer, whose one-at-a-time transactions are the SQLite
// ceiling (docs/PERFORMANCE.md, "Ceiling"): the checkpoint's page copies
// and fsync were about a tenth of the writer's time. The writer runs with
// wal_autocheckpoint(0) and a connection of its own runs a PASSIVE
// checkpoint every checkpointInterval: it copies committed frames into
// the database file while writes go on, and the writer restarts the WAL
// from its beginning once everything was copied, as before.

// checkpointInterval is how often the checkpointer runs. At the writer's
// ceiling (about 3,000 transitions/s, 5-10 pages per group commit) the
// WAL grows by far less than the 1,000 pages of SQLite's default between
// two runs.
const checkpointInterval = 250 * time.Millisecond

type checkpointer struct {
	db     *sql.DB
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	// runs counts the checkpoints that ran; copied the frames they
	// copied into the database file (for tests).
	runs, copied atomic.Int64
}

// startCheckpointer opens a connection to path for checkpoints and starts
// the loop; stop ends it.
func startCheckpointer(path string, logger *slog.Logger) (*checkpointer, error) {
	db, err := openCached(dsn(path, busyPragma()))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, log: logger, cancel: cancel, done: make(chan struct{})}
	go c.loop(ctx)
	return c, nil
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var busy, frames, copied int64
		err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("sqlite: WAL checkpoint failed; retrying", "error", err)
			}
			continue
		}
		c.runs.Add(1)
		c.copied.Store(copied)
	}
}

// stop ends the loop and closes its connection.
func (c *checkpointer) stop() error {
	c.cancel()
	<-c.done
	return c.db.Close()
}
