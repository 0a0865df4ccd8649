package httpapi

import (
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/sundialhq/sundial/internal/config"
)

// AllowedHostsKey is the dynamic-config key listing the Host header values
// the HTTP API accepts (Temporal's name and meaning): a list of patterns
// matched against the whole Host header, port included, case-sensitively,
// where `*` stands for any run of characters. Unset allows every host; an
// empty list allows none.
const AllowedHostsKey = "frontend.httpAllowedHosts"

// hostFilter answers whether a Host header is allowed, reading the
// dynamic config on every call (the value may change while the server
// runs) and compiling a pattern list only when it changes.
type hostFilter struct {
	dynamic *config.Dynamic
	log     *slog.Logger

	mu       sync.Mutex
	compiled bool           // last and re are set
	last     string         // the pattern list last compiled, joined by "\x00"
	re       *regexp.Regexp // its compiled form; nil when the value was malformed
}

// allowed reports whether host may be served. A malformed setting (not a
// list of strings) denies every host and is logged when it first appears:
// failing open would silently disable a protection the operator asked for.
func (f *hostFilter) allowed(host string) bool {
	patterns, set, err := f.dynamic.Strings(AllowedHostsKey)
	if !set {
		return true
	}
	key := "\x01" // distinct from every joined list
	if err == nil {
		key = strings.Join(patterns, "\x00")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.compiled || key != f.last {
		f.last, f.compiled, f.re = key, true, nil
		if err != nil {
			f.log.Warn("malformed dynamic config: the HTTP API denies every host until it is fixed",
				"key", AllowedHostsKey, "error", err)
		} else {
			f.re = wildcardRegexp(patterns)
		}
	}
	return f.re != nil && f.re.MatchString(host)
}

// wildcardRegexp matches a string that equals one of patterns, where `*`
// in a pattern stands for any run of characters.
func wildcardRegexp(patterns []string) *regexp.Regexp {
	alts := make([]string, len(patterns))
	for i, p := range patterns {
		alts[i] = strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, `.*`)
	}
	return regexp.MustCompile(`^(?:` + strings.Join(alts, "|") + `)$`)
}
