package app

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
)

// CreateModule adds a module to the catalog.
func (s *Service) CreateModule(ctx context.Context, a caller.Actor, id string, in domain.ModuleInput) (*domain.Module, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	derived := id == ""
	if derived {
		id = NewID(ctx, "mod")
	}
	m, err := domain.NewModule(id, in, s.now())
	if err != nil {
		return nil, err
	}
	if in.LMSActivityID != "" {
		if other, _ := s.moduleByActivity(ctx, in.LMSActivityID); other != nil {
			return nil, unprocessable("another module has this LMS activity id", "lms_activity_id", "already used by module "+other.ID())
		}
	}
	if derived { // an existing module is this request's first attempt
		return store.CreateOnce(ctx, s.o.Modules, Key(id), m)
	}
	err = s.o.Modules.Create(ctx, Key(id), m)
	if errors.Is(err, store.ErrExists) {
		return nil, ErrConflict
	}
	return m, err
}

// EditModule changes a module.
func (s *Service) EditModule(ctx context.Context, a caller.Actor, id string, in domain.ModuleInput) (*domain.Module, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out *domain.Module
	err := s.o.Modules.Update(ctx, Key(id), func(m *domain.Module) ([]events.Event, error) {
		out = m
		return nil, m.Edit(in, s.now())
	})
	return out, notFound(err)
}

// Module returns a module.
func (s *Service) Module(ctx context.Context, id string) (*domain.Module, error) {
	m, err := s.o.Modules.Get(ctx, Key(id))
	return m, notFound(err)
}

// Modules lists the catalog.
func (s *Service) Modules(ctx context.Context) ([]*domain.Module, error) {
	var out []*domain.Module
	err := s.o.Modules.Scan(ctx, ">", func(_ string, m *domain.Module) error { out = append(out, m); return nil })
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out, err
}

func (s *Service) moduleByActivity(ctx context.Context, activity string) (*domain.Module, error) {
	ms, err := s.modules.list(ctx, s.o.Modules)
	for _, m := range ms {
		if m.Input().LMSActivityID == activity {
			return m, err
		}
	}
	return nil, err
}

// Assign assigns a module to an audience: the audience is resolved
// against the directory now, every member gets a record (written in
// parallel), the assignment becomes active with its event, and its
// follow-up workflow starts.
func (s *Service) Assign(ctx context.Context, a caller.Actor, in domain.AssignmentInput) (*domain.Assignment, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	now := s.now()
	as, err := domain.NewAssignment(NewID(ctx, "asg"), a.ID, in, now)
	if err != nil {
		return nil, err
	}
	if _, err := s.o.Modules.Get(ctx, Key(in.ModuleID)); err != nil {
		if isNotFound(err) {
			return nil, unprocessable("unknown module", "module_id", "no module with this id in the catalog")
		}
		return nil, err
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	members := as.Audience().Resolve(d)
	if len(members) == 0 {
		return nil, unprocessable("the audience resolves to nobody in the directory", "audience", "no active person matches these criteria")
	}
	// A retry finds its first attempt's assignment and finishes its work.
	if as, err = store.CreateOnce(ctx, s.o.Assignments, Key(as.ID()), as); err != nil {
		return nil, err
	}
	if err := parallel(ctx, s.o.Parallel, members, func(ctx context.Context, p string) error {
		err := s.o.Trainings.Create(ctx, Key(as.ID(), p), domain.NewTraining(as, p, as.DueAt(), "assignment", now))
		if errors.Is(err, store.ErrExists) {
			return nil
		}
		return err
	}); err != nil {
		return nil, err
	}
	err = s.o.Assignments.Update(ctx, Key(as.ID()), func(cur *domain.Assignment) ([]events.Event, error) {
		as = cur
		if cur.Status() != domain.AssignmentProvisioning {
			return nil, nil // activated by the first attempt, with its event
		}
		cur.Activate(len(members))
		return []events.Event{contract.TrainingAssigned{AssignmentID: cur.ID(), ModuleID: cur.ModuleID(), Cycle: cur.Cycle(),
			People: len(members), DueAt: cur.DueAt(), At: now}}, nil
	})
	if err != nil {
		return nil, err
	}
	// The request does not wait long on Temporal: the assignment stands
	// and the reconciler starts the follow-up later.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.startFollowUp(sctx, as); err != nil {
		s.o.Logger.WarnContext(ctx, "follow-up not started yet", "assignment_id", as.ID(), "error", err)
	}
	return as, nil
}

