package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// xorSealer is a stand-in for the crypto package: reversible, visibly not
// plaintext, and bound to its associated data like AES-GCM would be.
type xorSealer struct{}

const sealedPrefix = "sealed:"

func (xorSealer) Seal(plaintext, aad []byte) ([]byte, error) {
	tag := sha256.Sum256(aad)
	out := []byte(sealedPrefix + hex.EncodeToString(tag[:8]) + ":")
	for _, b := range plaintext {
		out = append(out, b^0x5a)
	}
	return out, nil
}

func (xorSealer) Open(ciphertext, aad []byte) ([]byte, error) {
	tag := sha256.Sum256(aad)
	prefix := []byte(sealedPrefix + hex.EncodeToString(tag[:8]) + ":")
	if !bytes.HasPrefix(ciphertext, prefix) {
		return nil, errors.New("xorSealer: wrong associated data or not sealed")
	}
	out := make([]byte, 0, len(ciphertext)-len(prefix))
	for _, b := range ciphertext[len(prefix):] {
		out = append(out, b^0x5a)
	}
	return out, nil
}

// testSecret keys Redis key hashes in tests.
func testSecret() []byte { return []byte("0123456789abcdef0123456789abcdef") }

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// serve runs one request through h and returns the recorded response.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func jsonRequest(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// decodeProblemBody parses a problem response and checks its media type.
func decodeProblemBody(t *testing.T, w *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q (body %s)", ct, ProblemContentType, w.Body.String())
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body.String(), err)
	}
	return p
}

func newDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
