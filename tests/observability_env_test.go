package tests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/server"
)

// obsEnv is a server with its metrics endpoint on, Info-level logs kept in
// memory, a store whose GetCurrentRun can be made to fail, and the ability
// to restart on the same database.
type obsEnv struct {
	t      *testing.T
	cfg    server.Config
	srv    *server.Server
	client client.Client
	logs   *lockedBuffer
	fault  *faultStore
}

// newObsEnv starts a server on a database of its own (see testBackend)
// with metrics served on a free port.
func newObsEnv(t *testing.T) *obsEnv {
	t.Helper()
	e := &obsEnv{t: t, logs: &lockedBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", e.logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e.cfg = server.Config{IP: "127.0.0.1", NumShards: 4, Logger: logger, MetricsAddress: "127.0.0.1:0"}
	e.cfg.Store, e.cfg.DBFilename = testBackend(t)
	e.cfg.WrapStore = func(s persistence.Store) persistence.Store {
		e.fault = &faultStore{Store: s}
		return e.fault
	}
	e.start()
	return e
}

func (e *obsEnv) start() {
	e.t.Helper()
	s, err := server.New(e.cfg)
	require.NoError(e.t, err, "server.New")
	require.NoError(e.t, s.Start(), "server.Start")
	e.t.Cleanup(s.Stop)
	e.srv = s
	require.NotEmpty(e.t, s.MetricsURL(), "metrics URL")
	e.client = dialClient(e.t, s.FrontendAddr(), nil)
}

// restart stops the server and starts a new one on the same database.
func (e *obsEnv) restart() {
	e.t.Helper()
	e.srv.Stop()
	e.start()
}

// infoLines counts the Info-level log lines written so far.
func (e *obsEnv) infoLines() int {
	return strings.Count(e.logs.String(), "level=INFO")
}

// scrape reads the metrics page.
func (e *obsEnv) scrape() metricSet {
	e.t.Helper()
	set, err := scrapeMetrics(e.srv.MetricsURL())
	require.NoError(e.t, err, "scrape %s", e.srv.MetricsURL())
	return set
}

// faultStore fails the next failCurrentRun GetCurrentRun calls with
// *persistence.UnavailableError.
type faultStore struct {
	persistence.Store
	failCurrentRun atomic.Int32
}

func (s *faultStore) GetCurrentRun(ctx context.Context, shardID int32, namespaceID, workflowID string) (*persistence.CurrentRun, error) {
	if s.failCurrentRun.Add(-1) >= 0 {
		return nil, &persistence.UnavailableError{Err: errors.New("injected outage")}
	}
	s.failCurrentRun.Store(0)
	return s.Store.GetCurrentRun(ctx, shardID, namespaceID, workflowID)
}

// sample is one exposed series: a counter, gauge, or one of a
// histogram's _bucket, _sum and _count series.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

type metricSet []sample

// scrapeMetrics fetches and parses a Prometheus text page.
func scrapeMetrics(url string) (metricSet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	var set metricSet
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				set = append(set, sample{name, labels, m.GetCounter().GetValue()})
			case m.GetGauge() != nil:
				set = append(set, sample{name, labels, m.GetGauge().GetValue()})
			case m.GetUntyped() != nil:
				set = append(set, sample{name, labels, m.GetUntyped().GetValue()})
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				set = append(set, sample{name + "_count", labels, float64(h.GetSampleCount())},
					sample{name + "_sum", labels, h.GetSampleSum()})
				for _, b := range h.GetBucket() {
					bl := map[string]string{"le": strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)}
					for k, v := range labels {
						bl[k] = v
					}
					set = append(set, sample{name + "_bucket", bl, float64(b.GetCumulativeCount())})
				}
			}
		}
	}
	return set, nil
}

// matcher is one label matcher of a selector: = or =~ (anchored).
type matcher struct {
	label string
	re    *regexp.Regexp
}

// eq matches label = value exactly.
func eq(label, value string) matcher {
	return matcher{label, regexp.MustCompile("^(?:" + regexp.QuoteMeta(value) + ")$")}
}

func (m metricSet) selectAll(name string, ms ...matcher) []sample {
	var out []sample
next:
	for _, s := range m {
		if s.name != name {
			continue
		}
		for _, mt := range ms {
			if !mt.re.MatchString(s.labels[mt.label]) {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// sum adds the values of the series name selected by ms.
func (m metricSet) sum(name string, ms ...matcher) float64 {
	var total float64
	for _, s := range m.selectAll(name, ms...) {
		total += s.value
	}
	return total
}

// increased reports whether some series selected in after grew since
// before (a series new in after counts from zero), as rate() would show.
func increased(before, after metricSet, name string, ms ...matcher) bool {
	for _, s := range after.selectAll(name, ms...) {
		prev := 0.0
		for _, b := range before.selectAll(name, ms...) {
			if sameLabels(b.labels, s.labels) {
				prev = b.value
			}
		}
		if s.value > prev {
			return true
		}
	}
	return false
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
