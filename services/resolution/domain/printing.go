package domain

import (
	"fmt"
	"log/slog"
)

// fmt does not consult Restricted's methods for unexported fields (it cannot
// reach them through reflection), so it would dump their contents raw.
// Report and Case therefore print themselves: codes and ids only.

func (r Report) String() string {
	return fmt.Sprintf("domain.Report{category=%s department=%s site=%s desired_outcome=%s anonymous=%t involved=%d witnesses=%d}",
		r.category, r.departmentID, r.site, r.desiredOutcome, r.anonymous, len(r.involved), len(r.witnesses))
}

// GoString keeps %#v from dumping restricted fields.
func (r Report) GoString() string { return r.String() }

// Format prints String for every verb.
func (r Report) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, r.String()) }

// LogValue logs codes only.
func (r Report) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("category", string(r.category)),
		slog.String("department_id", r.departmentID),
		slog.String("site", r.site),
		slog.Bool("anonymous", r.anonymous),
	)
}

func (c Case) String() string {
	return fmt.Sprintf("domain.Case{id=%s state=%s category=%s severity=%s route=%s legal_hold=%t}",
		c.id, c.state, c.category, c.severity, c.route, c.legalHold)
}

// GoString keeps %#v from dumping restricted fields.
func (c Case) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Case) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// LogValue logs ids and codes only.
func (c Case) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("case_id", c.id),
		slog.String("state", string(c.state)),
		slog.String("severity", string(c.severity)),
	)
}
