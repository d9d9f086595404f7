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
