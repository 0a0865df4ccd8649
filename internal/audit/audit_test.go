package audit

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"

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
