package probe_test

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/deiops/deiops/workflows/probe"
)

func TestProbeAnswersThroughItsActivity(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var got probe.Input
	env.RegisterActivityWithOptions(func(ctx context.Context, in probe.Input) error {
		got = in
		return nil
	}, activity.RegisterOptions{Name: probe.ActivityName})
	env.RegisterWorkflowWithOptions(probe.Workflow, workflow.RegisterOptions{Name: probe.WorkflowName})
	env.ExecuteWorkflow(probe.WorkflowName, probe.Input{ProbeID: "p1", Target: "resolution"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if got != (probe.Input{ProbeID: "p1", Target: "resolution"}) {
		t.Fatalf("activity got %+v", got)
	}
}

func TestProbeRetriesItsActivityThenFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	calls := 0
	env.RegisterActivityWithOptions(func(ctx context.Context, in probe.Input) error {
		calls++
		return errors.New("bus down")
	}, activity.RegisterOptions{Name: probe.ActivityName})
	env.RegisterWorkflowWithOptions(probe.Workflow, workflow.RegisterOptions{Name: probe.WorkflowName})
	env.ExecuteWorkflow(probe.WorkflowName, probe.Input{ProbeID: "p1", Target: "resolution"})
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded although its activity never did")
	}
	if calls != 10 {
		t.Fatalf("activity ran %d times, want the 10 attempts of the retry policy", calls)
	}
}
