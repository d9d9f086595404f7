package domain

import "fmt"

// Error is a domain error code. A string type keeps the sentinels constant
// (no package-level mutable state) while errors.Is still works.
type Error string

func (e Error) Error() string { return string(e) }

// Domain errors. Ports map them to HTTP statuses: ErrValidation and
// ErrInvalidArgument → 422, ErrInvalidTransition → 409 with the current
// state, ErrConflictOfInterest and ErrNotAssignee → 403.
const (
	ErrValidation         Error = "validation failed"
	ErrInvalidArgument    Error = "invalid argument"
	ErrInvalidTransition  Error = "invalid transition"
	ErrConflictOfInterest Error = "conflict of interest"
	ErrNotAssignee        Error = "not the assigned handler"
	ErrCorruptSnapshot    Error = "corrupt case snapshot"
	ErrBadCredential      Error = "malformed credential"
	ErrNotReporter        Error = "not the case's reporter"
	ErrAlreadyAnswered    Error = "check-in already answered"
	ErrNoSuchCheckin      Error = "no such check-in"
)

// TransitionError says an action does not fit the case's state; State is the
// current one so a port can answer 409 with it.
type TransitionError struct {
	Action Action
	State  State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s: cannot %s a case in state %s", ErrInvalidTransition, e.Action, e.State)
}

// Is makes errors.Is(err, ErrInvalidTransition) hold.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

func invalidArg(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}
