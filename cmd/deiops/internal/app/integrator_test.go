package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/testkit"
)

const (
	repoRoot           = "../../../.."
	appPassword        = "app-test-password"
	integratorPassword = "integrator-test-password"
	integratorStream   = "HOSPITAL_DEI"
	integratorDurable  = "hris"
	integratorCanary   = "CANARY-5a0e-integrator-narrative"
)

// startAccountsNATS runs nats-server with deploy/nats/nats.conf — the APP
// and INTEGRATOR accounts of the compose stack — on a free port and a
// temporary store.
func startAccountsNATS(t *testing.T) string {
	t.Helper()
	t.Setenv("NATS_APP_PASSWORD", appPassword)
	t.Setenv("NATS_INTEGRATOR_PASSWORD", integratorPassword)
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy", "nats", "nats.conf"))
	if err != nil {
		t.Fatalf("deploy/nats/nats.conf: %v", err)
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

// buildIntegrator builds examples/integrator on its own (GOWORK=off), as
// an integrator would from a copy of the directory.
func buildIntegrator(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build examples/integrator: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "integrator")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(repoRoot, "examples", "integrator")
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/integrator: %v\n%s", err, out)
	}
	return bin
}

// integrator is one run of the example program.
type integrator struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
	err  error
	exit bool
}

func runIntegrator(t *testing.T, bin string, env []string, args ...string) *integrator {
	t.Helper()
	p := &integrator{t: t, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.exit {
			_ = p.cmd.Process.Kill()
			p.wait(10 * time.Second)
		}
	})
	return p
}

// wait returns the exit error once the program has ended.
func (p *integrator) wait(within time.Duration) error {
	p.t.Helper()
	if p.exit {
		return p.err
	}
	select {
	case p.err = <-p.done:
		p.exit = true
		return p.err
	case <-time.After(within):
		p.t.Fatalf("integrator still running after %s; logs:\n%s", within, p.logs)
		return nil
	}
}

// terminate sends SIGTERM and expects a clean exit.
func (p *integrator) terminate() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if err := p.wait(15 * time.Second); err != nil {
		p.t.Fatalf("integrator exited with %v after SIGTERM; logs:\n%s", err, p.logs)
	}
}

// outputLine is one line of the integrator's output file.
type outputLine struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	Subject     string          `json:"subject"`
	Time        string          `json:"time"`
	Traceparent string          `json:"traceparent"`
	Data        json.RawMessage `json:"data"`
}

// readOutput parses the complete lines of the output file.
func readOutput(t *testing.T, path string) []outputLine {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(raw, '\n'); i >= 0 {
		raw = raw[:i+1]
	} else {
		return nil
	}
	var out []outputLine
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var l outputLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func hasType(lines []outputLine, typ string) bool {
	for _, l := range lines {
		if l.Type == typ {
			return true
		}
	}
	return false
}

// published is what the APP account saw go out on one side of the bus.
type published struct {
	mu       sync.Mutex
	public   map[string]*nats.Msg // by ce-id, the first copy
	internal map[string]bool      // ce-ids seen under deiops.internal.>
}

func (p *published) publicIDs() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make(map[string]bool, len(p.public))
	for id := range p.public {
		ids[id] = true
	}
	return ids
}

