// Package guidance publishes, per department, what to do when someone
// encounters racism or mistreatment: the steps to take, whom to contact
// (by role, with names where a department has them), how long things take,
// and the options a reporter has.
//
// Guidance is public policy text, not restricted data: anyone signed in
// reads it, DEI officers and admins publish it. Every publish is a new
// version (package versioned); old versions stay readable. A department
// without guidance of its own gets the hospital-wide default (scope
// "hospital"), and a fresh install without even that gets Builtin, as
// version 0 with source scope "builtin", so the question "what do I do?"
// always has an answer.
package guidance

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/deiops/deiops/pkg/fault"
)

// Option codes: what a reporter may choose.
const (
	// OptionRecordOnly records what happened, with no action taken.
	OptionRecordOnly = "record_only"
	// OptionInformalSupport is a conversation, advice or mediation.
	OptionInformalSupport = "informal_support"
	// OptionFormalResolution is the designated resolution process.
	OptionFormalResolution = "formal_resolution"
)

// OptionCodes lists every option code in the order reporters see them.
func OptionCodes() []string {
	return []string{OptionRecordOnly, OptionInformalSupport, OptionFormalResolution}
}

// Limits of a guidance document. MaxTotalRunes keeps a document far below
// the store's size limit whatever the per-field limits add up to.
const (
	MaxTitleRunes   = 200
	MaxTextRunes    = 4000 // summary, step details, option descriptions
	MaxSteps        = 50
	MaxContacts     = 50
	MaxTimelines    = 50
	MaxShortRunes   = 200 // contact name and hours, timeline label
	MaxEmailBytes   = 254
	MaxPhoneRunes   = 40
	MaxRoleLength   = 64
	MaxDays         = 3650
	MaxTotalRunes   = 60000
	reasonSingle    = "must be one line without control characters"
	reasonMultiline = "must not contain control characters other than line breaks and tabs"
)

// Guidance is one department's guidance document.
type Guidance struct {
	Title     string     `json:"title" desc:"Heading, e.g. If you experience or witness racism or mistreatment" maxLength:"200"`
	Summary   string     `json:"summary,omitempty" desc:"A short introduction; line breaks allowed" maxLength:"4000"`
	Steps     []Step     `json:"steps" desc:"What to do, in order" minItems:"1" maxItems:"50"`
	Contacts  []Contact  `json:"contacts" desc:"Whom to contact, by role; name and contact details where the department has them" minItems:"1" maxItems:"50"`
	Timelines []Timeline `json:"timelines,omitempty" desc:"How long things take, in calendar days" maxItems:"50"`
	Options   []Option   `json:"options" desc:"What a reporter may choose; formal_resolution is always offered" minItems:"1" maxItems:"3"`
}

// Step is one thing to do.
type Step struct {
	Title  string `json:"title" desc:"What to do, in a few words" maxLength:"200"`
	Detail string `json:"detail,omitempty" desc:"How, and why; line breaks allowed" maxLength:"4000"`
}

// Contact is someone to turn to. Role is what makes guidance last: names
// change, the dei_officer role does not.
type Contact struct {
	Role  string `json:"role" desc:"Role code, e.g. dei_officer, ombudsperson, program_director" pattern:"^[a-z0-9][a-z0-9_-]{0,63}$"`
	Name  string `json:"name,omitempty" desc:"Person or office, e.g. Office of the Ombuds" maxLength:"200"`
	Email string `json:"email,omitempty" desc:"E-mail address" format:"email" maxLength:"254"`
	Phone string `json:"phone,omitempty" desc:"Phone number: digits, spaces and + ( ) - . /" maxLength:"40"`
	Hours string `json:"hours,omitempty" desc:"When they can be reached, e.g. Mon-Fri 08:00-18:00" maxLength:"200"`
}

