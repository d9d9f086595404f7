// Package apiclient is the portal's typed client of the deiops public HTTP
// API. The portal is that API's first client: it calls exactly the routes
// integrators call, on behalf of the person in front of it — with their
// bearer token when they are signed in, with the anonymous case key and
// secret in headers when they report anonymously — and it forwards their
// address so the API's per-client limits count them, not the portal.
//
// Types here mirror the API's JSON; they are the portal's own so that it
// depends on the API's contract, not on a service's code.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
)

// Headers of the API this client speaks.
const (
	HeaderCaseKey        = "Deiops-Case-Key"
	HeaderCaseSecret     = "Deiops-Case-Secret"
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderForwardedFor   = "X-Forwarded-For"
	HeaderRequestID      = "X-Request-Id"
)

// maxResponseBytes bounds what one answer may make the portal read.
const maxResponseBytes = 4 << 20

// Client calls one deiops API. Safe for concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
	prop propagation.TextMapPropagator
}

// New returns a client of the API at base (e.g. http://127.0.0.1:8080).
// prop, when not nil, puts the caller's trace context on every request.
func New(base string, timeout time.Duration, prop ...propagation.TextMapPropagator) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("apiclient: base URL %q must be an absolute http(s) URL", base)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c := &Client{base: u, http: &http.Client{
		Timeout: timeout,
		// The API never redirects; following one could carry credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if len(prop) > 0 {
		c.prop = prop[0]
	}
	return c, nil
}

// Caller is who a call is made for.
type Caller struct {
	// Token is the signed-in person's access token ("" when anonymous).
	Token string
	// ClientIP is the person's address, forwarded for the API's limits
	// (never logged by either side).
	ClientIP string
	// RequestID ties the API's log line to the portal's.
	RequestID string
	// CaseKey and CaseSecret authenticate an anonymous reporter.
	CaseKey, CaseSecret string
	// IdempotencyKey makes a POST safe to repeat (a double submit).
	IdempotencyKey string
}

// Problem is an API error (RFC 9457). Status 0 means the API could not be
// reached or answered something that is not a problem.
type Problem struct {
	Status int          `json:"status"`
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
	// RetryAfter is the API's Retry-After, when it sent one.
	RetryAfter time.Duration `json:"-"`
	cause      error
}

// FieldError names one invalid field of a request body.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p *Problem) Error() string {
	if p.Status == 0 {
		return fmt.Sprintf("api unavailable: %v", p.cause)
	}
	return fmt.Sprintf("api answered %d %s", p.Status, p.Title) // never the detail: it may echo input
}

func (p *Problem) Unwrap() error { return p.cause }

// StatusOf is the API status of err (0 when err is not an API answer).
func StatusOf(err error) int {
	var p *Problem
	if errors.As(err, &p) {
		return p.Status
	}
	return 0
}

// do sends one request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, who Caller, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("apiclient: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return fmt.Errorf("apiclient: %s %s: %w", method, path, err)
	}
	h := req.Header
	if c.prop != nil {
		c.prop.Inject(ctx, propagation.HeaderCarrier(h))
	}
	h.Set("Accept", "application/json")
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	if who.Token != "" {
		h.Set("Authorization", "Bearer "+who.Token)
	}
	if who.ClientIP != "" {
		h.Set(HeaderForwardedFor, who.ClientIP)
	}
	if who.RequestID != "" {
		h.Set(HeaderRequestID, who.RequestID)
	}
	if who.CaseKey != "" || who.CaseSecret != "" {
		h.Set(HeaderCaseKey, who.CaseKey)
		h.Set(HeaderCaseSecret, who.CaseSecret)
	}
	if who.IdempotencyKey != "" && method == http.MethodPost {
		h.Set(HeaderIdempotencyKey, who.IdempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Problem{cause: fmt.Errorf("%s %s: %w", method, path, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &Problem{cause: fmt.Errorf("%s %s: read answer: %w", method, path, err)}
	}
	if resp.StatusCode >= 400 {
		p := &Problem{}
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/problem+json" {
			_ = json.Unmarshal(data, p)
		}
		p.Status = resp.StatusCode
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			p.RetryAfter = time.Duration(s) * time.Second
		}
		return p
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Problem{cause: fmt.Errorf("%s %s: decode answer: %w", method, path, err)}
	}
	return nil
}

// SubmitReport files a report (POST /v1/reports). An anonymous report's
// receipt carries the case key and secret, which exist nowhere else.
func (c *Client) SubmitReport(ctx context.Context, who Caller, r ReportRequest) (Receipt, error) {
	var out Receipt
	err := c.do(ctx, http.MethodPost, "/v1/reports", who, r, &out)
	return out, err
}

// AnonymousCase is the anonymous reporter's view (GET /v1/anonymous/case).
func (c *Client) AnonymousCase(ctx context.Context, who Caller) (ReporterView, error) {
	var out ReporterView
	err := c.do(ctx, http.MethodGet, "/v1/anonymous/case", who, nil, &out)
	return out, err
}

// AnonymousMessage sends the handlers a message as the anonymous reporter.
func (c *Client) AnonymousMessage(ctx context.Context, who Caller, text string) (ReporterView, error) {
	var out ReporterView
	err := c.do(ctx, http.MethodPost, "/v1/anonymous/case/messages", who, TextRequest{Text: text}, &out)
	return out, err
}

// AnonymousCheckin answers retaliation check-in number n.
func (c *Client) AnonymousCheckin(ctx context.Context, who Caller, n int, retaliation bool) (ReporterView, error) {
	var out ReporterView
	err := c.do(ctx, http.MethodPost, "/v1/anonymous/case/checkins/"+strconv.Itoa(n), who, CheckinAnswer{Retaliation: retaliation}, &out)
	return out, err
}

// MyCases lists the signed-in reporter's named reports.
func (c *Client) MyCases(ctx context.Context, who Caller) ([]CaseSummary, error) {
	var out struct {
		Cases []CaseSummary `json:"cases"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/my/cases", who, nil, &out)
	return out.Cases, err
}

// MyCase is a named reporter's view of one of their cases.
func (c *Client) MyCase(ctx context.Context, who Caller, id string) (ReporterView, error) {
	var out ReporterView
	err := c.do(ctx, http.MethodGet, "/v1/my/cases/"+url.PathEscape(id), who, nil, &out)
	return out, err
}

// MyCaseMessage sends the handlers of the reporter's case a message.
func (c *Client) MyCaseMessage(ctx context.Context, who Caller, id, text string) (ReporterView, error) {
	var out ReporterView
	err := c.do(ctx, http.MethodPost, "/v1/my/cases/"+url.PathEscape(id)+"/messages", who, TextRequest{Text: text}, &out)
	return out, err
}

// MyCaseCheckin answers a retaliation check-in of the reporter's case.
func (c *Client) MyCaseCheckin(ctx context.Context, who Caller, id string, n int, retaliation bool) (ReporterView, error) {
	var out ReporterView
	err := c.do(ctx, http.MethodPost, "/v1/my/cases/"+url.PathEscape(id)+"/checkins/"+strconv.Itoa(n), who, CheckinAnswer{Retaliation: retaliation}, &out)
	return out, err
}

// Guidance is a department's published guidance (GET /v1/guidance/{department}).
func (c *Client) Guidance(ctx context.Context, who Caller, department string) (Guidance, error) {
	var out Guidance
	err := c.do(ctx, http.MethodGet, "/v1/guidance/"+url.PathEscape(department), who, nil, &out)
	return out, err
}
