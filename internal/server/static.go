package server

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// DefaultGRPCPort is the frontend's port when the config names none.
const DefaultGRPCPort = 7233

// FromStatic turns a Temporal-shaped static config into a Config. It
// fills IP, Port, HTTPAddress, NumShards, Store, FrontendTLS,
// Authorization and AllowNoAuth; the caller adds Roles, Namespaces,
// DynamicConfig and Logger. Only sql datastores are supported; the
// visibility store, when named, must be a configured datastore (Sundial
// keeps visibility records in the default store's database).
func FromStatic(st *config.Static) (Config, error) {
	p := st.Persistence
	if p.DefaultStore == "" {
		return Config{}, fmt.Errorf("persistence.defaultStore is not set")
	}
	store, err := sqlDataStore(p, p.DefaultStore)
	if err != nil {
		return Config{}, err
	}
	if p.VisibilityStore != "" {
		if _, err := sqlDataStore(p, p.VisibilityStore); err != nil {
			return Config{}, fmt.Errorf("persistence.visibilityStore: %w", err)
		}
	}
	if p.NumHistoryShards < 0 {
		return Config{}, fmt.Errorf("persistence.numHistoryShards %d: want a positive number", p.NumHistoryShards)
	}
	cfg := Config{NumShards: p.NumHistoryShards, Port: DefaultGRPCPort, IP: DefaultIP}
	cfg.Store = StoreConfig{Plugin: store.PluginName, SkipSchemaMigration: p.SkipSchemaMigration}
	if store.PluginName == config.PluginSQLite {
		cfg.DBFilename = store.DatabaseName
		if store.ConnectAttributes["mode"] == "memory" {
			cfg.DBFilename = MemoryDB
		}
	} else {
		cfg.Store.SQL = serverOptions(store)
	}
	httpPort := 0
	if fe, ok := st.Services[RoleFrontend]; ok {
		rpc := fe.RPC
		if rpc.GRPCPort != 0 {
			cfg.Port = rpc.GRPCPort
		}
		switch {
		case rpc.BindOnIP != "":
			cfg.IP = rpc.BindOnIP
		case rpc.BindOnLocalHost:
			cfg.IP = "127.0.0.1"
		}
		if rpc.HTTPPort < 0 || rpc.HTTPPort > 65535 {
			return Config{}, fmt.Errorf("services.frontend.rpc.httpPort %d: want 1-65535 (7243 is usual), or 0 for no HTTP API", rpc.HTTPPort)
		}
		httpPort = rpc.HTTPPort
	}
	// As on the reference server, no httpPort means no HTTP API: two
	// processes on one host must not both claim 7243 by default.
	if httpPort > 0 {
		cfg.HTTPAddress = net.JoinHostPort(cfg.IP, strconv.Itoa(httpPort))
	}
	for role := range st.Services {
		if !slices.Contains(AllRoles, role) {
			return Config{}, fmt.Errorf("services.%s: unknown service; want frontend, history, matching or worker", role)
		}
	}
	if cfg.Cluster, err = clusterFromStatic(st, cfg.IP); err != nil {
		return Config{}, err
	}
	cfg.FrontendTLS = st.Global.TLS.Frontend
	cfg.InternodeTLS = st.Global.TLS.Internode
	cfg.TLSRefreshInterval = time.Duration(st.Global.TLS.RefreshInterval)
	if a := st.Global.Authorization; a != nil {
		cfg.AllowNoAuth = a.AllowNoAuth
	}
	if a := st.Global.Authorization; a.Enabled() {
		cfg.Auth = AuthConfig{KeySourceURIs: a.KeySources(), RefreshInterval: time.Duration(a.JWTKeyProvider.RefreshInterval),
			PermissionsClaimName: a.PermissionsClaimName, PermissionsRegex: a.PermissionsRegex, Audience: a.Audience,
			HeaderName: a.AuthHeaderName, Enforce: true}
		for i, rb := range a.RoleBindings {
			b, err := auth.ParseBinding(rb.Principal, rb.Namespace, rb.Role)
			if err != nil {
				return Config{}, fmt.Errorf("global.authorization.roleBindings[%d]: %w", i, err)
			}
			cfg.Auth.RoleBindings = append(cfg.Auth.RoleBindings, b)
		}
	}
	if a := st.Audit; a != nil {
		if a.Retention < 0 {
			return Config{}, fmt.Errorf("audit.retention %v: want a positive duration, or 0 to keep entries forever", time.Duration(a.Retention))
		}
		if !a.Enabled && (a.Reads || a.Retention != 0) {
			return Config{}, fmt.Errorf("audit.reads and audit.retention need audit.enabled: true")
		}
		cfg.Audit = AuditConfig{Enabled: a.Enabled, Reads: a.Reads, Retention: time.Duration(a.Retention)}
	}
	if err := observabilityFromStatic(st.Global, &cfg); err != nil {
		return Config{}, err
	}
	if cfg.UI, err = uiFromStatic(st.UI, cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// clusterFromStatic reads the internal RPC address of history and
// matching: services.<role>.rpc.grpcPort on its bindOnIP (or
// 127.0.0.1 with bindOnLocalHost, else the frontend's IP). Other hosts
// must reach the address, so a wildcard IP needs
// global.membership.broadcastAddress, which, when set, names the host in
// every address. A role whose wildcard IP is only inherited from the
// frontend is left out of the cluster with a warning.
func clusterFromStatic(st *config.Static, frontendIP string) (ClusterConfig, error) {
	var c ClusterConfig
	broadcast := st.Global.Membership.BroadcastAddress
	if broadcast != "" && net.ParseIP(broadcast) == nil {
		return c, fmt.Errorf("global.membership.broadcastAddress %q: want an IP address", broadcast)
	}
	for _, role := range []string{RoleHistory, RoleMatching} {
		svc, ok := st.Services[role]
		if !ok || svc.RPC.GRPCPort == 0 {
			continue
		}
		rpc := svc.RPC
		if rpc.GRPCPort < 0 || rpc.GRPCPort > 65535 {
			return c, fmt.Errorf("services.%s.rpc.grpcPort %d: want 1-65535", role, rpc.GRPCPort)
		}
		host, inherited := rpc.BindOnIP, false
		switch {
		case host == "" && rpc.BindOnLocalHost:
			host = "127.0.0.1"
		case host == "":
			host, inherited = frontendIP, true
		case net.ParseIP(host) == nil:
			return c, fmt.Errorf("services.%s.rpc.bindOnIP %q: want an IP address", role, host)
		}
		listen := net.JoinHostPort(host, strconv.Itoa(rpc.GRPCPort))
		switch ip := net.ParseIP(host); {
		case broadcast != "":
			host = broadcast
		case ip.IsUnspecified() && inherited:
			c.Warnings = append(c.Warnings, fmt.Sprintf("services.%s.rpc.grpcPort: the role listens on every address "+
				"(the frontend's bindOnIP %s) and global.membership.broadcastAddress is not set, so other hosts "+
				"cannot be told where to reach it: this process does not join the cluster's membership for %s", role, host, role))
			continue
		case ip.IsUnspecified():
			return c, fmt.Errorf("services.%s.rpc.bindOnIP %s listens on every address: set "+
				"global.membership.broadcastAddress to the address other hosts reach this one on", role, host)
		}
		if c.RPCAddresses == nil {
			c.RPCAddresses = map[string]string{}
		}
		c.RPCAddresses[role] = net.JoinHostPort(host, strconv.Itoa(rpc.GRPCPort))
		if c.Listen == nil {
			c.Listen = map[string]string{}
		}
		c.Listen[role] = listen
	}
	return c, nil
}

// sqlDataStore returns the sql block of datastore name.
func sqlDataStore(p config.Persistence, name string) (*config.SQL, error) {
	ds, ok := p.DataStores[name]
	if !ok {
		return nil, fmt.Errorf("datastore %q is not defined under persistence.datastores", name)
	}
	if ds.SQL == nil {
		return nil, fmt.Errorf("datastore %q: only sql datastores are supported (sqlite, postgres12, postgres12_pgx, mysql8)", name)
	}
	switch ds.SQL.PluginName {
	case config.PluginSQLite, config.PluginPostgres, config.PluginPostgresPGX, config.PluginMySQL:
	default:
		return nil, fmt.Errorf("datastore %q: unknown sql pluginName %q: want sqlite, postgres12, postgres12_pgx or mysql8", name, ds.SQL.PluginName)
	}
	if ds.SQL.DatabaseName == "" {
		return nil, fmt.Errorf("datastore %q: sql.databaseName is required", name)
	}
	if ds.SQL.PluginName != config.PluginSQLite {
		if _, _, err := net.SplitHostPort(ds.SQL.ConnectAddr); err != nil {
			return nil, fmt.Errorf("datastore %q: sql.connectAddr %q: want host:port", name, ds.SQL.ConnectAddr)
		}
		if ds.SQL.ConnectProtocol != "" && ds.SQL.ConnectProtocol != "tcp" {
			return nil, fmt.Errorf("datastore %q: sql.connectProtocol %q: only tcp is supported", name, ds.SQL.ConnectProtocol)
		}
	}
	return ds.SQL, nil
}

func serverOptions(s *config.SQL) sqlstore.ServerOptions {
	o := sqlstore.ServerOptions{
		Addr: s.ConnectAddr, Database: s.DatabaseName, User: s.User, Password: s.Password,
		Attributes: s.ConnectAttributes, MaxConns: s.MaxConns, MaxIdleConns: s.MaxIdleConns,
		MaxConnLifetime: time.Duration(s.MaxConnLifetime),
	}
	if t := s.TLS; t != nil {
		o.TLS = &sqlstore.TLSOptions{Enabled: t.Enabled, CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
			ServerName: t.ServerName, EnableHostVerification: t.EnableHostVerification}
	}
	return o
}
