package auth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/deiops/deiops/pkg/config"
)

func TestJWKSKeyRotation(t *testing.T) {
	clk := newClock()
	oldKey, newKey := newECKey(t, "2026-01"), newRSAKey(t, "2026-03")
	idp := newFakeIdP(t, oldKey.public())
	v := newTestVerifier(t, idp.config(), clk, idp)
	ctx := context.Background()

	if _, err := v.Verify(ctx, oldKey.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatalf("old key: %v", err)
	}
	if n := idp.fetches.Load(); n != 1 {
		t.Fatalf("fetches after first token = %d, want 1", n)
	}
	if _, err := v.Verify(ctx, oldKey.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatalf("old key again: %v", err)
	}
	if n := idp.fetches.Load(); n != 1 {
		t.Fatalf("known key caused a fetch: %d fetches", n)
	}

	// The provider publishes a new key and starts signing with it.
	idp.publish(t, newKey.public(), oldKey.public())
	clk.Advance(time.Minute)

	// Many requests bearing the new kid at once cause exactly one fetch.
	tok := newKey.sign(t, claimsAt(clk.Now(), nil))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := v.Verify(ctx, tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("new key: %v", err)
		}
	}
	if n := idp.fetches.Load(); n != 2 {
		t.Fatalf("fetches after rotation = %d, want 2", n)
	}
	for _, k := range []testKey{newKey, oldKey, newKey} {
		if _, err := v.Verify(ctx, k.sign(t, claimsAt(clk.Now(), nil))); err != nil {
			t.Fatalf("after rotation, key %s: %v", k.kid, err)
		}
	}
	if n := idp.fetches.Load(); n != 2 {
		t.Fatalf("fetches after using both keys = %d, want 2", n)
	}
}

