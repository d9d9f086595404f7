package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

type loggerKey struct{}

// ContextLogger puts l in each request's context so WriteProblem, recovery and
// handlers log through the server's logger.
func ContextLogger(l *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loggerKey{}, l)))
		})
	}
}

// LoggerFrom returns the logger ContextLogger stored, or slog.Default so an
// error is never dropped silently outside a Server.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// AccessLog writes one line per request: method, route template, status,
// duration, response size and request id. It deliberately leaves out the raw
// path, query string, headers (Authorization above all), bodies and client
// address: any of them can identify a reporter or carry restricted data.
// The trace and span ids are the logger's to add (telemetry.NewLogger stamps
// every record), so a line never names them twice.
func AccessLog(l *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r, ri := withRouteInfo(r)
			sw := captureStatus(w)
			defer func() {
				ctx := r.Context()
				status := ri.status(sw)
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelWarn // the cause is logged where it happened
				}
				l.LogAttrs(ctx, level, "http request",
					slog.String("method", methodLabel(r.Method)),
					slog.String("route", routePath(ri.pattern)),
					slog.Int("status", status),
					slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
					slog.Int64("bytes", sw.bytes),
					slog.String("request_id", RequestIDFrom(ctx)))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}
