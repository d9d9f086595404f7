package policies_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/pkg/testkit/tokens"
	"github.com/deiops/deiops/pkg/versioned/versionedhttp"
	"github.com/deiops/deiops/services/resolution/policies"
	"github.com/deiops/deiops/workflows/escalation"
)

type env struct {
	bus     *bus.Bus
	svc     *policies.Service
	handler http.Handler
	iss     *tokens.Issuer
	audit   *auth.MemoryAuditSink
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Minute)
	return c.t
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv := testkit.NATS(t)
	b, err := bus.Connect(ctx, bus.Options{Source: "deiops/resolution", NATS: config.NATS{
		URL: srv.URL(), Replicas: 1, DuplicateWindow: 2 * time.Minute, PublishAttempts: 10, AckWait: 5 * time.Second, MaxDeliver: 5,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	cat, err := events.NewCatalog(policies.Events()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx, cat); err != nil {
		t.Fatal(err)
	}

	c := &clock{t: time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)}
	svc := policies.New(b, policies.Options{Now: c.Now})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })

	// The same authentication wiring as the app (cmd/deiops/internal/app):
	// a verifier trusting a development issuer, and route middleware that
	// authenticates every non-public route and requires its roles.
	iss := tokens.DevIssuer(t, "deiops")
	verifier, err := auth.NewVerifier(config.Auth{Audience: "deiops", Algorithms: []string{"ES256"}, Dev: true, Leeway: 30 * time.Second},
		auth.WithDevIssuer(iss.DevIssuer))
	if err != nil {
		t.Fatal(err)
	}
	audit := &auth.MemoryAuditSink{}
	authn, err := auth.NewMiddleware(verifier, audit, auth.MiddlewareOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := httpapi.NewRouter(httpapi.RouterOptions{RouteMiddleware: []httpapi.RouteMiddleware{authn.Route}})
	policies.Routes(r, svc) // routes register without infrastructure (the OpenAPI document is built that way)
	if _, err := httpapi.MarshalDocument(r.OpenAPI("deiops resolution", "1.0.0", "")); err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	return &env{bus: b, svc: svc, handler: r, iss: iss, audit: audit}
}

// as returns a bearer token for a user holding roles.
func (e *env) as(sub string, roles ...string) string { return e.iss.Token(sub, roles...) }

func (e *env) do(t *testing.T, method, path, token string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

func problem(t *testing.T, rec *httptest.ResponseRecorder, status int) httpapi.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Errorf("content type %q, want %s", ct, httpapi.ProblemContentType)
	}
	return decode[httpapi.Problem](t, rec, status)
}

func fields(p httpapi.Problem) []string {
	var out []string
	for _, fe := range p.Errors {
		out = append(out, fe.Field)
	}
	slices.Sort(out)
	return out
}

const base = "/v1/escalation-policies/"

