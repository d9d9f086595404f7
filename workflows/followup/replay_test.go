package followup_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deiops/deiops/workflows/followup"
	"github.com/deiops/deiops/workflows/replaytest"
)

// TestReplayCommittedHistories replays histories recorded from real runs
// (services/awareness TestCohortFollowUpOnRealServers with
// DEIOPS_RECORD_HISTORIES=1): a change to the workflow that would break
// running follow-ups fails here.
func TestReplayCommittedHistories(t *testing.T) {
	replaytest.ReplayAll(t, followup.CohortFollowUp, followup.WorkflowName)
}

// TestCommittedHistoryCoversEveryStep keeps the recording meaningful:
// reminders, the overdue notice, escalation and a digest, and no person
// id anywhere in it (the workflow holds the schedule, not the roster).
func TestCommittedHistoryCoversEveryStep(t *testing.T) {
	count := map[string]int{}
	for _, a := range replaytest.Read(t, "cohort").Activities {
		count[a]++
	}
	if count[followup.RemindActivity] != 3 || count[followup.EscalateActivity] != 1 || count[followup.DigestActivity] != 1 || count[followup.SyncRosterActivity] != 5 {
		t.Errorf("activities %v", count)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "cohort.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "r0000") {
		t.Error("a person id is in the history")
	}
}
