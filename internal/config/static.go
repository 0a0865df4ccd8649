package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Static is the server's start-up configuration, in the shape of
// Temporal's server config so existing files carry over. Every block is
// parsed; blocks later features need (tls, metrics, authorization,
// membership) are kept for them. Keys Sundial does not know are rejected
// by Load, naming the key and the file.
type Static struct {
	Global              Global               `yaml:"global"`
	Persistence         Persistence          `yaml:"persistence"`
	Log                 Log                  `yaml:"log"`
	ClusterMetadata     *ClusterMetadata     `yaml:"clusterMetadata"`
	DCRedirectionPolicy *DCRedirectionPolicy `yaml:"dcRedirectionPolicy"`
	Services            map[string]Service   `yaml:"services"`
	DynamicConfigClient *DynamicConfigClient `yaml:"dynamicConfigClient"`
	PublicClient        *PublicClient        `yaml:"publicClient"`
	Archival            yaml.Node            `yaml:"archival"`          // accepted, not used
	NamespaceDefaults   yaml.Node            `yaml:"namespaceDefaults"` // accepted, not used
	OTel                map[string]yaml.Node `yaml:"otel"`              // accepted, not used
	// Audit is a Sundial block: the audit log of mutating calls.
	Audit *Audit `yaml:"audit"`
	UI    *UI    `yaml:"ui"`
}

// Audit is Sundial's `audit` block.
type Audit struct {
	// Enabled records every mutating call in the database's audit log.
	Enabled bool `yaml:"enabled"`
	// Reads also records read-only calls.
	Reads bool `yaml:"reads"`
	// Retention purges entries older than this; 0 keeps them forever.
	Retention Duration `yaml:"retention"`
}

// UI is Sundial's own block (Temporal runs its UI as a separate server):
// when present, the server also serves the Temporal Web UI. bindOnIP
// defaults to the frontend's IP, port to the frontend's gRPC port + 1000.
type UI struct {
	BindOnIP            string `yaml:"bindOnIP"`
	Port                int    `yaml:"port"`
	PublicPath          string `yaml:"publicPath"`
	DisableWriteActions bool   `yaml:"disableWriteActions"`
}

// Global is Temporal's `global` block.
type Global struct {
	Membership    Membership     `yaml:"membership"`
	PProf         PProf          `yaml:"pprof"`
	TLS           RootTLS        `yaml:"tls"`
	Metrics       *Metrics       `yaml:"metrics"`
	Authorization *Authorization `yaml:"authorization"`
}

// Membership configures gossip (used once roles run on several hosts).
type Membership struct {
	MaxJoinDuration  Duration `yaml:"maxJoinDuration"`
	BroadcastAddress string   `yaml:"broadcastAddress"`
}

// PProf configures the profiling endpoint.
type PProf struct {
	Port int `yaml:"port"`
}

// RootTLS is `global.tls`.
type RootTLS struct {
	Internode        GroupTLS            `yaml:"internode"`
	Frontend         GroupTLS            `yaml:"frontend"`
	SystemWorker     WorkerTLS           `yaml:"systemWorker"`
	RemoteClusters   map[string]GroupTLS `yaml:"remoteClusters"`
	ExpirationChecks yaml.Node           `yaml:"expirationChecks"`
	RefreshInterval  Duration            `yaml:"refreshInterval"`
}

// GroupTLS is the server and client side of one TLS group.
type GroupTLS struct {
	Server        ServerTLS            `yaml:"server"`
	Client        ClientTLS            `yaml:"client"`
	HostOverrides map[string]ServerTLS `yaml:"hostOverrides"`
}

// ServerTLS is the serving side of a TLS group.
type ServerTLS struct {
	CertFile          string   `yaml:"certFile"`
	KeyFile           string   `yaml:"keyFile"`
	CertData          string   `yaml:"certData"`
	KeyData           string   `yaml:"keyData"`
	ClientCAFiles     []string `yaml:"clientCaFiles"`
	ClientCAData      []string `yaml:"clientCaData"`
	RequireClientAuth bool     `yaml:"requireClientAuth"`
}

