package mysql_test

import (
	"context"
	"io"

	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/mysql"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
	"github.com/sundialhq/sundial/internal/persistence/storetest"
)

func TestConformance(t *testing.T) {
	_ = sqltest.MySQL.Admin(t) // skips when the server is not configured
	storetest.RunAll(t, func(t *testing.T) persistence.Store {
		s, err := mysql.Open(t.Context(), sqltest.MySQL.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrations(t *testing.T) {
	ms, err := mysql.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	sqltest.MySQL.CheckMigrations(t, mysql.Dialect{}, ms, func(ctx context.Context, o sqlstore.ServerOptions) (io.Closer, error) {
		return mysql.Open(ctx, o)
	})
}

// BenchmarkTransitions: see storetest.BenchmarkTransitions.
func BenchmarkTransitions(b *testing.B) {
	o := sqltest.MySQL.NewDatabase(b)
	var rt sqltest.RoundTrips
	o.Dial = rt.Dial
	s, err := mysql.Open(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkTransitions(b, s, rt.Count)
}
