package chartcheck

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startComposeNATS runs nats-server with deploy/nats/nats.conf (ports and
// storage moved to the test) and returns its client URL.
func startComposeNATS(t *testing.T) string {
	t.Helper()
	t.Setenv("NATS_APP_PASSWORD", "app-test-password")
	t.Setenv("NATS_INTEGRATOR_PASSWORD", "integrator-test-password")
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy", "nats", "nats.conf"))
	if err != nil {
		t.Fatalf("deploy/nats/nats.conf: %v", err)
	}
	if !opts.JetStream || opts.StoreDir != "/data/jetstream" {
		t.Fatalf("JetStream must be on with file storage in /data/jetstream (the compose volume); got enabled=%v dir=%q", opts.JetStream, opts.StoreDir)
	}
	opts.Host, opts.Port = "127.0.0.1", -1
	opts.HTTPPort = 0
	opts.StoreDir = t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	return s.ClientURL()
}

// connect returns a connection and the asynchronous errors (permission
// violations) the server reports on it.
func connect(t *testing.T, url, user, password string) (*nats.Conn, <-chan error) {
	t.Helper()
	errs := make(chan error, 16)
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		errs <- err
	}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

func expectViolation(t *testing.T, errs <-chan error, want string) {
	t.Helper()
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want a violation containing %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no permissions violation for %q", want)
	}
}

func TestNATSAccounts(t *testing.T) {
	url := startComposeNATS(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	app, _ := connect(t, url, "deiops", "app-test-password")
	integrator, violations := connect(t, url, "integrator", "integrator-test-password")
	if _, err := nats.Connect(url, nats.UserInfo("integrator", "wrong")); err == nil {
		t.Fatal("a wrong password was accepted")
	}

	// deiops (APP) has the full JetStream API: streams and KV buckets.
	appJS, err := jetstream.New(app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appJS.CreateStream(ctx, jetstream.StreamConfig{Name: "DEI_RESOLUTION", Subjects: []string{"dei.resolution.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("APP cannot create a stream: %v", err)
	}
	if _, err := appJS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "cases"}); err != nil {
		t.Fatalf("APP cannot create a KV bucket: %v", err)
	}

	// Public events reach the integrator.
	public, err := integrator.SubscribeSync("dei.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := integrator.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := app.Publish("dei.resolution.case.escalated", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if m, err := public.NextMsg(5 * time.Second); err != nil || m.Subject != "dei.resolution.case.escalated" {
		t.Fatalf("integrator did not receive the public event: %v", err)
	}

	// Internal traffic, dead letters, KV and everything else: subscriptions denied.
	for _, subject := range []string{"deiops.internal.>", "deiops.deadletter.>", "$KV.>", "$JS.EVENT.>", ">"} {
		if _, err := integrator.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		_ = integrator.Flush()
		expectViolation(t, violations, `Permissions Violation for Subscription to "`+subject+`"`)
	}

	// Integrators cannot publish events.
	appSide, err := app.SubscribeSync("dei.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := integrator.Publish("dei.resolution.case.closed", []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	_ = integrator.Flush()
	expectViolation(t, violations, `Permissions Violation for Publish to "dei.resolution.case.closed"`)
	// The forged event would have been queued before this one.
	if err := app.Publish("dei.resolution.case.opened", nil); err != nil {
		t.Fatal(err)
	}
	if m, err := appSide.NextMsg(5 * time.Second); err != nil || m.Subject != "dei.resolution.case.opened" {
		t.Fatalf("APP saw %v (%v), want only its own event", m, err)
	}

	// APP's JetStream does not exist for the integrator: its API reaches its own account only.
	intJS, err := jetstream.New(integrator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := intJS.Stream(ctx, "DEI_RESOLUTION"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("integrator looked up APP's stream: %v", err)
	}
	if _, err := intJS.KeyValue(ctx, "cases"); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("integrator opened APP's KV bucket: %v", err)
	}

	// Durable delivery: a stream on dei.> in the integrator's own account captures the
	// imported events; a stream on internal subjects captures nothing.
	own, err := intJS.CreateStream(ctx, jetstream.StreamConfig{Name: "HOSPITAL_DEI", Subjects: []string{"dei.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatalf("integrator cannot create its own stream: %v", err)
	}
	snoop, err := intJS.CreateStream(ctx, jetstream.StreamConfig{Name: "SNOOP", Subjects: []string{"deiops.internal.>"}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Publish("deiops.internal.resolution.route", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg("dei.awareness.assignment.completed")
	msg.Header.Set("Nats-Msg-Id", "evt-1")
	msg.Data = []byte(`{}`)
	if err := app.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	cons, err := own.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "hris", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, m.Subject())
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("integrator cannot ack in its own account: %v", err)
		}
	}
	if strings.Join(got, ",") != "dei.awareness.assignment.completed" {
		t.Fatalf("integrator stream delivered %v, want the event published after it was created", got)
	}
	if info, err := own.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("integrator stream holds %v messages (%v), want 1", info, err)
	}
	info, err := snoop.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("a stream on deiops.internal.> in the integrator account captured %d messages", info.State.Msgs)
	}
}
