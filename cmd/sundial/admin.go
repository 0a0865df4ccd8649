package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/server"
)

// DefaultAdminPort is the port of the admin endpoint when it is switched
// on without one (--admin-port on the server, --address here).
const DefaultAdminPort = 7244

// adminCommand talks to a running server's admin endpoint (started with
// --admin-port), which serves only on localhost.
func adminCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operator commands against a running server (its --admin-port endpoint)"}
	cmd.AddCommand(dlqCommand(), clusterCommand())
	registerTokenFileFlag(cmd)
	return cmd
}

func clusterCommand() *cobra.Command {
	var address string
	cmd := &cobra.Command{Use: "cluster", Short: "The cluster's members and who owns which shard"}
	cmd.PersistentFlags().StringVar(&address, "address", fmt.Sprintf("localhost:%d", DefaultAdminPort), "host:port of the server's admin endpoint")
	describe := &cobra.Command{
		Use:   "describe",
		Short: "List members (role, address, start time, liveness), the owner of each history shard as this server's ring sees it, and the shards and task-queue partitions this server holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out server.AdminCluster
			if err := adminCall(cmd.Context(), http.MethodGet, address, "/admin/cluster", &out); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	cmd.AddCommand(describe)
	return cmd
}

func dlqCommand() *cobra.Command {
	var address string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Outbox tasks that failed past their retry budget (the dead-letter queue)",
	}
	cmd.PersistentFlags().StringVar(&address, "address", fmt.Sprintf("localhost:%d", DefaultAdminPort), "host:port of the server's admin endpoint")
	list := &cobra.Command{
		Use: "list", Short: "List dead-lettered tasks (key SHARD/CATEGORY/TASK, attempts, last error)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tasks, err := listDLQ(cmd.Context(), address, limit)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(tasks)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many (default all)")
	action := func(name, short string) *cobra.Command {
		c := &cobra.Command{
			Use: name + " [KEY...]", Short: short,
			RunE: func(cmd *cobra.Command, keys []string) error {
				if all == (len(keys) > 0) {
					return fmt.Errorf("name task keys (SHARD/CATEGORY/TASK) or --all, not both")
				}
				if all {
					tasks, err := listDLQ(cmd.Context(), address, 0)
					if err != nil {
						return err
					}
					for _, t := range tasks {
						keys = append(keys, t.Key)
					}
				}
				for _, k := range keys {
					if _, err := server.ParseDLQKey(k); err != nil {
						return err
					}
					if err := adminCall(cmd.Context(), http.MethodPost, address, "/admin/dlq/"+name+"?task="+url.QueryEscape(k), nil); err != nil {
						return fmt.Errorf("%s %s: %w", name, k, err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", name, k)
				}
				return nil
			},
		}
		c.Flags().BoolVar(&all, "all", false, "every task in the DLQ")
		return c
	}
	cmd.AddCommand(list,
		action("retry", "Put tasks back into the outbox; they run again at once with a fresh retry budget"),
		action("purge", "Drop tasks from the DLQ for good"))
	return cmd
}

// listDLQ reads the whole DLQ (or its first limit tasks) page by page.
func listDLQ(ctx context.Context, address string, limit int) ([]server.AdminDLQTask, error) {
	var out []server.AdminDLQTask
	after := ""
	for {
		page := 1000
		if limit > 0 {
			page = min(page, limit-len(out))
		}
		if page <= 0 {
			return out, nil
		}
		var resp struct {
			Tasks []server.AdminDLQTask `json:"tasks"`
		}
		path := fmt.Sprintf("/admin/dlq?limit=%d&after=%s", page, url.QueryEscape(after))
		if err := adminCall(ctx, http.MethodGet, address, path, &resp); err != nil {
			return nil, err
		}
		out = append(out, resp.Tasks...)
		if len(resp.Tasks) < page {
			return out, nil
		}
		after = resp.Tasks[len(resp.Tasks)-1].Key
	}
}

// adminTokenFileUsage documents --admin-token-file (server and client).
const adminTokenFileUsage = "file holding the admin endpoint's token (default: $XDG_CONFIG_HOME/sundial/admin-PORT.token, ~/.config on Linux)"

// adminTokenFile is flag, or the default token file for port.
func adminTokenFile(flag string, port int) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return server.DefaultAdminTokenFile(port)
}

// clientTokenFile is --admin-token-file of the admin, rbac and audit
// commands.
var clientTokenFile string

func registerTokenFileFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&clientTokenFile, "admin-token-file", "", adminTokenFileUsage)
}

// readAdminToken reads the token of the admin endpoint at address.
func readAdminToken(address string) (string, error) {
	file := clientTokenFile
	if file == "" {
		_, p, err := net.SplitHostPort(address)
		port, perr := strconv.Atoi(p)
		if err != nil || perr != nil {
			return "", fmt.Errorf("--address %q: want host:port", address)
		}
		if file, err = server.DefaultAdminTokenFile(port); err != nil {
			return "", err
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the admin token (the server writes it at start; --admin-token-file names another file): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// adminCall makes one request to the admin endpoint and decodes a JSON
// answer into into (when not nil).
func adminCall(ctx context.Context, method, address, path string, into any) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := readAdminToken(address)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+address+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin endpoint %s (is the server running with --admin-port?): %w", address, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if into == nil {
		return nil
	}
	return json.Unmarshal(body, into)
}
