package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Check looks at the keys Sundial parses but does not act on, so that
// none is ignored silently. Keys whose absence would change what clients
// get (TLS certificates, authorization) are an error naming the key: the
// server would otherwise serve plaintext or unchecked requests. Harmless
// ones (multi-host layout, archival, metric tags, …) come back in unused,
// which the server logs as one start-up warning. Zero values and values
// equal to what Sundial does anyway are neither.
func (st *Static) Check() (unused []string, err error) {
	if err := st.Global.Authorization.check(); err != nil {
		return nil, err
	}
	var refused []string
	refused = append(refused, tlsKeys(st.Global.TLS)...)
	if len(refused) > 0 {
		return nil, fmt.Errorf("config: %s: not supported yet (Sundial has no TLS; it would serve "+
			"plaintext); remove or empty them", strings.Join(refused, ", "))
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

// tlsKeys names the TLS settings that configure certificates.
func tlsKeys(t RootTLS) []string {
	var keys []string
	group := func(name string, g GroupTLS) {
		s, c := g.Server, g.Client
		for k, set := range map[string]bool{
			"server.certFile": s.CertFile != "", "server.keyFile": s.KeyFile != "", "server.certData": s.CertData != "",
			"server.keyData": s.KeyData != "", "server.clientCaFiles": nonEmpty(s.ClientCAFiles),
			"server.clientCaData": nonEmpty(s.ClientCAData), "server.requireClientAuth": s.RequireClientAuth,
			"hostOverrides": len(g.HostOverrides) > 0, "client.rootCaFiles": nonEmpty(c.RootCAFiles),
			"client.rootCaData": nonEmpty(c.RootCAData), "client.forceTLS": c.ForceTLS,
		} {
			if set {
				keys = append(keys, "global.tls."+name+"."+k)
			}
		}
	}
	group("frontend", t.Frontend)
	group("internode", t.Internode)
	for name, g := range t.RemoteClusters {
		group("remoteClusters."+name, g)
	}
	if w := t.SystemWorker; w.CertFile != "" || w.KeyFile != "" || w.CertData != "" || w.KeyData != "" {
		keys = append(keys, "global.tls.systemWorker")
	}
	sort.Strings(keys)
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

// unusedServices: every role runs in this process and only the
// frontend's gRPC listener is placed by the config.
func (st *Static) unusedServices() []string {
	var keys []string
	var roles []string
	for role := range st.Services {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		rpc := st.Services[role].RPC
		if role != "frontend" {
			if rpc != (RPC{}) {
				keys = append(keys, "services."+role+".rpc (roles run in one process)")
			}
			continue
		}
		if rpc.MembershipPort != 0 {
			keys = append(keys, "services.frontend.rpc.membershipPort")
		}
	}
	return keys
}

// unusedGlobal: membership and the metric settings beyond the Prometheus
// listener.
func (st *Static) unusedGlobal() []string {
	g := st.Global
	var keys []string
	if g.Membership != (Membership{}) {
		keys = append(keys, "global.membership")
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
