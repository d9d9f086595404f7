package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/deiops/deiops/pkg/config"
)

// Options configures a Server. Zero values are safe except where noted.
type Options struct {
	Addr   string // listen address, e.g. ":8080"
	Logger *slog.Logger
	// Telemetry comes in explicitly; nil means no-op, never the otel globals.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	Config         config.HTTP

	// Redis backs rate limiting and idempotency keys; nil turns both off.
	Redis *redis.Client
	// RedisKeyPrefix starts every key this package writes (default "deiops:http:").
	RedisKeyPrefix string
	// KeySecret keys the hashes in Redis key names (the privacy HMAC secret,
	// decoded); required with Redis.
	KeySecret []byte
	// Sealer encrypts stored idempotent responses; required with Redis.
	Sealer Sealer

	// Identity names the authenticated caller ("" when anonymous). Rate
	// limiting and idempotency call it after Middleware and RouteMiddleware,
	// so authentication in either can set what it reads.
	Identity func(*http.Request) string
	// ClientIP is the client address for anonymous callers (default RemoteIP).
	ClientIP func(*http.Request) string
	// TrustedProxies may name the client in X-Forwarded-For (ForwardedFor);
	// empty trusts no one.
	TrustedProxies []netip.Prefix

	// Middleware run for every request that reaches the router, matched or
	// not, after the body limit.
	Middleware []Middleware
	// RouteMiddleware wrap each route knowing its Operation, e.g.
	// authentication (required or optional per op.Public) and role checks.
	// They run before rate limiting and idempotency.
	RouteMiddleware []RouteMiddleware

	// Health serves /healthz and /readyz (default: no readiness checks).
	Health *Health
	// MetricsHandler, when set, is served at GET /metrics.
	MetricsHandler http.Handler

	// APITitle and APIVersion describe the API in GET /openapi.json.
	APITitle, APIVersion string
	// ShutdownTimeout bounds the graceful shutdown ListenAndServe does when
	// its context ends (default 10s).
	ShutdownTimeout time.Duration
}

// Server is the HTTP server of a deiops process.
type Server struct {
	srv             *http.Server
	router          *Router
	shutdownTimeout time.Duration

	mu       sync.Mutex
	listener net.Listener
}

// NewServer wires the middleware chain, router, health and metrics
// endpoints. It reports every configuration problem at once.
func NewServer(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Health == nil {
		o.Health = NewHealth(0)
	}
	if o.RedisKeyPrefix == "" {
		o.RedisKeyPrefix = "deiops:http:"
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.ClientIP == nil {
		o.ClientIP = RemoteIP
	}
	var errs []error
	if o.Config.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("http server: max body bytes %d must be positive", o.Config.MaxBodyBytes))
	}

	var rateLimit, idempotency Middleware
	if o.Redis != nil {
		rl, err := NewRateLimiter(o.Redis, RateLimitOptions{
			PerMinute: o.Config.RateLimit, Burst: o.Config.RateBurst,
			KeyPrefix: o.RedisKeyPrefix, KeySecret: o.KeySecret,
			Identity: o.Identity, ClientIP: o.ClientIP, Logger: o.Logger,
		})
		if err != nil {
			errs = append(errs, err)
		} else {
			rateLimit = rl.Middleware()
		}
		idempotency, err = Idempotency(IdempotencyOptions{
			Store:  NewRedisIdempotencyStore(o.Redis, o.RedisKeyPrefix),
			Sealer: o.Sealer, KeySecret: o.KeySecret,
			TTL: o.Config.IdempotencyTTL, LockTTL: lockTTL(o.Config),
			Identity: o.Identity, ClientIP: o.ClientIP,
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	metrics, err := Metrics(o.MeterProvider)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	router := NewRouter(RouterOptions{
		Title: o.APITitle, Version: o.APIVersion, ServerURL: o.Config.PublicURL,
		RouteMiddleware: o.RouteMiddleware, RateLimit: rateLimit, Idempotency: idempotency,
	})
	chain := []Middleware{
		ForwardedFor(o.TrustedProxies),
		RequestID(),
		ContextLogger(o.Logger),
		Trace(o.TracerProvider, o.Propagator),
		metrics,
		AccessLog(o.Logger),
		Recover(),
		RequestDeadline(requestBudget(o.Config.WriteTimeout)),
		LimitBody(o.Config.MaxBodyBytes),
	}
	chain = append(chain, o.Middleware...)

	// Probes and scrapes skip the chain: they are not API operations, must
	// not be rate limited, and tracing or logging them every few seconds is
	// noise.
	routed := Chain(chain...)(router)
	live, ready := o.Health.Live(), o.Health.Ready()
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			switch {
			case r.URL.Path == "/healthz":
				live.ServeHTTP(w, r)
				return
			case r.URL.Path == "/readyz":
				ready.ServeHTTP(w, r)
				return
			case r.URL.Path == "/metrics" && o.MetricsHandler != nil:
				o.MetricsHandler.ServeHTTP(w, r)
				return
			}
		}
		routed.ServeHTTP(w, r)
	})

	return &Server{
		srv: &http.Server{
			Addr:              o.Addr,
			Handler:           root,
			ReadHeaderTimeout: min(o.Config.ReadTimeout, 10*time.Second),
			ReadTimeout:       o.Config.ReadTimeout,
			WriteTimeout:      o.Config.WriteTimeout,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		},
		router:          router,
		shutdownTimeout: o.ShutdownTimeout,
	}, nil
}

// lockTTL outlives the longest a handler may run (the write timeout), so a
// live request never loses its idempotency claim, yet a crashed one frees it.
func lockTTL(c config.HTTP) time.Duration {
	if c.WriteTimeout <= 0 {
		return time.Minute
	}
	return c.WriteTimeout + 30*time.Second
}

// Router is where services register their operations.
func (s *Server) Router() *Router { return s.router }

// Handler is the whole server handler, for tests with httptest.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Addr is the address being listened on, once serving ("" before).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// ListenAndServe listens on Options.Addr and serves until ctx ends, then
// shuts down gracefully within Options.ShutdownTimeout.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("http server: listen on %s: %w", s.srv.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener, which it closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	s.listener = ln
	s.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil // Shutdown was called directly
		}
		return fmt.Errorf("http server: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	shutdownErr := s.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(shutdownErr, fmt.Errorf("http server: serve: %w", err))
	}
	return shutdownErr
}

// Shutdown stops accepting connections and waits for in-flight requests to
// finish. If ctx ends first, remaining connections are closed and the
// context's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		closeErr := s.srv.Close()
		return errors.Join(fmt.Errorf("http server: graceful shutdown: %w", err), closeErr)
	}
	return nil
}
