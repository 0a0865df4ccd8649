package history

import (
	"context"
	"errors"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/visibility"
)

// canonicalSearchAttributes validates search attributes a client wants to
// set and returns them in their stored form (Options.CanonicalSearchAttributes);
// without a validator, or with nothing to check, sa is returned as it is.
func (e *Engine) canonicalSearchAttributes(ctx context.Context, namespaceID string, sa *commonpb.SearchAttributes) (*commonpb.SearchAttributes, error) {
	if e.opts.CanonicalSearchAttributes == nil || len(sa.GetIndexedFields()) == 0 {
		return sa, nil
	}
	return e.opts.CanonicalSearchAttributes(ctx, namespaceID, sa)
}

// commandSearchAttributes brings the search attributes of a workflow task
// completion's commands (upsert, start child, continue-as-new) to their
// stored form, in place, before the state machine sees them. It runs
// outside the workflow lock, as it may read the namespace's definitions.
// It returns the state machine's validator: the message for each of
// these commands' attributes that were not valid (the state machine fails
// the task with BAD_SEARCH_ATTRIBUTES). Errors other than bad input (the
// store) are returned.
func (e *Engine) commandSearchAttributes(ctx context.Context, namespaceID string, cmds []*commandpb.Command) (func(*commonpb.SearchAttributes) string, error) {
	if e.opts.CanonicalSearchAttributes == nil {
		return nil, nil
	}
	bad := map[*commonpb.SearchAttributes]string{}
	for _, c := range cmds {
		var field **commonpb.SearchAttributes
		switch c.GetCommandType() {
		case enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			if a := c.GetUpsertWorkflowSearchAttributesCommandAttributes(); a != nil {
				field = &a.SearchAttributes
			}
		case enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
			if a := c.GetStartChildWorkflowExecutionCommandAttributes(); a != nil {
				field = &a.SearchAttributes
			}
		case enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
			if a := c.GetContinueAsNewWorkflowExecutionCommandAttributes(); a != nil {
				field = &a.SearchAttributes
			}
		}
		if field == nil || len((*field).GetIndexedFields()) == 0 {
			continue
		}
		canon, err := e.opts.CanonicalSearchAttributes(ctx, namespaceID, *field)
		var invalid *visibility.InvalidSearchAttributeError
		switch {
		case errors.As(err, &invalid):
			bad[*field] = invalid.Msg
		case err != nil:
			return nil, err
		default:
			*field = canon
		}
	}
	return func(sa *commonpb.SearchAttributes) string { return bad[sa] }, nil
}
