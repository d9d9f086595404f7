package notify

import "testing"

func TestCredentialsOnlyOverTLSOrToLocalhost(t *testing.T) {
	for _, tc := range []struct {
		tls  bool
		host string
		want bool
	}{
		{false, "localhost", true},
		{false, "127.0.0.1", true},
		{false, "::1", true},
		{false, "smtp.example.org", false},
		{false, "10.0.0.5", false},
		{true, "smtp.example.org", true},
	} {
		if got := credentialsAllowed(tc.tls, tc.host); got != tc.want {
			t.Errorf("credentialsAllowed(%v, %q) = %v", tc.tls, tc.host, got)
		}
	}
}

func TestMemoForgetsTheOldestFirst(t *testing.T) {
	m := newMemo(2)
	m.add("a")
	m.add("b")
	m.add("a") // already there: no eviction
	m.add("c")
	if m.has("a") || !m.has("b") || !m.has("c") {
		t.Errorf("memo holds a=%v b=%v c=%v", m.has("a"), m.has("b"), m.has("c"))
	}
}
