// Command sundial runs the Sundial durable-execution server. Its flags
// follow `temporal server start-dev` so that existing habits carry over.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "sundial",
		Short:         "Sundial: a durable-execution server that speaks Temporal's API",
		Version:       server.Version,
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(startDevCommand(), serverCommand(), schemaCommand(), adminCommand(), rbacCommand(), auditCommand())
	return root
}

// devFlags are the flags of `sundial start-dev`.
type devFlags struct {
	ip             string
	port           int
	httpPort       int
	dbFilename     string
	namespaces     []string
	logLevel       string
	dynamicValues  []string
	numShards      int32
	logFormat      string
	metricsPort    int
	pprofPort      int
	adminPort      int
	adminTokenFile string
	tlsCert        string
	tlsKey         string
	tlsClientCAs   []string
	allowNoAuth    bool
	uiIP           string
	uiPort         int
	uiPublicPath   string
	headless       bool
}

func startDevCommand() *cobra.Command {
	var f devFlags
	cmd := &cobra.Command{
		Use:   "start-dev",
		Short: "Start a single-process server (all roles) on an embedded SQLite database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			return run(cmd.Context(), cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ip, "ip", server.DefaultIP, "IP address to bind the frontend gRPC server to")
	fl.IntVarP(&f.port, "port", "p", 7233, "port of the frontend gRPC server")
	fl.IntVar(&f.httpPort, "http-port", 0, "port of the HTTP/JSON API on --ip (default off; 7243 is usual)")
	fl.StringVarP(&f.dbFilename, "db-filename", "f", "",
		`SQLite database file (created if missing), or ":memory:" (default: sundial.db under the user's data directory)`)
	fl.StringArrayVarP(&f.namespaces, "namespace", "n", nil, `namespace to create at start (repeatable); "default" is always created`)
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.StringArrayVar(&f.dynamicValues, "dynamic-config-value", nil, "dynamic config value as KEY=JSON (repeatable)")
	fl.Int32Var(&f.numShards, "num-shards", server.DefaultNumShards, "number of history shards (fixed when the database is created)")
	_ = fl.MarkHidden("num-shards")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.IntVar(&f.metricsPort, "metrics-port", 0, "port serving Prometheus metrics at /metrics on --ip (default off)")
	fl.IntVar(&f.pprofPort, "pprof-port", 0, "port serving net/http/pprof on localhost (default off)")
	_ = fl.MarkHidden("pprof-port")
	fl.IntVar(&f.adminPort, "admin-port", 0, "port of the admin endpoint on localhost, for `sundial admin` (default off)")
	fl.StringVar(&f.adminTokenFile, "admin-token-file", "", adminTokenFileUsage)
	fl.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate file: serve gRPC and the HTTP API over TLS only (with --tls-key)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	fl.StringArrayVar(&f.tlsClientCAs, "tls-client-ca", nil,
		"PEM CA file (repeatable): require client certificates issued by it (mutual TLS; needs --tls-cert)")
	fl.StringVar(&f.uiIP, "ui-ip", "", "IP address to bind the Web UI to (default: --ip)")
	fl.IntVar(&f.uiPort, "ui-port", 0, "port of the Web UI (default: --port + 1000)")
	fl.StringVar(&f.uiPublicPath, "ui-public-path", "", "serve the Web UI under this path prefix, e.g. /ui")
	fl.BoolVar(&f.headless, "headless", false, "do not serve the Web UI")
	registerAllowNoAuth(cmd, &f.allowNoAuth)
	return cmd
}

// registerAllowNoAuth adds --allow-no-auth to a command that serves.
func registerAllowNoAuth(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "allow-no-auth", false,
		"serve the API on a non-loopback address with no authorization configured (anyone who can connect has full access)")
}

// tls turns --tls-cert, --tls-key and --tls-client-ca into
// global.tls.frontend, checking first that the files exist so that a
// mistake names the flag.
func (f *devFlags) tls() (config.GroupTLS, error) {
	var g config.GroupTLS
	if f.tlsCert == "" && f.tlsKey == "" && len(f.tlsClientCAs) == 0 {
		return g, nil
	}
	if f.tlsCert == "" || f.tlsKey == "" {
		return g, errors.New("--tls-cert and --tls-key go together")
	}
	for _, fv := range []struct{ flag, path string }{{"--tls-cert", f.tlsCert}, {"--tls-key", f.tlsKey}} {
		if _, err := os.Stat(fv.path); err != nil {
			return g, fmt.Errorf("%s: %w", fv.flag, err)
		}
	}
	for _, ca := range f.tlsClientCAs {
		if _, err := os.Stat(ca); err != nil {
			return g, fmt.Errorf("--tls-client-ca: %w", err)
		}
	}
	g.Server = config.ServerTLS{CertFile: f.tlsCert, KeyFile: f.tlsKey, ClientCAFiles: f.tlsClientCAs,
		RequireClientAuth: len(f.tlsClientCAs) > 0}
	return g, nil
}

