package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/bus"
)

// Webhook request headers.
const (
	HeaderSignature      = "Deiops-Signature"
	HeaderIdempotencyKey = "Idempotency-Key"
)

// MinWebhookSecret is the shortest accepted signing secret, in bytes.
const MinWebhookSecret = 16

// WebhookPayload is the JSON body of a webhook request.
type WebhookPayload struct {
	NotificationID string    `json:"notification_id"`
	Template       Template  `json:"template"`
	Link           string    `json:"link"`
	Reference      string    `json:"reference"`
	Recipients     []string  `json:"recipients"` // active person ids; empty for a fallback
	Fallback       bool      `json:"fallback"`
	SentAt         time.Time `json:"sent_at"`
}

// WebhookOptions configures the webhook channel.
type WebhookOptions struct {
	// URL receives one POST per notification. It is never logged or put in
	// an error: webhook URLs often carry a token.
	URL string
	// Secret signs every body (at least MinWebhookSecret bytes).
	Secret string
	// Timeout bounds one request; default 10s.
	Timeout time.Duration
	// Client sends the requests; default one that does not follow redirects.
	Client *http.Client
	Now    func() time.Time
}

// Webhook posts signed JSON to one URL.
type Webhook struct {
	o      WebhookOptions
	secret []byte
}

// NewWebhook checks o and returns the channel.
func NewWebhook(o WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook url: want an absolute http or https URL")
	}
	if len(o.Secret) < MinWebhookSecret {
		return nil, fmt.Errorf("webhook secret: at least %d bytes required", MinWebhookSecret)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Webhook{o: o, secret: []byte(o.Secret)}, nil
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Deliver posts m. 2xx is success; 4xx other than 408 and 429 is
// permanent; anything else (5xx, 3xx, 408, 429, transport errors) is
// retried.
func (w *Webhook) Deliver(ctx context.Context, m Message) error {
	p := WebhookPayload{NotificationID: m.NotificationID, Template: m.Template, Link: m.Link, Reference: m.Reference,
		Recipients: make([]string, 0, len(m.To)), Fallback: m.Fallback, SentAt: w.o.Now().UTC()}
	for _, c := range m.To {
		p.Recipients = append(p.Recipients, c.PersonID)
	}
	if !m.Fallback && len(p.Recipients) == 0 {
		return fmt.Errorf("webhook: %w", ErrNoRecipients)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return bus.Permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.o.URL, bytes.NewReader(body))
	if err != nil {
		return bus.Permanent(errors.New("webhook: cannot build the request from the configured URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "deiops-notify")
	req.Header.Set(HeaderIdempotencyKey, m.NotificationID)
	req.Header.Set(HeaderSignature, Sign(w.secret, p.SentAt, body))
	resp, err := w.o.Client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which may hold a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: POST failed: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return bus.Permanent(fmt.Errorf("webhook: receiver answered %d", code))
	default:
		return fmt.Errorf("webhook: receiver answered %d", code)
	}
}

// Sign returns the Deiops-Signature header value for body sent at t:
// t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Signature verification failures.
var (
	ErrSignatureMalformed = errors.New("signature header malformed")
	ErrSignatureMismatch  = errors.New("no signature matches")
	ErrSignatureExpired   = errors.New("signature timestamp outside the tolerance")
)

// VerifySignature checks a Deiops-Signature header against the raw body,
// as a receiver should: some v1 value must equal the HMAC of t and body
// (compared in constant time) and t must be within tolerance of now.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	want := mac(secret, ts, body)
	matched := false
	for _, s := range sigs {
		matched = hmac.Equal(s, want) || matched
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}
