package app

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
)

// Step is one follow-up step as the workflow asks for it.
type Step struct {
	WaveID       string
	AssignmentID string
	Cycle        int
	Kind         string // reminder, overdue, digest, escalate
	N            int
	Offset       time.Duration
}

// StepResult counts what a step did.
type StepResult struct {
	Notified   int
	Incomplete int
}

// SupervisorDigest is one supervisor's digest: ids and counts only.
type SupervisorDigest struct {
	SupervisorID string
	Overdue      int
}

// Roster counts a roster sync.
type Roster struct {
	Joined, Left, Incomplete int
}

// SyncRoster brings an assignment's cycle in line with the directory:
// people who joined its audience are assigned (due by the joiner policy),
// people who left it (or left the hospital) are dropped.
func (s *Service) SyncRoster(ctx context.Context, assignmentID string) (Roster, error) {
	as, err := s.o.Assignments.Get(ctx, Key(assignmentID))
	if err != nil {
		return Roster{}, notFound(err)
	}
	if as.Status() != domain.AssignmentActive {
		return Roster{}, nil
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return Roster{}, err
	}
	members := as.Audience().Resolve(d)
	in := make(map[string]bool, len(members))
	for _, m := range members {
		in[m] = true
	}
	ts, err := s.trainings(ctx, assignmentID)
	if err != nil {
		return Roster{}, err
	}
	var r Roster
	var leave, rejoin []string
	have := make(map[string]bool, len(ts))
	for _, t := range ts {
		have[t.PersonID()] = true
		switch {
		case !in[t.PersonID()] && t.Status() != domain.StatusRemoved:
			leave = append(leave, t.PersonID())
		case in[t.PersonID()] && t.Status() == domain.StatusRemoved:
			rejoin = append(rejoin, t.PersonID())
		case in[t.PersonID()] && t.Incomplete() && t.Cycle() == as.Cycle():
			r.Incomplete++
		}
	}
	var join []string
	for _, m := range members {
		if !have[m] {
			join = append(join, m)
		}
	}
	now := s.now()
	due := as.JoinerDue(now)
	var mu sync.Mutex
	joinEvent := func(p string) events.Event {
		return contract.TrainingAssigned{AssignmentID: as.ID(), ModuleID: as.ModuleID(), Cycle: as.Cycle(), PersonID: p, People: 1, DueAt: due, At: now}
	}
	err = parallel(ctx, s.o.Parallel, join, func(ctx context.Context, p string) error {
		err := s.o.Trainings.Create(ctx, Key(as.ID(), p), domain.NewTraining(as, p, due, "roster", now), joinEvent(p))
		if errors.Is(err, store.ErrExists) {
			return nil
		}
		if err == nil {
			mu.Lock()
			r.Joined++
			r.Incomplete++
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		return r, err
	}
	err = parallel(ctx, s.o.Parallel, rejoin, func(ctx context.Context, p string) error {
		return s.o.Trainings.Update(ctx, Key(as.ID(), p), func(t *domain.Training) ([]events.Event, error) {
			if !t.Rejoin(as.Cycle(), due, now) {
				return nil, nil
			}
			mu.Lock()
			r.Joined++
			r.Incomplete++
			mu.Unlock()
			return []events.Event{joinEvent(p)}, nil
		})
	})
	if err != nil {
		return r, err
	}
	err = parallel(ctx, s.o.Parallel, leave, func(ctx context.Context, p string) error {
		return s.o.Trainings.Update(ctx, Key(as.ID(), p), func(t *domain.Training) ([]events.Event, error) {
			if t.Remove(now) {
				mu.Lock()
				r.Left++
				mu.Unlock()
			}
			return nil, nil
		})
	})
	if err != nil {
		return r, err
	}
	if r.Joined != 0 || r.Left != 0 {
		err = s.o.Assignments.Update(ctx, Key(as.ID()), func(a *domain.Assignment) ([]events.Event, error) {
			a.Joined(r.Joined - r.Left)
			return nil, nil
		})
	}
	return r, err
}

// incomplete lists the active people of the assignment's current cycle
// who are neither completed nor exempt, read from the store now.
func (s *Service) incomplete(ctx context.Context, as *domain.Assignment, d *directory.Directory) ([]*domain.Training, error) {
	ts, err := s.trainings(ctx, as.ID())
	if err != nil {
		return nil, err
	}
	out := ts[:0]
	for _, t := range ts {
		if !t.Incomplete() || t.Cycle() != as.Cycle() {
			continue
		}
		if p, ok := d.Get(t.PersonID()); !ok || !p.Active {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *Service) stepSetup(ctx context.Context, st Step) (*domain.Assignment, *directory.Directory, []*domain.Training, error) {
	as, err := s.o.Assignments.Get(ctx, Key(st.AssignmentID))
	if err != nil {
		return nil, nil, nil, notFound(err)
	}
	if as.Status() != domain.AssignmentActive || as.Cycle() != st.Cycle {
		return as, nil, nil, nil // cancelled, or a stale step of an old cycle
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	inc, err := s.incomplete(ctx, as, d)
	return as, d, inc, err
}

// recordWave writes a step's record with its event once.
func (s *Service) recordWave(ctx context.Context, waveID string, n int, ev events.Event) error {
	return s.o.Waves.Upsert(ctx, Key(waveID), func(cur *Wave) (*Wave, []events.Event, error) {
		if cur != nil {
			return nil, nil, nil
		}
		return &Wave{WaveID: waveID, Recipients: n, At: s.now()}, []events.Event{ev}, nil
	})
}

// Remind sends a reminder (before the due date) or an overdue notice (at
// or after it) to exactly the people still incomplete. An overdue notice
// goes only to people past their own due date (a joiner may be due
// later) and marks their records overdue.
func (s *Service) Remind(ctx context.Context, st Step) (StepResult, error) {
	as, _, inc, err := s.stepSetup(ctx, st)
	if err != nil || len(inc) == 0 {
		return StepResult{}, err
	}
	now := s.now()
	overdue := st.Kind == "overdue"
	targets := inc
	if overdue {
		targets = overdueOf(inc, now)
		// Each record is marked with the wave's id, then its event is
		// published with an id derived from the wave and the person. A
		// retried wave publishes again for the records this wave marked
		// (the same ids, which JetStream and consumers de-duplicate) and
		// never for those an earlier wave marked. (An outbox round per
		// record would cost twice the round trips.)
		if err := parallel(ctx, s.o.Parallel, targets, func(ctx context.Context, t *domain.Training) error {
			key := Key(as.ID(), t.PersonID())
			var ev contract.TrainingOverdue
			mine := false
			err := s.o.Trainings.Update(ctx, key, func(t *domain.Training) ([]events.Event, error) {
				t.MarkOverdue(now, st.WaveID)
				mine = t.OverdueRef() == st.WaveID
				ev = contract.TrainingOverdue{AssignmentID: as.ID(), ModuleID: as.ModuleID(), Cycle: t.Cycle(), PersonID: t.PersonID(), DueAt: t.DueAt(), At: now}
				return nil, nil
			})
			if err != nil || !mine || s.o.Publish == nil {
				return err
			}
			return s.o.Publish(ctx, notify.DeriveID(st.WaveID, "overdue", t.PersonID()), key, ev)
		}); err != nil {
			return StepResult{}, err
		}
	}
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.PersonID()
	}
	tpl := notify.TemplateTrainingReminder
	if overdue {
		tpl = notify.TemplateTrainingOverdue
	}
	if err := s.send(ctx, st.WaveID, tpl, s.link("/my/trainings"), as.ID(), ids); err != nil {
		return StepResult{}, err
	}
	ev := contract.ReminderSent{AssignmentID: as.ID(), Cycle: as.Cycle(), Wave: st.Kind + "#" + strconv.Itoa(st.N),
		OffsetDays: st.Offset.Hours() / 24, Recipients: len(ids), At: now}
	if err := s.recordWave(ctx, st.WaveID, len(ids), ev); err != nil {
		return StepResult{}, err
	}
	return StepResult{Notified: len(ids), Incomplete: len(inc)}, nil
}

// overdue are the incomplete records past their own due date.
func overdueOf(inc []*domain.Training, now time.Time) []*domain.Training {
	var out []*domain.Training
	for _, t := range inc {
		if now.After(t.DueAt()) {
			out = append(out, t)
		}
	}
	return out
}

// Digests computes each supervisor's digest: every supervisor in the
// directory chain of an overdue person counts them.
func Digests(d *directory.Directory, overdue []*domain.Training) []SupervisorDigest {
	count := map[string]int{}
	for _, t := range overdue {
		for _, sup := range d.SupervisorChain(t.PersonID()) {
			count[sup.ID]++
		}
	}
	out := make([]SupervisorDigest, 0, len(count))
	for id, n := range count {
		out = append(out, SupervisorDigest{SupervisorID: id, Overdue: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SupervisorID < out[j].SupervisorID })
	return out
}

// Digest sends the weekly out-of-compliance digest to each supervisor of
// someone overdue. The notification is generic; the link opens the
// supervisor's own list of their reports' overdue items.
func (s *Service) Digest(ctx context.Context, st Step) (StepResult, []SupervisorDigest, error) {
	as, d, inc, err := s.stepSetup(ctx, st)
	if err != nil || d == nil {
		return StepResult{}, nil, err
	}
	over := overdueOf(inc, s.now())
	digests := Digests(d, over)
	if len(digests) == 0 {
		return StepResult{Incomplete: len(inc)}, nil, nil
	}
	sups := make([]string, len(digests))
	for i, g := range digests {
		sups[i] = g.SupervisorID
	}
	if err := s.send(ctx, st.WaveID, notify.TemplateDigest, s.link("/team/overdue"), as.ID(), sups); err != nil {
		return StepResult{}, nil, err
	}
	return StepResult{Notified: len(sups), Incomplete: len(inc)}, digests, nil
}

// Escalate tells the program director(s) how many people of the cohort
// are overdue: the assignment's escalation contacts, else the directory's
// program directors of the overdue people's departments, else the
// fallback channel.
func (s *Service) Escalate(ctx context.Context, st Step) (StepResult, error) {
	as, d, inc, err := s.stepSetup(ctx, st)
	if err != nil || d == nil {
		return StepResult{}, err
	}
	now := s.now()
	over := overdueOf(inc, now)
	if len(over) == 0 {
		return StepResult{Incomplete: len(inc)}, nil
	}
	to := slices.Clone(as.FollowUp().EscalateTo)
	if len(to) == 0 {
		depts := map[string]bool{}
		for _, t := range over {
			if p, ok := d.Get(t.PersonID()); ok {
				depts[p.Department] = true
			}
		}
		for _, p := range d.People() {
			if p.Active && depts[p.Department] && strings.EqualFold(strings.TrimSpace(p.Role), string(caller.ProgramDirector)) {
				to = append(to, p.ID)
			}
		}
	}
	if len(to) == 0 {
		if s.o.Notify != nil {
			if err := s.o.Notify(ctx, notify.NewFallbackRequest(notify.DeriveID("awareness", st.WaveID), "awareness",
				notify.TemplateTrainingEscalated, s.link("/reports/training/"+as.ID()), as.ID())); err != nil {
				return StepResult{}, err
			}
		}
	} else if err := s.send(ctx, st.WaveID, notify.TemplateTrainingEscalated, s.link("/reports/training/"+as.ID()), as.ID(), to); err != nil {
		return StepResult{}, err
	}
	ev := contract.TrainingEscalated{AssignmentID: as.ID(), Cycle: as.Cycle(), Overdue: len(over), Recipients: len(to), At: now}
	if err := s.recordWave(ctx, st.WaveID, len(to), ev); err != nil {
		return StepResult{}, err
	}
	return StepResult{Notified: len(to), Incomplete: len(inc)}, nil
}

// NextCycle starts cycle n of a recurring assignment at start: everyone
// still in the audience owes the training again. ended is true when the
// assignment no longer recurs (cancelled).
func (s *Service) NextCycle(ctx context.Context, assignmentID string, n int, start time.Time) (as *domain.Assignment, ended bool, err error) {
	now := s.now()
	err = s.o.Assignments.Update(ctx, Key(assignmentID), func(a *domain.Assignment) ([]events.Event, error) {
		as = a
		if !a.NextCycle(n, start) {
			return nil, nil
		}
		return []events.Event{contract.TrainingAssigned{AssignmentID: a.ID(), ModuleID: a.ModuleID(), Cycle: n, People: a.People(), DueAt: a.DueAt(), At: now}}, nil
	})
	if err != nil {
		return nil, false, notFound(err)
	}
	if as.Status() != domain.AssignmentActive || as.Cycle() != n {
		return as, true, nil
	}
	ts, err := s.trainings(ctx, assignmentID)
	if err != nil {
		return nil, false, err
	}
	err = parallel(ctx, s.o.Parallel, ts, func(ctx context.Context, t *domain.Training) error {
		return s.o.Trainings.Update(ctx, Key(assignmentID, t.PersonID()), func(t *domain.Training) ([]events.Event, error) {
			t.NewCycle(n, as.DueAt(), now)
			return nil, nil
		})
	})
	return as, false, err
}

// PersonChanged handles a directory change: a joiner is reached by live
// campaigns and assigned open trainings of their audiences; a leaver's
// open trainings are dropped.
//
// active is the person's state as the change event has it: a snapshot
// that does not show it yet is stale (ErrStale, to retry later).
func (s *Service) PersonChanged(ctx context.Context, person string, active bool) error {
	d, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	if p, ok := d.Get(person); (ok && p.Active) != active {
		return ErrStale
	}
	if p, ok := d.Get(person); ok && p.Active {
		if err := s.reachJoiner(ctx, d, person); err != nil {
			return err
		}
	}
	all, err := s.assignments.list(ctx, s.o.Assignments)
	if err != nil {
		return err
	}
	var actives []*domain.Assignment
	for _, as := range all {
		if as.Status() == domain.AssignmentActive {
			actives = append(actives, as)
		}
	}
	now := s.now()
	for _, as := range actives {
		in := as.Audience().Includes(d, person)
		due := as.JoinerDue(now)
		ev := contract.TrainingAssigned{AssignmentID: as.ID(), ModuleID: as.ModuleID(), Cycle: as.Cycle(), PersonID: person, People: 1, DueAt: due, At: now}
		delta := 0
		err := s.o.Trainings.Upsert(ctx, Key(as.ID(), person), func(t *domain.Training) (*domain.Training, []events.Event, error) {
			delta = 0
			switch {
			case t == nil && in:
				delta = 1
				return domain.NewTraining(as, person, due, "roster", now), []events.Event{ev}, nil
			case t == nil:
				return nil, nil, nil
			case in && t.Rejoin(as.Cycle(), due, now):
				delta = 1
				return t, []events.Event{ev}, nil
			case !in && t.Remove(now):
				delta = -1
				return t, nil, nil
			}
			return nil, nil, nil
		})
		if err != nil {
			return err
		}
		if delta != 0 {
			if err := s.o.Assignments.Update(ctx, Key(as.ID()), func(a *domain.Assignment) ([]events.Event, error) {
				a.Joined(delta)
				return nil, nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
