package audit_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/audit"
	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/testkit"
)

func TestDeniedRequestsArePublished(t *testing.T) {
	srv := testkit.NATS(t)
	b, err := bus.Connect(context.Background(), bus.Options{NATS: config.NATS{URL: srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	cat, _ := events.NewCatalog(audit.Events()...)
	if err := b.Provision(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	got := make(chan audit.AccessDenied, 1)
	c := &bus.Consumer{Name: "audit-test"}
	bus.On(c, func(ctx context.Context, env events.Envelope, e audit.AccessDenied) error {
		got <- e
		return nil
	})
	r, err := b.Start(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())

	sink := audit.NewBusSink(b, slog.New(slog.DiscardHandler))
	sink.Record(context.Background(), auth.AuditRecord{Time: time.Now(), Actor: "anonymous", Action: "GET /v1/cases/{id}",
		Outcome: "denied", Reason: "token expired", Status: 401, RequestID: "r-1"})
	select {
	case e := <-got:
		if e.Action != "GET /v1/cases/{id}" || e.Reason != "token expired" || e.Status != 401 || e.Actor != "anonymous" {
			t.Fatalf("audit event %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no audit event")
	}
}
