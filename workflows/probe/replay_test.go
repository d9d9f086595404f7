package probe_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/deiops/deiops/workflows/probe"
)

// TestReplayCommittedHistories replays histories recorded from real runs:
// a change to the workflow that would break running executions fails here.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.history.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no committed histories found (%v)", err)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(probe.Workflow, workflow.RegisterOptions{Name: probe.WorkflowName})
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("replay %s: %v", f, err)
		}
	}
}
