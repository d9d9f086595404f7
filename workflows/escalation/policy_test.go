package escalation_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/workflows/escalation"
)

func fields(errs []escalation.FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestTemplatesAreValidAndRoundTripAsData(t *testing.T) {
	for name, p := range map[string]escalation.Policy{
		"eu":        escalation.EUWhistleblowingDirective(),
		"residency": escalation.ResidencyProgramDefault(),
	} {
		t.Run(name, func(t *testing.T) {
			if errs := p.Validate(); errs != nil {
				t.Fatalf("template invalid: %v", errs)
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var back escalation.Policy
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, p) {
				t.Fatalf("round trip changed the policy:\n%s", b)
			}
			for _, want := range []string{`"condition":"if_not_acknowledged"`, `"unit":"`, `"time_zone":"`, `"workdays":["mon","tue","wed","thu","fri"]`} {
				if !strings.Contains(string(b), want) {
					t.Errorf("policy JSON lacks %s:\n%s", want, b)
				}
			}
		})
	}
}

func TestEUTemplateEncodesTheDirectivesClocks(t *testing.T) {
	p := escalation.EUWhistleblowingDirective()
	ack := p.Levels[1]
	if ack.Delay.Unit != escalation.UnitDays || p.Levels[0].Delay.Amount+ack.Delay.Amount != 7 || ack.Condition != escalation.IfNotAcknowledged {
		t.Errorf("acknowledgment limit is not 7 calendar days: %+v %+v", p.Levels[0], ack)
	}
	fb := p.Levels[3]
	if fb.Delay != escalation.Months(3) || fb.From != escalation.FromAcknowledgment || fb.Condition != escalation.IfNotResolved {
		t.Errorf("feedback limit is not 3 months from the acknowledgment: %+v", fb)
	}
}

// validPolicy is small and valid; tests change one thing at a time.
func validPolicy() escalation.Policy {
	return escalation.Policy{
		ID:         "pol-1",
		Version:    1,
		Department: "surgery",
		Calendar:   newYork(),
		Levels: []escalation.Level{
			{Name: "first", Targets: []escalation.Target{escalation.User("u-1")}, Delay: escalation.BusinessDays(1), Condition: escalation.IfNotAcknowledged},
			{Name: "second", Targets: []escalation.Target{escalation.Role("dei_officer")}, Delay: escalation.BusinessDays(5), Condition: escalation.IfNotResolved, Repeat: 2, RepeatEvery: escalation.Days(1)},
		},
	}
}

func TestPolicyValidation(t *testing.T) {
	if errs := validPolicy().Validate(); errs != nil {
		t.Fatalf("valid policy rejected: %v", errs)
	}
	cases := []struct {
		name   string
		change func(*escalation.Policy)
		want   []string
	}{
		{"id and version", func(p *escalation.Policy) { p.ID = "has space"; p.Version = 0 }, []string{"id", "version"}},
		{"department not an id", func(p *escalation.Policy) { p.Department = "Surgery Dept" }, []string{"department"}},
		{"no levels", func(p *escalation.Policy) { p.Levels = nil }, []string{"levels"}},
		{"too many levels", func(p *escalation.Policy) {
			for i := 0; i < 10; i++ {
				lv := p.Levels[1]
				lv.Name = "extra-" + string(rune('a'+i))
				lv.Repeat, lv.RepeatEvery = 0, escalation.Duration{}
				p.Levels = append(p.Levels, lv)
			}
		}, []string{"levels"}},
		{"level name not a code", func(p *escalation.Policy) { p.Levels[0].Name = "First Level" }, []string{"levels[0].name"}},
		{"duplicate level name", func(p *escalation.Policy) { p.Levels[1].Name = "first" }, []string{"levels[1].name"}},
		{"no targets", func(p *escalation.Policy) { p.Levels[0].Targets = nil }, []string{"levels[0].targets"}},
		{"bad targets", func(p *escalation.Policy) {
			p.Levels[0].Targets = []escalation.Target{
				{Kind: "team"},
				{Kind: escalation.TargetUser, ID: "Dr. Smith"},
				{Kind: escalation.TargetRole, Role: "DEI Officer", ID: "x"},
				{Kind: escalation.TargetRotation, ID: "rot-1"},
				escalation.Rotation("rot-2", "a", "a"),
			}
		}, []string{"levels[0].targets[0].kind", "levels[0].targets[1].id", "levels[0].targets[2].role", "levels[0].targets[2].id", "levels[0].targets[3].members", "levels[0].targets[4].members[1]"}},
		{"delay not positive", func(p *escalation.Policy) { p.Levels[0].Delay = escalation.Days(0) }, []string{"levels[0].delay"}},
		{"delay unknown unit", func(p *escalation.Policy) { p.Levels[0].Delay = escalation.Duration{Amount: 2, Unit: "weeks"} }, []string{"levels[0].delay"}},
		{"delay of decades", func(p *escalation.Policy) { p.Levels[0].Delay = escalation.Months(300) }, []string{"levels[0].delay"}},
		{"unknown condition", func(p *escalation.Policy) { p.Levels[0].Condition = "if_ignored" }, []string{"levels[0].condition"}},
		{"missing condition", func(p *escalation.Policy) { p.Levels[0].Condition = "" }, []string{"levels[0].condition"}},
		{"acknowledgment level after a resolution level", func(p *escalation.Policy) {
			p.Levels[0], p.Levels[1] = p.Levels[1], p.Levels[0]
		}, []string{"levels[1].condition"}},
		{"unknown anchor", func(p *escalation.Policy) { p.Levels[1].From = "opening" }, []string{"levels[1].from"}},
		{"acknowledgment anchor on an acknowledgment level", func(p *escalation.Policy) { p.Levels[0].From = escalation.FromAcknowledgment }, []string{"levels[0].from"}},
		{"acknowledgment-anchored levels out of order", func(p *escalation.Policy) {
			p.Levels[1].From = escalation.FromAcknowledgment
			third := p.Levels[1]
			third.Name, third.Delay = "third", escalation.BusinessDays(3)
			third.Repeat, third.RepeatEvery = 0, escalation.Duration{}
			p.Levels = append(p.Levels, third)
		}, []string{"levels[2].delay"}},
		{"repeat without interval", func(p *escalation.Policy) { p.Levels[1].RepeatEvery = escalation.Duration{} }, []string{"levels[1].repeat_every"}},
		{"interval without repeat", func(p *escalation.Policy) { p.Levels[0].RepeatEvery = escalation.Hours(1) }, []string{"levels[0].repeat_every"}},
		{"repeat out of range", func(p *escalation.Policy) { p.Levels[1].Repeat = 21 }, []string{"levels[1].repeat"}},
		{"too many notices", func(p *escalation.Policy) {
			for i := 0; i < 3; i++ {
				lv := p.Levels[1]
				lv.Name = "more-" + string(rune('a'+i))
				lv.Repeat = 20
				p.Levels = append(p.Levels, lv)
			}
		}, []string{"levels"}},
		{"bad delegation", func(p *escalation.Policy) {
			p.Delegations = escalation.Delegations{{From: "u-1", To: "u-1", Start: "2026-12-24", End: "2026-12-20"}, {From: "", To: "u-2", Start: "24.12.2026", End: "2026-12-31"}}
		}, []string{"delegations[0].to", "delegations[0].end", "delegations[1].from", "delegations[1].start"}},
		{"bad check-ins", func(p *escalation.Policy) {
			p.Checkins = escalation.RetaliationCheckins{Offsets: []escalation.Duration{escalation.Days(30), escalation.Days(30), escalation.Days(-1)}, ResponseWindow: escalation.Duration{Amount: 1, Unit: "fortnights"}}
		}, []string{"checkins.offsets[1]", "checkins.offsets[2]", "checkins.response_window"}},
		{"calendar problems surface with the policy", func(p *escalation.Policy) { p.Calendar.TimeZone = "Nowhere/City" }, []string{"calendar.time_zone"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPolicy()
			c.change(&p)
			if got := fields(p.Validate()); !slices.Equal(got, c.want) {
				t.Fatalf("problems with %v, want %v (%v)", got, c.want, p.Validate())
			}
		})
	}
}

func TestInputValidation(t *testing.T) {
	in := escalation.Input{CaseID: "case-1", Department: "surgery", Policy: validPolicy(), Excluded: []string{"p-1", "Jane Doe"}}
	in.Policy.Version = 0
	got := fields(in.Validate())
	if want := []string{"excluded[1]", "policy.version"}; !slices.Equal(got, want) {
		t.Fatalf("problems with %v, want %v", got, want)
	}
	if got := fields(escalation.Input{Policy: validPolicy()}.Validate()); !slices.Equal(got, []string{"case_id", "department"}) {
		t.Fatalf("empty input: %v", got)
	}
}

func TestIDsAndCodes(t *testing.T) {
	for s, want := range map[string]bool{"E000123": true, "user:42": true, "a.b_c-d": true, "": false, "Jane Doe": false, "jane@example.org": false, strings.Repeat("x", 129): false} {
		if escalation.ValidID(s) != want {
			t.Errorf("ValidID(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"substantiated": true, "program-director": true, "dei_officer": true, "2nd-level": true, "": false, "Substantiated": false, "-x": false, "he said that": false, strings.Repeat("x", 65): false} {
		if escalation.ValidCode(s) != want {
			t.Errorf("ValidCode(%q) != %v", s, want)
		}
	}
}

func TestDelegate(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	ds := escalation.Delegations{
		{From: "pd-1", To: "pd-2", Start: "2026-06-08", End: "2026-06-12"},
		{From: "pd-2", To: "pd-3", Start: "2026-06-01", End: "2026-06-30"},
		{From: "pd-1", To: "pd-9", Start: "2026-06-01", End: "2026-06-30"}, // shadowed by the first entry in its dates
		{From: "a", To: "b", Start: "2026-06-01", End: "2026-06-30"},
		{From: "b", To: "a", Start: "2026-06-01", End: "2026-06-30"},
		{From: "x", To: "chain-sup", Start: "2026-06-01", End: "2026-06-30"},
	}
	blocked := func(id string) bool { return id == "chain-sup" }
	cases := []struct {
		person string
		at     time.Time
		want   string
	}{
		{"pd-1", wall(t, ny, "2026-06-10 10:00"), "pd-3"},             // away, and so is the delegate
		{"pd-1", wall(t, ny, "2026-06-12 23:59"), "pd-3"},             // the end date is included
		{"pd-1", wall(t, ny, "2026-06-15 10:00"), "pd-9"},             // the first entry is over; the next covers
		{"pd-1", wall(t, ny, "2026-07-01 10:00"), "pd-1"},             // back
		{"pd-1", time.Date(2026, 6, 8, 3, 0, 0, 0, time.UTC), "pd-9"}, // 7 June in New York
		{"a", wall(t, ny, "2026-06-10 10:00"), "b"},                   // a cycle stops
		{"x", wall(t, ny, "2026-06-10 10:00"), "x"},                   // never to a blocked person
		{"nobody", wall(t, ny, "2026-06-10 10:00"), "nobody"},
	}
	for _, c := range cases {
		if got := ds.Delegate(c.person, c.at, ny, blocked); got != c.want {
			t.Errorf("Delegate(%s, %s) = %s, want %s", c.person, c.at, got, c.want)
		}
	}
}
