package escalation_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/deiops/deiops/workflows/escalation"
)

// TestReplayCommittedHistories replays histories recorded from real runs
// (pkg/escalationrec): a change to the workflow that would break running
// cases fails here.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.history.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no committed histories found (%v)", err)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(escalation.CaseEscalation, workflow.RegisterOptions{Name: escalation.WorkflowName})
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("replay %s: %v", f, err)
		}
	}
}

// TestCommittedHistoriesCoverBothPaths keeps the recordings meaningful: a
// fast path, an escalating path with a retaliation report, and a reopening.
func TestCommittedHistoriesCoverBothPaths(t *testing.T) {
	want := map[string][]string{
		"acknowledged-in-time": {"acknowledge", "resolve"},
		"escalated":            {"recuse", "acknowledge", "resolve", "retaliationReported"},
		"reopened":             {"acknowledge", "resolve", "reopen"},
	}
	for name, signals := range want {
		b, err := os.ReadFile(filepath.Join("testdata", name+".history.json"))
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Events []struct {
				EventType string `json:"eventType"`
				Signaled  *struct {
					SignalName string `json:"signalName"`
				} `json:"workflowExecutionSignaledEventAttributes"`
				Scheduled *struct {
					ActivityType struct {
						Name string `json:"name"`
					} `json:"activityType"`
				} `json:"activityTaskScheduledEventAttributes"`
			} `json:"events"`
		}
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		var got, activities []string
		for _, e := range h.Events {
			if e.Signaled != nil {
				got = append(got, e.Signaled.SignalName)
			}
			if e.Scheduled != nil {
				activities = append(activities, e.Scheduled.ActivityType.Name)
			}
		}
		for _, s := range signals {
			if !slices.Contains(got, s) {
				t.Errorf("%s: no %s signal in %v", name, s, got)
			}
		}
		if name == "escalated" && (!slices.Contains(activities, escalation.NotifyEscalationActivity) || !slices.Contains(activities, escalation.OpenLinkedCaseActivity)) {
			t.Errorf("%s: activities %v", name, activities)
		}
		if last := h.Events[len(h.Events)-1].EventType; last != "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" {
			t.Errorf("%s ends with %s", name, last)
		}
	}
}
