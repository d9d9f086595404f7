package escalation

import (
	"fmt"
	"strconv"
)

// Limits. They keep every case's history far below Temporal's limits
// (see the package documentation) and catch typos in policies.
const (
	MaxLevels                = 10
	MaxTargetsPerLevel       = 20
	MaxRotationMembers       = 100
	MaxRepeat                = 20
	MaxNotificationsPerRound = 50 // levels plus their repeats
	MaxCheckins              = 12
	MaxDelegations           = 200
	MaxExcluded              = 1000
	MaxIDLength              = 128
	MaxCodeLength            = 64
)

// FieldError is one problem with one field, named by its JSON path, e.g.
// "levels[2].delay".
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidID reports whether s is a usable identifier: 1 to 128 letters,
// digits and . _ : - (the directory's rule). Free text, such as a name,
// never passes, which keeps names out of workflow payloads.
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// ValidCode reports whether s is a short code: a lowercase letter or digit,
// then up to 63 lowercase letters, digits, _ and -. Level names, role names
// and outcome codes are codes.
func ValidCode(s string) bool {
	if s == "" || len(s) > MaxCodeLength {
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

const (
	reasonID   = "must be an id: 1 to 128 letters, digits and . _ : -"
	reasonCode = "must be a code: lowercase letters, digits, _ and -, at most 64"
)

// Validate returns every problem with p, in field order; nil means the
// policy can drive a case.
func (p Policy) Validate() []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{field, reason}) }
	if !ValidID(p.ID) {
		add("id", reasonID)
	}
	if p.Version < 1 {
		add("version", "must be 1 or more")
	}
	if p.Department != "" && !ValidID(p.Department) {
		add("department", reasonID)
	}
	errs = append(errs, p.Calendar.validate("calendar")...)
	errs = append(errs, validateLevels(p.Levels)...)
	if len(p.Delegations) > MaxDelegations {
		add("delegations", fmt.Sprintf("at most %d entries", MaxDelegations))
	}
	for i, d := range p.Delegations {
		errs = append(errs, d.validate(fmt.Sprintf("delegations[%d]", i))...)
	}
	errs = append(errs, p.Checkins.validate("checkins")...)
	return errs
}

func validateLevels(levels []Level) []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{field, reason}) }
	switch {
	case len(levels) == 0:
		add("levels", "at least one level is required")
	case len(levels) > MaxLevels:
		add("levels", fmt.Sprintf("at most %d levels", MaxLevels))
	}
	var names []string
	notices := 0
	seenResolved := false
	for i, lv := range levels {
		at := func(field string) string { return fmt.Sprintf("levels[%d].%s", i, field) }
		switch {
		case !ValidCode(lv.Name):
			add(at("name"), reasonCode)
		case contains(names, lv.Name):
			add(at("name"), "used by an earlier level")
		}
		names = append(names, lv.Name)
		switch {
		case len(lv.Targets) == 0:
			add(at("targets"), "at least one target is required")
		case len(lv.Targets) > MaxTargetsPerLevel:
			add(at("targets"), fmt.Sprintf("at most %d targets", MaxTargetsPerLevel))
		}
		for j, t := range lv.Targets {
			errs = append(errs, t.validate(at(fmt.Sprintf("targets[%d]", j)))...)
		}
		if r := lv.Delay.problem(); r != "" {
			add(at("delay"), r)
		}
		switch lv.Condition {
		case IfNotAcknowledged:
			if seenResolved {
				add(at("condition"), "if_not_acknowledged levels must come before if_not_resolved levels")
			}
		case IfNotResolved:
			seenResolved = true
		case "":
			add(at("condition"), "required")
		default:
			add(at("condition"), "unknown condition "+strconv.Quote(string(lv.Condition))+" (if_not_acknowledged, if_not_resolved)")
		}
		switch lv.From {
		case "", FromPreviousLevel:
		case FromAcknowledgment:
			if lv.Condition == IfNotAcknowledged {
				add(at("from"), "a level counted from the acknowledgment must have condition if_not_resolved")
			}
			if i > 0 {
				prev := levels[i-1]
				if prev.From == FromAcknowledgment && prev.Delay.Unit == lv.Delay.Unit && lv.Delay.Amount <= prev.Delay.Amount {
					add(at("delay"), fmt.Sprintf("must be longer than levels[%d].delay: both count from the acknowledgment", i-1))
				}
			}
		default:
			add(at("from"), "unknown anchor "+strconv.Quote(string(lv.From))+" (previous_level, acknowledgment)")
		}
		switch {
		case lv.Repeat < 0 || lv.Repeat > MaxRepeat:
			add(at("repeat"), fmt.Sprintf("must be between 0 and %d", MaxRepeat))
		case lv.Repeat > 0:
			if r := lv.RepeatEvery.problem(); r != "" {
				add(at("repeat_every"), r)
			}
		case !lv.RepeatEvery.IsZero():
			add(at("repeat_every"), "set only when repeat is more than 0")
		}
		if lv.Repeat > 0 && lv.Repeat <= MaxRepeat {
			notices += lv.Repeat
		}
		notices++
	}
	if notices > MaxNotificationsPerRound {
		add("levels", fmt.Sprintf("levels and their repeats send at most %d notices, these send %d", MaxNotificationsPerRound, notices))
	}
	return errs
}

