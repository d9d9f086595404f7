package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/services/portal/session"
)

// signIn starts a portal session for b with the given API token and roles.
func (e *env) signIn(b *browser, subject, token string, roles ...string) {
	e.t.Helper()
	rec := httptest.NewRecorder()
	if err := e.sessions.Start(e.t.Context(), rec, session.Data{Subject: subject, Name: subject, Roles: roles, AccessToken: token,
		TokenExpiry: time.Now().Add(time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	u, _ := url.Parse(e.srv.URL)
	b.c.Jar.SetCookies(u, rec.Result().Cookies())
}

// calls are the API calls made since mark.
func (f *fakeAPI) since(mark int) ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls[mark:]), slices.Clone(f.bodies[mark:])
}

func (f *fakeAPI) mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func TestTheQueuePassesItsFiltersToTheAPIAndPagesWithItsCursor(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if resp, _ := b.get("/cases"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
		t.Fatalf("the queue without a session: %d %q, want the sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.signIn(b, "off1", officerToken, "dei_officer")
	mark := e.api.mark()
	resp, body := b.get("/cases?state=open&category=racism&department=med&overdue=true&sort=due")
	checkHeaders(t, "/cases", resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/cases/c-9"`) || !strings.Contains(body, "Overdue since") {
		t.Fatalf("queue: %d, case or its overdue clock missing", resp.StatusCode)
	}
	if !strings.Contains(body, `href="/cases"`) {
		t.Error("the menu does not offer the queue to a DEI officer")
	}
	if calls, _ := e.api.since(mark); !slices.Contains(calls, "GET /v1/cases") {
		t.Fatal("the queue did not call the API")
	}
	// The fake records paths only; the query is checked through the next link.
	next := regexpFind(body, `href="(/cases\?[^"]*after=CURSOR-1[^"]*)"`)
	if next == "" {
		t.Fatal("no next-page link carrying the API's cursor")
	}
	next = strings.ReplaceAll(next, "&amp;", "&")
	for _, want := range []string{"category=racism", "department=med", "overdue=true", "sort=due", "state=open"} {
		if !strings.Contains(next, want) {
			t.Errorf("the next link %q drops %s", next, want)
		}
	}
	if resp, body := b.get(next); resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/cases/c-10"`) || !strings.Contains(body, "First page") {
		t.Fatalf("second page: %d", resp.StatusCode)
	}
	// Someone on no case sees an empty queue and no menu entry.
	other := e.browser()
	e.signIn(other, "res1", "resident-token", "resident")
	if resp, body := other.get("/cases"); resp.StatusCode != http.StatusOK || strings.Contains(body, "c-9") || strings.Contains(body, `<a href="/cases">`) {
		t.Fatalf("a resident's queue: %d", resp.StatusCode)
	}
}

func TestTheWorkspaceOffersOnlyTheActionsTheAPIListsAndKeepsRestrictedTextToThoseOnTheCase(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.signIn(b, "off1", officerToken, "dei_officer")
	resp, page := b.get("/cases/c-9")
	checkHeaders(t, "/cases/c-9", resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("workspace: %d", resp.StatusCode)
	}
	for _, want := range []string{narrative, noteCanary, threadCanary, "Ana Ruiz", "cannot be read right now", "Audit trail"} {
		if !strings.Contains(page, want) {
			t.Errorf("the workspace lacks %q", want)
		}
	}
	for _, a := range []string{"triage", "assign", "notes", "messages", "legal-hold"} {
		if !strings.Contains(page, `action="/cases/c-9/act/`+a+`"`) {
			t.Errorf("no form for %s, which the API offers", a)
		}
	}
	for _, a := range []string{"acknowledge", "start", "resolve", "close", "reopen", "recuse"} {
		if strings.Contains(page, `action="/cases/c-9/act/`+a+`"`) {
			t.Errorf("a form for %s, which the API does not offer", a)
		}
	}

	// Without the token nothing reaches the API.
	mark := e.api.mark()
	if resp, _ := b.post("/cases/c-9/act/triage", url.Values{"category": {"racism"}, "severity": {"high"}, "route": {"med"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("triage without a token: %d, want 403", resp.StatusCode)
	}
	// A token of another case does not work either.
	tok := formToken(t, page, "/cases/c-9/act/triage")
	if resp, _ := b.post("/cases/c-10/act/triage", url.Values{"csrf": {tok}, "category": {"racism"}, "severity": {"high"}, "route": {"med"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("triage with another case's token: %d, want 403", resp.StatusCode)
	}
	if calls, _ := e.api.since(mark); slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "POST") }) {
		t.Fatalf("a refused form reached the API: %v", calls)
	}

	form := url.Values{"csrf": {tok}, "category": {"harassment"}, "severity": {"high"}, "route": {"med"}}
	resp, _ = b.post("/cases/c-9/act/triage", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/cases/c-9?done=triage") {
		t.Fatalf("triage: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.post("/cases/c-9/act/triage", form) // a double submit of the same form
	calls, bodies := e.api.since(mark)
	var sent []string
	for i, c := range calls {
		if c == "POST /v1/cases/c-9/triage" {
			sent = append(sent, bodies[i])
		}
	}
	if len(sent) != 2 || !strings.Contains(sent[0], `"category":"harassment"`) || !strings.Contains(sent[0], `"severity":"high"`) {
		t.Fatalf("triage bodies sent: %v", sent)
	}
	e.api.mu.Lock()
	keys := slices.Clone(e.api.idempotency)
	e.api.mu.Unlock()
	if n := len(keys); n < 2 || keys[n-1] != keys[n-2] {
		t.Fatalf("a double submit must reuse its Idempotency-Key: %v", keys)
	}

	// An empty note is refused next to its form, nothing sent.
	_, page = b.get("/cases/c-9")
	mark = e.api.mark()
	resp, body := b.post("/cases/c-9/act/notes", url.Values{"csrf": {formToken(t, page, "/cases/c-9/act/notes")}, "text": {"  "}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="notes-error"`) {
		t.Fatalf("empty note: %d", resp.StatusCode)
	}
	if calls, _ := e.api.since(mark); slices.Contains(calls, "POST /v1/cases/c-9/notes") {
		t.Fatal("an empty note reached the API")
	}

	// Someone not on the case gets the page-not-found and none of its text.
	other := e.browser()
	e.signIn(other, "res1", "resident-token", "resident")
	resp, body = other.get("/cases/c-9")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a resident opening the case: %d, want 404", resp.StatusCode)
	}
	for _, r := range append(other.bodies, body) {
		for _, canary := range []string{narrative, noteCanary, threadCanary, "Ana Ruiz"} {
			if strings.Contains(r, canary) {
				t.Fatalf("%q served to someone not on the case", canary)
			}
		}
	}
	for _, canary := range []string{narrative, noteCanary, threadCanary, "Ana Ruiz"} {
		if strings.Contains(e.logs.String(), canary) {
			t.Fatalf("%q in the portal's log", canary)
		}
	}
}

func regexpFind(s, re string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestThePatternsPageShowsOnlyWhatTheAPISuppressedAndDrawsItWithoutScript(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	e.signIn(b, "off1", officerToken, "dei_officer")
	resp, page := b.get("/patterns?rows=department&cols=category")
	checkHeaders(t, "/patterns", resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("patterns: %d", resp.StatusCode)
	}
	for _, want := range []string{"fewer than 5", "<svg", "subj-OPAQUE", `href="/cases/c-9"`, "significant rise", `href="/patterns"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the patterns page lacks %q", want)
		}
	}
	if n := strings.Count(page, "fewer than 5"); n < 6 {
		t.Errorf("%d cells read \"fewer than 5\", want every suppressed cell and the chart's withheld bar", n)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " on") && regexp.MustCompile(`<[^>]+ on[a-z]+=`).MatchString(page) {
		t.Error("the chart uses script")
	}
	// A resident is told the page is not theirs; nothing of the tables leaks.
	other := e.browser()
	e.signIn(other, "res1", "resident-token", "resident")
	resp, page = other.get("/patterns")
	if resp.StatusCode != http.StatusForbidden || strings.Contains(page, "subj-OPAQUE") || strings.Contains(page, `href="/patterns"`) {
		t.Fatalf("a resident on the patterns page: %d", resp.StatusCode)
	}
}
