package escalation_test

import (
	"slices"
	"testing"

	"github.com/deiops/deiops/workflows/escalation"
	"github.com/deiops/deiops/workflows/replaytest"
)

// TestReplayCommittedHistories replays histories recorded from real runs
// (pkg/escalationrec): a change to the workflow that would break running
// cases fails here.
func TestReplayCommittedHistories(t *testing.T) {
	replaytest.ReplayAll(t, escalation.CaseEscalation, escalation.WorkflowName)
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
		h := replaytest.Read(t, name)
		for _, s := range signals {
			if !slices.Contains(h.Signals, s) {
				t.Errorf("%s: no %s signal in %v", name, s, h.Signals)
			}
		}
		if name == "escalated" && (!slices.Contains(h.Activities, escalation.NotifyEscalationActivity) || !slices.Contains(h.Activities, escalation.OpenLinkedCaseActivity)) {
			t.Errorf("%s: activities %v", name, h.Activities)
		}
		if !h.Completed() {
			t.Errorf("%s ends with %s", name, h.LastEvent)
		}
	}
}
