package httpapi

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// instrumentationName names this package's tracer and meter.
const instrumentationName = "github.com/deiops/deiops/pkg/httpapi"

// Trace starts a SERVER span per request, continuing the caller's trace from
// W3C traceparent/baggage headers through prop. The span is named
// "METHOD /route/{template}" once the router has matched the request (just
// "METHOD" when nothing matched).
//
// Attributes follow the HTTP server semantic conventions except that url.path,
// url.query, client.address and user_agent.original are left out on purpose:
// paths carry identifiers such as anonymous case keys, and the client address
// and user agent could re-identify an anonymous reporter. http.route carries
// the template instead.
func Trace(tp trace.TracerProvider, prop propagation.TextMapPropagator) Middleware {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	tracer := tp.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, ri := withRouteInfo(r)
			method := methodLabel(r.Method)
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span := tracer.Start(ctx, spanName(method, ""),
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(requestAttributes(r, method)...))
			defer span.End()

			sw := captureStatus(w)
			next.ServeHTTP(sw, r.WithContext(ctx))

			status := ri.status(sw)
			if route := routePath(ri.pattern); route != "" {
				span.SetName(spanName(method, route))
				span.SetAttributes(semconv.HTTPRoute(route))
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			// Client errors are the client's; only 5xx make a server span an error.
			if status >= 500 {
				span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
				span.SetStatus(codes.Error, "")
			}
		})
	}
}

func spanName(method, route string) string {
	if method == "_OTHER" {
		method = "HTTP"
	}
	if route == "" {
		return method
	}
	return method + " " + route
}

func requestAttributes(r *http.Request, method string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLScheme(schemeOf(r)),
		semconv.NetworkProtocolVersion(protocolVersion(r)),
	}
	return attrs
}

func protocolVersion(r *http.Request) string {
	switch r.ProtoMajor {
	case 1:
		return "1." + strconv.Itoa(r.ProtoMinor)
	case 2:
		return "2"
	case 3:
		return "3"
	}
	return strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)
}
