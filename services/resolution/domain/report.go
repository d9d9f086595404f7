package domain

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/deiops/deiops/pkg/fault"
)

// Category is the kind of mistreatment a report describes.
type Category string

// Categories a reporter can choose at intake.
const (
	CategoryRacism            Category = "racism"
	CategoryMicroaggression   Category = "microaggression"
	CategoryDiscrimination    Category = "discrimination"
	CategoryHarassment        Category = "harassment"
	CategoryBiasInPatientCare Category = "bias_in_patient_care"
	CategoryExclusion         Category = "exclusion"
	CategoryRetaliation       Category = "retaliation"
	CategoryOther             Category = "other"
)

// Valid reports whether c is a known category.
func (c Category) Valid() bool {
	switch c {
	case CategoryRacism, CategoryMicroaggression, CategoryDiscrimination, CategoryHarassment,
		CategoryBiasInPatientCare, CategoryExclusion, CategoryRetaliation, CategoryOther:
		return true
	}
	return false
}

// PartyRole is the role of a person involved in a report.
type PartyRole string

// Party roles.
const (
	RolePatient   PartyRole = "patient"
	RoleAttending PartyRole = "attending"
	RoleResident  PartyRole = "resident"
	RoleNurse     PartyRole = "nurse"
	RoleStaff     PartyRole = "staff"
	RoleVisitor   PartyRole = "visitor"
	RoleUnknown   PartyRole = "unknown"
)

// Valid reports whether r is a known role.
func (r PartyRole) Valid() bool {
	switch r {
	case RolePatient, RoleAttending, RoleResident, RoleNurse, RoleStaff, RoleVisitor, RoleUnknown:
		return true
	}
	return false
}

// DesiredOutcome is what the reporter wants to happen.
type DesiredOutcome string

// Desired outcomes, matching the options guidance offers.
const (
	OutcomeRecordOnly       DesiredOutcome = "record_only"
	OutcomeInformalSupport  DesiredOutcome = "informal_support"
	OutcomeFormalResolution DesiredOutcome = "formal_resolution"
)

// Valid reports whether o is a known desired outcome.
func (o DesiredOutcome) Valid() bool {
	switch o {
	case OutcomeRecordOnly, OutcomeInformalSupport, OutcomeFormalResolution:
		return true
	}
	return false
}

// Intake limits. Sizes count runes so a limit means the same to a reporter
// writing in any script.
const (
	MaxNarrativeRunes  = 20000
	MaxNameRunes       = 200
	MaxPersonIDRunes   = 128
	MaxWitnessRunes    = 1000
	MaxInvolvedParties = 50
	MaxWitnesses       = 50
	// OccurredAtSkew tolerates client clocks running slightly ahead.
	OccurredAtSkew = 5 * time.Minute
	// OccurredAtMaxAgeYears bounds how far back a report may go; older
	// dates are almost always typing mistakes.
	OccurredAtMaxAgeYears = 10
)

// ValidCode reports whether s is an id or code the service accepts; see validCode.
func ValidCode(s string) bool { return validCode(s) }

