package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
)

// Version is Sundial's version, reported by GetSystemInfo and
// `sundial --version`. Release builds set it with
// -ldflags "-X github.com/sundialhq/sundial/internal/server.Version=v1.2.3".
var Version = "0.1.0-dev"

// TemporalVersion is the Temporal server release whose public API Sundial
// is judged against. GetSystemInfo and GetClusterInfo report it as
// server_version because clients gate features on that field: the Web UI
// compares it with the release that introduced each feature (advanced
// visibility from 1.19, counts and prefix search from 1.23, reset
// exclusions from 1.24, ...), so Sundial's own version would read as a
// server older than every Temporal release and switch them all off.
// Features Sundial lacks are hidden by capabilities instead (see
// docs/UI.md).
const TemporalVersion = "1.31.0"

// Defaults applied by Config.withDefaults.
const (
	DefaultIP        = "127.0.0.1"
	DefaultNumShards = 4
	// DefaultNamespace is always registered.
	DefaultNamespace = "default"
	// MemoryDB is the DBFilename of a private in-memory database.
	MemoryDB = ":memory:"
	// maxNumShards bounds the shard count (each shard costs a goroutine set
	// and a row lock).
	maxNumShards = 16384
)

// Config configures a single-process Sundial server (all roles). The zero
// value is a valid in-memory server on 127.0.0.1 with a free port.
type Config struct {
	// IP to bind the frontend's gRPC listener to. Default 127.0.0.1.
	IP string
	// Port of the frontend's gRPC listener; 0 picks a free port (see
	// Server.FrontendAddr).
	Port int
	// DBFilename is the SQLite file (created if missing) or ":memory:".
	// Default ":memory:".
	DBFilename string
	// NumShards is the number of history shards. It is fixed when the
	// database is created; starting with another count is refused.
	// Default 4.
	NumShards int32
	// Namespaces to register at start-up (idempotent); "default" is always
	// included.
	Namespaces []string
	// DynamicConfig holds runtime-tunable values; nil means all defaults.
	DynamicConfig *config.Dynamic
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Clock; nil means the wall clock.
	Clock clock.Clock

	// Store selects the database. The zero value is SQLite at DBFilename.
	Store StoreConfig
	// Roles are the roles this process runs (frontend, history, matching,
	// worker); empty means all. A process that is the whole cluster (no
	// Cluster addresses) must run frontend, history and matching together.
	Roles []string
	// InternodeTLS is Temporal's global.tls.internode: when its server side
	// is set, the internal gRPC between processes is TLS both ways (each
	// process presents the group's certificate as server and as client).
	// A process that is the whole cluster has no internode traffic and
	// warns that it is unused.
	InternodeTLS config.GroupTLS
	// MetricsAddress, when set, serves Prometheus metrics over HTTP on
	// host:port (port 0 picks a free one, see Server.MetricsAddr) at
	// MetricsPath (default "/metrics"). Metrics are collected either way.
	MetricsAddress string
	MetricsPath    string
	// PProfAddress, when set, serves net/http/pprof on host:port.
	PProfAddress string
	// AdminAddress, when set, serves the admin endpoint (`sundial admin`,
	// see admin.go) on host:port; bind it to a loopback address. Each
	// request needs the token made at start (Server.AdminToken), which is
	// written to AdminTokenFile (mode 0600) when that is set.
	AdminAddress   string
	AdminTokenFile string
	// HTTPAddress, when set, serves Temporal's HTTP/JSON API on host:port
	// (port 0 picks a free one, see Server.HTTPAddr).
	HTTPAddress string
	// FrontendTLS is Temporal's global.tls.frontend. When its server side
	// is set, the frontend's public listeners (gRPC, the HTTP API) speak
	// TLS only; a setting that cannot be honoured fails Start naming its
	// key. The zero value serves plaintext.
	FrontendTLS config.GroupTLS
	// TLSRefreshInterval re-reads the certificate files this often
	// (global.tls.refreshInterval); 0 reads them once, at Start.
	TLSRefreshInterval time.Duration
	// AllowNoAuth lets the frontend listen on a non-loopback address with
	// no authorization configured (--allow-no-auth, or
	// global.authorization.allowNoAuth). See checkExposure.
	AllowNoAuth bool
	// Auth configures authorization (global.authorization); the zero
	// value is off: every call is allowed.
	Auth AuthConfig
	// Audit configures the audit log; the zero value is off.
	Audit AuditConfig
	// WrapStore, when set, wraps the opened store before any role uses it
	// (e.g. to inject faults in tests, or to add metrics). The wrapper
	// must keep the persistence contract; Close of the wrapper must close
	// the store it was given.
	WrapStore func(persistence.Store) persistence.Store
	// UI, when set, serves the Temporal Web UI (see UIConfig).
	UI *UIConfig
	// Cluster places this process in a cluster of several; the zero value
	// is a cluster of one.
	Cluster ClusterConfig
}

