package notify

import (
	"fmt"
	"slices"
)

// Template is the code of a fixed notification text.
type Template string

// The templates. Their texts are generic on purpose: they say what kind of
// thing needs attention, never which case, whom, or why.
const (
	TemplateCaseAttention     Template = "case_attention"
	TemplateCaseAssigned      Template = "case_assigned"
	TemplateCheckinDue        Template = "checkin_due"
	TemplateTrainingReminder  Template = "training_reminder"
	TemplateTrainingOverdue   Template = "training_overdue"
	TemplateTrainingEscalated Template = "training_escalated"
	TemplateDigest            Template = "digest"

	TemplateMentorshipProposed Template = "mentorship_proposed"
	TemplateMentorshipMatched  Template = "mentorship_matched"
	TemplateFirstMeetingNudge  Template = "first_meeting_nudge"
	TemplateFitCheck           Template = "fit_check"
	TemplateInactivityWarning  Template = "inactivity_warning"
	TemplateFeedbackRequest    Template = "feedback_request"
	TemplateGatheringReminder  Template = "gathering_reminder"
	TemplateGatheringCancelled Template = "gathering_cancelled"
	TemplateWaitlistPromoted   Template = "waitlist_promoted"
	TemplateGroupAnnouncement  Template = "group_announcement"
)

// Content is a rendered notification.
type Content struct {
	Subject string
	Body    string
}

type text struct {
	subject string
	// lead is the first sentence of the body; the link follows it.
	lead string
}

// templates is the whole vocabulary of deiops notifications. Only the link
// is ever added to these texts.
var templates = map[Template]text{
	TemplateCaseAttention:     {"deiops: a case needs your attention", "A case in deiops needs your attention."},
	TemplateCaseAssigned:      {"deiops: a case was assigned to you", "A case in deiops was assigned to you."},
	TemplateCheckinDue:        {"deiops: a check-in is due", "A check-in in deiops is due."},
	TemplateTrainingReminder:  {"deiops: a training is waiting for you", "A training in deiops is waiting for you."},
	TemplateTrainingOverdue:   {"deiops: a training is overdue", "A training assigned to you in deiops is overdue."},
	TemplateTrainingEscalated: {"deiops: a training needs your follow-up", "A training in deiops needs your follow-up."},
	TemplateDigest:            {"deiops: your summary is ready", "A summary of recent activity in deiops is ready for you."},

	TemplateMentorshipProposed: {"deiops: a mentorship proposal is waiting", "A mentorship proposal in deiops is waiting for your answer."},
	TemplateMentorshipMatched:  {"deiops: your mentorship is confirmed", "A mentorship in deiops is confirmed."},
	TemplateFirstMeetingNudge:  {"deiops: time to plan a first meeting", "A mentorship in deiops is waiting for its first meeting."},
	TemplateFitCheck:           {"deiops: how is your mentorship going?", "A mentorship in deiops asks how it is going."},
	TemplateInactivityWarning:  {"deiops: a mentorship will end soon", "A mentorship in deiops has been quiet and will end soon unless there is activity."},
	TemplateFeedbackRequest:    {"deiops: feedback requested", "A mentorship in deiops has ended; your feedback is welcome."},
	TemplateGatheringReminder:  {"deiops: a gathering is coming up", "A gathering you signed up for in deiops is coming up."},
	TemplateGatheringCancelled: {"deiops: a gathering was cancelled", "A gathering you signed up for in deiops was cancelled."},
	TemplateWaitlistPromoted:   {"deiops: a place opened for you", "A place opened for you at a gathering in deiops."},
	TemplateGroupAnnouncement:  {"deiops: a new group announcement", "A group you belong to in deiops posted an announcement."},
}

// bodyFormat puts the link after the template's sentence; nothing else is
// interpolated.
const bodyFormat = "%s Open it here: %s\n\nThis message deliberately contains no details."

// Templates lists every template code, sorted.
func Templates() []Template {
	out := make([]Template, 0, len(templates))
	for t := range templates {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func templateCodes() []string {
	var out []string
	for _, t := range Templates() {
		out = append(out, string(t))
	}
	return out
}

// Valid reports whether t is a known template code.
func (t Template) Valid() bool {
	_, ok := templates[t]
	return ok
}

// Render returns the subject and plain-text body of template t with link.
// link must be a valid link (see Requested.Validate).
func Render(t Template, link string) (Content, error) {
	x, ok := templates[t]
	if !ok {
		return Content{}, fmt.Errorf("unknown template %q", truncate(string(t), 64))
	}
	if p := linkProblem(link); p != "" {
		return Content{}, fmt.Errorf("link: %s", p)
	}
	return Content{Subject: x.subject, Body: fmt.Sprintf(bodyFormat, x.lead, link)}, nil
}