func TestPublishThenReadCurrentVersionsAndAnOldVersion(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	officer := e.as("officer-1", "dei_officer")
	lead := e.as("lead-1", "department_lead")

	// Version 1: adopt a template.
	rec := e.do(t, http.MethodPut, base+"cardiology", officer, `{"template": "residency_program_default"}`)
	v1 := decode[policies.Response](t, rec, http.StatusCreated)
	want1 := escalation.ResidencyProgramDefault()
	want1.ID, want1.Version, want1.Department = "cardiology", 1, "cardiology"
	if v1.Version != 1 || v1.SourceScope != "cardiology" || v1.PublishedBy != "officer-1" || !reflect.DeepEqual(v1.Policy, want1) {
		t.Fatalf("adopted template: %+v", v1)
	}
	if loc := rec.Header().Get("Location"); loc != base+"cardiology/versions/1" {
		t.Errorf("Location %q", loc)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on a policy", cc)
	}

	// Version 2: a policy of its own; id, version and department sent are ignored.
	own := escalation.EUWhistleblowingDirective()
	own.ID, own.Version, own.Department = "whatever", 99, "elsewhere"
	own.Calendar.TimeZone = "Europe/Berlin"
	own.Delegations = escalation.Delegations{{From: "u-1", To: "u-2", Start: "2026-12-21", End: "2027-01-03"}}
	v2 := decode[policies.Response](t, e.do(t, http.MethodPut, base+"cardiology", e.as("admin-1", "admin"), own), http.StatusCreated)
	if v2.Version != 2 || v2.Policy.ID != "cardiology" || v2.Policy.Version != 2 || v2.Policy.Department != "cardiology" {
		t.Fatalf("own policy: %+v", v2)
	}

	cur := decode[policies.Response](t, e.do(t, http.MethodGet, base+"cardiology", lead, nil), http.StatusOK)
	want2 := own
	want2.ID, want2.Version, want2.Department = "cardiology", 2, "cardiology"
	if cur.Version != 2 || cur.SourceScope != "cardiology" || !reflect.DeepEqual(cur.Policy, want2) {
		t.Fatalf("current %+v\nwant policy %+v", cur, want2)
	}
	if snap, err := e.svc.Policy(ctx, "cardiology"); err != nil || !reflect.DeepEqual(snap, want2) {
		t.Fatalf("service snapshot %+v, %v", snap, err)
	}

	hist := decode[versionedhttp.VersionsResponse](t, e.do(t, http.MethodGet, base+"cardiology/versions", lead, nil), http.StatusOK)
	if len(hist.Versions) != 2 || hist.Versions[0].Version != 1 || hist.Versions[1].PublishedBy != "admin-1" ||
		!hist.Versions[0].PublishedAt.Equal(v1.PublishedAt) || !hist.Versions[1].PublishedAt.After(hist.Versions[0].PublishedAt) {
		t.Fatalf("history %+v", hist)
	}

	// The policy changed; a case that started under version 1 can still read it.
	old := decode[policies.Response](t, e.do(t, http.MethodGet, base+"cardiology/versions/1", lead, nil), http.StatusOK)
	if old.Version != 1 || !reflect.DeepEqual(old.Policy, want1) {
		t.Fatalf("version 1 after the change: %+v", old)
	}
	if v, err := e.svc.Version(ctx, "cardiology", 1); err != nil || !reflect.DeepEqual(v.Doc, want1) {
		t.Fatalf("service version 1: %+v, %v", v, err)
	}
	problem(t, e.do(t, http.MethodGet, base+"cardiology/versions/3", lead, nil), http.StatusNotFound)
}

func TestFallbackToHospitalDefaultThenBuiltin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	officer := e.as("officer-1", "dei_officer")

	// Nothing published: the residency program template as it ships.
	if p, err := e.svc.Policy(ctx, "oncology"); err != nil || !reflect.DeepEqual(p, escalation.ResidencyProgramDefault()) {
		t.Fatalf("built-in snapshot %+v, %v", p, err)
	}
	b := decode[policies.Response](t, e.do(t, http.MethodGet, base+"oncology", officer, nil), http.StatusOK)
	if b.SourceScope != policies.BuiltinScope || b.Version != 0 || b.Policy.ID != "residency-program-default" || !b.PublishedAt.IsZero() {
		t.Fatalf("built-in answer %+v", b)
	}
	if errs := b.Policy.Validate(); len(errs) != 0 {
		t.Fatalf("built-in policy invalid: %v", errs)
	}

	// The hospital-wide default: id hospital, department empty.
	decode[policies.Response](t, e.do(t, http.MethodPut, base+"hospital", officer, `{"template":"eu_directive_2019_1937"}`), http.StatusCreated)
	got := decode[policies.Response](t, e.do(t, http.MethodGet, base+"oncology", officer, nil), http.StatusOK)
	if got.SourceScope != policies.HospitalScope || got.Version != 1 || got.Policy.ID != "hospital" || got.Policy.Department != "" || got.Policy.Version != 1 ||
		got.Policy.Levels[0].Name != "acknowledgment-reminder" {
		t.Fatalf("hospital default for oncology: %+v", got)
	}
	snap, err := e.svc.Policy(ctx, "oncology")
	if err != nil || snap.ID != "hospital" || len(snap.Validate()) != 0 {
		t.Fatalf("service snapshot %+v, %v", snap, err)
	}
	if h := decode[versionedhttp.VersionsResponse](t, e.do(t, http.MethodGet, base+"oncology/versions", officer, nil), http.StatusOK); len(h.Versions) != 0 || h.Versions == nil {
		t.Fatalf("oncology's own history %+v, want empty", h)
	}

	// Its own policy takes over.
	decode[policies.Response](t, e.do(t, http.MethodPut, base+"oncology", officer, `{"template":"residency_program_default"}`), http.StatusCreated)
	if snap, err := e.svc.Policy(ctx, "oncology"); err != nil || snap.ID != "oncology" || snap.Department != "oncology" || snap.Version != 1 {
		t.Fatalf("own snapshot %+v, %v", snap, err)
	}
	if snap, err := e.svc.Policy(ctx, "radiology"); err != nil || snap.ID != "hospital" {
		t.Fatalf("other department %+v, %v", snap, err)
	}
}