// ClusterConfig is the process's place in a multi-process cluster.
type ClusterConfig struct {
	// RPCAddresses maps history and matching to the host:port other
	// processes reach that role of this process on
	// (services.<role>.rpc.grpcPort, with bindOnIP or
	// global.membership.broadcastAddress). When either has an address, the
	// process (whatever roles it runs) joins the database's membership
	// table, reaches the other roles over internal gRPC and serves only the
	// shards and partitions the ring gives it; otherwise it is a cluster of
	// one.
	RPCAddresses map[string]string
	// Listen maps history and matching to the host:port this process's
	// internal gRPC listens on for that role (bindOnIP, which may be a
	// wildcard when RPCAddresses carries the broadcast address).
	Listen map[string]string
	// Host names this machine in the membership table (default: the
	// hostname).
	Host string
	// Warnings are logged at start (settings that keep a role out of the
	// cluster).
	Warnings []string
}

// Enabled reports whether processes reading this config form a cluster
// through the membership table: history or matching has an internal
// address.
func (c ClusterConfig) Enabled() bool {
	return c.RPCAddresses[RoleHistory] != "" || c.RPCAddresses[RoleMatching] != ""
}

// AuthConfig turns on JWT authorization with the reference's default
// authorizer when KeySourceURIs is set.
type AuthConfig struct {
	// KeySourceURIs are JWKS documents holding the token signing keys.
	KeySourceURIs []string
	// RefreshInterval between key fetches; default one minute.
	RefreshInterval time.Duration
	// PermissionsClaimName (default "permissions"), PermissionsRegex and
	// Audience are as Temporal's global.authorization.
	PermissionsClaimName string
	PermissionsRegex     string
	Audience             string
	// HeaderName carries the bearer token; default "authorization".
	HeaderName string
	// RoleBindings are fixed bindings from the config, in force beside
	// those stored in the database (`sundial rbac`).
	RoleBindings []auth.Binding
	// Enforce authorizes calls even with no KeySourceURIs: callers are
	// then identified only by their verified client certificates (their
	// cert-cn:/cert-dns:/cert-uri: role bindings), which needs
	// FrontendTLS's requireClientAuth; bearer tokens are refused.
	Enforce bool
	// RoleBindingPoll is how often stored bindings are read again (to see
	// changes made through other processes); default 10 s.
	RoleBindingPoll time.Duration
}

// Enabled reports whether calls are authorized.
func (a AuthConfig) Enabled() bool { return len(a.KeySourceURIs) > 0 || a.Enforce }

// AuditConfig is the `audit` block.
type AuditConfig struct {
	// Enabled records mutating calls (and admin commands) in the database.
	Enabled bool
	// Reads also records read-only calls.
	Reads bool
	// Retention purges older entries; 0 keeps them forever.
	Retention time.Duration
}

// StoreConfig selects and reaches the database.
type StoreConfig struct {
	// Plugin is config.PluginSQLite (default), PluginPostgres,
	// PluginPostgresPGX or PluginMySQL.
	Plugin string
	// SQL reaches PostgreSQL or MySQL (ignored for SQLite, which uses
	// Config.DBFilename).
	SQL sqlstore.ServerOptions
	// SkipSchemaMigration refuses a database whose schema is not the
	// latest instead of migrating it (any plugin).
	SkipSchemaMigration bool
}