func (s *Service) startFollowUp(ctx context.Context, as *domain.Assignment) error {
	if s.o.FollowUps == nil || as.WorkflowStarted() {
		return nil
	}
	if err := s.o.FollowUps.Start(ctx, as); err != nil {
		return err
	}
	return s.o.Assignments.Update(ctx, Key(as.ID()), func(cur *domain.Assignment) ([]events.Event, error) {
		cur.MarkWorkflowStarted()
		*as = *cur
		return nil, nil
	})
}

// StartPendingFollowUps starts the follow-up of active assignments whose
// workflow did not start (Temporal was down at assignment).
func (s *Service) StartPendingFollowUps(ctx context.Context) error {
	var pending []*domain.Assignment
	if err := s.o.Assignments.Scan(ctx, ">", func(_ string, as *domain.Assignment) error {
		if as.Status() == domain.AssignmentActive && !as.WorkflowStarted() {
			pending = append(pending, as)
		}
		return nil
	}); err != nil {
		return err
	}
	var errs []error
	for _, as := range pending {
		errs = append(errs, s.startFollowUp(ctx, as))
	}
	return errors.Join(errs...)
}

// Assignment returns an assignment (managers).
func (s *Service) Assignment(ctx context.Context, a caller.Actor, id string) (*domain.Assignment, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	as, err := s.o.Assignments.Get(ctx, Key(id))
	return as, notFound(err)
}

// Assignments lists assignments (managers).
func (s *Service) Assignments(ctx context.Context, a caller.Actor) ([]*domain.Assignment, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out []*domain.Assignment
	err := s.o.Assignments.Scan(ctx, ">", func(_ string, as *domain.Assignment) error { out = append(out, as); return nil })
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt().Before(out[j].CreatedAt()) })
	return out, err
}

// trainings lists the records of an assignment, by person.
func (s *Service) trainings(ctx context.Context, assignmentID string) ([]*domain.Training, error) {
	if err := s.syncTrainings(ctx); err != nil {
		return nil, err
	}
	var out []*domain.Training
	s.o.TrainingIndex.eachOfAssignment(assignmentID, func(t *domain.Training) { out = append(out, t) })
	return out, nil
}

// AssignmentPeople lists one page of an assignment's people and their
// status, by person id (managers).
func (s *Service) AssignmentPeople(ctx context.Context, a caller.Actor, id string, q TrainingPeopleQuery) (page.Page[*domain.Training], error) {
	limit, err := limitOf(q.Limit)
	if err != nil {
		return page.Page[*domain.Training]{}, err
	}
	var keep func(*domain.Training) bool
	if q.Status != "" {
		if !slices.Contains(trainingStatuses, domain.Status(q.Status)) {
			return page.Page[*domain.Training]{}, unprocessable("unknown status", "status", "must be one of "+statusList())
		}
		now := s.now()
		keep = func(t *domain.Training) bool { return string(t.Effective(now)) == q.Status }
	}
	if _, err := s.Assignment(ctx, a, id); err != nil {
		return page.Page[*domain.Training]{}, err
	}
	if err := s.syncTrainings(ctx); err != nil {
		return page.Page[*domain.Training]{}, err
	}
	return s.o.TrainingIndex.assignmentPage(id, q.After, limit, keep)
}

// trainingStatuses are the statuses a list can be filtered by.
var trainingStatuses = []domain.Status{domain.StatusAssigned, domain.StatusInProgress, domain.StatusOverdue,
	domain.StatusCompleted, domain.StatusExempt, domain.StatusRemoved}

// TrainingStatusNames are the statuses a list can be filtered by.
func TrainingStatusNames() []string {
	var out []string
	for _, st := range trainingStatuses {
		out = append(out, string(st))
	}
	return out
}

func statusList() string { return strings.Join(TrainingStatusNames(), ", ") }

