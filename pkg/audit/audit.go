// Package audit records who did what, when, and with which outcome — never
// the content — as events on the bus, where the resolution service's audit
// trail and an integrator's SIEM can read them.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
)

// AccessDenied is published for every refused request.
type AccessDenied struct {
	Actor     string    `json:"actor" desc:"Subject of the caller, or anonymous when no valid token was presented"`
	Action    string    `json:"action" desc:"HTTP method and route pattern, e.g. GET /v1/cases/{id} (never the concrete path)"`
	Outcome   string    `json:"outcome" desc:"Always denied"`
	Reason    string    `json:"reason" desc:"Fixed short reason, e.g. token expired or missing role resolver"`
	Status    int       `json:"status" desc:"HTTP status answered (401 or 403)"`
	RequestID string    `json:"request_id,omitempty" desc:"X-Request-Id of the request"`
	TraceID   string    `json:"trace_id,omitempty" desc:"Trace of the request"`
	At        time.Time `json:"at" desc:"When the request was refused"`
}

func (AccessDenied) EventSpec() events.Spec {
	return events.Spec{Service: "platform", Platform: true, Entity: "access", Action: "denied", Version: 1, Internal: true,
		Summary: "A request was refused (authentication or authorization); who, what and why, never content."}
}

// Events lists the audit event types.
func Events() []events.Event { return []events.Event{AccessDenied{}} }

// BusSink publishes audit records and logs them. A publish failure is
// logged loudly rather than failing the (already refused) request.
type BusSink struct {
	bus *bus.Bus
	log *slog.Logger
}

// NewBusSink returns a sink publishing on b.
func NewBusSink(b *bus.Bus, log *slog.Logger) *BusSink { return &BusSink{bus: b, log: log} }

// Record implements auth.AuditSink.
func (s *BusSink) Record(ctx context.Context, r auth.AuditRecord) {
	ev := AccessDenied{Actor: r.Actor, Action: r.Action, Outcome: r.Outcome, Reason: r.Reason, Status: r.Status,
		RequestID: r.RequestID, TraceID: r.TraceID, At: r.Time.UTC()}
	s.log.InfoContext(ctx, "access denied", "actor", ev.Actor, "action", ev.Action, "reason", ev.Reason, "status", ev.Status)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.bus.Publish(pctx, ev, ev.Actor); err != nil {
		s.log.ErrorContext(ctx, "audit event not published", "error", err, "action", ev.Action)
	}
}
