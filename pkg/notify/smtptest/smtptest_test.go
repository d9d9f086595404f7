package smtptest_test

import (
	"context"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/notify/smtptest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestServerSpeaksSMTPToNetSMTP(t *testing.T) {
	srv := smtptest.New(t)
	body := "Subject: hi\r\n\r\n.leading dot\r\n..two dots\r\nlast line\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "from@example.org", []string{"a@example.org", "b@example.org"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.WaitFor(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.From != "from@example.org" || strings.Join(m.To, ",") != "a@example.org,b@example.org" {
		t.Errorf("envelope %q -> %v", m.From, m.To)
	}
	if m.Data != body {
		t.Errorf("data %q, want %q (dot-unstuffed)", m.Data, body)
	}
	pm, err := m.Parse()
	if err != nil || pm.Header.Get("Subject") != "hi" {
		t.Errorf("parse: %v", err)
	}
}

func TestServerCommandsAndFailures(t *testing.T) {
	srv := smtptest.New(t)
	conn, err := textproto.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	expect := func(cmd string, code int) {
		t.Helper()
		if cmd != "" {
			if err := conn.PrintfLine("%s", cmd); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := conn.ReadResponse(code); err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
	}
	expect("", 220)
	expect("MAIL FROM:<a@example.org>", 503) // no HELO yet
	expect("HELO client", 250)
	expect("NOOP", 250)
	expect("RCPT TO:<b@example.org>", 503) // no MAIL yet
	expect("MAIL FROM:<a@example.org>", 250)
	expect("RSET", 250)
	expect("DATA", 503) // RSET forgot the transaction
	srv.Reject("x@example.org")
	srv.FailNext(1)
	expect("MAIL FROM:<a@example.org>", 250)
	expect("RCPT TO:<x@example.org>", 550)
	expect("RCPT TO:<b@example.org>", 250)
	expect("DATA", 354)
	expect("Subject: one\r\n\r\nfirst\r\n.", 451) // FailNext
	expect("MAIL FROM:<a@example.org>", 250)
	expect("RCPT TO:<b@example.org>", 250)
	expect("DATA", 354)
	expect("Subject: two\r\n\r\nsecond\r\n.", 250)
	expect("FROB", 502)
	expect("QUIT", 221)

	msgs := srv.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Data, "second") {
		t.Errorf("kept %+v; the failed message must not be kept", msgs)
	}
	if srv.Failures() != 1 || srv.Sessions() != 1 {
		t.Errorf("failures %d, sessions %d", srv.Failures(), srv.Sessions())
	}
}

func TestServerRequiresAuthWhenConfigured(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{Username: "u", Password: "p"})
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	if err := smtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"b@example.org"}, msg); err == nil {
		t.Error("sent without authenticating")
	}
	if err := smtp.SendMail(srv.Addr(), smtp.PlainAuth("", "u", "p", "127.0.0.1"), "a@example.org", []string{"b@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitFor(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
}

func TestWaitForEndsWithTheContext(t *testing.T) {
	srv := smtptest.New(t)
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if msgs, err := srv.WaitFor(c, 1); err == nil || len(msgs) != 0 {
		t.Errorf("WaitFor without messages: %v, %d", err, len(msgs))
	}
}
