// Package devoidc is the OpenID provider of `deiops dev`: the development
// issuer (auth.DevIssuer) served as a standards-conforming OIDC provider,
// so the portal signs people in through exactly the path it uses against a
// hospital's Entra ID, Okta or Keycloak. It offers discovery, the
// authorization endpoint with a persona picker instead of a password,
// the token endpoint (authorization code, PKCE S256 required, client
// authentication by client_secret_basic or client_secret_post), JWKS,
// userinfo and RP-initiated logout.
//
// Codes are single-use, short-lived and bound to the client, the exact
// redirect URI and the PKCE challenge. The provider keeps no session and
// sets no cookie: every sign-in shows the picker, which is what a
// developer switching personas wants.
//
// It is for development only; never expose it.
package devoidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/deiops/deiops/pkg/auth"
)

// Persona is someone a developer can sign in as.
type Persona struct {
	Subject string   // the directory person id (sub)
	Name    string   // display name (name claim)
	About   string   // what the persona is, e.g. "Resident (PGY-1), Medicine"
	Roles   []string // platform roles (the role claim)
}

// Client is a registered relying party.
type Client struct {
	ID, Secret string
	// RedirectURIs must match exactly (no prefix or wildcard matching).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may return.
	PostLogoutRedirectURIs []string
}

// Options configures New.
type Options struct {
	// Issuer signs every token; its Issuer() must be the URL this provider
	// is served at (use auth.DevIssuer.As).
	Issuer  *auth.DevIssuer
	Clients []Client
	// Personas lists who can sign in, read at every authorization request.
	Personas func(ctx context.Context) ([]Persona, error)
	// CodeTTL bounds how long a code may wait for its exchange (default 1m);
	// TokenTTL is the lifetime of access and ID tokens (default 1h).
	CodeTTL, TokenTTL time.Duration
	Logger            *slog.Logger
	// Now is the clock of code expiry (default time.Now).
	Now func() time.Time
}

// Provider is the OpenID provider.
type Provider struct {
	o      Options
	issuer *url.URL
	keys   *auth.StaticKeys

	mu    sync.Mutex
	codes map[string]grant
}

// grant is what a code stands for until it is exchanged.
type grant struct {
	clientID, redirectURI, challenge, nonce, scope string
	persona                                        Persona
	expires                                        time.Time
}

// maxPendingCodes bounds memory however many authorizations are never
// exchanged.
const maxPendingCodes = 10_000

// New checks o and builds the provider.
func New(o Options) (*Provider, error) {
	if o.Issuer == nil {
		return nil, errors.New("devoidc: an issuer is required")
	}
	u, err := url.Parse(o.Issuer.Issuer())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("devoidc: issuer %q must be an http(s) URL without query or fragment", o.Issuer.Issuer())
	}
	if len(o.Clients) == 0 {
		return nil, errors.New("devoidc: at least one client is required")
	}
	for _, c := range o.Clients {
		if c.ID == "" || len(c.Secret) < 16 || len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("devoidc: client %q needs an id, a secret of at least 16 bytes and a redirect URI", c.ID)
		}
	}
	if o.Personas == nil {
		return nil, errors.New("devoidc: a persona source is required")
	}
	if o.CodeTTL <= 0 {
		o.CodeTTL = time.Minute
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	keys, err := auth.NewStaticKeys(o.Issuer.KeySet())
	if err != nil {
		return nil, fmt.Errorf("devoidc: %w", err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Provider{o: o, issuer: u, keys: keys, codes: map[string]grant{}}, nil
}

// Endpoint paths, below the issuer URL.
const (
	PathDiscovery = "/.well-known/openid-configuration"
	PathAuthorize = "/authorize"
	PathToken     = "/token"
	PathJWKS      = "/jwks"
	PathUserinfo  = "/userinfo"
	PathLogout    = "/logout"
)

// Handler serves every endpoint below the issuer's path.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	at := func(pattern, path string, h http.HandlerFunc) { mux.Handle(pattern+" "+p.issuer.Path+path, h) }
	at("GET", PathDiscovery, p.discovery)
	at("GET", PathAuthorize, p.authorize)
	at("POST", PathAuthorize, p.authorize)
	at("POST", PathToken, p.token)
	at("GET", PathJWKS, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(p.o.Issuer.JWKS())
	})
	at("GET", PathUserinfo, p.userinfo)
	at("POST", PathUserinfo, p.userinfo)
	at("GET", PathLogout, p.logout)
	return mux
}