func TestInvalidPolicyIsRejectedNamingEveryField(t *testing.T) {
	e := newEnv(t)
	officer := e.as("officer-1", "dei_officer")

	bad := escalation.ResidencyProgramDefault()
	bad.Calendar.TimeZone = "Mars/Olympus_Mons"
	bad.Levels[0].Name = "Program Director"
	bad.Levels[1].Delay = escalation.Duration{Amount: 0, Unit: escalation.UnitBusinessDays}
	bad.Levels[2].Targets = []escalation.Target{{Kind: "team"}}
	bad.Levels[3].Condition = ""
	bad.Delegations = escalation.Delegations{{From: "u-1", To: "u-1", Start: "2026-12-21", End: "2026-12-01"}}
	p := problem(t, e.do(t, http.MethodPut, base+"cardiology", officer, bad), http.StatusUnprocessableEntity)
	want := []string{
		"calendar.time_zone", "delegations[0].end", "delegations[0].to",
		"levels[0].name", "levels[1].delay", "levels[2].targets[0].kind", "levels[3].condition",
	}
	if got := fields(p); !slices.Equal(got, want) {
		t.Errorf("invalid fields\n got %q\nwant %q", got, want)
	}

	for _, c := range []struct {
		name, body string
		want       []string
	}{
		{"unknown template", `{"template":"strict"}`, []string{"template"}},
		{"template and policy", `{"template":"eu_directive_2019_1937","levels":[{"name":"x"}]}`,
			[]string{"levels[0].condition", "levels[0].delay", "levels[0].targets", "template"}},
		{"empty policy", `{}`, []string{"calendar.end", "calendar.start", "calendar.time_zone", "calendar.workdays", "levels"}},
	} {
		p := problem(t, e.do(t, http.MethodPut, base+"cardiology", officer, c.body), http.StatusUnprocessableEntity)
		if got := fields(p); !slices.Equal(got, c.want) {
			t.Errorf("%s: fields %q, want %q", c.name, got, c.want)
		}
	}
	problem(t, e.do(t, http.MethodPut, base+"cardiology", officer, `{"levels":[],"colour":"red"}`), http.StatusBadRequest)
	p = problem(t, e.do(t, http.MethodPut, base+"cardiology", officer, `{"levels":[{"delay":"2 days"}]}`), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"levels.delay"}) {
		t.Errorf("wrong type named %q", got)
	}
	if h, err := e.svc.History(t.Context(), "cardiology"); err != nil || len(h) != 0 {
		t.Fatalf("rejected policies stored: %v, %v", h, err)
	}
}

func TestInvalidPathValuesAreNamed(t *testing.T) {
	e := newEnv(t)
	officer := e.as("officer-1", "dei_officer")
	for _, c := range []struct{ method, path, field string }{
		{http.MethodGet, base + "has%20space", "department"},
		{http.MethodGet, base + strings.Repeat("d", 65), "department"},
		{http.MethodGet, base + "builtin/versions", "department"},
		{http.MethodPut, base + "templates", "department"},
		{http.MethodPut, base + "a%2Fb", "department"},
		{http.MethodGet, base + "cardiology/versions/v1", "version"},
		{http.MethodGet, base + "cardiology/versions/-1", "version"},
	} {
		var body any
		if c.method == http.MethodPut {
			body = `{"template":"residency_program_default"}`
		}
		p := problem(t, e.do(t, c.method, c.path, officer, body), http.StatusUnprocessableEntity)
		if got := fields(p); !slices.Equal(got, []string{c.field}) {
			t.Errorf("%s %s: fields %q, want %s", c.method, c.path, got, c.field)
		}
	}
}

