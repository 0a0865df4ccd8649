package frontend

import (
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/sundialhq/sundial/internal/config"
)

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func TestActivityOptionsInput(t *testing.T) {
	lim := readLimits(config.NewDynamic(nil))
	stc := &activitypb.ActivityOptions{StartToCloseTimeout: durationpb.New(time.Second)}
	cases := []struct {
		name    string
		opts    *activitypb.ActivityOptions
		mask    *fieldmaskpb.FieldMask
		restore bool
		code    codes.Code // OK: accepted
		msg     string
	}{
		{"ok", stc, mask("start_to_close_timeout"), false, codes.OK, ""},
		{"empty mask changes nothing", stc, mask(), false, codes.OK, ""},
		{"restore", nil, nil, true, codes.OK, ""},
		{"restore with options", stc, mask("start_to_close_timeout"), true, codes.InvalidArgument, "restore_original flag cannot be combined with other options."},
		{"no options", nil, mask("start_to_close_timeout"), false, codes.InvalidArgument, "ActivityOptions are not set on request."},
		{"no mask", stc, nil, false, codes.InvalidArgument, "UpdateMask must be non-nil"},
		{"unknown path", stc, mask("input"), false, codes.InvalidArgument, "error parsing UpdateMask: path input not supported"},
		{"start delay", stc, mask("start_delay"), false, codes.InvalidArgument, ""},
		{"reserved queue", &activitypb.ActivityOptions{TaskQueue: &taskqueuepb.TaskQueue{Name: "/_sys/x"}}, mask("task_queue.name"), false, codes.InvalidArgument, ""},
		{"bad retry", &activitypb.ActivityOptions{RetryPolicy: &commonpb.RetryPolicy{BackoffCoefficient: 0.5}}, mask("retry_policy"), false,
			codes.InvalidArgument, "BackoffCoefficient cannot be less than 1 on retry policy."},
		{"negative priority", &activitypb.ActivityOptions{Priority: &commonpb.Priority{PriorityKey: -1}}, mask("priority"), false, codes.InvalidArgument, ""},
	}
	for _, tc := range cases {
		_, err := activityOptionsInput(tc.opts, tc.mask, tc.restore, lim)
		checkCode(t, tc.name, err, tc.code, tc.msg)
	}
}

func TestWorkflowOptionPaths(t *testing.T) {
	prio := &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: 2}}
	override := &workflowpb.WorkflowExecutionOptions{VersioningOverride: &workflowpb.VersioningOverride{
		Override: &workflowpb.VersioningOverride_AutoUpgrade{AutoUpgrade: true}}}
	cases := []struct {
		name string
		opts *workflowpb.WorkflowExecutionOptions
		mask *fieldmaskpb.FieldMask
		code codes.Code
		msg  string
	}{
		{"priority", prio, mask("priority"), codes.OK, ""},
		{"priority field", prio, mask("priority.fairness_key"), codes.OK, ""},
		{"no options", nil, mask("priority"), codes.InvalidArgument, "WorkflowExecutionOptions is not set on request."},
		{"no mask", prio, nil, codes.InvalidArgument, "UpdateMask must be non-nil"},
		{"versioning override", override, mask("versioning_override"), codes.PermissionDenied,
			"Worker versioning in workflow progress APIs is disabled on this namespace."},
		{"versioning override field", override, mask("versioning_override.pinned"), codes.PermissionDenied, ""},
		{"time skipping", prio, mask("time_skipping_config"), codes.Unimplemented, ""},
		{"unset versioning override", prio, mask("versioning_override"), codes.OK, ""},
		{"override outside the mask", override, mask("priority"), codes.OK, ""},
		{"unknown", prio, mask("memo"), codes.InvalidArgument, "error parsing UpdateMask: path memo not supported"},
	}
	for _, tc := range cases {
		_, err := workflowOptionPaths(tc.opts, tc.mask)
		checkCode(t, tc.name, err, tc.code, tc.msg)
	}
}

func checkCode(t *testing.T, name string, err error, code codes.Code, msg string) {
	t.Helper()
	got := codes.OK
	if err != nil {
		got = serviceerror.ToStatus(err).Code()
	}
	if got != code {
		t.Errorf("%s: code %v (%v), want %v", name, got, err, code)
		return
	}
	if msg != "" && serviceerror.ToStatus(err).Message() != msg {
		t.Errorf("%s: message %q, want %q", name, serviceerror.ToStatus(err).Message(), msg)
	}
}
