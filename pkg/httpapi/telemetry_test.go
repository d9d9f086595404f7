package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/deiops/deiops/pkg/telemetry"
	"github.com/deiops/deiops/pkg/testkit"
)

// telemetryStack serves a route with an id in the path, a failing route
// and nothing else, behind the tracing, metrics and access-log middleware.
func telemetryStack(t *testing.T, tp trace.TracerProvider, mp metric.MeterProvider) (http.Handler, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	// The production logger: it, not the middleware, adds the trace ids.
	logger, err := telemetry.NewLogger(logs, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := Metrics(mp)
	if err != nil {
		t.Fatal(err)
	}
	rt := NewRouter(RouterOptions{})
	rt.HandleFunc(Operation{Method: "POST", Path: "/v1/cases/{id}/notes", ID: "addNote", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	rt.HandleFunc(Operation{Method: "GET", Path: "/v1/fail", ID: "fail", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, ServiceUnavailable("down"))
	})
	rt.HandleFunc(Operation{Method: "GET", Path: "/v1/gone", ID: "gone", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		// What a handler sees when its client hung up mid-request.
		WriteProblem(w, r, fmt.Errorf("load case: %w", r.Context().Err()))
	})
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	h := Chain(RequestID(), ContextLogger(logger), Trace(tp, prop), metrics, AccessLog(logger), Recover())(rt)
	return h, logs
}

const (
	parentTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	caseID        = "case-7f3a9"
	querySecret   = "reporter=jane.doe"
)

func TestTraceSpans(t *testing.T) {
	tp, rec := testkit.Spans(t)
	h, _ := telemetryStack(t, tp, nil)

	r := jsonRequest(http.MethodPost, "/v1/cases/"+caseID+"/notes?"+querySecret, `{"narrative":"x"}`)
	r.Header.Set("traceparent", "00-"+parentTraceID+"-00f067aa0ba902b7-01")
	if w := serve(h, r); w.Code != 201 {
		t.Fatalf("status %d", w.Code)
	}
	serve(h, httptest.NewRequest(http.MethodGet, "/v1/fail", nil))
	serve(h, httptest.NewRequest(http.MethodGet, "/nowhere/"+caseID, nil))

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want 3", len(spans))
	}
	tests := []struct {
		name       string
		wantStatus int64
		wantRoute  string
		wantError  bool
	}{
		{"POST /v1/cases/{id}/notes", 201, "/v1/cases/{id}/notes", false},
		{"GET /v1/fail", 503, "/v1/fail", true},
		{"GET", 404, "", false},
	}
	for i, tc := range tests {
		s := spans[i]
		if s.Name() != tc.name {
			t.Errorf("span %d name = %q, want %q", i, s.Name(), tc.name)
		}
		if s.SpanKind() != trace.SpanKindServer {
			t.Errorf("span %d kind = %v", i, s.SpanKind())
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value
			if v := kv.Value.Emit(); strings.Contains(v, caseID) || strings.Contains(v, "jane") || strings.Contains(v, "narrative") {
				t.Errorf("span %d attribute %s=%q leaks the path, query or body", i, kv.Key, v)
			}
		}
		if got := attrs["http.response.status_code"].AsInt64(); got != tc.wantStatus {
			t.Errorf("span %d status attribute = %d, want %d", i, got, tc.wantStatus)
		}
		if got := attrs["http.route"].AsString(); got != tc.wantRoute {
			t.Errorf("span %d http.route = %q, want %q", i, got, tc.wantRoute)
		}
		if attrs["http.request.method"].AsString() == "" {
			t.Errorf("span %d has no http.request.method", i)
		}
		if (s.Status().Code == codes.Error) != tc.wantError {
			t.Errorf("span %d status = %v, want error=%v", i, s.Status(), tc.wantError)
		}
	}
	if got := spans[0].Parent().TraceID().String(); got != parentTraceID || !spans[0].Parent().IsRemote() {
		t.Errorf("first span does not continue the caller's trace: parent %v", spans[0].Parent())
	}
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	h, _ := telemetryStack(t, nil, mp)

	for range 2 {
		serve(h, jsonRequest(http.MethodPost, "/v1/cases/"+caseID+"/notes?"+querySecret, `{}`))
	}
	serve(h, httptest.NewRequest(http.MethodGet, "/v1/fail", nil))
	serve(h, httptest.NewRequest("BREW", "/v1/fail", nil))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	type key struct {
		method, route string
		status        int64
	}
	counts := map[key]uint64{}
	var activeSum int64
	found := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Histogram[float64]:
				if m.Name != "http.server.request.duration" || m.Unit != "s" {
					continue
				}
				found++
				for _, dp := range data.DataPoints {
					for _, kv := range dp.Attributes.ToSlice() {
						if v := kv.Value.Emit(); strings.Contains(v, caseID) || strings.Contains(v, "jane") {
							t.Errorf("label %s=%q holds the raw path or query", kv.Key, v)
						}
					}
					method, _ := dp.Attributes.Value("http.request.method")
					route, _ := dp.Attributes.Value("http.route")
					status, _ := dp.Attributes.Value("http.response.status_code")
					counts[key{method.AsString(), route.AsString(), status.AsInt64()}] += dp.Count
				}
			case metricdata.Sum[int64]:
				if m.Name != "http.server.active_requests" {
					continue
				}
				found++
				for _, dp := range data.DataPoints {
					activeSum += dp.Value
				}
			}
		}
	}
	if found != 2 {
		t.Fatalf("found %d of the 2 instruments", found)
	}
	want := map[key]uint64{
		{"POST", "/v1/cases/{id}/notes", 201}: 2,
		{"GET", "/v1/fail", 503}:              1,
		{"_OTHER", "", 405}:                   1,
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("count for %+v = %d, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if activeSum != 0 {
		t.Errorf("active requests = %d after all finished", activeSum)
	}
}

