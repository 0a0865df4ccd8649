package postgres

import "github.com/sundialhq/sundial/internal/persistence/sqlstore"

var _ sqlstore.StatisticsRefresher = Dialect{}

// RefreshStatisticsStatements implements sqlstore.StatisticsRefresher.
// Autovacuum analyzes tables too, but only once a minute at best: a
// visibility table that grows fast in its first minutes would otherwise be
// planned (and its cached generic plans kept) as if it were nearly empty,
// with sequential scans where the primary key should be used.
func (Dialect) RefreshStatisticsStatements(tables []string) []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = "ANALYZE " + t
	}
	return out
}
