package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/deiops/deiops/pkg/fault"
)

type stateError struct{ state string }

func (e *stateError) Error() string { return "in state " + e.state }
func (e *stateError) Fault() *fault.Error {
	return fault.New(fault.Conflict, "the thing is "+e.state)
}

func TestKindsAreFoundThroughWrapping(t *testing.T) {
	sentinel := fault.New(fault.Forbidden, "only the assignee")
	tests := []struct {
		err    error
		kind   fault.Kind
		detail string
	}{
		{fmt.Errorf("load: %w", fault.NotFound), fault.NotFound, ""},
		{fmt.Errorf("act: %w", sentinel), fault.Forbidden, "only the assignee"},
		{fmt.Errorf("case c1: %w", &stateError{"closed"}), fault.Conflict, "the thing is closed"},
		{errors.Join(errors.New("x"), fault.InvalidFields("bad", fault.Field{Field: "a", Reason: "r"})), fault.Invalid, "bad"},
		{fault.Retry("busy", 0, errors.New("cas")), fault.Unavailable, "busy"},
		{errors.New("plain"), "", ""},
	}
	for _, tc := range tests {
		if got := fault.KindOf(tc.err); got != tc.kind {
			t.Errorf("%v: kind %q, want %q", tc.err, got, tc.kind)
		}
		if f, ok := fault.As(tc.err); ok && f.Detail != tc.detail {
			t.Errorf("%v: detail %q, want %q", tc.err, f.Detail, tc.detail)
		}
		if tc.kind != "" && !errors.Is(tc.err, tc.kind) && tc.kind != fault.Conflict {
			t.Errorf("%v: errors.Is(kind) false", tc.err)
		}
	}
	if !errors.Is(fmt.Errorf("w: %w", sentinel), sentinel) {
		t.Fatal("a sentinel is found by identity too")
	}
}

func TestFieldsCollectsEveryProblem(t *testing.T) {
	var f fault.Fields
	if f.Err("x") != nil {
		t.Fatal("no problems, no error")
	}
	f.Add("a", "is required")
	f.Add("b[0].c", "too long")
	err := f.Err("invalid report")
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid || len(e.Fields) != 2 || e.Fields[1].Field != "b[0].c" {
		t.Fatalf("got %+v", e)
	}
}