// validCode restricts ids and codes that appear in events, logs and metric
// labels to [A-Za-z0-9][A-Za-z0-9._:-]{0,63}, so free text cannot be
// smuggled through them.
func validCode(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// PartyInput is one involved party as submitted.
type PartyInput struct {
	Role     PartyRole
	PersonID Restricted // directory id, optional; restricted because it identifies someone named
	Name     Restricted // free-text name, optional
}

// ReportInput is a report as submitted, already decoded by a port. Restricted
// fields are wrapped before they reach the domain so that even the raw
// input cannot be logged with content.
type ReportInput struct {
	Category       Category
	Narrative      Restricted
	OccurredAt     time.Time
	DepartmentID   string
	Site           string
	Involved       []PartyInput
	Witnesses      []Restricted
	DesiredOutcome DesiredOutcome
	Anonymous      bool
	// ReporterID is the authenticated user for named reports, set by the
	// port from the token, never from the body; it must be empty when
	// Anonymous so anonymous reports keep no identity.
	ReporterID string
}

// Party is a validated involved party.
type Party struct {
	Role     PartyRole
	PersonID Restricted
	Name     Restricted
}

// Report is a validated report. It is immutable once built.
type Report struct {
	category       Category
	narrative      Restricted
	occurredAt     time.Time
	departmentID   string
	site           string
	involved       []Party
	witnesses      []Restricted
	desiredOutcome DesiredOutcome
	anonymous      bool
	reporterID     string
}

// NewReport validates in against now and returns the report, or a
// fault.Invalid error listing every problem (not just the first), so a reporter
// can fix the whole form in one round trip.
func NewReport(in ReportInput, now time.Time) (*Report, error) {
	var v validator
	if !in.Category.Valid() {
		v.add("category", reasonFor(string(in.Category), "must be one of racism, microaggression, discrimination, harassment, bias_in_patient_care, exclusion, retaliation, other"))
	}
	v.text("narrative", in.Narrative, 1, MaxNarrativeRunes)
	switch {
	case in.OccurredAt.IsZero():
		v.add("occurred_at", "is required")
	case in.OccurredAt.After(now.Add(OccurredAtSkew)):
		v.add("occurred_at", "must not be in the future")
	case in.OccurredAt.Before(now.AddDate(-OccurredAtMaxAgeYears, 0, 0)):
		v.add("occurred_at", "must be within the last "+strconv.Itoa(OccurredAtMaxAgeYears)+" years")
	}
	v.code("department_id", in.DepartmentID)
	v.code("site", in.Site)
	if len(in.Involved) > MaxInvolvedParties {
		v.add("involved", "must have at most "+strconv.Itoa(MaxInvolvedParties)+" entries")
	}
	parties := make([]Party, 0, len(in.Involved))
	for i, p := range in.Involved {
		f := "involved[" + strconv.Itoa(i) + "]"
		if !p.Role.Valid() {
			v.add(f+".role", reasonFor(string(p.Role), "must be one of patient, attending, resident, nurse, staff, visitor, unknown"))
		}
		if !p.PersonID.IsZero() && !validCode(p.PersonID.Reveal()) {
			v.add(f+".person_id", "must be a directory id (letters, digits, . _ : -; at most 64 characters)")
		}
		v.optionalText(f+".name", p.Name, MaxNameRunes)
		parties = append(parties, Party(p))
	}
	if len(in.Witnesses) > MaxWitnesses {
		v.add("witnesses", "must have at most "+strconv.Itoa(MaxWitnesses)+" entries")
	}
	for i, w := range in.Witnesses {
		v.text("witnesses["+strconv.Itoa(i)+"]", w, 1, MaxWitnessRunes)
	}
	if !in.DesiredOutcome.Valid() {
		v.add("desired_outcome", reasonFor(string(in.DesiredOutcome), "must be one of record_only, informal_support, formal_resolution"))
	}
	switch {
	case in.Anonymous && in.ReporterID != "":
		v.add("reporter_id", "must be empty for anonymous reports")
	case !in.Anonymous && !validCode(in.ReporterID):
		v.add("reporter_id", "is required for named reports")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return &Report{
		category:       in.Category,
		narrative:      in.Narrative,
		occurredAt:     in.OccurredAt.UTC(),
		departmentID:   in.DepartmentID,
		site:           in.Site,
		involved:       parties,
		witnesses:      append([]Restricted(nil), in.Witnesses...),
		desiredOutcome: in.DesiredOutcome,
		anonymous:      in.Anonymous,
		reporterID:     in.ReporterID,
	}, nil
}

// reasonFor distinguishes a missing enum value from an unknown one without
// echoing the submitted value (it could carry content).
func reasonFor(got, unknown string) string {
	if got == "" {
		return "is required"
	}
	return unknown
}

// Accessors. Slices are copied so callers cannot mutate the report.

func (r *Report) Category() Category             { return r.category }
func (r *Report) Narrative() Restricted          { return r.narrative }
func (r *Report) OccurredAt() time.Time          { return r.occurredAt }
func (r *Report) DepartmentID() string           { return r.departmentID }
func (r *Report) Site() string                   { return r.site }
func (r *Report) Involved() []Party              { return append([]Party(nil), r.involved...) }
func (r *Report) Witnesses() []Restricted        { return append([]Restricted(nil), r.witnesses...) }
func (r *Report) DesiredOutcome() DesiredOutcome { return r.desiredOutcome }
func (r *Report) Anonymous() bool                { return r.anonymous }
func (r *Report) ReporterID() string             { return r.reporterID }

type validator struct{ fields fault.Fields }

func (v *validator) add(field, reason string) {
	v.fields.Add(field, reason)
}

func (v *validator) code(field, s string) {
	switch {
	case s == "":
		v.add(field, "is required")
	case !validCode(s):
		v.add(field, "must be an id (letters, digits, . _ : -; at most 64 characters)")
	}
}

func (v *validator) text(field string, r Restricted, minRunes, maxRunes int) {
	s := r.Reveal()
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case strings.TrimSpace(s) == "" && minRunes > 0:
		v.add(field, "is required")
	case r.RuneLen() > maxRunes:
		v.add(field, "must be at most "+strconv.Itoa(maxRunes)+" characters")
	}
}

func (v *validator) optionalText(field string, r Restricted, maxRunes int) {
	if r.IsZero() {
		return
	}
	v.text(field, r, 1, maxRunes)
}

func (v *validator) err() error {
	return v.fields.Err("the report has invalid fields")
}
