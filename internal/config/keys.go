package config

import "strings"

// knownKeys are the dynamic-config keys Sundial reads, lower-cased as
// Dynamic stores them. A key set but not listed here has no effect and is
// reported by Dynamic.UnknownKeys. TestKnownKeysCoverSource fails when code
// reads a key that is missing here: add new keys when you read them.
var knownKeys = lowerSet(
	"frontend.MaxConcurrentBatchOperationPerNamespace",
	"frontend.MaxExecutionCountBatchOperationPerNamespace",
	"frontend.historyMaxPageSize",
	"frontend.httpAllowedHosts",
	"frontend.visibilityMaxPageSize",
	"history.cacheMaxSize",
	"history.hostLevelCacheMaxSizeBytes",
	"history.longPollExpirationInterval",
	"history.maxInFlightUpdates",
	"history.maxTotalUpdates",
	"history.maximumSignalsPerExecution",
	"history.outboxMaxAttempts",
	"history.retentionOverride",
	"limit.blobSize.error",
	"limit.blobSize.warn",
	"limit.historyCount.error",
	"limit.historyCount.suggestContinueAsNew",
	"limit.historyMaxPageSize",
	"limit.historySize.error",
	"limit.historySize.suggestContinueAsNew",
	"limit.maxIDLength",
	"limit.memoSize.error",
	"limit.numCustomSearchAttributes",
	"limit.numPendingActivities.error",
	"limit.numPendingCancelRequests.error",
	"limit.numPendingChildExecutions.error",
	"limit.numPendingSignals.error",
	"limit.searchAttributesNumberOfKeys",
	"limit.searchAttributesSizeOfValue",
	"limit.searchAttributesTotalSize",
	"matching.forwarderMaxOutstandingPolls",
	"matching.forwarderMaxOutstandingTasks",
	"matching.longPollExpirationInterval",
	"matching.maxTaskqueueIdleTime",
	"matching.numTaskqueueWritePartitions",
	"matching.queryPollerTimeout",
	"matching.stickyPollerUnavailableWindow",
	"matching.stickyShutdownTTL",
	"matching.syncMatchWaitDuration",
	"membership.heartbeatInterval",
	"membership.ttl",
	"system.enableActivityEagerExecution",
	"system.enableEagerWorkflowStart",
	"system.namespaceMinRetentionLocal",
	"worker.batcherRPS",
	"worker.jobLeaseDuration",
	"worker.scheduleIdleTime",
	"worker.schedulePollInterval",
)

// IsKnownKey reports whether Sundial reads the dynamic-config key
// (case-insensitive, as Temporal's keys are).
func IsKnownKey(key string) bool { return knownKeys[strings.ToLower(key)] }

func lowerSet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[strings.ToLower(k)] = true
	}
	return m
}
