package history

import (
	"context"
	"fmt"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Operator access to the outbox dead-letter queue (see queues/retry.go).

// ListDLQ returns up to limit dead-lettered tasks after key after, in key
// order (persistence.DLQStore.ListDLQ).
func (e *Engine) ListDLQ(ctx context.Context, after persistence.DLQKey, limit int) ([]persistence.DLQTask, error) {
	if limit <= 0 || limit > 1000 {
		return nil, &InvalidArgumentError{Msg: "limit must be between 1 and 1000"}
	}
	return e.opts.Store.ListDLQ(ctx, after, limit)
}

// RetryDLQTask puts a dead-lettered task back into its shard's outbox and
// hands it to the shard's queue, so it runs again now with a fresh retry
// budget. persistence.ErrNotFound if the key is not in the DLQ.
func (e *Engine) RetryDLQTask(ctx context.Context, key persistence.DLQKey) error {
	if err := e.checkDLQKey(key); err != nil {
		return err
	}
	t, err := e.opts.Store.RestoreDLQTask(ctx, key)
	if err != nil {
		return err
	}
	e.dlqSize.Add(-1)
	// A shard served elsewhere runs the task when its owner next reads
	// its outbox.
	e.shards[key.ShardID].enqueue([]persistence.OutboxTask{t})
	return nil
}

// PurgeDLQTask drops a dead-lettered task for good.
// persistence.ErrNotFound if the key is not in the DLQ.
func (e *Engine) PurgeDLQTask(ctx context.Context, key persistence.DLQKey) error {
	if err := e.checkDLQKey(key); err != nil {
		return err
	}
	if err := e.opts.Store.DeleteDLQTask(ctx, key); err != nil {
		return err
	}
	e.dlqSize.Add(-1)
	return nil
}

func (e *Engine) checkDLQKey(key persistence.DLQKey) error {
	if key.ShardID < 0 || key.ShardID >= e.opts.NumShards {
		return &InvalidArgumentError{Msg: fmt.Sprintf("shard %d does not exist (shards 0..%d)", key.ShardID, e.opts.NumShards-1)}
	}
	if key.Category != persistence.CategoryTransfer && key.Category != persistence.CategoryTimer {
		return &InvalidArgumentError{Msg: fmt.Sprintf("category %d does not exist (1 transfer, 2 timer)", key.Category)}
	}
	return nil
}
