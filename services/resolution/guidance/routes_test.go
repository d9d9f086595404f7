package guidance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	"github.com/deiops/deiops/services/resolution/guidance"
)

type env struct {
	bus     *bus.Bus
	svc     *guidance.Service
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
	cat, err := events.NewCatalog(guidance.Events()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx, cat); err != nil {
		t.Fatal(err)
	}

	c := &clock{t: time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)}
	svc := guidance.New(b, guidance.Options{Now: c.Now})
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
	guidance.Routes(r, svc)
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

func sample(title string) guidance.Guidance {
	return guidance.Guidance{
		Title:   title,
		Summary: "Cardiology's guidance.\nRead it all.",
		Steps: []guidance.Step{
			{Title: "Get safe", Detail: "Step away.\tCall security if needed."},
			{Title: "Write it down"},
		},
		Contacts: []guidance.Contact{
			{Role: "dei_officer", Name: "Dr. Ana Ruiz", Email: "dei@example.org", Phone: "+1 (555) 010-2000", Hours: "Mon-Fri 08:00-18:00"},
			{Role: "ombudsperson"},
		},
		Timelines: []guidance.Timeline{{Label: "Acknowledgment", Days: 7}},
		Options: []guidance.Option{
			{Code: guidance.OptionInformalSupport, Description: "Talk it through."},
			{Code: guidance.OptionFormalResolution, Description: "The formal process."},
		},
	}
}

