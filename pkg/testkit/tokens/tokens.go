// Package tokens mints bearer tokens for tests from a development issuer.
// It stands apart from testkit so that packages auth depends on can use
// testkit without an import cycle.
package tokens

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/auth"
)

// Issuer is a development token issuer for tests; Token mints one.
type Issuer struct {
	*auth.DevIssuer
	t testing.TB
}

// DevIssuer creates an issuer with a fresh key in the test's temp dir.
func DevIssuer(t testing.TB, audience string) *Issuer {
	t.Helper()
	d, err := auth.NewDevIssuer(filepath.Join(t.TempDir(), "issuer.pem"), auth.DevIssuerOptions{Audience: audience})
	if err != nil {
		t.Fatalf("dev issuer: %v", err)
	}
	return &Issuer{DevIssuer: d, t: t}
}

// Token mints a one-hour token for sub with roles.
func (i *Issuer) Token(sub string, roles ...string) string {
	i.t.Helper()
	tok, err := i.Mint(sub, roles, time.Hour)
	if err != nil {
		i.t.Fatalf("mint token: %v", err)
	}
	return tok
}
