package tests

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"gopkg.in/yaml.v3"
)

const operationsDoc = "../docs/OPERATIONS.md"

// docBlock returns the fenced code block between <!-- name --> and
// <!-- /name --> in docs/OPERATIONS.md.
func docBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(operationsDoc)
	require.NoError(t, err)
	doc := string(b)
	start := strings.Index(doc, "<!-- "+name+" -->")
	end := strings.Index(doc, "<!-- /"+name+" -->")
	require.True(t, start >= 0 && end > start, "%s has no %s block", operationsDoc, name)
	block := doc[start:end]
	block = block[strings.Index(block, "```"):]
	block = block[strings.Index(block, "\n")+1 : strings.LastIndex(block, "```")]
	return block
}

var (
	// rangeSelector: a metric selector with a range, as rate() takes it.
	rangeSelector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*\[\w+\]`)
	// bareSelector: a query that is just an instant selector.
	bareSelector = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?$`)
	// labelMatcher: one matcher inside {...}.
	labelMatcher = regexp.MustCompile(`(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	// parenMetric: a metric alone in parentheses, as in max by (x) (m),
	// once grouping clauses are removed.
	parenMetric = regexp.MustCompile(`\(\s*([a-z_][a-z0-9_]*)\s*\)`)
	grouping    = regexp.MustCompile(`\b(by|without)\s*\([^)]*\)`)
)

// parseMatchers turns {a="x",b=~"y|z"} into matchers (= and =~; != and
// !~ are checked by the caller's data, so they are not needed here).
func parseMatchers(t *testing.T, s string) []matcher {
	var out []matcher
	for _, m := range labelMatcher.FindAllStringSubmatch(s, -1) {
		switch m[2] {
		case "=":
			out = append(out, eq(m[1], m[3]))
		case "=~":
			out = append(out, matcher{m[1], regexp.MustCompile("^(?:" + m[3] + ")$")})
		default:
			t.Fatalf("matcher %s: only = and =~ are supported by this check", m[0])
		}
	}
	return out
}

// Each main query of the "server general" dashboard, as docs/OPERATIONS.md
// lists it, returns data against Sundial's /metrics: every range selector
// of a rate() selects series that grew while SDK workflows ran (so the
// rate is non-zero), and every instant query selects a non-zero series.
// The alert rules parse, and every metric they name is exported.
func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	env := newObsEnv(t)
	ctx := testContext(t, 2*time.Minute)
	tq := uniqueName(t, "tq")
	env.startWorker(t, tq, worker.Options{DisableEagerActivities: true})
	before := env.scrape()

	env.runActivityWorkflows(t, ctx, tq, 5)
	start := func(name string, opts client.StartWorkflowOptions) client.WorkflowRun {
		opts.ID, opts.TaskQueue = uniqueName(t, name), tq
		run, err := env.client.ExecuteWorkflow(ctx, opts, name)
		require.NoError(t, err)
		return run
	}
	require.Error(t, start("ObsFail", client.StartWorkflowOptions{}).Get(ctx, nil), "failed")
	require.Error(t, start("ObsWait", client.StartWorkflowOptions{WorkflowRunTimeout: time.Second}).Get(ctx, nil), "timed out")
	cancelled := start("ObsWait", client.StartWorkflowOptions{})
	require.NoError(t, env.client.CancelWorkflow(ctx, cancelled.GetID(), ""))
	require.Error(t, cancelled.Get(ctx, nil), "cancelled")
	env.errorsAndOutage(t, ctx, tq) // NotFound, AlreadyStarted, Unavailable; terminates a run
	after := env.scrape()

	queries := 0
	for _, line := range strings.Split(docBlock(t, "dashboard-queries"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		queries++
		sels := rangeSelector.FindAllStringSubmatch(line, -1)
		if len(sels) == 0 {
			m := bareSelector.FindStringSubmatch(line)
			require.NotNil(t, m, "query %q: neither rate() selectors nor an instant selector", line)
			require.Positive(t, after.sum(m[1], parseMatchers(t, m[2])...), "query %q returns no data", line)
			continue
		}
		for _, sel := range sels {
			require.True(t, increased(before, after, sel[1], parseMatchers(t, sel[2])...),
				"query %q: %s%s selects no series that grew", line, sel[1], sel[2])
		}
	}
	require.GreaterOrEqual(t, queries, 20, "dashboard queries listed")

	checkAlertRules(t, after)
}

// checkAlertRules parses the alert rules of docs/OPERATIONS.md and checks
// that every metric they name is exported.
func checkAlertRules(t *testing.T, after metricSet) {
	t.Helper()
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(docBlock(t, "alert-rules")), &rules), "alert rules YAML")
	require.Len(t, rules.Groups, 1)
	require.Len(t, rules.Groups[0].Rules, 5, "the five alerts")
	for _, r := range rules.Groups[0].Rules {
		var names []string
		for _, m := range rangeSelector.FindAllStringSubmatch(r.Expr, -1) {
			names = append(names, m[1])
		}
		for _, m := range parenMetric.FindAllStringSubmatch(grouping.ReplaceAllString(r.Expr, ""), -1) {
			names = append(names, m[1])
		}
		require.NotEmpty(t, names, "alert %s names no metric", r.Alert)
		for _, name := range names {
			require.NotEmpty(t, after.selectAll(name), "alert %s: metric %s is not exported", r.Alert, name)
		}

	}
}
