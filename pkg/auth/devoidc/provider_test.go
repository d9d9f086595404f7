package devoidc_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/auth/devoidc"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/config"
)

const (
	clientID = "deiops-portal"
	secret   = "a-client-secret-of-some-length"
	redirect = "http://127.0.0.1:9999/auth/callback"
)

type fixture struct {
	srv  *httptest.Server
	dev  *auth.DevIssuer
	conf oauth2.Config
	prov *oidc.Provider
}

// setup serves the provider and discovers it with go-oidc, as the portal does.
func setup(t *testing.T) fixture {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	dev, err := auth.NewDevIssuer("", auth.DevIssuerOptions{Aliases: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := dev.As(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := devoidc.New(devoidc.Options{Issuer: iss,
		Clients: []devoidc.Client{{ID: clientID, Secret: secret, RedirectURIs: []string{redirect}}},
		Personas: func(context.Context) ([]devoidc.Persona, error) {
			return []devoidc.Persona{{Subject: "dev-resident", Name: "Mei Chen", Roles: []string{"resident"}}}, nil
		},
		CodeTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	h = p.Handler()
	prov, err := oidc.NewProvider(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	return fixture{srv: srv, dev: dev, prov: prov, conf: oauth2.Config{ClientID: clientID, ClientSecret: secret,
		Endpoint: prov.Endpoint(), RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "profile"}}}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// pick opens the authorization URL, checks the picker, and picks a persona.
func (f fixture) pick(t *testing.T, authURL, persona string) url.Values {
	t.Helper()
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Mei Chen") {
		t.Fatalf("picker: %d %s", resp.StatusCode, body)
	}
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("persona", persona)
	resp, err = noRedirect.PostForm(f.srv.URL+devoidc.PathAuthorize, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("after the pick: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func TestCodeFlowWithPKCEConformsForGoOIDCAndOAuth2(t *testing.T) {
	f := setup(t)
	verifier := oauth2.GenerateVerifier()
	authURL := f.conf.AuthCodeURL("state-1", oidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(verifier))
	back := f.pick(t, authURL, "dev-resident")
	if back.Get("state") != "state-1" || back.Get("code") == "" {
		t.Fatalf("callback query %v", back)
	}
	ctx := context.Background()
	tok, err := f.conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.prov.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var claims struct {
		Name string `json:"name"`
	}
	_ = idt.Claims(&claims)
	if idt.Subject != "dev-resident" || idt.Nonce != "nonce-1" || claims.Name != "Mei Chen" {
		t.Fatalf("id token sub %q nonce %q name %q", idt.Subject, idt.Nonce, claims.Name)
	}
	// The access token is what the API verifies: the platform's verifier
	// in dev mode accepts it (issuer alias, audience deiops, roles).
	v, err := auth.NewVerifier(config.Auth{Audience: "deiops", Algorithms: []string{"ES256"}, RoleClaim: "roles", Dev: true}, auth.WithDevIssuer(f.dev))
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(ctx, tok.AccessToken)
	if err != nil || p.Subject != "dev-resident" || !p.HasRole(caller.Resident) || p.ClientID != clientID {
		t.Fatalf("API verifier: %+v %v", p, err)
	}
	info, err := f.prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != "dev-resident" {
		t.Fatalf("userinfo: %+v %v", info, err)
	}
	// A code is single-use.
	if _, err := f.conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was exchanged twice")
	}
}

func TestTokenEndpointRefusesWhatTheSpecForbids(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	flow := func() (code, verifier string) {
		verifier = oauth2.GenerateVerifier()
		back := f.pick(t, f.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "dev-resident")
		return back.Get("code"), verifier
	}
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		code, _ := flow()
		if _, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("exchange with another verifier: %v", err)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		code, v := flow()
		bad := f.conf
		bad.ClientSecret = "not-the-secret-at-all"
		if _, err := bad.Exchange(ctx, code, oauth2.VerifierOption(v)); err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("exchange with a wrong secret: %v", err)
		}
	})
	t.Run("different redirect URI", func(t *testing.T) {
		code, v := flow()
		other := f.conf
		other.RedirectURL = redirect + "/other"
		if _, err := other.Exchange(ctx, code, oauth2.VerifierOption(v)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("exchange with another redirect URI: %v", err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		var skew atomic.Int64
		g := setupTTL(t, time.Minute, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
		v := oauth2.GenerateVerifier()
		back := g.pick(t, g.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), "dev-resident")
		skew.Store(int64(2 * time.Minute))
		if _, err := g.conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(v)); err == nil {
			t.Fatal("an expired code was exchanged")
		}
	})
	t.Run("no PKCE", func(t *testing.T) {
		resp, err := noRedirect.Get(f.conf.AuthCodeURL("s"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") {
			t.Fatalf("authorization without PKCE: %d %q", resp.StatusCode, loc)
		}
	})
	t.Run("unregistered redirect URI is never redirected to", func(t *testing.T) {
		other := f.conf
		other.RedirectURL = "https://evil.example/cb"
		resp, err := noRedirect.Get(other.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("unregistered redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// setupTTL is setup with a short code lifetime.
func setupTTL(t *testing.T, ttl time.Duration, now func() time.Time) fixture {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	dev, _ := auth.NewDevIssuer("", auth.DevIssuerOptions{Issuer: srv.URL})
	p, err := devoidc.New(devoidc.Options{Issuer: dev,
		Clients: []devoidc.Client{{ID: clientID, Secret: secret, RedirectURIs: []string{redirect}}},
		Personas: func(context.Context) ([]devoidc.Persona, error) {
			return []devoidc.Persona{{Subject: "dev-resident", Name: "Mei Chen"}}, nil
		},
		CodeTTL: ttl, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h = p.Handler()
	prov, err := oidc.NewProvider(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{srv: srv, dev: dev, prov: prov, conf: oauth2.Config{ClientID: clientID, ClientSecret: secret,
		Endpoint: prov.Endpoint(), RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID}}}
}
