package server

import (
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// DefaultGRPCPort is the frontend's port when the config names none.
const DefaultGRPCPort = 7233

// FromStatic turns a Temporal-shaped static config into a Config. It
// fills IP, Port, NumShards and Store; the caller adds Roles, Namespaces,
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
	}
	for role := range st.Services {
		if !slices.Contains(AllRoles, role) {
			return Config{}, fmt.Errorf("services.%s: unknown service; want frontend, history, matching or worker", role)
		}
	}
	if err := observabilityFromStatic(st.Global, &cfg); err != nil {
		return Config{}, err
	}
	if cfg.UI, err = uiFromStatic(st.UI, cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
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
