// Package adapters keeps the resolution service's records in JetStream KV:
// cases (restricted fields sealed with the platform keyring), anonymous
// case keys, the audit trail, and an in-memory index of case summaries
// that follows the case bucket.
package adapters

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/domain"
)

// recordVersion is the layout version of caseWire.
const recordVersion = 1

// reporterMark stands in for the named reporter's id in the clear part of
// a record (timeline, messages), so the record names them only sealed.
const reporterMark = "@reporter"

// caseWire is the stored layout of a case. Everything a list, an index or
// an operator needs is in clear: ids, codes, times. Everything restricted
// is in Sealed, one AES-GCM ciphertext bound to the case id.
type caseWire struct {
	V              int              `json:"v"`
	ID             string           `json:"id"`
	State          string           `json:"state"`
	Category       string           `json:"category"`
	Severity       string           `json:"severity,omitempty"`
	Route          string           `json:"route,omitempty"`
	Assignee       string           `json:"assignee,omitempty"`
	Recused        []string         `json:"recused,omitempty"`
	Outcome        string           `json:"outcome,omitempty"`
	LegalHold      bool             `json:"legal_hold,omitempty"`
	AckAt          time.Time        `json:"ack_at,omitzero"`
	OpenedAt       time.Time        `json:"opened_at"`
	Reopenings     int              `json:"reopenings,omitempty"`
	LinkedFrom     string           `json:"linked_from,omitempty"`
	Report         reportWire       `json:"report"`
	Notes          []entryWire      `json:"notes,omitempty"`
	Messages       []entryWire      `json:"messages,omitempty"`
	Checkins       []checkinWire    `json:"checkins,omitempty"`
	Timeline       []timelineWire   `json:"timeline"`
	ReporterHash   string           `json:"reporter_hash,omitempty"`
	ExcludedHashes []string         `json:"excluded_hashes,omitempty"`
	Escalations    []app.Escalation `json:"escalations,omitempty"`
	Intake         string           `json:"intake,omitempty"`
	Applied        []app.Applied    `json:"applied,omitempty"`
	Sealed         crypto.Sealed    `json:"sealed"`
}

type reportWire struct {
	Category       string    `json:"category"`
	OccurredAt     time.Time `json:"occurred_at"`
	Department     string    `json:"department"`
	Site           string    `json:"site"`
	DesiredOutcome string    `json:"desired_outcome"`
	Anonymous      bool      `json:"anonymous"`
	PartyRoles     []string  `json:"party_roles,omitempty"`
}

type entryWire struct {
	ID   int       `json:"id"`
	From string    `json:"from,omitempty"`
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at"`
}

