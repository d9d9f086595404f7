// Package smtptest is an in-process SMTP server for tests. It speaks enough
// of RFC 5321 for a real client (EHLO/HELO, optional AUTH PLAIN, MAIL FROM,
// RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT), keeps every
// accepted message, lets a test wait for messages without sleeping, and can
// fail deliveries on demand to exercise retries.
package smtptest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one accepted email.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Data string   // the message as sent, dot-unstuffed, CRLF line ends
}

// Parse reads m's headers and body.
func (m Message) Parse() (*mail.Message, error) {
	return mail.ReadMessage(strings.NewReader(m.Data))
}

// Options configures a Server.
type Options struct {
	// Hostname is announced in the greeting (default "smtptest.local").
	Hostname string
	// Username and Password, when set, are required through AUTH PLAIN
	// before MAIL FROM.
	Username, Password string
	// MaxSize bounds one message (default 10 MiB).
	MaxSize int
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	o  Options
	ln net.Listener
	wg sync.WaitGroup

	mu       sync.Mutex
	msgs     []Message
	changed  chan struct{} // closed and replaced whenever msgs changes
	failNext int
	failCode int
	failed   int
	reject   map[string]bool
	conns    map[net.Conn]bool
	sessions int
	closed   bool
}

// New starts a server for t and stops it when the test ends.
func New(t testing.TB, o ...Options) *Server {
	t.Helper()
	var opts Options
	if len(o) > 0 {
		opts = o[0]
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server; Close stops it.
func Start(o Options) (*Server, error) {
	if o.Hostname == "" {
		o.Hostname = "smtptest.local"
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 10 << 20
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, ln: ln, changed: make(chan struct{}), reject: map[string]bool{}, conns: map[net.Conn]bool{}}
	s.wg.Go(s.accept)
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting, ends every session and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// Messages returns a copy of every accepted message, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		m.To = append([]string(nil), m.To...)
		out[i] = m
	}
	return out
}

// Failures counts the messages failed on request (FailNext).
func (s *Server) Failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Sessions counts the connections accepted so far.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// WaitFor blocks until at least n messages were accepted and returns them,
// or returns ctx's error with what has arrived.
func (s *Server) WaitFor(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		ch, have := s.changed, len(s.msgs)
		s.mu.Unlock()
		if have >= n {
			return s.Messages(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Messages(), fmt.Errorf("smtptest: %d of %d messages: %w", have, n, ctx.Err())
		}
	}
}

// FailNext makes the next n messages fail at the end of DATA with a
// temporary 451 reply; they are not kept.
func (s *Server) FailNext(n int) { s.FailNextWith(n, 451) }

// FailNextWith is FailNext with another reply code (4xx or 5xx).
func (s *Server) FailNextWith(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failCode = n, code
}

// Reject makes RCPT TO of addr fail permanently with 550.
func (s *Server) Reject(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject[strings.ToLower(addr)] = true
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.sessions++
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.serve(c)
		})
	}
}

type session struct {
	s       *Server
	tp      *textproto.Conn
	helo    bool
	authed  bool
	from    string
	hasMail bool
	rcpts   []string
}

func (s *Server) serve(c net.Conn) {
	ss := &session{s: s, tp: textproto.NewConn(c)}
	ss.reply(220, s.o.Hostname+" smtptest ESMTP ready")
	for {
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ss.helo = true
			ss.reset()
			lines := []string{s.o.Hostname + " greets " + arg, "8BITMIME", fmt.Sprintf("SIZE %d", s.o.MaxSize)}
			if s.o.Username != "" {
				lines = append(lines, "AUTH PLAIN")
			}
			ss.multi(250, lines)
		case "HELO":
			ss.helo = true
			ss.reset()
			ss.reply(250, s.o.Hostname)
		case "AUTH":
			ss.auth(arg)
		case "MAIL":
			ss.mail(arg)
		case "RCPT":
			ss.rcpt(arg)
		case "DATA":
			if !ss.data() {
				return
			}
		case "RSET":
			ss.reset()
			ss.reply(250, "2.0.0 OK")
		case "NOOP":
			ss.reply(250, "2.0.0 OK")
		case "VRFY":
			ss.reply(252, "2.1.5 cannot verify")
		case "QUIT":
			ss.reply(221, "2.0.0 bye")
			return
		default:
			ss.reply(502, "5.5.1 command not implemented")
		}
	}
}

