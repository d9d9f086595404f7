package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/bus"
)

// STARTTLS modes of the SMTP channel.
const (
	StartTLSAuto   = "auto"   // upgrade when the server offers it
	StartTLSAlways = "always" // refuse to send unless the connection is upgraded
	StartTLSNever  = "never"  // never upgrade
)

// SMTPOptions configures the SMTP channel.
type SMTPOptions struct {
	// Addr is the server's host:port.
	Addr string
	// From is the RFC 5322 sender, e.g. "deiops <no-reply@example.org>".
	From string
	// Username and Password, when set, authenticate with PLAIN, which is
	// only ever sent over TLS or to a server on localhost.
	Username, Password string
	// StartTLS is auto (default), always or never.
	StartTLS string
	// TLSConfig, when set, is used for STARTTLS (its ServerName defaults
	// to the host of Addr).
	TLSConfig *tls.Config
	// FallbackTo receives fallback notifications; empty means this channel
	// has no fallback route.
	FallbackTo string
	// Timeout bounds one delivery (connect, every message, quit); default 10s.
	Timeout time.Duration
	// HelloName is sent with EHLO; default the domain of From when it has
	// a dot, else localhost.
	HelloName string
	Logger    *slog.Logger
	Now       func() time.Time
}

// SMTP sends one plain-text email per recipient.
type SMTP struct {
	o        SMTPOptions
	host     string
	from     *mail.Address
	fallback *mail.Address
	domain   string
	sent     *memo
}

// NewSMTP checks o and returns the channel; it does not connect.
func NewSMTP(o SMTPOptions) (*SMTP, error) {
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("smtp addr %q: want host:port", o.Addr)
	}
	from, err := mail.ParseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", o.From, err)
	}
	s := &SMTP{o: o, host: host, from: from, sent: newMemo(10_000)}
	if o.FallbackTo != "" {
		if s.fallback, err = mail.ParseAddress(o.FallbackTo); err != nil {
			return nil, fmt.Errorf("smtp fallback address: %w", err)
		}
	}
	switch s.o.StartTLS {
	case "":
		s.o.StartTLS = StartTLSAuto
	case StartTLSAuto, StartTLSAlways, StartTLSNever:
	default:
		return nil, fmt.Errorf("smtp starttls %q: want auto, always or never", o.StartTLS)
	}
	if (o.Username == "") != (o.Password == "") {
		return nil, errors.New("smtp username and password go together")
	}
	if s.o.Timeout <= 0 {
		s.o.Timeout = 10 * time.Second
	}
	if s.o.Logger == nil {
		s.o.Logger = slog.New(slog.DiscardHandler)
	}
	if s.o.Now == nil {
		s.o.Now = time.Now
	}
	_, s.domain, _ = strings.Cut(from.Address, "@")
	if s.o.HelloName == "" {
		s.o.HelloName = "localhost"
		if strings.Contains(s.domain, ".") {
			s.o.HelloName = s.domain
		}
	}
	return s, nil
}

// Name is "smtp".
func (s *SMTP) Name() string { return "smtp" }

// Deliver sends m; see Send.
func (s *SMTP) Deliver(ctx context.Context, m Message) error {
	_, err := s.Send(ctx, m)
	return err
}

// SendReport counts what one Send did.
type SendReport struct {
	Sent    int // emails accepted by the server in this call
	Earlier int // recipients skipped because an earlier attempt reached them
	NoEmail int // recipients without an email address
}

type envelope struct {
	key  string // "person:<id>", or "fallback"
	who  string // for errors and logs: never the address
	addr *mail.Address
}

// Send delivers m as one email per recipient over one SMTP session. A
// recipient whose email an earlier call already delivered is not sent
// again (within this process). Failures for single recipients do not stop
// the others; they are returned together.
func (s *SMTP) Send(ctx context.Context, m Message) (SendReport, error) {
	var rep SendReport
	var todo []envelope
	var errs []error
	if m.Fallback {
		if s.fallback == nil {
			return rep, fmt.Errorf("smtp: no fallback address configured (DEIOPS_NOTIFY_FALLBACK_EMAIL): %w", ErrNoRecipients)
		}
		todo = append(todo, envelope{key: "fallback", who: "the fallback address", addr: s.fallback})
	}
	for _, c := range m.To {
		if c.Email == "" {
			rep.NoEmail++
			continue
		}
		addr, err := mail.ParseAddress(c.Email)
		if err != nil {
			errs = append(errs, bus.Permanent(fmt.Errorf("smtp person %s: email address in the directory is unusable", c.PersonID)))
			continue
		}
		todo = append(todo, envelope{key: "person:" + c.PersonID, who: "person " + c.PersonID, addr: addr})
	}
	pending := todo[:0:0]
	for _, e := range todo {
		if s.sent.has(memoKey(m.NotificationID, e.key)) {
			rep.Earlier++
			continue
		}
		pending = append(pending, e)
	}
	if len(pending) == 0 {
		if len(errs) == 0 && rep.Earlier == 0 {
			return rep, fmt.Errorf("smtp: %d recipient(s) without an email address: %w", rep.NoEmail, ErrNoRecipients)
		}
		return rep, combine(errs)
	}

	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	c, release, err := s.dial(ctx)
	if err != nil {
		return rep, combine(append(errs, err))
	}
	defer release()
	for i, e := range pending {
		err := s.sendOne(c, m, e)
		if err == nil {
			rep.Sent++
			s.sent.add(memoKey(m.NotificationID, e.key))
			continue
		}
		errs = append(errs, err)
		var tp *textproto.Error
		if !errors.As(err, &tp) || c.Reset() != nil {
			// The session is broken: every remaining recipient waits for the retry.
			for _, rest := range pending[i+1:] {
				errs = append(errs, fmt.Errorf("smtp %s: not attempted after the session failed", rest.who))
			}
			break
		}
	}
	_ = c.Quit()
	level := slog.LevelDebug
	if rep.NoEmail > 0 {
		level = slog.LevelInfo // people the directory has no address for: worth fixing there
	}
	s.o.Logger.Log(ctx, level, "notification email", "notification_id", m.NotificationID, "template", string(m.Template),
		"sent", rep.Sent, "sent_earlier", rep.Earlier, "without_email", rep.NoEmail, "failed", len(errs))
	return rep, combine(errs)
}

