package app

import (
	"errors"

	"github.com/deiops/deiops/pkg/fault"
)

// Errors of the use cases, classified by the platform's kinds (pkg/fault).
var (
	// ErrNotFound: no such case, or one the caller may not know exists
	// (answered alike, so a 404 reveals nothing).
	ErrNotFound = fault.New(fault.NotFound, "")
	// ErrForbidden: the caller may see the case but not do this.
	ErrForbidden = fault.New(fault.Forbidden, "you are on this case but may not do this")
	// ErrBadCredentials: wrong case key or wrong secret (never which).
	ErrBadCredentials = fault.New(fault.Unauthenticated, "invalid case key or secret")

	// ErrExists: a case id was taken (a retried linked case); internal.
	ErrExists = errors.New("case exists")
	// ErrKeyTaken and ErrUnknownKey come from Credentials stores; internal.
	ErrKeyTaken   = errors.New("case key taken")
	ErrUnknownKey = errors.New("unknown case key")
)
