package domain

import (
	"encoding/json"
	"time"

	"github.com/deiops/deiops/pkg/fault"
)

// ErrNotInAudience means the person is not in the statement's audience.
var ErrNotInAudience = fault.New(fault.Forbidden, "not in the audience")

// StatementDoc is one version of an expectation statement (a "what is not
// OK" statement, a code of conduct). Versions are immutable once published.
type StatementDoc struct {
	Title               string   `json:"title"`
	Body                string   `json:"body"`
	Audience            Audience `json:"audience"`
	RequiresAttestation bool     `json:"requires_attestation"`
}

// Validate checks a version before it is published.
func (d StatementDoc) Validate() error {
	var p problems
	p.text("title", d.Title, MaxTitle, true)
	p.text("body", d.Body, MaxBody, true)
	p = append(p, d.Audience.Validate("audience")...)
	return p.err("invalid statement")
}

// Statement is the index of a versioned statement: what its current
// version asks of whom.
type Statement struct {
	id        string
	current   int
	doc       StatementDoc
	createdBy string
	createdAt time.Time
	updatedAt time.Time
}

// NewStatement starts a statement with no published version.
func NewStatement(id, by string, now time.Time) (*Statement, error) {
	var p problems
	p.id("id", id)
	if err := p.err("invalid statement"); err != nil {
		return nil, err
	}
	return &Statement{id: id, createdBy: by, createdAt: now, updatedAt: now}, nil
}

func (s *Statement) ID() string                { return s.id }
func (s *Statement) Current() int              { return s.current }
func (s *Statement) Doc() StatementDoc         { return s.doc }
func (s *Statement) CreatedBy() string         { return s.createdBy }
func (s *Statement) UpdatedAt() time.Time      { return s.updatedAt }
func (s *Statement) RequiresAttestation() bool { return s.current > 0 && s.doc.RequiresAttestation }

// Published records that version was published with doc. Versions only
// move forward; a late record of an older version changes nothing.
func (s *Statement) Published(version int, doc StatementDoc, now time.Time) bool {
	if version <= s.current {
		return false
	}
	s.current, s.doc, s.updatedAt = version, doc, now
	return true
}

// Attestation records that a person attested one version.
type Attestation struct {
	statementID string
	version     int
	personID    string
	at          time.Time
}

// Attest returns the attestation of the statement's current version by
// person. Only the current version can be attested, only when it asks for
// attestation, and only by someone in its audience.
func (s *Statement) Attest(version int, person string, inAudience bool, now time.Time) (*Attestation, error) {
	if s.current == 0 || version != s.current || !s.doc.RequiresAttestation {
		return nil, ErrState
	}
	if !inAudience {
		return nil, ErrNotInAudience
	}
	return &Attestation{statementID: s.id, version: version, personID: person, at: now}, nil
}

func (a *Attestation) StatementID() string { return a.statementID }
func (a *Attestation) Version() int        { return a.version }
func (a *Attestation) PersonID() string    { return a.personID }
func (a *Attestation) At() time.Time       { return a.at }

type statementJSON struct {
	ID        string       `json:"id"`
	Current   int          `json:"current"`
	Doc       StatementDoc `json:"doc"`
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

func (s *Statement) MarshalJSON() ([]byte, error) {
	return json.Marshal(statementJSON{s.id, s.current, s.doc, s.createdBy, s.createdAt, s.updatedAt})
}

func (s *Statement) UnmarshalJSON(b []byte) error {
	var j statementJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Statement{id: j.ID, current: j.Current, doc: j.Doc, createdBy: j.CreatedBy, createdAt: j.CreatedAt, updatedAt: j.UpdatedAt}
	return nil
}

type attestationJSON struct {
	StatementID string    `json:"statement_id"`
	Version     int       `json:"version"`
	PersonID    string    `json:"person_id"`
	At          time.Time `json:"at"`
}

func (a *Attestation) MarshalJSON() ([]byte, error) {
	return json.Marshal(attestationJSON{a.statementID, a.version, a.personID, a.at})
}

func (a *Attestation) UnmarshalJSON(b []byte) error {
	var j attestationJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*a = Attestation{statementID: j.StatementID, version: j.Version, personID: j.PersonID, at: j.At}
	return nil
}
