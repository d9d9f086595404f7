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
	"net/http"
	"slices"
	"time"

	"github.com/deiops/deiops/pkg/caller"
)

// Role is a platform role (pkg/caller owns the vocabulary).
type Role = caller.Role

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

// Actor is the principal as the use cases see it.
func (p *Principal) Actor() caller.Actor {
	if p == nil {
		return caller.Actor{}
	}
	return caller.New(p.Subject, p.Roles...)
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

// ActorOf is the caller of r as the use cases see it: the authenticated
// principal, or the zero (anonymous) Actor. It is the one way ports read
// who is calling.
func ActorOf(r *http.Request) caller.Actor {
	p, _ := FromContext(r.Context())
	return p.Actor()
}
