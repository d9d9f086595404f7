package notify_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/directorytest"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/notify/smtptest"
)

var fixedNow = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func newSMTP(t *testing.T, srv *smtptest.Server, mod ...func(*notify.SMTPOptions)) *notify.SMTP {
	t.Helper()
	o := notify.SMTPOptions{Addr: srv.Addr(), From: "deiops <no-reply@example.org>", Timeout: 5 * time.Second,
		Now: func() time.Time { return fixedNow }}
	for _, m := range mod {
		m(&o)
	}
	s, err := notify.NewSMTP(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func message(t *testing.T, id string, to ...notify.Contact) notify.Message {
	t.Helper()
	c, err := notify.Render(notify.TemplateCaseAttention, link)
	if err != nil {
		t.Fatal(err)
	}
	return notify.Message{NotificationID: id, Template: notify.TemplateCaseAttention, Subject: c.Subject, Body: c.Body,
		Link: link, Reference: "c-123", To: to}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// byRecipient indexes messages by their single envelope recipient.
func byRecipient(t *testing.T, msgs []smtptest.Message) map[string]*mail.Message {
	t.Helper()
	out := map[string]*mail.Message{}
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("message to %d recipients; want one email per recipient", len(m.To))
		}
		if _, dup := out[m.To[0]]; dup {
			t.Errorf("%s received the notification twice", m.To[0])
		}
		pm, err := m.Parse()
		if err != nil {
			t.Fatal(err)
		}
		out[m.To[0]] = pm
	}
	return out
}

func TestSMTPSendsOneEmailPerRecipientWithCorrectHeaders(t *testing.T) {
	srv := smtptest.New(t)
	s := newSMTP(t, srv)
	m := message(t, "n-42",
		notify.Contact{PersonID: "p-1", Email: "ada@example.org"},
		notify.Contact{PersonID: "p-2"}, // no email: skipped, counted
		notify.Contact{PersonID: "p-3", Email: "bo@example.org"})
	rep, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (notify.SendReport{Sent: 2, NoEmail: 1}) {
		t.Errorf("report %+v", rep)
	}
	msgs, err := srv.WaitFor(waitCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	got := byRecipient(t, msgs)
	for _, tc := range []struct{ addr, person string }{{"ada@example.org", "p-1"}, {"bo@example.org", "p-3"}} {
		pm, ok := got[tc.addr]
		if !ok {
			t.Errorf("nothing sent to %s", tc.person)
			continue
		}
		h := pm.Header
		want := map[string]string{
			"From":           `"deiops" <no-reply@example.org>`,
			"To":             "<" + tc.addr + ">",
			"Subject":        "deiops: a case needs your attention",
			"Message-Id":     notify.MessageID("n-42", "person:"+tc.person, "example.org"),
			"Content-Type":   "text/plain; charset=utf-8",
			"Auto-Submitted": "auto-generated",
			"Mime-Version":   "1.0",
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s: header %s = %q, want %q", tc.person, k, h.Get(k), v)
			}
		}
		if d, err := h.Date(); err != nil || !d.Equal(fixedNow) {
			t.Errorf("%s: Date %q (%v)", tc.person, h.Get("Date"), err)
		}
		body, _ := io.ReadAll(pm.Body)
		if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != m.Body+"\n" {
			t.Errorf("%s: body %q, want %q", tc.person, got, m.Body+"\n")
		}
	}
	for _, msg := range msgs {
		if msg.From != "no-reply@example.org" {
			t.Errorf("envelope sender %q", msg.From)
		}
	}
	// The Message-ID is per notification and recipient, and reveals neither.
	if a, b := notify.MessageID("n-42", "person:p-1", "example.org"), notify.MessageID("n-42", "person:p-3", "example.org"); a == b || strings.Contains(a, "p-1") || strings.Contains(a, "n-42") {
		t.Errorf("message ids %s %s", a, b)
	}
}

func TestDeliverEmailsActivePeopleWithAnAddressOnly(t *testing.T) {
	srv := smtptest.New(t)
	dir := memoryDirectory(t)
	d, err := notify.NewDeliverer(notify.Options{Directory: dir, Channels: []notify.Channel{newSMTP(t, srv)}})
	if err != nil {
		t.Fatal(err)
	}
	r := notify.NewRequest("n-7", "resolution", notify.TemplateCaseAssigned, link, "c-123",
		"ada", "gone", "noemail", "ghost", "ada", "bo")
	res, err := d.Deliver(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recipients != 3 || res.Inactive != 1 || res.Unknown != 1 || res.Channels["smtp"] != notify.OutcomeSent {
		t.Errorf("result %+v", res)
	}
	msgs, err := srv.WaitFor(waitCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	got := byRecipient(t, msgs)
	if len(got) != 2 || got["ada@example.org"] == nil || got["bo@example.org"] == nil {
		t.Errorf("emails went to %v; want ada and bo only", keys(got))
	}

	// Nobody reachable: dead-lettered (permanent), not silently dropped.
	_, err = d.Deliver(context.Background(), notify.NewRequest("n-8", "resolution", notify.TemplateCaseAttention, link, "c-1", "gone", "noemail"))
	if !bus.IsPermanent(err) || !strings.Contains(err.Error(), "reached nobody") {
		t.Errorf("unreachable request: %v", err)
	}
}

func TestSMTPTemporaryFailureRetriesOnlyWhatFailed(t *testing.T) {
	srv := smtptest.New(t)
	s := newSMTP(t, srv)
	srv.FailNext(1)
	m := message(t, "n-43",
		notify.Contact{PersonID: "p-1", Email: "ada@example.org"},
		notify.Contact{PersonID: "p-2", Email: "bo@example.org"})
	rep, err := s.Send(context.Background(), m)
	if err == nil || bus.IsPermanent(err) {
		t.Fatalf("a 451 must be retryable, got %v", err)
	}
	if !strings.Contains(err.Error(), "person p-1") || !strings.Contains(err.Error(), "451") || strings.Contains(err.Error(), "ada@") {
		t.Errorf("error %q should name the person and the code, never the address", err)
	}
	if rep.Sent != 1 {
		t.Errorf("the other recipient was not attempted: %+v", rep)
	}
	// The retry sends only to the recipient that failed.
	rep, err = s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if rep != (notify.SendReport{Sent: 1, Earlier: 1}) {
		t.Errorf("retry report %+v", rep)
	}
	msgs, err := srv.WaitFor(waitCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := byRecipient(t, msgs); len(got) != 2 {
		t.Errorf("recipients %v", keys(got))
	}
}

func TestSMTPPermanentFailures(t *testing.T) {
	t.Run("rejected recipient", func(t *testing.T) {
		srv := smtptest.New(t)
		srv.Reject("ada@example.org")
		_, err := newSMTP(t, srv).Send(context.Background(), message(t, "n-1", notify.Contact{PersonID: "p-1", Email: "ada@example.org"}))
		if !bus.IsPermanent(err) || strings.Contains(err.Error(), "ada@") {
			t.Errorf("550: %v", err)
		}
	})
	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		srv := smtptest.New(t)
		s := newSMTP(t, srv, func(o *notify.SMTPOptions) { o.StartTLS = notify.StartTLSAlways })
		_, err := s.Send(context.Background(), message(t, "n-1", notify.Contact{PersonID: "p-1", Email: "ada@example.org"}))
		if !bus.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("always without STARTTLS: %v", err)
		}
		if len(srv.Messages()) != 0 {
			t.Error("sent without TLS")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := smtptest.New(t, smtptest.Options{Username: "deiops", Password: "right"})
		s := newSMTP(t, srv, func(o *notify.SMTPOptions) { o.Username, o.Password = "deiops", "wrong" })
		_, err := s.Send(context.Background(), message(t, "n-1", notify.Contact{PersonID: "p-1", Email: "ada@example.org"}))
		if !bus.IsPermanent(err) || !strings.Contains(err.Error(), "535") {
			t.Errorf("535: %v", err)
		}
	})
}

func TestSMTPAuthenticatesWithPlainToLocalhost(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{Username: "deiops", Password: "s3cret"})
	s := newSMTP(t, srv, func(o *notify.SMTPOptions) { o.Username, o.Password = "deiops", "s3cret" })
	if _, err := s.Send(context.Background(), message(t, "n-1", notify.Contact{PersonID: "p-1", Email: "ada@example.org"})); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitFor(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
}

func TestSMTPFallbackGoesToTheFallbackAddress(t *testing.T) {
	srv := smtptest.New(t)
	m := message(t, "n-9")
	m.Fallback = true
	_, err := newSMTP(t, srv).Send(context.Background(), m)
	if !errors.Is(err, notify.ErrNoRecipients) {
		t.Errorf("fallback without an address: %v", err)
	}
	s := newSMTP(t, srv, func(o *notify.SMTPOptions) { o.FallbackTo = "DEI Office <dei-office@example.org>" })
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.WaitFor(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := msgs[0].Parse()
	if msgs[0].To[0] != "dei-office@example.org" || pm.Header.Get("Message-Id") != notify.MessageID("n-9", "fallback", "example.org") {
		t.Errorf("fallback message to %v, id %s", msgs[0].To, pm.Header.Get("Message-Id"))
	}
}

func TestSMTPUnreachableServerIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := notify.NewSMTP(notify.SMTPOptions{Addr: addr, From: "no-reply@example.org", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), message(t, "n-1", notify.Contact{PersonID: "p-1", Email: "ada@example.org"}))
	if err == nil || bus.IsPermanent(err) {
		t.Errorf("connection refused: %v", err)
	}
}

func TestNewSMTPRejectsBadOptions(t *testing.T) {
	for _, o := range []notify.SMTPOptions{
		{Addr: "no-port", From: "a@example.org"},
		{Addr: "localhost:25", From: "not an address"},
		{Addr: "localhost:25", From: "a@example.org", StartTLS: "sometimes"},
		{Addr: "localhost:25", From: "a@example.org", Username: "u"},
		{Addr: "localhost:25", From: "a@example.org", FallbackTo: "nope"},
	} {
		if _, err := notify.NewSMTP(o); err == nil {
			t.Errorf("accepted %+v", o)
		}
	}
}

func memoryDirectory(t *testing.T) *directorytest.MemoryStore {
	t.Helper()
	person := func(id, email string, active bool) directory.Person {
		return directory.Person{ID: id, DisplayName: "Person " + id, Email: email, Department: "med", Role: "staff", Active: active}
	}
	store, err := directorytest.NewMemoryStore([]directory.Person{
		person("ada", "ada@example.org", true),
		person("bo", "bo@example.org", true),
		person("noemail", "", true),
		person("gone", "gone@example.org", false),
	}, []directory.Department{{ID: "med", Name: "Medicine"}})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
