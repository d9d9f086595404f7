package awareness_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
	"github.com/deiops/deiops/services/awareness/ports"
	"github.com/deiops/deiops/workflows/followup"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkAssignCohort assigns one module to DEIOPS_BENCH_PEOPLE (50,000)
// people on real servers and measures, in the same run:
//
//   - assign_s: until every person's record is durable and the cohort's
//     follow-up workflow has run its first task (its schedule exists);
//   - naive_s: the naive way, one record and one workflow per person
//     (counted when every start is accepted, which flatters it; with
//     DEIOPS_BENCH_NAIVE_PEOPLE smaller than the cohort it is measured on
//     that many and extrapolated linearly);
//   - speedup: naive_s / assign_s (target ≥ 10);
//   - reminder_wave_s, overdue_wave_s: one reminder wave and one overdue
//     wave (which also marks every record overdue) over the cohort (≤ 30 s);
//   - history_events: the cohort workflow's history after its first task.
//
// Never in CI: it runs only with DEIOPS_BENCH=1.
//
//	DEIOPS_BENCH=1 go test -run '^$' -bench AssignCohort -benchtime 1x -timeout 60m .
func BenchmarkAssignCohort(b *testing.B) {
	if os.Getenv("DEIOPS_BENCH") == "" {
		b.Skip("set DEIOPS_BENCH=1 to run (never in CI)")
	}
	n := envInt("DEIOPS_BENCH_PEOPLE", 50000)
	naiveN := min(envInt("DEIOPS_BENCH_NAIVE_PEOPLE", n), n)
	ts := temporaltest.NewServer()
	b.Cleanup(ts.Stop)
	w := startWith(b, ts, cohortOf(n))
	ctx := context.Background()
	officer := caller.Actor{ID: "off1", Roles: []caller.Role{caller.DEIOfficer}}
	if _, err := w.svc.App().CreateModule(ctx, officer, "bias-101", domain.ModuleInput{Title: "Bias"}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		// Ours: one cohort, one workflow.
		t0 := time.Now()
		as, err := w.svc.App().Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}},
			DueAt: time.Now().Add(60 * 24 * time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		testkit.Eventually(b, time.Minute, "follow-up answers queries", func() bool {
			_, err := w.temporal.QueryWorkflow(ctx, ports.WorkflowID(as.ID()), "", followup.QueryState)
			return err == nil
		})
		ours := time.Since(t0)
		hist := len(history(b, w.temporal, ports.WorkflowID(as.ID())).Events)

		// One reminder wave and one overdue wave over the whole cohort.
		t1 := time.Now()
		res, err := w.svc.App().Remind(ctx, app.Step{WaveID: as.ID() + ":bench:reminder", AssignmentID: as.ID(), Cycle: 1, Kind: "reminder", N: 1})
		if err != nil || res.Notified != n {
			b.Fatalf("reminder wave: %+v %v", res, err)
		}
		reminder := time.Since(t1)

		// The naive way: a record and a workflow per person.
		t2 := time.Now()
		var started atomic.Int64
		ids := make([]int, naiveN)
		for j := range ids {
			ids[j] = j + 1
		}
		naiveAs, err := domain.NewAssignment("naive", "off1", domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}},
			DueAt: time.Now().Add(60 * 24 * time.Hour)}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		err = parallelDo(ctx, 64, ids, func(ctx context.Context, j int) error {
			person := fmt.Sprintf("r%05d", j)
			if err := w.svc.Stores().Trainings.Create(ctx, app.Key("naive", person), domain.NewTraining(naiveAs, person, naiveAs.DueAt(), "assignment", time.Now())); err != nil {
				return err
			}
			_, err := w.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "naive-" + person, TaskQueue: "deiops-awareness"}, followup.WorkflowName,
				followup.Input{AssignmentID: "naive-" + person, Cycle: 1, CycleStart: time.Now(), DueAt: naiveAs.DueAt()})
			if err == nil {
				started.Add(1)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		naive := time.Since(t2)
		naiveScaled := naive.Seconds() * float64(n) / float64(naiveN)

		// Overdue wave last, two days past the due date (a second app over
		// the same buckets, with its clock moved): it marks every record
		// overdue, with an event each, and notifies everyone.
		st := w.svc.Stores()
		var notified atomic.Int64
		idx, follower := st.TrainingReadModel(nil)
		go follower.Run(b.Context())
		late := app.New(app.Options{TrainingIndex: idx, SyncTrainings: follower.Sync, Campaigns: st.Campaigns, Reach: st.Reach, Statements: st.Statements, Versions: st.Versions,
			Attestations: st.Attestations, Modules: st.Modules, Assignments: st.Assignments, Trainings: st.Trainings, Ingest: st.Ingest,
			Waves: st.Waves, Directory: w.dir, PublicURL: "https://deiops.example.org",
			Now: func() time.Time { return as.DueAt().Add(48 * time.Hour) }, Publish: w.publish,
			Notify: func(_ context.Context, r notify.Requested) error {
				notified.Add(int64(len(r.Recipients)))
				return r.Validate()
			}})
		t3 := time.Now()
		res, err = late.Remind(ctx, app.Step{WaveID: as.ID() + ":bench:overdue", AssignmentID: as.ID(), Cycle: 1, Kind: "overdue", N: 1})
		if err != nil || res.Notified != n || notified.Load() != int64(n) {
			b.Fatalf("overdue wave: %+v (%d notified) %v", res, notified.Load(), err)
		}
		overdue := time.Since(t3)

		b.ReportMetric(float64(n), "people")
		b.ReportMetric(ours.Seconds(), "assign_s")
		b.ReportMetric(naiveScaled, "naive_s")
		b.ReportMetric(naiveScaled/ours.Seconds(), "speedup")
		b.ReportMetric(reminder.Seconds(), "reminder_wave_s")
		b.ReportMetric(overdue.Seconds(), "overdue_wave_s")
		b.ReportMetric(float64(hist), "history_events")
		b.Logf("people %d: assign %s, naive %s for %d (%.1fs scaled), reminder wave %s, overdue wave %s (notified %d), history %d events",
			n, ours, naive, naiveN, naiveScaled, reminder, overdue, res.Notified, hist)
	}
}

// parallelDo runs fn over items with n workers, stopping at the first error.
func parallelDo(ctx context.Context, n int, items []int, fn func(context.Context, int) error) error {
	ch := make(chan int)
	errs := make(chan error, n)
	for range n {
		go func() {
			var first error
			for it := range ch {
				if first == nil {
					first = fn(ctx, it)
				}
			}
			errs <- first
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
