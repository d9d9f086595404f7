// Package signin signs staff into the portal with OpenID Connect: the
// authorization code flow with PKCE (S256) as a confidential client,
// golang.org/x/oauth2 for the exchange and go-oidc for discovery and ID
// token verification (signature by the issuer's JWKS, issuer, audience,
// expiry, nonce). The provider is discovered lazily and discovery is
// retried, so a portal whose identity provider is down at start-up still
// serves the anonymous pages and lets staff in once it answers.
//
// The access token is kept (sealed, server-side) and sent to the API as
// the bearer token: the API, not the portal, decides what the person may
// see.
package signin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/deiops/deiops/pkg/auth"
)

// Options configures a Client.
type Options struct {
	IssuerURL    string
	ClientID     string
	ClientSecret string
	// RedirectURL is the portal's callback, registered at the provider.
	RedirectURL string
	Scopes      []string
	// RoleClaim is where the ID token carries roles (dotted path), for
	// showing the right links; the API enforces roles from the access token.
	RoleClaim string
	// HTTPClient talks to the provider (default: 10s timeout).
	HTTPClient *http.Client
	// RetryAfter is how long a failed discovery is remembered (default 10s).
	RetryAfter time.Duration
}

// Client is the portal as an OIDC relying party. Safe for concurrent use.
type Client struct {
	o Options

	mu       sync.Mutex
	ready    *provider
	failedAt time.Time
	lastErr  error
}

type provider struct {
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
}

// New checks o; nothing is fetched until the first sign-in.
func New(o Options) (*Client, error) {
	if o.IssuerURL == "" || o.ClientID == "" || o.ClientSecret == "" || o.RedirectURL == "" {
		return nil, errors.New("signin: issuer, client id, client secret and redirect URL are required")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 10 * time.Second
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{oidc.ScopeOpenID}
	}
	return &Client{o: o}, nil
}

// IssuerOrigin is scheme://host of the issuer (for CSP form-action).
func (c *Client) IssuerOrigin() string {
	u, err := url.Parse(c.o.IssuerURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, c.o.HTTPClient)
}

func (c *Client) provider(ctx context.Context) (*provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready != nil {
		return c.ready, nil
	}
	if c.lastErr != nil && time.Since(c.failedAt) < c.o.RetryAfter {
		return nil, c.lastErr
	}
	// Discovery outlives the request that triggered it: the provider keeps
	// the context for fetching keys later.
	p, err := oidc.NewProvider(c.ctx(context.WithoutCancel(ctx)), c.o.IssuerURL)
	if err != nil {
		c.failedAt, c.lastErr = time.Now(), fmt.Errorf("signin: discover %s: %w", c.o.IssuerURL, err)
		return nil, c.lastErr
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	scopes := c.o.Scopes
	if !contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	c.ready = &provider{
		oauth: oauth2.Config{ClientID: c.o.ClientID, ClientSecret: c.o.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: c.o.RedirectURL, Scopes: scopes},
		verifier:   p.Verifier(&oidc.Config{ClientID: c.o.ClientID}),
		endSession: extra.EndSession,
	}
	c.lastErr = nil
	return c.ready, nil
}

// Pending is what must survive the round trip to the provider; the portal
// keeps it in a sealed, short-lived cookie.
type Pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
}

// Begin returns the provider URL to send the browser to and what the
// callback will need.
func (c *Client) Begin(ctx context.Context, next, lang string) (string, Pending, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return "", Pending{}, err
	}
	st := Pending{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), Next: next}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if lang != "" {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", lang))
	}
	return p.oauth.AuthCodeURL(st.State, opts...), st, nil
}

// Identity is who signed in, with their tokens.
type Identity struct {
	Subject     string
	Name        string
	Roles       []string
	AccessToken string
	IDToken     string
	Expiry      time.Time
}

// ErrDenied is a sign-in the provider or the person refused.
var ErrDenied = errors.New("sign-in refused")

// Finish handles the callback: the state must match, the code is
// exchanged with the PKCE verifier, and the ID token is verified,
// nonce included.
func (c *Client) Finish(ctx context.Context, q url.Values, st Pending) (Identity, error) {
	if q.Get("error") != "" {
		return Identity{}, fmt.Errorf("%w: %.64s", ErrDenied, q.Get("error"))
	}
	if st.State == "" || q.Get("state") != st.State {
		return Identity{}, fmt.Errorf("%w: state does not match", ErrDenied)
	}
	p, err := c.provider(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := p.oauth.Exchange(c.ctx(ctx), q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("signin: exchange code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("signin: the token response has no id_token")
	}
	idt, err := p.verifier.Verify(c.ctx(ctx), raw)
	if err != nil {
		return Identity{}, fmt.Errorf("signin: verify id token: %w", err)
	}
	if idt.Nonce != st.Nonce {
		return Identity{}, errors.New("signin: id token nonce does not match")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("signin: id token claims: %w", err)
	}
	name, _ := claims["name"].(string)
	exp := tok.Expiry
	if exp.IsZero() {
		exp = idt.Expiry
	}
	roleClaim := c.o.RoleClaim
	if roleClaim == "" {
		roleClaim = "roles"
	}
	return Identity{Subject: idt.Subject, Name: name, Roles: auth.RolesAt(claims, roleClaim),
		AccessToken: tok.AccessToken, IDToken: raw, Expiry: exp}, nil
}

// LogoutURL is where to send the browser to end the provider's session
// too (RP-initiated logout), or "" when the provider offers none. On a
// shared hospital workstation, ending only the portal's session would let
// the next person walk back in through the provider's.
func (c *Client) LogoutURL(ctx context.Context, idToken, postLogout string) string {
	p, err := c.provider(ctx)
	if err != nil || p.endSession == "" {
		return ""
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("client_id", c.o.ClientID)
	q.Set("post_logout_redirect_uri", postLogout)
	u.RawQuery = q.Encode()
	return u.String()
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
