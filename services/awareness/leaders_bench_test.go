package awareness_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
)

// orgOf is a health system of about n people: a CEO, 10 vice presidents,
// 50 department leads, supervisors of 25 people each, all in cohort 2026.
func orgOf(n int) []directory.Person {
	p := func(id, sup, dept string) directory.Person {
		return directory.Person{ID: id, DisplayName: "P", Department: dept, Role: "staff", Cohort: "2026", SupervisorID: sup, Active: true}
	}
	ps := []directory.Person{p("ceo", "", "exec")}
	for v := range 10 {
		ps = append(ps, p(fmt.Sprintf("vp%d", v), "ceo", "exec"))
	}
	for l := range 50 {
		ps = append(ps, p(fmt.Sprintf("lead%02d", l), fmt.Sprintf("vp%d", l%10), fmt.Sprintf("d%02d", l)))
	}
	sups := max(1, (n-len(ps))/26)
	for s := range sups {
		lead := s % 50
		ps = append(ps, p(fmt.Sprintf("s%05d", s), fmt.Sprintf("lead%02d", lead), fmt.Sprintf("d%02d", lead)))
	}
	for i := 0; len(ps) < n; i++ {
		s := i % sups
		ps = append(ps, p(fmt.Sprintf("e%06d", i), fmt.Sprintf("s%05d", s), fmt.Sprintf("d%02d", s%50)))
	}
	return ps
}

// BenchmarkLeaderViews measures, through the HTTP API on real NATS and
// Temporal, the first page of the leaders' views and an assignment's
// people and the completion report by department, at 1,000 and at
// DEIOPS_BENCH_PEOPLE (300,000) people each holding one overdue training:
// p50 and p99 of each, and p99 at the large size ÷ p99 at 1,000 (a flat
// cost gives about 1). The CEO has everyone below; a supervisor 25 people.
//
// Never in CI: it runs only with DEIOPS_BENCH=1.
//
//	DEIOPS_BENCH=1 go test -run '^$' -bench LeaderViews -benchtime 1x -timeout 60m .
func BenchmarkLeaderViews(b *testing.B) {
	if os.Getenv("DEIOPS_BENCH") == "" {
		b.Skip("set DEIOPS_BENCH=1 to run (never in CI)")
	}
	large := envInt("DEIOPS_BENCH_PEOPLE", 300_000)
	rounds := envInt("DEIOPS_BENCH_ROUNDS", 200)
	type query struct{ name, who, path string }
	queries := []query{
		{"team_ceo", "ceo", "/v1/team/trainings"},
		{"team_supervisor", "s00007", "/v1/team/trainings"},
		{"overdue_ceo", "ceo", "/v1/team/overdue"},
		{"overdue_supervisor", "s00007", "/v1/team/overdue"},
		{"assignment_people", "off1", "/v1/training/assignments/{id}/people?status=overdue"},
		{"report_by_department", "off1", "/v1/reports/training/{id}?by=department"},
	}
	p99 := map[string]map[int]time.Duration{}
	for _, n := range []int{1000, large} {
		ts := temporaltest.NewServer()
		w := startWith(b, ts, orgOf(n))
		ctx := context.Background()
		officer := caller.Actor{ID: "off1", Roles: []caller.Role{caller.DEIOfficer}}
		if _, err := w.svc.App().CreateModule(ctx, officer, "bias-101", domain.ModuleInput{Title: "Bias"}); err != nil {
			b.Fatal(err)
		}
		due := time.Now().Add(3 * time.Second)
		start := time.Now()
		as, err := w.svc.App().Assign(ctx, officer, domain.AssignmentInput{ModuleID: "bias-101", Audience: domain.Audience{Cohorts: []string{"2026"}}, DueAt: due})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d people: assigned in %v", n, time.Since(start).Round(time.Millisecond))
		rt := httpapi.NewRouter(httpapi.RouterOptions{Title: "bench", Version: "1"})
		w.svc.Routes(rt)
		// The first question waits until the read model holds the 300,000
		// writes of the assignment; time it apart.
		start = time.Now()
		warm := httptest.NewRequest(http.MethodGet, "/v1/team/trainings", nil).WithContext(
			auth.WithPrincipal(ctx, &auth.Principal{Subject: "ceo", Roles: []string{string(caller.Supervisor)}}))
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, warm)
		if rec.Code != http.StatusOK {
			b.Fatalf("warm-up: %d %s", rec.Code, rec.Body.String())
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Logf("%d people: read model caught up %v after the assignment; heap in use %d MiB", n, time.Since(start).Round(time.Millisecond), ms.HeapInuse>>20)
		// The questions are asked once every record is overdue.
		ceo := caller.Actor{ID: "ceo", Roles: []caller.Role{caller.Supervisor}}
		testkit.Eventually(b, time.Minute, "the CEO's overdue list fills", func() bool {
			p, err := w.svc.App().MyReportsOverdue(ctx, ceo, app.TeamQuery{Limit: 1})
			return err == nil && len(p.Items) == 1
		})
		for _, q := range queries {
			path := strings.ReplaceAll(q.path, "{id}", as.ID())
			roles := []string{string(caller.Supervisor)}
			if q.who == "off1" {
				roles = []string{string(caller.DEIOfficer)}
			}
			rctx := auth.WithPrincipal(ctx, &auth.Principal{Subject: q.who, Roles: roles})
			took := make([]time.Duration, 0, rounds)
			for range rounds {
				req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(rctx)
				rec := httptest.NewRecorder()
				t := time.Now()
				rt.ServeHTTP(rec, req)
				took = append(took, time.Since(t))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s at %d: %d %s", q.name, n, rec.Code, rec.Body.String())
				}
			}
			slices.Sort(took)
			p50, p := took[len(took)/2], took[len(took)*99/100]
			if p99[q.name] == nil {
				p99[q.name] = map[int]time.Duration{}
			}
			p99[q.name][n] = p
			b.Logf("%d people, %s: p50 %v, p99 %v", n, q.name, p50.Round(10*time.Microsecond), p.Round(10*time.Microsecond))
		}
		ts.Stop()
	}
	for _, q := range queries {
		big, small := p99[q.name][large], p99[q.name][1000]
		b.ReportMetric(float64(big.Microseconds())/1000, q.name+"_p99_ms")
		b.ReportMetric(float64(big)/float64(small), q.name+"_p99_ratio")
	}
}
