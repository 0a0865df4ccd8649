package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// dialTimeout bounds connecting the SDK client.
const dialTimeout = 30 * time.Second

// bench runs one benchmark: spawn (optionally), connect, start the
// worker, run the workload, and stop everything.
func bench(ctx context.Context, o *options, log *slog.Logger, stderr io.Writer) (*result, error) {
	addr, metricsURL, pid := o.address, o.metricsURL, o.serverPid
	var srv *spawned
	if o.spawn {
		var err error
		if srv, err = spawnServer(ctx, o, log); err != nil {
			return nil, err
		}
		defer srv.stop(log)
		addr, metricsURL, pid = srv.addr, srv.metricsURL, srv.pid()
		if metricsURL == "" {
			fmt.Fprintf(stderr, "sundial-bench: %s has no --metrics-port: transitions, schedule-to-start and poll sync are n/a; CPU from /proc\n", srv.bin)
		}
	}
	dbPids, _ := parsePids(o.dbPids)
	obs := newObserver(metricsURL, pid, dbPids, o.dbProcName)
	var prof profiler
	if srv != nil && (o.cpuProfile != "" || o.mutexProfile != "" || o.blockProfile != "" || o.traceFile != "") {
		prof = srv.profiles(o.cpuProfile, o.mutexProfile, o.blockProfile, o.traceFile)
	}
	id := randomID()
	tq := "sundial-bench-" + id
	var res *result
	var err error
	if o.driver == "raw" {
		rd, rerr := newRawDriver(addr, o.namespace, tq, o.count, o.wfPollers, o.actPollers, log)
		if rerr != nil {
			return nil, rerr
		}
		res, err = runLoad(ctx, rd, o, obs, prof, log)
		rd.close()
		if err == nil {
			err = rd.workerErr()
		}
	} else {
		res, err = benchSDK(ctx, o, addr, tq, id, srv, obs, prof, pid, log)
	}
	if res != nil {
		res.Address = addr
		res.Driver = o.driver
		if srv != nil {
			res.Backend, res.ServerBin = srv.backend, srv.bin
		}
	}
	return res, err
}

// benchSDK runs the workload with the Go SDK's client and worker.
func benchSDK(ctx context.Context, o *options, addr, tq, id string, srv *spawned, obs *observer, prof profiler, pid int, log *slog.Logger) (*result, error) {
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	sdkLogger := sdklog.NewStructuredLogger(log.With("component", "sdk"))
	c, err := client.DialContext(dialCtx, client.Options{HostPort: addr, Namespace: o.namespace, Logger: sdkLogger})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer c.Close()

	w := worker.New(c, tq, worker.Options{
		MaxConcurrentWorkflowTaskPollers: o.wfPollers,
		MaxConcurrentActivityTaskPollers: o.actPollers,
	})
	register(w)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting the worker: %w", err)
	}
	defer w.Stop()

	d := &driver{c: c, workload: o.workload, count: o.count, taskQueue: tq, idPrefix: "bench-" + id}
	if o.workload == "idle" {
		var gc func(context.Context) error
		if srv != nil && srv.pprofBase != "" {
			gc = srv.gc
		}
		return runIdle(ctx, d, o, obs, pid, gc, log)
	}
	return runLoad(ctx, d, o, obs, prof, log)
}

// healthCheck asks addr's gRPC health service about the WorkflowService.
func healthCheck(ctx context.Context, addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx,
		&healthpb.HealthCheckRequest{Service: "temporal.api.workflowservice.v1.WorkflowService"})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health: %v", resp.GetStatus())
	}
	return nil
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
