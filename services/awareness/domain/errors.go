package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/deiops/deiops/pkg/directory"
)

// ErrState means the entity is not in a state that allows the change.
var ErrState = errors.New("not allowed in the current state")

// FieldError is one problem with one input field.
type FieldError struct {
	Field  string
	Reason string
}

// ValidationError lists every problem with an input.
type ValidationError struct {
	Detail string
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Detail)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Reason)
	}
	return b.String()
}

// problems collects field errors.
type problems []FieldError

func (p *problems) add(field, reason string) { *p = append(*p, FieldError{field, reason}) }

func (p problems) err(detail string) error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Detail: detail, Fields: p}
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
