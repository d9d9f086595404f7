package mentorship_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/deiops/deiops/workflows/mentorship"
)

// TestReplayCommittedHistories replays histories recorded on a real
// Temporal server (services/connection/ports,
// TestMentorshipWorkflowsOnARealServer with DEIOPS_RECORD_HISTORIES=1): a
// change to the workflow that would break running mentorships fails here.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.history.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no committed histories found (%v)", err)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(mentorship.Mentorship, workflow.RegisterOptions{Name: mentorship.WorkflowName})
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("replay %s: %v", f, err)
		}
	}
}

// TestCommittedHistoriesCoverThePaths keeps the recordings meaningful: a
// pair that was not a fit (fit check, signals, feedback) and one that
// ended for inactivity (check-ins, warning).
func TestCommittedHistoriesCoverThePaths(t *testing.T) {
	want := map[string]struct{ signals, activities []string }{
		"not-a-fit": {[]string{mentorship.SignalMet, mentorship.SignalFit, mentorship.SignalFeedback}, []string{mentorship.NotifyActivity, mentorship.EndedActivity}},
		"inactive":  {nil, []string{mentorship.NotifyActivity, mentorship.CheckinDueActivity, mentorship.EndedActivity}},
	}
	for name, w := range want {
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
		var signals, activities []string
		for _, e := range h.Events {
			if e.Signaled != nil {
				signals = append(signals, e.Signaled.SignalName)
			}
			if e.Scheduled != nil {
				activities = append(activities, e.Scheduled.ActivityType.Name)
			}
		}
		for _, s := range w.signals {
			if !slices.Contains(signals, s) {
				t.Errorf("%s: no %s signal in %v", name, s, signals)
			}
		}
		for _, a := range w.activities {
			if !slices.Contains(activities, a) {
				t.Errorf("%s: no %s activity in %v", name, a, activities)
			}
		}
		if last := h.Events[len(h.Events)-1].EventType; last != "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" {
			t.Errorf("%s ends with %s", name, last)
		}
	}
}
