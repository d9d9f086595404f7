package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/deiops/deiops/pkg/idem"
)

const (
	// IdempotencyKeyHeader is the request header naming a POST's key.
	IdempotencyKeyHeader = "Idempotency-Key"
	// IdempotentReplayedHeader marks a response replayed from the store.
	IdempotentReplayedHeader = "Idempotent-Replayed"

	maxIdempotencyKeyLen = 255
)

// Sealer encrypts data at rest with associated data bound to it. The crypto
// package implements it (AES-256-GCM under the keyring). Stored responses can
// hold restricted data, so they never reach the store unsealed.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

// IdempotencyOptions configures Idempotency.
type IdempotencyOptions struct {
	Store  IdempotencyStore // required
	Sealer Sealer           // required
	// KeySecret keys the hashes that name stored entries (use the privacy
	// HMAC secret); required and the same on every instance.
	KeySecret []byte
	// TTL is how long a completed response is replayed (default 24h).
	TTL time.Duration
	// LockTTL bounds how long a running request holds its key, so a crash
	// frees it (default 1m; set it above the server's write timeout).
	LockTTL time.Duration
	// Identity names the authenticated caller, "" when anonymous; anonymous
	// callers are scoped by ClientIP (default RemoteIP).
	Identity func(*http.Request) string
	ClientIP func(*http.Request) string
	// MaxResponseBytes bounds a stored response (default 1 MiB). A larger
	// one is sent but not stored, and the key is released.
	MaxResponseBytes int
}

// storedResponse is what a replay sends back. It is sealed as a whole, so
// status and Location are as protected as the body.
type storedResponse struct {
	Status      int    `json:"s"`
	ContentType string `json:"t,omitempty"`
	Location    string `json:"l,omitempty"`
	Body        []byte `json:"b,omitempty"`
}

type idempotency struct {
	o      IdempotencyOptions
	hasher keyHasher
}

// Idempotency makes POSTs that carry an Idempotency-Key safe to retry:
//
//   - the first completed response (status, Content-Type, Location, body) is
//     replayed for the same key and caller with Idempotent-Replayed: true;
//   - the same key with a different request (method, route, path, query or
//     body) is 422;
//   - the same key while the first request still runs is 409;
//   - 5xx responses and panics are not stored, so the key can be retried;
//     a route that may have written before failing must be Idempotent
//     (see Operation.Idempotent), so that the retry finds what it wrote;
//   - a key that is not 1–255 printable ASCII characters is 400.
//
// Keys are scoped by caller, and stored under a keyed hash of caller and
// key, so neither appears in the store. Handlers see the request's
// IdempotencyScope. When the store is unreachable an Idempotent route runs
// on (its own store answers retries) and any other is refused with 503:
// the client asked for at-most-once execution. POSTs without the header
// pass through unchanged.
func Idempotency(o IdempotencyOptions) (Middleware, error) {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("idempotency: a store is required"))
	}
	if o.Sealer == nil {
		errs = append(errs, errors.New("idempotency: a sealer is required: stored responses may hold restricted data"))
	}
	if len(o.KeySecret) < 16 {
		errs = append(errs, errors.New("idempotency: a key secret of at least 16 bytes is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.TTL <= 0 {
		o.TTL = 24 * time.Hour
	}
	if o.LockTTL <= 0 {
		o.LockTTL = time.Minute
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 1 << 20
	}
	m := &idempotency{o: o, hasher: keyHasher{secret: o.KeySecret}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serve(next, w, r) })
	}, nil
}

func (m *idempotency) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	values, present := r.Header[IdempotencyKeyHeader]
	if r.Method != http.MethodPost || !present {
		next.ServeHTTP(w, r)
		return
	}
	if len(values) != 1 || !validIdempotencyKey(values[0]) {
		WriteProblem(w, r, BadRequest("Idempotency-Key must be one value of 1 to 255 printable ASCII characters"))
		return
	}
	// The body is buffered for the fingerprint and for the handler; LimitBody,
	// which every Server runs first, bounds it.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			WriteProblem(w, r, PayloadTooLarge(tooLarge.Limit))
			return
		}
		WriteProblem(w, r, BadRequest("request body could not be read"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	caller := callerOf(r, m.o.Identity, m.o.ClientIP)
	key := m.hasher.sum("idempotency-key", []byte(caller), []byte(values[0]))
	// The concrete path and query are part of the fingerprint as well as the
	// route: the same key on /cases/1/notes and /cases/2/notes is a misuse,
	// not a retry.
	fp := m.hasher.sum("idempotency-fingerprint", []byte(r.Method), []byte(r.Pattern),
		[]byte(r.URL.EscapedPath()), []byte(r.URL.RawQuery), body)
	// The scope is a different hash from the store's key name, so what the
	// store holds cannot be turned into the ids and secrets handlers derive
	// from the scope.
	scope := IdempotencyScope{Key: m.hasher.sum("idempotency-scope", []byte(caller), []byte(values[0])), Fingerprint: fp}
	r = r.WithContext(idem.With(r.Context(), scope))

	ctx := r.Context()
	claim, err := m.o.Store.Begin(ctx, key, fp, m.o.LockTTL)
	if err != nil && ctx.Err() != nil {
		// The client went away while the key was checked: nothing ran.
		WriteProblem(w, r, ctx.Err())
		return
	}
	if err != nil {
		if ctx.Value(selfIdempotentKey{}) != nil {
			// The handler finds a retry's first result in its own store.
			LoggerFrom(ctx).WarnContext(ctx, "idempotency store unavailable; the route answers retries from its own store",
				"request_id", RequestIDFrom(ctx), "error", err)
			next.ServeHTTP(w, r)
			return
		}
		LoggerFrom(ctx).ErrorContext(ctx, "idempotency store unavailable", "request_id", RequestIDFrom(ctx), "error", err)
		w.Header().Set("Retry-After", "1")
		WriteProblem(w, r, ServiceUnavailable("idempotency keys cannot be checked right now; retry later"))
		return
	}
	switch claim.State {
	case ClaimAcquired:
		m.run(next, w, r, key, claim.Token)
	case ClaimReplay:
		m.replay(w, r, key, claim.Response)
	case ClaimInFlight:
		w.Header().Set("Retry-After", "1")
		WriteProblem(w, r, Conflict("a request with this Idempotency-Key is still being processed"))
	case ClaimMismatch:
		WriteProblem(w, r, Unprocessable("this Idempotency-Key was already used for a different request"))
	default:
		WriteProblem(w, r, fmt.Errorf("idempotency: unknown claim state %v", claim.State))
	}
}

// IdempotencyScope names one logical request across its retries (see
// package idem): handlers of Idempotent routes derive what they create
// from it, so a retry finds the first result whatever the idempotency
// store remembers.
type IdempotencyScope = idem.Scope

type selfIdempotentKey struct{}

// IdempotencyScopeFrom returns the request's scope; ok is false when the
// request carried no Idempotency-Key (or the server has no idempotency).
func IdempotencyScopeFrom(ctx context.Context) (IdempotencyScope, bool) { return idem.From(ctx) }

// selfIdempotent tells the idempotency middleware around it that the
// route does not depend on the idempotency store (Operation.Idempotent).
func selfIdempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), selfIdempotentKey{}, true)))
	})
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > maxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// aad binds a sealed response to its key, so entries cannot be swapped.
func idempotencyAAD(key string) []byte { return []byte("deiops/httpapi/idempotency:" + key) }

