// Package idem names one request across its retries, so that what a
// request creates can be found again by its retry: the HTTP layer puts the
// request's Scope (from its Idempotency-Key) in the context, and use cases
// derive the ids of what they create from it with ID. The package knows no
// transport; use cases and ports both speak it.
package idem

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// Scope is one logical request: the same on every retry.
type Scope struct {
	// Key is a keyed hash of the caller and the Idempotency-Key: the same on
	// every retry, and not computable without the server's secret.
	Key string
	// Fingerprint is a keyed hash of the request (method, route, path,
	// query, body): a retry has the same one, a misuse of the key does not.
	Fingerprint string
}

type scopeKey struct{}

// With returns ctx carrying s.
func With(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// From returns the request's scope; ok is false for a request without an
// Idempotency-Key.
func From(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(Scope)
	return s, ok && s.Key != ""
}

// ID returns prefix followed by n bytes in hex (n at most 32): derived from
// the request's scope when ctx carries one, so that a retry re-derives the
// id its first attempt created, and random otherwise. Ids of different
// prefixes differ, so one request can create one thing of each kind.
func ID(ctx context.Context, prefix string, n int) string {
	b := make([]byte, min(n, sha256.Size))
	if s, ok := From(ctx); ok {
		sum := sha256.Sum256([]byte("deiops/idem/id\x00" + prefix + "\x00" + s.Key))
		copy(b, sum[:])
	} else {
		_, _ = rand.Read(b) // crypto/rand.Read never fails
	}
	return prefix + hex.EncodeToString(b)
}
