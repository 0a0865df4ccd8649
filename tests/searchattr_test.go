package tests

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var (
	customerKey = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	amountKey   = temporal.NewSearchAttributeKeyInt64("Amount")
)

// Search attributes registered for the namespace are validated at start and
// on upsert, stored, and shown by describe; undefined, mistyped and
// reserved names are rejected.
func TestSearchAttributesValidatedAndStored(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	_, err := env.client.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: testNamespace,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			"CustomerId": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"Amount":     enumspb.INDEXED_VALUE_TYPE_INT,
		},
	})
	require.NoError(t, err)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			if err := workflow.UpsertTypedSearchAttributes(ctx, amountKey.ValueSet(42)); err != nil {
				return err
			}
			workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
			return nil
		}, workflow.RegisterOptions{Name: "Tagged"})
	})
	opts := startOptions(t, tq)
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(customerKey.ValueSet("c-7"))
	run, err := env.client.ExecuteWorkflow(ctx, opts, "Tagged")
	require.NoError(t, err)
	eventually(t, ctx, "the upsert to show in describe", func() error {
		d, err := env.client.DescribeWorkflowExecution(ctx, run.GetID(), "")
		if err != nil {
			return err
		}
		fields := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
		if fields["Amount"] == nil {
			return errNotYet
		}
		var customer string
		var amount int64
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(fields["CustomerId"], &customer))
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(fields["Amount"], &amount))
		require.Equal(t, "c-7", customer)
		require.Equal(t, int64(42), amount)
		return nil
	})
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	require.NoError(t, run.Get(ctx, nil))

	var invalid *serviceerror.InvalidArgument
	for name, sa := range map[string]temporal.SearchAttributes{
		"undefined": temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("NoSuchAttr").ValueSet("x")),
		"mistyped":  temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("Amount").ValueSet("not a number")),
		"reserved":  temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("WorkflowType").ValueSet("x")),
	} {
		_, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, name), TaskQueue: tq, TypedSearchAttributes: sa}, "Tagged")
		require.True(t, errors.As(err, &invalid), "%s search attribute: want InvalidArgument, got %v", name, err)
	}
}
