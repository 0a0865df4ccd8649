package auth

import "strings"

// Scope says whether an API acts on one namespace (the request's
// `namespace` field) or on the whole cluster.
type Scope int8

// Access is the least role an API needs.
type Access int8

// Scopes and access levels.
const (
	ScopeUnknown Scope = iota
	ScopeNamespace
	ScopeCluster
)

const (
	AccessUnknown Access = iota
	AccessRead
	AccessWrite
	AccessAdmin
)

// Method is what the authorizer knows of an API.
type Method struct {
	Scope  Scope
	Access Access
}

const (
	workflowServicePrefix = "/temporal.api.workflowservice.v1.WorkflowService/"
	operatorServicePrefix = "/temporal.api.operatorservice.v1.OperatorService/"
	// HealthCheckMethod is gRPC's health check, always allowed.
	HealthCheckMethod = "/grpc.health.v1.Health/Check"
	// GetSystemInfoMethod is always allowed: SDKs call it before anything
	// else and it holds nothing sensitive.
	GetSystemInfoMethod = workflowServicePrefix + "GetSystemInfo"
)

// The tables follow the reference server's API metadata: which APIs read,
// write or administer, and which are cluster-wide. An API missing here has
// unknown scope and is denied to everyone (as on the reference), so a new
// API is closed until it is classified.
var (
	workflowReadNS = words(`DescribeNamespace GetWorkflowExecutionHistory GetWorkflowExecutionHistoryReverse
		ListOpenWorkflowExecutions ListClosedWorkflowExecutions ListWorkflowExecutions ListArchivedWorkflowExecutions
		ScanWorkflowExecutions CountWorkflowExecutions QueryWorkflow DescribeWorkflowExecution DescribeTaskQueue
		ListTaskQueuePartitions DescribeSchedule ListScheduleMatchingTimes ListSchedules CountSchedules
		GetWorkerBuildIdCompatibility GetWorkerVersioningRules GetWorkerTaskReachability PollWorkflowExecutionUpdate
		DescribeBatchOperation ListBatchOperations DescribeDeployment ListDeployments GetDeploymentReachability
		GetCurrentDeployment DescribeWorkerDeploymentVersion DescribeWorkerDeployment ListWorkerDeployments
		ValidateWorkerDeploymentVersionComputeConfig DescribeWorkflowRule ListWorkflowRules ListWorkers CountWorkers
		DescribeWorker FetchWorkerConfig CountActivityExecutions CountNexusOperationExecutions DescribeActivityExecution
		DescribeNexusOperationExecution PollActivityExecution PollNexusOperationExecution ListActivityExecutions
		ListNexusOperationExecutions`)
	workflowWriteNS = words(`StartWorkflowExecution PollWorkflowTaskQueue RespondWorkflowTaskCompleted
		RespondWorkflowTaskFailed PollActivityTaskQueue RecordActivityTaskHeartbeat RecordActivityTaskHeartbeatById
		RespondActivityTaskCompleted RespondActivityTaskCompletedById RespondActivityTaskFailed
		RespondActivityTaskFailedById RespondActivityTaskCanceled RespondActivityTaskCanceledById
		DeleteActivityExecution DeleteNexusOperationExecution RequestCancelActivityExecution
		RequestCancelNexusOperationExecution StartActivityExecution StartNexusOperationExecution
		TerminateActivityExecution TerminateNexusOperationExecution PollNexusTaskQueue RespondNexusTaskCompleted
		RespondNexusTaskFailed RequestCancelWorkflowExecution SignalWorkflowExecution SignalWithStartWorkflowExecution
		ResetWorkflowExecution TerminateWorkflowExecution DeleteWorkflowExecution RespondQueryTaskCompleted
		ResetStickyTaskQueue ShutdownWorker ExecuteMultiOperation CreateSchedule UpdateSchedule PatchSchedule
		DeleteSchedule UpdateWorkerBuildIdCompatibility UpdateWorkerVersioningRules UpdateWorkflowExecution
		StartBatchOperation StopBatchOperation UpdateActivityOptions PauseActivity UnpauseActivity ResetActivity
		UpdateActivityExecutionOptions PauseActivityExecution UnpauseActivityExecution ResetActivityExecution
		UpdateWorkflowExecutionOptions SetCurrentDeployment SetWorkerDeploymentCurrentVersion
		SetWorkerDeploymentRampingVersion SetWorkerDeploymentManager CreateWorkerDeployment DeleteWorkerDeployment
		CreateWorkerDeploymentVersion UpdateWorkerDeploymentVersionComputeConfig DeleteWorkerDeploymentVersion
		UpdateWorkerDeploymentVersionMetadata CreateWorkflowRule DeleteWorkflowRule TriggerWorkflowRule
		RecordWorkerHeartbeat UpdateTaskQueueConfig UpdateWorkerConfig PauseWorkflowExecution UnpauseWorkflowExecution`)
	workflowAdminNS     = words(`RegisterNamespace UpdateNamespace DeprecateNamespace`)
	workflowReadCluster = words(`ListNamespaces GetSearchAttributes GetClusterInfo GetSystemInfo`)

	operatorReadNS   = words(`ListSearchAttributes`)
	operatorAdminNS  = words(`AddSearchAttributes RemoveSearchAttributes DeleteNamespace`)
	operatorAdminAll = words(`AddOrUpdateRemoteCluster RemoveRemoteCluster ListClusters CreateNexusEndpoint
		UpdateNexusEndpoint DeleteNexusEndpoint GetNexusEndpoint ListNexusEndpoints`)
)

var methods = func() map[string]Method {
	m := map[string]Method{}
	add := func(prefix string, names []string, md Method) {
		for _, n := range names {
			m[prefix+n] = md
		}
	}
	add(workflowServicePrefix, workflowReadNS, Method{ScopeNamespace, AccessRead})
	add(workflowServicePrefix, workflowWriteNS, Method{ScopeNamespace, AccessWrite})
	add(workflowServicePrefix, workflowAdminNS, Method{ScopeNamespace, AccessAdmin})
	add(workflowServicePrefix, workflowReadCluster, Method{ScopeCluster, AccessRead})
	add(operatorServicePrefix, operatorReadNS, Method{ScopeNamespace, AccessRead})
	add(operatorServicePrefix, operatorAdminNS, Method{ScopeNamespace, AccessAdmin})
	add(operatorServicePrefix, operatorAdminAll, Method{ScopeCluster, AccessAdmin})
	return m
}()

// LookupMethod returns what the authorizer knows of a full gRPC method
// name ("/package.Service/Method"); the zero Method for an unknown one.
func LookupMethod(fullMethod string) Method { return methods[fullMethod] }

// IsRead reports whether fullMethod is a known read-only API (the audit
// log skips those unless asked to record reads).
func IsRead(fullMethod string) bool {
	m, ok := methods[fullMethod]
	return ok && m.Access == AccessRead
}

func words(s string) []string { return strings.Fields(s) }
