package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Middleware wraps a handler with a cross-cutting concern.
type Middleware = func(http.Handler) http.Handler

// Chain composes middleware so the first one listed sees the request first.
func Chain(mws ...Middleware) Middleware {
	return func(h http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			if mws[i] != nil {
				h = mws[i](h)
			}
		}
		return h
	}
}

// statusWriter remembers the status and size of a response for the
// middleware that report on it. One instance is shared down the chain.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// captureStatus reuses w when an outer middleware already wrapped it, so a
// response is wrapped once however many middleware observe it.
func captureStatus(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx responses are informational; the final status comes later.
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Status is the status sent so far: 200 when the handler wrote nothing,
// which is what net/http sends in that case.
func (w *statusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// wroteHeader reports whether the status line has gone out.
func (w *statusWriter) wroteHeader() bool { return w.status != 0 }

// Flush keeps streaming handlers working through the wrapper.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack lets protocol upgrades through the wrapper.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	return conn, rw, nil
}

// Unwrap serves http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RequestDeadline gives every request a deadline of budget, shorter than
// the server's write timeout: work that runs out of time ends with a 503
// and Retry-After the client can act on, instead of the connection being
// cut when the write timeout passes (an EOF says nothing about whether to
// retry). A budget of zero or less sets no deadline.
func RequestDeadline(budget time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		if budget <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), budget)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// requestBudget leaves the last quarter of the write timeout, at most 5s,
// for answering.
func requestBudget(writeTimeout time.Duration) time.Duration {
	if writeTimeout <= 0 {
		return 0
	}
	return writeTimeout - min(writeTimeout/4, 5*time.Second)
}
