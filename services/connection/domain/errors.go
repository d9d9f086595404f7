// Package domain holds the connection service's entities and their rules:
// profiles (opt-in, consent), matching rounds and their proposals,
// gatherings (capacity, RSVP, waitlist, story-circle topics) and groups.
// It imports no transport or storage package.
package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors the app layer maps to problems.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	ErrConflict  = errors.New("conflict")
)

// FieldError names one invalid input field (a JSON path).
type FieldError struct {
	Field  string
	Reason string
}

// ValidationError carries every invalid field of one input.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

type checker struct{ errs []FieldError }

func (c *checker) fail(field, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (c *checker) text(field, v string, maxLen int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		c.fail(field, "required")
	case utf8.RuneCountInString(v) > maxLen:
		c.fail(field, "at most %d characters", maxLen)
	case !utf8.ValidString(v):
		c.fail(field, "not valid UTF-8")
	}
}

func (c *checker) list(field string, vs []string, maxItems, maxLen int) {
	if len(vs) > maxItems {
		c.fail(field, "at most %d items", maxItems)
		return
	}
	for i, v := range vs {
		c.text(fmt.Sprintf("%s[%d]", field, i), v, maxLen, true)
	}
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return &ValidationError{Fields: c.errs}
}

// ValidID reports whether s is a usable id (person, group, gathering...).
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && strings.ContainsRune("._:-", r))
		if !ok {
			return false
		}
	}
	return true
}