// ClientTLS is the dialing side of a TLS group.
type ClientTLS struct {
	ServerName              string   `yaml:"serverName"`
	DisableHostVerification bool     `yaml:"disableHostVerification"`
	RootCAFiles             []string `yaml:"rootCaFiles"`
	RootCAData              []string `yaml:"rootCaData"`
	ForceTLS                bool     `yaml:"forceTLS"`
}

// WorkerTLS is how the system worker dials the frontend.
type WorkerTLS struct {
	CertFile string    `yaml:"certFile"`
	KeyFile  string    `yaml:"keyFile"`
	CertData string    `yaml:"certData"`
	KeyData  string    `yaml:"keyData"`
	Client   ClientTLS `yaml:"client"`
}

// Metrics is `global.metrics`.
type Metrics struct {
	Prometheus                 *Prometheus          `yaml:"prometheus"`
	Tags                       map[string]string    `yaml:"tags"`
	ExcludeTags                map[string][]string  `yaml:"excludeTags"`
	Prefix                     string               `yaml:"prefix"`
	PerUnitHistogramBoundaries map[string][]float64 `yaml:"perUnitHistogramBoundaries"`
	WithoutUnitSuffix          bool                 `yaml:"withoutUnitSuffix"`
	WithoutCounterSuffix       bool                 `yaml:"withoutCounterSuffix"`
}

// Prometheus is `global.metrics.prometheus`.
type Prometheus struct {
	Framework     string `yaml:"framework"`
	ListenAddress string `yaml:"listenAddress"`
	HandlerPath   string `yaml:"handlerPath"`
	TimerType     string `yaml:"timerType"`
}

// Authorization is `global.authorization`.
type Authorization struct {
	JWTKeyProvider       JWTKeyProvider `yaml:"jwtKeyProvider"`
	PermissionsClaimName string         `yaml:"permissionsClaimName"`
	PermissionsRegex     string         `yaml:"permissionsRegex"`
	Authorizer           string         `yaml:"authorizer"`
	ClaimMapper          string         `yaml:"claimMapper"`
	AuthHeaderName       string         `yaml:"authHeaderName"`
	AuthExtraHeaderName  string         `yaml:"authExtraHeaderName"`
	Audience             string         `yaml:"audience"`
	// AllowNoAuth (a Sundial key) lets the frontend listen on a
	// non-loopback address with no authorizer configured.
	AllowNoAuth bool `yaml:"allowNoAuth"`
	// RoleBindings (a Sundial key) grant roles beyond the token's
	// permissions, next to those managed with `sundial rbac`.
	RoleBindings []RoleBinding `yaml:"roleBindings"`
}

// RoleBinding is one entry of global.authorization.roleBindings.
type RoleBinding struct {
	Principal string `yaml:"principal"` // user:SUBJECT, group:NAME, cert-cn:CN, cert-dns:NAME or cert-uri:URI
	Namespace string `yaml:"namespace"` // temporal-system = cluster-wide
	Role      string `yaml:"role"`      // read, write, worker or admin
}

// JWTKeyProvider says where JWT signing keys come from.
type JWTKeyProvider struct {
	KeySourceURIs   []string `yaml:"keySourceURIs"`
	RefreshInterval Duration `yaml:"refreshInterval"`
}

// Persistence is Temporal's `persistence` block.
type Persistence struct {
	NumHistoryShards         int32                `yaml:"numHistoryShards"`
	DefaultStore             string               `yaml:"defaultStore"`
	VisibilityStore          string               `yaml:"visibilityStore"`
	SecondaryVisibilityStore string               `yaml:"secondaryVisibilityStore"`
	AdvancedVisibilityStore  string               `yaml:"advancedVisibilityStore"`
	DataStores               map[string]DataStore `yaml:"datastores"`
	// SkipSchemaMigration (a Sundial key) makes the server refuse a
	// database whose schema is not the latest instead of migrating it.
	SkipSchemaMigration bool `yaml:"skipSchemaMigration"`
}

