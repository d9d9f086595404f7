package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/probe"
	"github.com/deiops/deiops/pkg/testkit"
)

// syncBuffer lets the test read what the tail goroutine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEventsTailPrintsPublicEventsOnly(t *testing.T) {
	srv := testkit.NATS(t)
	t.Setenv("DEIOPS_NATS_URL", srv.URL())
	b, err := bus.Connect(context.Background(), bus.Options{Source: "deiops/test", NATS: config.NATS{URL: srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	cat, _ := events.NewCatalog(append(directory.Events(), probe.Events()...)...)
	if err := b.Provision(context.Background(), cat); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- cmdTail(ctx, nil, out) }()
	testkit.Eventually(t, 10*time.Second, "tail subscribed", func() bool { return strings.Contains(out.String(), "tailing dei.>") })

	// Internal traffic first: the default filter must not show it.
	if _, err := b.Publish(context.Background(), probe.Requested{ProbeID: "x"}, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(context.Background(), directory.PersonUpdated{PersonID: "p-42", Change: "created"}, "p-42"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the event printed", func() bool {
		return strings.Contains(out.String(), "org.deiops.directory.person.updated.v1")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "probe.requested") {
		t.Errorf("the default filter showed internal traffic:\n%s", got)
	}
	for _, want := range []string{"dei.directory.person.updated", `"person_id": "p-42"`, "subject: p-42"} {
		if !strings.Contains(got, want) {
			t.Errorf("tail output lacks %q:\n%s", want, got)
		}
	}
}
