package notify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/notify"
)

const link = "https://deiops.example.org/cases/c-123"

func TestTemplatesRenderOnlyTheirGenericTextAndTheLink(t *testing.T) {
	const tail = " Open it here: " + link + "\n\nThis message deliberately contains no details."
	want := map[notify.Template][2]string{
		notify.TemplateCaseAttention:     {"deiops: a case needs your attention", "A case in deiops needs your attention." + tail},
		notify.TemplateCaseAssigned:      {"deiops: a case was assigned to you", "A case in deiops was assigned to you." + tail},
		notify.TemplateCheckinDue:        {"deiops: a check-in is due", "A check-in in deiops is due." + tail},
		notify.TemplateTrainingReminder:  {"deiops: a training is waiting for you", "A training in deiops is waiting for you." + tail},
		notify.TemplateTrainingOverdue:   {"deiops: a training is overdue", "A training assigned to you in deiops is overdue." + tail},
		notify.TemplateTrainingEscalated: {"deiops: a training needs your follow-up", "A training in deiops needs your follow-up." + tail},
		notify.TemplateDigest:            {"deiops: your summary is ready", "A summary of recent activity in deiops is ready for you." + tail},

		notify.TemplateMentorshipProposed: {"deiops: a mentorship proposal is waiting", "A mentorship proposal in deiops is waiting for your answer." + tail},
		notify.TemplateMentorshipMatched:  {"deiops: your mentorship is confirmed", "A mentorship in deiops is confirmed." + tail},
		notify.TemplateFirstMeetingNudge:  {"deiops: time to plan a first meeting", "A mentorship in deiops is waiting for its first meeting." + tail},
		notify.TemplateFitCheck:           {"deiops: how is your mentorship going?", "A mentorship in deiops asks how it is going." + tail},
		notify.TemplateInactivityWarning:  {"deiops: a mentorship will end soon", "A mentorship in deiops has been quiet and will end soon unless there is activity." + tail},
		notify.TemplateFeedbackRequest:    {"deiops: feedback requested", "A mentorship in deiops has ended; your feedback is welcome." + tail},
		notify.TemplateGatheringReminder:  {"deiops: a gathering is coming up", "A gathering you signed up for in deiops is coming up." + tail},
		notify.TemplateGatheringCancelled: {"deiops: a gathering was cancelled", "A gathering you signed up for in deiops was cancelled." + tail},
		notify.TemplateWaitlistPromoted:   {"deiops: a place opened for you", "A place opened for you at a gathering in deiops." + tail},
		notify.TemplateGroupAnnouncement:  {"deiops: a new group announcement", "A group you belong to in deiops posted an announcement." + tail},
	}
	if got := notify.Templates(); len(got) != len(want) {
		t.Fatalf("Templates() = %v, want the %d codes of the contract", got, len(want))
	}
	for _, tmpl := range notify.Templates() {
		w, ok := want[tmpl]
		if !ok {
			t.Errorf("template %q has no expected text in this test", tmpl)
			continue
		}
		c, err := notify.Render(tmpl, link)
		if err != nil {
			t.Fatalf("render %s: %v", tmpl, err)
		}
		if c.Subject != w[0] || c.Body != w[1] {
			t.Errorf("render %s = %q / %q, want %q / %q", tmpl, c.Subject, c.Body, w[0], w[1])
		}
	}
	if _, err := notify.Render("case_details", link); err == nil {
		t.Error("unknown template rendered")
	}
	if _, err := notify.Render(notify.TemplateDigest, "javascript:alert(1)"); err == nil {
		t.Error("non-http link rendered")
	}
}

func valid() notify.Requested {
	return notify.NewRequest("n-1", "resolution", notify.TemplateCaseAttention, link, "c-123", "p-1", "p-2")
}

func TestRequestValidation(t *testing.T) {
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	if err := notify.NewFallbackRequest("n-2", "awareness", notify.TemplateTrainingEscalated, link, "").Validate(); err != nil {
		t.Fatalf("valid fallback request: %v", err)
	}

	cases := []struct {
		name   string
		edit   func(*notify.Requested)
		fields []string
	}{
		{"everything wrong at once", func(r *notify.Requested) {
			*r = notify.Requested{Template: "gossip", Link: "ftp://x/y", Reference: "c 1", RequestedBy: "Resolution!"}
		}, []string{"notification_id", "recipients", "template", "link", "reference", "requested_by"}},
		{"no recipients without fallback", func(r *notify.Requested) { r.Recipients = nil }, []string{"recipients"}},
		{"recipients with fallback", func(r *notify.Requested) { r.Fallback = true }, []string{"recipients"}},
		{"bad recipient id", func(r *notify.Requested) { r.Recipients = []string{"p-1", "bob@example.org"} }, []string{"recipients[1]"}},
		{"missing link", func(r *notify.Requested) { r.Link = "" }, []string{"link"}},
		{"relative link", func(r *notify.Requested) { r.Link = "/cases/c-123" }, []string{"link"}},
		{"link with credentials", func(r *notify.Requested) { r.Link = "https://u:p@deiops.example.org/x" }, []string{"link"}},
		{"link with spaces", func(r *notify.Requested) { r.Link = link + "?q=a b" }, []string{"link"}},
		{"link too long", func(r *notify.Requested) { r.Link = link + "/" + strings.Repeat("a", notify.MaxLinkLength) }, []string{"link"}},
		{"missing template", func(r *notify.Requested) { r.Template = "" }, []string{"template"}},
		{"long notification id", func(r *notify.Requested) { r.NotificationID = strings.Repeat("n", notify.MaxIDLength+1) }, []string{"notification_id"}},
		{"missing requested_by", func(r *notify.Requested) { r.RequestedBy = "" }, []string{"requested_by"}},
		{"too many recipients", func(r *notify.Requested) {
			r.Recipients = make([]string, notify.MaxRecipients+1)
			for i := range r.Recipients {
				r.Recipients[i] = "p"
			}
		}, []string{"recipients"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := valid()
			tc.edit(&r)
			err := r.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			var ve *notify.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("problems name %v, want %v (%v)", got, tc.fields, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines (it becomes a header): %q", err)
			}
			var fe notify.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.fields[0] {
				t.Errorf("errors.As finds %+v, want field %s", fe, tc.fields[0])
			}
		})
	}
}

func TestRequestedIsAnInternalPlatformEvent(t *testing.T) {
	spec := notify.Requested{}.EventSpec()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := spec.Type(); got != "org.deiops.platform.notification.requested.v1" {
		t.Errorf("type %s", got)
	}
	// Recipients and reference together tell who is involved in which case:
	// integrators must never see them.
	if spec.Subject() != "deiops.internal.platform.notification.requested" || spec.Classification() != "internal" {
		t.Errorf("subject %s, classification %s", spec.Subject(), spec.Classification())
	}
	if _, err := events.NewCatalog(notify.Events()...); err != nil {
		t.Fatal(err)
	}
}

func TestDeriveIDIsStableAndValid(t *testing.T) {
	a := notify.DeriveID("resolution", "case_attention", "c-1", "2")
	if a != notify.DeriveID("resolution", "case_attention", "c-1", "2") {
		t.Error("not stable")
	}
	// Parts are length-prefixed: moving a boundary changes the id.
	if a == notify.DeriveID("resolution", "case_attention", "c-12", "") {
		t.Error("ambiguous part boundaries")
	}
	r := valid()
	r.NotificationID = a
	if err := r.Validate(); err != nil {
		t.Errorf("derived id rejected: %v", err)
	}
}
