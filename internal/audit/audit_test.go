package audit

import (
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sundialhq/sundial/internal/auth"
)

const wf = "/temporal.api.workflowservice.v1.WorkflowService/"

func TestAudited(t *testing.T) {
	l := New(Options{})
	reads := New(Options{Reads: true})
	for method, want := range map[string]bool{
		wf + "StartWorkflowExecution": true,
		wf + "UpdateNamespace":        true,
		"/temporal.api.operatorservice.v1.OperatorService/DeleteNamespace": true,
		wf + "PollWorkflowTaskQueue":                                       false,
		wf + "RespondWorkflowTaskCompleted":                                false,
		wf + "DescribeWorkflowExecution":                                   false,
		wf + "GetSystemInfo":                                               false,
		auth.HealthCheckMethod:                                             false,
		wf + "SomeFutureMethod":                                            true,
		wf + "PauseActivity":                                               true,
		wf + "UnpauseActivity":                                             true,
		wf + "ResetActivity":                                               true,
		wf + "UpdateActivityOptions":                                       true,
		wf + "UpdateWorkflowExecutionOptions":                              true,
	} {
		if got := l.Audited(method); got != want {
			t.Errorf("Audited(%s) = %v, want %v", method, got, want)
		}
	}
	if !reads.Audited(wf+"DescribeWorkflowExecution") || reads.Audited(wf+"PollActivityTaskQueue") {
		t.Error("with reads on, reads are audited and worker traffic is not")
	}
}

func TestEntryTarget(t *testing.T) {
	now := time.Unix(100, 0)
	e := Entry(auth.Call{Time: now, Method: wf + "TerminateWorkflowExecution", Namespace: "ns", Subject: "s", Peer: "p",
		Code: codes.NotFound, Request: &workflowservice.TerminateWorkflowExecutionRequest{
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "w", RunId: "r"}}})
	if e.API != "TerminateWorkflowExecution" || e.WorkflowID != "w" || e.RunID != "r" || e.Code != "NotFound" ||
		e.Subject != "s" || e.Source != "p" || !e.Time.Equal(now) {
		t.Errorf("entry = %+v", e)
	}
	e = Entry(auth.Call{Method: wf + "StartWorkflowExecution", Request: &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: "w2", RequestId: "req"}})
	if e.WorkflowID != "w2" || e.RequestID != "req" {
		t.Errorf("start entry = %+v", e)
	}
	e = Entry(auth.Call{Method: wf + "DeleteSchedule", Request: &workflowservice.DeleteScheduleRequest{ScheduleId: "sch"}})
	if e.Target != "schedule_id:sch" {
		t.Errorf("schedule entry = %+v", e)
	}
	e = Entry(auth.Call{Method: wf + "PauseActivity", Request: &workflowservice.PauseActivityRequest{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "w3", RunId: "r3"}, Activity: &workflowservice.PauseActivityRequest_Id{Id: "a1"}}})
	if e.WorkflowID != "w3" || e.RunID != "r3" || e.Target != "activity_id:a1" {
		t.Errorf("pause entry = %+v", e)
	}
	e = Entry(auth.Call{Method: wf + "UnpauseActivity", Request: &workflowservice.UnpauseActivityRequest{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "w4"}, Activity: &workflowservice.UnpauseActivityRequest_UnpauseAll{UnpauseAll: true}}})
	if e.WorkflowID != "w4" || e.Target != "activity:all" {
		t.Errorf("unpause entry = %+v", e)
	}
}

// Every API of the WorkflowService and OperatorService is classified by
// name: one that reads (Describe*, List*, Get*, Count*, Scan*, Query*,
// Fetch*, Poll*, Validate*) is not audited, and every other one that is not the worker
// protocol — starts, signals, schedules, batch jobs, namespaces, search
// attributes, deployments, Nexus endpoints … — is.
func TestAuditedCoversEveryAPI(t *testing.T) {
	l := New(Options{})
	readPrefixes := []string{"Describe", "List", "Get", "Count", "Scan", "Query", "Fetch", "Poll", "Validate"}
	n := 0
	for _, sd := range []protoreflect.ServiceDescriptor{
		workflowservice.File_temporal_api_workflowservice_v1_service_proto.Services().Get(0),
		operatorservice.File_temporal_api_operatorservice_v1_service_proto.Services().Get(0),
	} {
		for i := 0; i < sd.Methods().Len(); i++ {
			name := string(sd.Methods().Get(i).Name())
			full := "/" + string(sd.FullName()) + "/" + name
			n++
			read := false
			for _, p := range readPrefixes {
				read = read || strings.HasPrefix(name, p)
			}
			want := !read && !workerProtocol[name]
			if (strings.HasPrefix(name, "Respond") || strings.HasPrefix(name, "RecordActivityTaskHeartbeat")) && !workerProtocol[name] {
				t.Errorf("%s looks like worker protocol but is not in workerProtocol", name)
			}
			if got := l.Audited(full); got != want {
				t.Errorf("Audited(%s) = %v, want %v", full, got, want)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d APIs found", n)
	}
}
