// Package caller is the platform's one vocabulary for who is calling: the
// actor of a use case and the roles it may hold. Authentication
// (pkg/auth) builds an Actor from a verified token; use cases decide with
// it. It depends on the standard library only, so domain and application
// packages may import it without pulling in transport code.
package caller

import "slices"

// Role is a platform role as named in the identity provider's role claim.
type Role string

// Platform roles.
const (
	Staff           Role = "staff"
	Resident        Role = "resident"
	Supervisor      Role = "supervisor"
	Resolver        Role = "resolver"
	DEIOfficer      Role = "dei_officer"
	DepartmentLead  Role = "department_lead"
	ProgramDirector Role = "program_director"
	Coordinator     Role = "coordinator"
	Integrator      Role = "integrator"
	Admin           Role = "admin"
)

// Roles lists every platform role.
func Roles() []Role {
	return []Role{Staff, Resident, Supervisor, Resolver, DEIOfficer, DepartmentLead, ProgramDirector, Coordinator, Integrator, Admin}
}

// Known reports whether r is a platform role.
func (r Role) Known() bool { return slices.Contains(Roles(), r) }

// People are the roles of members of staff who act for themselves (not
// integrations): whoever holds one may use the self-service routes.
func People() []Role {
	return []Role{Staff, Resident, Supervisor, Resolver, DEIOfficer, DepartmentLead, ProgramDirector, Coordinator, Admin}
}

// Actor is who calls a use case: a signed-in person (ID is the identity
// provider's subject, which is the directory person id) with their roles.
// The zero Actor is anonymous.
type Actor struct {
	ID string
	// Roles are the values of the role claim, including roles the platform
	// does not know (they grant nothing).
	Roles []Role
}

// Anonymous reports whether nobody is signed in.
func (a Actor) Anonymous() bool { return a.ID == "" }

// Has reports whether the actor holds at least one of roles.
func (a Actor) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// New returns an actor with the given id and role names.
func New(id string, roles ...string) Actor {
	a := Actor{ID: id, Roles: make([]Role, 0, len(roles))}
	for _, r := range roles {
		a.Roles = append(a.Roles, Role(r))
	}
	return a
}

// Names returns roles as the strings a role claim carries.
func Names(roles ...Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}