func (p *Provider) url(path string) string { return p.issuer.String() + path }

// Discovery is the provider metadata (OpenID Connect Discovery 1.0).
type Discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	ResponseTypes         []string `json:"response_types_supported"`
	ResponseModes         []string `json:"response_modes_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
	SubjectTypes          []string `json:"subject_types_supported"`
	IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`
	Scopes                []string `json:"scopes_supported"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	Claims                []string `json:"claims_supported"`
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Discovery{
		Issuer: p.issuer.String(), AuthorizationEndpoint: p.url(PathAuthorize), TokenEndpoint: p.url(PathToken),
		JWKSURI: p.url(PathJWKS), UserinfoEndpoint: p.url(PathUserinfo), EndSessionEndpoint: p.url(PathLogout),
		ResponseTypes: []string{"code"}, ResponseModes: []string{"query"}, GrantTypes: []string{"authorization_code"},
		SubjectTypes: []string{"public"}, IDTokenAlgs: []string{"ES256"}, Scopes: []string{"openid", "profile"},
		TokenAuthMethods:     []string{"client_secret_basic", "client_secret_post"},
		CodeChallengeMethods: []string{"S256"}, Claims: []string{"sub", "name", "roles", "nonce", "azp", "auth_time"},
	})
}

func (p *Provider) client(id string) (Client, bool) {
	for _, c := range p.o.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// request is a checked authorization request.
type request struct {
	client                                                 Client
	redirectURI, state, nonce, challenge, scope, responses string
}

// authorize shows the persona picker (GET, or POST of the request) and,
// once a persona is picked, redirects back with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.page(w, http.StatusBadRequest, pageData{Error: "The authorization request could not be read."})
		return
	}
	q := r.Form
	c, ok := p.client(q.Get("client_id"))
	if !ok {
		p.page(w, http.StatusBadRequest, pageData{Error: "Unknown client_id."})
		return
	}
	// Until the redirect URI is known to be the client's, errors are shown
	// here: redirecting to an unchecked URI would make this an open redirect.
	redirect := q.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, redirect) {
		p.page(w, http.StatusBadRequest, pageData{Error: "redirect_uri is not registered for this client (exact match required)."})
		return
	}
	req := request{client: c, redirectURI: redirect, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope")}
	fail := func(code, desc string) {
		v := url.Values{"error": {code}, "error_description": {desc}}
		if req.state != "" {
			v.Set("state", req.state)
		}
		http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case !slices.Contains(strings.Fields(req.scope), "openid"):
		fail("invalid_scope", "scope must include openid")
		return
	case q.Get("code_challenge_method") != "S256" || !validChallenge(req.challenge):
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	case q.Get("prompt") == "none":
		fail("login_required", "this provider always asks who is signing in")
		return
	}
	personas, err := p.o.Personas(r.Context())
	if err != nil {
		p.o.Logger.WarnContext(r.Context(), "dev oidc: personas unavailable", "error", err)
		p.page(w, http.StatusServiceUnavailable, pageData{Error: "The development directory is not available yet; retry in a moment."})
		return
	}
	pick := q.Get("persona")
	if r.Method != http.MethodPost || pick == "" {
		p.page(w, http.StatusOK, pageData{Personas: personas, Hidden: hiddenFields(q), Client: c.ID, Action: p.issuer.Path + PathAuthorize})
		return
	}
	i := slices.IndexFunc(personas, func(x Persona) bool { return x.Subject == pick })
	if i < 0 {
		fail("access_denied", "unknown persona")
		return
	}
	code, err := randomToken()
	if err != nil {
		fail("server_error", "no randomness")
		return
	}
	p.put(code, grant{clientID: c.ID, redirectURI: redirect, challenge: req.challenge, nonce: req.nonce,
		scope: req.scope, persona: personas[i], expires: p.o.Now().Add(p.o.CodeTTL)})
	v := url.Values{"code": {code}, "iss": {p.issuer.String()}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(redirect, v), http.StatusSeeOther)
}

// hiddenFields carries the authorization request through the picker form.
func hiddenFields(q url.Values) []field {
	var out []field
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		if v := q.Get(k); v != "" {
			out = append(out, field{k, v})
		}
	}
	return out
}

func (p *Provider) put(code string, g grant) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.o.Now()
	for k, v := range p.codes {
		if now.After(v.expires) {
			delete(p.codes, k)
		}
	}
	if len(p.codes) >= maxPendingCodes {
		for k := range p.codes { // drop any one; a flood only hurts itself
			delete(p.codes, k)
			break
		}
	}
	p.codes[code] = g
}

// take removes and returns the grant of code: a code is spent the first
// time anyone presents it, whatever happens next.
func (p *Provider) take(code string) (grant, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.codes[code]
	delete(p.codes, code)
	return g, ok && p.o.Now().Before(g.expires)
}

// TokenResponse is the token endpoint's answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	IDToken     string `json:"id_token"`
	Scope       string `json:"scope,omitempty"`
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the body could not be read")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: the credentials are form-encoded before Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := p.client(id)
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="deiops dev"`)
		}
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
		return
	}
	g, ok := p.take(r.PostForm.Get("code"))
	switch {
	case !ok || g.clientID != c.ID:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code is unknown, used or expired")
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request")
		return
	case !pkceMatches(r.PostForm.Get("code_verifier"), g.challenge):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code_verifier does not match the code_challenge")
		return
	}
	now := time.Now()
	access, err := p.o.Issuer.MintWith(g.persona.Subject, g.persona.Roles, p.o.TokenTTL, auth.MintOptions{
		Extra: map[string]any{"azp": c.ID, "scope": g.scope},
	})
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", "could not sign")
		return
	}
	extra := map[string]any{"azp": c.ID, "auth_time": now.Unix(), "name": g.persona.Name}
	if g.nonce != "" {
		extra["nonce"] = g.nonce
	}
	idToken, err := p.o.Issuer.MintWith(g.persona.Subject, g.persona.Roles, p.o.TokenTTL, auth.MintOptions{Audience: c.ID, Extra: extra})
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", "could not sign")
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int(p.o.TokenTTL / time.Second), IDToken: idToken, Scope: g.scope})
}

