// Package app holds the connection service's use cases and the ports they
// need (stores, directory, notifications). Authorization is decided here:
// a person edits only their own profile, coordinators run rounds, mentors
// answer only their proposals, organisers manage their gatherings and
// group leaders their group.
package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/idem"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/services/connection/domain"
)

// Errors (aliases of the domain's, so callers test one set).
var (
	ErrNotFound  = domain.ErrNotFound
	ErrForbidden = domain.ErrForbidden
	ErrConflict  = domain.ErrConflict
)

// Store keeps one kind of aggregate with compare-and-set updates whose
// events are published exactly when the write lands (pkg/store).
type Store[T any] interface {
	Get(ctx context.Context, id string) (*T, error)
	Create(ctx context.Context, id string, v *T, evs ...events.Event) error
	Update(ctx context.Context, id string, fn func(*T) ([]events.Event, error)) error
	Upsert(ctx context.Context, id string, fn func(cur *T) (*T, []events.Event, error)) error
	Each(ctx context.Context, fn func(id string, v *T) error) error
}

// Directory reads the people snapshot (supervisory chains).
type Directory interface {
	Snapshot(ctx context.Context) (*directory.Directory, error)
}

// Notification is a generic notification request: a template code, a link
// and a reference id, never content.
type Notification struct {
	ID         string
	Recipients []string
	Template   string
	Link       string
	Reference  string
}

// Notification templates this service would like (see TemplateFor).
const (
	NotifyProposal        = "mentorship_proposed"
	NotifyMatched         = "mentorship_matched"
	NotifyGatheringCancel = "gathering_cancelled"
	NotifyGatheringRemind = "gathering_reminder"
	NotifyWaitlist        = "waitlist_promoted"
	NotifyAnnouncement    = "group_announcement"
)

// TemplateFor maps the service's notification codes to pkg/notify
// templates; a code notify does not know falls back to the generic
// "digest" text, which names nothing.
func TemplateFor(code string) string {
	if notify.Template(code).Valid() {
		return code
	}
	return string(notify.TemplateDigest)
}

// Options wires the use cases.
type Options struct {
	Profiles   Store[domain.Profile]
	Rounds     Store[domain.Round]
	Gatherings Store[domain.Gathering]
	Groups     Store[domain.Group]
	Programs   Store[domain.Program] // optional: rounds then use only their own settings
	Directory  Directory
	// NotificationEvent builds the notification request event.
	NotificationEvent func(Notification) events.Event
	// PublicURL is the base of links in notifications.
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
	// ReminderLead is how long before a gathering its reminder goes out
	// (default 24h).
	ReminderLead time.Duration
}

// Service is the use cases.
type Service struct {
	o     Options
	locks sync.Map // gathering id → *sync.Mutex (in-process contention relief; CAS keeps correctness)
}

// New returns the use cases.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PublicURL == "" {
		o.PublicURL = "http://localhost:8080"
	}
	if o.ReminderLead <= 0 {
		o.ReminderLead = 24 * time.Hour
	}
	return &Service{o: o}
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

// newID returns an id for something a request creates: derived from the
// request's Idempotency-Key when it has one (a retry finds what its first
// attempt created), random otherwise.
func newID(ctx context.Context, prefix string) string { return idem.ID(ctx, prefix, 10) }

// maxRecipients is pkg/notify's limit of people per request.
const maxRecipients = 1000

// notification returns the requests (one per 1,000 recipients).
func (s *Service) notification(code, reference, path string, recipients ...string) []events.Event {
	if s.o.NotificationEvent == nil {
		return nil
	}
	var out []events.Event
	for len(recipients) > 0 {
		batch := recipients[:min(len(recipients), maxRecipients)]
		recipients = recipients[len(batch):]
		out = append(out, s.o.NotificationEvent(Notification{ID: notifyID(code, reference, batch), Recipients: batch,
			Template: TemplateFor(code), Link: s.o.PublicURL + path, Reference: reference}))
	}
	return out
}

// notifyID derives a stable id so a retried write asks once.
func notifyID(parts ...any) string {
	h := fnv64()
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			h.add(v)
		case []string:
			for _, x := range v {
				h.add(x)
			}
		}
	}
	return "conn-" + h.hex()
}