// Role names.
const (
	RoleFrontend = "frontend"
	RoleHistory  = "history"
	RoleMatching = "matching"
	RoleWorker   = "worker"
)

// AllRoles is every role, the default of Config.Roles.
var AllRoles = []string{RoleFrontend, RoleHistory, RoleMatching, RoleWorker}

// withDefaults returns c with unset fields filled and "default" added to
// (a deduplicated copy of) Namespaces.
func (c Config) withDefaults() Config {
	if c.IP == "" {
		c.IP = DefaultIP
	}
	if c.DBFilename == "" {
		c.DBFilename = MemoryDB
	}
	if c.NumShards == 0 {
		c.NumShards = DefaultNumShards
	}
	if c.DynamicConfig == nil {
		c.DynamicConfig = config.NewDynamic(nil)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Store.Plugin == "" {
		c.Store.Plugin = config.PluginSQLite
	}
	if len(c.Roles) == 0 {
		c.Roles = AllRoles
	}
	if c.MetricsPath == "" {
		c.MetricsPath = DefaultMetricsPath
	}
	seen := map[string]bool{DefaultNamespace: true}
	names := []string{DefaultNamespace}
	for _, n := range c.Namespaces {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	c.Namespaces = names
	return c
}

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	if net.ParseIP(c.IP) == nil {
		return fmt.Errorf("invalid IP address %q", c.IP)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("invalid port %d: want 0-65535", c.Port)
	}
	if c.NumShards < 1 || c.NumShards > maxNumShards {
		return fmt.Errorf("invalid number of history shards %d: want 1-%d", c.NumShards, maxNumShards)
	}
	for _, n := range c.Namespaces {
		if n == "" {
			return errors.New("invalid namespace name: empty")
		}
	}
	if err := validateRoles(c.Roles, c.clustered()); err != nil {
		return err
	}
	if err := c.checkCluster(); err != nil {
		return err
	}
	if c.TLSRefreshInterval < 0 {
		return fmt.Errorf("global.tls.refreshInterval %s: want a positive duration, or 0 to read certificates once", c.TLSRefreshInterval)
	}
	if c.Auth.Enforce && len(c.Auth.KeySourceURIs) == 0 && !c.FrontendTLS.Server.RequireClientAuth {
		return errors.New("authorization with no JWT keys identifies callers by client certificate only: " +
			"set global.tls.frontend.server.requireClientAuth: true, or global.authorization.jwtKeyProvider.keySourceURIs")
	}
	if err := checkExposure(c); err != nil {
		return err
	}
	if c.UI != nil {
		if err := c.UI.validate(); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(c.MetricsPath, "/") {
		return fmt.Errorf("invalid metrics handler path %q: want an absolute path like /metrics", c.MetricsPath)
	}
	switch c.Store.Plugin {
	case config.PluginSQLite:
	case config.PluginPostgres, config.PluginPostgresPGX, config.PluginMySQL:
		if c.Store.SQL.Addr == "" || c.Store.SQL.Database == "" {
			return fmt.Errorf("store %s: connectAddr and databaseName are required", c.Store.Plugin)
		}
	default:
		return fmt.Errorf("unknown sql pluginName %q: want %s, %s, %s or %s", c.Store.Plugin,
			config.PluginSQLite, config.PluginPostgres, config.PluginPostgresPGX, config.PluginMySQL)
	}
	return nil
}

// validateRoles accepts known role names; any set when the cluster's
// members are known (clustered), else only sets that run frontend, history
// and matching together.
func validateRoles(roles []string, clustered bool) error {
	have := map[string]bool{}
	for _, r := range roles {
		if !slices.Contains(AllRoles, r) {
			return fmt.Errorf("unknown service %q: want some of %s", r, strings.Join(AllRoles, ", "))
		}
		have[r] = true
	}
	if !clustered && (!have[RoleFrontend] || !have[RoleHistory] || !have[RoleMatching]) {
		return fmt.Errorf("services %s: frontend, history and matching must run in the same process"+
			" unless history or matching has an internal address (services.<role>.rpc.grpcPort)", strings.Join(roles, ","))
	}
	return nil
}
