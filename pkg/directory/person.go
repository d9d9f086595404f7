package directory

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field names used in FieldError and RowError. They are the CSV column names
// and the JSON keys of the import formats, so a problem names what the user
// typed.
const (
	FieldID            = "id"
	FieldDisplayName   = "display_name"
	FieldEmail         = "email"
	FieldDepartment    = "department"
	FieldRole          = "role"
	FieldTrainingLevel = "training_level"
	FieldCohort        = "cohort"
	FieldSite          = "site"
	FieldSupervisorID  = "supervisor_id"
	FieldActive        = "active"

	FieldName     = "name"
	FieldParentID = "parent_id"
	FieldLeadID   = "lead_id"
)

// Limits on field sizes. They keep one bad export from filling the store and
// the events with megabytes of text; real values are far shorter.
const (
	MaxIDLength    = 128
	MaxNameLength  = 200 // runes, display names and department names
	MaxEmailLength = 254 // RFC 5321 path limit
	MaxTextLength  = 64  // runes, role, training level, cohort, site
)

// FieldError is one problem with one field of a person or department.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// Person is one member of staff or trainee. It is a value: a Directory hands
// out copies, so changing one never changes the directory. Validate checks
// the rules that concern one person alone; rules across people (unique ids,
// supervisors that exist, no supervisor cycles) are checked by the importers.
type Person struct {
	ID            string
	DisplayName   string // restricted: never put it in events, logs or spans
	Email         string // optional; restricted like DisplayName
	Department    string // department id
	Role          string // free text, e.g. "resident", "attending", "nurse", "staff"
	TrainingLevel string // e.g. "PGY-1"; empty for staff without one
	Cohort        string // e.g. "2026"
	Site          string
	SupervisorID  string // empty: no supervisor
	Active        bool
	UpdatedAt     time.Time // set when a change is applied; not part of the content
}

// Validate returns every problem with p, in field order; nil means valid.
func (p Person) Validate() []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{field, reason}) }
	if r := idProblem(p.ID); r != "" {
		add(FieldID, r)
	}
	if r := textProblem(p.DisplayName, MaxNameLength, true); r != "" {
		add(FieldDisplayName, r)
	}
	if r := emailProblem(p.Email); r != "" {
		add(FieldEmail, r)
	}
	if r := idProblem(p.Department); r != "" {
		add(FieldDepartment, r)
	}
	if r := textProblem(p.Role, MaxTextLength, true); r != "" {
		add(FieldRole, r)
	}
	if r := textProblem(p.TrainingLevel, MaxTextLength, false); r != "" {
		add(FieldTrainingLevel, r)
	}
	if r := textProblem(p.Cohort, MaxTextLength, false); r != "" {
		add(FieldCohort, r)
	}
	if r := textProblem(p.Site, MaxTextLength, false); r != "" {
		add(FieldSite, r)
	}
	if p.SupervisorID != "" {
		if r := idProblem(p.SupervisorID); r != "" {
			add(FieldSupervisorID, r)
		} else if p.SupervisorID == p.ID {
			add(FieldSupervisorID, "a person cannot supervise themselves")
		}
	}
	return errs
}

// Equal reports whether p and q are the same version of a person: same
// content and same UpdatedAt instant. Stores use it for compare-and-set.
func (p Person) Equal(q Person) bool {
	return p.SameContent(q) && p.UpdatedAt.Equal(q.UpdatedAt)
}

// SameContent reports whether p and q differ only in UpdatedAt; an import
// that changes nothing else is not a change and emits no event.
func (p Person) SameContent(q Person) bool {
	p.UpdatedAt, q.UpdatedAt = time.Time{}, time.Time{}
	return p == q
}

// Department is a unit of the organisation; ParentID makes a tree.
type Department struct {
	ID        string
	Name      string
	ParentID  string // empty: top level
	LeadID    string // person id; empty when unknown
	UpdatedAt time.Time
}

// Validate returns every problem with d; nil means valid.
func (d Department) Validate() []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{field, reason}) }
	if r := idProblem(d.ID); r != "" {
		add(FieldID, r)
	}
	if r := textProblem(d.Name, MaxNameLength, true); r != "" {
		add(FieldName, r)
	}
	if d.ParentID != "" {
		if r := idProblem(d.ParentID); r != "" {
			add(FieldParentID, r)
		} else if d.ParentID == d.ID {
			add(FieldParentID, "a department cannot be its own parent")
		}
	}
	if d.LeadID != "" {
		if r := idProblem(d.LeadID); r != "" {
			add(FieldLeadID, r)
		}
	}
	return errs
}

// Equal reports same content and same UpdatedAt instant.
func (d Department) Equal(e Department) bool {
	return d.SameContent(e) && d.UpdatedAt.Equal(e.UpdatedAt)
}

// SameContent reports whether d and e differ only in UpdatedAt.
func (d Department) SameContent(e Department) bool {
	d.UpdatedAt, e.UpdatedAt = time.Time{}, time.Time{}
	return d == e
}

// ValidID reports whether s is a valid person or department id:
// 1 to 128 characters from [A-Za-z0-9._:-]. The set is safe in NATS
// subjects, KV keys and URLs without escaping.
func ValidID(s string) bool { return idProblem(s) == "" }

func idProblem(s string) string {
	if s == "" {
		return "required"
	}
	if len(s) > MaxIDLength {
		return fmt.Sprintf("longer than %d characters", MaxIDLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return "may contain only letters A-Z a-z, digits and . _ : -"
		}
	}
	return ""
}

func textProblem(s string, max int, required bool) string {
	if s == "" {
		if required {
			return "required"
		}
		return ""
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if strings.TrimSpace(s) != s {
		return "has leading or trailing spaces"
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains control characters"
		}
	}
	return ""
}

func emailProblem(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > MaxEmailLength {
		return fmt.Sprintf("longer than %d characters", MaxEmailLength)
	}
	// net/mail accepts "Name <a@b>" and comments; require the bare address
	// so that what is stored is what a mail server receives.
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "not a valid e-mail address (expected name@example.org)"
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n") {
		return "not a valid e-mail address (expected name@example.org)"
	}
	return ""
}
