package devstack

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
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
	// ServerName names the server (default "deiops-dev"); the nodes of a
	// cluster need distinct names, JetStream places replicas by them.
	ServerName string
	// ClusterName, when set, makes the server a node of that cluster,
	// listening for routes on ClusterPort (required then) and dialling
	// Routes, the route URLs of the other nodes.
	ClusterName string
	ClusterPort int
	Routes      []string
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
	name := o.ServerName
	if name == "" {
		name = "deiops-dev"
	}
	n := &NATSServer{opts: server.Options{
		ServerName:         name,
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		NoSigs:             true,
		NoLog:              true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
	}}
	if err := n.cluster(o, host); err != nil {
		return nil, err
	}
	if err := n.Start(); err != nil {
		return nil, err
	}
	return n, nil
}

// cluster adds the route listener and the routes of a cluster node.
func (n *NATSServer) cluster(o NATSOptions, host string) error {
	if o.ClusterName == "" {
		return nil
	}
	if o.ClusterPort == 0 {
		return fmt.Errorf("start nats %s: cluster port required", n.opts.ServerName)
	}
	n.opts.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: host, Port: o.ClusterPort}
	for _, r := range o.Routes {
		u, err := url.Parse(r)
		if err != nil {
			return fmt.Errorf("start nats %s: route %q: %w", n.opts.ServerName, r, err)
		}
		n.opts.Routes = append(n.opts.Routes, u)
	}
	return nil
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

// Name is the server name (JetStream reports stream leaders by it).
func (n *NATSServer) Name() string { return n.opts.ServerName }

// running is the server while it runs, else nil.
func (n *NATSServer) running() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil || !n.srv.Running() {
		return nil
	}
	return n.srv
}

// freePorts asks the kernel for n distinct free TCP ports on host: each
// listener stays open until all are chosen, so none is handed out twice.
func freePorts(host string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
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

// NATSClusterOptions describes a cluster of embedded JetStream servers, the
// production topology (three nodes, R3 streams) on one machine.
type NATSClusterOptions struct {
	Nodes    int    // default 3
	Name     string // cluster name, default "deiops"
	Host     string // default 127.0.0.1
	StoreDir string // node i stores under StoreDir/n<i> (required)
	// ReadyTimeout bounds the wait for a meta leader (default 30 s).
	ReadyTimeout time.Duration
}

// NATSCluster is a cluster of embedded JetStream servers on free ports.
// Each node can be stopped and started again on its ports and store, which
// is how tests take a node away under load and bring it back.
type NATSCluster struct {
	nodes []*NATSServer
	ready time.Duration
}

// StartNATSCluster starts every node and returns once the cluster is ready
// (see Ready).
func StartNATSCluster(o NATSClusterOptions) (*NATSCluster, error) {
	if o.StoreDir == "" {
		return nil, fmt.Errorf("start nats cluster: store directory required")
	}
	o = clusterDefaults(o)
	// Every node's route port is known before any starts: each lists the
	// others as its routes.
	ports, err := freePorts(o.Host, 2*o.Nodes)
	if err != nil {
		return nil, fmt.Errorf("start nats cluster: %w", err)
	}
	routes := make([]string, o.Nodes)
	for i := range o.Nodes {
		routes[i] = "nats-route://" + net.JoinHostPort(o.Host, strconv.Itoa(ports[o.Nodes+i]))
	}
	c := &NATSCluster{ready: o.ReadyTimeout}
	for i := range o.Nodes {
		n, err := StartNATS(NATSOptions{
			Host: o.Host, Port: ports[i], StoreDir: filepath.Join(o.StoreDir, "n"+strconv.Itoa(i)),
			ServerName: o.Name + "-" + strconv.Itoa(i), ClusterName: o.Name, ClusterPort: ports[o.Nodes+i],
			Routes: others(routes, i),
		})
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("start nats cluster node %d: %w", i, err)
		}
		c.nodes = append(c.nodes, n)
	}
	if err := c.WaitReady(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func clusterDefaults(o NATSClusterOptions) NATSClusterOptions {
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Name == "" {
		o.Name = "deiops"
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	return o
}

// others is all but the i-th of s.
func others(s []string, i int) []string {
	out := make([]string, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

// Nodes is the number of nodes, running or not.
func (c *NATSCluster) Nodes() int { return len(c.nodes) }

// Node is the i-th node.
func (c *NATSCluster) Node(i int) *NATSServer { return c.nodes[i] }

// URL lists every node's client URL, comma separated: clients given it
// fail over to another node when theirs goes away.
func (c *NATSCluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// Stop shuts every node down.
func (c *NATSCluster) Stop() {
	for _, n := range c.nodes {
		n.Stop()
	}
}

// Kill stops node i. The server steps down from the leaderships it holds
// as it shuts down, as a node of a rolling restart or a terminated pod
// does; its store stays for Restart.
func (c *NATSCluster) Kill(i int) { c.nodes[i].Stop() }

// Restart starts node i again on its ports and store and waits until the
// cluster is ready with it.
func (c *NATSCluster) Restart(i int) error {
	if err := c.nodes[i].Start(); err != nil {
		return fmt.Errorf("restart nats cluster node %d: %w", i, err)
	}
	return c.WaitReady()
}

// Ready reports why the cluster cannot serve JetStream yet, or nil: a meta
// leader is elected, it sees every running node, and every running node
// is current with the meta group (knows every stream and its placement).
func (c *NATSCluster) Ready() error {
	var leader *server.Server
	running := 0
	for _, n := range c.nodes {
		s := n.running()
		if s == nil {
			continue
		}
		running++
		if !s.JetStreamEnabled() {
			return fmt.Errorf("nats %s: jetstream not enabled yet", n.Name())
		}
		if !s.JetStreamIsCurrent() {
			return fmt.Errorf("nats %s: not current with the meta group", n.Name())
		}
		if s.JetStreamIsLeader() {
			leader = s
		}
	}
	if leader == nil {
		return fmt.Errorf("nats cluster: no meta leader among %d running nodes", running)
	}
	if peers := leader.JetStreamClusterPeers(); len(peers) != running {
		return fmt.Errorf("nats cluster: meta leader %s sees %d peers %v, %d nodes run", leader.Name(), len(peers), peers, running)
	}
	return nil
}

// WaitReady polls Ready until it holds or ReadyTimeout passes.
func (c *NATSCluster) WaitReady() error {
	deadline := time.Now().Add(c.ready)
	wait := 10 * time.Millisecond
	for {
		err := c.Ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats cluster not ready in %s: %w", c.ready, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// StreamLeader is the index of the running node leading stream (of the
// default account), or -1 while it has none.
func (c *NATSCluster) StreamLeader(stream string) int {
	for i, n := range c.nodes {
		if s := n.running(); s != nil && s.GlobalAccount().JetStreamIsStreamLeader(stream) {
			return i
		}
	}
	return -1
}
