package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/notify"
)

const secret = "0123456789abcdef-webhook"

type captured struct {
	header http.Header
	body   []byte
}

// receiver answers with status and keeps every request.
func receiver(t *testing.T, status int) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{header: r.Header.Clone(), body: body})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

func newWebhook(t *testing.T, url string) *notify.Webhook {
	t.Helper()
	w, err := notify.NewWebhook(notify.WebhookOptions{URL: url, Secret: secret, Timeout: 5 * time.Second, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookPostsSignedJSON(t *testing.T) {
	srv, got := receiver(t, http.StatusNoContent)
	m := message(t, "n-5", notify.Contact{PersonID: "p-1", Email: "ada@example.org"}, notify.Contact{PersonID: "p-2"})
	if err := newWebhook(t, srv.URL+"/hooks/deiops").Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if err := notify.VerifySignature([]byte(secret), r.header.Get(notify.HeaderSignature), r.body, fixedNow.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("signature does not verify: %v (%s)", err, r.header.Get(notify.HeaderSignature))
	}
	if !strings.HasPrefix(r.header.Get(notify.HeaderSignature), "t=1772357400,v1=") {
		t.Errorf("signature header %q", r.header.Get(notify.HeaderSignature))
	}
	if r.header.Get("Idempotency-Key") != "n-5" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"notification_id": "n-5", "template": "case_attention", "link": link, "reference": "c-123",
		"recipients": []any{"p-1", "p-2"}, "fallback": false, "sent_at": "2026-03-01T09:30:00Z"}
	if len(p) != len(want) {
		t.Errorf("payload has fields %v, want exactly %v", keys(p), keys(want))
	}
	for k, v := range want {
		if g, _ := json.Marshal(p[k]); string(g) != mustJSON(v) {
			t.Errorf("payload %s = %s, want %s", k, g, mustJSON(v))
		}
	}
	if strings.Contains(string(r.body), "ada@") {
		t.Error("payload carries an email address")
	}

	// Verification fails for a changed body, another secret, or an old timestamp.
	sig := r.header.Get(notify.HeaderSignature)
	for name, err := range map[string]error{
		"tampered body": notify.VerifySignature([]byte(secret), sig, append(r.body, ' '), fixedNow, 5*time.Minute),
		"wrong secret":  notify.VerifySignature([]byte("another-secret-of-16"), sig, r.body, fixedNow, 5*time.Minute),
		"replayed late": notify.VerifySignature([]byte(secret), sig, r.body, fixedNow.Add(time.Hour), 5*time.Minute),
		"malformed":     notify.VerifySignature([]byte(secret), "v1=abc", r.body, fixedNow, 5*time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestWebhookFallbackHasNoRecipients(t *testing.T) {
	srv, got := receiver(t, http.StatusOK)
	m := message(t, "n-6")
	m.Fallback = true
	if err := newWebhook(t, srv.URL).Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if b := string(got()[0].body); !strings.Contains(b, `"recipients":[]`) || !strings.Contains(b, `"fallback":true`) {
		t.Errorf("fallback payload %s", b)
	}
	// Not a fallback and nobody to name: nothing is posted.
	err := newWebhook(t, srv.URL).Deliver(context.Background(), message(t, "n-7"))
	if !errors.Is(err, notify.ErrNoRecipients) || len(got()) != 1 {
		t.Errorf("empty delivery: %v, %d requests", err, len(got()))
	}
}

func TestWebhookStatusDecidesRetry(t *testing.T) {
	for _, tc := range []struct {
		status    int
		ok, retry bool
	}{
		{http.StatusOK, true, false},
		{http.StatusAccepted, true, false},
		{http.StatusInternalServerError, false, true},
		{http.StatusBadGateway, false, true},
		{http.StatusRequestTimeout, false, true},
		{http.StatusTooManyRequests, false, true},
		{http.StatusFound, false, true},
		{http.StatusBadRequest, false, false},
		{http.StatusUnauthorized, false, false},
		{http.StatusNotFound, false, false},
	} {
		srv, _ := receiver(t, tc.status)
		err := newWebhook(t, srv.URL).Deliver(context.Background(), message(t, "n-1", notify.Contact{PersonID: "p-1"}))
		switch {
		case tc.ok && err != nil:
			t.Errorf("%d: %v", tc.status, err)
		case !tc.ok && err == nil:
			t.Errorf("%d: accepted", tc.status)
		case !tc.ok && bus.IsPermanent(err) == tc.retry:
			t.Errorf("%d: permanent=%v, want %v (%v)", tc.status, bus.IsPermanent(err), !tc.retry, err)
		}
	}
}

func TestWebhookErrorsHideTheURL(t *testing.T) {
	srv, _ := receiver(t, http.StatusOK)
	url := srv.URL + "/hook?token=very-secret-token"
	srv.Close()
	err := newWebhook(t, url).Deliver(context.Background(), message(t, "n-1", notify.Contact{PersonID: "p-1"}))
	if err == nil || bus.IsPermanent(err) {
		t.Fatalf("unreachable receiver: %v", err)
	}
	if strings.Contains(err.Error(), "very-secret-token") {
		t.Errorf("error reveals the URL: %v", err)
	}
}

func TestNewWebhookRejectsBadOptions(t *testing.T) {
	for _, o := range []notify.WebhookOptions{
		{URL: "ftp://example.org/x", Secret: secret},
		{URL: "/relative", Secret: secret},
		{URL: "https://example.org/x", Secret: "short"},
	} {
		if _, err := notify.NewWebhook(o); err == nil {
			t.Errorf("accepted %+v", o)
		}
	}
}
