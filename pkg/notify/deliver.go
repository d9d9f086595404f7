package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/platform"
)

// ConsumerName is the durable name of the delivery consumer. Every process
// declares it; replicas share the work.
const ConsumerName = "notify-delivery"

// Options configures a Deliverer.
type Options struct {
	// Directory resolves recipients to active people and their addresses.
	Directory platform.Directory
	// Channels deliver every notification; at least one.
	Channels []Channel
	// PublicURL, when set (DEIOPS_HTTP_PUBLIC_URL), is the base every link
	// must be under: a notification only ever points into deiops.
	PublicURL string
	// Concurrency is how many requests are delivered at once (default 4).
	Concurrency   int
	Logger        *slog.Logger
	MeterProvider metric.MeterProvider
}

// Deliverer turns notification requests into deliveries.
type Deliverer struct {
	o         Options
	public    *url.URL
	done      *memo
	delivered metric.Int64Counter
}

// NewDeliverer checks o and returns a Deliverer.
func NewDeliverer(o Options) (*Deliverer, error) {
	if o.Directory == nil {
		return nil, errors.New("notify: a directory is required")
	}
	if len(o.Channels) == 0 {
		return nil, errors.New("notify: at least one channel is required")
	}
	seen := map[string]bool{}
	for _, c := range o.Channels {
		if seen[c.Name()] {
			return nil, fmt.Errorf("notify: channel %s configured twice", c.Name())
		}
		seen[c.Name()] = true
	}
	d := &Deliverer{o: o, done: newMemo(10_000)}
	if o.PublicURL != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("notify: public URL %q is not an absolute URL", o.PublicURL)
		}
		d.public = u
	}
	if d.o.Concurrency < 1 {
		d.o.Concurrency = 4
	}
	if d.o.Logger == nil {
		d.o.Logger = slog.New(slog.DiscardHandler)
	}
	if d.o.MeterProvider == nil {
		d.o.MeterProvider = metricnoop.NewMeterProvider()
	}
	var err error
	d.delivered, err = d.o.MeterProvider.Meter("github.com/deiops/deiops/pkg/notify").Int64Counter("deiops.notify.deliveries",
		metric.WithDescription("Notification deliveries by template, channel and outcome (sent, earlier, skipped, retry, failed)"))
	if err != nil {
		return nil, fmt.Errorf("notify metrics: %w", err)
	}
	return d, nil
}

