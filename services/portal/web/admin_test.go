package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/services/portal/apiclient"
)

const euTemplate = `{"id":"","version":0,"department":"","calendar":{"time_zone":"Europe/Brussels","workdays":["mon","tue","wed","thu","fri"],"start":"09:00","end":"17:00"},` +
	`"levels":[{"name":"acknowledgment-reminder","targets":[{"kind":"role","role":"resolver"}],"delay":{"amount":7,"unit":"days"},"condition":"if_not_acknowledged"},` +
	`{"name":"feedback-overdue","targets":[{"kind":"role","role":"dei_officer"}],"delay":{"amount":3,"unit":"months"},"from":"acknowledgment","condition":"if_not_resolved","repeat":4,"repeat_every":{"amount":7,"unit":"days"}}],` +
	`"checkins":{}}`

// docsAPI answers the versioned-document routes for guidance and
// policies: the officer publishes and previews; a department lead reads
// policies; a draft whose levels are empty is invalid.
func (f *fakeAPI) docsAPI(w http.ResponseWriter, r *http.Request, problem func(int, ...apiclient.FieldError)) {
	tok := r.Header.Get("Authorization")
	if tok != "Bearer "+officerToken && !(tok == "Bearer lead-token" && r.Method == http.MethodGet) {
		problem(http.StatusForbidden)
		return
	}
	if r.URL.Path == "/v1/escalation-policies/templates" {
		_, _ = w.Write([]byte(`{"templates":[{"name":"eu_directive_2019_1937","title":"EU Directive 2019/1937","policy":` + euTemplate + `}]}`))
		return
	}
	base, field := "/v1/guidance/", "guidance"
	if strings.HasPrefix(r.URL.Path, "/v1/escalation-policies/") {
		base, field = "/v1/escalation-policies/", "policy"
	}
	dept, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, base), "/")
	key := base + dept
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.docs == nil {
		f.docs = map[string][]json.RawMessage{}
	}
	answer := func(status, version int, doc json.RawMessage) {
		scope := dept
		if version == 0 && r.Method == http.MethodGet {
			scope = "builtin"
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"department": dept, "version": version, "source_scope": scope,
			"published_at": time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "published_by": "off1", field: doc})
	}
	versions := f.docs[key]
	switch {
	case r.Method == http.MethodGet && rest == "":
		if len(versions) == 0 {
			builtin := json.RawMessage(euTemplate)
			if field == "guidance" {
				builtin = json.RawMessage(`{"title":"If you meet racism","steps":[{"title":"Stay safe"}],"contacts":[{"role":"dei_officer"}],"options":[{"code":"formal_resolution","description":"A formal process"}]}`)
			}
			answer(http.StatusOK, 0, builtin)
			return
		}
		answer(http.StatusOK, len(versions), versions[len(versions)-1])
	case r.Method == http.MethodGet && rest == "versions":
		list := []map[string]any{}
		for i := range versions {
			list = append(list, map[string]any{"version": i + 1, "published_at": time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "published_by": "off1"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"department": dept, "versions": list})
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "versions/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(rest, "versions/"))
		if n < 1 || n > len(versions) {
			problem(http.StatusNotFound)
			return
		}
		answer(http.StatusOK, n, versions[n-1])
	case r.Method == http.MethodPost && rest == "preview" || r.Method == http.MethodPut && rest == "":
		var doc map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			problem(http.StatusBadRequest)
			return
		}
		if string(doc["levels"]) == "[]" {
			problem(http.StatusUnprocessableEntity, apiclient.FieldError{Field: "levels", Reason: "at least one level is required"})
			return
		}
		body, _ := json.Marshal(doc)
		if r.Method == http.MethodPost {
			answer(http.StatusOK, 0, body)
			return
		}
		f.docs[key] = append(versions, body)
		answer(http.StatusCreated, len(versions)+1, body)
	default:
		problem(http.StatusNotFound)
	}
}

