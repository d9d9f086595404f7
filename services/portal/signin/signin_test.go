package signin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/auth/devoidc"
	"github.com/deiops/deiops/services/portal/signin"
)

// The portal's relying party against the development provider: the same
// code path as against a hospital's provider.
func TestSignInWithCodeAndPKCE(t *testing.T) {
	var h http.Handler
	op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(op.Close)
	dev, _ := auth.NewDevIssuer("", auth.DevIssuerOptions{Issuer: op.URL})
	const redirect = "http://127.0.0.1:1/auth/callback"
	p, err := devoidc.New(devoidc.Options{Issuer: dev,
		Clients: []devoidc.Client{{ID: "deiops-portal", Secret: "a-secret-of-enough-length", RedirectURIs: []string{redirect}}},
		Personas: func(context.Context) ([]devoidc.Persona, error) {
			return []devoidc.Persona{{Subject: "res1", Name: "Mei Chen", Roles: []string{"resident"}}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h = p.Handler()
	c, err := signin.New(signin.Options{IssuerURL: op.URL, ClientID: "deiops-portal", ClientSecret: "a-secret-of-enough-length", RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	to, pending, err := c.Begin(ctx, "/my/cases", "es")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") != pending.Nonce || q.Get("ui_locales") != "es" {
		t.Fatalf("authorization request %v", q)
	}
	q.Set("persona", "res1")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(op.URL+devoidc.PathAuthorize, q)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))

	// A callback whose state differs is refused before any exchange.
	forged := back.Query()
	forged.Set("state", "forged")
	if _, err := c.Finish(ctx, forged, pending); !errors.Is(err, signin.ErrDenied) {
		t.Fatalf("forged state: %v", err)
	}
	id, err := c.Finish(ctx, back.Query(), pending)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "res1" || id.Name != "Mei Chen" || id.AccessToken == "" || len(id.Roles) != 1 || id.Expiry.IsZero() {
		t.Fatalf("identity %+v", id)
	}
	// The code was spent: the same callback again fails.
	if _, err := c.Finish(ctx, back.Query(), pending); err == nil {
		t.Fatal("a code was accepted twice")
	}
	if got := c.LogoutURL(ctx, id.IDToken, "http://127.0.0.1:1/?signed_out=1"); !strings.HasPrefix(got, op.URL+devoidc.PathLogout) {
		t.Fatalf("logout URL %q", got)
	}
}
