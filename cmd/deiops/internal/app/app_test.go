package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/cmd/deiops/internal/app"
	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/probe"
	"github.com/deiops/deiops/pkg/testkit"
)

// testConfig is a complete configuration against the given servers.
func testConfig(t testing.TB, natsURL, temporalAddr, namespace, redisURL string) (config.Config, *auth.DevIssuer) {
	t.Helper()
	t.Setenv("DEIOPS_AUTH_DEV", "true")
	_, ring, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	// A fresh secret per test: Redis keys are keyed hashes under it, so
	// tests sharing a real Redis (and runs minutes apart) never see each
	// other's counters.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEIOPS_CRYPTO_KEYRING", ring)
	t.Setenv("DEIOPS_PRIVACY_HMAC_SECRET", base64.StdEncoding.EncodeToString(secret))
	t.Setenv("DEIOPS_NATS_URL", natsURL)
	t.Setenv("DEIOPS_TEMPORAL_ADDRESS", temporalAddr)
	t.Setenv("DEIOPS_TEMPORAL_NAMESPACE", namespace)
	t.Setenv("DEIOPS_REDIS_URL", redisURL)
	t.Setenv("DEIOPS_AUTH_DEV_KEY_FILE", filepath.Join(t.TempDir(), "dev-issuer.pem"))
	t.Setenv("DEIOPS_LOG_LEVEL", "warn")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := auth.NewDevIssuer(cfg.Auth.DevKeyFile, auth.DevIssuerOptions{Audience: cfg.Auth.Audience, RoleClaim: cfg.Auth.RoleClaim})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dev
}

// TestProbeIsOneTraceAcrossHTTPBusAndTemporal sends a probe to the HTTP
// API; every target consumes the request event, starts a workflow whose
// activity publishes a completion. The recorded spans must form one trace:
// HTTP → publish → consume → start workflow → (workflow) start
// activity → run activity → publish.
func TestProbeIsOneTraceAcrossHTTPBusAndTemporal(t *testing.T) {
	ns := testkit.NATS(t)
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	rd := testkit.Redis(t)
	cfg, dev := testConfig(t, ns.URL(), ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), rd.URL)

	// A probe whose first start fails on a loaded machine is redelivered
	// after a short delay, not the production minutes.
	cfg.NATS.Backoff = []time.Duration{200 * time.Millisecond, time.Second, 2 * time.Second}
	rec := tracetest.NewSpanRecorder()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process log:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Options{Config: cfg, Version: "test", DevIssuer: dev, Listener: ln, LogOutput: logs, SpanProcessors: []sdktrace.SpanProcessor{rec}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	base := "http://" + a.Addr()
	testkit.Eventually(t, 60*time.Second, "readyz with every dependency ok", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && !bytes.Contains(body, []byte(`"degraded"`))
	})

	// The process serves the same document as the one committed for its targets.
	served, err := http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var servedDoc map[string]any
	_ = json.NewDecoder(served.Body).Decode(&servedDoc)
	served.Body.Close()
	delete(servedDoc, "servers") // the public URL is deployment-specific
	servedJSON, _ := json.Marshal(servedDoc)
	wantDoc, err := app.OpenAPI("all")
	if err != nil {
		t.Fatal(err)
	}
	delete(wantDoc, "servers") // the committed documents name the default
	if err := httpapi.CheckDocument(wantDoc, servedJSON); err != nil {
		t.Fatalf("/openapi.json differs from the routes: %v", err)
	}

	// Watch completions as an internal subscriber would.
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	answered := map[string]string{}
	sub, err := nc.Subscribe(probe.Completed{}.EventSpec().Subject(), func(m *nats.Msg) {
		env, err := events.Decode(m.Header, m.Data, m.Subject)
		if err != nil {
			t.Errorf("completion: %v", err)
			return
		}
		c, _ := events.Unmarshal[probe.Completed](env)
		mu.Lock()
		answered[c.Target] = c.ProbeID
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	token, err := dev.Mint("ops-1", []string{"admin"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/probes", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var accepted probe.Accepted
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || accepted.ProbeID == "" {
		t.Fatalf("POST /v1/probes: %d %+v", resp.StatusCode, accepted)
	}
	// Every target of the process answers, the portal included: waiting
	// for a fixed count would pass or hang depending on which came first.
	targets := cfg.Targets()
	testkit.Eventually(t, 2*time.Minute, fmt.Sprintf("every target (%v) answers", targets), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(answered) == len(targets)
	})
	mu.Lock()
	got := maps.Clone(answered)
	mu.Unlock()
	for _, name := range targets {
		if _, ok := got[name]; !ok {
			t.Errorf("target %s did not answer; answers: %v", name, got)
		}
	}
	for target, id := range got {
		if id != accepted.ProbeID {
			t.Errorf("%s answered probe %q, want %q", target, id, accepted.ProbeID)
		}
	}

	// Find the HTTP span and check the journey hangs off its trace.
	var root trace.SpanContext
	testkit.Eventually(t, 10*time.Second, "completion producer spans", func() bool {
		n := 0
		for _, s := range rec.Ended() {
			if s.SpanKind() == trace.SpanKindServer && strings.Contains(s.Name(), "/v1/probes") {
				root = s.SpanContext()
			}
			if s.SpanKind() == trace.SpanKindProducer && strings.Contains(s.Name(), "probe.completed") {
				n++
			}
		}
		return root.IsValid() && n == len(targets)
	})
	want := []struct {
		kind trace.SpanKind
		name string
	}{
		{trace.SpanKindServer, "/v1/probes"},
		{trace.SpanKindProducer, "send deiops.internal.platform.probe.requested"},
		{trace.SpanKindConsumer, "process deiops.internal.platform.probe.requested"},
		{trace.SpanKindClient, "StartWorkflow:deiops.platform.Probe"},
		{trace.SpanKindClient, "StartActivity:deiops.platform.ProbeAnswer"},
		{trace.SpanKindServer, "RunActivity:deiops.platform.ProbeAnswer"},
		{trace.SpanKindProducer, "send deiops.internal.platform.probe.completed"},
	}
	for _, w := range want {
		found := false
		for _, s := range rec.Ended() {
			if s.SpanKind() == w.kind && strings.Contains(s.Name(), w.name) {
				found = true
				if s.SpanContext().TraceID() != root.TraceID() {
					t.Errorf("span %q (%s) is in trace %s, not the request's %s", s.Name(), s.SpanKind(), s.SpanContext().TraceID(), root.TraceID())
				}
			}
		}
		if !found {
			var names []string
			for _, s := range rec.Ended() {
				names = append(names, s.SpanKind().String()+" "+s.Name())
			}
			t.Errorf("no %s span named like %q; spans: %v", w.kind, w.name, names)
		}
	}
}
