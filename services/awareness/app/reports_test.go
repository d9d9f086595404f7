package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
)

// TestReportSuppressesSmallCellsAndTheirComplement: with a minimum cell
// size of 3, a department of 1 is suppressed, and so is the next smallest
// (4), or the total minus the rest would reveal the 1.
func TestReportSuppressesSmallCellsAndTheirComplement(t *testing.T) {
	e := newEnv(t)
	e.module("bias-101", "")
	add := func(dept string, n int) {
		for i := range n {
			e.dir.put(directory.Person{ID: fmt.Sprintf("%s%d", dept, i), Department: dept, Cohort: "2026"})
		}
	}
	add("dei", 1)
	add("surg", 4)
	add("med", 6)
	ctx := context.Background()
	as := must(e.app.Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}}, DueAt: e.clock.Now().Add(day)}))
	must3(e.app.RecordCompletion(ctx, integr, app.CompletionInput{PersonID: "med0", ModuleID: "bias-101", CompletedAt: e.clock.Now()}))
	rep := must(e.app.TrainingReport(ctx, officer, as.ID(), app.ByDepartment))
	got := map[string]app.ReportRow{}
	for _, r := range rep.Rows {
		got[r.Group] = r
	}
	if !got["dei"].Suppressed || !got["surg"].Suppressed || got["surg"].People != 0 {
		t.Errorf("small and complementary cells shown: %+v", rep.Rows)
	}
	if m := got["med"]; m.Suppressed || m.People != 6 || m.Completed != 1 {
		t.Errorf("med %+v", m)
	}
	if rep.Total.People != 11 || rep.MinCellSize != 3 {
		t.Errorf("total %+v", rep.Total)
	}
	if _, err := e.app.TrainingReport(ctx, officer, as.ID(), "site"); err == nil {
		t.Error("unknown grouping accepted")
	}
}
