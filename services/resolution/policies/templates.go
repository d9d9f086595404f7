package policies

import "github.com/deiops/deiops/workflows/escalation"

// Template names, as PUT's "template" field and GET .../templates name them.
const (
	TemplateEUDirective      = "eu_directive_2019_1937"
	TemplateResidencyProgram = "residency_program_default"
)

// Template is a ready policy a department can adopt as is, or start from.
type Template struct {
	Name        string            `json:"name" desc:"Name to adopt the template with: PUT {\"template\": name}" enum:"eu_directive_2019_1937,residency_program_default"`
	Title       string            `json:"title" desc:"One line"`
	Description string            `json:"description" desc:"What the levels do and what adopters should change"`
	Policy      escalation.Policy `json:"policy" desc:"The policy; adopting it sets id, version and department"`
}

// Templates lists the built-in templates.
func Templates() []Template {
	return []Template{
		{
			Name:  TemplateEUDirective,
			Title: "Directive (EU) 2019/1937: acknowledge within 7 days, feedback within 3 months",
			Description: "Calendar clocks of the Whistleblowing Directive, art. 9(1)(b) and (f). Handlers are reminded on day 5; " +
				"on day 7 the DEI officer is told the acknowledgment is overdue (daily, six more times). Two months after the " +
				"acknowledgment the handlers are reminded to give feedback; at three months the DEI officer and the department " +
				"lead are told it is overdue (weekly, four more times). Resolving the case stops the feedback levels. " +
				"Set the time zone (Europe/Brussels here) and the site's holidays.",
			Policy: escalation.EUWhistleblowingDirective(),
		},
		{
			Name:  TemplateResidencyProgram,
			Title: "Residency or fellowship program: business-day escalation to the program director, DEI officer and chair",
			Description: "Without acknowledgment: the program director after 2 business days, the DEI officer 2 business days " +
				"later, the department chair 3 business days after that. Without resolution: the program director and the " +
				"DEI officer 30 business days after the acknowledgment, the chair 10 business days later. People in the " +
				"reported person's supervisory chain are never notified. Set the time zone (America/New_York here) and the " +
				"site's holidays. This is also the policy of a department when neither it nor the hospital has published one.",
			Policy: escalation.ResidencyProgramDefault(),
		},
	}
}

// TemplateNamed returns the template called name.
func TemplateNamed(name string) (Template, bool) {
	for _, t := range Templates() {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}
