package app_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/testkit"
)

// TestEventSourceIsTheSameInEveryDeploymentMode runs one process with
// every target and one with resolution alone, on one installation. The
// events both publish carry the owner's source — /<installation>/resolution
// or /<installation>/platform — whichever process sent them.
func TestEventSourceIsTheSameInEveryDeploymentMode(t *testing.T) {
	ns := testkit.NATS(t)
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	rd := testkit.Redis(t)
	t.Setenv("DEIOPS_INSTALLATION", "st-example")
	cfg, dev := testConfig(t, ns.URL(), ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), rd.URL)

	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	sources := map[string]map[string]bool{} // CloudEvents type -> sources seen
	count := map[string]int{}
	for _, filter := range []string{events.PublicPrefix + ".>", events.InternalPrefix + ".>"} {
		if _, err := nc.Subscribe(filter, func(m *nats.Msg) {
			if strings.HasPrefix(m.Reply, "$JS.ACK.") {
				return // a delivery to a consumer, not a publication
			}
			mu.Lock()
			defer mu.Unlock()
			typ := m.Header.Get(events.HeaderType)
			if sources[typ] == nil {
				sources[typ] = map[string]bool{}
			}
			sources[typ][m.Header.Get(events.HeaderSource)] = true
			count[typ]++
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	all := cfg
	all.Target = "all"
	one := cfg
	one.Target = "resolution"
	pAll, pOne := start(t, all, dev), start(t, one, dev)
	aAll, aOne := api{t: t, base: pAll.base, dev: dev}, api{t: t, base: pOne.base, dev: dev}
	importHospital(t, aAll)
	// Each process publishes a resolution event (a report) and a platform
	// one (the audit of a refused request).
	for _, a := range []api{aAll, aOne} {
		must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("source"))
		if code, body := a.call(http.MethodGet, "/v1/directory/people/att", a.token("res2", "resident"), nil); code != http.StatusForbidden {
			t.Fatalf("a resident reading the directory: %d %s, want 403", code, body)
		}
	}

	submitted := "org.deiops.resolution.report.submitted.v1"
	denied := "org.deiops.platform.access.denied.v1"
	testkit.Eventually(t, 30*time.Second, "a report and a denial from each process", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return count[submitted] >= 2 && count[denied] >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	for typ, seen := range sources {
		want := "/st-example/resolution"
		switch {
		case strings.HasPrefix(typ, "org.deiops.directory."), strings.HasPrefix(typ, "org.deiops.platform."):
			want = "/st-example/platform"
		case !strings.HasPrefix(typ, "org.deiops.resolution."):
			continue // other services' events, published by the all-targets process only
		}
		if len(seen) != 1 || !seen[want] {
			t.Errorf("%s published with sources %v, want only %s", typ, seen, want)
		}
	}
}
