package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/deiops/deiops/pkg/httpapi"
)

// TokenVerifier turns a bearer token into a principal; *Verifier implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Principal, error)
}

// MiddlewareOptions configures NewMiddleware; zero values take defaults.
type MiddlewareOptions struct {
	// Now is the clock for audit records; default time.Now.
	Now func() time.Time
	// RequestID extracts the request id; default the X-Request-Id header
	// when it is a short token of safe characters.
	RequestID func(*http.Request) string
	// Logger records token failures in detail at debug level and key-set
	// outages at warn level; default slog.Default().
	Logger *slog.Logger
	// Realm is the WWW-Authenticate realm; default "deiops".
	Realm string
}

// Middleware authenticates requests and enforces roles. Mount it per route,
// inside the router, so that the audit trail can name the route pattern
// (r.Pattern is set only once http.ServeMux has matched the route):
//
//	mux.Handle("GET /v1/cases/{id}", mw.Authenticate(mw.Require(caller.Resolver)(h)))
type Middleware struct {
	verifier  TokenVerifier
	audit     AuditSink
	now       func() time.Time
	requestID func(*http.Request) string
	log       *slog.Logger
	realm     string
}

// NewMiddleware returns middleware verifying tokens with v and recording
// every denial in audit.
func NewMiddleware(v TokenVerifier, audit AuditSink, opts MiddlewareOptions) (*Middleware, error) {
	if v == nil {
		return nil, fmt.Errorf("auth middleware: nil verifier")
	}
	if audit == nil {
		return nil, fmt.Errorf("auth middleware: nil audit sink; denials must be audited")
	}
	m := &Middleware{verifier: v, audit: audit, now: opts.Now, requestID: opts.RequestID, log: opts.Logger, realm: opts.Realm}
	if m.now == nil {
		m.now = time.Now
	}
	if m.requestID == nil {
		m.requestID = headerRequestID
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.realm == "" {
		m.realm = "deiops"
	}
	return m, nil
}

// Authenticate requires a valid bearer token and puts its Principal in the
// request context. Anything else is answered 401 and audited.
func (m *Middleware) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := m.authenticate(r)
		if err != nil {
			m.unauthorized(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Optional lets requests without an Authorization header through anonymously
// (no Principal in the context), for the few public routes such as an
// anonymous report intake. A request that does present credentials must
// present valid ones: a bad token is answered 401, not downgraded to
// anonymous, so callers notice expired sessions.
func (m *Middleware) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, present := r.Header["Authorization"]; !present {
			next.ServeHTTP(w, r)
			return
		}
		m.Authenticate(next).ServeHTTP(w, r)
	})
}

// Require admits principals holding at least one of roles; others get 403
// (or 401 when no principal is present, e.g. behind Optional). Both are
// audited. Require with no roles is a wiring mistake and panics when the
// route is built, like http.ServeMux does for bad patterns.
func (m *Middleware) Require(roles ...Role) func(http.Handler) http.Handler {
	if len(roles) == 0 {
		panic("auth: Require needs at least one role")
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	reason := string(ErrInsufficientRole) + " " + strings.Join(names, " or ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				m.unauthorized(w, r, ErrNotAuthenticated)
				return
			}
			if !p.HasAnyRole(roles...) {
				m.record(r, p.Subject, reason, http.StatusForbidden)
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="insufficient_scope"`, m.realm))
				httpapi.WriteProblem(w, r, httpapi.Forbidden("You do not have permission to perform this action."))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (m *Middleware) authenticate(r *http.Request) (*Principal, error) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return nil, ErrMissingToken
	case len(values) > 1:
		return nil, fmt.Errorf("%w: several Authorization headers", ErrMalformed)
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, fmt.Errorf("%w: not a Bearer authorization", ErrMalformed)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, ErrMissingToken
	}
	return m.verifier.Verify(r.Context(), token)
}

// unauthorized answers every authentication failure identically; only the
// audit record and the debug log say why.
func (m *Middleware) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	reason := Reason(err)
	m.record(r, "anonymous", reason, http.StatusUnauthorized)
	if errors.Is(err, ErrKeySetUnavailable) {
		m.log.WarnContext(r.Context(), "bearer token not checked: signing keys unavailable", "err", err)
	} else {
		m.log.DebugContext(r.Context(), "bearer token rejected", "reason", reason, "err", err)
	}
	// RFC 6750 §3.1: a request without credentials gets no error code.
	challenge := fmt.Sprintf("Bearer realm=%q", m.realm)
	if !errors.Is(err, ErrMissingToken) && !errors.Is(err, ErrNotAuthenticated) {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	httpapi.WriteProblem(w, r, httpapi.Unauthorized("A valid bearer token is required."))
}

func (m *Middleware) record(r *http.Request, actor, reason string, status int) {
	rec := AuditRecord{
		Time:      m.now().UTC(),
		Actor:     actor,
		Action:    action(r),
		Outcome:   OutcomeDenied,
		Reason:    reason,
		Status:    status,
		RequestID: m.requestID(r),
	}
	if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
		rec.TraceID = sc.TraceID().String()
	}
	m.audit.Record(r.Context(), rec)
}

// action names the route by its pattern; the raw path would put record ids
// (and, with the query, search terms) into the audit trail.
func action(r *http.Request) string {
	p := r.Pattern
	if p == "" {
		return r.Method + " (unrouted)"
	}
	if i := strings.IndexAny(p, " \t"); i > 0 && !strings.Contains(p[:i], "/") {
		return r.Method + " " + strings.TrimSpace(p[i:])
	}
	return r.Method + " " + p
}

func headerRequestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		return ""
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return id
}

// Route applies an operation's access rule to its handler: public routes
// accept an optional token, every other route needs a valid one, and
// routes with roles need one of them. It is the router's route
// middleware (httpapi.RouterOptions.RouteMiddleware).
func (m *Middleware) Route(op httpapi.Operation, next http.Handler) http.Handler {
	if op.Public {
		return m.Optional(next)
	}
	if len(op.Roles) > 0 {
		roles := op.Roles
		next = m.Require(roles...)(next)
	}
	return m.Authenticate(next)
}
