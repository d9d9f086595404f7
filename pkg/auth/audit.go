package auth

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// OutcomeDenied is the outcome of a refused request.
const OutcomeDenied = "denied"

// AuditRecord says who was refused what, when and why. It never holds token
// contents, request bodies, raw paths or query strings: Action is the route
// pattern, so ids and search terms in URLs stay out of the audit trail.
type AuditRecord struct {
	Time time.Time
	// Actor is the principal's subject, or "anonymous" when the request was
	// not authenticated (claims of a rejected token are not trusted).
	Actor string
	// Action is the method and route pattern, e.g. "GET /v1/cases/{id}".
	Action string
	// Outcome is OutcomeDenied.
	Outcome string
	// Reason is short and fixed, e.g. "token expired", "missing role resolver".
	Reason string
	// Status is the HTTP status answered (401 or 403).
	Status    int
	RequestID string
	TraceID   string
}

// AuditSink receives audit records. Record must not block the request for
// long and cannot fail it: a sink that can lose records must report that
// itself (log, metric), since the request has already been answered.
type AuditSink interface {
	Record(ctx context.Context, rec AuditRecord)
}

// SlogAuditSink writes audit records as structured log lines.
type SlogAuditSink struct {
	log *slog.Logger
}

// NewSlogAuditSink writes to log (slog.Default() when nil).
func NewSlogAuditSink(log *slog.Logger) *SlogAuditSink {
	if log == nil {
		log = slog.Default()
	}
	return &SlogAuditSink{log: log}
}

// Record implements AuditSink.
func (s *SlogAuditSink) Record(ctx context.Context, rec AuditRecord) {
	s.log.LogAttrs(ctx, slog.LevelWarn, "access "+rec.Outcome,
		slog.Group("audit",
			slog.Time("time", rec.Time),
			slog.String("actor", rec.Actor),
			slog.String("action", rec.Action),
			slog.String("outcome", rec.Outcome),
			slog.String("reason", rec.Reason),
			slog.Int("status", rec.Status),
			slog.String("request_id", rec.RequestID),
			slog.String("trace_id", rec.TraceID),
		))
}

// MemoryAuditSink keeps records in memory, for tests.
type MemoryAuditSink struct {
	mu      sync.Mutex
	records []AuditRecord
}

// Record implements AuditSink.
func (s *MemoryAuditSink) Record(_ context.Context, rec AuditRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, rec)
}

// Records returns a copy of the records so far.
func (s *MemoryAuditSink) Records() []AuditRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// Reset forgets every record.
func (s *MemoryAuditSink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = nil
}
