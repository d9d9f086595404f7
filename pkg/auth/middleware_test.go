package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/httpapi"
)

// server mounts one protected route the way services do and reports the
// principal the handler saw.
type server struct {
	mux   *http.ServeMux
	audit *MemoryAuditSink
	seen  chan *Principal
}

func newServer(t *testing.T, v TokenVerifier, clk *fakeClock) *server {
	t.Helper()
	s := &server{mux: http.NewServeMux(), audit: &MemoryAuditSink{}, seen: make(chan *Principal, 1)}
	mw, err := NewMiddleware(v, s.audit, MiddlewareOptions{Now: clk.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		s.seen <- p
		w.WriteHeader(http.StatusOK)
	})
	s.mux.Handle("GET /v1/cases/{id}", mw.Authenticate(mw.Require(caller.Resolver, caller.DEIOfficer)(h)))
	s.mux.Handle("POST /v1/reports", mw.Optional(h))
	s.mux.Handle("GET /v1/admin/only-require", mw.Require(caller.Admin)(h))
	return s
}

func (s *server) do(method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, req)
	return rec
}

func bearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok, "X-Request-Id": "req-42"}
}

func TestAuthenticateAndRequire(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	ec := newECKey(t, "ec-2026")
	rsaKey := newRSAKey(t, "rsa-2026")
	hmacKey := jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "oct-1", Algorithm: "HS256"}
	idp := newFakeIdP(t, ec.public(), rsaKey.public(), hmacKey)
	v := newTestVerifier(t, idp.config(), clk, idp)
	srv := newServer(t, v, clk)

	attacker := newECKey(t, "attacker")
	impostor := newECKey(t, ec.kid) // publishes nothing, reuses a trusted kid
	rsaNamedAsEC := rsaKey
	rsaNamedAsEC.kid = ec.kid

	pubDER, err := x509.MarshalPKIXPublicKey(rsaKey.public().Key)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs256 := func(secret []byte, kid string) string {
		signingInput := b64(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + b64(t, claimsAt(now, nil))
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(signingInput))
		return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	valid := ec.sign(t, claimsAt(now, nil))
	payload := b64(t, claimsAt(now, nil))

	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantErr    Error // the typed error Verify returns and the audit reason
		wantReason string
		wantRoles  []string
	}{
		{name: "valid ES256", header: bearer(valid), wantStatus: 200, wantRoles: []string{"resolver", "staff"}},
		{name: "valid RS256", header: bearer(rsaKey.sign(t, claimsAt(now, nil))), wantStatus: 200, wantRoles: []string{"resolver", "staff"}},
		{name: "aud as a string", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"aud": testAudience}))), wantStatus: 200, wantRoles: []string{"resolver", "staff"}},
		{name: "lower-case scheme", header: map[string]string{"Authorization": "bearer " + valid}, wantStatus: 200, wantRoles: []string{"resolver", "staff"}},
		{name: "expired within leeway", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"exp": now.Add(-20 * time.Second).Unix()}))), wantStatus: 200, wantRoles: []string{"resolver", "staff"}},

		{name: "expired", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"exp": now.Add(-31 * time.Second).Unix()}))), wantStatus: 401, wantErr: ErrExpired},
		{name: "not yet valid", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()}))), wantStatus: 401, wantErr: ErrNotYetValid},
		{name: "issued in the future", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"iat": now.Add(2 * time.Minute).Unix()}))), wantStatus: 401, wantErr: ErrIssuedInFuture},
		{name: "no expiry", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"exp": nil}))), wantStatus: 401, wantErr: ErrMissingExpiry},
		{name: "no subject", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"sub": nil}))), wantStatus: 401, wantErr: ErrMissingSubject},
		{name: "wrong audience", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"aud": []string{"other-app"}}))), wantStatus: 401, wantErr: ErrAudience},
		{name: "wrong issuer", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"iss": testIssuer + "/"}))), wantStatus: 401, wantErr: ErrIssuer},
		{name: "alg none", header: bearer(b64(t, map[string]string{"alg": "none", "typ": "JWT"}) + "." + payload + "."), wantStatus: 401, wantErr: ErrAlgorithm},
		{name: "alg none with a signature", header: bearer(b64(t, map[string]string{"alg": "none"}) + "." + payload + ".c2ln"), wantStatus: 401, wantErr: ErrAlgorithm},
		{name: "unsigned two-part token", header: bearer(b64(t, map[string]string{"alg": "ES256", "kid": ec.kid}) + "." + payload), wantStatus: 401, wantErr: ErrUnsigned},
		{name: "empty signature", header: bearer(b64(t, map[string]string{"alg": "ES256", "kid": ec.kid}) + "." + payload + "."), wantStatus: 401, wantErr: ErrUnsigned},
		{name: "unknown key", header: bearer(attacker.sign(t, claimsAt(now, nil))), wantStatus: 401, wantErr: ErrUnknownKey},
		{name: "trusted kid, other key", header: bearer(impostor.sign(t, claimsAt(now, nil))), wantStatus: 401, wantErr: ErrSignature},
		{name: "RS256 naming an EC key", header: bearer(rsaNamedAsEC.sign(t, claimsAt(now, nil))), wantStatus: 401, wantErr: ErrKeyMismatch},
		{name: "HS256 signed with the public key PEM", header: bearer(hs256(pubPEM, rsaKey.kid)), wantStatus: 401, wantErr: ErrAlgorithm},
		{name: "HS256 signed with the public key DER", header: bearer(hs256(pubDER, rsaKey.kid)), wantStatus: 401, wantErr: ErrAlgorithm},
		{name: "HS256 with a published oct key", header: bearer(hs256(hmacKey.Key.([]byte), "oct-1")), wantStatus: 401, wantErr: ErrAlgorithm},
		{name: "payload edited after signing", header: bearer(strings.Replace(valid, strings.Split(valid, ".")[1], b64(t, claimsAt(now, map[string]any{"roles": []string{"admin"}})), 1)), wantStatus: 401, wantErr: ErrSignature},
		{name: "garbage", header: bearer("not-a-token"), wantStatus: 401, wantErr: ErrMalformed},
		{name: "garbage in three parts", header: bearer("a.b.c"), wantStatus: 401, wantErr: ErrMalformed},
		{name: "JWE-shaped", header: bearer("a.b.c.d.e"), wantStatus: 401, wantErr: ErrMalformed},
		{name: "oversized", header: bearer(strings.Repeat("a", maxTokenBytes+1)), wantStatus: 401, wantErr: ErrMalformed},
		{name: "missing Authorization", header: nil, wantStatus: 401, wantReason: string(ErrMissingToken)},
		{name: "empty bearer", header: map[string]string{"Authorization": "Bearer "}, wantStatus: 401, wantReason: string(ErrMissingToken)},
		{name: "basic auth", header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, wantStatus: 401, wantReason: string(ErrMalformed)},

		{name: "valid but without the role", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"roles": []string{"staff"}}))), wantStatus: 403, wantReason: "missing role resolver or dei_officer"},
		{name: "valid with no role claim", header: bearer(ec.sign(t, claimsAt(now, map[string]any{"roles": nil}))), wantStatus: 403, wantReason: "missing role resolver or dei_officer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.audit.Reset()
			rec := srv.do(http.MethodGet, "/v1/cases/c-123?q=harassment", tt.header)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}

			if tt.wantErr != "" {
				tok := strings.TrimPrefix(tt.header["Authorization"], "Bearer ")
				_, err := v.Verify(context.Background(), tok)
				if !isErr(err, tt.wantErr) {
					t.Errorf("Verify error = %v, want %v", err, tt.wantErr)
				}
				tt.wantReason = string(tt.wantErr)
			}

			if tt.wantStatus == 200 {
				p := <-srv.seen
				if p.Subject != "user-1" || p.Issuer != testIssuer || p.ClientID != "deiops-web" || !slices.Equal(p.Roles, tt.wantRoles) {
					t.Errorf("principal = %+v", p)
				}
				if got := srv.audit.Records(); len(got) != 0 {
					t.Errorf("accepted request was audited as denied: %+v", got)
				}
				return
			}

			assertProblem(t, rec, tt.wantStatus)
			challenge := rec.Header().Get("WWW-Authenticate")
			switch {
			case tt.wantStatus == 403:
				if challenge != `Bearer realm="deiops", error="insufficient_scope"` {
					t.Errorf("WWW-Authenticate = %q", challenge)
				}
			case tt.wantReason == string(ErrMissingToken):
				if challenge != `Bearer realm="deiops"` {
					t.Errorf("WWW-Authenticate = %q", challenge)
				}
			default:
				if challenge != `Bearer realm="deiops", error="invalid_token"` {
					t.Errorf("WWW-Authenticate = %q", challenge)
				}
			}

			recs := srv.audit.Records()
			if len(recs) != 1 {
				t.Fatalf("audit records = %+v, want one", recs)
			}
			r := recs[0]
			wantActor := "anonymous"
			if tt.wantStatus == 403 {
				wantActor = "user-1"
			}
			if r.Reason != tt.wantReason || r.Actor != wantActor || r.Action != "GET /v1/cases/{id}" ||
				r.Outcome != OutcomeDenied || r.Status != tt.wantStatus || r.RequestID != requestIDOf(tt.header) || !r.Time.Equal(clk.Now()) {
				t.Errorf("audit record = %+v, want reason %q actor %q", r, tt.wantReason, wantActor)
			}
			dump := fmt.Sprintf("%+v", r)
			for _, leak := range []string{"c-123", "harassment", "eyJ", "Bearer"} {
				if strings.Contains(dump, leak) {
					t.Errorf("audit record contains %q: %s", leak, dump)
				}
			}
		})
	}
}

