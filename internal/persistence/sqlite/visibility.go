package sqlite

import "github.com/sundialhq/sundial/internal/persistence/sqlstore"

var _ sqlstore.StatisticsRefresher = Dialect{}

// RefreshStatisticsStatements implements sqlstore.StatisticsRefresher:
// ANALYZE with a sampling limit, which takes milliseconds on a table of
// millions of rows and gives the planner what it needs to choose between
// an index on the ORDER BY key and a selective search attribute.
func (Dialect) RefreshStatisticsStatements(tables []string) []string {
	out := []string{"PRAGMA analysis_limit = 1000"}
	for _, t := range tables {
		out = append(out, "ANALYZE "+t)
	}
	return out
}