// DataStore is one entry of `persistence.datastores`. Only sql is
// supported; the other kinds are recognized to reject them clearly.
type DataStore struct {
	SQL           *SQL      `yaml:"sql"`
	Cassandra     yaml.Node `yaml:"cassandra"`
	Elasticsearch yaml.Node `yaml:"elasticsearch"`
	CustomStore   yaml.Node `yaml:"customDataStore"`
	FaultInjecton yaml.Node `yaml:"faultInjection"`
}

// SQL is `datastores.<name>.sql`.
type SQL struct {
	PluginName         string            `yaml:"pluginName"`
	DatabaseName       string            `yaml:"databaseName"`
	ConnectAddr        string            `yaml:"connectAddr"`
	ConnectProtocol    string            `yaml:"connectProtocol"`
	User               string            `yaml:"user"`
	Password           string            `yaml:"password"`
	ConnectAttributes  map[string]string `yaml:"connectAttributes"`
	MaxConns           int               `yaml:"maxConns"`
	MaxIdleConns       int               `yaml:"maxIdleConns"`
	MaxConnLifetime    Duration          `yaml:"maxConnLifetime"`
	TaskScanPartitions int               `yaml:"taskScanPartitions"`
	TLS                *SQLTLS           `yaml:"tls"`
}

// SQLTLS is `datastores.<name>.sql.tls`.
type SQLTLS struct {
	Enabled                bool   `yaml:"enabled"`
	CAFile                 string `yaml:"caFile"`
	CertFile               string `yaml:"certFile"`
	KeyFile                string `yaml:"keyFile"`
	EnableHostVerification bool   `yaml:"enableHostVerification"`
	ServerName             string `yaml:"serverName"`
}

// Log is Temporal's `log` block.
type Log struct {
	Stdout     bool   `yaml:"stdout"`
	Level      string `yaml:"level"`
	OutputFile string `yaml:"outputFile"`
	Format     string `yaml:"format"`
	// Development is accepted for compatibility.
	Development bool `yaml:"development"`
}

// ClusterMetadata is Temporal's `clusterMetadata` block.
type ClusterMetadata struct {
	EnableGlobalNamespace    bool                   `yaml:"enableGlobalNamespace"`
	FailoverVersionIncrement int64                  `yaml:"failoverVersionIncrement"`
	MasterClusterName        string                 `yaml:"masterClusterName"`
	CurrentClusterName       string                 `yaml:"currentClusterName"`
	ClusterInformation       map[string]ClusterInfo `yaml:"clusterInformation"`
}

// ClusterInfo describes one cluster of clusterMetadata.
type ClusterInfo struct {
	Enabled                bool              `yaml:"enabled"`
	InitialFailoverVersion int64             `yaml:"initialFailoverVersion"`
	RPCName                string            `yaml:"rpcName"`
	RPCAddress             string            `yaml:"rpcAddress"`
	HTTPAddress            string            `yaml:"httpAddress"`
	ShardCount             int32             `yaml:"shardCount"`
	Tags                   map[string]string `yaml:"tags"`
}

// DCRedirectionPolicy is accepted for compatibility.
type DCRedirectionPolicy struct {
	Policy string `yaml:"policy"`
	ToDC   string `yaml:"toDC"`
}

// Service is one entry of `services`.
type Service struct {
	RPC RPC `yaml:"rpc"`
}

// RPC is `services.<role>.rpc`.
type RPC struct {
	GRPCPort        int    `yaml:"grpcPort"`
	MembershipPort  int    `yaml:"membershipPort"`
	BindOnLocalHost bool   `yaml:"bindOnLocalHost"`
	BindOnIP        string `yaml:"bindOnIP"`
	HTTPPort        int    `yaml:"httpPort"`
}

