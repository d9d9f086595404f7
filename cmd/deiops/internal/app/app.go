// Package app is the composition root: it loads nothing itself, it takes a
// validated configuration and builds one deiops process — telemetry, the
// bus, Temporal, Redis, authentication, the HTTP server and every target
// the configuration names — and runs it until its context ends.
package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/deiops/deiops/pkg/audit"
	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/natsstore"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/orchestration"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/pkg/probe"
	"github.com/deiops/deiops/pkg/telemetry"
	"github.com/deiops/deiops/services/awareness"
	"github.com/deiops/deiops/services/connection"
	"github.com/deiops/deiops/services/portal"
	"github.com/deiops/deiops/services/resolution"
)

// Constructor builds one target from its dependencies.
type Constructor func(platform.Deps) (platform.Target, error)

// Targets maps each target name to its constructor.
func Targets() map[string]Constructor {
	return map[string]Constructor{
		awareness.Name:  func(d platform.Deps) (platform.Target, error) { return awareness.New(d) },
		connection.Name: func(d platform.Deps) (platform.Target, error) { return connection.New(d) },
		resolution.Name: func(d platform.Deps) (platform.Target, error) { return resolution.New(d) },
		portal.Name:     func(d platform.Deps) (platform.Target, error) { return portal.New(d) },
	}
}

// platformEvents are declared by shared platform parts, present in every
// process whatever targets it runs.
func platformEvents() []events.Event {
	evs := append([]events.Event{}, probe.Events()...)
	evs = append(evs, directory.Events()...)
	evs = append(evs, notify.Events()...)
	return append(evs, audit.Events()...)
}

// Catalog is every event type the platform declares (AsyncAPI source).
func Catalog() (*events.Catalog, error) {
	evs := platformEvents()
	for _, name := range config.TargetNames() {
		t, err := Targets()[name](platform.Deps{})
		if err != nil {
			return nil, err
		}
		evs = append(evs, t.Events()...)
	}
	return events.NewCatalog(evs...)
}

// Options configures a process.
type Options struct {
	Config    config.Config
	Version   string
	LogOutput io.Writer
	// DevIssuer, when set, is trusted for tokens (deiops dev).
	DevIssuer *auth.DevIssuer
	// Listener, when set, is served instead of listening on Config.HTTPAddr.
	Listener net.Listener
	// SpanProcessors receive every span (tests record them).
	SpanProcessors []sdktrace.SpanProcessor
}

// App is one running deiops process.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	tel      *telemetry.Telemetry
	bus      *bus.Bus
	temporal client.Client
	redis    *redis.Client
	server   *httpapi.Server
	listener net.Listener
	targets  []platform.Target
	deps     platform.Deps
	catalog  *events.Catalog

	// directory is shared by every target, so it exists once per process.
	directory *natsstore.Store

	consumers []*bus.Consumer
	running   []*bus.Running
	// workers builds each target's Temporal worker. The SDK remembers a
	// worker's first Start, error included, so a start that failed (a
	// Temporal not yet serving) is retried with a freshly built worker.
	workers []func() worker.Worker

	workersMu    sync.Mutex
	started      []worker.Worker
	stopStarting context.CancelFunc
	workersDone  chan struct{}
}

