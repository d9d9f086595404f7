package domain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/fault"
)

// MaxAudienceValues bounds each audience list (explicit people included).
const MaxAudienceValues = 1000

// Audience selects people from the directory: any combination of
// departments, roles, training levels, cohorts, sites and explicit people
// (see directory.Audience for the matching rules).
type Audience struct {
	Departments           []string `json:"departments,omitempty"`
	IncludeSubdepartments bool     `json:"include_subdepartments,omitempty"`
	Roles                 []string `json:"roles,omitempty"`
	TrainingLevels        []string `json:"training_levels,omitempty"`
	Cohorts               []string `json:"cohorts,omitempty"`
	Sites                 []string `json:"sites,omitempty"`
	People                []string `json:"people,omitempty"`
}

// Validate lists problems, with fields prefixed by field (e.g. "audience").
func (a Audience) Validate(field string) []fault.Field {
	var p problems
	if a.Directory().IsEmpty() {
		p.add(field, "must name at least one department, role, training level, cohort, site or person")
	}
	for _, l := range []struct {
		name string
		vals []string
		ids  bool
	}{{"departments", a.Departments, true}, {"roles", a.Roles, false}, {"training_levels", a.TrainingLevels, false},
		{"cohorts", a.Cohorts, false}, {"sites", a.Sites, false}, {"people", a.People, true}} {
		if len(l.vals) > MaxAudienceValues {
			p.add(field+"."+l.name, fmt.Sprintf("at most %d values", MaxAudienceValues))
			continue
		}
		for i, v := range l.vals {
			f := fmt.Sprintf("%s.%s[%d]", field, l.name, i)
			if l.ids {
				p.id(f, v)
			} else {
				p.text(f, v, directory.MaxTextLength, true)
			}
		}
	}
	return p
}

// Directory is the directory's form of the audience.
func (a Audience) Directory() directory.Audience {
	return directory.Audience{Departments: a.Departments, IncludeSubdepartments: a.IncludeSubdepartments, Roles: a.Roles,
		TrainingLevels: a.TrainingLevels, Cohorts: a.Cohorts, Sites: a.Sites, People: a.People}
}

// Resolve returns the ids of the audience's members in d, ascending.
func (a Audience) Resolve(d *directory.Directory) []string { return d.MemberIDs(a.Directory()) }

// Includes reports whether person is a member in d, by the directory's
// rules (see directory.Audience), checking that one person only: a
// directory change of one person costs the same whatever the audience size.
func (a Audience) Includes(d *directory.Directory, person string) bool {
	p, ok := d.Get(person)
	if !ok || !p.Active {
		return false
	}
	if slices.Contains(a.People, person) {
		return true
	}
	criteria := false
	if len(a.Departments) > 0 {
		criteria = true
		in := slices.Contains(a.Departments, p.Department)
		if !in && a.IncludeSubdepartments {
			for _, dep := range a.Departments {
				if slices.Contains(d.Subdepartments(dep, true), p.Department) {
					in = true
					break
				}
			}
		}
		if !in {
			return false
		}
	}
	for _, f := range []struct {
		want []string
		v    string
	}{{a.Roles, p.Role}, {a.TrainingLevels, p.TrainingLevel}, {a.Cohorts, p.Cohort}, {a.Sites, p.Site}} {
		if len(f.want) == 0 {
			continue
		}
		criteria = true
		if !slices.ContainsFunc(f.want, func(w string) bool { return fold(w) == fold(f.v) }) {
			return false
		}
	}
	return criteria
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