// userinfo answers the claims of a valid access token of this provider.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	claims, err := p.verify(r.Context(), strings.TrimSpace(tok))
	if !strings.EqualFold(scheme, "Bearer") || err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		tokenError(w, http.StatusUnauthorized, "invalid_token", "a valid access token is required")
		return
	}
	personas, err := p.o.Personas(r.Context())
	if err != nil {
		tokenError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "personas unavailable")
		return
	}
	out := map[string]any{"sub": claims.Subject}
	if i := slices.IndexFunc(personas, func(x Persona) bool { return x.Subject == claims.Subject }); i >= 0 {
		out["name"] = personas[i].Name
		out["roles"] = personas[i].Roles
	}
	writeJSON(w, http.StatusOK, out)
}

func (p *Provider) verify(ctx context.Context, token string) (*jwt.Claims, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(parsed.Headers) != 1 {
		return nil, errors.New("malformed token")
	}
	key, err := p.keys.Key(ctx, parsed.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var c jwt.Claims
	if err := parsed.Claims(key.Key, &c); err != nil {
		return nil, err
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: p.issuer.String(), AnyAudience: jwt.Audience{p.o.Issuer.Audience()}, Time: time.Now()}, 30*time.Second); err != nil {
		return nil, err
	}
	return &c, nil
}

// logout is RP-initiated logout: the provider keeps no session, so it only
// returns to a registered post-logout URI.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back := q.Get("post_logout_redirect_uri")
	if back != "" {
		for _, c := range p.o.Clients {
			if slices.Contains(c.PostLogoutRedirectURIs, back) {
				v := url.Values{}
				if s := q.Get("state"); s != "" {
					v.Set("state", s)
				}
				http.Redirect(w, r, withQuery(back, v), http.StatusFound)
				return
			}
		}
	}
	p.page(w, http.StatusOK, pageData{Info: "You are signed out of the development identity provider."})
}

func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// pkceMatches checks RFC 7636 S256: BASE64URL(SHA256(verifier)) == challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func withQuery(base string, v url.Values) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