func TestRolesAndAuthentication(t *testing.T) {
	e := newEnv(t)
	adopt := `{"template":"residency_program_default"}`
	for _, roles := range [][]string{{"department_lead"}, {"resident"}, {"program_director", "resolver"}} {
		problem(t, e.do(t, http.MethodPut, base+"cardiology", e.as("user-1", roles...), adopt), http.StatusForbidden)
	}
	for _, path := range []string{base + "cardiology", base + "cardiology/versions", base + "cardiology/versions/1"} {
		for _, roles := range [][]string{{"resident"}, {"staff", "supervisor"}, {"program_director"}} {
			problem(t, e.do(t, http.MethodGet, path, e.as("user-1", roles...), nil), http.StatusForbidden)
		}
		problem(t, e.do(t, http.MethodGet, path, "", nil), http.StatusUnauthorized)
	}
	problem(t, e.do(t, http.MethodPut, base+"cardiology", "", adopt), http.StatusUnauthorized)
	problem(t, e.do(t, http.MethodGet, base+"templates", "", nil), http.StatusUnauthorized)
	if len(e.audit.Records()) == 0 {
		t.Error("denials were not audited")
	}
	for _, roles := range [][]string{{"dei_officer"}, {"department_lead"}, {"admin"}} {
		decode[policies.Response](t, e.do(t, http.MethodGet, base+"cardiology", e.as("reader", roles...), nil), http.StatusOK)
	}
	if h, err := e.svc.History(t.Context(), "cardiology"); err != nil || len(h) != 0 {
		t.Fatalf("refused publishes stored: %v, %v", h, err)
	}
}

func TestTemplatesAreListedAndValid(t *testing.T) {
	e := newEnv(t)
	res := decode[policies.TemplatesResponse](t, e.do(t, http.MethodGet, base+"templates", e.as("resident-1", "resident"), nil), http.StatusOK)
	var names []string
	for _, tpl := range res.Templates {
		names = append(names, tpl.Name)
		if tpl.Title == "" || tpl.Description == "" {
			t.Errorf("template %s without title or description", tpl.Name)
		}
		if errs := tpl.Policy.Validate(); len(errs) != 0 {
			t.Errorf("template %s invalid: %v", tpl.Name, errs)
		}
	}
	if want := []string{policies.TemplateEUDirective, policies.TemplateResidencyProgram}; !slices.Equal(names, want) {
		t.Errorf("templates %q, want %q", names, want)
	}
	if !reflect.DeepEqual(res.Templates[0].Policy, escalation.EUWhistleblowingDirective()) {
		t.Errorf("EU template differs from the escalation package's")
	}
}

