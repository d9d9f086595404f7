package devenv

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

const testHost = "127.0.0.1"

// held listens on a free port until the test ends, as another program on a
// developer's machine would.
func held(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(testHost, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// released is a port that was free a moment ago.
func released(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(testHost, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPickPortPrefersTheRememberedPort(t *testing.T) {
	remembered, preferred := released(t), released(t)
	if got, err := pickPort(testHost, remembered, preferred); err != nil || got != remembered {
		t.Fatalf("pickPort = %d, %v; want the remembered %d", got, err, remembered)
	}
}

func TestPickPortFallsBackWhenTheRememberedPortIsTaken(t *testing.T) {
	remembered, preferred := held(t), released(t)
	if got, err := pickPort(testHost, remembered, preferred); err != nil || got != preferred {
		t.Fatalf("pickPort = %d, %v; want the preferred %d", got, err, preferred)
	}
	other := held(t)
	got, err := pickPort(testHost, remembered, other)
	if err != nil || got == remembered || got == other || got == 0 {
		t.Fatalf("pickPort with both taken = %d, %v; want a free port", got, err)
	}
	// Nothing remembered yet (first run): the preferred port.
	if got, err := pickPort(testHost, 0, preferred); err != nil || got != preferred {
		t.Fatalf("pickPort on a first run = %d, %v; want %d", got, err, preferred)
	}
}

func TestPortsAreRememberedInTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, portsFile)
	if got := loadPorts(path); got != (ports{}) {
		t.Fatalf("no file: %+v, want none", got)
	}
	want := ports{NATS: 4223, Temporal: 7234, Redis: 6380, HTTP: 8081, OIDC: 8091}
	for range 2 { // the second write replaces the first
		if err := savePorts(path, want); err != nil {
			t.Fatal(err)
		}
	}
	if got := loadPorts(path); got != want {
		t.Fatalf("loadPorts = %+v, want %+v", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("data directory holds %v, want only %s (no temporary files)", entries, portsFile)
	}
	// A damaged file is only a lost preference, never a failed start.
	if err := os.WriteFile(path, []byte(`{"http":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := loadPorts(path); got != (ports{}) {
		t.Fatalf("damaged file: %+v, want none", got)
	}
}
