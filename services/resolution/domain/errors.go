package domain

import (
	"errors"
	"fmt"

	"github.com/deiops/deiops/pkg/fault"
)

// Domain errors, classified by the platform's kinds (pkg/fault), which the
// HTTP layer maps to statuses. Details name fields and limits, never values.
var (
	ErrConflictOfInterest = fault.InvalidFields("conflict of interest",
		fault.Field{Field: "assignee_id", Reason: "cannot handle this case (named, in a named person's chain, recused, or the reporter)"})
	ErrNotAssignee     = fault.New(fault.Forbidden, "only the assigned handler can do this")
	ErrNotReporter     = fault.New(fault.NotFound, "")
	ErrAlreadyAnswered = fault.New(fault.Conflict, "this check-in was already answered")
	ErrNoSuchCheckin   = fault.New(fault.NotFound, "")

	// Internal failures (a 500 if they ever reach a client).
	ErrCorruptSnapshot = errors.New("corrupt case snapshot")
	ErrBadCredential   = errors.New("malformed credential")
)

// TransitionError says an action does not fit the case's state; State is the
// current one so a client is told where the case stands (409).
type TransitionError struct {
	Action Action
	State  State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("invalid transition: cannot %s a case in state %s", e.Action, e.State)
}

// Fault implements fault.Classifier.
func (e *TransitionError) Fault() *fault.Error {
	return fault.New(fault.Conflict, "the case is "+string(e.State)+"; "+string(e.Action)+" is not possible now")
}

// invalidArg is an Invalid error whose detail names the argument and the
// rule (never restricted content).
func invalidArg(format string, args ...any) error {
	return fault.New(fault.Invalid, fmt.Sprintf(format, args...))
}
