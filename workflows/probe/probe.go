// Package probe holds the platform probe workflow: a synthetic request that
// crosses HTTP, NATS and Temporal in every service target, so operators
// can prove the whole pipeline (and its tracing) works end to end.
package probe

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// WorkflowName and ActivityName are the registered names; departments and
// tools that start probes from their own Temporal code use these.
const (
	WorkflowName = "deiops.platform.Probe"
	ActivityName = "deiops.platform.ProbeAnswer"
)

// Input identifies one probe in one target. It carries ids only.
type Input struct {
	ProbeID string `json:"probe_id"`
	Target  string `json:"target"`
}

// Workflow answers the probe through an activity, which publishes the
// completion event back onto the bus.
func Workflow(ctx workflow.Context, in Input) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    10,
		},
	})
	return workflow.ExecuteActivity(ctx, ActivityName, in).Get(ctx, nil)
}
