package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func startServer(t *testing.T, cfg Config) (*Server, *grpc.ClientConn) {
	t.Helper()
	cfg.Logger = quiet
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(s.FrontendAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(128<<20), grpc.MaxCallSendMsgSize(128<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return s, conn
}

func TestServeAndStop(t *testing.T) {
	s, conn := startServer(t, Config{Namespaces: []string{"orders", "default"}, NumShards: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := workflowservice.NewWorkflowServiceClient(conn)

	info, err := client.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	if err != nil || info.GetServerVersion() != "1.31.0" || !info.GetCapabilities().GetSdkMetadata() {
		t.Fatalf("GetSystemInfo = %v, %v", info, err)
	}
	cluster, err := client.GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil || cluster.GetHistoryShardCount() != 2 || cluster.GetServerVersion() != "1.31.0" ||
		cluster.GetSupportedClients()["temporal-ui"] != "<3.0.0" || cluster.GetSupportedClients()["temporal-go"] != "<2.0.0" {
		t.Fatalf("GetClusterInfo = %v, %v", cluster, err)
	}
	for _, name := range []string{"default", "orders"} {
		ns, err := client.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: name})
		if err != nil || ns.GetNamespaceInfo().GetName() != name || ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != 24*time.Hour {
			t.Fatalf("DescribeNamespace(%s) = %v, %v", name, ns, err)
		}
	}
	list, err := client.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{})
	if err != nil || len(list.GetNamespaces()) != 2 {
		t.Fatalf("ListNamespaces = %v, %v", list, err)
	}

	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", "temporal.api.workflowservice.v1.WorkflowService"} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q = %v, %v", svc, resp, err)
		}
	}

	checkStartErrors(ctx, t, client)

	_, err = client.GetWorkerBuildIdCompatibility(ctx, &workflowservice.GetWorkerBuildIdCompatibilityRequest{Namespace: "default", TaskQueue: "q"})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unimplemented method -> %v", err)
	}

	s.Stop()
	s.Stop() // idempotent
	if _, err := client.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("after Stop: %v", err)
	}
}

func checkStartErrors(ctx context.Context, t *testing.T, client workflowservice.WorkflowServiceClient) {
	t.Helper()
	valid := func() *workflowservice.StartWorkflowExecutionRequest {
		return &workflowservice.StartWorkflowExecutionRequest{Namespace: "default", WorkflowId: "wf",
			WorkflowType: &commonpb.WorkflowType{Name: "W"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}}
	}
	noID := valid()
	noID.WorkflowId = ""
	unknownNS := valid()
	unknownNS.Namespace = "missing"
	huge := valid()
	huge.Input = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: make([]byte, 5<<20)}}}
	cases := []struct {
		req  *workflowservice.StartWorkflowExecutionRequest
		code codes.Code
		msg  string
	}{
		{noID, codes.InvalidArgument, "WorkflowId is not set on request."},
		{unknownNS, codes.NotFound, "Namespace missing is not found."},
		{huge, codes.ResourceExhausted, "grpc: received message larger than max"},
	}
	for _, c := range cases {
		_, err := client.StartWorkflowExecution(ctx, c.req)
		st, _ := status.FromError(err)
		if st.Code() != c.code || !strings.HasPrefix(st.Message(), c.msg) {
			t.Errorf("start -> %v %q, want %v %q", st.Code(), st.Message(), c.code, c.msg)
		}
	}
}

func TestStopReleasesLongPolls(t *testing.T) {
	s, conn := startServer(t, Config{})
	client := workflowservice.NewWorkflowServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	polled := make(chan error, 1)
	go func() {
		_, err := client.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
			Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}})
		polled <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the poll reach matching
	begin := time.Now()
	s.Stop()
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("Stop took %v with a poll outstanding", d)
	}
	select {
	case <-polled:
	case <-time.After(5 * time.Second):
		t.Fatal("poll not released by Stop")
	}
}

func TestShardCountIsFixed(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sundial.db")
	s, err := New(Config{DBFilename: db, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	s.Stop()

	s2, err := New(Config{DBFilename: db, NumShards: 8, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	err = s2.Start()
	if err == nil || err.Error() != "cluster was created with numHistoryShards=4, configured 8" {
		t.Fatalf("Start = %v", err)
	}
	s2.Stop()

	// Same count: restarts fine and keeps the namespace.
	s3, conn := startServer(t, Config{DBFilename: db})
	_ = s3
	_, err = workflowservice.NewWorkflowServiceClient(conn).DescribeNamespace(context.Background(),
		&workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{IP: "not-an-ip"},
		{Port: -1},
		{Port: 70000},
		{NumShards: -2},
		{Namespaces: []string{""}},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	got := Config{Namespaces: []string{"a", "default", "a"}}.withDefaults().Namespaces
	if strings.Join(got, ",") != "default,a" {
		t.Fatalf("namespaces = %v", got)
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop() // before Start: no-op
	if err := s.Start(); err == nil {
		t.Fatal("Start after Stop should fail")
	}
}
