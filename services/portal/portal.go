// Package portal is the web portal target: server-rendered pages for the
// people who report and follow their reports (and, later, for the people
// who resolve them). It renders HTML and talks to the services only
// through their public HTTP API, as the signed-in person (OIDC code flow
// with PKCE) or as the anonymous reporter (case key and secret). It stores
// no domain data: its only state is sign-in sessions, sealed, in Redis or
// memory.
//
// Layers: apiclient (the typed API client), signin (the OIDC relying
// party), session (sessions and sealed cookies), i18n (words and dates in
// every language), web (pages, templates, headers and form tokens). This
// file is the target's composition.
package portal

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/services/portal/apiclient"
	"github.com/deiops/deiops/services/portal/i18n"
	"github.com/deiops/deiops/services/portal/session"
	"github.com/deiops/deiops/services/portal/signin"
	"github.com/deiops/deiops/services/portal/web"
)

// Name is the target name used by --target.
const Name = "portal"

// CallbackPath is the sign-in redirect URI's path, to register at the
// identity provider as PUBLIC_URL + CallbackPath.
const CallbackPath = "/auth/callback"

// Service is the portal target.
type Service struct {
	platform.Unimplemented
	web *web.Handler
}

// New builds the portal from its dependencies. With zero Deps (the
// OpenAPI and catalog builders) it registers nothing: pages are not API
// operations.
func New(d platform.Deps) (*Service, error) {
	s := &Service{}
	if d.Keyring == nil || d.Hasher == nil {
		return s, nil
	}
	cfg := d.Config.Portal
	apiBase := cfg.APIURL
	if apiBase == "" {
		apiBase = d.SelfURL
	}
	if apiBase == "" {
		return nil, errors.New("portal: DEIOPS_PORTAL_API_URL is required when the process does not serve the API itself")
	}
	api, err := apiclient.New(apiBase, cfg.APITimeout, d.Propagator)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	public, err := url.Parse(cmpOr(cfg.PublicURL, d.Config.HTTP.PublicURL))
	if err != nil || public.Host == "" {
		return nil, fmt.Errorf("portal: public URL %q is not absolute", cmpOr(cfg.PublicURL, d.Config.HTTP.PublicURL))
	}
	public.Path = strings.TrimSuffix(public.Path, "/")
	tz, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("portal: DEIOPS_PORTAL_TIME_ZONE: %w", err)
	}
	var store session.Store = session.NewMemoryStore()
	if d.Redis != nil {
		store = session.NewRedisStore(d.Redis)
	}
	secure := !LoopbackHTTP(public)
	sessions, err := session.New(session.Options{Store: store, Sealer: d.Keyring, Hasher: d.Hasher,
		Idle: cfg.SessionIdle, Max: cfg.SessionMax, Secure: secure})
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	var sign *signin.Client
	if cfg.IssuerURL != "" {
		sign, err = signin.New(signin.Options{IssuerURL: cfg.IssuerURL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			RedirectURL: public.String() + CallbackPath, Scopes: cfg.Scopes, RoleClaim: d.Config.Auth.RoleClaim})
		if err != nil {
			return nil, fmt.Errorf("portal: %w", err)
		}
	}
	catalog, err := i18n.Load()
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	log := d.Logger
	if log != nil {
		log = log.With("component", "portal")
	}
	s.web, err = web.New(web.Options{API: api, Sessions: sessions, SignIn: sign, Catalog: catalog,
		Forms: web.NewForms(d.Hasher, 24*time.Hour), Sealer: d.Keyring, Hasher: d.Hasher,
		PublicURL: public, TZ: tz, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	return s, nil
}

// Name implements platform.Target.
func (s *Service) Name() string { return Name }

// Routes mounts the pages (none of them is an API operation).
func (s *Service) Routes(r *httpapi.Router) {
	if s.web != nil {
		s.web.Mount(r.Page)
		r.NotFoundPage(s.web.NotFound())
	}
}

// Start implements platform.Target; the portal has no background work
// (the identity provider is discovered at the first sign-in).
func (s *Service) Start(context.Context) error { return nil }

// LoopbackHTTP reports whether u is plain http on a loopback host, the
// one case where cookies cannot be Secure (a developer's machine).
func LoopbackHTTP(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	switch h := u.Hostname(); h {
	case "localhost", "127.0.0.1", "::1":
		return true
	default:
		return strings.HasPrefix(h, "127.")
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
