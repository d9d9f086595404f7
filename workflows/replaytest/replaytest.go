// Package replaytest replays a package's committed workflow histories
// (testdata/*.history.json, recorded on a real Temporal server) and reads
// what they contain, so every workflow package checks its recordings the
// same way.
package replaytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ReplayAll replays every committed history of the package against fn
// registered as name: a change to the workflow that would break running
// executions fails the test.
func ReplayAll(t testing.TB, fn any, name string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.history.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no committed histories found (%v)", err)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("replay %s: %v", f, err)
		}
	}
}

// Summary is what a recorded history shows: the signals received, the
// activities scheduled, and the type of its last event.
type Summary struct {
	Signals    []string
	Activities []string
	LastEvent  string
}

// Completed reports whether the recorded run completed.
func (s Summary) Completed() bool { return s.LastEvent == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" }

// Read summarises testdata/<name>.history.json.
func Read(t testing.TB, name string) Summary {
	t.Helper()
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
		t.Fatalf("%s: %v", name, err)
	}
	var s Summary
	for _, e := range h.Events {
		if e.Signaled != nil {
			s.Signals = append(s.Signals, e.Signaled.SignalName)
		}
		if e.Scheduled != nil {
			s.Activities = append(s.Activities, e.Scheduled.ActivityType.Name)
		}
	}
	if len(h.Events) > 0 {
		s.LastEvent = h.Events[len(h.Events)-1].EventType
	}
	return s
}