// Exempt exempts a person from the current cycle of an assignment.
func (s *Service) Exempt(ctx context.Context, a caller.Actor, assignmentID, person, reason string) (*domain.Training, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out *domain.Training
	err := s.o.Trainings.Update(ctx, Key(assignmentID, person), func(t *domain.Training) ([]events.Event, error) {
		out = t
		changed, err := t.Exempt(reason, a.ID, s.now())
		if err != nil || !changed {
			return nil, err
		}
		return []events.Event{contract.TrainingExempted{AssignmentID: assignmentID, ModuleID: t.ModuleID(), Cycle: t.Cycle(),
			PersonID: person, By: a.ID, At: s.now()}}, nil
	})
	if errors.Is(err, domain.ErrState) {
		return nil, unprocessable("a completed training cannot be exempted", "person_id", "already completed this cycle")
	}
	return out, notFound(err)
}

// MyTrainings lists the actor's own training records, by due date.
func (s *Service) MyTrainings(ctx context.Context, a caller.Actor) ([]*domain.Training, error) {
	if err := s.syncTrainings(ctx); err != nil {
		return nil, err
	}
	return s.o.TrainingIndex.personRecords(a.ID), nil
}

// StartTraining marks the actor's training in progress.
func (s *Service) StartTraining(ctx context.Context, a caller.Actor, assignmentID string) (*domain.Training, error) {
	var out *domain.Training
	err := s.o.Trainings.Update(ctx, Key(assignmentID, a.ID), func(t *domain.Training) ([]events.Event, error) {
		out = t
		t.Start(s.now())
		return nil, nil
	})
	return out, notFound(err)
}

// TeamTrainings lists one page, by due date, of the training records of
// the active people who report to the actor, directly or not (supervisors
// and department leads).
func (s *Service) TeamTrainings(ctx context.Context, a caller.Actor, q TeamQuery) (page.Page[*domain.Training], error) {
	return s.team(ctx, a, q, time.Time{}, nil)
}

func (s *Service) team(ctx context.Context, a caller.Actor, q TeamQuery, until time.Time, keep func(*domain.Training) bool) (page.Page[*domain.Training], error) {
	limit, err := limitOf(q.Limit)
	if err != nil {
		return page.Page[*domain.Training]{}, err
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return page.Page[*domain.Training]{}, err
	}
	if err := s.syncTrainings(ctx); err != nil {
		return page.Page[*domain.Training]{}, err
	}
	return s.o.TrainingIndex.teamPage(d, a.ID, q.After, limit, until, keep)
}

// complete applies a completion of module by person to every active
// assignment of the module the person holds, and returns how many
// records changed (0: duplicate, or nothing assigned).
func (s *Service) complete(ctx context.Context, person, module string, c completion) (int, error) {
	all, err := s.assignments.list(ctx, s.o.Assignments)
	if err != nil {
		return 0, err
	}
	var ids []string
	for _, as := range all {
		if as.ModuleID() == module && as.Status() != domain.AssignmentCancelled {
			ids = append(ids, as.ID())
		}
	}
	n := 0
	for _, id := range ids {
		changed := false
		err := s.o.Trainings.Update(ctx, Key(id, person), func(t *domain.Training) ([]events.Event, error) {
			changed = t.Complete(c.at, c.by, c.source, c.ref, s.now())
			if !changed {
				return nil, nil
			}
			return []events.Event{contract.TrainingCompleted{AssignmentID: id, ModuleID: module, Cycle: t.Cycle(), PersonID: person,
				Source: c.source, CompletedAt: c.at}}, nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, err
		}
		if err == nil && changed {
			n++
		}
	}
	return n, nil
}

// CancelAssignment stops an assignment: later follow-up steps notify
// nobody, no new cycle starts, and the workflow ends at its next step past
// the due date.
func (s *Service) CancelAssignment(ctx context.Context, a caller.Actor, id string) (*domain.Assignment, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out *domain.Assignment
	err := s.o.Assignments.Update(ctx, Key(id), func(as *domain.Assignment) ([]events.Event, error) {
		out = as
		return nil, as.Cancel()
	})
	if errors.Is(err, domain.ErrState) {
		return nil, ErrConflict
	}
	return out, notFound(err)
}