func TestPublishEmitsPublishedEvent(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	spec := policies.Published{}.EventSpec()
	cons, err := e.bus.JetStream().CreateOrUpdateConsumer(ctx, spec.Stream(), jetstream.ConsumerConfig{
		FilterSubject: spec.Subject(), AckPolicy: jetstream.AckNonePolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	officer := e.as("officer-1", "dei_officer")
	decode[policies.Response](t, e.do(t, http.MethodPut, base+"med:icu", officer, `{"template":"eu_directive_2019_1937"}`), http.StatusCreated)
	decode[policies.Response](t, e.do(t, http.MethodPut, base+"hospital", officer, `{"template":"eu_directive_2019_1937"}`), http.StatusCreated)
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []policies.Published
	for m := range batch.Messages() {
		if typ := m.Headers().Get(events.HeaderType); typ != "org.deiops.resolution.escalation_policy.published.v1" {
			t.Errorf("type %q", typ)
		}
		var ev policies.Published
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	want := []policies.Published{{Department: "med:icu", Version: 1, PolicyID: "med:icu"}, {Department: "hospital", Version: 1, PolicyID: "hospital"}}
	if !slices.Equal(got, want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
}

func TestServiceBeforeStartAnswers503(t *testing.T) {
	svc := policies.New(nil, policies.Options{})
	if _, err := svc.Current(context.Background(), "cardiology"); err == nil {
		t.Fatal("Current before Start succeeded")
	}
	r := httpapi.NewRouter(httpapi.RouterOptions{})
	policies.Routes(r, svc)
	req := httptest.NewRequest(http.MethodGet, base+"cardiology", nil)
	req = req.WithContext(auth.WithPrincipal(req.Context(), &auth.Principal{Subject: "u", Roles: []string{"admin"}}))
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	var ids []string
	for _, op := range r.Operations() {
		ids = append(ids, op.ID)
	}
	want := []string{"listEscalationPolicyTemplates", "getEscalationPolicy", "listEscalationPolicyVersions", "getEscalationPolicyVersion", "publishEscalationPolicy", "previewEscalationPolicy"}
	if !slices.Equal(ids, want) {
		t.Errorf("operations %q, want %q", ids, want)
	}
}

// PublishRequest lists escalation.Policy's fields itself; a field added to
// the policy must be added to the request too.
func TestPublishRequestCarriesEveryPolicyField(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			out = append(out, name+" "+typ.Field(i).Type.String())
		}
		return out
	}
	req := names(reflect.TypeFor[policies.PublishRequest]())
	want := append([]string{"template string"}, names(reflect.TypeFor[escalation.Policy]())...)
	if !slices.Equal(req, want) {
		t.Fatalf("request fields %q\npolicy fields %q", req, want)
	}
	// And a policy read from the API can be sent back as it is.
	p := escalation.EUWhistleblowingDirective()
	p.Delegations = escalation.Delegations{{From: "a", To: "b", Start: "2026-01-01", End: "2026-01-02"}}
	data, _ := json.Marshal(p)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r policies.PublishRequest
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if got := r.Policy(); !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip %+v, want %+v", got, p)
	}
}

func TestPreviewChecksAsPublishWouldAndStoresNothing(t *testing.T) {
	e := newEnv(t)
	officer := e.as("officer-1", "dei_officer")
	got := decode[policies.Response](t, e.do(t, http.MethodPost, base+"cardiology/preview", officer, `{"template": "eu_directive_2019_1937"}`), http.StatusOK)
	want := escalation.EUWhistleblowingDirective()
	want.ID, want.Department = "cardiology", "cardiology"
	if got.Version != 0 || !got.PublishedAt.IsZero() || got.Policy.ID != want.ID || !reflect.DeepEqual(got.Policy.Levels, want.Levels) || got.Policy.Calendar.TimeZone != want.Calendar.TimeZone {
		t.Fatalf("preview: %+v", got)
	}
	bad := escalation.ResidencyProgramDefault()
	bad.Levels[1].Delay = escalation.Duration{Amount: 0, Unit: escalation.UnitBusinessDays}
	if f := fields(problem(t, e.do(t, http.MethodPost, base+"cardiology/preview", officer, bad), http.StatusUnprocessableEntity)); !slices.Equal(f, []string{"levels[1].delay"}) {
		t.Errorf("preview of an invalid policy names %q", f)
	}
	problem(t, e.do(t, http.MethodPost, base+"cardiology/preview", e.as("lead-1", "department_lead"), bad), http.StatusForbidden)
	if h, err := e.svc.History(t.Context(), "cardiology"); err != nil || len(h) != 0 {
		t.Fatalf("a preview stored a version: %v, %v", h, err)
	}
}

func TestPolicyVersionReadsWhatACaseStartedWith(t *testing.T) {
	e := newEnv(t)
	officer := e.as("officer-1", "dei_officer")
	decode[policies.Response](t, e.do(t, http.MethodPut, base+"cardiology", officer, `{"template": "eu_directive_2019_1937"}`), http.StatusCreated)
	decode[policies.Response](t, e.do(t, http.MethodPut, base+"cardiology", officer, `{"template": "residency_program_default"}`), http.StatusCreated)
	p, err := e.svc.PolicyVersion(t.Context(), "cardiology", 1)
	if err != nil || p.ID != "cardiology" || p.Version != 1 || p.Calendar.TimeZone != escalation.EUWhistleblowingDirective().Calendar.TimeZone {
		t.Fatalf("version 1: %+v, %v", p, err)
	}
	builtin := escalation.ResidencyProgramDefault()
	if p, err := e.svc.PolicyVersion(t.Context(), builtin.ID, builtin.Version); err != nil || !reflect.DeepEqual(p, builtin) {
		t.Fatalf("the built-in policy: %+v, %v", p, err)
	}
	if _, err := e.svc.PolicyVersion(t.Context(), "cardiology", 9); err == nil {
		t.Fatal("a version never published was found")
	}
}
