package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Check looks at the keys Sundial parses but does not act on, so that
// none is ignored silently. Security keys Sundial cannot honour (TLS for
// connections that do not exist yet, authorization) are an error naming
// the key: the server would otherwise look protected and not be. Harmless
// ones (multi-host layout, archival, metric tags, …) come back in unused,
// which the server logs as one start-up warning. Zero values and values
// equal to what Sundial does anyway are neither.
func (st *Static) Check() (unused []string, err error) {
	if err := tlsRefusal(st.Global.TLS); err != nil {
		return nil, err
	}
	if err := st.Global.Authorization.check(st.Global.TLS.Frontend.Server.RequireClientAuth); err != nil {
		return nil, err
	}
	unused = append(unused, st.unusedPersistence()...)
	unused = append(unused, st.unusedServices()...)
	unused = append(unused, st.unusedGlobal()...)
	if cm := st.ClusterMetadata; cm != nil && (cm.EnableGlobalNamespace || len(cm.ClusterInformation) > 1) {
		unused = append(unused, "clusterMetadata (one cluster; no replication)")
	}
	if p := st.DCRedirectionPolicy; p != nil && p.Policy != "" && p.Policy != "noop" {
		unused = append(unused, "dcRedirectionPolicy.policy")
	}
	if st.PublicClient != nil && st.PublicClient.HostPort != "" {
		unused = append(unused, "publicClient.hostPort (roles call each other in process)")
	}
	if archivalEnabled(st.Archival.Content) || archivalEnabled(st.NamespaceDefaults.Content) {
		unused = append(unused, "archival (no archival)")
	}
	if len(st.OTel) > 0 {
		unused = append(unused, "otel")
	}
	if st.Log.OutputFile != "" {
		unused = append(unused, "log.outputFile (logs go to stderr)")
	}
	return unused, nil
}

