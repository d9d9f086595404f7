package app

import (
	"context"
	"errors"
	"slices"
)

// Errors the ports map to HTTP answers.
var (
	// ErrNotFound: no such case, or one the caller may not know exists
	// (answered alike, so a 404 reveals nothing).
	ErrNotFound = errors.New("case not found")
	// ErrExists: a case id was taken (a retried linked case).
	ErrExists = errors.New("case exists")
	// ErrForbidden: the caller may see the case but not do this.
	ErrForbidden = errors.New("not allowed on this case")
	// ErrBadCredentials: wrong case key or wrong secret (never which).
	ErrBadCredentials = errors.New("invalid case key or secret")
	// ErrKeyTaken and ErrUnknownKey come from Credentials stores.
	ErrKeyTaken   = errors.New("case key taken")
	ErrUnknownKey = errors.New("unknown case key")
)

// Roles the service grants rights to (the platform's role names).
const (
	RoleDEIOfficer = "dei_officer"
	RoleResolver   = "resolver"
)

// Actor is who calls a use case: a signed-in person with their roles.
type Actor struct {
	ID    string
	Roles []string
}

// Has reports whether the actor holds role.
func (a Actor) Has(role string) bool { return slices.Contains(a.Roles, role) }

type actorKey struct{}

// WithActor records the actor of a change for the events it causes.
func WithActor(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, actorKey{}, id)
}

// ActorFrom returns the actor WithActor recorded, or "".
func ActorFrom(ctx context.Context) string {
	id, _ := ctx.Value(actorKey{}).(string)
	return id
}