func (t Target) validate(prefix string) []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{prefix + "." + field, reason}) }
	switch t.Kind {
	case TargetUser:
		if !ValidID(t.ID) {
			add("id", reasonID)
		}
		if t.Role != "" {
			add("role", "only for role targets")
		}
		if len(t.Members) > 0 {
			add("members", "only for rotation targets")
		}
	case TargetRole:
		if !ValidCode(t.Role) {
			add("role", reasonCode)
		}
		if t.ID != "" {
			add("id", "only for user and rotation targets")
		}
		if len(t.Members) > 0 {
			add("members", "only for rotation targets")
		}
	case TargetRotation:
		if !ValidID(t.ID) {
			add("id", reasonID)
		}
		if t.Role != "" {
			add("role", "only for role targets")
		}
		switch {
		case len(t.Members) == 0:
			add("members", "at least one member is required")
		case len(t.Members) > MaxRotationMembers:
			add("members", fmt.Sprintf("at most %d members", MaxRotationMembers))
		}
		for i, m := range t.Members {
			field := fmt.Sprintf("members[%d]", i)
			if !ValidID(m) {
				add(field, reasonID)
			} else if contains(t.Members[:i], m) {
				add(field, "listed twice")
			}
		}
	case "":
		add("kind", "required")
	default:
		add("kind", "unknown kind "+strconv.Quote(string(t.Kind))+" (user, role, rotation)")
	}
	return errs
}

func (d Delegation) validate(prefix string) []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{prefix + "." + field, reason}) }
	if !ValidID(d.From) {
		add("from", reasonID)
	}
	if !ValidID(d.To) {
		add("to", reasonID)
	} else if d.To == d.From {
		add("to", "must differ from from")
	}
	okStart, okEnd := validDate(d.Start), validDate(d.End)
	if !okStart {
		add("start", "must be a date YYYY-MM-DD")
	}
	if !okEnd {
		add("end", "must be a date YYYY-MM-DD")
	}
	if okStart && okEnd && d.End < d.Start {
		add("end", "must not be before start")
	}
	return errs
}

func (c RetaliationCheckins) validate(prefix string) []FieldError {
	var errs []FieldError
	add := func(field, reason string) { errs = append(errs, FieldError{prefix + "." + field, reason}) }
	if len(c.Offsets) > MaxCheckins {
		add("offsets", fmt.Sprintf("at most %d check-ins", MaxCheckins))
	}
	for i, o := range c.Offsets {
		field := fmt.Sprintf("offsets[%d]", i)
		if r := o.problem(); r != "" {
			add(field, r)
		} else if containsDuration(c.Offsets[:i], o) {
			add(field, "listed twice")
		}
	}
	if !c.ResponseWindow.IsZero() {
		if r := c.ResponseWindow.problem(); r != "" {
			add("response_window", r)
		}
	}
	return errs
}

func containsDuration(ds []Duration, d Duration) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}
