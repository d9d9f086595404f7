package app_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution/ports"
)

// TestRetentionDeletesClosedCasesUnlessHeld closes two cases with a
// one-second retention, one under legal hold: the other is deleted for
// good — no record, no earlier revision in the bucket's stream, no key —
// and the held one stays.
func TestRetentionDeletesClosedCasesUnlessHeld(t *testing.T) {
	t.Setenv("DEIOPS_RESOLUTION_RETENTION", "1s")
	t.Setenv("DEIOPS_RESOLUTION_RETENTION_SWEEP", "500ms")
	in, cfg, dev := newInfra(t)
	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	officer := a.token("off1", "dei_officer")
	hres := a.token("hres", "resolver")
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, slowPolicy())

	closeCase := func(label string) receipt {
		rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport(label))
		base := "/v1/cases/" + rc.CaseID
		must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/triage", officer, map[string]any{"category": "racism", "severity": "low", "route": "med"})
		must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/assign", officer, map[string]any{"assignee_id": "hres"})
		for _, step := range []string{"acknowledge", "start"} {
			must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/"+step, hres, nil)
		}
		must[map[string]any](a, http.StatusOK, http.MethodPost, base+"/resolve", hres, map[string]any{"outcome": "resolved_informally"})
		return rc
	}
	held := closeCase("held")
	must[map[string]any](a, http.StatusOK, http.MethodPut, "/v1/cases/"+held.CaseID+"/legal-hold", officer, map[string]any{"on": true})
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/cases/"+held.CaseID+"/close", officer, nil)
	gone := closeCase("gone")
	must[map[string]any](a, http.StatusOK, http.MethodPost, "/v1/cases/"+gone.CaseID+"/close", officer, nil)

	testkit.Eventually(t, 30*time.Second, "closed case deleted", func() bool {
		code, _ := a.call(http.MethodGet, "/v1/cases/"+gone.CaseID, officer, nil)
		return code == http.StatusNotFound
	})
	if code, body := a.call(http.MethodGet, "/v1/cases/"+held.CaseID, officer, nil); code != http.StatusOK {
		t.Fatalf("held case: %d %s", code, body)
	}
	if code, _ := a.call(http.MethodGet, "/v1/anonymous/case", "", nil, ports.HeaderCaseKey, gone.CaseKey, ports.HeaderCaseSecret, gone.Secret); code != http.StatusUnauthorized {
		t.Errorf("the deleted case's key still opens something: %d", code)
	}
	// No revision of the deleted case is left in the bucket's stream.
	_, js := testkit.Connect(t, in.nats.URL())
	kv, err := js.KeyValue(context.Background(), "resolution_cases")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := kv.History(context.Background(), gone.CaseID)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatal(err)
	}
	for _, e := range hist {
		if e.Operation() == jetstream.KeyValuePut {
			t.Errorf("revision %d of the deleted case is still stored", e.Revision())
		}
	}
	if strings.Contains(p.logs.String(), "retention sweep") {
		t.Errorf("retention sweep reported errors: %s", p.logs.String())
	}
}