func TestPublishThenReadCurrentVersionsAndAnOldVersion(t *testing.T) {
	e := newEnv(t)
	officer := e.as("officer-1", "dei_officer")
	resident := e.as("resident-1", "resident")

	rec := e.do(t, http.MethodPut, "/v1/guidance/cardiology", officer, sample("Version one"))
	v1 := decode[guidance.Response](t, rec, http.StatusCreated)
	if v1.Version != 1 || v1.Department != "cardiology" || v1.SourceScope != "cardiology" || v1.PublishedBy != "officer-1" ||
		v1.PublishedAt.IsZero() || v1.Guidance.Title != "Version one" {
		t.Fatalf("publish response %+v", v1)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/guidance/cardiology/versions/1" {
		t.Errorf("Location %q", loc)
	}
	rec = e.do(t, http.MethodPut, "/v1/guidance/cardiology", e.as("admin-1", "admin"), sample("Version two"))
	if v2 := decode[guidance.Response](t, rec, http.StatusCreated); v2.Version != 2 {
		t.Fatalf("second publish %+v", v2)
	}

	rec = e.do(t, http.MethodGet, "/v1/guidance/cardiology", resident, nil)
	cur := decode[guidance.Response](t, rec, http.StatusOK)
	if cur.Version != 2 || cur.SourceScope != "cardiology" || cur.Guidance.Title != "Version two" {
		t.Fatalf("current %+v", cur)
	}
	if !slices.Equal(cur.Guidance.Steps, sample("").Steps) || !slices.Equal(cur.Guidance.Contacts, sample("").Contacts) {
		t.Errorf("stored guidance differs: %+v", cur.Guidance)
	}
	if strings.Contains(rec.Body.String(), "published_by") {
		t.Errorf("publisher shown to a resident: %s", rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc == "no-store" {
		t.Errorf("guidance is public policy text, marked no-store")
	}

	rec = e.do(t, http.MethodGet, "/v1/guidance/cardiology/versions", resident, nil)
	hist := decode[versionedhttp.VersionsResponse](t, rec, http.StatusOK)
	if len(hist.Versions) != 2 || hist.Versions[0].Version != 1 || hist.Versions[1].Version != 2 ||
		hist.Versions[0].PublishedBy != "" || !hist.Versions[0].PublishedAt.Equal(v1.PublishedAt) {
		t.Fatalf("history %+v", hist)
	}
	rec = e.do(t, http.MethodGet, "/v1/guidance/cardiology/versions", officer, nil)
	if hist := decode[versionedhttp.VersionsResponse](t, rec, http.StatusOK); hist.Versions[1].PublishedBy != "admin-1" {
		t.Errorf("officer's history %+v", hist)
	}

	rec = e.do(t, http.MethodGet, "/v1/guidance/cardiology/versions/1", resident, nil)
	old := decode[guidance.Response](t, rec, http.StatusOK)
	if old.Version != 1 || old.Guidance.Title != "Version one" || old.SourceScope != "cardiology" {
		t.Fatalf("version 1 %+v", old)
	}
	problem(t, e.do(t, http.MethodGet, "/v1/guidance/cardiology/versions/3", resident, nil), http.StatusNotFound)
	problem(t, e.do(t, http.MethodGet, "/v1/guidance/oncology/versions/1", resident, nil), http.StatusNotFound)
}

func TestFallbackToHospitalDefaultThenBuiltin(t *testing.T) {
	e := newEnv(t)
	staff := e.as("staff-1", "staff")

	// Nothing published anywhere: the built-in guidance, version 0.
	rec := e.do(t, http.MethodGet, "/v1/guidance/oncology", staff, nil)
	b := decode[guidance.Response](t, rec, http.StatusOK)
	if b.SourceScope != guidance.BuiltinScope || b.Version != 0 || b.Department != "oncology" || b.Guidance.Title != guidance.Builtin().Title {
		t.Fatalf("builtin answer %+v", b)
	}
	if strings.Contains(rec.Body.String(), "published_at") {
		t.Errorf("built-in guidance has a publication date: %s", rec.Body)
	}
	rec = e.do(t, http.MethodGet, "/v1/guidance/oncology/versions", staff, nil)
	if !strings.Contains(rec.Body.String(), `"versions":[]`) {
		t.Errorf("history of a department without versions: %s, want an empty list", rec.Body)
	}

	// The hospital-wide default applies to every department without its own.
	officer := e.as("officer-1", "dei_officer")
	decode[guidance.Response](t, e.do(t, http.MethodPut, "/v1/guidance/hospital", officer, sample("Hospital default")), http.StatusCreated)
	for _, path := range []string{"/v1/guidance/oncology", "/v1/guidance/hospital"} {
		got := decode[guidance.Response](t, e.do(t, http.MethodGet, path, staff, nil), http.StatusOK)
		if got.SourceScope != guidance.HospitalScope || got.Version != 1 || got.Guidance.Title != "Hospital default" {
			t.Fatalf("%s: %+v", path, got)
		}
	}

	// Its own guidance takes over; the default stays for the others.
	decode[guidance.Response](t, e.do(t, http.MethodPut, "/v1/guidance/oncology", officer, sample("Oncology")), http.StatusCreated)
	if got := decode[guidance.Response](t, e.do(t, http.MethodGet, "/v1/guidance/oncology", staff, nil), http.StatusOK); got.SourceScope != "oncology" || got.Version != 1 {
		t.Fatalf("own guidance %+v", got)
	}
	if got := decode[guidance.Response](t, e.do(t, http.MethodGet, "/v1/guidance/radiology", staff, nil), http.StatusOK); got.SourceScope != "hospital" {
		t.Fatalf("other department %+v", got)
	}
}

func TestInvalidGuidanceIsRejectedNamingEveryField(t *testing.T) {
	e := newEnv(t)
	officer := e.as("officer-1", "dei_officer")
	bad := sample(strings.Repeat("é", 201))
	bad.Summary = "   "
	bad.Steps = append(bad.Steps, guidance.Step{Title: "", Detail: strings.Repeat("x", 4001)}, guidance.Step{Title: "bell\x07"})
	bad.Contacts = []guidance.Contact{
		{Name: "No role"},
		{Role: "DEI Officer", Email: "Ana <ana@example.org>", Phone: "call me"},
		{Role: "dei_officer", Email: "not-an-address"},
	}
	bad.Timelines = []guidance.Timeline{{Label: "Too soon", Days: 0}, {Label: "", Days: 3651}}
	bad.Options = []guidance.Option{
		{Code: guidance.OptionRecordOnly, Description: "x"},
		{Code: guidance.OptionRecordOnly, Description: "y"},
		{Code: "complain", Description: ""},
	}
	p := problem(t, e.do(t, http.MethodPut, "/v1/guidance/cardiology", officer, bad), http.StatusUnprocessableEntity)
	want := []string{
		"contacts[0].role", "contacts[1].email", "contacts[1].phone", "contacts[1].role", "contacts[2].email",
		"options", "options[1].code", "options[2].code", "options[2].description",
		"steps[2].detail", "steps[2].title", "steps[3].title", "summary",
		"timelines[0].days", "timelines[1].days", "timelines[1].label", "title",
	}
	if got := fields(p); !slices.Equal(got, want) {
		t.Errorf("invalid fields\n got %q\nwant %q", got, want)
	}
	for _, fe := range p.Errors {
		if fe.Reason == "" {
			t.Errorf("%s without a reason", fe.Field)
		}
	}

	// Empty lists and a missing formal option.
	empty := guidance.Guidance{Title: "T", Options: []guidance.Option{{Code: guidance.OptionRecordOnly, Description: "x"}}}
	p = problem(t, e.do(t, http.MethodPut, "/v1/guidance/cardiology", officer, empty), http.StatusUnprocessableEntity)
	if got, want := fields(p), []string{"contacts", "options", "steps"}; !slices.Equal(got, want) {
		t.Errorf("invalid fields %q, want %q", got, want)
	}

	// Strict decoding: unknown fields and wrong types.
	problem(t, e.do(t, http.MethodPut, "/v1/guidance/cardiology", officer, `{"title":"x","colour":"red"}`), http.StatusBadRequest)
	p = problem(t, e.do(t, http.MethodPut, "/v1/guidance/cardiology", officer, `{"title":"x","timelines":[{"label":"a","days":"7"}]}`), http.StatusUnprocessableEntity)
	if got := fields(p); !slices.Equal(got, []string{"timelines.days"}) {
		t.Errorf("wrong type named %q", got)
	}

	// Nothing was stored.
	rec := e.do(t, http.MethodGet, "/v1/guidance/cardiology/versions", officer, nil)
	if !strings.Contains(rec.Body.String(), `"versions":[]`) {
		t.Errorf("rejected guidance stored: %s", rec.Body)
	}
}

func TestInvalidPathValuesAreNamed(t *testing.T) {
	e := newEnv(t)
	officer := e.as("officer-1", "dei_officer")
	for _, c := range []struct{ method, path, field string }{
		{http.MethodGet, "/v1/guidance/has%20space", "department"},
		{http.MethodGet, "/v1/guidance/" + strings.Repeat("d", 65), "department"},
		{http.MethodGet, "/v1/guidance/builtin", "department"},
		{http.MethodGet, "/v1/guidance/a%2Fb/versions", "department"},
		{http.MethodGet, "/v1/guidance/cardiology/versions/one", "version"},
		{http.MethodGet, "/v1/guidance/cardiology/versions/0", "version"},
		{http.MethodGet, "/v1/guidance/cardiology/versions/99999999999999999999", "version"},
		{http.MethodPut, "/v1/guidance/dept=1", "department"},
	} {
		var body any
		if c.method == http.MethodPut {
			body = sample("x")
		}
		p := problem(t, e.do(t, c.method, c.path, officer, body), http.StatusUnprocessableEntity)
		if got := fields(p); !slices.Equal(got, []string{c.field}) {
			t.Errorf("%s %s: fields %q, want %s", c.method, c.path, got, c.field)
		}
	}
	// A 64-character id is fine.
	decode[guidance.Response](t, e.do(t, http.MethodGet, "/v1/guidance/"+strings.Repeat("d", 64), officer, nil), http.StatusOK)
}

func TestRolesAndAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, roles := range [][]string{{"resident"}, {"department_lead", "program_director"}, {"resolver"}, nil} {
		rec := e.do(t, http.MethodPut, "/v1/guidance/cardiology", e.as("user-1", roles...), sample("x"))
		problem(t, rec, http.StatusForbidden)
	}
	problem(t, e.do(t, http.MethodPut, "/v1/guidance/cardiology", "", sample("x")), http.StatusUnauthorized)
	// Reading is public (posters link to it), but a bad token is still refused.
	decode[guidance.Response](t, e.do(t, http.MethodGet, "/v1/guidance/cardiology", "", nil), http.StatusOK)
	decode[versionedhttp.VersionsResponse](t, e.do(t, http.MethodGet, "/v1/guidance/cardiology/versions", "", nil), http.StatusOK)
	for _, path := range []string{"/v1/guidance/cardiology", "/v1/guidance/cardiology/versions", "/v1/guidance/cardiology/versions/1"} {
		problem(t, e.do(t, http.MethodGet, path, "not-a-token", nil), http.StatusUnauthorized)
	}
	if len(e.audit.Records()) == 0 {
		t.Error("denials were not audited")
	}
	// Any signed-in user reads, whatever the role.
	decode[guidance.Response](t, e.do(t, http.MethodGet, "/v1/guidance/cardiology", e.as("user-2"), nil), http.StatusOK)
	// The refused publishes stored nothing.
	if h, err := e.svc.History(t.Context(), "cardiology"); err != nil || len(h) != 0 {
		t.Fatalf("history after refused publishes: %v, %v", h, err)
	}
}

func TestPublishEmitsPublishedEvent(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	spec := guidance.Published{}.EventSpec()
	cons, err := e.bus.JetStream().CreateOrUpdateConsumer(ctx, spec.Stream(), jetstream.ConsumerConfig{
		FilterSubject: spec.Subject(), AckPolicy: jetstream.AckNonePolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	officer := e.as("officer-1", "dei_officer")
	decode[guidance.Response](t, e.do(t, http.MethodPut, "/v1/guidance/hospital", officer, sample("a")), http.StatusCreated)
	v := decode[guidance.Response](t, e.do(t, http.MethodPut, "/v1/guidance/hospital", officer, sample("b")), http.StatusCreated)
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []guidance.Published
	for m := range batch.Messages() {
		if typ := m.Headers().Get(events.HeaderType); typ != "org.deiops.resolution.guidance.published.v1" {
			t.Errorf("type %q", typ)
		}
		var ev guidance.Published
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 2 || got[0].Department != "hospital" || got[0].Version != 1 || got[1].Version != 2 || !got[1].PublishedAt.Equal(v.PublishedAt) {
		t.Fatalf("events %+v", got)
	}
}

func TestServiceBeforeStartAnswers503(t *testing.T) {
	svc := guidance.New(nil, guidance.Options{})
	r := httpapi.NewRouter(httpapi.RouterOptions{})
	guidance.Routes(r, svc) // routes register without infrastructure (the OpenAPI document is built that way)
	if _, err := httpapi.MarshalDocument(r.OpenAPI("deiops resolution", "1.0.0", "")); err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/guidance/cardiology", nil)
	req = req.WithContext(auth.WithPrincipal(req.Context(), &auth.Principal{Subject: "u", Roles: []string{"staff"}}))
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	ids := []string{}
	for _, op := range r.Operations() {
		ids = append(ids, op.ID)
	}
	if want := []string{"getGuidance", "listGuidanceVersions", "getGuidanceVersion", "publishGuidance", "previewGuidance"}; !slices.Equal(ids, want) {
		t.Errorf("operations %q, want %q", ids, want)
	}
}
