// Package auth authenticates API callers with OIDC bearer tokens (JWT signed
// by the identity provider's keys, ASVS V9/V10), carries the caller as a
// Principal in the request context, enforces roles, audits every denied
// request, and provides a development issuer for `deiops dev`.
//
// Routes are denied by default: a handler is reachable only through
// Authenticate (or Optional for the few anonymous routes) and Require.
package auth

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Role is a platform role as named in the identity provider's role claim.
type Role string

// Platform roles.
const (
	RoleStaff           Role = "staff"
	RoleResident        Role = "resident"
	RoleSupervisor      Role = "supervisor"
	RoleResolver        Role = "resolver"
	RoleDEIOfficer      Role = "dei_officer"
	RoleDepartmentLead  Role = "department_lead"
	RoleProgramDirector Role = "program_director"
	RoleCoordinator     Role = "coordinator"
	RoleIntegrator      Role = "integrator"
	RoleAdmin           Role = "admin"
)

// Roles lists every platform role.
func Roles() []Role {
	return []Role{
		RoleStaff, RoleResident, RoleSupervisor, RoleResolver, RoleDEIOfficer,
		RoleDepartmentLead, RoleProgramDirector, RoleCoordinator, RoleIntegrator, RoleAdmin,
	}
}

// Known reports whether r is a platform role.
func (r Role) Known() bool { return slices.Contains(Roles(), r) }

// Principal is the authenticated caller. It holds only what authorisation
// and audit need; names, emails and other personal claims are not kept.
type Principal struct {
	// Subject is the identity provider's stable user id (sub).
	Subject string
	// Roles are the values of the configured role claim, including roles
	// this platform does not know.
	Roles []string
	// Issuer is the token issuer (iss).
	Issuer string
	// Audience is the token audience (aud).
	Audience []string
	// ClientID is the OAuth client the token was issued to (azp), if present.
	ClientID string
	// TokenID is the token id (jti), if present; useful for revocation lists.
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// HasRole reports whether the principal holds role r.
func (p *Principal) HasRole(r Role) bool {
	return p != nil && slices.Contains(p.Roles, string(r))
}

// HasAnyRole reports whether the principal holds at least one of roles.
func (p *Principal) HasAnyRole(roles ...Role) bool {
	for _, r := range roles {
		if p.HasRole(r) {
			return true
		}
	}
	return false
}

// LogValue logs the subject and roles only.
func (p *Principal) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("anonymous")
	}
	return slog.GroupValue(slog.String("sub", p.Subject), slog.Any("roles", p.Roles))
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of an authenticated request; ok is false
// for anonymous requests.
func FromContext(ctx context.Context) (p *Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