// ChannelsFromConfig builds the channels c configures: email when
// SMTP_ADDR is set, the webhook when WEBHOOK_URL is set, and the log
// channel when neither is (development).
func ChannelsFromConfig(c config.Notify, log *slog.Logger) ([]Channel, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var out []Channel
	if c.SMTPAddr != "" {
		s, err := NewSMTP(SMTPOptions{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUsername, Password: c.SMTPPassword,
			StartTLS: c.SMTPStartTLS, FallbackTo: c.FallbackEmail, Timeout: c.Timeout, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("DEIOPS_NOTIFY_SMTP: %w", err)
		}
		out = append(out, s)
	}
	if c.WebhookURL != "" {
		w, err := NewWebhook(WebhookOptions{URL: c.WebhookURL, Secret: c.WebhookSecret, Timeout: c.Timeout})
		if err != nil {
			return nil, fmt.Errorf("DEIOPS_NOTIFY_WEBHOOK: %w", err)
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		out = append(out, NewLog(log))
	}
	return out, nil
}

// Consumer is the durable consumer delivering every Requested event.
func (d *Deliverer) Consumer() *bus.Consumer {
	c := &bus.Consumer{Name: ConsumerName, Concurrency: d.o.Concurrency}
	bus.On(c, func(ctx context.Context, _ events.Envelope, r Requested) error {
		_, err := d.Deliver(ctx, r)
		return err
	})
	return c
}

// Channel outcomes in Result and in the deiops.notify.deliveries metric.
const (
	OutcomeSent    = "sent"    // delivered in this attempt
	OutcomeEarlier = "earlier" // an earlier attempt in this process delivered it
	OutcomeSkipped = "skipped" // the channel had nobody to deliver to
	OutcomeRetry   = "retry"   // failed; the request will be redelivered
	OutcomeFailed  = "failed"  // failed permanently
)

// Result describes one delivery attempt.
type Result struct {
	// Recipients is how many active people were resolved.
	Recipients int
	// Unknown and Inactive count requested people skipped.
	Unknown, Inactive int
	// Channels maps each channel name to its outcome.
	Channels map[string]string
}

// Deliver validates r, resolves its recipients and delivers it through
// every channel at once. The error follows the bus.Handler contract:
// bus.Permanent when retrying cannot help (invalid request, permanent
// channel failure, nobody reachable), a plain error when it may.
func (d *Deliverer) Deliver(ctx context.Context, r Requested) (Result, error) {
	res := Result{Channels: map[string]string{}}
	if err := r.Validate(); err != nil {
		return res, bus.Permanent(fmt.Errorf("invalid notification request: %w", err))
	}
	if err := d.checkLink(r.Link); err != nil {
		return res, bus.Permanent(fmt.Errorf("invalid notification request: link: %w", err))
	}
	content, err := Render(r.Template, r.Link)
	if err != nil {
		return res, bus.Permanent(fmt.Errorf("invalid notification request: %w", err))
	}
	msg := Message{NotificationID: r.NotificationID, Template: r.Template, Subject: content.Subject, Body: content.Body,
		Link: r.Link, Reference: r.Reference, Fallback: r.Fallback}
	if !r.Fallback {
		if msg.To, err = d.resolve(ctx, r.Recipients, &res); err != nil {
			return res, err
		}
	}

	errs := make([]error, len(d.o.Channels))
	var wg sync.WaitGroup
	for i, ch := range d.o.Channels {
		if d.done.has(memoKey(r.NotificationID, ch.Name())) {
			res.Channels[ch.Name()] = OutcomeEarlier
			continue
		}
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("%s channel panicked: %v", ch.Name(), p)
				}
			}()
			errs[i] = ch.Deliver(ctx, msg)
		})
	}
	wg.Wait()

	var failures, skips []error
	reached := 0
	for i, ch := range d.o.Channels {
		name := ch.Name()
		if res.Channels[name] == OutcomeEarlier {
			reached++
			continue
		}
		outcome := OutcomeSent
		switch err := errs[i]; {
		case err == nil:
			reached++
			d.done.add(memoKey(r.NotificationID, name))
		case errors.Is(err, ErrNoRecipients):
			outcome = OutcomeSkipped
			skips = append(skips, err)
		case bus.IsPermanent(err):
			outcome = OutcomeFailed
			failures = append(failures, err)
		default:
			outcome = OutcomeRetry
			failures = append(failures, err)
		}
		res.Channels[name] = outcome
		d.delivered.Add(ctx, 1, metric.WithAttributes(attribute.String("template", string(r.Template)),
			attribute.String("channel", name), attribute.String("outcome", outcome)))
	}

	log := d.o.Logger.With("notification_id", r.NotificationID, "template", string(r.Template), "reference", r.Reference,
		"requested_by", r.RequestedBy, "fallback", r.Fallback, "recipients", res.Recipients,
		"unknown", res.Unknown, "inactive", res.Inactive, "channels", res.Channels)
	if err := combine(failures); err != nil {
		log.WarnContext(ctx, "notification delivery failed", "permanent", bus.IsPermanent(err), "error", err)
		return res, err
	}
	if reached == 0 {
		err := bus.Permanent(fmt.Errorf("notification reached nobody (%d unknown, %d inactive): %s",
			res.Unknown, res.Inactive, errorTexts(skips)))
		log.WarnContext(ctx, "notification reached nobody", "error", err)
		return res, err
	}
	log.InfoContext(ctx, "notification delivered")
	return res, nil
}

// resolve maps person ids to active contacts, counting the others.
func (d *Deliverer) resolve(ctx context.Context, ids []string, res *Result) ([]Contact, error) {
	dir, err := d.o.Directory.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: directory snapshot: %w", err)
	}
	seen := make(map[string]bool, len(ids))
	var out []Contact
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, ok := dir.Get(id)
		switch {
		case !ok:
			res.Unknown++
		case !p.Active:
			res.Inactive++
		default:
			out = append(out, Contact{PersonID: p.ID, Email: p.Email})
		}
	}
	res.Recipients = len(out)
	return out, nil
}

// checkLink requires link to point under the public URL, when one is set.
func (d *Deliverer) checkLink(link string) error {
	if d.public == nil {
		return nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return errors.New("not a URL")
	}
	base := strings.TrimSuffix(d.public.Path, "/")
	if !strings.EqualFold(u.Scheme, d.public.Scheme) || !strings.EqualFold(u.Host, d.public.Host) ||
		(u.Path != base && !strings.HasPrefix(u.Path, base+"/")) {
		return errors.New("not under DEIOPS_HTTP_PUBLIC_URL")
	}
	return nil
}

func errorTexts(errs []error) string {
	texts := make([]string, len(errs))
	for i, e := range errs {
		texts[i] = e.Error()
	}
	return strings.Join(texts, "; ")
}
