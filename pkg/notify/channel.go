package notify

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/deiops/deiops/pkg/bus"
)

// Channel delivers rendered notifications one way (email, webhook, log).
//
// Deliver returns nil when the message reached everyone it could reach
// through the channel, ErrNoRecipients (possibly wrapped) when the channel
// had nobody to deliver to, an error marked with bus.Permanent when a retry
// cannot help, and any other error when a retry may succeed. Errors must
// not contain email addresses, secrets or URLs.
type Channel interface {
	Name() string
	Deliver(ctx context.Context, m Message) error
}

// ErrNoRecipients says a channel had nobody to deliver a message to (every
// recipient lacks what the channel needs, or a fallback has no route).
var ErrNoRecipients = errors.New("no recipient reachable through this channel")

// Contact is one active recipient, resolved from the directory.
type Contact struct {
	PersonID string
	Email    string // restricted; empty when the directory has none
}

// Message is one notification ready for delivery.
type Message struct {
	NotificationID string
	Template       Template
	Subject        string
	Body           string
	Link           string
	Reference      string
	// Fallback means nobody eligible was named: channels deliver to their
	// fallback route (the fallback address, the webhook with fallback true).
	Fallback bool
	// To holds the active recipients (empty for a fallback).
	To []Contact
}

// retryError carries the texts of several failures without exposing them
// to errors.As: one permanent failure among retryable ones must not make
// the whole delivery permanent.
type retryError struct{ msg string }

func (e retryError) Error() string { return e.msg }

// combine folds per-recipient or per-channel failures into one error:
// permanent when every failure is permanent, retryable otherwise.
func combine(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	permanent := true
	for _, err := range errs {
		permanent = permanent && bus.IsPermanent(err)
	}
	if permanent {
		return bus.Permanent(joinError{errs: errs, msg: errorTexts(errs)})
	}
	return retryError{errorTexts(errs)}
}

// joinError is errors.Join on one line: its text becomes a dead-letter
// reason header, where a line break has no place.
type joinError struct {
	errs []error
	msg  string
}

func (e joinError) Error() string   { return e.msg }
func (e joinError) Unwrap() []error { return e.errs }

// memo remembers what already succeeded (a channel for a notification, an
// email to one recipient) so that a redelivery in the same process does not
// repeat it. It is bounded: the oldest keys are forgotten first.
type memo struct {
	mu    sync.Mutex
	set   map[string]struct{}
	order []string
	next  int
}

func newMemo(size int) *memo {
	return &memo{set: make(map[string]struct{}, size), order: make([]string, size)}
}

func (m *memo) has(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.set[key]
	return ok
}

func (m *memo) add(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.set[key]; ok {
		return
	}
	if old := m.order[m.next]; old != "" {
		delete(m.set, old)
	}
	m.order[m.next] = key
	m.set[key] = struct{}{}
	m.next = (m.next + 1) % len(m.order)
}

func memoKey(parts ...string) string { return strings.Join(parts, "\x00") }
