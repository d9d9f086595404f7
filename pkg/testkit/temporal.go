package testkit

import (
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/auth"
)

// Temporal starts a real Temporal server in-process (SQLite in memory) for
// the test; it stops on cleanup.
func Temporal(t *testing.T) *temporaltest.TestServer {
	t.Helper()
	return temporaltest.NewServer(temporaltest.WithT(t))
}

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
