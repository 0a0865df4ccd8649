package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	// readyTimeout bounds the spawned server's start-up.
	readyTimeout = 90 * time.Second
	// stopTimeout is how long the server gets to stop after SIGTERM.
	stopTimeout = 20 * time.Second
)

// spawned is a server process started by the tool.
type spawned struct {
	cmd        *exec.Cmd
	dir        string
	bin        string
	backend    string
	addr       string
	metricsURL string // "" when the binary has no metrics port
	pprofBase  string // "" unless a CPU profile or a GC was asked for
	logFile    string
	exited     chan struct{}
	waitErr    error
	keep       bool
	dropDB     func() error
}

// spawnServer starts `sundial start-dev` on a temporary SQLite file, or
// with o.postgres `sundial server` on a fresh database, on free loopback
// ports, and returns once it answers.
func spawnServer(ctx context.Context, o *options, log *slog.Logger) (*spawned, error) {
	dir, err := os.MkdirTemp("", "sundial-bench-")
	if err != nil {
		return nil, err
	}
	s := &spawned{dir: dir, keep: o.keep, exited: make(chan struct{}), logFile: filepath.Join(dir, "server.log")}
	ok := false
	defer func() {
		if !ok {
			s.stop(log)
		}
	}()
	if s.bin, err = serverBinary(ctx, o, dir, log); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var args []string
	if o.postgres != "" {
		s.backend = "postgres"
		args, err = s.postgresArgs(ctx, o, port, log)
	} else {
		s.backend = "sqlite"
		args, err = s.startDevArgs(o, port)
	}
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(s.logFile)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = childAttr()
	log.Info("starting server", "cmd", s.cmd.String())
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.bin, err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func (s *spawned) pid() int { return s.cmd.Process.Pid }

// startDevArgs are start-dev's arguments; the metrics port is asked for
// only when the binary has the flag, the pprof port only when needed.
func (s *spawned) startDevArgs(o *options, port int) ([]string, error) {
	args := []string{"start-dev", "--db-filename", filepath.Join(s.dir, "bench.db"),
		"--port", strconv.Itoa(port), "--ip", "127.0.0.1", "--log-level", "warn"}
	if o.shards > 0 {
		args = append(args, "--num-shards", strconv.Itoa(o.shards))
	}
	for _, kv := range o.dynamicFlags {
		args = append(args, "--dynamic-config-value", kv)
	}
	if supportsFlag(s.bin, "start-dev", "--headless") {
		args = append(args, "--headless") // the Web UI would take port+1000
	}
	if supportsFlag(s.bin, "start-dev", "--metrics-port=1") {
		mp, err := freePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--metrics-port", strconv.Itoa(mp))
		s.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", mp)
	}
	if supportsFlag(s.bin, "start-dev", "--pprof-port=1") {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof-port", strconv.Itoa(pp))
		s.pprofBase = fmt.Sprintf("http://localhost:%d", pp)
	} else if o.cpuProfile != "" || o.mutexProfile != "" || o.blockProfile != "" || o.traceFile != "" {
		return nil, fmt.Errorf("--cpuprofile, --mutexprofile, --blockprofile, --trace: %s start-dev has no --pprof-port flag", s.bin)
	}
	return args, nil
}

// postgresArgs creates a database for the run under o.postgres and writes
// a `sundial server` config for it.
func (s *spawned) postgresArgs(ctx context.Context, o *options, port int, log *slog.Logger) ([]string, error) {
	u, err := url.Parse(o.postgres)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("--postgres %q: want postgres://USER[:PASSWORD]@HOST:PORT/DB", o.postgres)
	}
	name := fmt.Sprintf("sundial_bench_%d_%d", time.Now().Unix(), os.Getpid())
	drop, err := createDatabase(ctx, o.postgres, name)
	if err != nil {
		return nil, err
	}
	s.dropDB = drop
	log.Info("created database", "name", name)
	host := u.Hostname()
	pgPort := u.Port()
	if pgPort == "" {
		pgPort = "5432"
	}
	pw, _ := u.User.Password()
	mp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	shards := o.shards
	if shards == 0 {
		shards = 4
	}
	cfg := map[string]any{
		"log": map[string]any{"stdout": true, "level": "warn"},
		"persistence": map[string]any{
			"numHistoryShards": shards,
			"defaultStore":     "pg",
			"visibilityStore":  "pg",
			"datastores": map[string]any{"pg": map[string]any{"sql": map[string]any{
				"pluginName": "postgres12", "databaseName": name,
				"connectAddr": net.JoinHostPort(host, pgPort), "connectProtocol": "tcp",
				"user": u.User.Username(), "password": pw, "maxConns": 20, "maxIdleConns": 20,
			}}},
		},
		"services": map[string]any{"frontend": map[string]any{"rpc": map[string]any{
			"grpcPort": port, "bindOnIP": "127.0.0.1"}}},
		"global": map[string]any{
			"metrics": map[string]any{"prometheus": map[string]any{"listenAddress": fmt.Sprintf("127.0.0.1:%d", mp)}},
			"pprof":   map[string]any{"port": pp},
		},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(s.dir, "config.yaml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, err
	}
	s.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", mp)
	s.pprofBase = fmt.Sprintf("http://localhost:%d", pp)
	return []string{"server", "--config", file}, nil
}

// waitReady waits until the frontend answers gRPC health and /metrics
// answers, or the process exits, or readyTimeout.
func (s *spawned) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		err := healthCheck(ctx, s.addr)
		if err == nil && s.metricsURL != "" {
			err = httpOK(ctx, s.metricsURL)
		}
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited during start-up (%v); log:\n%s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("server not ready after %v (%v); log:\n%s", readyTimeout, err, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func httpOK(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s", u, resp.Status)
	}
	return nil
}

// logTail is the last few KB of the server's log.
func (s *spawned) logTail() string {
	b, _ := os.ReadFile(s.logFile)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// stop ends the server (SIGTERM, then SIGKILL after stopTimeout), drops
// the database and removes the directory unless --keep.
func (s *spawned) stop(log *slog.Logger) {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			log.Warn("server did not stop after SIGTERM; killing it", "pid", s.pid())
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.keep {
		fmt.Fprintf(os.Stderr, "sundial-bench: kept %s (server log, database)\n", s.dir)
		return
	}
	if s.dropDB != nil {
		if err := s.dropDB(); err != nil {
			log.Warn("dropping the benchmark database", "err", err)
		}
	}
	_ = os.RemoveAll(s.dir)
}

// Sampling rates asked of the server for --mutexprofile and
// --blockprofile: one contention event in mutexFraction, one sample per
// blockRateNs nanoseconds blocked.
const (
	mutexFraction = 5
	blockRateNs   = 10_000
	maxTraceSecs  = 5 // an execution trace grows by megabytes a second
)

// profiles writes the server's CPU, mutex and block profiles (those with
// a file name) over the measurement, taken at the same time. Mutex and
// block profiling are enabled on the server for the measurement only.
func (s *spawned) profiles(cpuFile, mutexFile, blockFile, traceFile string) profiler {
	return func(ctx context.Context, d time.Duration) error {
		secs := int(d.Seconds())
		if secs < 1 {
			secs = 1
		}
		var mutex, block int
		if mutexFile != "" {
			mutex = mutexFraction
		}
		if blockFile != "" {
			block = blockRateNs
		}
		if mutex > 0 || block > 0 {
			if err := httpOK(ctx, fmt.Sprintf("%s/debug/pprof/rates?mutex=%d&block=%d", s.pprofBase, mutex, block)); err != nil {
				return fmt.Errorf("enabling mutex/block profiling: %w", err)
			}
			defer func() { _ = httpOK(context.Background(), s.pprofBase+"/debug/pprof/rates?mutex=0&block=0") }()
		}
		errs := make(chan error, 4)
		n := 0
		for _, p := range []struct{ name, file string }{{"profile", cpuFile}, {"mutex", mutexFile}, {"block", blockFile}, {"trace", traceFile}} {
			if p.file == "" {
				continue
			}
			n++
			secs := secs
			if p.name == "trace" {
				secs = min(secs, maxTraceSecs)
			}
			go func() { errs <- s.fetchProfile(ctx, p.name, p.file, secs, d) }()
		}
		var first error
		for range n {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}

// fetchProfile writes /debug/pprof/NAME?seconds=secs (a delta over secs
// for mutex and block) to file.
func (s *spawned) fetchProfile(ctx context.Context, name, file string, secs int, d time.Duration) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/debug/pprof/%s?seconds=%d", s.pprofBase, name, secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: d + time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s: %s", name, resp.Status, bytes.TrimSpace(body))
	}
	return os.WriteFile(file, body, 0o644)
}

// gc makes the server run a garbage collection (through pprof's heap
// endpoint), so the idle workload reads a settled heap.
func (s *spawned) gc(ctx context.Context) error {
	if s.pprofBase == "" {
		return errors.New("no pprof port")
	}
	return httpOK(ctx, s.pprofBase+"/debug/pprof/heap?gc=1")
}

// serverBinary is --server-bin, else `sundial` on PATH, else a build of
// this checkout's ./cmd/sundial into dir.
func serverBinary(ctx context.Context, o *options, dir string, log *slog.Logger) (string, error) {
	if o.serverBin != "" {
		return o.serverBin, nil
	}
	if p, err := exec.LookPath("sundial"); err == nil {
		log.Info("using sundial from PATH", "path", p)
		return p, nil
	}
	out := filepath.Join(dir, "sundial")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/sundialhq/sundial/cmd/sundial")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	log.Info("building sundial", "into", out)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("no `sundial` on PATH and building it failed (run from the Sundial checkout or pass --server-bin): %v\n%s",
			err, stderr.String())
	}
	return out, nil
}

// supportsFlag reports whether `bin sub flag --help` is accepted: cobra
// rejects an unknown flag even with --help, and hidden flags are
// accepted.
func supportsFlag(bin, sub, flag string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, bin, sub, flag, "--help").Run() == nil
}

// freePort returns a TCP port free on 127.0.0.1 now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
