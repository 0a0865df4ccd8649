package main

import (
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/server"
)

// rbacCommand manages role bindings through a running server's admin
// endpoint; a grant or revoke is in force at once (no restart).
func rbacCommand() *cobra.Command {
	var address string
	cmd := &cobra.Command{
		Use:   "rbac",
		Short: "Role bindings: grant a user (token sub), group (groups claim) or client certificate a role in a namespace",
	}
	cmd.PersistentFlags().StringVar(&address, "address", fmt.Sprintf("localhost:%d", DefaultAdminPort), "host:port of the server's admin endpoint")
	registerTokenFileFlag(cmd)
	action := func(name, short string) *cobra.Command {
		return &cobra.Command{
			Use:   name + " PRINCIPAL NAMESPACE ROLE",
			Short: short,
			Long: short + ".\nPRINCIPAL is user:SUBJECT, group:NAME, or a client certificate's cert-cn:COMMON-NAME, cert-dns:DNS-NAME or cert-uri:URI (e.g. a SPIFFE ID); NAMESPACE temporal-system means every namespace;\n" +
				"ROLE is read, write, worker or admin.",
			Args: cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				q := url.Values{"principal": {args[0]}, "namespace": {args[1]}, "role": {args[2]}}
				if err := adminCall(cmd.Context(), http.MethodPost, address, "/admin/rbac/"+name+"?"+q.Encode(), nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s %s\n", name, args[0], args[1], args[2])
				return nil
			},
		}
	}
	list := &cobra.Command{
		Use: "list", Short: "List role bindings (stored and from the config)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp struct {
				Bindings []server.AdminBinding `json:"bindings"`
			}
			if err := adminCall(cmd.Context(), http.MethodGet, address, "/admin/rbac", &resp); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PRINCIPAL\tNAMESPACE\tROLE\tSOURCE")
			for _, b := range resp.Bindings {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Principal, b.Namespace, b.Role, b.Source)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(action("grant", "Grant a role"), action("revoke", "Revoke a role granted with grant"), list)
	return cmd
}
