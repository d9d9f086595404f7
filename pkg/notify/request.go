package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/events"
)

// Limits of a request's fields.
const (
	MaxIDLength     = 128  // notification id, reference, recipient ids
	MaxRecipients   = 1000 // people per request; a larger audience is several requests
	MaxLinkLength   = 800  // keeps the body line of an email under the 998-octet limit
	maxServiceLabel = 64
)

// Requested asks for a notification to be delivered. It carries ids and a
// link only: the text is fixed by Template, so nothing a service knows
// about a case or a training can end up in an inbox.
type Requested struct {
	NotificationID string   `json:"notification_id" desc:"Idempotency key of the notification; publishers use it as the event id" pattern:"^[A-Za-z0-9._:-]{1,128}$"`
	Recipients     []string `json:"recipients" desc:"Directory person ids to notify; empty only when fallback is true" maxItems:"1000"`
	Fallback       bool     `json:"fallback" desc:"No eligible person could be named: deliver to the configured fallback address and webhook (e.g. the DEI office) instead"`
	Template       Template `json:"template" enum:"case_attention,case_assigned,checkin_due,training_reminder,training_overdue,training_escalated,digest,mentorship_proposed,mentorship_matched,first_meeting_nudge,fit_check,inactivity_warning,feedback_request,gathering_reminder,gathering_cancelled,waitlist_promoted,group_announcement" desc:"Code of the fixed, generic message text"`
	Link           string   `json:"link" desc:"Absolute http(s) URL into deiops, built from DEIOPS_HTTP_PUBLIC_URL by the publisher" format:"uri" maxLength:"800"`
	Reference      string   `json:"reference" desc:"Id of what the notification is about (a case id, an assignment id); never content; empty when none" pattern:"^[A-Za-z0-9._:-]{0,128}$"`
	RequestedBy    string   `json:"requested_by" desc:"Service that asked for the notification, e.g. resolution" pattern:"^[a-z][a-z0-9_-]{0,63}$"`
}

// EventSpec declares the event. It travels on the internal prefix: its
// recipients and reference together say who is involved in which case (a
// retaliation check-in goes to the person who reported), which must never
// reach integrators.
func (Requested) EventSpec() events.Spec {
	return events.Spec{Service: "platform", Platform: true, Entity: "notification", Action: "requested", Version: 1, Internal: true,
		Summary: "A service asked for a generic notification (template code and link, never content) to be delivered by email and/or webhook."}
}

// Events lists the notification event types, for the catalog.
func Events() []events.Event { return []events.Event{Requested{}} }

// NewRequest returns a request to notify the people with the given
// directory ids. id is the notification's idempotency key (see DeriveID).
func NewRequest(id, requestedBy string, t Template, link, reference string, recipients ...string) Requested {
	return Requested{NotificationID: id, RequestedBy: requestedBy, Template: t, Link: link, Reference: reference,
		Recipients: append([]string{}, recipients...)}
}

// NewFallbackRequest returns a request for when no eligible person can be
// named: it goes to the configured fallback address and webhook.
func NewFallbackRequest(id, requestedBy string, t Template, link, reference string) Requested {
	return Requested{NotificationID: id, RequestedBy: requestedBy, Template: t, Link: link, Reference: reference,
		Recipients: []string{}, Fallback: true}
}

// DeriveID derives a stable notification id from the parts that make a
// notification unique (service, template, reference, step...), so that a
// retried or replayed publish is recognised as the same notification.
func DeriveID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return "n-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Publish validates r and publishes it with event id = notification id:
// JetStream stores a repeated publish once within its duplicate window and
// the delivery consumer skips ids it has handled.
func Publish(ctx context.Context, b *bus.Bus, r Requested) (events.Envelope, error) {
	if err := r.Validate(); err != nil {
		return events.Envelope{}, fmt.Errorf("notification request: %w", err)
	}
	if r.Recipients == nil {
		r.Recipients = []string{}
	}
	env, err := events.New(r, b.Source(), r.NotificationID, b.Now())
	if err != nil {
		return events.Envelope{}, err
	}
	env.ID = r.NotificationID
	return env, b.PublishEnvelope(ctx, env, nil)
}

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
	servicePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

// FieldError is one problem with one field of a request.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidationError lists every problem of a request, on one line (it
// becomes a dead-letter reason header).
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	texts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		texts[i] = p.Error()
	}
	return strings.Join(texts, "; ")
}

// Unwrap lets errors.As find each FieldError.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// Validate reports every problem with r as a *ValidationError naming each
// field; nil means valid.
func (r Requested) Validate() error {
	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if p := idProblem(r.NotificationID, true); p != "" {
		bad("notification_id", "%s", p)
	}
	switch {
	case r.Fallback && len(r.Recipients) > 0:
		bad("recipients", "must be empty when fallback is true")
	case !r.Fallback && len(r.Recipients) == 0:
		bad("recipients", "required unless fallback is true")
	case len(r.Recipients) > MaxRecipients:
		bad("recipients", "%d people; at most %d per request", len(r.Recipients), MaxRecipients)
	}
	for i, id := range r.Recipients {
		if p := idProblem(id, true); p != "" {
			bad(fmt.Sprintf("recipients[%d]", i), "%s", p)
		}
	}
	if r.Template == "" {
		bad("template", "required")
	} else if _, ok := templates[r.Template]; !ok {
		bad("template", "unknown template %q; use one of %s", truncate(string(r.Template), 64), strings.Join(templateCodes(), ", "))
	}
	if p := linkProblem(r.Link); p != "" {
		bad("link", "%s", p)
	}
	if p := idProblem(r.Reference, false); p != "" {
		bad("reference", "%s", p)
	}
	switch {
	case r.RequestedBy == "":
		bad("requested_by", "required")
	case len(r.RequestedBy) > maxServiceLabel || !servicePattern.MatchString(r.RequestedBy):
		bad("requested_by", "must be a service name like resolution (lowercase letters, digits, _ and -)")
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs}
}

func idProblem(id string, required bool) string {
	switch {
	case id == "":
		if required {
			return "required"
		}
		return ""
	case len(id) > MaxIDLength:
		return fmt.Sprintf("longer than %d characters", MaxIDLength)
	case !idPattern.MatchString(id):
		return "may contain only letters, digits, '.', '_', ':' and '-'"
	}
	return ""
}

// linkProblem accepts absolute http(s) URLs of printable ASCII without
// credentials: the link is the one thing put into a message verbatim.
func linkProblem(link string) string {
	if link == "" {
		return "required"
	}
	if len(link) > MaxLinkLength {
		return fmt.Sprintf("longer than %d characters", MaxLinkLength)
	}
	for i := 0; i < len(link); i++ {
		if c := link[i]; c <= ' ' || c >= 0x7f {
			return "must be printable ASCII without spaces (percent-encode the rest)"
		}
	}
	u, err := url.Parse(link)
	if err != nil {
		return "not a URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "must be an absolute http or https URL"
	}
	if u.Host == "" {
		return "must name a host"
	}
	if u.User != nil {
		return "must not contain credentials"
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
