// Package testkit starts real infrastructure for tests: an in-process
// nats-server on a temporary store (or a cluster of them), a Temporal test server, Redis (the real
// one from REDIS_URL, else an in-process server), and an in-memory span
// recorder. Everything is shut down through t.Cleanup.
package testkit

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/deiops/deiops/pkg/devstack"
)

// NATS starts an embedded JetStream server on a temp store. Restart() keeps
// the port and the store.
func NATS(t testing.TB) *devstack.NATSServer {
	t.Helper()
	n, err := devstack.StartNATS(devstack.NATSOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded nats: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

// Cluster is a NATS JetStream cluster of in-process nodes for one test.
type Cluster struct {
	t testing.TB
	c *devstack.NATSCluster
	// URL lists every node's client URL, comma separated, so that a client
	// fails over when its node goes away.
	URL string
}

// NATSCluster starts a cluster of n JetStream nodes on temporary stores
// and returns once it has a meta leader that sees every node.
func NATSCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := devstack.StartNATSCluster(devstack.NATSClusterOptions{Nodes: n, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("embedded nats cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return &Cluster{t: t, c: c, URL: c.URL()}
}

// Kill stops node i (its leaderships move to the other nodes).
func (c *Cluster) Kill(i int) { c.c.Kill(i) }

// Restart starts node i again on its ports and store and waits until the
// cluster is ready with it.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if err := c.c.Restart(i); err != nil {
		c.t.Fatal(err)
	}
}

// StreamLeader is the node leading stream, or -1 while none does. A KV
// bucket's stream is "KV_" + bucket.
func (c *Cluster) StreamLeader(stream string) int { return c.c.StreamLeader(stream) }

// Nodes gives the underlying cluster (node names, per-node URLs).
func (c *Cluster) Nodes() *devstack.NATSCluster { return c.c }

// Connect opens a client connection that reconnects forever (tests restart
// the server under it) and returns it with a JetStream handle.
func Connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect nats %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// RedisEnv is a Redis for one test. Keys must start with Prefix: a real
// Redis is shared by every package running in parallel.
type RedisEnv struct {
	URL    string
	Client *redis.Client
	Prefix string
	Real   bool
	local  *devstack.RedisServer
}

// Flush deletes this test's keys (or everything on the in-process server).
func (r *RedisEnv) Flush(ctx context.Context) error {
	if r.local != nil {
		r.local.FlushAll()
		return nil
	}
	iter := r.Client.Scan(ctx, 0, r.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := r.Client.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

// Redis returns the real Redis named by REDIS_URL, or an in-process
// Redis-protocol server when it is unset; the test log says which.
func Redis(t testing.TB) *RedisEnv {
	t.Helper()
	env := &RedisEnv{Prefix: "test:" + strings.ReplaceAll(t.Name(), "/", ":") + ":" + uuid.NewString()[:8] + ":"}
	if url := os.Getenv("REDIS_URL"); url != "" {
		env.URL, env.Real = url, true
		t.Logf("redis: real server from REDIS_URL (%s)", url)
	} else {
		srv, err := devstack.StartRedis("127.0.0.1", 0)
		if err != nil {
			t.Fatalf("in-process redis: %v", err)
		}
		t.Cleanup(srv.Stop)
		env.URL, env.local = srv.URL(), srv
		t.Logf("redis: REDIS_URL unset, using an in-process Redis-protocol server (%s)", env.URL)
	}
	opt, err := redis.ParseURL(env.URL)
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	env.Client = redis.NewClient(opt)
	t.Cleanup(func() {
		_ = env.Flush(context.Background())
		env.Client.Close()
	})
	if err := env.Client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis %s: %v", env.URL, err)
	}
	return env
}

// Spans returns a tracer provider that records every ended span in memory.
func Spans(t testing.TB) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// Eventually polls cond until it is true or the deadline passes: every
// 10 ms at first, backing off to every 200 ms, so a condition read over
// the API stays within the per-client rate limit however long it takes.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	wait := 10 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(wait)
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// Eventuallyf is Eventually with a message built when it fails.
func Eventuallyf(t testing.TB, within time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	Eventually(t, within, fmt.Sprintf(format, args...), cond)
}
