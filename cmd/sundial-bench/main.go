// Command sundial-bench is a load generator for any server that speaks
// Temporal's API. It runs an SDK worker and a closed-loop runner in one
// process: the runner keeps -c workflows in flight for -d after a warm-up,
// then prints one summary line (and JSON with --json) with throughput,
// latencies, and the server's cost read from its /metrics and /proc.
// With --driver raw the activities workload runs without the SDK: plain
// gRPC calls with pre-built commands (raw.go), so the client costs a
// fraction of the SDK's CPU and the server can be pushed to its ceiling.
//
// With --spawn it starts `sundial start-dev` on a temporary SQLite file (or
// `sundial server` on a fresh PostgreSQL database with --postgres) and
// stops it at the end. Every run is bounded in time: warm-up + -d + the
// drain timeout, plus start-up. Failed workflows make the exit status
// non-zero.
//
// This is the one Sundial binary that uses the Go SDK (go.temporal.io/sdk):
// it is a client, never part of the server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	address      string
	namespace    string
	spawn        bool
	serverBin    string
	postgres     string
	workload     string
	count        int
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	drain        time.Duration
	jsonFile     string
	dbPids       string
	dbProcName   string
	metricsURL   string
	serverPid    int
	cpuProfile   string
	mutexProfile string
	blockProfile string
	traceFile    string
	driver       string
	clientProf   string
	shards       int
	keep         bool
	verbose      bool
	wfPollers    int
	actPollers   int
	dynamicFlags stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// workloads lists the -w values and the default --count of each.
