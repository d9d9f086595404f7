package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/audit"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution/ports"
)

// slowPolicy never escalates during a test, so who is on a case is
// exactly who the test puts there.
func slowPolicy() map[string]any {
	p := fastPolicy()
	for _, lv := range p["levels"].([]map[string]any) {
		lv["delay"] = map[string]any{"amount": 30, "unit": "days"}
	}
	return p
}

// TestResolutionAuthorizationMatrix checks every case endpoint against
// every kind of caller: deny by default, people with a conflict of
// interest denied whatever their roles, and every denial of an
// authenticated caller on a case recorded in its audit trail.
func TestResolutionAuthorizationMatrix(t *testing.T) {
	in, cfg, dev := newInfra(t)
	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	officer := a.token("off1", "dei_officer")
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, slowPolicy())

	// A named report by res1 naming att; an anonymous one for the key+secret rows.
	named := anonymousReport("matrix")
	named["anonymous"] = false
	reporter := a.token("res1", "resident")
	rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", reporter, named)
	anon := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("matrix"))
	base := "/v1/cases/" + rc.CaseID
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/triage", officer, map[string]any{"category": "racism", "severity": "medium", "route": "med"})
	must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/assign", officer, map[string]any{"assignee_id": "hres"})

	type caller struct {
		name  string
		token string
		hdr   []string
	}
	callers := []caller{
		{"no token", "", nil},
		{"anonymous right secret", "", []string{ports.HeaderCaseKey, anon.CaseKey, ports.HeaderCaseSecret, anon.Secret}},
		{"anonymous wrong secret", "", []string{ports.HeaderCaseKey, anon.CaseKey, ports.HeaderCaseSecret, "nope"}},
		{"named reporter", reporter, nil},
		{"another resident", a.token("res2", "resident"), nil},
		{"assigned resolver", a.token("hres", "resolver"), nil},
		{"unassigned resolver", a.token("hres2", "resolver"), nil},
		{"dei officer", officer, nil},
		{"department lead", a.token("lead", "department_lead"), nil},
		{"named person", a.token("att", "attending", "dei_officer"), nil},
		{"named person's supervisor", a.token("chief", "attending", "dei_officer", "resolver"), nil},
		{"integrator", a.token("svc-hr", "integrator"), nil},
		{"admin", a.token("ops", "admin"), nil},
	}
	type endpoint struct {
		method, path string
		body         any
		want         map[string]int // by caller name; missing means the default
		def          int
	}
	text := map[string]any{"text": "matrix"}
	endpoints := []endpoint{
		{http.MethodGet, base, nil, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "assigned resolver": 200, "dei officer": 200}, 404},
		{http.MethodGet, base + "/notes", nil, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "assigned resolver": 200, "dei officer": 200}, 404},
		{http.MethodPost, base + "/notes", text, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "assigned resolver": 200, "dei officer": 200}, 404},
		{http.MethodPost, base + "/messages", text, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "assigned resolver": 200, "dei officer": 200}, 404},
		{http.MethodPost, base + "/triage", map[string]any{"category": "racism", "severity": "low", "route": "x"}, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "assigned resolver": 403, "dei officer": 409}, 404},
		{http.MethodPut, base + "/legal-hold", map[string]any{"on": false}, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "assigned resolver": 403, "dei officer": 200}, 404},
		{http.MethodPost, base + "/close", nil, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "assigned resolver": 409, "dei officer": 409}, 404},
		{http.MethodGet, base + "/audit", nil, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "dei officer": 200, "named person": 404, "named person's supervisor": 404}, 403},
		{http.MethodGet, "/v1/my/cases/" + rc.CaseID, nil, map[string]int{"no token": 401, "anonymous right secret": 401, "anonymous wrong secret": 401, "named reporter": 200}, 404},
	}
	for _, e := range endpoints {
		for _, c := range callers {
			want, ok := e.want[c.name]
			if !ok {
				want = e.def
			}
			t.Run(fmt.Sprintf("%s %s as %s", e.method, e.path, c.name), func(t *testing.T) {
				code, body := a.call(e.method, e.path, c.token, e.body, c.hdr...)
				if code != want {
					t.Errorf("status %d, want %d: %s", code, want, body)
				}
			})
		}
	}

	// Anonymous access: any caller without the right key and secret gets
	// the same 401; after MaxFailedGuesses failures the client is blocked,
	// even with the right secret, and told when to come back.
	right := []string{ports.HeaderCaseKey, anon.CaseKey, ports.HeaderCaseSecret, anon.Secret}
	must[map[string]any](a, http.StatusOK, http.MethodGet, "/v1/anonymous/case", "", nil, right...)
	for i := range ports.MaxFailedGuesses {
		c := callers[i%len(callers)]
		hdr := c.hdr
		if c.name == "anonymous right secret" {
			hdr = []string{ports.HeaderCaseKey, "AAAA-BBBB-CCCC", ports.HeaderCaseSecret, anon.Secret}
		}
		if code, body := a.call(http.MethodGet, "/v1/anonymous/case", c.token, nil, hdr...); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d as %s: %d %s", i+1, c.name, code, body)
		}
	}
	if code, body := a.call(http.MethodGet, "/v1/anonymous/case", "", nil, right...); code != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d %s", ports.MaxFailedGuesses, code, body)
	}

	// Every authenticated caller refused on the case is in its audit trail.
	type trail struct {
		Entries []struct{ Actor, Action, Outcome string } `json:"entries"`
	}
	tr := must[trail](a, http.StatusOK, http.MethodGet, base+"/audit", officer, nil)
	for _, who := range []string{"res2", "hres2", "lead", "att", "chief", "svc-hr", "ops", "res1"} {
		if !slices.ContainsFunc(tr.Entries, func(e struct{ Actor, Action, Outcome string }) bool {
			return e.Actor == who && e.Outcome == "denied"
		}) {
			t.Errorf("no denial of %s in the audit trail", who)
		}
	}
	// Role denials (403 before the case is looked at) are platform audit events.
	_, js := testkit.Connect(t, in.nats.URL())
	spec := audit.AccessDenied{}.EventSpec()
	testkit.Eventually(t, 10*time.Second, "access.denied events", func() bool {
		s, err := js.Stream(t.Context(), spec.Stream())
		if err != nil {
			return false
		}
		info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(spec.Subject()))
		return err == nil && info.State.Msgs > 0
	})
}
