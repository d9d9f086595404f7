package events_test

import (
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/events"
)

func TestSpecNames(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		spec                   events.Spec
		typ, subject, stream   string
		filter, classification string
	}{
		{
			name:           "v1",
			spec:           caseEscalated{}.EventSpec(),
			typ:            "org.deiops.resolution.case.escalated.v1",
			subject:        "dei.resolution.case.escalated",
			stream:         "DEI_RESOLUTION",
			filter:         "dei.resolution.>",
			classification: "public",
		},
		{
			name:           "v2 beside v1",
			spec:           caseEscalatedV2{}.EventSpec(),
			typ:            "org.deiops.resolution.case.escalated.v2",
			subject:        "dei.resolution.case.escalated.v2",
			stream:         "DEI_RESOLUTION",
			filter:         "dei.resolution.>",
			classification: "public",
		},
		{
			name:           "internal",
			spec:           caseRouted{}.EventSpec(),
			typ:            "org.deiops.resolution.case.routed.v1",
			subject:        "deiops.internal.resolution.case.routed",
			stream:         "DEI_RESOLUTION_INTERNAL",
			filter:         "deiops.internal.resolution.>",
			classification: "internal",
		},
		{
			name:    "underscores",
			spec:    events.Spec{Service: "awareness", Entity: "training_assignment", Action: "overdue", Version: 3, Summary: "x"},
			typ:     "org.deiops.awareness.training_assignment.overdue.v3",
			subject: "dei.awareness.training_assignment.overdue.v3",
			stream:  "DEI_AWARENESS", filter: "dei.awareness.>", classification: "public",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for _, c := range []struct{ what, got, want string }{
				{"Type", s.Type(), tc.typ},
				{"Subject", s.Subject(), tc.subject},
				{"Stream", s.Stream(), tc.stream},
				{"StreamSubjects", s.StreamSubjects(), tc.filter},
				{"Classification", s.Classification(), tc.classification},
				{"DataSchema", s.DataSchema(), "urn:deiops:schema:" + tc.typ},
			} {
				if c.got != c.want {
					t.Errorf("%s() = %q, want %q", c.what, c.got, c.want)
				}
			}
			// The stream must hold the subject, or publishing fails.
			if !strings.HasPrefix(s.Subject(), strings.TrimSuffix(s.StreamSubjects(), ">")) {
				t.Errorf("subject %s is outside stream filter %s", s.Subject(), s.StreamSubjects())
			}
		})
	}
}

func TestSpecValidateRejects(t *testing.T) {
	valid := events.Spec{Service: "resolution", Entity: "case", Action: "escalated", Version: 1, Summary: "s"}
	for _, tc := range []struct {
		name string
		edit func(*events.Spec)
		want string
	}{
		{"uppercase service", func(s *events.Spec) { s.Service = "Resolution" }, `service "Resolution"`},
		{"uppercase action", func(s *events.Spec) { s.Action = "escalatedToHR" }, `action "escalatedToHR"`},
		{"dot in entity", func(s *events.Spec) { s.Entity = "case.note" }, `entity "case.note"`},
		{"dot in action", func(s *events.Spec) { s.Action = "escalated.v2" }, `action "escalated.v2"`},
		{"wildcard", func(s *events.Spec) { s.Entity = "*" }, `entity "*"`},
		{"hyphen", func(s *events.Spec) { s.Entity = "case-note" }, `entity "case-note"`},
		{"leading digit", func(s *events.Spec) { s.Service = "1st" }, `service "1st"`},
		{"empty", func(s *events.Spec) { s.Action = "" }, `action ""`},
		{"version 0", func(s *events.Spec) { s.Version = 0 }, "version must be at least 1"},
		{"no summary", func(s *events.Spec) { s.Summary = "  " }, "summary required"},
		{"dead-letter stream name", func(s *events.Spec) { s.Service = "deadletter" }, "reserved stream name DEI_DEADLETTER"},
		{"internal stream name", func(s *events.Spec) { s.Service = "resolution_internal" }, "reserved stream name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid
			tc.edit(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSpecValidateReportsFirstProblemStably(t *testing.T) {
	s := events.Spec{Service: "A", Entity: "B", Action: "C", Version: 1, Summary: "s"}
	for range 20 {
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "service") {
			t.Fatalf("Validate() = %v, want the service reported first", err)
		}
	}
}

func TestSourceNamesTheOwnerNotTheProcess(t *testing.T) {
	base := events.Installation("st-marys")
	svc := events.Spec{Service: "resolution", Entity: "case", Action: "closed", Version: 1, Summary: "x"}
	if got := svc.Source(base); got != "/st-marys/resolution" {
		t.Errorf("service event source %q", got)
	}
	lib := events.Spec{Service: "directory", Entity: "person", Action: "updated", Version: 1, Platform: true, Summary: "x"}
	if got := lib.Source(base); got != "/st-marys/platform" {
		t.Errorf("platform event source %q", got)
	}
}