var workloads = map[string]int{
	"activities": 3,
	"signals":    3,
	"timers":     3,
	"children":   3,
	"idle":       1000,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit: 0 on success, 1 when the run failed or a
// workflow failed, 2 on bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "sundial-bench:", err)
		return 2
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if o.clientProf != "" {
		f, err := os.Create(o.clientProf)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "sundial-bench: --client-cpuprofile:", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench(ctx, o, log, stderr)
	if res != nil {
		fmt.Fprintln(stdout, res.summary())
		if o.jsonFile != "" {
			if werr := res.writeJSON(o.jsonFile); werr != nil {
				fmt.Fprintln(stderr, "sundial-bench: --json:", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "sundial-bench:", err)
		return 1
	}
	if res.Failed > 0 {
		fmt.Fprintf(stderr, "sundial-bench: %d workflows failed (first: %s)\n", res.Failed, res.FirstError)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("sundial-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.address, "address", "127.0.0.1:7233", "frontend host:port of the server under test (ignored with --spawn)")
	fs.StringVar(&o.namespace, "namespace", "default", "namespace to run in")
	fs.BoolVar(&o.spawn, "spawn", false, "start `sundial start-dev` on a temporary database and free port, and stop it at the end")
	fs.StringVar(&o.serverBin, "server-bin", "", "sundial binary for --spawn (default: `sundial` on PATH, else built from this checkout)")
	fs.StringVar(&o.postgres, "postgres", "", "with --spawn: run `sundial server` on a fresh database created (and dropped) under this PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/postgres")
	fs.IntVar(&o.shards, "shards", 0, "with --spawn: history shards (default: the server's default)")
	fs.StringVar(&o.workload, "w", "activities", "workload: activities, signals, timers, children or idle")
	fs.IntVar(&o.count, "count", 0, "per-workflow size: activities, signals, timers or children per workflow; for idle the number of open workflows (default 3; idle 1000)")
	fs.IntVar(&o.concurrency, "c", 10, "workflows in flight (idle: concurrent starts)")
	fs.DurationVar(&o.duration, "d", 30*time.Second, "measurement time after the warm-up (idle: the longest the starts may take)")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "warm-up before measuring (not counted)")
	fs.DurationVar(&o.drain, "drain", 60*time.Second, "after -d, the longest to wait for workflows in flight")
	fs.StringVar(&o.jsonFile, "json", "", "also write the result as JSON to this file")
	fs.StringVar(&o.dbPids, "db-pids", "", "comma-separated PIDs of database server processes whose CPU is added (from /proc)")
	fs.StringVar(&o.dbProcName, "db-process-name", "", "count the CPU of every process with this name (e.g. postgres), from /proc")
	fs.StringVar(&o.metricsURL, "metrics-url", "", "Prometheus endpoint of the server under test (set by --spawn), e.g. http://127.0.0.1:9090/metrics")
	fs.IntVar(&o.serverPid, "server-pid", 0, "PID of the server under test, for CPU and RSS from /proc when it is not spawned")
	fs.StringVar(&o.clientProf, "client-cpuprofile", "", "write a pprof CPU profile of this process (worker and runner) over the whole run to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "with --spawn: write a pprof CPU profile of the server over the measurement to this file")
	fs.StringVar(&o.mutexProfile, "mutexprofile", "", "with --spawn: write a pprof mutex-contention profile of the server over the measurement to this file (enables the server's mutex profiling, fraction 1/5, for the run)")
	fs.StringVar(&o.blockProfile, "blockprofile", "", "with --spawn: write a pprof blocking profile of the server over the measurement to this file (enables the server's block profiling, one sample per 10 µs blocked, for the run)")
	fs.StringVar(&o.traceFile, "trace", "", "with --spawn: write a Go execution trace of the server over the first 5 s of the measurement to this file (`go tool trace -pprof=syscall` shows where goroutines wait in syscalls, e.g. the SQLite writer in fsync)")
	fs.StringVar(&o.driver, "driver", "sdk", "client: sdk (Go SDK worker and client) or raw (plain gRPC with pre-built commands; activities workload only)")
	fs.BoolVar(&o.keep, "keep", false, "with --spawn: keep the temporary directory (database, server log) and database")
	fs.BoolVar(&o.verbose, "v", false, "log progress")
	fs.IntVar(&o.wfPollers, "workflow-pollers", 10, "worker's workflow task pollers")
	fs.IntVar(&o.actPollers, "activity-pollers", 10, "worker's activity task pollers")
	fs.Var(&o.dynamicFlags, "dynamic-config-value", "with --spawn (start-dev): pass KEY=JSON to the server (repeatable)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	def, ok := workloads[o.workload]
	if !ok {
		return nil, fmt.Errorf("-w %q: want activities, signals, timers, children or idle", o.workload)
	}
	if o.count == 0 {
		o.count = def
	}
	switch {
	case o.count < 0:
		return nil, fmt.Errorf("--count %d: want > 0", o.count)
	case o.concurrency < 1:
		return nil, fmt.Errorf("-c %d: want >= 1", o.concurrency)
	case o.duration <= 0:
		return nil, fmt.Errorf("-d %v: want > 0", o.duration)
	case o.warmup < 0 || o.drain <= 0:
		return nil, errors.New("--warmup must be >= 0 and --drain > 0")
	case o.driver != "sdk" && o.driver != "raw":
		return nil, fmt.Errorf("--driver %q: want sdk or raw", o.driver)
	case o.driver == "raw" && o.workload != "activities":
		return nil, fmt.Errorf("--driver raw runs the activities workload only, not %q", o.workload)
	case !o.spawn && (o.mutexProfile != "" || o.blockProfile != "" || o.traceFile != ""):
		return nil, errors.New("--mutexprofile, --blockprofile and --trace need --spawn")
	case !o.spawn && (o.postgres != "" || o.cpuProfile != "" || o.serverBin != "" || o.keep || len(o.dynamicFlags) > 0):
		return nil, errors.New("--postgres, --cpuprofile, --server-bin, --keep and --dynamic-config-value need --spawn")
	case o.postgres != "" && len(o.dynamicFlags) > 0:
		return nil, errors.New("--dynamic-config-value applies to start-dev only, not with --postgres")
	}
	if _, err := parsePids(o.dbPids); err != nil {
		return nil, fmt.Errorf("--db-pids: %w", err)
	}
	return o, nil
}

func parsePids(s string) ([]int, error) {
	var pids []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p <= 0 {
			return nil, fmt.Errorf("%q is not a PID", f)
		}
		pids = append(pids, p)
	}
	return pids, nil
}