// tlsRefusal names the TLS settings Sundial cannot honour yet, each with
// the reason, or returns nil. global.tls.frontend's server side and
// hostOverrides, global.tls.internode (the internal gRPC between the
// processes of a cluster) and refreshInterval are served
// (internal/tlsconfig, which checks their values at start). Nothing in
// Sundial dials the frontend over the network, so the settings for such
// connections (systemWorker, frontend.client, remoteClusters) would
// protect nothing: accepting them would tell the operator that traffic is
// encrypted when no such traffic exists, and would silently stay off once
// it does.
func tlsRefusal(t RootTLS) error {
	var msgs []string
	add := func(keys []string, why string) {
		if len(keys) > 0 {
			sort.Strings(keys)
			msgs = append(msgs, strings.Join(keys, ", ")+": not supported yet ("+why+")")
		}
	}
	add(clientKeys("global.tls.frontend.client", t.Frontend.Client),
		"nothing in Sundial dials the frontend over the network: every role runs in one process")
	// global.tls.internode is served (internal gRPC between processes).
	if w := t.SystemWorker; w.CertFile != "" || w.KeyFile != "" || w.CertData != "" || w.KeyData != "" ||
		len(clientKeys("", w.Client)) > 0 {
		add([]string{"global.tls.systemWorker"}, "the system worker runs in process and does not dial the frontend")
	}
	var remote []string
	for name, g := range t.RemoteClusters {
		p := "global.tls.remoteClusters." + name
		remote = append(remote, append(serverKeys(p, g), clientKeys(p+".client", g.Client)...)...)
	}
	add(remote, "no replication between clusters")
	if len(t.ExpirationChecks.Content) > 0 {
		add([]string{"global.tls.expirationChecks"}, "an expired or not yet valid certificate is logged at start and at each refresh instead")
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %s; remove them", strings.Join(msgs, "; "))
}

// serverKeys names the set serving-side keys of g under prefix.
func serverKeys(prefix string, g GroupTLS) []string {
	var keys []string
	s := g.Server
	for k, set := range map[string]bool{
		"server.certFile": s.CertFile != "", "server.keyFile": s.KeyFile != "", "server.certData": s.CertData != "",
		"server.keyData": s.KeyData != "", "server.clientCaFiles": nonEmpty(s.ClientCAFiles),
		"server.clientCaData": nonEmpty(s.ClientCAData), "server.requireClientAuth": s.RequireClientAuth,
		"hostOverrides": len(g.HostOverrides) > 0,
	} {
		if set {
			keys = append(keys, prefix+"."+k)
		}
	}
	return keys
}

// clientKeys names the set keys of a client block under prefix.
func clientKeys(prefix string, c ClientTLS) []string {
	var keys []string
	for k, set := range map[string]bool{
		"serverName": c.ServerName != "", "disableHostVerification": c.DisableHostVerification,
		"rootCaFiles": nonEmpty(c.RootCAFiles), "rootCaData": nonEmpty(c.RootCAData), "forceTLS": c.ForceTLS,
	} {
		if set {
			keys = append(keys, prefix+"."+k)
		}
	}
	return keys
}

// unusedPersistence: visibility lives in the default store's database.
func (st *Static) unusedPersistence() []string {
	p := st.Persistence
	var keys []string
	if p.AdvancedVisibilityStore != "" {
		keys = append(keys, "persistence.advancedVisibilityStore (visibility is kept in the default store)")
	}
	if p.SecondaryVisibilityStore != "" {
		keys = append(keys, "persistence.secondaryVisibilityStore")
	}
	var names []string
	for name := range p.DataStores {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != p.DefaultStore && name != p.VisibilityStore {
			keys = append(keys, "persistence.datastores."+name+" (not the default or visibility store)")
		} else if sql := p.DataStores[name].SQL; sql != nil && sql.TaskScanPartitions != 0 {
			keys = append(keys, "persistence.datastores."+name+".sql.taskScanPartitions")
		}
	}
	return keys
}

// unusedServices: the frontend's gRPC listener and the internal gRPC
// listeners of history and matching (grpcPort, bindOnIP, bindOnLocalHost:
// served, and recorded in the membership table) are used; the worker
// serves nothing, there is no gossip, so membershipPort is not, and only
// the frontend serves HTTP.
func (st *Static) unusedServices() []string {
	var keys []string
	var roles []string
	for role := range st.Services {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		rpc := st.Services[role].RPC
		switch role {
		case "frontend":
		case "history", "matching":
			if rpc.HTTPPort != 0 {
				keys = append(keys, "services."+role+".rpc.httpPort (only the frontend serves HTTP)")
			}
		default:
			if rpc != (RPC{}) {
				keys = append(keys, "services."+role+".rpc (the "+role+" role serves no RPC)")
			}
			continue
		}
		if rpc.MembershipPort != 0 {
			keys = append(keys, "services."+role+".rpc.membershipPort (no gossip: processes find each other "+
				"through the database's cluster_membership table)")
		}
	}
	return keys
}

// unusedGlobal: membership and the metric settings beyond the Prometheus
// listener.
func (st *Static) unusedGlobal() []string {
	g := st.Global
	var keys []string
	if g.Membership.MaxJoinDuration != 0 {
		keys = append(keys, "global.membership.maxJoinDuration (joining is one heartbeat into the database)")
	}
	if g.Membership.BroadcastAddress != "" && !slices.ContainsFunc([]string{"history", "matching"},
		func(role string) bool { return st.Services[role].RPC.GRPCPort != 0 }) {
		keys = append(keys, "global.membership.broadcastAddress (no history or matching rpc.grpcPort to advertise)")
	}
	if m := g.Metrics; m != nil {
		if len(m.Tags) > 0 || len(m.ExcludeTags) > 0 || m.Prefix != "" || len(m.PerUnitHistogramBoundaries) > 0 ||
			m.WithoutUnitSuffix || m.WithoutCounterSuffix {
			keys = append(keys, "global.metrics (only prometheus.listenAddress and handlerPath are used)")
		}
		if p := m.Prometheus; p != nil {
			if !slices.Contains([]string{"", "tally"}, p.Framework) {
				keys = append(keys, "global.metrics.prometheus.framework")
			}
			if !slices.Contains([]string{"", "histogram"}, p.TimerType) {
				keys = append(keys, "global.metrics.prometheus.timerType (timers are histograms)")
			}
		}
	}
	return keys
}

// nonEmpty reports whether a list holds a non-empty string (Temporal's
// docker template writes lists of one empty string when a variable is
// unset).
func nonEmpty(list []string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.TrimSpace(s) != "" })
}

// archivalEnabled reports whether an archival block (cluster or
// namespace defaults) has any `state: enabled`.
func archivalEnabled(nodes []*yaml.Node) bool {
	for _, n := range nodes {
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "state" && strings.EqualFold(n.Content[i+1].Value, "enabled") {
				return true
			}
		}
		if archivalEnabled(n.Content) {
			return true
		}
	}
	return false
}
