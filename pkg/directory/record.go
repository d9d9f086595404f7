package directory

import (
	"errors"
	"fmt"
	"time"
)

// RecordVersion is the version of PersonRecord and DepartmentRecord. A store
// adapter keeps it with every value so that a later layout can still read
// older ones.
const RecordVersion = 1

// PersonRecord is how a store keeps a person (JSON in a KV bucket). It is
// separate from Person so the stored layout can evolve without touching the
// domain type, and separate from the import and event formats on purpose.
type PersonRecord struct {
	V             int       `json:"v"`
	ID            string    `json:"id"`
	DisplayName   string    `json:"display_name"`
	Email         string    `json:"email,omitempty"`
	Department    string    `json:"department"`
	Role          string    `json:"role"`
	TrainingLevel string    `json:"training_level,omitempty"`
	Cohort        string    `json:"cohort,omitempty"`
	Site          string    `json:"site,omitempty"`
	SupervisorID  string    `json:"supervisor_id,omitempty"`
	Active        bool      `json:"active"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// NewPersonRecord converts p for storage.
func NewPersonRecord(p Person) PersonRecord {
	return PersonRecord{
		V: RecordVersion, ID: p.ID, DisplayName: p.DisplayName, Email: p.Email,
		Department: p.Department, Role: p.Role, TrainingLevel: p.TrainingLevel,
		Cohort: p.Cohort, Site: p.Site, SupervisorID: p.SupervisorID,
		Active: p.Active, UpdatedAt: p.UpdatedAt.UTC(),
	}
}

// Person converts a stored record back, validating it so that a corrupted
// value is reported where it is read instead of spreading into snapshots.
func (r PersonRecord) Person() (Person, error) {
	if r.V != RecordVersion {
		return Person{}, fmt.Errorf("person record %q: unsupported version %d", r.ID, r.V)
	}
	p := Person{
		ID: r.ID, DisplayName: r.DisplayName, Email: r.Email, Department: r.Department,
		Role: r.Role, TrainingLevel: r.TrainingLevel, Cohort: r.Cohort, Site: r.Site,
		SupervisorID: r.SupervisorID, Active: r.Active, UpdatedAt: r.UpdatedAt,
	}
	if errs := p.Validate(); len(errs) > 0 {
		return Person{}, fmt.Errorf("person record %q: %w", r.ID, joinFieldErrors(errs))
	}
	return p, nil
}

// DepartmentRecord is how a store keeps a department.
type DepartmentRecord struct {
	V         int       `json:"v"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ParentID  string    `json:"parent_id,omitempty"`
	LeadID    string    `json:"lead_id,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewDepartmentRecord converts d for storage.
func NewDepartmentRecord(d Department) DepartmentRecord {
	return DepartmentRecord{
		V: RecordVersion, ID: d.ID, Name: d.Name, ParentID: d.ParentID,
		LeadID: d.LeadID, UpdatedAt: d.UpdatedAt.UTC(),
	}
}

// Department converts a stored record back, validating it.
func (r DepartmentRecord) Department() (Department, error) {
	if r.V != RecordVersion {
		return Department{}, fmt.Errorf("department record %q: unsupported version %d", r.ID, r.V)
	}
	d := Department{ID: r.ID, Name: r.Name, ParentID: r.ParentID, LeadID: r.LeadID, UpdatedAt: r.UpdatedAt}
	if errs := d.Validate(); len(errs) > 0 {
		return Department{}, fmt.Errorf("department record %q: %w", r.ID, joinFieldErrors(errs))
	}
	return d, nil
}

func joinFieldErrors(errs []FieldError) error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}