func TestJWKSRefetchThrottle(t *testing.T) {
	clk := newClock()
	trusted := newECKey(t, "trusted")
	idp := newFakeIdP(t, trusted.public())
	v := newTestVerifier(t, idp.config(), clk, idp)
	ctx := context.Background()

	if _, err := v.Verify(ctx, trusted.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	attacker := newECKey(t, "")
	forge := func(i int) string {
		k := attacker
		k.kid = fmt.Sprintf("invented-%d", i)
		return k.sign(t, claimsAt(clk.Now(), nil))
	}
	// An attacker sends tokens with invented key ids as fast as they like.
	for i := range 50 {
		forged := forge(i)
		if _, err := v.Verify(ctx, forged); !isErr(err, ErrUnknownKey) {
			t.Fatalf("forged token %d: %v, want ErrUnknownKey", i, err)
		}
		clk.Advance(500 * time.Millisecond) // 25s in all: still inside one interval
	}
	if n := idp.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1 (refetch must be throttled)", n)
	}

	clk.Advance(5 * time.Second)
	if _, err := v.Verify(ctx, forge(99)); !isErr(err, ErrUnknownKey) {
		t.Fatalf("after interval: %v", err)
	}
	if n := idp.fetches.Load(); n != 2 {
		t.Fatalf("fetches after 30s = %d, want 2", n)
	}
	// Valid tokens keep working throughout.
	if _, err := v.Verify(ctx, trusted.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSOutageAndRecovery(t *testing.T) {
	clk := newClock()
	key := newECKey(t, "k1")
	idp := newFakeIdP(t, key.public())
	idp.fail(http.StatusServiceUnavailable)
	v := newTestVerifier(t, idp.config(), clk, idp)
	ctx := context.Background()

	if _, err := v.Verify(ctx, key.sign(t, claimsAt(clk.Now(), nil))); !isErr(err, ErrKeySetUnavailable) {
		t.Fatalf("during outage: %v, want ErrKeySetUnavailable", err)
	}
	idp.publish(t, key.public())
	if _, err := v.Verify(ctx, key.sign(t, claimsAt(clk.Now(), nil))); !isErr(err, ErrKeySetUnavailable) {
		t.Fatalf("retry inside the interval: %v, want ErrKeySetUnavailable", err)
	}
	clk.Advance(31 * time.Second)
	if _, err := v.Verify(ctx, key.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatalf("after recovery: %v", err)
	}

	// A later outage keeps the cached keys in use, even past their max age.
	idp.fail(http.StatusInternalServerError)
	clk.Advance(2 * time.Hour)
	if _, err := v.Verify(ctx, key.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatalf("stale keys during outage: %v", err)
	}
	if n := idp.fetches.Load(); n != 3 {
		t.Errorf("fetches = %d, want 3", n)
	}
}

func TestJWKSDropsRevokedKeyAfterMaxAge(t *testing.T) {
	clk := newClock()
	revoked, kept := newECKey(t, "revoked"), newECKey(t, "kept")
	idp := newFakeIdP(t, revoked.public(), kept.public())
	v := newTestVerifier(t, idp.config(), clk, idp)
	ctx := context.Background()
	if _, err := v.Verify(ctx, revoked.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	idp.publish(t, kept.public())
	clk.Advance(61 * time.Minute)
	if _, err := v.Verify(ctx, revoked.sign(t, claimsAt(clk.Now(), nil))); !isErr(err, ErrUnknownKey) {
		t.Fatalf("revoked key after max age: %v, want ErrUnknownKey", err)
	}
	if _, err := v.Verify(ctx, kept.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	clk := newClock()
	good := newECKey(t, "good")
	encKey := newRSAKey(t, "enc")
	encPub := encKey.public()
	encPub.Use, encPub.Algorithm = "enc", "RSA-OAEP"
	idp := newFakeIdP(t, good.public(), encPub, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "oct"})
	v := newTestVerifier(t, idp.config(), clk, idp)
	if _, err := v.Verify(context.Background(), good.sign(t, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatalf("good key next to unusable ones: %v", err)
	}
	encSigned := encKey // signs RS256 with the encryption key
	if _, err := v.Verify(context.Background(), encSigned.sign(t, claimsAt(clk.Now(), nil))); !isErr(err, ErrUnknownKey) {
		t.Fatalf("token signed with an encryption key: %v, want ErrUnknownKey", err)
	}
}

func TestRoleClaimPaths(t *testing.T) {
	clk := newClock()
	key := newECKey(t, "k1")
	idp := newFakeIdP(t, key.public())
	tests := []struct {
		name, path string
		claims     map[string]any
		want       []string
	}{
		{"array", "roles", map[string]any{"roles": []string{"resolver", "admin"}}, []string{"resolver", "admin"}},
		{"space-separated string", "roles", map[string]any{"roles": "resolver  admin resolver"}, []string{"resolver", "admin"}},
		{"nested (Keycloak realm roles)", "realm_access.roles", map[string]any{"roles": nil, "realm_access": map[string]any{"roles": []string{"dei_officer"}}}, []string{"dei_officer"}},
		{"deeply nested", "resource_access.deiops.roles", map[string]any{"resource_access": map[string]any{"deiops": map[string]any{"roles": []any{"coordinator", 7, "staff"}}}}, []string{"coordinator", "staff"}},
		{"claim name containing dots", "https://deiops.org/roles", map[string]any{"https://deiops.org/roles": []string{"integrator"}}, []string{"integrator"}},
		{"missing path", "realm_access.roles", map[string]any{"realm_access": "not an object"}, nil},
		{"wrong type", "roles", map[string]any{"roles": map[string]any{"a": 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := idp.config()
			cfg.RoleClaim = tt.path
			v := newTestVerifier(t, cfg, clk, idp)
			p, err := v.Verify(context.Background(), key.sign(t, claimsAt(clk.Now(), tt.claims)))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Roles, tt.want) {
				t.Errorf("roles = %q, want %q", p.Roles, tt.want)
			}
		})
	}
}

func TestNewVerifierRejectsUnsafeConfig(t *testing.T) {
	base := config.Auth{Issuer: testIssuer, Audience: testAudience, JWKSURL: "https://idp.example.org/certs", Algorithms: []string{"RS256"}, RoleClaim: "roles"}
	tests := []struct {
		name string
		edit func(*config.Auth)
		want string
	}{
		{"alg none", func(c *config.Auth) { c.Algorithms = []string{"RS256", "none"} }, `"none" is not allowed`},
		{"HMAC", func(c *config.Auth) { c.Algorithms = []string{"HS256"} }, `"HS256" is not allowed`},
		{"no algorithms", func(c *config.Auth) { c.Algorithms = nil }, "no signature algorithms"},
		{"plain http JWKS", func(c *config.Auth) { c.JWKSURL = "http://idp.example.org/certs" }, "must use https"},
		{"no JWKS URL", func(c *config.Auth) { c.JWKSURL = "" }, "JWKS_URL is required"},
		{"no issuer", func(c *config.Auth) { c.Issuer = "" }, "issuer is required"},
		{"no audience", func(c *config.Auth) { c.Audience = "" }, "audience is required"},
		{"huge leeway", func(c *config.Auth) { c.Leeway = time.Hour }, "leeway"},
		{"dev without key", func(c *config.Auth) { c.Dev = true }, "DEV_KEY_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			_, err := NewVerifier(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewVerifier error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := NewVerifier(base); err != nil {
		t.Errorf("base config: %v", err)
	}
}
