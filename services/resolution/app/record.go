// Package app holds the resolution service's use cases: intake, the
// reporter's view, handler actions, the follow-up the escalation workflow
// asks for, and who may see what. It depends on the domain and on small
// interfaces to its stores; transports live in ports, storage in adapters.
package app

import (
	"cmp"
	"context"
	"time"

	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/resolution/domain"
)

// Record is what the service keeps per case: the domain aggregate and the
// facts around it that the process, not the domain, owns.
type Record struct {
	Case *domain.Case
	// ReporterHash is the keyed hash of a named reporter's id ("" when
	// anonymous): it finds a reporter's cases without storing who they are
	// in clear.
	ReporterHash string
	// ExcludedHashes are keyed hashes of the people named in the report and
	// of their supervisory chains at intake. Access checks also recompute
	// the chains from the current directory.
	ExcludedHashes []string
	// Escalations lists every escalation notice sent; its recipients may
	// act on the case.
	Escalations []Escalation
	// CaseKey is an anonymous case's key (restricted, sealed at rest), kept
	// so that retention can delete the key with the case.
	CaseKey string
	// Intake is the fingerprint of the request that opened the case when it
	// carried an Idempotency-Key: a retry with another body is refused.
	Intake string
	// Applied lists the latest requests with an Idempotency-Key that
	// changed the case (notes, messages), so that a retry finds its first
	// result in the same write that made it.
	Applied []Applied
}

// Applied is one request that changed a case, and what it made.
type Applied struct {
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
	Ref         int    `json:"ref"`
}

// MaxApplied bounds Record.Applied: retries come within minutes, and the
// idempotency store answers older ones while it remembers them.
const MaxApplied = 256

// Once names one request across its retries: a keyed hash of the caller
// and the request's Idempotency-Key, and a fingerprint of the request. The
// zero Once is a request without a key.
type Once struct {
	Key         string
	Fingerprint string
}

// errReused refuses a key that was first used for another request.
var errReused = fault.New(fault.Invalid, "this Idempotency-Key was already used for a different request")

// applied returns what the request made when it was already applied.
func (r *Record) applied(o Once) (ref int, found bool, err error) {
	if o.Key == "" {
		return 0, false, nil
	}
	for _, a := range r.Applied {
		if a.Key == o.Key {
			if a.Fingerprint != o.Fingerprint {
				return 0, true, errReused
			}
			return a.Ref, true, nil
		}
	}
	return 0, false, nil
}

// remember records that the request made ref, in the write it is part of.
func (r *Record) remember(o Once, ref int) {
	if o.Key == "" {
		return
	}
	r.Applied = append(r.Applied, Applied{Key: o.Key, Fingerprint: o.Fingerprint, Ref: ref})
	if n := len(r.Applied) - MaxApplied; n > 0 {
		r.Applied = append([]Applied(nil), r.Applied[n:]...)
	}
}

// Escalation is one escalation notice the workflow sent.
type Escalation struct {
	NotificationID string    `json:"notification_id"`
	Round          int       `json:"round"`
	Level          string    `json:"level"`
	Attempt        int       `json:"attempt"`
	Recipients     []string  `json:"recipients"`
	At             time.Time `json:"at"`
}

// Notified reports whether person received an escalation notice.
func (r *Record) Notified(person string) bool {
	for _, e := range r.Escalations {
		for _, p := range e.Recipients {
			if p == person {
				return true
			}
		}
	}
	return false
}

// Cases stores case records with their events. Create writes a new record
// and evs; Update loads, calls fn, and writes the record with the events fn
// returns, through the outbox of one compare-and-set write (fn may run
// more than once). Both answer ErrNotFound / ErrExists as their names say.
type Cases interface {
	Create(ctx context.Context, r *Record, extra ...events.Event) error
	Get(ctx context.Context, id string) (*Record, error)
	Update(ctx context.Context, id string, fn func(*Record) ([]events.Event, error)) error
}

// Credential is an anonymous reporter's stored key entry.
type Credential struct {
	CaseID   string
	Verifier domain.Verifier
}

// Credentials maps anonymous case keys to cases.
type Credentials interface {
	// Create stores a new key; ErrKeyTaken when it exists.
	Create(ctx context.Context, key string, c Credential) error
	// Get returns ErrUnknownKey when the key does not exist.
	Get(ctx context.Context, key string) (Credential, error)
	// Replace stores a new verifier for an existing key.
	Replace(ctx context.Context, key string, c Credential) error
}

// AuditEntry is one read or write of a case: who, when, what — never content.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`   // person id, "reporter" for the reporter, "system"
	Action  string    `json:"action"`  // e.g. read, triage, add_note, read_notes
	Outcome string    `json:"outcome"` // allowed or denied
}

// Audit is the append-only trail of a case.
type Audit interface {
	Append(ctx context.Context, caseID string, e AuditEntry) error
	List(ctx context.Context, caseID string) ([]AuditEntry, error)
}

// Summary is a case as lists show it (no content).
type Summary struct {
	ID             string       `json:"id"`
	State          domain.State `json:"state"`
	Category       string       `json:"category"`
	Severity       string       `json:"severity,omitempty"`
	Department     string       `json:"department"`
	Assignee       string       `json:"assignee,omitempty"`
	OpenedAt       time.Time    `json:"opened_at"`
	LinkedFrom     string       `json:"linked_from,omitempty"`
	AcknowledgedAt time.Time    `json:"acknowledged_at,omitzero"`
	// Where the case stands against its department's escalation policy
	// (the handlers' queue only): the level its escalation reached, the
	// next level and when it is due, and whether a promised deadline
	// has passed.
	EscalationLevel string    `json:"escalation_level,omitempty"`
	NextLevel       string    `json:"next_level,omitempty"`
	NextDueAt       time.Time `json:"next_due_at,omitzero"`
	Overdue         bool      `json:"overdue"`
	OverdueSince    time.Time `json:"overdue_since,omitzero"`
	// RoundStart is the last reopening (zero when never reopened).
	RoundStart     time.Time `json:"-"`
	ReporterHash   string    `json:"-"`
	ExcludedHashes []string  `json:"-"`
	Notified       []string  `json:"-"`
	LegalHold      bool      `json:"-"`
	Anonymous      bool      `json:"-"`
	ClosedAt       time.Time `json:"-"`
}

// Starts records which cases' escalation workflows run, with the policy
// version each keeps.
type Starts interface {
	Mark(ctx context.Context, caseID, policyID string, version int) error
	Get(caseID string) (policyID string, version int, ok bool)
}

// Index is a read model of case summaries, rebuilt from the case store.
type Index interface {
	// All returns every summary, oldest first.
	All() []Summary
	// Select returns the summaries keep accepts, in no particular order:
	// a queue filters before it sorts. They are the index's own, shared
	// with every reader: read them, never write them.
	Select(keep func(*Summary) bool) []*Summary
	ByReporter(hash string) []Summary
}

// roundStart is when the case's current round began.
func (c *Summary) roundStart() time.Time { return cmp.Or(c.RoundStart, c.OpenedAt) }
