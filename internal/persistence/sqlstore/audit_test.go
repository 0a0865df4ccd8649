package sqlstore

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The audit log is append-only: the only statements of this package that
// touch audit_log are its INSERT, SELECT and the retention DELETE by
// time. (The server has no other path to the table.)
func TestAuditLogAppendOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := regexp.MustCompile(`^"(INSERT INTO audit_log \(.*|SELECT [a-z_, ]+ FROM audit_log|DELETE FROM audit_log WHERE ts < \?)"$`)
	mentions := regexp.MustCompile(`"[^"\n]*audit_log[^"\n]*"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mentions.FindAllString(string(src), -1) {
			if m = strings.TrimSpace(m); !allowed.MatchString(m) {
				t.Errorf("%s: statement on audit_log %q: the audit log is append-only", f, m)
			}
		}
	}
}
