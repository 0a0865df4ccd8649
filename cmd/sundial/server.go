package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/rpc"
	"github.com/sundialhq/sundial/internal/server"
)

// configFlags locate the static config: --config FILE, or Temporal's
// layout --config-dir DIR --env ENV (DIR/ENV.yaml), or else the
// docker-style environment variables (DB=…). See config.Load for how a
// file and the variables together are resolved.
type configFlags struct {
	file string
	dir  string
	env  string
}

func (f *configFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "config", "c", "", "config file (YAML in the shape of Temporal's server config, or a Go template of one)")
	fl.StringVar(&f.dir, "config-dir", "config", "directory of ENV.yaml config files, used when --config is not given")
	fl.StringVarP(&f.env, "env", "e", "development", "config environment: reads CONFIG-DIR/ENV.yaml")
}

// serverConfig loads the static config cmd's flags locate (with its
// origin and the warnings to log once a logger exists) and turns it into
// a server.Config.
func (f *configFlags) serverConfig(cmd *cobra.Command) (server.Config, *config.Loaded, error) {
	explicit := cmd.Flags().Changed("config-dir") || cmd.Flags().Changed("env")
	ld, err := config.Load(config.Location{File: f.file, Dir: f.dir, Env: f.env, Explicit: explicit}, os.LookupEnv)
	if err != nil {
		return server.Config{}, nil, err
	}
	cfg, err := server.FromStatic(ld.Static)
	if err != nil {
		return server.Config{}, nil, fmt.Errorf("config %s: %w", ld.From, err)
	}
	return cfg, ld, nil
}

func serverCommand() *cobra.Command {
	var cf configFlags
	var services, logLevel string
	var skipMigration, allowNoAuth bool
	var adminPort int
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Start a server from a config file (PostgreSQL, MySQL or SQLite)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, ld, err := cf.serverConfig(cmd)
			if err != nil {
				return err
			}
			st := ld.Static
			if services != "" {
				cfg.Roles = strings.Split(services, ",")
			}
			if ring := os.Getenv(server.StaticRingEnv); ring != "" {
				if cfg.StaticRing, err = rpc.ParseStaticMembers(ring); err != nil {
					return fmt.Errorf("%s: %w", server.StaticRingEnv, err)
				}
			}
			cfg.Store.SkipSchemaMigration = cfg.Store.SkipSchemaMigration || skipMigration
			cfg.AllowNoAuth = cfg.AllowNoAuth || allowNoAuth
			if ns, ok := os.LookupEnv("DEFAULT_NAMESPACE"); ok && ns != "" {
				cfg.Namespaces = append(cfg.Namespaces, ns)
			}
			if logLevel == "" {
				logLevel = st.Log.Level
			}
			level, err := parseLevel(orDefault(logLevel, "info"))
			if err != nil {
				return err
			}
			if cfg.Logger, err = newLogger(os.Stderr, level, st.Log.Format); err != nil {
				return fmt.Errorf("log.format: %w", err)
			}
			cfg.Logger.Info("configuration loaded", "from", ld.From)
			for _, w := range ld.Warnings {
				cfg.Logger.Warn(w)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if cfg.DynamicConfig, err = dynamicConfig(ctx, st, cfg.Logger); err != nil {
				return err
			}
			if adminPort > 0 {
				cfg.AdminAddress = net.JoinHostPort("localhost", strconv.Itoa(adminPort))
			}
			return run(ctx, cfg)
		},
	}
	cf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&services, "services", "", "comma-separated roles to run: frontend,history,matching,worker (default all)")
	fl.StringVar(&logLevel, "log-level", "", "log level: debug, info, warn or error (default: the config's log.level, else info)")
	fl.BoolVar(&skipMigration, "skip-schema-migration", false,
		"refuse to start on a database whose schema is not the latest instead of migrating it (see `sundial schema`)")
	fl.IntVar(&adminPort, "admin-port", 0, "port of the admin endpoint on localhost, for `sundial admin` (default off)")
	registerAllowNoAuth(cmd, &allowNoAuth)
	return cmd
}

// dynamicConfig loads dynamicConfigClient.filepath, if set, and keeps
// re-reading it every pollInterval until ctx ends.
func dynamicConfig(ctx context.Context, st *config.Static, log *slog.Logger) (*config.Dynamic, error) {
	dc := st.DynamicConfigClient
	if dc == nil || dc.Filepath == "" {
		return config.NewDynamic(nil), nil
	}
	values, err := config.LoadDynamicFile(dc.Filepath)
	if err != nil {
		return nil, err
	}
	d := config.NewDynamic(values)
	go config.WatchDynamicFile(ctx, d, dc.Filepath, time.Duration(dc.PollInterval), log)
	return d, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func schemaCommand() *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print, create or migrate the database schema by hand (the server migrates on start unless told not to)",
	}
	sub := func(use, short string, fn func(ctx context.Context, s *server.Schema, out *os.File) error) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				cfg, ld, err := cf.serverConfig(c)
				if err != nil {
					return err
				}
				for _, w := range ld.Warnings {
					fmt.Fprintln(os.Stderr, "warning:", w)
				}
				s, err := server.OpenSchema(cfg)
				if err != nil {
					return err
				}
				defer s.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				return fn(ctx, s, os.Stdout)
			}}
		cf.register(c)
		return c
	}
	cmd.AddCommand(
		sub("print", "Print the schema (every version's statements) for the configured database kind",
			func(_ context.Context, s *server.Schema, out *os.File) error { return s.Print(out) }),
		sub("setup", "Create the schema in an empty database",
			func(ctx context.Context, s *server.Schema, out *os.File) error {
				v, err := s.Setup(ctx)
				if err == nil {
					fmt.Fprintf(out, "schema created at version %d\n", v)
				}
				return err
			}),
		sub("update", "Migrate the schema from any older version to the latest",
			func(ctx context.Context, s *server.Schema, out *os.File) error {
				from, to, err := s.Update(ctx)
				if err == nil {
					fmt.Fprintf(out, "schema version %d -> %d\n", from, to)
				}
				return err
			}),
		sub("version", "Print the database's schema version and this binary's",
			func(ctx context.Context, s *server.Schema, out *os.File) error {
				v, err := s.Version(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "database %d\nbinary %d\n", v, s.Latest())
				if v > s.Latest() {
					return errors.New("the database was migrated by a newer sundial")
				}
				return nil
			}),
	)
	return cmd
}
