package postgres

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

func TestRebind(t *testing.T) {
	got := Dialect{}.Rebind("SELECT a FROM t WHERE x = ? AND y = ? LIMIT ?")
	if want := "SELECT a FROM t WHERE x = $1 AND y = $2 LIMIT $3"; got != want {
		t.Errorf("Rebind = %q, want %q", got, want)
	}
}

func TestClassify(t *testing.T) {
	d := Dialect{}
	for err, want := range map[error]sqlstore.ErrorClass{
		&pgconn.PgError{Code: "23505"}:                 sqlstore.ClassUniqueViolation,
		&pgconn.PgError{Code: "40001"}:                 sqlstore.ClassTransient,
		&pgconn.PgError{Code: "40P01"}:                 sqlstore.ClassTransient,
		&pgconn.PgError{Code: "57P01"}:                 sqlstore.ClassTransient, // admin shutdown
		&pgconn.PgError{Code: "08006"}:                 sqlstore.ClassTransient,
		&pgconn.PgError{Code: "53300"}:                 sqlstore.ClassTransient, // too many connections
		&pgconn.PgError{Code: "25P03"}:                 sqlstore.ClassTransient, // idle-in-transaction timeout
		&pgconn.PgError{Code: "42P01"}:                 sqlstore.ClassOther,     // undefined table
		fmt.Errorf("wrapped: %w", io.ErrUnexpectedEOF): sqlstore.ClassTransient,
		fmt.Errorf("dial: %w", syscall.ECONNREFUSED):   sqlstore.ClassTransient,
		errors.New("something else"):                   sqlstore.ClassOther,
	} {
		if got := d.Classify(fmt.Errorf("op: %w", err)); got != want {
			t.Errorf("Classify(%v) = %d, want %d", err, got, want)
		}
	}
}