// Timeline is one commitment, e.g. "Acknowledgment of your report", 7 days.
type Timeline struct {
	Label string `json:"label" desc:"What happens within the time" maxLength:"200"`
	Days  int    `json:"days" desc:"Calendar days" minimum:"1" maximum:"3650"`
}

// Option is one choice a reporter has.
type Option struct {
	Code        string `json:"code" desc:"record_only: keep a record only; informal_support: advice, a conversation or mediation; formal_resolution: the designated resolution process" enum:"record_only,informal_support,formal_resolution"`
	Description string `json:"description" desc:"What the option means in this department" maxLength:"4000"`
}

// Validate returns every problem with g, each naming its JSON path
// (steps[2].title); nil means g can be published.
//
// Every guidance must offer formal_resolution: the designated resolution
// process is a right of every reporter, and guidance that left it out
// would tell people it does not exist.
func (g Guidance) Validate() []fault.Field {
	v := &validator{}
	v.text("title", g.Title, MaxTitleRunes, true, false)
	v.text("summary", g.Summary, MaxTextRunes, false, true)

	v.count("steps", len(g.Steps), 1, MaxSteps, "step")
	for i, s := range g.Steps {
		at := fmt.Sprintf("steps[%d].", i)
		v.text(at+"title", s.Title, MaxTitleRunes, true, false)
		v.text(at+"detail", s.Detail, MaxTextRunes, false, true)
	}

	v.count("contacts", len(g.Contacts), 1, MaxContacts, "contact")
	for i, c := range g.Contacts {
		at := fmt.Sprintf("contacts[%d].", i)
		switch {
		case c.Role == "":
			v.add(at+"role", "required")
		case !validRole(c.Role):
			v.add(at+"role", "must be a role code: a lowercase letter or digit, then up to 63 lowercase letters, digits, _ and -")
		}
		v.text(at+"name", c.Name, MaxShortRunes, false, false)
		if c.Email != "" {
			if len(c.Email) > MaxEmailBytes || !validEmail(c.Email) {
				v.add(at+"email", "must be an e-mail address such as dei-office@example.org")
			}
		}
		if c.Phone != "" && !validPhone(c.Phone) {
			v.add(at+"phone", fmt.Sprintf("must be a phone number of at most %d characters: digits, spaces and + ( ) - . /", MaxPhoneRunes))
		}
		v.text(at+"hours", c.Hours, MaxShortRunes, false, false)
	}

	v.count("timelines", len(g.Timelines), 0, MaxTimelines, "timeline")
	for i, tl := range g.Timelines {
		at := fmt.Sprintf("timelines[%d].", i)
		v.text(at+"label", tl.Label, MaxShortRunes, true, false)
		if tl.Days < 1 || tl.Days > MaxDays {
			v.add(at+"days", fmt.Sprintf("must be between 1 and %d", MaxDays))
		}
	}

	v.count("options", len(g.Options), 1, len(OptionCodes()), "option")
	seen := map[string]bool{}
	for i, o := range g.Options {
		at := fmt.Sprintf("options[%d].", i)
		switch {
		case !knownOption(o.Code):
			v.add(at+"code", "must be one of "+strings.Join(OptionCodes(), ", "))
		case seen[o.Code]:
			v.add(at+"code", "listed twice")
		}
		seen[o.Code] = true
		v.text(at+"description", o.Description, MaxTextRunes, true, true)
	}
	if len(g.Options) > 0 && !seen[OptionFormalResolution] {
		v.add("options", "must include formal_resolution: reporters can always ask for the formal resolution process")
	}
	if v.runes > MaxTotalRunes {
		v.add("(root)", fmt.Sprintf("at most %d characters of text in all, this has %d", MaxTotalRunes, v.runes))
	}
	return v.errs
}

type validator struct {
	errs  []fault.Field
	runes int
}

func (v *validator) add(field, reason string) {
	v.errs = append(v.errs, fault.Field{Field: field, Reason: reason})
}

