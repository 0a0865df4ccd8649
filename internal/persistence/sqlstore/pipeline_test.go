package sqlstore

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
)

// nameDialect is a Dialect that only names itself (pipelined uses no
// more).
type nameDialect struct{ Dialect }

func (nameDialect) Name() string { return "test" }

// TestPipelineOutcomes: a pipeline the database rejected (or never got)
// leaves the write to the transaction; one that failed after it may have
// been sent is an unknown outcome that is not retried.
func TestPipelineOutcomes(t *testing.T) {
	ctx := context.Background()
	run := func(err error) (bool, error) {
		s := &Store{d: nameDialect{}, pipeline: func(context.Context, []Statement) error { return err }}
		return s.pipelined(ctx, "update workflow", []Statement{{Query: "x"}})
	}
	if done, err := run(nil); !done || err != nil {
		t.Fatalf("success: done=%v err=%v, want done and nil", done, err)
	}
	if done, err := run(&PipelineError{Rejected: true, Err: errors.New("ERROR: sundial: run version or shard fence")}); done || err != nil {
		t.Fatalf("rejected: done=%v err=%v, want not done (run the transaction)", done, err)
	}
	done, err := run(&PipelineError{Err: io.ErrUnexpectedEOF})
	var un *persistence.UnavailableError
	var nr *noRetry
	if !done || !errors.Is(err, persistence.ErrUnknownOutcome) || !errors.As(err, &un) || !errors.As(err, &nr) {
		t.Fatalf("lost after sending: done=%v err=%v, want done with an unknown, unretried outcome", done, err)
	}
}
