package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/deiops/deiops/pkg/config"
)

// maxTokenBytes bounds the work an unauthenticated caller can cause; real
// access tokens, even with many roles, are far smaller.
const maxTokenBytes = 16 << 10

// asymmetricAlgorithms lists the only algorithms a Verifier can be
// configured with. HMAC algorithms are absent on purpose: with them, anyone
// holding the (public) verification key could sign tokens.
func asymmetricAlgorithms() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512,
		jose.EdDSA,
	}
}

// Verifier checks OIDC bearer tokens (signed JWT access tokens): signature
// by a trusted key with an allowed asymmetric algorithm, exact issuer,
// audience, expiry (required), not-before and issued-at with leeway, and a
// subject. Safe for concurrent use.
type Verifier struct {
	issuer string
	// aliases are further accepted iss values (the dev issuer's).
	aliases   []string
	audience  string
	algs      []jose.SignatureAlgorithm
	roleClaim string
	leeway    time.Duration
	now       func() time.Time
	keys      KeySource
}

// VerifierOption adjusts NewVerifier.
type VerifierOption func(*verifierOptions)

type verifierOptions struct {
	now    func() time.Time
	client *http.Client
	log    *slog.Logger
	keys   KeySource
	dev    *DevIssuer
}

// WithClock sets the clock used for exp/nbf/iat and the key cache.
func WithClock(now func() time.Time) VerifierOption {
	return func(o *verifierOptions) { o.now = now }
}

// WithHTTPClient sets the client that fetches the JWKS.
func WithHTTPClient(c *http.Client) VerifierOption {
	return func(o *verifierOptions) { o.client = c }
}

// WithLogger sets the logger for key-set problems.
func WithLogger(l *slog.Logger) VerifierOption {
	return func(o *verifierOptions) { o.log = l }
}

// WithKeySource trusts ks instead of the JWKS URL or the dev issuer
// (cfg.Issuer is still required and checked).
func WithKeySource(ks KeySource) VerifierOption {
	return func(o *verifierOptions) { o.keys = ks }
}

// WithDevIssuer trusts d when cfg.Dev is true, instead of loading the dev
// issuer from cfg.DevKeyFile.
func WithDevIssuer(d *DevIssuer) VerifierOption {
	return func(o *verifierOptions) { o.dev = d }
}

// NewVerifier builds a Verifier from configuration. The keys come from, in
// order: WithKeySource; the development issuer when cfg.Dev is true
// (WithDevIssuer, else loaded or created at cfg.DevKeyFile); else the JWKS
// at cfg.JWKSURL.
func NewVerifier(cfg config.Auth, opts ...VerifierOption) (*Verifier, error) {
	o := verifierOptions{now: time.Now, log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	v := &Verifier{
		issuer:    cfg.Issuer,
		audience:  cfg.Audience,
		roleClaim: cfg.RoleClaim,
		leeway:    cfg.Leeway,
		now:       o.now,
	}
	if v.audience == "" {
		return nil, fmt.Errorf("auth verifier: audience is required")
	}
	if v.roleClaim == "" {
		v.roleClaim = "roles"
	}
	if v.leeway < 0 || v.leeway > 5*time.Minute {
		return nil, fmt.Errorf("auth verifier: leeway %s is outside 0..5m", v.leeway)
	}
	if len(cfg.Algorithms) == 0 {
		return nil, fmt.Errorf("auth verifier: no signature algorithms allowed")
	}
	for _, a := range cfg.Algorithms {
		alg := jose.SignatureAlgorithm(strings.TrimSpace(a))
		if !slices.Contains(asymmetricAlgorithms(), alg) {
			return nil, fmt.Errorf("auth verifier: algorithm %q is not allowed; use asymmetric algorithms (%s)", a, algNames(asymmetricAlgorithms()))
		}
		if !slices.Contains(v.algs, alg) {
			v.algs = append(v.algs, alg)
		}
	}

	switch {
	case o.keys != nil:
		v.keys = o.keys
	case cfg.Dev:
		dev := o.dev
		if dev == nil {
			if cfg.DevKeyFile == "" {
				return nil, fmt.Errorf("auth verifier: dev mode needs DEIOPS_AUTH_DEV_KEY_FILE or a dev issuer")
			}
			var err error
			dev, err = NewDevIssuer(cfg.DevKeyFile, DevIssuerOptions{
				Issuer: cfg.Issuer, Audience: cfg.Audience, RoleClaim: v.roleClaim, Now: o.now,
			})
			if err != nil {
				return nil, fmt.Errorf("auth verifier: %w", err)
			}
		}
		if v.issuer == "" {
			v.issuer = dev.Issuer()
		} else if !slices.Contains(dev.Issuers(), v.issuer) {
			return nil, fmt.Errorf("auth verifier: issuer %q differs from the dev issuer %q", v.issuer, dev.Issuer())
		}
		for _, iss := range dev.Issuers() {
			if iss != v.issuer {
				v.aliases = append(v.aliases, iss)
			}
		}
		if !slices.Contains(v.algs, devAlgorithm) {
			return nil, fmt.Errorf("auth verifier: dev issuer signs with %s, which DEIOPS_AUTH_ALGORITHMS does not allow", devAlgorithm)
		}
		ks, err := NewStaticKeys(dev.KeySet())
		if err != nil {
			return nil, fmt.Errorf("auth verifier: %w", err)
		}
		v.keys = ks
	default:
		if cfg.JWKSURL == "" {
			return nil, fmt.Errorf("auth verifier: DEIOPS_AUTH_JWKS_URL is required unless DEIOPS_AUTH_DEV=true")
		}
		ks, err := NewRemoteKeySet(cfg.JWKSURL, RemoteKeySetOptions{Client: o.client, Now: o.now, Logger: o.log})
		if err != nil {
			return nil, fmt.Errorf("auth verifier: %w", err)
		}
		v.keys = ks
	}
	if v.issuer == "" {
		return nil, fmt.Errorf("auth verifier: issuer is required")
	}
	return v, nil
}

// Issuer is the exact iss value tokens must carry.
func (v *Verifier) Issuer() string { return v.issuer }

// Verify checks a compact JWS token and returns its principal. Errors wrap
// one of this package's Error values (ErrExpired, ErrAudience, ...); their
// detail is for logs, never for the caller.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrMissingToken
	}
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenBytes)
	}
	parts := strings.Split(token, ".")
	switch len(parts) {
	case 3:
	case 2:
		return nil, fmt.Errorf("%w: no signature part", ErrUnsigned)
	default:
		return nil, fmt.Errorf("%w: %d parts, want a compact JWS of 3", ErrMalformed, len(parts))
	}
	// Read alg before go-jose does, so a disallowed algorithm gets its own
	// reason rather than a generic parse failure.
	alg, err := headerAlg(parts[0])
	if err != nil {
		return nil, err
	}
	if !slices.Contains(v.algs, alg) {
		return nil, fmt.Errorf("%w: %.16q", ErrAlgorithm, alg)
	}
	if parts[2] == "" {
		return nil, fmt.Errorf("%w: empty signature", ErrUnsigned)
	}
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrMalformed)
	}
	hdr := tok.Headers[0]
	key, err := v.keys.Key(ctx, hdr.KeyID)
	if err != nil {
		return nil, err
	}
	if err := keyFits(key, jose.SignatureAlgorithm(hdr.Algorithm)); err != nil {
		return nil, err
	}

	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, fmt.Errorf("%w: kid %.64q", ErrSignature, hdr.KeyID)
		}
		// The signature verified, so the issuer produced claims we cannot read.
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if err := v.checkClaims(std); err != nil {
		return nil, err
	}

	p := &Principal{
		Subject:   std.Subject,
		Roles:     rolesAt(all, v.roleClaim),
		Issuer:    std.Issuer,
		Audience:  []string(std.Audience),
		TokenID:   std.ID,
		ExpiresAt: std.Expiry.Time(),
	}
	if std.IssuedAt != nil {
		p.IssuedAt = std.IssuedAt.Time()
	}
	if azp, ok := all["azp"].(string); ok {
		p.ClientID = azp
	} else if cid, ok := all["client_id"].(string); ok {
		p.ClientID = cid
	}
	return p, nil
}