// Every 401 looks the same to the caller, whatever the reason.
func TestUnauthorizedResponsesAreUniform(t *testing.T) {
	clk := newClock()
	ec := newECKey(t, "ec-1")
	idp := newFakeIdP(t, ec.public())
	srv := newServer(t, newTestVerifier(t, idp.config(), clk, idp), clk)
	expired := ec.sign(t, claimsAt(clk.Now(), map[string]any{"exp": clk.Now().Add(-time.Hour).Unix()}))
	wrongAud := ec.sign(t, claimsAt(clk.Now(), map[string]any{"aud": "x"}))
	var bodies []string
	for _, h := range []map[string]string{bearer(expired), bearer(wrongAud), bearer("junk"), nil} {
		rec := srv.do(http.MethodGet, "/v1/cases/1", h)
		bodies = append(bodies, rec.Body.String())
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("401 bodies differ: %q vs %q", bodies[0], b)
		}
	}
}

func TestOptional(t *testing.T) {
	clk := newClock()
	ec := newECKey(t, "ec-1")
	idp := newFakeIdP(t, ec.public())
	srv := newServer(t, newTestVerifier(t, idp.config(), clk, idp), clk)

	rec := srv.do(http.MethodPost, "/v1/reports", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("anonymous: status %d", rec.Code)
	}
	if p := <-srv.seen; p != nil {
		t.Errorf("anonymous request has principal %+v", p)
	}

	rec = srv.do(http.MethodPost, "/v1/reports", bearer(ec.sign(t, claimsAt(clk.Now(), nil))))
	if rec.Code != http.StatusOK {
		t.Fatalf("authenticated: status %d", rec.Code)
	}
	if p := <-srv.seen; p == nil || p.Subject != "user-1" {
		t.Errorf("authenticated request has principal %+v", p)
	}

	rec = srv.do(http.MethodPost, "/v1/reports", bearer("junk"))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("bad token on an optional route: status %d, want 401", rec.Code)
	}
	if recs := srv.audit.Records(); len(recs) != 1 || recs[0].Action != "POST /v1/reports" || recs[0].Reason != string(ErrMalformed) {
		t.Errorf("audit = %+v", recs)
	}
}

