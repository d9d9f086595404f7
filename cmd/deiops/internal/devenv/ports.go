package devenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/deiops/deiops/pkg/devstack"
)

// portsFile, in the data directory, remembers the ports of the last run:
// bookmarks, a browser's session and the dev provider's issuer URL stay
// valid across restarts even when a preferred port was taken.
const portsFile = "ports.json"

// ports are the ports one run listened on; 0 means not chosen.
type ports struct {
	NATS     int `json:"nats,omitempty"`
	Temporal int `json:"temporal,omitempty"`
	Redis    int `json:"redis,omitempty"`
	HTTP     int `json:"http,omitempty"`
	OIDC     int `json:"oidc,omitempty"`
}

// loadPorts reads the ports of the last run. A missing or unreadable file
// is no ports at all: it is only a preference, rewritten by savePorts.
func loadPorts(path string) ports {
	var p ports
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &p) != nil {
		return ports{}
	}
	return p
}

// savePorts replaces path through a rename, so an interrupted write leaves
// the previous file rather than half of a new one.
func savePorts(path string, p ports) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(b, '\n'))
	werr = errors.Join(werr, f.Close())
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// pickPort returns the first of candidates (0s skipped) that can be bound on
// host, else a free port from the kernel. Callers pass the remembered port,
// then the preferred one.
func pickPort(host string, candidates ...int) (int, error) {
	for _, p := range candidates {
		if p > 0 && bindable(host, p) {
			return p, nil
		}
	}
	return devstack.FreePort(host)
}

func bindable(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