// dial connects, greets, upgrades to TLS and authenticates as configured.
// release closes the session.
func (s *SMTP) dial(ctx context.Context) (c *smtp.Client, release func(), err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.o.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("smtp connect: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancellation (the consumer stopping) unblocks any read or write.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	closeConn := func() {
		stop()
		_ = conn.Close()
	}
	defer func() {
		if err != nil {
			closeConn()
		}
	}()
	if c, err = smtp.NewClient(conn, s.host); err != nil {
		return nil, nil, smtpError("greeting", "", err)
	}
	if err := c.Hello(s.o.HelloName); err != nil {
		return nil, nil, smtpError("EHLO", "", err)
	}
	offered, _ := c.Extension("STARTTLS")
	switch {
	case s.o.StartTLS == StartTLSNever:
	case offered:
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.o.TLSConfig != nil {
			tc = s.o.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = s.host
		}
		if err := c.StartTLS(tc); err != nil {
			return nil, nil, smtpError("STARTTLS", "", err)
		}
	case s.o.StartTLS == StartTLSAlways:
		return nil, nil, bus.Permanent(errors.New("smtp: the server does not offer STARTTLS and DEIOPS_NOTIFY_SMTP_STARTTLS is always"))
	}
	if s.o.Username != "" {
		_, isTLS := c.TLSConnectionState()
		if !credentialsAllowed(isTLS, s.host) {
			return nil, nil, bus.Permanent(errors.New("smtp: refusing to send credentials without TLS to a server that is not on localhost"))
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, nil, bus.Permanent(errors.New("smtp: credentials are configured but the server does not offer AUTH"))
		}
		if err := c.Auth(smtp.PlainAuth("", s.o.Username, s.o.Password, s.host)); err != nil {
			return nil, nil, smtpError("AUTH", "", err)
		}
	}
	return c, closeConn, nil
}

func (s *SMTP) sendOne(c *smtp.Client, m Message, e envelope) error {
	if err := c.Mail(s.from.Address); err != nil {
		return smtpError("MAIL FROM", e.who, err)
	}
	if err := c.Rcpt(e.addr.Address); err != nil {
		return smtpError("RCPT TO", e.who, err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("DATA", e.who, err)
	}
	if _, err := w.Write(s.compose(m, e)); err != nil {
		_ = w.Close()
		return smtpError("DATA", e.who, err)
	}
	if err := w.Close(); err != nil {
		return smtpError("end of DATA", e.who, err)
	}
	return nil
}

// compose writes the message. Line ends are \n; the DATA writer sends CRLF
// and dot-stuffs.
func (s *SMTP) compose(m Message, e envelope) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\n") }
	h("From", s.from.String())
	h("To", (&mail.Address{Address: e.addr.Address}).String())
	h("Subject", m.Subject)
	h("Date", s.o.Now().Format(time.RFC1123Z))
	h("Message-ID", MessageID(m.NotificationID, e.key, s.domain))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "7bit") // templates and links are ASCII
	h("Auto-Submitted", "auto-generated")
	h("X-Auto-Response-Suppress", "All")
	b.WriteString("\n")
	b.WriteString(m.Body)
	b.WriteString("\n")
	return b.Bytes()
}

// MessageID is the Message-ID of the email of notification id to one
// recipient (key "person:<id>" or "fallback"). It is the same on every
// attempt, so a mail system can drop a repeated delivery, and it reveals
// neither the notification nor the person.
func MessageID(notificationID, key, domain string) string {
	sum := sha256.Sum256([]byte("deiops-notify\x00" + notificationID + "\x00" + key))
	if domain == "" {
		domain = "deiops.invalid"
	}
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// smtpError names the stage and the recipient (by person id) and keeps
// only the reply code of a server answer: reply texts often echo the
// address. 5xx replies are permanent; 4xx and transport errors retryable.
func smtpError(stage, who string, err error) error {
	if who != "" {
		who = " " + who
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e := &replyError{msg: fmt.Sprintf("smtp %s%s: server replied %d", stage, who, tp.Code), tp: tp}
		if tp.Code >= 500 {
			return bus.Permanent(e)
		}
		return e
	}
	return fmt.Errorf("smtp %s%s: %w", stage, who, err)
}

// replyError keeps the server's reply reachable with errors.As (for the
// session logic) while its text shows only the code.
type replyError struct {
	msg string
	tp  *textproto.Error
}

func (e *replyError) Error() string { return e.msg }
func (e *replyError) Unwrap() error { return e.tp }

// credentialsAllowed: PLAIN sends the password in the clear, so only over
// TLS or to this machine.
func credentialsAllowed(isTLS bool, host string) bool {
	if isTLS {
		return true
	}
	// The names net/smtp's PlainAuth itself accepts without TLS.
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
