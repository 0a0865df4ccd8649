package statemachine

// awaitingFirstWorkflowTask reports whether the run's first workflow task
// is still held back by its start delay (or cron / retry backoff): the run
// is open and has never had a workflow task. Without a delay the first
// task is scheduled with the started event, so no other run is in this
// state.
func awaitingFirstWorkflowTask(s *State) bool {
	return s.Running() && s.WorkflowTask == nil && s.LastCompletedWFTStartedEventID == 0
}
