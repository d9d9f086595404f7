// Package devenv starts the embedded infrastructure of `deiops dev`: a
// nats-server with JetStream, a Temporal server on SQLite and, unless
// DEIOPS_REDIS_URL names one, an in-process Redis-protocol server. It keeps
// everything (streams, workflows, generated secrets, the dev issuer's key,
// the ports it listened on) in one data directory so a restart finds
// earlier data at the same addresses.
package devenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/auth/devoidc"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/devstack"
)

// Options chooses the data directory and preferred ports.
type Options struct {
	DataDir string
	// Preferred ports, tried after those of the last run (ports.json in
	// DataDir); taken ones are replaced by free ports.
	NATSPort, TemporalPort, RedisPort, HTTPPort, OIDCPort int
}

// Env is the running embedded infrastructure and the configuration that
// points deiops at it.
type Env struct {
	Config    config.Config
	DevIssuer *auth.DevIssuer
	NATS      *devstack.NATSServer
	Redis     *devstack.RedisServer // nil when DEIOPS_REDIS_URL is set
	HTTPAddr  string
	// OIDCURL is the development OpenID provider (the dev issuer served
	// with a persona picker); the portal signs in there.
	OIDCURL  string
	oidc     *http.Server
	temporal *temporalStart
}

// temporalStart is the embedded Temporal server coming up in the
// background. After a kill -9 under load its recovery takes seconds (it
// replays the tasks the dead process left while its system workers start,
// all on one SQLite file); the API serves meanwhile, as it does whenever
// Temporal is unreachable, and escalations start once it is up.
type temporalStart struct {
	done chan struct{} // closed once srv and err are set
	srv  *devstack.TemporalServer
	err  error
	took time.Duration
}

// TemporalReady waits until the embedded Temporal server answers and
// returns how long it took to start, or why it did not.
func (e *Env) TemporalReady(ctx context.Context) (time.Duration, error) {
	select {
	case <-e.temporal.done:
		return e.temporal.took, e.temporal.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

type secrets struct {
	Keyring    string `json:"keyring"`
	HMACSecret string `json:"hmac_secret"`
	// PortalClientSecret authenticates the portal at the dev provider.
	PortalClientSecret string `json:"portal_client_secret,omitempty"`
}

// Start brings the infrastructure up; Stop brings it down.
func Start(ctx context.Context, o Options) (e *Env, err error) {
	if o.DataDir == "" {
		o.DataDir = ".deiops"
	}
	if o.NATSPort == 0 {
		o.NATSPort = 4222
	}
	if o.TemporalPort == 0 {
		o.TemporalPort = 7233
	}
	if o.RedisPort == 0 {
		o.RedisPort = 6379
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = 8080
	}
	if o.OIDCPort == 0 {
		o.OIDCPort = 8090
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	cfg, err := config.Read()
	if err != nil {
		return nil, err
	}
	e = &Env{}
	// Every failure below returns a nil Env; what started is stopped here.
	started := e
	defer func() {
		if err != nil {
			started.Stop()
		}
	}()

	const host = "127.0.0.1"
	portsPath := filepath.Join(o.DataDir, portsFile)
	last := loadPorts(portsPath)
	used := ports{Redis: last.Redis} // kept while DEIOPS_REDIS_URL names another
	np, err := pickPort(host, last.NATS, o.NATSPort)
	if err != nil {
		return nil, err
	}
	used.NATS = np
	if e.NATS, err = devstack.StartNATS(devstack.NATSOptions{Host: host, Port: np, StoreDir: filepath.Join(o.DataDir, "nats")}); err != nil {
		return nil, err
	}
	tp, err := pickPort(host, last.Temporal, o.TemporalPort)
	if err != nil {
		return nil, err
	}
	used.Temporal = tp
	ts := &temporalStart{done: make(chan struct{})}
	e.temporal = ts
	go func() {
		defer close(ts.done)
		began := time.Now()
		ts.srv, ts.err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
			Host: host, Port: tp, DBFile: filepath.Join(o.DataDir, "temporal.sqlite"), Namespace: cfg.Temporal.Namespace,
		})
		ts.took = time.Since(began)
	}()
	if cfg.Redis.URL == "" {
		rp, err := pickPort(host, last.Redis, o.RedisPort)
		if err != nil {
			return nil, err
		}
		used.Redis = rp
		if e.Redis, err = devstack.StartRedis(host, rp); err != nil {
			return nil, err
		}
		cfg.Redis.URL = e.Redis.URL()
	}
	hp, err := pickPort(host, last.HTTP, o.HTTPPort)
	if err != nil {
		return nil, err
	}
	used.HTTP = hp
	e.HTTPAddr = net.JoinHostPort(host, strconv.Itoa(hp))
	op, err := pickPort(host, last.OIDC, o.OIDCPort)
	if err != nil {
		return nil, err
	}
	used.OIDC = op
	oidcLn, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(op)))
	if err != nil {
		return nil, fmt.Errorf("dev oidc provider: %w", err)
	}
	defer func() {
		if err != nil {
			_ = oidcLn.Close()
		}
	}()
	e.OIDCURL = "http://" + oidcLn.Addr().String()

	sec, err := loadSecrets(filepath.Join(o.DataDir, "secrets.json"))
	if err != nil {
		return nil, err
	}
	cfg.NATS.URL = e.NATS.URL()
	cfg.Temporal.Address = net.JoinHostPort(host, strconv.Itoa(tp))
	cfg.HTTPAddr = e.HTTPAddr
	cfg.HTTP.PublicURL = "http://" + e.HTTPAddr
	if cfg.Crypto.Keyring == "" {
		cfg.Crypto.Keyring = sec.Keyring
	}
	if cfg.Privacy.HMACSecret == "" {
		cfg.Privacy.HMACSecret = sec.HMACSecret
	}
	cfg.Auth.Dev = true
	if cfg.Auth.DevKeyFile == "" {
		cfg.Auth.DevKeyFile = filepath.Join(o.DataDir, "dev-issuer.pem")
	}
	// The portal signs in at the dev provider exactly as it would at the
	// hospital's: discovery, code + PKCE, a confidential client.
	if cfg.Portal.IssuerURL == "" {
		cfg.Portal.IssuerURL = e.OIDCURL
		cfg.Portal.ClientSecret = sec.PortalClientSecret
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	e.Config = cfg
	// Tokens from `deiops token` keep the fixed dev issuer; the provider's
	// carry its URL, which moves with its port. Both are trusted in dev.
	if e.DevIssuer, err = auth.NewDevIssuer(cfg.Auth.DevKeyFile, auth.DevIssuerOptions{Audience: cfg.Auth.Audience,
		RoleClaim: cfg.Auth.RoleClaim, Aliases: []string{e.OIDCURL}}); err != nil {
		return nil, err
	}
	if err = e.serveOIDC(oidcLn, sec.PortalClientSecret); err != nil {
		return nil, err
	}
	if err = savePorts(portsPath, used); err != nil {
		return nil, err
	}
	return e, nil
}

