package mysql

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	drv "github.com/go-sql-driver/mysql"

	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

func TestInsertIgnore(t *testing.T) {
	got := Dialect{}.InsertIgnore("shards", []string{"shard_id", "range_id"}, []string{"shard_id"})
	want := "INSERT INTO shards (shard_id, range_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE shard_id = shard_id"
	if got != want {
		t.Errorf("InsertIgnore = %q, want %q", got, want)
	}
}

func TestClassify(t *testing.T) {
	d := Dialect{}
	for err, want := range map[error]sqlstore.ErrorClass{
		&drv.MySQLError{Number: 1062}:                sqlstore.ClassUniqueViolation,
		&drv.MySQLError{Number: 1213}:                sqlstore.ClassTransient, // deadlock
		&drv.MySQLError{Number: 1205}:                sqlstore.ClassTransient, // lock wait timeout
		&drv.MySQLError{Number: 1927}:                sqlstore.ClassTransient, // connection killed
		&drv.MySQLError{Number: 1146}:                sqlstore.ClassOther,     // no such table
		drv.ErrInvalidConn:                           sqlstore.ClassTransient,
		fmt.Errorf("dial: %w", syscall.ECONNREFUSED): sqlstore.ClassTransient,
		errors.New("something else"):                 sqlstore.ClassOther,
	} {
		if got := d.Classify(fmt.Errorf("op: %w", err)); got != want {
			t.Errorf("Classify(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestDSNCountsMatchedRows(t *testing.T) {
	cfg, err := driverConfig(Options{Addr: "127.0.0.1:3306", Database: "d", Attributes: map[string]string{"x": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ClientFoundRows || cfg.Params["x"] != "1" || cfg.Params["innodb_lock_wait_timeout"] == "" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := driverConfig(Options{Addr: "nohostport", Database: "d"}); err == nil {
		t.Error("an address without a port was accepted")
	}
}