func (m *idempotency) run(next http.Handler, w http.ResponseWriter, r *http.Request, key, token string) {
	ctx := r.Context()
	log := LoggerFrom(ctx)
	// The outcome is recorded even if the client has gone away: its retry
	// must find it.
	storeCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	}
	stored := false
	defer func() {
		if stored {
			return
		}
		// 5xx, oversized, unsealable or panicking: free the key for a retry.
		sctx, cancel := storeCtx()
		defer cancel()
		if err := m.o.Store.Release(sctx, key, token); err != nil {
			log.WarnContext(ctx, "release idempotency key", "request_id", RequestIDFrom(ctx), "error", err)
		}
	}()

	rec := &recordingWriter{statusWriter: captureStatus(w), limit: m.o.MaxResponseBytes}
	next.ServeHTTP(rec, r)

	if rec.Status() >= 500 || rec.overflow {
		return
	}
	plain, err := json.Marshal(storedResponse{
		Status: rec.Status(), ContentType: rec.contentType, Location: rec.location, Body: rec.body.Bytes(),
	})
	if err != nil {
		log.ErrorContext(ctx, "encode idempotent response", "request_id", RequestIDFrom(ctx), "error", err)
		return
	}
	sealed, err := m.o.Sealer.Seal(plain, idempotencyAAD(key))
	if err != nil {
		log.ErrorContext(ctx, "seal idempotent response", "request_id", RequestIDFrom(ctx), "error", err)
		return
	}
	sctx, cancel := storeCtx()
	defer cancel()
	if err := m.o.Store.Complete(sctx, key, token, sealed, m.o.TTL); err != nil {
		log.WarnContext(ctx, "store idempotent response", "request_id", RequestIDFrom(ctx), "error", err)
		return
	}
	stored = true
}

func (m *idempotency) replay(w http.ResponseWriter, r *http.Request, key string, sealed []byte) {
	plain, err := m.o.Sealer.Open(sealed, idempotencyAAD(key))
	if err != nil {
		WriteProblem(w, r, fmt.Errorf("open stored idempotent response: %w", err))
		return
	}
	var sr storedResponse
	if err := json.Unmarshal(plain, &sr); err != nil {
		WriteProblem(w, r, fmt.Errorf("decode stored idempotent response: %w", err))
		return
	}
	h := w.Header()
	if sr.ContentType != "" {
		h.Set("Content-Type", sr.ContentType)
	}
	if sr.Location != "" {
		h.Set("Location", sr.Location)
	}
	h.Set(IdempotentReplayedHeader, "true")
	w.WriteHeader(sr.Status)
	if _, err := w.Write(sr.Body); err != nil {
		LoggerFrom(r.Context()).DebugContext(r.Context(), "write replayed response", "error", err)
	}
}

// recordingWriter passes a response through while keeping a copy to store.
type recordingWriter struct {
	*statusWriter
	limit       int
	body        bytes.Buffer
	overflow    bool
	contentType string
	location    string
	snapshot    bool
}

func (w *recordingWriter) WriteHeader(code int) {
	if !w.snapshot && code >= 200 {
		w.takeSnapshot()
	}
	w.statusWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if !w.snapshot {
		w.takeSnapshot()
	}
	if !w.overflow {
		if w.body.Len()+len(b) > w.limit {
			w.overflow = true
			w.body = bytes.Buffer{}
		} else {
			w.body.Write(b)
		}
	}
	return w.statusWriter.Write(b)
}

// takeSnapshot keeps the headers as they were sent; a handler changing the
// map afterwards does not change the response.
func (w *recordingWriter) takeSnapshot() {
	w.snapshot = true
	w.contentType = w.Header().Get("Content-Type")
	w.location = w.Header().Get("Location")
}

// Flush passes through; what was flushed is still recorded.
func (w *recordingWriter) Flush() {
	if !w.snapshot {
		w.takeSnapshot()
	}
	w.statusWriter.Flush()
}

// Unwrap serves http.ResponseController.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.statusWriter }
