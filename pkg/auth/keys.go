package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// KeySource finds the public key that verifies a token.
//
// Key returns the key with id kid, or ErrUnknownKey; an empty kid selects
// the only key of a one-key set. It returns ErrKeySetUnavailable when no
// keys could be obtained at all. Implementations are safe for concurrent use.
type KeySource interface {
	Key(ctx context.Context, kid string) (jose.JSONWebKey, error)
}

// keySet is an immutable snapshot of usable verification keys.
type keySet struct {
	byID map[string]jose.JSONWebKey
	only *jose.JSONWebKey // the single key, when there is exactly one
}

func newKeySet(keys []jose.JSONWebKey) *keySet {
	s := &keySet{byID: make(map[string]jose.JSONWebKey, len(keys))}
	for _, k := range keys {
		if _, dup := s.byID[k.KeyID]; !dup {
			s.byID[k.KeyID] = k
		}
	}
	if len(keys) == 1 {
		s.only = &keys[0]
	}
	return s
}

func (s *keySet) lookup(kid string) (jose.JSONWebKey, bool) {
	if s == nil {
		return jose.JSONWebKey{}, false
	}
	if kid == "" && s.only != nil {
		return *s.only, true
	}
	k, ok := s.byID[kid]
	return k, ok
}

// usableKey accepts only public asymmetric signature keys of adequate
// strength. Symmetric ("oct") keys are refused so that no HMAC key can ever
// verify a token, whatever the token's header claims.
func usableKey(k jose.JSONWebKey) error {
	if !k.IsPublic() {
		return fmt.Errorf("key %q is not an asymmetric public key", k.KeyID)
	}
	if !k.Valid() {
		return fmt.Errorf("key %q is not valid", k.KeyID)
	}
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("key %q is for %q, not signatures", k.KeyID, k.Use)
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return fmt.Errorf("key %q: RSA key of %d bits is too short", k.KeyID, pub.N.BitLen())
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("key %q has unsupported type %T", k.KeyID, k.Key)
	}
	return nil
}

// keyFits binds the token's alg to the key's type and curve, and to the
// key's own alg when the JWKS states one, so a key is only ever used with
// the algorithm it was made for.
func keyFits(k jose.JSONWebKey, alg jose.SignatureAlgorithm) error {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return fmt.Errorf("%w: key %q is for %s, token uses %s", ErrKeyMismatch, k.KeyID, k.Algorithm, alg)
	}
	ok := false
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			ok = true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			ok = pub.Curve == elliptic.P256()
		case jose.ES384:
			ok = pub.Curve == elliptic.P384()
		case jose.ES512:
			ok = pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		ok = alg == jose.EdDSA
	}
	if !ok {
		return fmt.Errorf("%w: key %q (%T) cannot verify %s", ErrKeyMismatch, k.KeyID, k.Key, alg)
	}
	return nil
}

// StaticKeys is a fixed KeySource, for the development issuer and tests.
type StaticKeys struct {
	set *keySet
}

// NewStaticKeys trusts the keys of set. Every key must be a usable public
// signature key; a private or symmetric key is a configuration error.
func NewStaticKeys(set jose.JSONWebKeySet) (*StaticKeys, error) {
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("static key set: no keys")
	}
	for _, k := range set.Keys {
		if err := usableKey(k); err != nil {
			return nil, fmt.Errorf("static key set: %w", err)
		}
	}
	return &StaticKeys{set: newKeySet(set.Keys)}, nil
}

// Key implements KeySource.
func (s *StaticKeys) Key(_ context.Context, kid string) (jose.JSONWebKey, error) {
	if k, ok := s.set.lookup(kid); ok {
		return k, nil
	}
	return jose.JSONWebKey{}, fmt.Errorf("%w: kid %.64q", ErrUnknownKey, kid)
}

// RemoteKeySetOptions configures NewRemoteKeySet; zero values take defaults.
type RemoteKeySetOptions struct {
	// Client fetches the key set; default a client that refuses redirects
	// away from https (FetchTimeout bounds each fetch either way).
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger records fetch failures and skipped keys; default slog.Default().
	Logger *slog.Logger
	// MinRefreshInterval is the least time between two fetches, so tokens
	// with invented key ids cannot make us hammer the identity provider.
	// Default 30s.
	MinRefreshInterval time.Duration
	// MaxAge is how long a fetched set is used before it is fetched again
	// (so keys the provider revoked stop being trusted). Default 1h.
	MaxAge time.Duration
	// FetchTimeout bounds one fetch. Default 5s.
	FetchTimeout time.Duration
	// MaxBytes bounds the key set document. Default 1 MiB.
	MaxBytes int64
}

