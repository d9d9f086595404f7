package session_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/services/portal/session"
)

// One contract for every store: what the memory store does, Redis does.
func TestStoresKeepExpireAndDelete(t *testing.T) {
	mr := miniredis.RunT(t)
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rc.Close() })
	for name, st := range map[string]session.Store{"memory": session.NewMemoryStore(), "redis": session.NewRedisStore(rc)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if _, ok, err := st.Get(ctx, "k"); ok || err != nil {
				t.Fatalf("empty store: %v %v", ok, err)
			}
			if err := st.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := st.Get(ctx, "k"); !ok || err != nil || string(v) != "v" {
				t.Fatalf("get: %q %v %v", v, ok, err)
			}
			if err := st.Delete(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := st.Get(ctx, "k"); ok {
				t.Fatal("deleted key still there")
			}
		})
	}
}

// Redis holds the session sealed: no token, no name, not the cookie value.
func TestRedisSeesNothingInClear(t *testing.T) {
	mr := miniredis.RunT(t)
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rc.Close() })
	ring, _, _ := crypto.GenerateKeyring()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	hasher, _ := crypto.NewHasher(secret)
	var skew atomic.Int64
	m, err := session.New(session.Options{Store: session.NewRedisStore(rc), Sealer: ring, Hasher: hasher, Idle: 15 * time.Minute, Max: time.Hour,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := m.Start(context.Background(), rec, session.Data{Subject: "dev-resident", Name: "NAME-CANARY", AccessToken: "TOKEN-CANARY"}); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", cookie)
	}
	for _, k := range mr.Keys() {
		v, _ := mr.Get(k)
		for _, canary := range []string{"NAME-CANARY", "TOKEN-CANARY", "dev-resident", cookie.Value} {
			if strings.Contains(k, canary) || strings.Contains(v, canary) {
				t.Fatalf("redis holds %q in clear", canary)
			}
		}
		if ttl := mr.TTL(k); ttl <= 0 || ttl > 15*time.Minute {
			t.Fatalf("session TTL %s, want the idle timeout", ttl)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(cookie)
	if s, err := m.Load(req); err != nil || s == nil || s.Data.AccessToken != "TOKEN-CANARY" {
		t.Fatalf("load: %+v %v", s, err)
	}
	// The maximum age ends even a busy session.
	for range 5 {
		skew.Add(int64(14 * time.Minute))
		_, _ = m.Load(req)
	}
	if s, _ := m.Load(req); s != nil {
		t.Fatal("a session outlived its maximum age")
	}
}
