// Package temporalkit starts a real Temporal server for tests. It is apart
// from testkit so that tests which do not need Temporal do not link it.
package temporalkit

import (
	"testing"

	"go.temporal.io/server/temporaltest"
)

// Temporal starts a real Temporal server in-process (SQLite in memory) for
// the test; it stops on cleanup.
func Temporal(t *testing.T) *temporaltest.TestServer {
	t.Helper()
	return temporaltest.NewServer(temporaltest.WithT(t))
}
