package devstack

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// TemporalServer is an in-process Temporal server (frontend, history,
// matching and worker services) persisting to one SQLite file, the way the
// Temporal CLI's development server does. It is for `deiops dev` only.
type TemporalServer struct {
	srv      temporal.Server
	hostPort string
}

// TemporalOptions chooses where the development server listens and keeps data.
type TemporalOptions struct {
	Host      string // default 127.0.0.1
	Port      int    // frontend port; 0 picks a free one
	DBFile    string // SQLite file; created with its schema when missing
	Namespace string // registered at start (default "default")
	// Logger receives the server's own logs (nil: discarded).
	Logger tlog.Logger
}

// StartTemporal starts the server and waits until its frontend answers.
func StartTemporal(ctx context.Context, o TemporalOptions) (*TemporalServer, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Logger == nil {
		o.Logger = tlog.NewNoopLogger()
	}
	if o.DBFile == "" {
		return nil, fmt.Errorf("start temporal: database file required")
	}
	if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o700); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	ports := make([]int, 0, 8)
	if o.Port == 0 {
		p, err := FreePort(o.Host)
		if err != nil {
			return nil, err
		}
		o.Port = p
	}
	for range 7 { // three more gRPC ports, four membership ports
		p, err := FreePort(o.Host)
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	metricsPort, err := FreePort(o.Host)
	if err != nil {
		return nil, err
	}

	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: o.DBFile,
		ConnectAttributes: map[string]string{
			"mode":          "rwc",
			"_journal_mode": "wal",
			"_synchronous":  "2",
		},
	}
	if _, err := os.Stat(o.DBFile); os.IsNotExist(err) {
		if err := sqlite.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("temporal schema: %w", err)
		}
	}
	if err := forgetMembers(o.DBFile); err != nil {
		return nil, err
	}
	nsCfg, err := sqlite.NewNamespaceConfig("active", o.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("temporal namespace: %w", err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return nil, fmt.Errorf("temporal namespace: %w", err)
	}

	frontend := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	svc := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: o.Host}}
	}
	cfg := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: o.Host},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(o.Host, strconv.Itoa(metricsPort)), HandlerPath: "/metrics",
			}},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": svc(o.Port, ports[3]),
			"history":  svc(ports[0], ports[4]),
			"matching": svc(ports[1], ports[5]),
			"worker":   svc(ports[2], ports[6]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: frontend},
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(o.Logger),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{}),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	t := &TemporalServer{srv: srv, hostPort: frontend}
	if err := t.waitReady(ctx, o.Namespace); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return t, nil
}

// forgetMembers deletes the membership rows earlier processes of this data
// directory left. The development server is one node, so every row is of a
// dead process; after a kill -9 they still look alive for a while, and the
// new process's membership ring then takes them for peers to join.
func forgetMembers(dbFile string) error {
	db, err := sql.Open("sqlite", "file:"+dbFile+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("temporal membership: %w", err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("temporal membership: forget earlier processes: %w", err)
	}
	return nil
}

func (t *TemporalServer) waitReady(ctx context.Context, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c, err := client.NewLazyClient(client.Options{HostPort: t.hostPort, Namespace: namespace})
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer c.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
			if _, err := c.WorkflowService().DescribeNamespace(ctx, describeNamespace(namespace)); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal at %s not ready: %w", t.hostPort, ctx.Err())
		case <-tick.C:
		}
	}
}

// HostPort is the frontend address for clients.
func (t *TemporalServer) HostPort() string { return t.hostPort }

// Stop shuts every Temporal service down.
func (t *TemporalServer) Stop() error { return t.srv.Stop() }

func describeNamespace(name string) *workflowservice.DescribeNamespaceRequest {
	return &workflowservice.DescribeNamespaceRequest{Namespace: name}
}