// serveOIDC starts the development OpenID provider on ln.
func (e *Env) serveOIDC(ln net.Listener, clientSecret string) error {
	iss, err := e.DevIssuer.As(e.OIDCURL)
	if err != nil {
		return err
	}
	portal := e.Config.HTTP.PublicURL
	if e.Config.Portal.PublicURL != "" {
		portal = strings.TrimSuffix(e.Config.Portal.PublicURL, "/")
	}
	p, err := devoidc.New(devoidc.Options{
		Issuer: iss,
		Clients: []devoidc.Client{{ID: e.Config.Portal.ClientID, Secret: clientSecret,
			RedirectURIs:           []string{portal + "/auth/callback"},
			PostLogoutRedirectURIs: []string{portal + "/?signed_out=1"}}},
		Personas: func(context.Context) ([]devoidc.Persona, error) { return OIDCPersonas(), nil },
	})
	if err != nil {
		return err
	}
	e.oidc = &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.oidc.Serve(ln) }()
	return nil
}

// loadSecrets reads the generated keyring and HMAC secret, creating them
// on first use (mode 0600): data encrypted in an earlier run must stay
// readable after a restart.
func loadSecrets(path string) (secrets, error) {
	var s secrets
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("read %s: %w", path, err)
		}
		if s.PortalClientSecret != "" {
			return s, nil
		}
		// A data directory from before the portal: add its client secret.
	case !errors.Is(err, os.ErrNotExist):
		return s, fmt.Errorf("read %s: %w", path, err)
	default:
		_, ring, err := crypto.GenerateKeyring()
		if err != nil {
			return s, err
		}
		key := make([]byte, 32)
		if _, err := randRead(key); err != nil {
			return s, err
		}
		s = secrets{Keyring: ring, HMACSecret: base64.StdEncoding.EncodeToString(key)}
	}
	cs := make([]byte, 32)
	if _, err := randRead(cs); err != nil {
		return s, err
	}
	s.PortalClientSecret = base64.RawURLEncoding.EncodeToString(cs)
	b, _ = json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return s, fmt.Errorf("write %s: %w", path, err)
	}
	return s, nil
}

// Stop shuts the embedded servers down, Temporal first (it depends on
// nothing else here, but it is the slowest).
func (e *Env) Stop() {
	if e.oidc != nil {
		_ = e.oidc.Close()
		e.oidc = nil
	}
	if e.temporal != nil {
		// A Temporal server stopped while it starts can panic in its
		// membership ring; it stops once its start has ended.
		<-e.temporal.done
		if e.temporal.srv != nil {
			_ = e.temporal.srv.Stop()
		}
		e.temporal = nil
	}
	if e.Redis != nil {
		e.Redis.Stop()
		e.Redis = nil
	}
	if e.NATS != nil {
		e.NATS.Stop()
		e.NATS = nil
	}
}

func randRead(b []byte) (int, error) { return rand.Read(b) }
