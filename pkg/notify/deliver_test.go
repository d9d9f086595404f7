package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/notify/smtptest"
	"github.com/deiops/deiops/pkg/testkit"
)

// startBus connects to srv with fast redeliveries and provisions the
// notification stream.
func startBus(t *testing.T, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(context.Background(), bus.Options{Name: t.Name(), Source: "deiops/test", NATS: config.NATS{
		URL: url, Replicas: 1, DuplicateWindow: 2 * time.Minute, PublishAttempts: 50,
		AckWait: 5 * time.Second, MaxDeliver: 3, Backoff: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	cat, err := events.NewCatalog(notify.Events()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	return b
}

func startDeliverer(t *testing.T, b *bus.Bus, d *notify.Deliverer) {
	t.Helper()
	r, err := b.Start(context.Background(), d.Consumer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
}

func TestDeliveryThroughTheBus(t *testing.T) {
	srv := testkit.NATS(t)
	b := startBus(t, srv.URL())
	mail := smtptest.New(t)
	hook, hooked := receiver(t, http.StatusOK)
	web := newWebhook(t, hook.URL)
	d, err := notify.NewDeliverer(notify.Options{Directory: memoryDirectory(t), PublicURL: "https://deiops.example.org",
		Channels: []notify.Channel{newSMTP(t, mail, func(o *notify.SMTPOptions) { o.FallbackTo = "dei-office@example.org" }), web}})
	if err != nil {
		t.Fatal(err)
	}
	startDeliverer(t, b, d)
	ctx := waitCtx(t)

	// A valid request reaches the recipient's inbox and the webhook; the
	// event id is the notification id.
	env, err := notify.Publish(ctx, b, notify.NewRequest("n-100", "resolution", notify.TemplateCaseAttention, link, "c-123", "ada"))
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != "n-100" {
		t.Errorf("event id %s, want the notification id", env.ID)
	}
	msgs, err := mail.WaitFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].To[0] != "ada@example.org" || !strings.Contains(msgs[0].Data, "Subject: deiops: a case needs your attention") {
		t.Errorf("email %+v", msgs[0])
	}
	testkit.Eventually(t, 10*time.Second, "webhook call", func() bool { return len(hooked()) == 1 })

	// Publishing the same notification again stores nothing new.
	if _, err := notify.Publish(ctx, b, notify.NewRequest("n-100", "resolution", notify.TemplateCaseAttention, link, "c-123", "ada")); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.StreamMessages(ctx, notify.Requested{}.EventSpec().Stream()); n != 1 {
		t.Errorf("stream holds %d requests after a repeated publish, want 1", n)
	}

	// Invalid requests (a buggy publisher that skipped Validate) and one
	// that reaches nobody are dead-lettered with the reason...
	unknownTemplate := notify.NewRequest("n-bad-1", "resolution", "case_details", link, "c-123", "ada")
	missingLink := notify.NewRequest("n-bad-2", "resolution", notify.TemplateCaseAssigned, "", "c-123", "ada")
	foreignLink := notify.NewRequest("n-bad-3", "resolution", notify.TemplateCaseAssigned, "https://evil.example.com/cases/c-123", "c-123", "ada")
	nobody := notify.NewRequest("n-bad-4", "resolution", notify.TemplateCaseAssigned, link, "c-123", "gone")
	for _, r := range []notify.Requested{unknownTemplate, missingLink, foreignLink, nobody} {
		if _, err := b.Publish(ctx, r, r.NotificationID); err != nil {
			t.Fatal(err)
		}
	}
	// ...a temporary SMTP failure is retried by redelivery...
	mail.FailNext(1)
	if _, err := notify.Publish(ctx, b, notify.NewRequest("n-101", "awareness", notify.TemplateTrainingReminder, link, "a-9", "bo")); err != nil {
		t.Fatal(err)
	}
	// ...and a fallback goes to the fallback address.
	if _, err := notify.Publish(ctx, b, notify.NewFallbackRequest("n-102", "resolution", notify.TemplateCaseAttention, link, "c-124")); err != nil {
		t.Fatal(err)
	}

	msgs, err = mail.WaitFor(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := byRecipient(t, msgs)
	if got["bo@example.org"] == nil || got["dei-office@example.org"] == nil || len(msgs) != 3 {
		t.Errorf("emails went to %v", keys(got))
	}
	if mail.Failures() != 1 {
		t.Errorf("%d failed SMTP deliveries, want the one retried by redelivery", mail.Failures())
	}
	testkit.Eventually(t, 10*time.Second, "four dead letters", func() bool {
		n, _ := b.StreamMessages(ctx, events.DeadLetterStream)
		return n == 4
	})
	s, err := b.JetStream().Stream(ctx, events.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"n-bad-1": `template: unknown template "case_details"`,
		"n-bad-2": "link: required",
		"n-bad-3": "not under DEIOPS_HTTP_PUBLIC_URL",
		"n-bad-4": "reached nobody (0 unknown, 1 inactive)",
	}
	for seq := uint64(1); seq <= 4; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var r notify.Requested
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		reason, id := m.Header.Get(bus.HeaderDLReason), r.NotificationID
		if m.Header.Get(bus.HeaderDLConsumer) != notify.ConsumerName {
			t.Errorf("dead letter %s from consumer %q", id, m.Header.Get(bus.HeaderDLConsumer))
		}
		if w, ok := want[id]; !ok || !strings.Contains(reason, w) {
			t.Errorf("dead letter %s: reason %q, want it to mention %q", id, reason, w)
		}
		delete(want, id)
	}
	if len(want) != 0 {
		t.Errorf("not dead-lettered: %v", want)
	}
	if n := len(mail.Messages()); n != 3 {
		t.Errorf("%d emails; invalid requests must send nothing", n)
	}
}

func TestLogChannelWhenNothingIsConfigured(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))
	chans, err := notify.ChannelsFromConfig(config.Notify{SMTPFrom: "no-reply@localhost", SMTPStartTLS: "auto", Timeout: time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(chans) != 1 || chans[0].Name() != "log" {
		t.Fatalf("channels %v, want the log channel only", chans)
	}
	d, err := notify.NewDeliverer(notify.Options{Directory: memoryDirectory(t), Channels: chans})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(context.Background(), notify.NewRequest("n-1", "awareness", notify.TemplateDigest, link, "", "ada", "bo")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, `"recipients":2`) || !strings.Contains(out, `"template":"digest"`) || strings.Contains(out, "@example.org") {
		t.Errorf("log output %s", out)
	}

	chans, err = notify.ChannelsFromConfig(config.Notify{SMTPAddr: "127.0.0.1:2525", SMTPFrom: "no-reply@localhost", SMTPStartTLS: "auto",
		WebhookURL: "https://hooks.example.org/x", WebhookSecret: secret, Timeout: time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(chans) != 2 || chans[0].Name() != "smtp" || chans[1].Name() != "webhook" {
		t.Errorf("channels %v, want smtp and webhook", chans)
	}
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestDelivererRemembersChannelsThatSucceeded(t *testing.T) {
	mail := smtptest.New(t)
	failing, _ := receiver(t, http.StatusServiceUnavailable)
	d, err := notify.NewDeliverer(notify.Options{Directory: memoryDirectory(t),
		Channels: []notify.Channel{newSMTP(t, mail), newWebhook(t, failing.URL)}})
	if err != nil {
		t.Fatal(err)
	}
	r := notify.NewRequest("n-1", "resolution", notify.TemplateCaseAttention, link, "c-1", "ada")
	res, err := d.Deliver(context.Background(), r)
	if err == nil || bus.IsPermanent(err) {
		t.Fatalf("a 503 must be retried: %v", err)
	}
	if res.Channels["smtp"] != notify.OutcomeSent || res.Channels["webhook"] != notify.OutcomeRetry {
		t.Errorf("outcomes %v", res.Channels)
	}
	res, _ = d.Deliver(context.Background(), r)
	if res.Channels["smtp"] != notify.OutcomeEarlier {
		t.Errorf("retry outcomes %v; email must not be sent again", res.Channels)
	}
	if n := len(mail.Messages()); n != 1 {
		t.Errorf("%d emails", n)
	}
}
