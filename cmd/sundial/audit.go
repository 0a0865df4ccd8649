package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/persistence"
)

// auditCommand reads the audit log through a running server's admin
// endpoint: `list` as a table, `export` as JSON lines.
func auditCommand() *cobra.Command {
	var address, from, to, subject, namespace string
	var limit int
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit log of mutating calls"}
	pf := cmd.PersistentFlags()
	pf.StringVar(&address, "address", fmt.Sprintf("localhost:%d", DefaultAdminPort), "host:port of the server's admin endpoint")
	registerTokenFileFlag(cmd)
	pf.StringVar(&from, "from", "", "entries at or after this time (RFC 3339, or a duration ago like 24h)")
	pf.StringVar(&to, "to", "", "entries before this time (RFC 3339, or a duration ago)")
	pf.StringVar(&subject, "subject", "", "only entries of this subject")
	pf.StringVar(&namespace, "namespace", "", "only entries in this namespace")
	pf.IntVar(&limit, "limit", 0, "at most this many entries (default all)")
	fetch := func(cmd *cobra.Command, each func(persistence.AuditEntry) error) error {
		q := url.Values{}
		for name, v := range map[string]string{"from": from, "to": to} {
			if v == "" {
				continue
			}
			t, err := parseWhen(v, time.Now())
			if err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
			q.Set(name, t.Format(time.RFC3339Nano))
		}
		if subject != "" {
			q.Set("subject", subject)
		}
		if namespace != "" {
			q.Set("namespace", namespace)
		}
		var after int64
		for n := 0; limit <= 0 || n < limit; {
			page := 1000
			if limit > 0 {
				page = min(page, limit-n)
			}
			q.Set("limit", strconv.Itoa(page))
			q.Set("after", strconv.FormatInt(after, 10))
			var resp struct {
				Entries []persistence.AuditEntry `json:"entries"`
			}
			if err := adminCall(cmd.Context(), http.MethodGet, address, "/admin/audit?"+q.Encode(), &resp); err != nil {
				return err
			}
			for _, e := range resp.Entries {
				if err := each(e); err != nil {
					return err
				}
				after = e.ID
			}
			n += len(resp.Entries)
			if len(resp.Entries) < page {
				break
			}
		}
		return nil
	}
	list := &cobra.Command{
		Use: "list", Short: "List audit entries as a table", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tSUBJECT\tSOURCE\tAPI\tNAMESPACE\tTARGET\tREQUEST ID\tRESULT")
			err := fetch(cmd, func(e persistence.AuditEntry) error {
				target := e.Target
				if e.WorkflowID != "" {
					target = e.WorkflowID
					if e.RunID != "" {
						target += "/" + e.RunID
					}
				}
				_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339Nano), e.Subject,
					e.Source, e.API, e.Namespace, target, e.RequestID, e.Code)
				return err
			})
			if ferr := tw.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	export := &cobra.Command{
		Use: "export", Short: "Write audit entries as JSON lines (one object per entry)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			enc := json.NewEncoder(cmd.OutOrStdout())
			return fetch(cmd, func(e persistence.AuditEntry) error { return enc.Encode(e) })
		},
	}
	cmd.AddCommand(list, export)
	return cmd
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time or a duration like 24h", v)
	}
	return t, nil
}
