package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/fault"
)

// ErrState means the entity is not in a state that allows the change.
var ErrState = fault.New(fault.Conflict, "not possible in the current state")

// problems collects field errors.
type problems []fault.Field

func (p *problems) add(field, reason string) {
	*p = append(*p, fault.Field{Field: field, Reason: reason})
}

func (p problems) err(detail string) error {
	if len(p) == 0 {
		return nil
	}
	return fault.InvalidFields(detail, p...)
}

func (p *problems) text(field, v string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		p.add(field, "is required")
	case utf8.RuneCountInString(v) > max:
		p.add(field, fmt.Sprintf("must be at most %d characters", max))
	case !utf8.ValidString(v):
		p.add(field, "must be valid UTF-8")
	}
}

func (p *problems) id(field, v string) {
	if !directory.ValidID(v) {
		p.add(field, "must be 1 to 128 letters, digits and . _ : -")
	}
}
