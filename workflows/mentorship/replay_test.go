package mentorship_test

import (
	"slices"
	"testing"

	"github.com/deiops/deiops/workflows/mentorship"
	"github.com/deiops/deiops/workflows/replaytest"
)

// TestReplayCommittedHistories replays histories recorded on a real
// Temporal server (services/connection/ports,
// TestMentorshipWorkflowsOnARealServer with DEIOPS_RECORD_HISTORIES=1): a
// change to the workflow that would break running mentorships fails here.
func TestReplayCommittedHistories(t *testing.T) {
	replaytest.ReplayAll(t, mentorship.Mentorship, mentorship.WorkflowName)
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
		h := replaytest.Read(t, name)
		for _, s := range w.signals {
			if !slices.Contains(h.Signals, s) {
				t.Errorf("%s: no %s signal in %v", name, s, h.Signals)
			}
		}
		for _, a := range w.activities {
			if !slices.Contains(h.Activities, a) {
				t.Errorf("%s: no %s activity in %v", name, a, h.Activities)
			}
		}
		if !h.Completed() {
			t.Errorf("%s ends with %s", name, h.LastEvent)
		}
	}
}