func TestRequireWithoutAuthenticateDenies(t *testing.T) {
	clk := newClock()
	ec := newECKey(t, "ec-1")
	idp := newFakeIdP(t, ec.public())
	srv := newServer(t, newTestVerifier(t, idp.config(), clk, idp), clk)

	// Even with a valid admin token: Require alone never reads the header.
	rec := srv.do(http.MethodGet, "/v1/admin/only-require", bearer(ec.sign(t, claimsAt(clk.Now(), map[string]any{"roles": []string{"admin"}}))))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
	if recs := srv.audit.Records(); len(recs) != 1 || recs[0].Reason != string(ErrNotAuthenticated) {
		t.Errorf("audit = %+v", recs)
	}
}

func TestRequireNeedsRoles(t *testing.T) {
	mw, err := NewMiddleware(&Verifier{}, &MemoryAuditSink{}, MiddlewareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Require() with no roles did not panic")
		}
	}()
	mw.Require()
}

func TestNewMiddlewareNeedsAuditSink(t *testing.T) {
	if _, err := NewMiddleware(&Verifier{}, nil, MiddlewareOptions{}); err == nil {
		t.Error("middleware without an audit sink was built")
	}
}

func TestActionWithoutMethodInPattern(t *testing.T) {
	mux := http.NewServeMux()
	audit := &MemoryAuditSink{}
	mw, _ := NewMiddleware(&Verifier{}, audit, MiddlewareOptions{Logger: discardLogger()})
	mux.Handle("/v1/things/{id}", mw.Authenticate(http.NotFoundHandler()))
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodDelete, "/v1/things/42?x=1", nil))
	if recs := audit.Records(); len(recs) != 1 || recs[0].Action != "DELETE /v1/things/{id}" {
		t.Errorf("audit = %+v", recs)
	}

	audit.Reset()
	mw.Authenticate(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/secret/path", nil))
	if recs := audit.Records(); len(recs) != 1 || recs[0].Action != "GET (unrouted)" {
		t.Errorf("audit outside a mux = %+v", recs)
	}
}

func TestSlogAuditSink(t *testing.T) {
	var buf strings.Builder
	sink := NewSlogAuditSink(slogJSON(&buf))
	sink.Record(context.Background(), AuditRecord{
		Time: newClock().Now(), Actor: "anonymous", Action: "GET /v1/cases/{id}", Outcome: OutcomeDenied,
		Reason: "token expired", Status: 401, RequestID: "req-1", TraceID: "0af7651916cd43dd8448eb211c80319c",
	})
	var line struct {
		Level string         `json:"level"`
		Audit map[string]any `json:"audit"`
	}
	if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line.Level != "WARN" || line.Audit["reason"] != "token expired" || line.Audit["action"] != "GET /v1/cases/{id}" || line.Audit["trace_id"] != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("log line = %s", buf.String())
	}
}

func assertProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if p.Status != status || p.Title == "" || p.Type != "about:blank" {
		t.Errorf("problem = %+v", p)
	}
}

func requestIDOf(h map[string]string) string { return h["X-Request-Id"] }

// isErr checks that want is the classification of err, not merely somewhere
// in its chain.
func isErr(err error, want Error) bool {
	return errors.Is(err, want) && Reason(err) == string(want)
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
