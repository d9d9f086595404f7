package web_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/services/portal/apiclient"
	"github.com/deiops/deiops/services/portal/i18n"
	"github.com/deiops/deiops/services/portal/session"
	"github.com/deiops/deiops/services/portal/web"
)

const (
	testKey    = "7K3M-Q9TX-2HBD"
	testSecret = "s3cr3t-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	narrative  = "NARRATIVE-CANARY what happened"
)

// fakeAPI answers the few API routes the reporter pages call and
// remembers what it was sent.
type fakeAPI struct {
	mu          sync.Mutex
	calls       []string
	bodies      []string
	idempotency []string
	forwarded   []string
	reports     atomic.Int64
	docs        map[string][]json.RawMessage // published versions by base path and department
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, string(body))
	f.forwarded = append(f.forwarded, r.Header.Get("X-Forwarded-For"))
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		f.idempotency = append(f.idempotency, k)
	}
	f.mu.Unlock()
	problem := func(status int, errs ...apiclient.FieldError) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(apiclient.Problem{Status: status, Title: http.StatusText(status), Errors: errs})
	}
	view := apiclient.ReporterView{ID: "c-1", Status: "submitted", Category: "racism", OpenedAt: time.Now(),
		Timeline: []apiclient.Step{{At: time.Now(), Action: "submit"}},
		Messages: []apiclient.Message{{ID: 1, From: "handler", At: time.Now(), Text: "We received it."}},
		Checkins: []apiclient.Checkin{{Number: 1, Of: 3, DueAt: time.Now().Add(time.Hour)}},
		Promise:  &apiclient.Promise{Awaiting: "acknowledgment", DueBy: time.Date(2026, 12, 9, 17, 0, 0, 0, time.UTC)}}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/reports":
		var req apiclient.ReportRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Narrative == "API-REJECT" {
			problem(http.StatusUnprocessableEntity, apiclient.FieldError{Field: "narrative", Reason: "is required"},
				apiclient.FieldError{Field: "involved[0].role", Reason: "must be one of patient, attending"})
			return
		}
		f.reports.Add(1)
		w.WriteHeader(http.StatusCreated)
		rc := apiclient.Receipt{CaseID: "c-1", Status: "submitted"}
		if req.Anonymous {
			rc.CaseKey, rc.Secret = testKey, testSecret
		}
		_ = json.NewEncoder(w).Encode(rc)
	case r.URL.Path == "/v1/anonymous/case" || strings.HasPrefix(r.URL.Path, "/v1/anonymous/case/"):
		if r.Header.Get("Deiops-Case-Key") != testKey || r.Header.Get("Deiops-Case-Secret") != testSecret {
			problem(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(view)
	case strings.HasPrefix(r.URL.Path, "/v1/escalation-policies/") || strings.HasPrefix(r.URL.Path, "/v1/guidance/") && r.Header.Get("Authorization") == "Bearer "+officerToken:
		f.docsAPI(w, r, problem)
	case strings.HasPrefix(r.URL.Path, "/v1/guidance/"):
		if r.Header.Get("Authorization") == "" {
			problem(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(apiclient.Guidance{Department: "med", SourceScope: "builtin"})
	case r.URL.Path == "/v1/my/cases":
		if r.Header.Get("Authorization") != "Bearer access-token" {
			problem(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"cases": []apiclient.CaseSummary{{ID: "c-1", State: "acknowledged", Category: "racism", OpenedAt: time.Now(),
			Promise: &apiclient.Promise{Awaiting: "feedback", DueBy: time.Date(2027, 3, 1, 17, 0, 0, 0, time.UTC), Overdue: true}}}})
	case strings.HasPrefix(r.URL.Path, "/v1/cases"):
		f.handlerAPI(w, r, problem)
	case strings.HasPrefix(r.URL.Path, "/v1/patterns/"):
		if r.Header.Get("Authorization") != "Bearer "+officerToken {
			problem(http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/v1/patterns/table":
			_, _ = io.WriteString(w, `{"rows":["med","surg"],"cols":["racism","exclusion"],"cells":[[{"count":7},{"count":null,"suppressed":true}],[{"count":null,"suppressed":true},{"count":null,"suppressed":true}]],`+
				`"row_totals":[{"count":9},{"count":null,"suppressed":true}],"col_totals":[{"count":8},{"count":null,"suppressed":true}],"total":{"count":12},"min_cell_size":5}`)
		case "/v1/patterns/detections":
			_, _ = io.WriteString(w, `{"detections":[{"detection_id":"d1","kind":"rise","department":"med","category":"racism","window_start":"2026-11-01T00:00:00Z","window_end":"2026-11-29T00:00:00Z","count":7,"expected":1.5,"p_value":0.002}]}`)
		default:
			_, _ = io.WriteString(w, `{"matches":[{"id":"subj-OPAQUE","reports":3,"distinct_reporters":2,"cases":["c-9"],"departments":["med"],"first":"2026-11-01T00:00:00Z","last":"2026-11-20T00:00:00Z"}]}`)
		}
	default:
		problem(http.StatusNotFound)
	}
}

// Handler-side canaries: only the officer's token may ever see them.
const (
	officerToken = "officer-token"
	noteCanary   = "NOTE-CANARY internal"
	threadCanary = "THREAD-CANARY to the reporter"
)

// handlerAPI answers the queue and workspace routes for one case, c-9,
// which only the officer is on; everyone else gets the API's 404.
func (f *fakeAPI) handlerAPI(w http.ResponseWriter, r *http.Request, problem func(int, ...apiclient.FieldError)) {
	if r.Header.Get("Authorization") != "Bearer "+officerToken {
		if r.URL.Path == "/v1/cases" {
			_ = json.NewEncoder(w).Encode(apiclient.CaseQueue{Cases: []apiclient.QueueCase{}})
			return
		}
		problem(http.StatusNotFound)
		return
	}
	now := time.Now()
	switch r.URL.Path {
	case "/v1/cases":
		page := apiclient.CaseQueue{Total: 2, Cases: []apiclient.QueueCase{{ID: "c-9", State: "submitted", Category: "racism",
			Department: "med", OpenedAt: now.Add(-9 * 24 * time.Hour), Overdue: true, OverdueSince: now.Add(-2 * 24 * time.Hour),
			EscalationLevel: "program-director", NextLevel: "dei-officer", NextDueAt: now.Add(24 * time.Hour)}}}
		if r.URL.Query().Get("after") == "" {
			page.Next = "CURSOR-1"
		} else {
			page.Cases[0].ID = "c-10"
		}
		_ = json.NewEncoder(w).Encode(page)
	case "/v1/cases/c-9":
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "c-9", "state": "submitted", "category": "racism", "department": "med",
			"opened_at": now, "occurred_at": now, "desired_outcome": "formal_resolution", "anonymous": true, "narrative": narrative,
			"messages": []map[string]any{{"id": 1, "from": "handler", "by": "off1", "at": now, "text": threadCanary}},
			"actions":  []string{"triage", "assign", "notes", "messages", "legal-hold"}})
	case "/v1/cases/c-9/notes":
		_ = json.NewEncoder(w).Encode([]apiclient.Note{{ID: 1, By: "off1", At: now, Text: noteCanary}})
	case "/v1/cases/c-9/escalation":
		problem(http.StatusServiceUnavailable)
	case "/v1/cases/c-9/audit":
		_ = json.NewEncoder(w).Encode(map[string]any{"entries": []apiclient.AuditEntry{{At: now, Actor: "off1", Action: "read", Outcome: "allowed"}}})
	case "/v1/cases/c-9/assignees":
		_ = json.NewEncoder(w).Encode(map[string]any{"assignees": []apiclient.Assignee{{ID: "res9", Name: "Ana Ruiz", Role: "resolver"}}})
	default:
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/cases/c-9/") {
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "c-9"})
			return
		}
		problem(http.StatusNotFound)
	}
}