func (v *Verifier) checkClaims(c jwt.Claims) error {
	now := v.now()
	if c.Issuer != v.issuer && !slices.Contains(v.aliases, c.Issuer) {
		return fmt.Errorf("%w: want %q", ErrIssuer, v.issuer)
	}
	if !c.Audience.Contains(v.audience) {
		return fmt.Errorf("%w: want %q", ErrAudience, v.audience)
	}
	if c.Expiry == nil {
		return ErrMissingExpiry
	}
	if exp := c.Expiry.Time(); !now.Before(exp.Add(v.leeway)) {
		return fmt.Errorf("%w: at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.Time()) {
		return fmt.Errorf("%w: until %s", ErrNotYetValid, c.NotBefore.Time().UTC().Format(time.RFC3339))
	}
	if c.IssuedAt != nil && now.Add(v.leeway).Before(c.IssuedAt.Time()) {
		return fmt.Errorf("%w: at %s", ErrIssuedInFuture, c.IssuedAt.Time().UTC().Format(time.RFC3339))
	}
	if c.Subject == "" {
		return ErrMissingSubject
	}
	return nil
}

func headerAlg(encoded string) (jose.SignatureAlgorithm, error) {
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("%w: header is not JSON", ErrMalformed)
	}
	return jose.SignatureAlgorithm(h.Alg), nil
}

// RolesAt reads the role claim at path from decoded claims, as the
// Verifier does (relying parties such as the portal read ID tokens with it).
func RolesAt(claims map[string]any, path string) []string { return rolesAt(claims, path) }

// rolesAt reads the role claim at path. A claim named exactly path wins
// (providers use URLs with dots as claim names); otherwise path is walked
// through nested objects, as in "realm_access.roles". The value may be a
// JSON array of strings or a space-separated string.
func rolesAt(claims map[string]any, path string) []string {
	val, ok := claims[path]
	if !ok {
		var cur any = claims
		for _, seg := range strings.Split(path, ".") {
			m, isObj := cur.(map[string]any)
			if !isObj {
				return nil
			}
			if cur, ok = m[seg]; !ok {
				return nil
			}
		}
		val = cur
	}
	var roles []string
	add := func(s string) {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(roles, f) {
				roles = append(roles, f)
			}
		}
	}
	switch x := val.(type) {
	case string:
		add(x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				add(s)
			}
		}
	}
	return roles
}

func algNames(algs []jose.SignatureAlgorithm) string {
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}
