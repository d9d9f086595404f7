package ports_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deiops/deiops/services/connection/internal/testenv"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// assertNoLeak checks that no event and no log line contains s.
func assertNoLeak(t *testing.T, e *testenv.Env, s string) {
	t.Helper()
	for _, m := range e.Events() {
		if strings.Contains(string(m.Data), s) {
			t.Fatalf("event %s carries %q: %s", m.Subject, s, m.Data)
		}
		for k, vs := range m.Header {
			for _, v := range vs {
				if strings.Contains(v, s) {
					t.Fatalf("event %s header %s carries %q", m.Subject, k, s)
				}
			}
		}
	}
	if strings.Contains(e.Logs.String(), s) {
		t.Fatalf("logs carry %q", s)
	}
}