// DynamicConfigClient names the dynamic-config file.
type DynamicConfigClient struct {
	Filepath     string   `yaml:"filepath"`
	PollInterval Duration `yaml:"pollInterval"`
}

// PublicClient is how internal clients reach the frontend.
type PublicClient struct {
	HostPort string `yaml:"hostPort"`
}

// Duration is a time.Duration written as a Go duration string ("10s",
// "1h") or a number of seconds.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var secs float64
	if err := n.Decode(&secs); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	p, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 10s or 5m)", n.Line, n.Value)
	}
	*d = Duration(p)
	return nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}`)

// ExpandEnv replaces ${VAR} with the variable's value (empty when unset)
// and ${VAR:default} with the value, or default when VAR is unset or
// empty. lookup is os.LookupEnv in production.
func ExpandEnv(text []byte, lookup func(string) (string, bool)) []byte {
	return envRef.ReplaceAllFunc(text, func(ref []byte) []byte {
		m := envRef.FindSubmatch(ref)
		v, _ := lookup(string(m[1]))
		if v == "" && bytes.Contains(ref, []byte(":")) {
			return m[2]
		}
		return []byte(v)
	})
}

// LoadFile reads, expands and parses a config file (see Parse).
func LoadFile(path string) (*Static, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, text, os.LookupEnv)
}

// EnvFile is Temporal's layout: DIR/ENV.yaml, e.g. config/development.yaml.
func EnvFile(dir, env string) string {
	return filepath.Join(dir, env+".yaml")
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type config\.(\w+)`)

// Parse renders text when it is a Go template (see IsTemplate and
// renderTemplate), else expands its ${VAR} references, and decodes the
// result strictly: a key Sundial does not know is an error naming the
// key, its line, its block and the file. name is used in errors. Line
// numbers of a template are those of the rendered text.
func Parse(name string, text []byte, lookup func(string) (string, bool)) (*Static, error) {
	expanded := ExpandEnv(text, lookup)
	if IsTemplate(text) {
		var err error
		if expanded, err = renderTemplate(name, text, lookup); err != nil {
			return nil, err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	var st Static
	if err := dec.Decode(&st); err != nil && !errors.Is(err, io.EOF) {
		msg := err.Error()
		if m := unknownField.FindAllStringSubmatch(msg, -1); m != nil {
			var parts []string
			for _, x := range m {
				parts = append(parts, fmt.Sprintf("unknown key %q at line %s (in %s)", x[2], x[1], blockName(x[3])))
			}
			return nil, fmt.Errorf("config %s: %s", name, strings.Join(parts, "; "))
		}
		return nil, fmt.Errorf("config %s: %s", name, strings.TrimPrefix(msg, "yaml: "))
	}
	// Temporal's older plugin names (its docker template writes "postgres"
	// and "mysql") name the same databases.
	for _, ds := range st.Persistence.DataStores {
		if ds.SQL == nil {
			continue
		}
		if p := normalizePlugin(ds.SQL.PluginName); p != "" {
			ds.SQL.PluginName = p
		}
	}
	return &st, nil
}

// blockName names the YAML block a Go type decodes, for error messages.
func blockName(typeName string) string {
	names := map[string]string{
		"Static": "the top level", "Global": "global", "Persistence": "persistence",
		"DataStore": "persistence.datastores.<name>", "SQL": "persistence.datastores.<name>.sql",
		"SQLTLS": "persistence.datastores.<name>.sql.tls", "Service": "services.<role>",
		"RPC": "services.<role>.rpc", "Metrics": "global.metrics", "Prometheus": "global.metrics.prometheus",
		"Authorization": "global.authorization", "Membership": "global.membership", "RootTLS": "global.tls",
		"ClusterMetadata": "clusterMetadata", "ClusterInfo": "clusterMetadata.clusterInformation.<name>",
		"DynamicConfigClient": "dynamicConfigClient", "Log": "log", "Audit": "audit",
	}
	if n, ok := names[typeName]; ok {
		return n
	}
	return typeName
}