type checkinWire struct {
	Round       int       `json:"round"`
	Number      int       `json:"number"`
	Of          int       `json:"of"`
	DueAt       time.Time `json:"due_at"`
	RequestedAt time.Time `json:"requested_at"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	Retaliation bool      `json:"retaliation,omitempty"`
}

type timelineWire struct {
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Action string    `json:"action"`
}

// restricted is the sealed part of a case.
type restricted struct {
	Narrative  string      `json:"narrative"`
	Witnesses  []string    `json:"witnesses,omitempty"`
	Parties    []partyWire `json:"parties,omitempty"`
	Notes      []string    `json:"notes,omitempty"`
	Messages   []string    `json:"messages,omitempty"`
	ReporterID string      `json:"reporter_id,omitempty"`
	CaseKey    string      `json:"case_key,omitempty"`
}

type partyWire struct {
	PersonID string `json:"person_id,omitempty"`
	Name     string `json:"name,omitempty"`
}

// CaseCodec seals and opens case records.
type CaseCodec struct {
	Keys *crypto.Keyring
}

func sealAAD(id string) []byte { return crypto.AAD("resolution", "case", id, "restricted") }

// Marshal implements store.Codec.
func (c CaseCodec) Marshal(id string, r *app.Record) ([]byte, error) {
	s := r.Case.Snapshot()
	rep := s.Report
	hide := func(by string) string {
		if by != "" && by == rep.ReporterID {
			return reporterMark
		}
		return by
	}
	w := caseWire{
		V: recordVersion, ID: s.ID, State: string(s.State), Category: string(s.Category), Severity: string(s.Severity),
		Route: s.Route, Assignee: s.Assignee, Recused: s.Recused, Outcome: s.Outcome, LegalHold: s.LegalHold,
		AckAt: s.AckAt, OpenedAt: s.OpenedAt, Reopenings: s.Reopenings, LinkedFrom: s.LinkedFrom,
		Report: reportWire{Category: string(rep.Category), OccurredAt: rep.OccurredAt, Department: rep.DepartmentID,
			Site: rep.Site, DesiredOutcome: string(rep.DesiredOutcome), Anonymous: rep.Anonymous},
		ReporterHash: r.ReporterHash, ExcludedHashes: r.ExcludedHashes, Escalations: r.Escalations,
		Intake: r.Intake, Applied: r.Applied,
	}
	sec := restricted{Narrative: rep.Narrative.Reveal(), ReporterID: rep.ReporterID, CaseKey: r.CaseKey}
	for _, p := range rep.Involved {
		w.Report.PartyRoles = append(w.Report.PartyRoles, string(p.Role))
		sec.Parties = append(sec.Parties, partyWire{PersonID: p.PersonID.Reveal(), Name: p.Name.Reveal()})
	}
	for _, x := range rep.Witnesses {
		sec.Witnesses = append(sec.Witnesses, x.Reveal())
	}
	for _, n := range s.Notes {
		w.Notes = append(w.Notes, entryWire{ID: n.ID, By: n.By, At: n.At})
		sec.Notes = append(sec.Notes, n.Text.Reveal())
	}
	for _, m := range s.Messages {
		w.Messages = append(w.Messages, entryWire{ID: m.ID, From: string(m.From), By: hide(m.By), At: m.At})
		sec.Messages = append(sec.Messages, m.Text.Reveal())
	}
	for _, k := range s.Checkins {
		w.Checkins = append(w.Checkins, checkinWire(k))
	}
	for _, t := range s.Timeline {
		w.Timeline = append(w.Timeline, timelineWire{At: t.At, By: hide(t.By), Action: string(t.Action)})
	}
	plain, err := json.Marshal(sec)
	if err != nil {
		return nil, fmt.Errorf("seal case %s: %w", id, err)
	}
	if w.Sealed, err = crypto.SealValue(c.Keys, plain, sealAAD(id)); err != nil {
		return nil, fmt.Errorf("seal case %s: %w", id, err)
	}
	return json.Marshal(w)
}

// Unmarshal implements store.Codec.
func (c CaseCodec) Unmarshal(id string, data []byte) (*app.Record, error) {
	var w caseWire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("decode case %s: %w", id, err)
	}
	if w.V != recordVersion {
		return nil, fmt.Errorf("decode case %s: layout version %d: %w", id, w.V, domain.ErrCorruptSnapshot)
	}
	plain, err := w.Sealed.Open(c.Keys, sealAAD(id))
	if err != nil {
		return nil, fmt.Errorf("open case %s: %w", id, err)
	}
	var sec restricted
	if err := json.Unmarshal(plain, &sec); err != nil {
		return nil, fmt.Errorf("decode case %s restricted part: %w", id, err)
	}
	if len(sec.Parties) != len(w.Report.PartyRoles) || len(sec.Notes) != len(w.Notes) || len(sec.Messages) != len(w.Messages) {
		return nil, fmt.Errorf("decode case %s: sealed part does not match: %w", id, domain.ErrCorruptSnapshot)
	}
	show := func(by string) string {
		if by == reporterMark {
			return sec.ReporterID
		}
		return by
	}
	rs := domain.ReportSnapshot{
		Category: domain.Category(w.Report.Category), Narrative: domain.Restrict(sec.Narrative), OccurredAt: w.Report.OccurredAt,
		DepartmentID: w.Report.Department, Site: w.Report.Site, DesiredOutcome: domain.DesiredOutcome(w.Report.DesiredOutcome),
		Anonymous: w.Report.Anonymous, ReporterID: sec.ReporterID,
	}
	for i, role := range w.Report.PartyRoles {
		rs.Involved = append(rs.Involved, domain.Party{Role: domain.PartyRole(role),
			PersonID: domain.Restrict(sec.Parties[i].PersonID), Name: domain.Restrict(sec.Parties[i].Name)})
	}
	for _, x := range sec.Witnesses {
		rs.Witnesses = append(rs.Witnesses, domain.Restrict(x))
	}
	s := domain.CaseSnapshot{
		ID: w.ID, Report: rs, State: domain.State(w.State), Category: domain.Category(w.Category), Severity: domain.Severity(w.Severity),
		Route: w.Route, Assignee: w.Assignee, Recused: w.Recused, Outcome: w.Outcome, LegalHold: w.LegalHold,
		AckAt: w.AckAt, OpenedAt: w.OpenedAt, Reopenings: w.Reopenings, LinkedFrom: w.LinkedFrom,
	}
	for i, n := range w.Notes {
		s.Notes = append(s.Notes, domain.Note{ID: n.ID, By: n.By, At: n.At, Text: domain.Restrict(sec.Notes[i])})
	}
	for i, m := range w.Messages {
		s.Messages = append(s.Messages, domain.Message{ID: m.ID, From: domain.Sender(m.From), By: show(m.By), At: m.At, Text: domain.Restrict(sec.Messages[i])})
	}
	for _, k := range w.Checkins {
		s.Checkins = append(s.Checkins, domain.Checkin(k))
	}
	for _, t := range w.Timeline {
		s.Timeline = append(s.Timeline, domain.TimelineEntry{At: t.At, By: show(t.By), Action: domain.Action(t.Action)})
	}
	cs, err := domain.UnmarshalCase(s)
	if err != nil {
		return nil, err
	}
	return &app.Record{Case: cs, ReporterHash: w.ReporterHash, ExcludedHashes: w.ExcludedHashes, Escalations: w.Escalations,
		CaseKey: sec.CaseKey, Intake: w.Intake, Applied: w.Applied}, nil
}

// summaryWire is the part of caseWire the index reads; leaving the
// sealed part out spares decoding it on every revision.
type summaryWire struct {
	ID             string           `json:"id"`
	State          string           `json:"state"`
	Category       string           `json:"category"`
	Severity       string           `json:"severity"`
	Assignee       string           `json:"assignee"`
	LegalHold      bool             `json:"legal_hold"`
	OpenedAt       time.Time        `json:"opened_at"`
	AckAt          time.Time        `json:"ack_at"`
	LinkedFrom     string           `json:"linked_from"`
	Report         reportWire       `json:"report"`
	Timeline       []timelineWire   `json:"timeline"`
	ReporterHash   string           `json:"reporter_hash"`
	ExcludedHashes []string         `json:"excluded_hashes"`
	Escalations    []app.Escalation `json:"escalations"`
}

// summaryOf decodes the clear part of a stored case for the index, without
// opening the sealed part.
func summaryOf(state []byte) (app.Summary, error) {
	var w summaryWire
	if err := json.Unmarshal(state, &w); err != nil {
		return app.Summary{}, err
	}
	s := app.Summary{ID: w.ID, State: domain.State(w.State), Category: w.Category, Severity: w.Severity,
		Department: w.Report.Department, Assignee: w.Assignee, OpenedAt: w.OpenedAt, LinkedFrom: w.LinkedFrom,
		ReporterHash: w.ReporterHash, ExcludedHashes: w.ExcludedHashes, LegalHold: w.LegalHold, Anonymous: w.Report.Anonymous,
		AcknowledgedAt: w.AckAt}
	for _, e := range w.Escalations {
		s.Notified = append(s.Notified, e.Recipients...)
	}
	for _, t := range w.Timeline {
		if t.Action == string(domain.ActionClose) {
			s.ClosedAt = t.At
		}
		if t.Action == string(domain.ActionReopen) {
			// A reopened case keeps its acknowledgment: its new round runs
			// the resolution clock only, as the workflow does.
			s.ClosedAt, s.RoundStart = time.Time{}, t.At
		}
	}
	return s, nil
}
