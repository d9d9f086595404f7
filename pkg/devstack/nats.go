package devstack

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSServer is an in-process nats-server with JetStream on a data directory.
// It can be stopped and started again on the same port and store, which is
// how tests prove that nothing is lost across broker restarts.
type NATSServer struct {
	mu   sync.Mutex
	srv  *server.Server
	opts server.Options
}

// NATSOptions chooses where the embedded server listens and stores data.
type NATSOptions struct {
	Host     string // default 127.0.0.1
	Port     int    // 0 picks a free port
	StoreDir string // JetStream file store (required)
	// Accounts, users and permissions may be added later; dev runs one account.
}

// StartNATS starts an embedded JetStream server.
func StartNATS(o NATSOptions) (*NATSServer, error) {
	if o.StoreDir == "" {
		return nil, fmt.Errorf("start nats: store directory required")
	}
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := o.Port
	if port == 0 {
		p, err := FreePort(host)
		if err != nil {
			return nil, fmt.Errorf("start nats: %w", err)
		}
		port = p
	}
	n := &NATSServer{opts: server.Options{
		ServerName:         "deiops-dev",
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		NoSigs:             true,
		NoLog:              true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
	}}
	if err := n.Start(); err != nil {
		return nil, err
	}
	return n, nil
}

// Start (re)starts the server on its port and store.
func (n *NATSServer) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil && n.srv.Running() {
		return nil
	}
	opts := n.opts // the server mutates its options
	srv, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("start nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("start nats on %s:%d: not ready in 15s", n.opts.Host, n.opts.Port)
	}
	n.srv = srv
	return nil
}

// Stop shuts the server down and waits until it has.
func (n *NATSServer) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// Restart stops and starts the server on the same port and store.
func (n *NATSServer) Restart() error {
	n.Stop()
	return n.Start()
}

// URL is the client URL (stable across restarts).
func (n *NATSServer) URL() string {
	return "nats://" + net.JoinHostPort(n.opts.Host, strconv.Itoa(n.opts.Port))
}

// FreePort asks the kernel for a free TCP port on host.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// PortOrFree returns preferred when it can be bound on host, else a free port.
func PortOrFree(host string, preferred int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(preferred)))
	if err == nil {
		l.Close()
		return preferred, nil
	}
	return FreePort(host)
}
