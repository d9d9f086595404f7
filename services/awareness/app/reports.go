package app

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/services/awareness/domain"
)

// Report groupings.
const (
	ByDepartment = "department"
	ByRole       = "role"
	ByCohort     = "cohort"
)

// ReportRow is one group of a report. A group smaller than the minimum
// cell size is Suppressed: its counts are zero and must not be shown.
type ReportRow struct {
	Group      string
	Suppressed bool
	People     int
	Completed  int
	Exempt     int
	Overdue    int
	Rate       float64 // completed (or attested) / (people - exempt)
}

// Report is a rate report with the platform's minimum cell size applied.
type Report struct {
	Subject     string
	By          string
	MinCellSize int
	Rows        []ReportRow
	Total       ReportRow
}

func groupOf(p directory.Person, by string) string {
	var g string
	switch by {
	case ByRole:
		g = p.Role
	case ByCohort:
		g = p.Cohort
	default:
		g = p.Department
	}
	if g == "" {
		return "(none)"
	}
	return g
}

func validBy(by string) error {
	switch by {
	case ByDepartment, ByRole, ByCohort:
		return nil
	}
	return unprocessable("unknown grouping", "by", "must be department, role or cohort")
}

// finish applies the minimum cell size. A group smaller than it is
// suppressed; when the suppressed groups together are still smaller (the
// total would give them away by subtraction), the next smallest groups
// are suppressed too (complementary suppression).
func (s *Service) finish(r *Report, groups map[string]*ReportRow) {
	r.MinCellSize = s.o.MinCellSize
	rows := make([]*ReportRow, 0, len(groups))
	for _, row := range groups {
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].People != rows[j].People {
			return rows[i].People < rows[j].People
		}
		return rows[i].Group < rows[j].Group
	})
	hidden, suppressed := 0, 0
	for _, row := range rows {
		if row.People < s.o.MinCellSize || (suppressed > 0 && hidden < s.o.MinCellSize) {
			hidden += row.People
			suppressed++
			*row = ReportRow{Group: row.Group, Suppressed: true}
		} else if den := row.People - row.Exempt; den > 0 {
			row.Rate = float64(row.Completed) / float64(den)
		}
		r.Rows = append(r.Rows, *row)
	}
	sort.Slice(r.Rows, func(i, j int) bool { return r.Rows[i].Group < r.Rows[j].Group })
	if r.Total.People < s.o.MinCellSize {
		r.Total = ReportRow{Group: "total", Suppressed: true}
	} else if den := r.Total.People - r.Total.Exempt; den > 0 {
		r.Total.Rate = float64(r.Total.Completed) / float64(den)
	}
}

// TrainingReport reports an assignment's current cycle by group.
func (s *Service) TrainingReport(ctx context.Context, a caller.Actor, assignmentID, by string) (Report, error) {
	if !manages(a) {
		return Report{}, ErrForbidden
	}
	if err := validBy(by); err != nil {
		return Report{}, err
	}
	as, err := s.o.Assignments.Get(ctx, Key(assignmentID))
	if err != nil {
		return Report{}, notFound(err)
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return Report{}, err
	}
	if err := s.syncTrainings(ctx); err != nil {
		return Report{}, err
	}
	r := Report{Subject: assignmentID, By: by, Total: ReportRow{Group: "total"}}
	groups := s.o.TrainingIndex.report(assignmentID, by, as.Cycle(), d, s.now())
	for _, row := range groups {
		r.Total.People += row.People
		r.Total.Completed += row.Completed
		r.Total.Exempt += row.Exempt
		r.Total.Overdue += row.Overdue
	}
	s.finish(&r, groups)
	return r, nil
}

// AttestationReport reports who attested a statement's current version,
// among its audience as the directory has it now.
func (s *Service) AttestationReport(ctx context.Context, a caller.Actor, statementID, by string) (Report, error) {
	if !manages(a) {
		return Report{}, ErrForbidden
	}
	if err := validBy(by); err != nil {
		return Report{}, err
	}
	st, err := s.current(ctx, statementID)
	if err != nil {
		return Report{}, err
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return Report{}, err
	}
	attested := map[string]bool{}
	if err := s.o.Attestations.Scan(ctx, Key(statementID, fmt.Sprint(st.Current()))+".*", func(_ string, at *domain.Attestation) error {
		attested[at.PersonID()] = true
		return nil
	}); err != nil {
		return Report{}, err
	}
	r := Report{Subject: fmt.Sprintf("%s@%d", statementID, st.Current()), By: by, Total: ReportRow{Group: "total"}}
	groups := map[string]*ReportRow{}
	for _, id := range st.Doc().Audience.Resolve(d) {
		p, _ := d.Get(id)
		g := groupOf(p, by)
		row := groups[g]
		if row == nil {
			row = &ReportRow{Group: g}
			groups[g] = row
		}
		for _, rr := range []*ReportRow{row, &r.Total} {
			rr.People++
			if attested[id] {
				rr.Completed++
			}
		}
	}
	s.finish(&r, groups)
	return r, nil
}

// OverdueItem is one overdue training of someone who reports to the caller.
type OverdueItem struct {
	PersonID     string
	AssignmentID string
	ModuleID     string
	Cycle        int
	DueAt        time.Time
	DaysOverdue  int
}

// MyReportsOverdue lists one page, by due date, of the overdue items of
// the people who report to the actor (directly or not): a supervisor's own
// list, never anyone else's.
func (s *Service) MyReportsOverdue(ctx context.Context, a caller.Actor, q TeamQuery) (page.Page[OverdueItem], error) {
	now := s.now()
	// Nothing due from now on is overdue yet.
	ts, err := s.team(ctx, a, q, now, func(t *domain.Training) bool { return t.Effective(now) == domain.StatusOverdue })
	out := page.Page[OverdueItem]{Next: ts.Next, Items: make([]OverdueItem, 0, len(ts.Items))}
	for _, t := range ts.Items {
		out.Items = append(out.Items, OverdueItem{PersonID: t.PersonID(), AssignmentID: t.AssignmentID(), ModuleID: t.ModuleID(), Cycle: t.Cycle(),
			DueAt: t.DueAt(), DaysOverdue: int(now.Sub(t.DueAt()) / domain.Day)})
	}
	return out, err
}
