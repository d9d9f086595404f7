package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/fault"
)

// testNow() is a fixed instant so validation tests do not depend on the clock.
const testNowUnix = 1773144000

func testNow() time.Time { return time.Unix(testNowUnix, 0).UTC() }

func validInput() ReportInput {
	return ReportInput{
		Category:     CategoryRacism,
		Narrative:    Restrict("What happened on the ward."),
		OccurredAt:   testNow().Add(-48 * time.Hour),
		DepartmentID: "dept-surgery",
		Site:         "main",
		Involved: []PartyInput{
			{Role: RoleAttending, PersonID: Restrict("u-123")},
			{Role: RolePatient, Name: Restrict("Bed 4 patient")},
		},
		Witnesses:      []Restricted{Restrict("night nurse")},
		DesiredOutcome: OutcomeFormalResolution,
		ReporterID:     "u-999",
	}
}

func TestNewReportValid(t *testing.T) {
	r, err := NewReport(validInput(), testNow())
	if err != nil {
		t.Fatalf("NewReport: %v", err)
	}
	if r.Category() != CategoryRacism || len(r.Involved()) != 2 || r.ReporterID() != "u-999" {
		t.Fatalf("unexpected report fields")
	}
	// Exactly at the limits.
	in := validInput()
	in.Narrative = Restrict(strings.Repeat("é", MaxNarrativeRunes)) // 2 bytes a rune: counts runes, not bytes
	in.OccurredAt = testNow().Add(OccurredAtSkew)
	in.Anonymous, in.ReporterID = true, ""
	if _, err := NewReport(in, testNow()); err != nil {
		t.Fatalf("limits: %v", err)
	}
}

func TestNewReportInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*ReportInput)
		fields []string
	}{
		{"unknown category", func(in *ReportInput) { in.Category = "rudeness" }, []string{"category"}},
		{"missing category", func(in *ReportInput) { in.Category = "" }, []string{"category"}},
		{"empty narrative", func(in *ReportInput) { in.Narrative = Restrict("  \n") }, []string{"narrative"}},
		{"oversize narrative", func(in *ReportInput) { in.Narrative = Restrict(strings.Repeat("a", MaxNarrativeRunes+1)) }, []string{"narrative"}},
		{"invalid utf8", func(in *ReportInput) { in.Narrative = Restrict("\xff\xfe") }, []string{"narrative"}},
		{"missing occurred_at", func(in *ReportInput) { in.OccurredAt = time.Time{} }, []string{"occurred_at"}},
		{"future occurred_at", func(in *ReportInput) { in.OccurredAt = testNow().Add(OccurredAtSkew + time.Second) }, []string{"occurred_at"}},
		{"ancient occurred_at", func(in *ReportInput) { in.OccurredAt = testNow().AddDate(-10, 0, -1) }, []string{"occurred_at"}},
		{"missing department", func(in *ReportInput) { in.DepartmentID = "" }, []string{"department_id"}},
		{"bad site", func(in *ReportInput) { in.Site = "main site; drop" }, []string{"site"}},
		{"bad role", func(in *ReportInput) {
			in.Involved = append(in.Involved, PartyInput{Role: RoleNurse}, PartyInput{Role: "janitor"})
		}, []string{"involved[3].role"}},
		{"bad person id and long name", func(in *ReportInput) {
			in.Involved[1].PersonID = Restrict("not an id")
			in.Involved[1].Name = Restrict(strings.Repeat("n", MaxNameRunes+1))
		}, []string{"involved[1].person_id", "involved[1].name"}},
		{"too many parties", func(in *ReportInput) {
			in.Involved = make([]PartyInput, MaxInvolvedParties+1)
			for i := range in.Involved {
				in.Involved[i].Role = RoleUnknown
			}
		}, []string{"involved"}},
		{"empty witness", func(in *ReportInput) { in.Witnesses = []Restricted{Restrict("ok"), Restrict("")} }, []string{"witnesses[1]"}},
		{"bad desired outcome", func(in *ReportInput) { in.DesiredOutcome = "revenge" }, []string{"desired_outcome"}},
		{"anonymous with reporter", func(in *ReportInput) { in.Anonymous = true }, []string{"reporter_id"}},
		{"named without reporter", func(in *ReportInput) { in.ReporterID = "" }, []string{"reporter_id"}},
		{"everything at once", func(in *ReportInput) {
			*in = ReportInput{Involved: []PartyInput{{}}}
		}, []string{"category", "narrative", "occurred_at", "department_id", "site", "involved[0].role", "desired_outcome", "reporter_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.mutate(&in)
			r, err := NewReport(in, testNow())
			if r != nil || err == nil {
				t.Fatalf("want error, got report")
			}
			ve, ok := fault.As(err)
			if !ok || ve.Kind != fault.Invalid {
				t.Fatalf("want an invalid-kind error, got %T %v", err, err)
			}
			got := make([]string, len(ve.Fields))
			for i, f := range ve.Fields {
				got[i] = f.Field
				if f.Reason == "" {
					t.Errorf("field %s has no reason", f.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

func TestValidationErrorDoesNotEchoValues(t *testing.T) {
	in := validInput()
	in.Category = "CANARY-cat-7f3a"
	in.Involved[0].Role = "CANARY-role-7f3a"
	_, err := NewReport(in, testNow())
	if err == nil || strings.Contains(err.Error(), "CANARY") {
		t.Fatalf("error echoes submitted values: %v", err)
	}
}
