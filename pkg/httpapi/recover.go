package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic into a 500 problem and logs the stack with the
// request id. When the response had already started, the connection is
// aborted instead so the client cannot mistake a truncated body for a
// complete one. http.ErrAbortHandler passes through untouched.
func Recover() Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := captureStatus(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				ctx := r.Context()
				LoggerFrom(ctx).ErrorContext(ctx, "panic serving request",
					"request_id", RequestIDFrom(ctx),
					"route", Route(r),
					"panic", fmt.Sprint(v),
					"stack", string(debug.Stack()))
				if sw.wroteHeader() {
					panic(http.ErrAbortHandler)
				}
				WriteProblem(sw, r, Internal())
			}()
			next.ServeHTTP(sw, r)
		})
	}
}