// ui is the Web UI's config from the flags (nil with --headless).
func (f *devFlags) ui() *server.UIConfig {
	if f.headless {
		return nil
	}
	ip, port := f.uiIP, f.uiPort
	if ip == "" {
		ip = f.ip
	}
	if port == 0 {
		port = server.DefaultUIPort(f.port)
	}
	return &server.UIConfig{Address: net.JoinHostPort(ip, strconv.Itoa(port)), PublicPath: f.uiPublicPath}
}

// config turns the flags into a server.Config.
func (f *devFlags) config() (server.Config, error) {
	level, err := parseLevel(f.logLevel)
	if err != nil {
		return server.Config{}, err
	}
	dynamic := config.NewDynamic(nil)
	for _, kv := range f.dynamicValues {
		if err := dynamic.SetJSON(kv); err != nil {
			return server.Config{}, fmt.Errorf("--dynamic-config-value: %w", err)
		}
	}
	db := f.dbFilename
	if db == "" {
		if db, err = defaultDBPath(); err != nil {
			return server.Config{}, err
		}
	}
	logger, err := newLogger(os.Stderr, level, f.logFormat)
	if err != nil {
		return server.Config{}, fmt.Errorf("--log-format: %w", err)
	}
	cfg := server.Config{
		IP:            f.ip,
		Port:          f.port,
		DBFilename:    db,
		NumShards:     f.numShards,
		Namespaces:    f.namespaces,
		DynamicConfig: dynamic,
		Logger:        logger,
		AllowNoAuth:   f.allowNoAuth,
		UI:            f.ui(),
	}
	if cfg.FrontendTLS, err = f.tls(); err != nil {
		return server.Config{}, err
	}
	if f.httpPort < 0 || f.httpPort > 65535 {
		return server.Config{}, fmt.Errorf("--http-port %d: want 1-65535, or 0 for no HTTP API", f.httpPort)
	}
	if f.httpPort > 0 {
		cfg.HTTPAddress = net.JoinHostPort(f.ip, strconv.Itoa(f.httpPort))
	}
	if f.metricsPort > 0 {
		cfg.MetricsAddress = net.JoinHostPort(f.ip, strconv.Itoa(f.metricsPort))
	}
	if f.pprofPort > 0 {
		cfg.PProfAddress = net.JoinHostPort("localhost", strconv.Itoa(f.pprofPort))
	}
	if f.adminPort > 0 {
		cfg.AdminAddress = net.JoinHostPort("localhost", strconv.Itoa(f.adminPort))
		if cfg.AdminTokenFile, err = adminTokenFile(f.adminTokenFile, f.adminPort); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.Validate()
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}

// defaultDBPath is $XDG_DATA_HOME/sundial/sundial.db, falling back to
// ~/.local/share/sundial/sundial.db: durable by default, like start-dev
// with --db-filename.
func defaultDBPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("cannot find a data directory ($XDG_DATA_HOME and $HOME unset): pass --db-filename")
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "sundial", "sundial.db"), nil
}

// run starts the server, prints where it listens and which database it
// uses, and stops it on SIGINT or SIGTERM.
func run(ctx context.Context, cfg server.Config) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	tlsNote := ""
	if srv.TLS() {
		tlsNote = " (TLS)"
	}
	fmt.Printf("Sundial %s (reports Temporal server version %s)\nTemporal gRPC API: %s%s\nDatabase: %s\n",
		server.Version, server.TemporalVersion, srv.FrontendAddr(), tlsNote, srv.Database())
	if a := srv.HTTPAddr(); a != "" {
		scheme := "http"
		if srv.TLS() {
			scheme = "https"
		}
		fmt.Printf("Temporal HTTP API: %s://%s\n", scheme, a)
	}
	if u := srv.UIURL(); u != "" {
		fmt.Printf("Web UI: %s\n", u)
	}
	if u := srv.MetricsURL(); u != "" {
		fmt.Printf("Metrics: %s\n", u)
	}
	return srv.Wait(ctx)
}
