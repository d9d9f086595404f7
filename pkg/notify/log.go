package notify

import (
	"context"
	"fmt"
	"log/slog"
)

// Log is the development channel: it logs that a notification would have
// been delivered (template, reference, recipient count; never addresses)
// and succeeds.
type Log struct {
	log *slog.Logger
}

// NewLog returns the log channel.
func NewLog(l *slog.Logger) *Log {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Log{log: l}
}

// Name is "log".
func (l *Log) Name() string { return "log" }

// Deliver logs m.
func (l *Log) Deliver(ctx context.Context, m Message) error {
	if !m.Fallback && len(m.To) == 0 {
		return fmt.Errorf("log: %w", ErrNoRecipients)
	}
	l.log.InfoContext(ctx, "notification delivered to the log (no email or webhook configured)",
		"notification_id", m.NotificationID, "template", string(m.Template), "reference", m.Reference,
		"recipients", len(m.To), "fallback", m.Fallback)
	return nil
}