// TestIntegratorExampleReceivesEveryPublicEventOnceThroughARestart runs
// the example integrator (examples/integrator, built as its own module)
// against deiops on the compose stack's NATS accounts: deiops as user
// deiops in APP, the integrator as user integrator in INTEGRATOR with its
// stream and durable consumer made by `integrator setup`. A scenario runs
// through the HTTP API while the integrator is stopped with SIGTERM and
// started again, and one event is published a second time with a new
// Nats-Msg-Id (a duplicate the stream cannot drop). At the end the output
// file holds every public event deiops published exactly once, with its
// traceparent, no internal event and no restricted data.
func TestIntegratorExampleReceivesEveryPublicEventOnceThroughARestart(t *testing.T) {
	bin := buildIntegrator(t)
	url := startAccountsNATS(t)
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	rd := testkit.Redis(t)
	t.Setenv("DEIOPS_NATS_USER", "deiops")
	t.Setenv("DEIOPS_NATS_PASSWORD", appPassword)
	t.Setenv("DEIOPS_INSTALLATION", "st-example")
	cfg, dev := testConfig(t, url, ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), rd.URL)

	out := filepath.Join(t.TempDir(), "events.jsonl")
	env := append(os.Environ(),
		"INTEGRATOR_NATS_URL="+url,
		"INTEGRATOR_NATS_USER=integrator",
		"INTEGRATOR_NATS_PASSWORD="+integratorPassword,
		"INTEGRATOR_STREAM="+integratorStream,
		"INTEGRATOR_CONSUMER="+integratorDurable,
		"INTEGRATOR_OUTPUT="+out,
	)
	// The stream holds events from the moment it exists: set up first.
	setup := runIntegrator(t, bin, env, "setup")
	if err := setup.wait(30 * time.Second); err != nil {
		t.Fatalf("integrator setup: %v\n%s", err, setup.logs)
	}

	// What deiops publishes, seen from its own account.
	appConn, err := nats.Connect(url, nats.UserInfo("deiops", appPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer appConn.Close()
	seen := &published{public: map[string]*nats.Msg{}, internal: map[string]bool{}}
	for _, filter := range []string{events.PublicPrefix + ".>", events.InternalPrefix + ".>"} {
		if _, err := appConn.Subscribe(filter, func(m *nats.Msg) {
			if strings.HasPrefix(m.Reply, "$JS.ACK.") {
				return // a delivery to one of deiops's consumers, not a publication
			}
			id := m.Header.Get(events.HeaderID)
			seen.mu.Lock()
			defer seen.mu.Unlock()
			switch {
			case strings.HasPrefix(m.Subject, events.InternalPrefix+"."):
				if id != "" {
					seen.internal[id] = true
				}
			case id == "":
				t.Errorf("a message on %s without ce-id", m.Subject)
			case seen.public[id] == nil:
				seen.public[id] = m
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := appConn.Flush(); err != nil {
		t.Fatal(err)
	}

	intConn, err := nats.Connect(url, nats.UserInfo("integrator", integratorPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer intConn.Close()
	intJS, err := jetstream.New(intConn)
	if err != nil {
		t.Fatal(err)
	}

	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	first := runIntegrator(t, bin, env, "run")

	// Part one, received by the first run: the directory, a policy and an
	// anonymous report whose escalation starts firing.
	importHospital(t, a)
	officer := a.token("off1", "dei_officer")
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, fastPolicy())
	rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport(integratorCanary))
	const submitted = "org.deiops.resolution.report.submitted.v1"
	testkit.Eventually(t, 30*time.Second, "the first run writes the report", func() bool {
		return hasType(readOutput(t, out), submitted)
	})
	first.terminate()
	beforeRestart := len(readOutput(t, out))

	// Part two, published while no integrator runs: triage, assignment,
	// acknowledgment (and the escalation levels still firing meanwhile).
	base := "/v1/cases/" + rc.CaseID
	hres := a.token("hres", "resolver")
	testkit.Eventually(t, 60*time.Second, "resolvers on the case", func() bool {
		code, _ := a.call(http.MethodGet, base, hres, nil)
		return code == http.StatusOK
	})
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/triage", officer, map[string]any{"category": "racism", "severity": "high", "route": "med-resolution"})
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/assign", officer, map[string]any{"assignee_id": "hres"})
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/acknowledge", hres, nil)

	// Part three, with the second run.
	second := runIntegrator(t, bin, env, "run")
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/start", hres, nil)
	const started = "org.deiops.resolution.case.started.v1"
	testkit.Eventually(t, 30*time.Second, "the second run writes the case start", func() bool {
		return hasType(readOutput(t, out), started)
	})
	p.stop() // nothing more is published by deiops

	// The report event again, under a new Nats-Msg-Id: past the duplicate
	// window the stream stores it twice, only the integrator can tell.
	seen.mu.Lock()
	var again *nats.Msg
	for _, m := range seen.public {
		if m.Header.Get(events.HeaderType) == submitted {
			again = nats.NewMsg(m.Subject)
			for k, v := range m.Header {
				again.Header[k] = v
			}
			again.Data = m.Data
		}
	}
	seen.mu.Unlock()
	if again == nil {
		t.Fatal("deiops published no report event")
	}
	again.Header.Set("Nats-Msg-Id", again.Header.Get(events.HeaderID)+"-republished")
	if err := appConn.PublishMsg(again); err != nil {
		t.Fatal(err)
	}
	if err := appConn.Flush(); err != nil {
		t.Fatal(err)
	}

	// Everything published is written, and every message of the
	// integrator's stream (the duplicate included) is acknowledged.
	testkit.Eventually(t, 30*time.Second, "every public event written and every message acknowledged", func() bool {
		want := seen.publicIDs()
		got := map[string]bool{}
		for _, l := range readOutput(t, out) {
			got[l.ID] = true
		}
		if len(got) != len(want) {
			return false
		}
		for id := range want {
			if !got[id] {
				return false
			}
		}
		stream, err := intJS.Stream(t.Context(), integratorStream)
		if err != nil {
			return false
		}
		cons, err := stream.Consumer(t.Context(), integratorDurable)
		if err != nil {
			return false
		}
		ci, err := cons.Info(t.Context())
		if err != nil {
			return false
		}
		si, err := stream.Info(t.Context())
		if err != nil {
			return false
		}
		return ci.NumPending == 0 && ci.NumAckPending == 0 && ci.AckFloor.Stream == si.State.LastSeq
	})
	second.terminate()

	lines := readOutput(t, out)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	ids := map[string]int{}
	traced := 0
	for _, l := range lines {
		ids[l.ID]++
		if seen.internal[l.ID] || !strings.HasPrefix(l.Type, "org.deiops.") {
			t.Errorf("output holds an event deiops did not publish on %s.>: %+v", events.PublicPrefix, l)
		}
		m := seen.public[l.ID]
		if m == nil {
			t.Errorf("output holds %s (%s), which deiops never published", l.ID, l.Type)
			continue
		}
		if l.Type != m.Header.Get(events.HeaderType) || l.Source != m.Header.Get(events.HeaderSource) || l.Subject != m.Header.Get(events.HeaderSubject) {
			t.Errorf("line %+v does not match the published headers %v", l, m.Header)
		}
		if !strings.HasPrefix(l.Source, "/st-example/") {
			t.Errorf("%s has source %q, want /st-example/<service>", l.Type, l.Source)
		}
		if tp := m.Header.Get(events.HeaderTraceparent); tp != l.Traceparent {
			t.Errorf("%s: traceparent %q in the output, %q published", l.Type, l.Traceparent, tp)
		} else if tp != "" {
			traced++
		}
		if !json.Valid(l.Data) || string(l.Data) == "null" {
			t.Errorf("%s: data %s", l.Type, l.Data)
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s written %d times", id, n)
		}
	}
	if len(ids) != len(seen.public) {
		t.Errorf("output holds %d events, deiops published %d", len(ids), len(seen.public))
	}
	if traced == 0 {
		t.Error("no event in the output carries a traceparent")
	}
	for _, typ := range []string{"org.deiops.directory.import.completed.v1", submitted, "org.deiops.resolution.case.triaged.v1",
		"org.deiops.resolution.case.assigned.v1", "org.deiops.resolution.case.acknowledged.v1", started} {
		if !hasType(lines, typ) {
			t.Errorf("no %s in the output", typ)
		}
	}
	// Restricted data never reaches an integrator: the narrative, and the
	// names and e-mails of the directory.
	for _, secret := range []string{integratorCanary, "Luis Fernandez", "att@example.org", "Mei Chen", "res1@example.org"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the output file contains %q", secret)
		}
	}
	// The second run saw the republished report (and maybe redeliveries)
	// and wrote none of them.
	m := regexp.MustCompile(`stopped written=(\d+) duplicates=(\d+)`).FindStringSubmatch(second.logs.String())
	if m == nil {
		t.Fatalf("no summary in the second run's logs:\n%s", second.logs)
	}
	if dups, _ := strconv.Atoi(m[2]); dups < 1 {
		t.Errorf("the second run counted %s duplicates, want the republished report at least", m[2])
	}
	t.Logf("%d public events (%d traced, %d internal messages not delivered), %d written before the restart; second run: written=%s duplicates=%s",
		len(ids), traced, len(seen.internal), beforeRestart, m[1], m[2])
}