func (ss *session) reply(code int, text string) {
	_ = ss.tp.PrintfLine("%d %s", code, text)
}

func (ss *session) multi(code int, lines []string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		_ = ss.tp.PrintfLine("%d%s%s", code, sep, l)
	}
}

func (ss *session) reset() {
	ss.from, ss.hasMail, ss.rcpts = "", false, nil
}

func (ss *session) auth(arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	switch {
	case ss.s.o.Username == "":
		ss.reply(502, "5.5.1 AUTH not offered")
		return
	case !strings.EqualFold(mech, "PLAIN"):
		ss.reply(504, "5.5.4 only PLAIN")
		return
	case ss.authed:
		ss.reply(503, "5.5.1 already authenticated")
		return
	}
	if initial == "" {
		ss.reply(334, "")
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		initial = line
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 || parts[1] != ss.s.o.Username || parts[2] != ss.s.o.Password {
		ss.reply(535, "5.7.8 authentication failed")
		return
	}
	ss.authed = true
	ss.reply(235, "2.7.0 authenticated")
}

// path extracts the address of "FROM:<addr> params" or "TO:<addr>".
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.Index(rest, ">")
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

func (ss *session) mail(arg string) {
	switch {
	case !ss.helo:
		ss.reply(503, "5.5.1 EHLO first")
		return
	case ss.s.o.Username != "" && !ss.authed:
		ss.reply(530, "5.7.0 authentication required")
		return
	case ss.hasMail:
		ss.reply(503, "5.5.1 nested MAIL")
		return
	}
	addr, ok := path(arg, "FROM:")
	if !ok {
		ss.reply(501, "5.5.4 syntax: MAIL FROM:<address>")
		return
	}
	ss.from, ss.hasMail = addr, true
	ss.reply(250, "2.1.0 OK")
}

func (ss *session) rcpt(arg string) {
	if !ss.hasMail {
		ss.reply(503, "5.5.1 MAIL first")
		return
	}
	addr, ok := path(arg, "TO:")
	if !ok || addr == "" {
		ss.reply(501, "5.5.4 syntax: RCPT TO:<address>")
		return
	}
	ss.s.mu.Lock()
	rejected := ss.s.reject[strings.ToLower(addr)]
	ss.s.mu.Unlock()
	if rejected {
		ss.reply(550, "5.1.1 mailbox unavailable")
		return
	}
	ss.rcpts = append(ss.rcpts, addr)
	ss.reply(250, "2.1.5 OK")
}

// data reads the message; false ends the session.
func (ss *session) data() bool {
	if len(ss.rcpts) == 0 {
		ss.reply(503, "5.5.1 RCPT first")
		return true
	}
	ss.reply(354, "end with <CRLF>.<CRLF>")
	var b strings.Builder
	tooBig := false
	for {
		line, err := ss.tp.ReadLine()
		if err != nil {
			return false
		}
		if line == "." {
			break
		}
		line = strings.TrimPrefix(line, ".") // dot-unstuffing: ".." starts a line with "."
		if b.Len()+len(line)+2 > ss.s.o.MaxSize {
			tooBig = true
			continue
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	msg := Message{From: ss.from, To: ss.rcpts, Data: b.String()}
	ss.reset()
	if tooBig {
		ss.reply(552, "5.3.4 message too big")
		return true
	}
	s := ss.s
	s.mu.Lock()
	if s.failNext > 0 {
		s.failNext--
		s.failed++
		code := s.failCode
		s.mu.Unlock()
		ss.reply(code, fmt.Sprintf("%d.3.0 failing on request", code/100))
		return true
	}
	s.msgs = append(s.msgs, msg)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	ss.reply(250, "2.0.0 queued")
	return true
}
