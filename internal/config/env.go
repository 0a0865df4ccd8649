package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Plugin names of persistence.datastores.<name>.sql.pluginName.
const (
	PluginSQLite      = "sqlite"
	PluginPostgres    = "postgres12"
	PluginPostgresPGX = "postgres12_pgx"
	PluginMySQL       = "mysql8"
)

// Env variables of Temporal's docker images that FromEnv understands.
var EnvVars = []string{
	"DB", "DB_PORT", "POSTGRES_SEEDS", "POSTGRES_USER", "POSTGRES_PWD", "MYSQL_SEEDS", "MYSQL_USER", "MYSQL_PWD",
	"DBNAME", "VISIBILITY_DBNAME", "NUM_HISTORY_SHARDS", "DEFAULT_NAMESPACE", "SKIP_SCHEMA_SETUP",
	"SQL_PLUGIN", "SQL_HOST", "SQL_PORT", "SQL_USER", "SQL_PASSWORD",
	"BIND_ON_IP", "FRONTEND_GRPC_PORT", "DYNAMIC_CONFIG_FILE_PATH", "SQLITE_FILE",
}

// HasEnv reports whether the docker-style variable DB or SQL_PLUGIN is
// set, which selects the environment route when no config file is given.
func HasEnv(lookup func(string) (string, bool)) bool {
	db, _ := lookup("DB")
	plugin, _ := lookup("SQL_PLUGIN")
	return db != "" || plugin != ""
}

// FromEnv builds a Static config from Temporal's docker environment
// variables: DB (postgres12, postgres12_pgx, mysql8, sqlite; the older
// postgresql and mysql too) or SQL_PLUGIN; the host from SQL_HOST,
// POSTGRES_SEEDS or MYSQL_SEEDS (the first of a comma-separated list);
// the port from SQL_PORT or DB_PORT (default 5432 / 3306); the user and
// password from SQL_USER/SQL_PASSWORD or POSTGRES_USER/POSTGRES_PWD or
// MYSQL_USER/MYSQL_PWD; DBNAME (default temporal) and VISIBILITY_DBNAME
// (default temporal_visibility); NUM_HISTORY_SHARDS (default 4);
// SKIP_SCHEMA_SETUP=true refuses automatic migration; BIND_ON_IP and
// FRONTEND_GRPC_PORT place the frontend; SQLITE_FILE is the database file
// for DB=sqlite (default sundial.db). DEFAULT_NAMESPACE is read by the
// caller (server.FromStatic's namespaces). The TLS and authorization
// variables (TEMPORAL_TLS_*, TEMPORAL_AUTH_*, TEMPORAL_JWT_*, see
// envsec.go) are mapped to global.tls.frontend and global.authorization,
// or refused naming them.
func FromEnv(lookup func(string) (string, bool)) (*Static, error) {
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := lookup(n); ok && v != "" {
				return v
			}
		}
		return ""
	}
	if err := refuseSecurityEnv(lookup); err != nil {
		return nil, err
	}
	raw := get("SQL_PLUGIN", "DB")
	plugin := normalizePlugin(raw)
	if plugin == "" && raw != "" {
		return nil, fmt.Errorf("config: DB/SQL_PLUGIN %q is not supported: want %s, %s, %s or %s", raw, PluginPostgres, PluginPostgresPGX, PluginMySQL, PluginSQLite)
	}
	if plugin == "" {
		return nil, fmt.Errorf("config: set DB (or SQL_PLUGIN) to %s, %s, %s or %s", PluginPostgres, PluginPostgresPGX, PluginMySQL, PluginSQLite)
	}
	shards := int64(4)
	if v := get("NUM_HISTORY_SHARDS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("config: NUM_HISTORY_SHARDS=%q: want a positive integer", v)
		}
		shards = n
	}
	main, vis, err := envDataStores(plugin, get)
	if err != nil {
		return nil, err
	}
	st := &Static{
		Persistence: Persistence{
			NumHistoryShards: int32(shards), DefaultStore: "default", VisibilityStore: "visibility",
			DataStores:          map[string]DataStore{"default": {SQL: main}, "visibility": {SQL: vis}},
			SkipSchemaMigration: strings.EqualFold(get("SKIP_SCHEMA_SETUP"), "true"),
		},
	}
	rpc := RPC{GRPCPort: 7233, BindOnIP: get("BIND_ON_IP")}
	if v := get("FRONTEND_GRPC_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("config: FRONTEND_GRPC_PORT=%q: want a port number", v)
		}
		rpc.GRPCPort = p
	}
	st.Services = map[string]Service{"frontend": {RPC: rpc}}
	if f := get("DYNAMIC_CONFIG_FILE_PATH"); f != "" {
		st.DynamicConfigClient = &DynamicConfigClient{Filepath: f}
	}
	if err := envSecurity(st, get); err != nil {
		return nil, err
	}
	return st, nil
}

// envDataStores returns the default and visibility sql blocks.
func envDataStores(plugin string, get func(...string) string) (main, vis *SQL, err error) {
	if plugin == PluginSQLite {
		file := get("SQLITE_FILE")
		if file == "" {
			file = "sundial.db"
		}
		s := &SQL{PluginName: plugin, DatabaseName: file}
		return s, s, nil
	}
	hostVars, portDefault := []string{"SQL_HOST", "POSTGRES_SEEDS"}, "5432"
	userVars, pwVars := []string{"SQL_USER", "POSTGRES_USER"}, []string{"SQL_PASSWORD", "POSTGRES_PWD"}
	if plugin == PluginMySQL {
		hostVars, portDefault = []string{"SQL_HOST", "MYSQL_SEEDS"}, "3306"
		userVars, pwVars = []string{"SQL_USER", "MYSQL_USER"}, []string{"SQL_PASSWORD", "MYSQL_PWD"}
	}
	host, _, _ := strings.Cut(get(hostVars...), ",")
	host = strings.TrimSpace(host)
	if host == "" {
		return nil, nil, fmt.Errorf("config: DB=%s needs %s", plugin, strings.Join(hostVars, " or "))
	}
	port := get("SQL_PORT", "DB_PORT")
	if port == "" {
		port = portDefault
	}
	dbname, visname := get("DBNAME"), get("VISIBILITY_DBNAME")
	if dbname == "" {
		dbname = "temporal"
	}
	if visname == "" {
		visname = "temporal_visibility"
	}
	base := SQL{PluginName: plugin, ConnectAddr: net.JoinHostPort(host, port), ConnectProtocol: "tcp",
		User: get(userVars...), Password: get(pwVars...), DatabaseName: dbname}
	v := base
	v.DatabaseName = visname
	return &base, &v, nil
}

// normalizePlugin maps the names Temporal's images accept to plugin names
// ("" when unknown or empty).
func normalizePlugin(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "postgres12", "postgresql", "postgres":
		return PluginPostgres
	case "postgres12_pgx":
		return PluginPostgresPGX
	case "mysql8", "mysql":
		return PluginMySQL
	case "sqlite":
		return PluginSQLite
	}
	return ""
}