func TestOfficersPreviewAndPublishAPolicyFromATemplate(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if resp, _ := b.get("/admin/policies/med"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the editor without a session: %d, want the sign-in", resp.StatusCode)
	}
	e.signIn(b, "off1", officerToken, "dei_officer")
	resp, page := b.get("/admin/policies")
	checkHeaders(t, "/admin/policies", resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="/admin/guidance"`) {
		t.Fatalf("the chooser: %d, or the menu offers no guidance editor to a DEI officer", resp.StatusCode)
	}
	if resp, _ := b.get("/admin/policies?department=med"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/policies/med" {
		t.Fatalf("choosing a department: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.get("/admin/policies/med?start=template:eu_directive_2019_1937")
	checkHeaders(t, "/admin/policies/med", resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Nothing has been published yet") {
		t.Fatalf("editor: %d", resp.StatusCode)
	}
	draft := textarea(t, page)
	if strings.Contains(draft, `"id"`) || !strings.Contains(draft, `"acknowledgment-reminder"`) {
		t.Fatalf("the draft does not start from the template without the server's fields:\n%s", draft)
	}
	if !strings.Contains(page, "after 7 days from the report") || !strings.Contains(page, "Repeats 4 times, every 7 days") {
		t.Error("the preview does not spell the levels out")
	}
	tok := formToken(t, page, "/admin/policies/med")
	post := func(intent, doc, base string) (*http.Response, string) {
		return b.post("/admin/policies/med", url.Values{"csrf": {tok}, "intent": {intent}, "document": {doc}, "base": {base}, "start": {"template:eu_directive_2019_1937"}})
	}

	// Invalid JSON, then a draft the API refuses: each named, the draft kept, nothing published.
	resp, page = post("publish", "{\n  \"levels\": [,]\n}", "0")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "line 2, column") {
		t.Fatalf("invalid JSON: %d", resp.StatusCode)
	}
	resp, page = post("preview", `{"levels": []}`, "0")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "<code>levels</code>: at least one level is required") ||
		textarea(t, page) != `{"levels": []}` {
		t.Fatalf("refused draft: %d", resp.StatusCode)
	}
	resp, page = post("preview", draft, "0")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Preview: checked") {
		t.Fatalf("preview: %d", resp.StatusCode)
	}
	if len(e.api.docs["/v1/escalation-policies/med"]) != 0 {
		t.Fatal("a preview or a refused draft was published")
	}

	resp, _ = post("publish", draft, "0")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/policies/med?published=1#result" {
		t.Fatalf("publish: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The same form sent again finds version 1 in force and publishes nothing.
	resp, page = post("publish", draft, "0")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Version 1 was published while you edited") {
		t.Fatalf("a second publish of the same draft: %d", resp.StatusCode)
	}
	if n := len(e.api.docs["/v1/escalation-policies/med"]); n != 1 {
		t.Fatalf("%d versions published, want 1", n)
	}
	_, page = b.get("/admin/policies/med?published=1")
	if !strings.Contains(page, "Version 1 is published") || !strings.Contains(page, "start=version:1") {
		t.Fatal("the published version or its history is not shown")
	}
	if resp, _ := b.post("/admin/policies/med", url.Values{"intent": {"publish"}, "document": {draft}, "base": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("publish without the form token: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/admin/policies/med?start=version:9"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a version that does not exist: %d", resp.StatusCode)
	}
}

func TestGuidanceIsPreviewedAsStaffReadItAndOthersCannotPublish(t *testing.T) {
	e := newEnv(t)
	officer := e.browser()
	e.signIn(officer, "off1", officerToken, "dei_officer")
	_, page := officer.get("/admin/guidance/hospital?lang=es")
	if !strings.Contains(page, "Versión de todo el hospital") || !strings.Contains(page, "<h3>If you meet racism</h3>") || !strings.Contains(page, "Qué hacer") {
		t.Fatal("the guidance editor does not preview the guidance as it is read, in Spanish")
	}
	lead := e.browser()
	e.signIn(lead, "lead", "lead-token", "department_lead")
	resp, page := lead.get("/admin/policies/med")
	if resp.StatusCode != http.StatusOK || strings.Contains(page, "<textarea") || !strings.Contains(page, "You may read this policy") {
		t.Fatalf("a department lead reads the policy without an editor: %d", resp.StatusCode)
	}
	if strings.Contains(page, `<a href="/admin/guidance">`) {
		t.Error("the menu offers the editors to a department lead")
	}
	// The API refuses what the page did not offer.
	_, page = officer.get("/admin/policies/med")
	resp, _ = lead.post("/admin/policies/med", url.Values{"csrf": {formToken(t, page, "/admin/policies/med")}, "intent": {"publish"}, "document": {euTemplate}, "base": {"0"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a department lead posts an officer's form: %d, want 403", resp.StatusCode)
	}
	resident := e.browser()
	e.signIn(resident, "res1", "access-token", "resident")
	if resp, _ := resident.get("/admin/policies/med"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a resident opens the policy editor: %d, want 403", resp.StatusCode)
	}
}

var textareaRE = regexp.MustCompile(`(?s)<textarea id="document"[^>]*>(.*?)</textarea>`)

// textarea is the draft a page holds, unescaped.
func textarea(t *testing.T, page string) string {
	t.Helper()
	m := textareaRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no draft")
	}
	r := strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&", "&#39;", "'", "&#43;", "+")
	return r.Replace(m[1])
}