func TestAccessLog(t *testing.T) {
	tp, _ := testkit.Spans(t)
	h, logs := telemetryStack(t, tp, nil)
	r := jsonRequest(http.MethodPost, "/v1/cases/"+caseID+"/notes?"+querySecret, `{"narrative":"BODY-SECRET"}`)
	r.Header.Set("Authorization", "Bearer TOKEN-SECRET")
	r.Header.Set(RequestIDHeader, "req-log-1")
	serve(h, r)

	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "http request" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no access log line in %s", logs.String())
	}
	for k, want := range map[string]any{"method": "POST", "route": "/v1/cases/{id}/notes", "status": float64(201), "request_id": "req-log-1"} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
	for _, k := range []string{"duration_ms", "trace_id", "span_id"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access log lacks %s: %v", k, line)
		}
	}
	for _, secret := range []string{caseID, "jane", "BODY-SECRET", "TOKEN-SECRET", "192.0.2.1"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q: %s", secret, logs.String())
		}
	}
}

// A request whose client went away is recorded as 499, never as a server
// fault: the access log line is INFO, no ERROR is logged, the metric has no
// error.type and the span is no error.
func TestClientGoneIsNotAServerError(t *testing.T) {
	tp, spans := testkit.Spans(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	h, logs := telemetryStack(t, tp, mp)

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client hung up
	serve(h, httptest.NewRequest(http.MethodGet, "/v1/gone", nil).WithContext(ctx))

	var access map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["level"] == "ERROR" {
			t.Errorf("a client that went away was logged as an error: %s", l)
		}
		if m["msg"] == "http request" {
			access = m
		}
	}
	if access == nil || access["status"] != float64(StatusClientClosedRequest) || access["level"] != "INFO" {
		t.Errorf("access log = %v, want status 499 at INFO", access)
	}

	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("got %d spans, want 1", len(ended))
	}
	if ended[0].Status().Code == codes.Error {
		t.Errorf("span status = %v, want no error", ended[0].Status())
	}
	for _, kv := range ended[0].Attributes() {
		if kv.Key == "http.response.status_code" && kv.Value.AsInt64() != StatusClientClosedRequest {
			t.Errorf("span status code = %d, want 499", kv.Value.AsInt64())
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	points := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			hist, ok := m.Data.(metricdata.Histogram[float64])
			if !ok || m.Name != "http.server.request.duration" {
				continue
			}
			for _, dp := range hist.DataPoints {
				points++
				if status, _ := dp.Attributes.Value("http.response.status_code"); status.AsInt64() != StatusClientClosedRequest {
					t.Errorf("duration recorded with status %d, want 499", status.AsInt64())
				}
				if v, ok := dp.Attributes.Value("error.type"); ok {
					t.Errorf("duration recorded with error.type %q", v.Emit())
				}
			}
		}
	}
	if points != 1 {
		t.Errorf("%d duration data points, want 1", points)
	}
}

// Through the whole server with tracing on, an access log line names the
// trace and the span exactly once each, as the logger stamps them.
func TestAccessLogNamesTraceOnce(t *testing.T) {
	tp, spans := testkit.Spans(t)
	logs := &logBuffer{}
	logger, err := telemetry.NewLogger(logs, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Options{Logger: logger, TracerProvider: tp, Config: testHTTPConfig()})
	if err != nil {
		t.Fatal(err)
	}
	s.Router().HandleFunc(Operation{Method: "GET", Path: "/v1/ping", ID: "ping", Public: true}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	serve(s.Handler(), httptest.NewRequest(http.MethodGet, "/v1/ping", nil))

	var line string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, `"msg":"http request"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no access log line in %s", logs.String())
	}
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("got %d spans, want 1", len(ended))
	}
	sc := ended[0].SpanContext()
	for key, want := range map[string]string{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()} {
		if n := strings.Count(line, `"`+key+`":`); n != 1 {
			t.Errorf("%s appears %d times in %s", key, n, line)
		}
		if !strings.Contains(line, `"`+key+`":"`+want+`"`) {
			t.Errorf("%s is not the request span's %s: %s", key, want, line)
		}
	}
}
