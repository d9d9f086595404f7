package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/config"
)

func devConfig(keyFile string) config.Auth {
	return config.Auth{
		Audience: "deiops", Algorithms: []string{"RS256", "ES256"}, RoleClaim: "realm_access.roles",
		Leeway: 30 * time.Second, Dev: true, DevKeyFile: keyFile,
	}
}

func TestDevIssuerKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "dev-issuer.pem")
	d1, err := NewDevIssuer(path, DevIssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", info.Mode().Perm())
	}
	d2, err := NewDevIssuer(path, DevIssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d1.KeyID() != d2.KeyID() {
		t.Error("reloading the key file gave a different key")
	}

	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := NewDevIssuer(path, DevIssuerOptions{}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("world-readable key file: %v", err)
		}
	}

	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDevIssuer(garbage, DevIssuerOptions{}); err == nil {
		t.Error("garbage key file accepted")
	}
}

func TestDevIssuerTokensVerify(t *testing.T) {
	clk := newClock()
	keyFile := filepath.Join(t.TempDir(), "dev.pem")
	cfg := devConfig(keyFile)

	// The verifier loads the same key file that `deiops token` mints with.
	v, err := NewVerifier(cfg, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDevIssuer(keyFile, DevIssuerOptions{RoleClaim: cfg.RoleClaim, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := d.Mint("dev-resolver", []string{"resolver", "staff"}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p.Subject != "dev-resolver" || p.Issuer != DefaultDevIssuer || !slices.Equal(p.Roles, []string{"resolver", "staff"}) || p.TokenID == "" {
		t.Errorf("principal = %+v", p)
	}
	if !p.ExpiresAt.Equal(clk.Now().Add(15 * time.Minute)) {
		t.Errorf("expires at %s", p.ExpiresAt)
	}

	clk.Advance(16 * time.Minute)
	if _, err := v.Verify(context.Background(), tok); !isErr(err, ErrExpired) {
		t.Errorf("expired dev token: %v", err)
	}

	other, _ := NewDevIssuer("", DevIssuerOptions{RoleClaim: cfg.RoleClaim, Now: clk.Now})
	foreign, _ := other.Mint("intruder", []string{"admin"}, time.Minute)
	if _, err := v.Verify(context.Background(), foreign); err == nil {
		t.Error("token of another dev key accepted")
	}

	if _, err := d.Mint("", nil, time.Minute); err == nil {
		t.Error("minted a token without subject")
	}
	if _, err := d.Mint("x", nil, 0); err == nil {
		t.Error("minted a token without lifetime")
	}
}

func TestNewVerifierWithDevIssuer(t *testing.T) {
	clk := newClock()
	d, err := NewDevIssuer("", DevIssuerOptions{Issuer: "http://localhost:8080/dev", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := devConfig("")
	cfg.RoleClaim = "roles"
	v, err := NewVerifier(cfg, WithDevIssuer(d), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if v.Issuer() != "http://localhost:8080/dev" {
		t.Errorf("issuer = %q", v.Issuer())
	}
	tok, _ := d.Mint("u", []string{"admin"}, time.Minute)
	if p, err := v.Verify(context.Background(), tok); err != nil || !p.HasRole(caller.Admin) {
		t.Fatalf("Verify = %+v, %v", p, err)
	}

	cfg.Issuer = "https://elsewhere"
	if _, err := NewVerifier(cfg, WithDevIssuer(d)); err == nil {
		t.Error("issuer different from the dev issuer accepted")
	}
	cfg.Issuer, cfg.Algorithms = "", []string{"RS256"}
	if _, err := NewVerifier(cfg, WithDevIssuer(d)); err == nil || !strings.Contains(err.Error(), "ES256") {
		t.Errorf("dev issuer without ES256 allowed: %v", err)
	}
}

func TestDevIssuerJWKS(t *testing.T) {
	d, err := NewDevIssuer("", DevIssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	d.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec.Body.String() != string(d.JWKS()) {
		t.Error("handler and JWKS() differ")
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(d.JWKS(), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) != 1 {
		t.Fatalf("keys = %v", raw.Keys)
	}
	k := raw.Keys[0]
	if _, private := k["d"]; private {
		t.Fatal("JWKS contains the private key")
	}
	if k["kid"] != d.KeyID() || k["alg"] != "ES256" || k["use"] != "sig" || k["kty"] != "EC" {
		t.Errorf("key = %v", k)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(d.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if _, err := NewStaticKeys(set); err != nil {
		t.Errorf("JWKS is not a usable key set: %v", err)
	}

	post := httptest.NewRecorder()
	d.JWKSHandler().ServeHTTP(post, httptest.NewRequest(http.MethodPost, "/", nil))
	if post.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST status %d", post.Code)
	}
}

func TestDevIssuerServedAsJWKSURL(t *testing.T) {
	clk := newClock()
	d, _ := NewDevIssuer("", DevIssuerOptions{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	srv := httptest.NewServer(d.JWKSHandler())
	t.Cleanup(srv.Close)
	cfg := config.Auth{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL, Algorithms: []string{"ES256"}, RoleClaim: "roles"}
	v, err := NewVerifier(cfg, WithClock(clk.Now), WithHTTPClient(srv.Client()), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := d.Mint("u", []string{"staff"}, time.Minute)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("dev token through the JWKS URL: %v", err)
	}
}

func TestStaticKeysRefusePrivateAndSymmetricKeys(t *testing.T) {
	ec := newECKey(t, "k")
	for name, k := range map[string]jose.JSONWebKey{
		"private":   {Key: ec.priv, KeyID: "k"},
		"symmetric": {Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "k"},
	} {
		if _, err := NewStaticKeys(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}}); err == nil {
			t.Errorf("%s key accepted", name)
		}
	}
}