// RemoteKeySet is a KeySource backed by the identity provider's JWKS URL.
// Keys are fetched on first use, cached, fetched again when a token names an
// unknown key id (a rotation) or when the cache is older than MaxAge, and
// never more often than MinRefreshInterval. When a fetch fails, the last good
// set stays in use.
type RemoteKeySet struct {
	url  string
	opts RemoteKeySetOptions

	mu        sync.RWMutex
	set       *keySet
	fetchedAt time.Time

	fetchMu     sync.Mutex // serialises fetches; held during the HTTP call
	lastAttempt time.Time  // guarded by fetchMu
}

// NewRemoteKeySet returns a key source for the JWKS at rawURL, which must be
// https (plain http is accepted only for loopback addresses, as in tests).
func NewRemoteKeySet(rawURL string, opts RemoteKeySetOptions) (*RemoteKeySet, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("jwks url %q: not an absolute URL", rawURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("jwks url %q: must use https", rawURL)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: refuseDowngrade}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = 30 * time.Second
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Hour
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 5 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 20
	}
	return &RemoteKeySet{url: rawURL, opts: opts}, nil
}

// refuseDowngrade keeps a redirect from moving the key set fetch off https.
func refuseDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return fmt.Errorf("jwks: too many redirects")
	}
	if req.URL.Scheme != "https" && !isLoopback(req.URL.Hostname()) {
		return fmt.Errorf("jwks: redirect to non-https URL %s refused", req.URL.Redacted())
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Key implements KeySource.
func (r *RemoteKeySet) Key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	r.mu.RLock()
	set, fetchedAt := r.set, r.fetchedAt
	r.mu.RUnlock()

	fresh := set != nil && r.opts.Now().Sub(fetchedAt) < r.opts.MaxAge
	if k, ok := set.lookup(kid); ok && fresh {
		return k, nil
	} else if ok {
		// Stale but known: refresh if nobody else is, and fall back to the
		// stale key if the fetch fails or is throttled.
		set, _ = r.refresh(ctx, set, false)
		if k, ok := set.lookup(kid); ok {
			return k, nil
		}
		return jose.JSONWebKey{}, fmt.Errorf("%w: kid %.64q no longer published", ErrUnknownKey, kid)
	}

	set, err := r.refresh(ctx, set, true)
	if k, ok := set.lookup(kid); ok {
		return k, nil
	}
	if set == nil {
		return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrKeySetUnavailable, err)
	}
	return jose.JSONWebKey{}, fmt.Errorf("%w: kid %.64q", ErrUnknownKey, kid)
}

// Refresh fetches the key set now, ignoring the refresh interval; call it at
// start-up to fail fast on a wrong JWKS URL.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	return r.fetchLocked(ctx)
}

// refresh fetches a new set unless another caller already replaced seen or
// the last attempt was too recent, and returns the current set. With wait
// false it gives up at once when another fetch is in progress.
func (r *RemoteKeySet) refresh(ctx context.Context, seen *keySet, wait bool) (*keySet, error) {
	if wait {
		r.fetchMu.Lock()
	} else if !r.fetchMu.TryLock() {
		return seen, nil
	}
	defer r.fetchMu.Unlock()

	r.mu.RLock()
	current := r.set
	r.mu.RUnlock()
	if current != seen {
		return current, nil
	}
	if !r.lastAttempt.IsZero() && r.opts.Now().Sub(r.lastAttempt) < r.opts.MinRefreshInterval {
		return current, fmt.Errorf("jwks refresh throttled")
	}
	err := r.fetchLocked(ctx)
	r.mu.RLock()
	current = r.set
	r.mu.RUnlock()
	return current, err
}

func (r *RemoteKeySet) fetchLocked(ctx context.Context) error {
	r.lastAttempt = r.opts.Now()
	// A client that hangs up must not cancel a fetch every request shares.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.FetchTimeout)
	defer cancel()
	keys, err := r.fetch(ctx)
	if err != nil {
		r.opts.Logger.Warn("jwks fetch failed; keeping the previous key set", "url", r.url, "err", err)
		return err
	}
	r.mu.Lock()
	r.set, r.fetchedAt = newKeySet(keys), r.opts.Now()
	r.mu.Unlock()
	return nil
}

func (r *RemoteKeySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: read: %w", err)
	}
	if int64(len(body)) > r.opts.MaxBytes {
		return nil, fmt.Errorf("fetch jwks: document larger than %d bytes", r.opts.MaxBytes)
	}
	return parseJWKS(body, r.opts.Logger)
}

// parseJWKS keeps the usable signature keys and skips the rest (providers
// also publish encryption keys and key types this package does not use).
func parseJWKS(body []byte, log *slog.Logger) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	var keys []jose.JSONWebKey
	var skipped []error
	for i, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			skipped = append(skipped, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		if err := usableKey(k); err != nil {
			skipped = append(skipped, err)
			continue
		}
		keys = append(keys, k)
	}
	if len(skipped) > 0 {
		log.Info("jwks: skipped keys that cannot verify signatures", "skipped", len(skipped), "detail", errors.Join(skipped...).Error())
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("parse jwks: no usable signature keys among %d", len(doc.Keys))
	}
	return keys, nil
}
