package frontend

import (
	"context"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
)

// unimplementedFeature names, for each public method Sundial does not
// implement, the feature it belongs to, so a client (the CLI, the UI)
// gets "Nexus endpoints are not implemented by Sundial yet (method
// ListNexusEndpoints)" instead of gRPC's bare "method ListNexusEndpoints
// not implemented". The interceptor answers these methods itself, before the
// handler. TestUnimplementedFeatures keeps the table in step with the
// handlers: every method a handler leaves to the generated stub is listed,
// and no listed method has a handler.
var unimplementedFeature = map[string]string{}

// featureMethods groups the unimplemented methods by feature. A feature
// name is used as the subject of "... are/is not implemented".
var featureMethods = []struct {
	feature string
	plural  bool
	methods []string
}{
	{"Worker versioning (build IDs)", false, []string{"UpdateWorkerBuildIdCompatibility",
		"GetWorkerBuildIdCompatibility", "UpdateWorkerVersioningRules", "GetWorkerVersioningRules",
		"GetWorkerTaskReachability"}},
	{"Worker deployments", true, []string{"DescribeDeployment", "DescribeWorkerDeploymentVersion", "ListDeployments",
		"GetDeploymentReachability", "GetCurrentDeployment", "SetCurrentDeployment",
		"SetWorkerDeploymentCurrentVersion", "DescribeWorkerDeployment", "DeleteWorkerDeployment",
		"DeleteWorkerDeploymentVersion", "SetWorkerDeploymentRampingVersion", "ListWorkerDeployments",
		"CreateWorkerDeployment", "CreateWorkerDeploymentVersion", "UpdateWorkerDeploymentVersionComputeConfig",
		"ValidateWorkerDeploymentVersionComputeConfig", "UpdateWorkerDeploymentVersionMetadata",
		"SetWorkerDeploymentManager"}},
	{"Nexus", false, []string{"PollNexusTaskQueue", "RespondNexusTaskCompleted", "RespondNexusTaskFailed",
		"StartNexusOperationExecution", "DescribeNexusOperationExecution", "PollNexusOperationExecution",
		"ListNexusOperationExecutions", "CountNexusOperationExecutions", "RequestCancelNexusOperationExecution",
		"TerminateNexusOperationExecution", "DeleteNexusOperationExecution"}},
	{"Nexus endpoints", true, []string{"GetNexusEndpoint", "CreateNexusEndpoint", "UpdateNexusEndpoint",
		"DeleteNexusEndpoint", "ListNexusEndpoints"}},
	{"Standalone activities", true, []string{"StartActivityExecution", "DescribeActivityExecution",
		"PollActivityExecution", "ListActivityExecutions", "CountActivityExecutions",
		"RequestCancelActivityExecution", "TerminateActivityExecution", "DeleteActivityExecution",
		"PauseActivityExecution", "ResetActivityExecution", "UnpauseActivityExecution",
		"UpdateActivityExecutionOptions"}},
	{"Workflow pause", false, []string{"PauseWorkflowExecution", "UnpauseWorkflowExecution"}},
	{"Workflow rules", true, []string{"CreateWorkflowRule", "DescribeWorkflowRule", "DeleteWorkflowRule",
		"ListWorkflowRules", "TriggerWorkflowRule"}},
	{"Worker heartbeats and the worker list", true, []string{"RecordWorkerHeartbeat", "ListWorkers", "CountWorkers",
		"DescribeWorker", "FetchWorkerConfig", "UpdateWorkerConfig"}},
	{"Task queue configuration", false, []string{"UpdateTaskQueueConfig"}},
	{"Archival", false, []string{"ListArchivedWorkflowExecutions"}},
	{"Namespace deprecation", false, []string{"DeprecateNamespace"}},
	{"Multi-cluster replication", false, []string{"AddOrUpdateRemoteCluster", "RemoveRemoteCluster"}},
	{"Time skipping", false, []string{"PollWorkflowExecutionTimeSkipping"}},
}

func init() {
	for _, f := range featureMethods {
		verb := "is"
		if f.plural {
			verb = "are"
		}
		for _, m := range f.methods {
			unimplementedFeature[m] = fmt.Sprintf("%s %s not implemented by Sundial yet (method %s)", f.feature, verb, m)
		}
	}
}

// unimplementedError returns the Unimplemented answer for fullMethod
// ("/pkg.Service/Method") if Sundial does not implement it, else nil.
func unimplementedError(fullMethod string) error {
	if msg, ok := unimplementedFeature[methodName(fullMethod)]; ok {
		return serviceerror.NewUnimplemented(msg)
	}
	return nil
}

// unimplementedInterceptor answers the methods of unimplementedFeature
// itself, naming the feature; it is the last interceptor of the chain.
func unimplementedInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := unimplementedError(info.FullMethod); err != nil {
		return nil, serviceerror.ToStatus(err).Err()
	}
	return handler(ctx, req)
}
