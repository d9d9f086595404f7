package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/httpconv"
)

// Metrics records http.server.request.duration (labelled by method, route
// template, status and scheme) and http.server.active_requests (method and
// scheme: the route and status are not known while a request is running).
// Labels never hold the raw path, so their number stays bounded.
func Metrics(mp metric.MeterProvider) (Middleware, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	meter := mp.Meter(instrumentationName, metric.WithSchemaURL(semconv.SchemaURL))
	duration, err := httpconv.NewServerRequestDuration(meter)
	if err != nil {
		return nil, fmt.Errorf("create %s histogram: %w", duration.Name(), err)
	}
	active, err := httpconv.NewServerActiveRequests(meter)
	if err != nil {
		return nil, fmt.Errorf("create %s counter: %w", active.Name(), err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r, ri := withRouteInfo(r)
			ctx := r.Context()
			method := httpconv.RequestMethodAttr(methodLabel(r.Method))
			scheme := schemeOf(r)
			active.Add(ctx, 1, method, scheme)
			sw := captureStatus(w)
			defer func() {
				// Deferred so a panic that escapes still balances the gauge.
				active.Add(ctx, -1, method, scheme)
				status := ri.status(sw)
				attrs := []attribute.KeyValue{semconv.HTTPResponseStatusCode(status)}
				if route := routePath(ri.pattern); route != "" {
					attrs = append(attrs, semconv.HTTPRoute(route))
				}
				if status >= 500 {
					attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
				}
				duration.Record(ctx, time.Since(start).Seconds(), method, scheme, attrs...)
			}()
			next.ServeHTTP(sw, r)
		})
	}, nil
}