// logBuffer collects the portal's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type env struct {
	t        *testing.T
	srv      *httptest.Server
	api      *fakeAPI
	sessions *session.Manager
	store    *session.MemoryStore
	logs     *logBuffer
	clock    *atomic.Int64 // added to time.Now, in nanoseconds
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, api: &fakeAPI{}, store: session.NewMemoryStore(), logs: &logBuffer{}, clock: &atomic.Int64{}}
	apiSrv := httptest.NewServer(e.api)
	t.Cleanup(apiSrv.Close)
	now := func() time.Time { return time.Now().Add(time.Duration(e.clock.Load())) }
	ring, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	hasher, _ := crypto.NewHasher(secret)
	e.sessions, err = session.New(session.Options{Store: e.store, Sealer: ring, Hasher: hasher, Idle: 15 * time.Minute, Max: 8 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	api, _ := apiclient.New(apiSrv.URL, 5*time.Second)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	var h *web.Handler
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	public, _ := url.Parse(e.srv.URL)
	h, err = web.New(web.Options{API: api, Sessions: e.sessions, Catalog: cat, Forms: web.NewForms(hasher, time.Hour),
		Sealer: ring, Hasher: hasher, PublicURL: public, Logger: slog.New(slog.NewJSONHandler(e.logs, nil)), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	h.Mount(func(p string, hh http.Handler) { mux.Handle(p, hh) })
	return e
}

// browser is a cookie-keeping client that does not follow redirects, so
// every response (and its Set-Cookie and Location) is seen.
type browser struct {
	e      *env
	c      *http.Client
	seen   []*http.Response
	bodies []string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.e.t.Helper()
	if req.Method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.seen = append(b.seen, resp)
	b.bodies = append(b.bodies, string(body))
	return resp, string(body)
}

func (b *browser) get(path string, header ...string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the n-th form token of a page.
func token(t *testing.T, body string, n int) string {
	t.Helper()
	m := csrfField.FindAllStringSubmatch(body, -1)
	if len(m) <= n {
		t.Fatalf("page has %d form tokens, want more than %d", len(m), n)
	}
	return m[n][1]
}

// formToken is the token of the page's form that posts to action.
func formToken(t *testing.T, body, action string) string {
	t.Helper()
	m := regexp.MustCompile(`action="` + regexp.QuoteMeta(action) + `"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page has no form posting to %s", action)
	}
	return m[1]
}

func reportForm(tok string) url.Values {
	return url.Values{"csrf": {tok}, "mode": {"anonymous"}, "category": {"racism"}, "narrative": {narrative},
		"occurred_date": {"2026-11-20"}, "department": {"med"}, "site": {"north"}, "desired_outcome": {"informal_support"},
		"involved_role_0": {"attending"}, "involved_name_0": {"Dr NAME-CANARY"}}
}

func checkHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows inline code: %q", what, csp)
	}
	for k, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if h.Get(k) != v {
			t.Errorf("%s: %s = %q, want %q", what, k, h.Get(k), v)
		}
	}
}

func TestEveryPageSendsTheSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, p := range []string{"/", "/?lang=es", "/guidance", "/guidance/med", "/guidance?department=bad%20code", "/report", "/report?mode=anonymous",
		"/report?mode=named", "/report/receipt", "/inbox", "/my/cases", "/my/cases/c-1", "/auth/login", "/guidance/%3Cx%3E",
		"/admin/guidance", "/admin/policies/med", "/admin/nothing", "/cases", "/patterns"} {
		resp, _ := b.get(p)
		checkHeaders(t, "GET "+p, resp)
	}
	_, page := b.get("/report?mode=anonymous")
	resp, _ := b.post("/report/receipt", reportForm(token(t, page, 0)))
	checkHeaders(t, "POST /report/receipt", resp)
	resp, _ = b.post("/inbox", url.Values{})
	checkHeaders(t, "POST /inbox without a token", resp)
	if got := resp.StatusCode; got != http.StatusForbidden {
		t.Fatalf("POST /inbox without a token: %d", got)
	}
}

func TestFormPostsWithoutTheirTokenAreRejectedAndDoNothing(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, page := b.get("/report?mode=anonymous")
	good := token(t, page, 0)
	_, inboxPage := b.get("/inbox")
	inboxTok := token(t, inboxPage, 0)
	for _, tc := range []struct {
		name, path string
		form       url.Values
	}{
		{"report without token", "/report/receipt", func() url.Values { f := reportForm(""); f.Del("csrf"); return f }()},
		{"report with a forged token", "/report/receipt", reportForm("AAAA.zzzz.BBBB")},
		{"report with another form's token", "/report/receipt", reportForm(inboxTok)},
		{"receipt download without token", "/report/receipt/download", url.Values{"case_key": {testKey}, "secret": {testSecret}}},
		{"inbox without token", "/inbox", url.Values{"case_key": {testKey}, "secret": {testSecret}}},
		{"logout without token", "/auth/logout", url.Values{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := b.post(tc.path, tc.form)
			if tc.path == "/auth/logout" {
				// Not signed in: nothing to end, nothing done.
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("logout: %d", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form could not be accepted") {
				t.Fatalf("status %d, body lacks the explanation", resp.StatusCode)
			}
		})
	}
	if n := e.api.reports.Load(); n != 0 {
		t.Fatalf("%d reports reached the API", n)
	}
	// A post from another site is refused before its token is even read.
	form := reportForm(good)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/report/receipt", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || e.api.reports.Load() != 0 {
		t.Fatalf("cross-site post: %d, reports %d", resp.StatusCode, e.api.reports.Load())
	}
}

func TestAnonymousReporterGetsNoCookieUntilTheInboxAndTheSecretStaysOutOfURLsAndLogs(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/", "Accept-Language", "es-MX,es;q=0.9")
	b.get("/?lang=es")
	b.get("/guidance")
	b.get("/guidance?department=med")
	b.get("/guidance/med?lang=es")
	b.get("/report")
	_, page := b.get("/report?mode=anonymous&lang=es")
	tok := token(t, page, 0)
	resp, receipt := b.post("/report/receipt", reportForm(tok))
	if resp.StatusCode != http.StatusOK || !strings.Contains(receipt, testSecret) || !strings.Contains(receipt, testKey) {
		t.Fatalf("receipt: %d", resp.StatusCode)
	}
	// Sending the same rendered form again is the same API request.
	b.post("/report/receipt", reportForm(tok))
	dl, file := b.post("/report/receipt/download", url.Values{"csrf": {token(t, receipt, 0)}, "case_key": {testKey}, "secret": {testSecret}})
	if !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(file, testSecret) {
		t.Fatalf("download: %q", dl.Header.Get("Content-Disposition"))
	}
	for i, r := range b.seen {
		if c := r.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Fatalf("response %d (%s %s) set a cookie before the inbox: %v", i, r.Request.Method, r.Request.URL.Path, c)
		}
	}
	e.api.mu.Lock()
	keys := append([]string(nil), e.api.idempotency...)
	e.api.mu.Unlock()
	if len(keys) != 2 || keys[0] != keys[1] || keys[0] == "" {
		t.Fatalf("a double submit must send one Idempotency-Key twice, got %q", keys)
	}

	// Opening the inbox is the first cookie: sealed, scoped, HttpOnly.
	_, open := b.get("/inbox")
	resp, _ = b.post("/inbox", url.Values{"csrf": {token(t, open, 0)}, "case_key": {testKey}, "secret": {testSecret}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox" {
		t.Fatalf("open inbox: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].Path != "/inbox" || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("inbox cookie: %+v", cookies)
	}
	if strings.Contains(cookies[0].Value, testSecret) || strings.Contains(cookies[0].Value, testKey) {
		t.Fatal("the inbox cookie carries the key or secret in clear")
	}
	_, inbox := b.get("/inbox")
	if !strings.Contains(inbox, "We received it.") {
		t.Fatal("the open inbox does not show the conversation")
	}
	resp, _ = b.post("/inbox/messages", url.Values{"csrf": {formToken(t, inbox, "/inbox/messages")}, "text": {"MESSAGE-CANARY"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("message: %d", resp.StatusCode)
	}
	for _, r := range b.seen {
		for _, s := range []string{r.Request.URL.String(), r.Header.Get("Location")} {
			if strings.Contains(s, testSecret) || strings.Contains(s, testKey) {
				t.Fatalf("a URL carries the credentials: %s", s)
			}
		}
	}
	logs := e.logs.String()
	for _, canary := range []string{testSecret, testKey, narrative, "NAME-CANARY", "MESSAGE-CANARY"} {
		if strings.Contains(logs, canary) {
			t.Fatalf("the portal logged %q", canary)
		}
	}
	// Idle: the inbox closes itself.
	e.clock.Add(int64(16 * time.Minute))
	_, after := b.get("/inbox")
	if !strings.Contains(after, `name="secret"`) || strings.Contains(after, "We received it.") {
		t.Fatal("the inbox is still open after the idle timeout")
	}
}

func TestAPIFieldErrorsAreShownNextToTheirFieldsInTheReportersLanguage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, page := b.get("/report?mode=anonymous&lang=es")
	form := reportForm(token(t, page, 0))
	form.Set("narrative", "    ")
	form.Set("occurred_date", "")
	form.Set("lang", "es")
	// Every missing answer is reported at once, by the portal itself.
	_, local := b.post("/report/receipt", form)
	for _, id := range []string{"narrative", "occurred_date"} {
		if !strings.Contains(local, `href="#`+id+`"`) {
			t.Errorf("the error summary lacks %s", id)
		}
	}
	form = reportForm(token(t, local, 0))
	form.Set("narrative", "API-REJECT")
	form.Set("lang", "es")
	form.Set("witnesses", "WITNESS-KEPT")
	resp, body := b.post("/report/receipt", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`<html lang="es"`, `role="alert"`, "Rellene este campo", "Elija una función de la lista",
		`id="narrative" name="narrative" rows="10" required aria-describedby="narrative-hint narrative-error" aria-invalid="true"`,
		`id="involved_role_0" name="involved_role_0" aria-invalid="true" aria-describedby="involved_role_0-error"`,
		"WITNESS-KEPT", "Dr NAME-CANARY", `href="#narrative"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the re-rendered form lacks %q", want)
		}
	}
}

func TestSignedInSessionEndsWhenIdleAndOnLogout(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	start := func() {
		rec := httptest.NewRecorder()
		if err := e.sessions.Start(t.Context(), rec, session.Data{Subject: "dev-resident", Name: "Mei Chen", AccessToken: "access-token",
			TokenExpiry: time.Now().Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(e.srv.URL)
		b.c.Jar.SetCookies(u, rec.Result().Cookies())
	}
	start()
	if resp, body := b.get("/my/cases"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Mei Chen") {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	e.clock.Add(int64(16 * time.Minute))
	if resp, _ := b.get("/my/cases"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
		t.Fatalf("after the idle timeout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	start()
	_, page := b.get("/my/cases")
	resp, _ := b.post("/auth/logout", url.Values{"csrf": {token(t, page, 0)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if c := resp.Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("logout must delete the session cookie: %+v", c)
	}
	if resp, _ := b.get("/my/cases"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}
}

func TestTheAnonymousCallerIsForwardedForTheAPIsLimits(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, page := b.get("/report?mode=anonymous")
	b.post("/report/receipt", reportForm(token(t, page, 0)))
	e.api.mu.Lock()
	defer e.api.mu.Unlock()
	if len(e.api.forwarded) == 0 || e.api.forwarded[0] != "127.0.0.1" {
		t.Fatalf("X-Forwarded-For sent to the API: %q", e.api.forwarded)
	}
}

// TestEveryMessageKeyExistsInEveryLanguage holds the catalogs to each
// other, and every key the templates and handlers use to the catalog.
func TestEveryMessageKeyExistsInEveryLanguage(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	base := cat.Keys(i18n.Languages[0])
	for _, l := range i18n.Languages[1:] {
		other := cat.Keys(l)
		if strings.Join(base, "\n") != strings.Join(other, "\n") {
			missing := map[string]bool{}
			for _, k := range base {
				missing[k] = true
			}
			for _, k := range other {
				delete(missing, k)
			}
			t.Errorf("%s differs from %s; missing in %s: %v", l, i18n.Languages[0], l, missing)
		}
	}
	used := map[string]bool{}
	literal := regexp.MustCompile(`\.T "([a-z0-9_.]+)"|\.T\("([a-z0-9_.]+)"|errorPage\([^"]*"([a-z0-9_.]+)", "([a-z0-9_.]+)"\)`)
	for _, dir := range []string{"templates", "."} {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if en.IsDir() || strings.HasSuffix(en.Name(), "_test.go") {
				continue
			}
			b, _ := os.ReadFile(dir + "/" + en.Name())
			for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
				for _, k := range m[1:] {
					if k != "" && !strings.HasSuffix(k, ".") { // a prefix joined at run time
						used[k] = true
					}
				}
			}
		}
	}
	families := map[string][]string{
		"category.":         {"racism", "microaggression", "discrimination", "harassment", "bias_in_patient_care", "exclusion", "retaliation", "other"},
		"role.":             {"patient", "attending", "resident", "nurse", "staff", "visitor", "unknown"},
		"outcome_choice.":   {"record_only", "informal_support", "formal_resolution", "record_only.help", "informal_support.help", "formal_resolution.help"},
		"stage.":            {"submitted", "triaged", "assigned", "acknowledged", "in_progress", "resolved", "closed", "unknown"},
		"field.":            {"mode", "category", "narrative", "occurred_date", "department", "site", "witnesses", "desired_outcome", "involved_role_0", "involved_name_2"},
		"lang.":             i18n.Languages,
		"severity.":         {"low", "medium", "high", "critical"},
		"resolution.":       {"substantiated", "not_substantiated", "resolved_informally", "withdrawn"},
		"reopen.":           {"new_information", "retaliation_reported", "reporter_request"},
		"escalation.":       {"open", "acknowledged", "closed", "ended"},
		"queue.sort.":       {"opened", "-opened", "due"},
		"promise.":          {"acknowledgment", "feedback"},
		"policy.condition.": {"if_not_acknowledged", "if_not_resolved"},
		"unit.":             {"seconds", "minutes", "hours", "days", "months", "business_hours", "business_days"},
		"weekday.":          {"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		"admin.guidance.":   {"title", "lead", "published", "document", "hint", "publish.hint", "readonly"},
		"admin.policies.":   {"title", "lead", "published", "document", "hint", "publish.hint", "readonly"},
		"patterns.dim.":     {"department", "category", "role", "week"},
		"workspace.":        {"acknowledge", "start", "close", "acknowledge.hint", "start.hint", "close.hint"},
		"workspace.done.":   {"triage", "assign", "acknowledge", "start", "resolve", "close", "reopen", "recuse", "notes", "messages", "legal-hold"},
	}
	for prefix, names := range families {
		for _, n := range names {
			used[prefix+n] = true
		}
	}
	for k := range used {
		for _, l := range i18n.Languages {
			if !cat.For(l, false, nil).Has(k) {
				t.Errorf("key %q is used but missing in %s", k, l)
			}
		}
	}
}

func TestSignInReturnsOnlyToThisSite(t *testing.T) {
	for next, want := range map[string]string{
		"/report?mode=named": "/report?mode=named", "": "/my/cases", "https://evil.example/": "/my/cases",
		"//evil.example": "/my/cases", "/\\evil.example": "/my/cases", "/\t/evil.example": "/my/cases", "/\n/evil": "/my/cases",
	} {
		if got := web.SafeNext(next); got != want {
			t.Errorf("next %q goes to %q, want %q", next, got, want)
		}
	}
}

func TestAnonymousReporterAnswersACheckin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, open := b.get("/inbox")
	b.post("/inbox", url.Values{"csrf": {token(t, open, 0)}, "case_key": {testKey}, "secret": {testSecret}})
	_, inbox := b.get("/inbox?lang=es")
	if !strings.Contains(inbox, "Seguimiento 1 de 3") || !strings.Contains(inbox, `action="/inbox/checkins/1"`) {
		t.Fatal("the pending check-in is not offered")
	}
	resp, _ := b.post("/inbox/checkins/1", url.Values{"csrf": {formToken(t, inbox, "/inbox/checkins/1")}, "retaliation": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d", resp.StatusCode)
	}
	e.api.mu.Lock()
	defer e.api.mu.Unlock()
	last := len(e.api.calls) - 1
	if e.api.calls[last] != "POST /v1/anonymous/case/checkins/1" || !strings.Contains(e.api.bodies[last], `"retaliation":true`) {
		t.Fatalf("the API got %s %s", e.api.calls[last], e.api.bodies[last])
	}
}

func TestReportersSeeTheDeadlineTheirDepartmentPromises(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, open := b.get("/inbox")
	b.post("/inbox", url.Values{"csrf": {token(t, open, 0)}, "case_key": {testKey}, "secret": {testSecret}})
	for lang, want := range map[string]string{"en": "Acknowledgment due by</dt><dd><time datetime=\"2026-12-09", "es": "Acuse de recibo a más tardar el</dt><dd><time datetime=\"2026-12-09"} {
		_, inbox := b.get("/inbox?lang=" + lang)
		if !strings.Contains(inbox, want) || !strings.Contains(inbox, map[string]string{"en": "December 9, 2026", "es": "9 de diciembre de 2026"}[lang]) {
			t.Errorf("%s inbox does not promise the acknowledgment by 9 December 2026", lang)
		}
	}
	rec := httptest.NewRecorder()
	if err := e.sessions.Start(t.Context(), rec, session.Data{Subject: "dev-resident", Name: "Mei Chen", AccessToken: "access-token",
		TokenExpiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.srv.URL)
	b.c.Jar.SetCookies(u, rec.Result().Cookies())
	_, mine := b.get("/my/cases")
	if !strings.Contains(mine, "Feedback due by") || !strings.Contains(mine, `class="late"`) {
		t.Error("my reports does not show the broken feedback promise")
	}
}
