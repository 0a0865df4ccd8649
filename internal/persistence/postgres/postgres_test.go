package postgres_test

import (
	"context"
	"io"

	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
	"github.com/sundialhq/sundial/internal/persistence/storetest"
)

func TestConformance(t *testing.T) {
	_ = sqltest.Postgres.Admin(t) // skips when the server is not configured
	storetest.RunAll(t, func(t *testing.T) persistence.Store {
		s, err := postgres.Open(t.Context(), sqltest.Postgres.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrations(t *testing.T) {
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Postgres.CheckMigrations(t, postgres.Dialect{}, ms, func(ctx context.Context, o sqlstore.ServerOptions) (io.Closer, error) {
		return postgres.Open(ctx, o)
	})
}

// BenchmarkTransitions: see storetest.BenchmarkTransitions.
func BenchmarkTransitions(b *testing.B) {
	o := sqltest.Postgres.NewDatabase(b)
	var rt sqltest.RoundTrips
	o.Dial = rt.Dial
	s, err := postgres.Open(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkTransitions(b, s, rt.Count)
}