// New builds the process; nothing runs until Run.
func New(ctx context.Context, o Options) (a *App, err error) {
	cfg := o.Config
	a = &App{cfg: cfg}
	// A failing return sets a to nil; the clean-up works on what was built.
	built := a
	defer func() {
		if err != nil {
			if built.listener != nil && o.Listener == nil {
				_ = built.listener.Close()
			}
			built.close(context.Background())
		}
	}()
	// Listening comes first so that targets know the process's own
	// address (the portal calls the API there in target all).
	if o.Listener != nil {
		a.listener = o.Listener
	} else if a.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	trusted, err := cfg.HTTP.TrustedProxyPrefixes()
	if err != nil {
		return nil, fmt.Errorf("DEIOPS_HTTP_TRUSTED_PROXIES: %w", err)
	}
	a.tel, err = telemetry.New(ctx, telemetry.Options{
		ServiceName: "deiops-" + strings.ReplaceAll(cfg.Target, ",", "-"), Version: o.Version,
		LogLevel: cfg.LogLevel, LogFormat: cfg.LogFormat, LogOutput: o.LogOutput, SpanProcessors: o.SpanProcessors,
	})
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	a.log = a.tel.Logger

	keyring, err := crypto.ParseKeyring(cfg.Crypto.Keyring)
	if err != nil {
		return nil, fmt.Errorf("DEIOPS_CRYPTO_KEYRING: %w", err)
	}
	hasher, err := crypto.ParseHasher(cfg.Privacy.HMACSecret)
	if err != nil {
		return nil, fmt.Errorf("DEIOPS_PRIVACY_HMAC_SECRET: %w", err)
	}
	hmacKey, _ := base64.StdEncoding.DecodeString(cfg.Privacy.HMACSecret)

	a.bus, err = bus.Connect(ctx, bus.Options{
		Name: "deiops-" + cfg.Target, Source: events.Installation(cfg.Installation), NATS: cfg.NATS,
		Logger: a.log, TracerProvider: a.tel.TracerProvider, MeterProvider: a.tel.MeterProvider, Propagator: a.tel.Propagator,
	})
	if err != nil {
		return nil, err
	}
	if a.directory, err = natsstore.New(ctx, a.bus, natsstore.Options{Sealer: keyring, Logger: a.log.With("component", "directory")}); err != nil {
		return nil, err
	}
	// Notification delivery, like the directory, exists once per process.
	notifier, err := a.newNotifier()
	if err != nil {
		return nil, err
	}
	a.consumers = append(a.consumers, notifier.Consumer())

	codec, err := crypto.NewCodec(keyring)
	if err != nil {
		return nil, fmt.Errorf("temporal codec: %w", err)
	}
	a.temporal, err = orchestration.Dial(orchestration.Options{
		Config: cfg.Temporal, Codec: codec, Logger: a.log.With("component", "temporal"),
		TracerProvider: a.tel.TracerProvider, MeterProvider: a.tel.MeterProvider, Propagator: a.tel.Propagator,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Redis.URL != "" {
		ropts, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return nil, fmt.Errorf("DEIOPS_REDIS_URL: %w", err)
		}
		a.redis = redis.NewClient(ropts)
	}

	a.deps = platform.Deps{Config: cfg, Logger: a.log, Bus: a.bus, Temporal: a.temporal, Keyring: keyring, Hasher: hasher,
		Directory: a.directory, SelfURL: selfURL(a.listener.Addr()), Propagator: a.tel.Propagator}
	if a.redis != nil {
		a.deps.Redis = a.redis
	}
	evs := platformEvents()
	ctors := Targets()
	for _, name := range cfg.Targets() {
		ctor, ok := ctors[name]
		if !ok {
			return nil, fmt.Errorf("unknown target %q", name)
		}
		t, err := ctor(a.deps)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", name, err)
		}
		a.targets = append(a.targets, t)
		evs = append(evs, t.Events()...)
	}
	if a.catalog, err = events.NewCatalog(evs...); err != nil {
		return nil, err
	}

	verifier, err := auth.NewVerifier(cfg.Auth, auth.WithDevIssuer(o.DevIssuer), auth.WithLogger(a.log))
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	authn, err := auth.NewMiddleware(verifier, audit.NewBusSink(a.bus, a.log.With("component", "audit")), auth.MiddlewareOptions{Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}

	health := httpapi.NewHealth(3 * time.Second)
	health.Add("nats", a.bus.Check)
	// Without Temporal, intake keeps accepting (escalations start once it
	// is back) and escalation reads answer 503 with Retry-After; an outage
	// of it must not take every replica out of service, so it degrades.
	health.AddOptional("temporal", func(ctx context.Context) error { return orchestration.Check(ctx, a.temporal) })
	if a.redis != nil {
		health.AddOptional("redis", func(ctx context.Context) error { return a.redis.Ping(ctx).Err() })
	}
	a.server, err = httpapi.NewServer(httpapi.Options{
		Addr: cfg.HTTPAddr, Logger: a.log,
		TracerProvider: a.tel.TracerProvider, MeterProvider: a.tel.MeterProvider, Propagator: a.tel.Propagator,
		Config: cfg.HTTP, Redis: a.redis, RedisKeyPrefix: "deiops:http:", KeySecret: hmacKey, Sealer: keyring,
		TrustedProxies: trusted,
		Identity: func(r *http.Request) string {
			if p, ok := auth.FromContext(r.Context()); ok {
				return p.Subject
			}
			return ""
		},
		RouteMiddleware: []httpapi.RouteMiddleware{authn.Route},

		Health: health, MetricsHandler: a.tel.MetricsHandler,
		APITitle: "deiops " + cfg.Target, APIVersion: APIVersion,
	})
	if err != nil {
		return nil, fmt.Errorf("http server: %w", err)
	}
	dirSvc := directory.NewService(a.directory, directory.ServiceOptions{Logger: a.log.With("component", "directory")})
	registerRoutes(a.server.Router(), a.bus, dirSvc, codec, a.targets)
	for _, t := range a.targets {
		pt := probe.ForTarget(t.Name(), a.deps)
		a.consumers = append(a.consumers, pt.Consumer())
		a.consumers = append(a.consumers, t.Consumers()...)
		a.workers = append(a.workers, func() worker.Worker {
			w := orchestration.NewWorker(a.temporal, a.deps.TaskQueue(t.Name()), worker.Options{})
			pt.Register(w)
			t.Register(w)
			return w
		})
	}
	return a, nil
}

// selfURL is the loopback URL of a listener: an unspecified address
// (":8080") is reached on 127.0.0.1.
func selfURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// newNotifier delivers notification requests through the channels the
// configuration names (email, webhook), or only logs them when it names none.
func (a *App) newNotifier() (*notify.Deliverer, error) {
	log := a.log.With("component", "notify")
	channels, err := notify.ChannelsFromConfig(a.cfg.Notify, log)
	if err != nil {
		return nil, err
	}
	return notify.NewDeliverer(notify.Options{
		Directory: a.directory, Channels: channels, PublicURL: a.cfg.HTTP.PublicURL, Logger: log, MeterProvider: a.tel.MeterProvider,
	})
}

// Addr is the HTTP listen address.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Catalog is the event catalog of the running targets.
func (a *App) Catalog() *events.Catalog { return a.catalog }

// Target returns the running target called name, or nil (tests inspect
// read models through it).
func (a *App) Target(name string) platform.Target {
	for _, t := range a.targets {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

// Router exposes the HTTP routes (OpenAPI drift tests).
func (a *App) Router() *httpapi.Router { return a.server.Router() }

// Run provisions, starts consumers, workers and the HTTP server, and
// blocks until ctx ends; then it shuts down gracefully: stop accepting
// requests, drain consumers, stop workers, flush telemetry.
func (a *App) Run(ctx context.Context) error {
	defer a.close(context.Background())
	if a.cfg.NATS.ProvisionOnStart {
		if err := a.bus.Provision(ctx, a.catalog); err != nil {
			return err
		}
	}
	dl, err := a.bus.StartDeadLetterer(ctx)
	if err != nil {
		return err
	}
	a.running = append(a.running, dl)
	relays, err := a.directory.StartRelay(ctx)
	if err != nil {
		return err
	}
	a.running = append(a.running, relays...)
	// Targets start first: their consumers and activities use the stores
	// Start provisions.
	for _, t := range a.targets {
		if err := t.Start(ctx); err != nil {
			return fmt.Errorf("start %s: %w", t.Name(), err)
		}
	}
	for _, c := range a.consumers {
		if c.Dedup == nil && a.redis != nil {
			// Replicas of a consumer share what they handled; the local
			// window answers most duplicates without a round trip.
			c.Dedup = bus.Layered{bus.NewMemoryDedup(100_000), bus.NewRedisDedup(a.redis, "deiops:", 24*time.Hour, a.cfg.NATS.AckWait)}
		}
		r, err := a.bus.Start(ctx, c)
		if err != nil {
			return err
		}
		a.running = append(a.running, r)
	}
	// Workers start in the background: a process whose Temporal is not
	// reachable yet still serves HTTP and consumes events (intake never
	// waits on Temporal); the workers join when it answers.
	a.startWorkers(ctx)
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.server.Serve(ctx, a.listener) }()
	a.log.Info("deiops serving", "addr", a.Addr(), "targets", a.cfg.Targets())
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// startWorkers starts every Temporal worker once Temporal serves,
// retrying each until it starts or ctx ends. The wait between attempts
// stays short (a health check every few seconds at most), so workers join
// within seconds of a Temporal that comes up late or comes back.
func (a *App) startWorkers(ctx context.Context) {
	ctx, a.stopStarting = context.WithCancel(ctx)
	a.workersDone = make(chan struct{})
	go func() {
		defer close(a.workersDone)
		for _, build := range a.workers {
			for delay := 250 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				err := orchestration.Check(cctx, a.temporal)
				cancel()
				if err == nil {
					w := build()
					if err = w.Start(); err == nil {
						a.workersMu.Lock()
						a.started = append(a.started, w)
						a.workersMu.Unlock()
						break
					}
				}
				a.log.Warn("temporal worker not started; retrying", "error", err, "retry_in", delay)
				t := time.NewTimer(delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}
	}()
}

// stopWorkers stops the workers that started, after the starter gave up.
func (a *App) stopWorkers(ctx context.Context) {
	if a.stopStarting != nil {
		a.stopStarting()
		select {
		case <-a.workersDone:
		case <-ctx.Done():
			a.log.Warn("temporal worker start still pending at shutdown")
		}
	}
	a.workersMu.Lock()
	started := a.started
	a.started = nil
	a.workersMu.Unlock()
	for _, w := range started {
		w.Stop()
	}
	a.workers = nil
}

// close tears down in dependency order; safe on a partly built App.
func (a *App) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, a.shutdownTimeout())
	defer cancel()
	if a.server != nil {
		_ = a.server.Shutdown(ctx)
	}
	for _, r := range a.running {
		if err := r.Stop(ctx); err != nil && a.log != nil {
			a.log.Warn("consumer stop", "error", err)
		}
	}
	a.running = nil
	if a.directory != nil {
		a.directory.Close()
		a.directory = nil
	}
	for _, t := range a.targets {
		_ = t.Stop(ctx)
	}
	a.stopWorkers(ctx)
	if a.temporal != nil {
		a.temporal.Close()
		a.temporal = nil
	}
	if a.bus != nil {
		_ = a.bus.Close(ctx)
		a.bus = nil
	}
	if a.redis != nil {
		_ = a.redis.Close()
		a.redis = nil
	}
	if a.tel != nil {
		_ = a.tel.Shutdown(ctx)
		a.tel = nil
	}
}

func (a *App) shutdownTimeout() time.Duration {
	if a.cfg.ShutdownTTL > 0 {
		return a.cfg.ShutdownTTL
	}
	return 10 * time.Second
}
