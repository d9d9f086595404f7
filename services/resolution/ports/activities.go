package ports

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/workflows/escalation"
)

// Activities implements escalation.Activities over the service.
type Activities struct {
	App       *app.Service
	Directory app.Directory
}

var _ escalation.Activities = (*Activities)(nil)

// ResolveTargets implements escalation.Activities. A role resolves to the
// active people whose directory role is that role in the case's
// department, or anywhere in the hospital when the department has none
// (a hospital-wide DEI office, for instance). A rotation's member on duty
// changes every ISO week, in member order.
func (a *Activities) ResolveTargets(ctx context.Context, in escalation.ResolveTargetsInput) (escalation.ResolveTargetsResult, error) {
	dir, err := a.Directory.Snapshot(ctx)
	if err != nil {
		return escalation.ResolveTargetsResult{}, fmt.Errorf("directory: %w", err)
	}
	var people []string
	add := func(ids ...string) {
		for _, id := range ids {
			if !slices.Contains(people, id) {
				people = append(people, id)
			}
		}
	}
	for _, t := range in.Targets {
		switch t.Kind {
		case escalation.TargetUser:
			if p, ok := dir.Get(t.ID); ok && p.Active {
				add(p.ID)
			}
		case escalation.TargetRole:
			add(RoleHolders(dir, t.Role, in.Department)...)
		case escalation.TargetRotation:
			if id := OnDuty(t.Members, in.At); id != "" {
				if p, ok := dir.Get(id); ok && p.Active {
					add(id)
				}
			}
		}
	}
	return escalation.ResolveTargetsResult{People: people}, nil
}

// RoleHolders returns the active people holding role in department, or
// hospital-wide when the department has none.
func RoleHolders(dir *directory.Directory, role, department string) []string {
	in := dir.MemberIDs(directory.Audience{Roles: []string{role}, Departments: []string{department}})
	if len(in) > 0 {
		return in
	}
	return dir.MemberIDs(directory.Audience{Roles: []string{role}})
}

// OnDuty returns the rotation member on duty at t: one per ISO week.
func OnDuty(members []string, t time.Time) string {
	if len(members) == 0 {
		return ""
	}
	weeks := t.UTC().Unix() / int64(7*24*time.Hour/time.Second)
	return members[int(weeks%int64(len(members)))]
}

// NotifyEscalation implements escalation.Activities.
func (a *Activities) NotifyEscalation(ctx context.Context, in escalation.NotifyEscalationInput) error {
	return nonRetryableIfGone(a.App.RecordEscalation(ctx, in))
}

// RequestCheckin implements escalation.Activities.
func (a *Activities) RequestCheckin(ctx context.Context, in escalation.RequestCheckinInput) error {
	return nonRetryableIfGone(a.App.RecordCheckin(ctx, in))
}

// OpenLinkedCase implements escalation.Activities.
func (a *Activities) OpenLinkedCase(ctx context.Context, in escalation.OpenLinkedCaseInput) (escalation.OpenLinkedCaseResult, error) {
	id, err := a.App.OpenLinked(ctx, in)
	if err != nil {
		return escalation.OpenLinkedCaseResult{}, nonRetryableIfGone(err)
	}
	return escalation.OpenLinkedCaseResult{CaseID: id}, nil
}

// nonRetryableIfGone stops retries for a case that no longer exists
// (deleted by retention) or an action the case refuses.
func nonRetryableIfGone(err error) error {
	if err == nil {
		return nil
	}
	if app.IsClientError(err) || isNotFound(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "CaseUnavailable", nil)
	}
	return err
}
