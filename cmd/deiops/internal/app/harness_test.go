package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/cmd/deiops/internal/app"
	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/devstack"
	"github.com/deiops/deiops/pkg/testkit"
)

// syncBuffer collects log output from every goroutine of a process.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// probeClient gives up on a process that does not answer.
var probeClient = &http.Client{Timeout: 2 * time.Second}

// process is one running deiops process under test.
type process struct {
	app    *app.App
	base   string
	logs   *syncBuffer
	spans  *tracetest.SpanRecorder
	cancel context.CancelFunc
	done   chan error
}

// start runs a process with cfg until stop (or the test's end).
func start(t testing.TB, cfg config.Config, dev *auth.DevIssuer) *process {
	t.Helper()
	return startWith(t, cfg, dev, nil)
}

// startWith is start on ln (nil: a new loopback listener), for tests that
// must know the address before the process is built.
func startWith(t testing.TB, cfg config.Config, dev *auth.DevIssuer, ln net.Listener) *process {
	t.Helper()
	p := &process{logs: &syncBuffer{}, spans: tracetest.NewSpanRecorder(), done: make(chan error, 1)}
	var err error
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.app, err = app.New(ctx, app.Options{Config: cfg, Version: "test", DevIssuer: dev, Listener: ln,
		LogOutput: p.logs, SpanProcessors: []sdktrace.SpanProcessor{p.spans}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { p.done <- p.app.Run(ctx) }()
	t.Cleanup(p.stop)
	p.base = "http://" + p.app.Addr()
	testkit.Eventually(t, 60*time.Second, "serving", func() bool {
		resp, err := probeClient.Get(p.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// stop ends the process gracefully; safe to call twice.
func (p *process) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
	p.cancel = nil
}

// api is an HTTP client of a process.
type api struct {
	t    testing.TB
	base string
	dev  *auth.DevIssuer
}

func (a api) token(sub string, roles ...string) string {
	a.t.Helper()
	tok, err := a.dev.Mint(sub, roles, time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// call sends a request; body is JSON-encoded unless it is a string.
func (a api) call(method, path, token string, body any, headers ...string) (int, []byte) {
	a.t.Helper()
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
		if strings.Contains(b, ",") && !strings.HasPrefix(strings.TrimSpace(b), "{") {
			ct = "text/csv"
		}
	default:
		data, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// must sends a request and decodes the answer, failing unless status matches.
func must[T any](a api, status int, method, path, token string, body any, headers ...string) T {
	a.t.Helper()
	code, data := a.call(method, path, token, body, headers...)
	if code != status {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, status, data)
	}
	var v T
	if len(data) > 0 {
		if err := json.Unmarshal(data, &v); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return v
}

// hospital is the directory every resolution test starts from. The chain
// in medicine is chief ← att ← res1; reports name att, so att and chief
// are excluded from those cases.
const hospital = "id,display_name,email,department,role,training_level,cohort,site,supervisor_id,active\n" +
	"chief,Amara Okafor,chief@example.org,med,attending,,,north,,true\n" +
	"att,Luis Fernandez,att@example.org,med,attending,,,north,chief,true\n" +
	"res1,Mei Chen,res1@example.org,med,resident,PGY-1,2026,north,att,true\n" +
	"res2,Ola Nordmann,res2@example.org,med,resident,PGY-2,2025,north,chief,true\n" +
	"hres,Sam Rivera,hres@example.org,med,resolver,,,north,,true\n" +
	"hres2,Kim Park,hres2@example.org,med,resolver,,,north,,true\n" +
	"off1,Noor Haddad,off1@example.org,dei,dei_officer,,,north,,true\n" +
	"lead,Jo Smith,lead@example.org,med,department_lead,,,north,,true\n"

func importHospital(t testing.TB, a api) {
	t.Helper()
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/directory/imports", a.token("ops", "admin"), hospital)
}

// infra is the real servers one test runs against.
type infra struct {
	nats     *devstack.NATSServer
	temporal *temporaltest.TestServer
	redis    *testkit.RedisEnv
}

// newInfra starts in-process NATS and Temporal and connects Redis, and
// returns a complete configuration against them. Settings a test needs
// differently are set with t.Setenv before the call.
func newInfra(t *testing.T) (infra, config.Config, *auth.DevIssuer) {
	t.Helper()
	in := infra{nats: testkit.NATS(t), temporal: temporaltest.NewServer(temporaltest.WithT(t)), redis: testkit.Redis(t)}
	cfg, dev := testConfig(t, in.nats.URL(), in.temporal.GetFrontendHostPort(), in.temporal.GetDefaultNamespace(), in.redis.URL)
	return in, cfg, dev
}

// newStack runs one process against fresh servers with the test hospital
// imported, and returns it with a client.
func newStack(t *testing.T) (*process, api) {
	t.Helper()
	_, cfg, dev := newInfra(t)
	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	return p, a
}
