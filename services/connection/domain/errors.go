// Package domain holds the connection service's entities and their rules:
// profiles (opt-in, consent), matching rounds and their proposals,
// gatherings (capacity, RSVP, waitlist, story-circle topics) and groups.
// It imports no transport or storage package.
package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/deiops/deiops/pkg/fault"
)

// Errors of the domain, classified by the platform's kinds (pkg/fault).
var (
	ErrNotFound  = fault.New(fault.NotFound, "")
	ErrForbidden = fault.New(fault.Forbidden, "you may not do this")
	ErrConflict  = fault.New(fault.Conflict, "not possible in the current state")
)

type checker struct{ errs fault.Fields }

func (c *checker) fail(field, format string, args ...any) {
	c.errs.Add(field, fmt.Sprintf(format, args...))
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

func (c *checker) err() error { return c.errs.Err("the request has invalid fields") }

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