func (v *validator) count(field string, n, min, max int, noun string) {
	switch {
	case n < min:
		v.add(field, fmt.Sprintf("at least %d %s required", min, noun))
	case n > max:
		v.add(field, fmt.Sprintf("at most %d %ss", max, noun))
	}
}

// text checks one text field: required, valid UTF-8, at most max runes,
// and free of control characters (line breaks and tabs allowed where
// multiline).
func (v *validator) text(field, s string, max int, required, multiline bool) {
	if !utf8.ValidString(s) {
		v.add(field, "must be valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(s)
	v.runes += n
	switch {
	case strings.TrimSpace(s) == "":
		if required {
			v.add(field, "required")
		} else if s != "" {
			v.add(field, "must not be only white space")
		}
		return
	case n > max:
		v.add(field, fmt.Sprintf("at most %d characters", max))
		return
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			if multiline {
				v.add(field, reasonMultiline)
			} else {
				v.add(field, reasonSingle)
			}
			return
		}
	}
}

func knownOption(code string) bool {
	for _, c := range OptionCodes() {
		if c == code {
			return true
		}
	}
	return false
}

// validRole: a lowercase letter or digit, then up to 63 lowercase letters,
// digits, _ and - (the escalation package's code rule).
func validRole(s string) bool {
	if s == "" || len(s) > MaxRoleLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// validEmail accepts a bare address (no display name, no angle brackets).
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

func validPhone(s string) bool {
	if utf8.RuneCountInString(s) > MaxPhoneRunes {
		return false
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +()-./", r):
		default:
			return false
		}
	}
	return digits >= 2
}

// Builtin is the guidance answered when nothing was ever published, not
// even a hospital-wide default. It names roles, not people, and promises
// only what the platform enforces: reports are acknowledged within 7
// days and get feedback within 3 months (Directive (EU) 2019/1937
// art. 9). A department or the hospital should publish its own, with its
// contacts' names, numbers and hours.
func Builtin() Guidance {
	return Guidance{
		Title: "If you experience or witness racism or mistreatment",
		Summary: "You are not expected to handle this alone. These steps apply in every department " +
			"until your department publishes its own guidance.",
		Steps: []Step{
			{
				Title: "Make sure you and others are safe",
				Detail: "If anyone is in immediate danger, call hospital security or emergency services first. " +
					"You may step away from the situation; hand over patient care the usual way.",
			},
			{
				Title: "Write down what happened",
				Detail: "As soon as you can, note the date, time and place, what was said or done, who was involved " +
					"and who saw it. Keep your notes private; you can add them to a report later.",
			},
			{
				Title: "Choose what you want to happen",
				Detail: "You decide: keep a record only, ask for informal support, or ask for formal resolution. " +
					"You can report anonymously, and you can change your choice later.",
			},
			{
				Title: "Report it or talk to someone",
				Detail: "Use the speak-up report, or contact the DEI office or the ombudsperson. " +
					"The people named in a report and their supervisors are kept out of handling it.",
			},
		},
		Contacts: []Contact{
			{Role: "dei_officer", Name: "DEI office"},
			{Role: "ombudsperson", Name: "Ombuds office"},
		},
		Timelines: []Timeline{
			{Label: "Acknowledgment of your report, at the latest", Days: 7},
			{Label: "Feedback on a formal report, at the latest", Days: 90},
		},
		Options: []Option{
			{Code: OptionRecordOnly, Description: "What happened is recorded in confidence. " +
				"Nobody is contacted and nothing else happens unless you ask later."},
			{Code: OptionInformalSupport, Description: "Someone from the DEI office or the ombudsperson listens, " +
				"advises and, if you wish, helps resolve things through a conversation or mediation."},
			{Code: OptionFormalResolution, Description: "The designated resolution process: your report is acknowledged, " +
				"handled by people outside the reported person's reporting line, and you receive feedback within the times above."},
		},
	}
}
