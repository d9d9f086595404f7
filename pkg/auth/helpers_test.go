package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/deiops/deiops/pkg/config"
)

const (
	testIssuer   = "https://idp.example.org/realms/hospital"
	testAudience = "deiops"
)

// fakeClock is a settable clock shared by the verifier and the key cache.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testKey is a signing key of the fake identity provider (or an attacker).
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
}

func newECKey(t testing.TB, kid string) testKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.ES256, priv: k}
}

func newRSAKey(t testing.TB, kid string) testKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.RS256, priv: k}
}

func (k testKey) public() jose.JSONWebKey {
	var pub any
	switch p := k.priv.(type) {
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	}
	return jose.JSONWebKey{Key: pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// sign produces a compact JWS of claims with this key, naming kid.
func (k testKey) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(t testing.TB, v any) string {
	t.Helper()
	var raw []byte
	switch x := v.(type) {
	case string:
		raw = []byte(x)
	case []byte:
		raw = x
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// claimsAt returns valid claims for a token issued at now, with edits applied
// (a nil value deletes the claim).
func claimsAt(now time.Time, edits map[string]any) map[string]any {
	c := map[string]any{
		"iss":   testIssuer,
		"aud":   []string{testAudience, "account"},
		"sub":   "user-1",
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"azp":   "deiops-web",
		"roles": []string{"resolver", "staff"},
	}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// fakeIdP serves a JWKS and counts fetches.
type fakeIdP struct {
	srv     *httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	fetches atomic.Int32
}

func newFakeIdP(t testing.TB, keys ...jose.JSONWebKey) *fakeIdP {
	t.Helper()
	idp := &fakeIdP{}
	idp.publish(t, keys...)
	idp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.fetches.Add(1)
		idp.mu.Lock()
		body, status := idp.body, idp.status
		idp.mu.Unlock()
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(idp.srv.Close)
	return idp
}

func (i *fakeIdP) publish(t testing.TB, keys ...jose.JSONWebKey) {
	t.Helper()
	body, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.body, i.status = body, http.StatusOK
}

func (i *fakeIdP) fail(status int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.status = status
}

func (i *fakeIdP) config() config.Auth {
	return config.Auth{
		Issuer:     testIssuer,
		Audience:   testAudience,
		JWKSURL:    i.srv.URL + "/protocol/openid-connect/certs",
		Algorithms: []string{"RS256", "ES256"},
		RoleClaim:  "roles",
		Leeway:     30 * time.Second,
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestVerifier(t testing.TB, cfg config.Auth, clk *fakeClock, idp *fakeIdP) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg, WithClock(clk.Now), WithHTTPClient(idp.srv.Client()), WithLogger(discardLogger()))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}
