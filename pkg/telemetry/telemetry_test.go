package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/telemetry"
)

func TestNoEndpointMeansNoExportAndNoError(t *testing.T) {
	var out bytes.Buffer
	tel, err := telemetry.New(context.Background(), telemetry.Options{
		ServiceName: "deiops-test", LogLevel: "info", LogFormat: "json", LogOutput: &out,
		Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tel.TracerProvider.Tracer("t").Start(context.Background(), "op")
	tel.Logger.InfoContext(ctx, "hello")
	span.End()

	var rec map[string]any
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("log line is not JSON: %q", out.String())
	}
	if rec["trace_id"] != span.SpanContext().TraceID().String() || rec["span_id"] != span.SpanContext().SpanID().String() {
		t.Fatalf("log record lacks the span's ids: %v", rec)
	}

	c, _ := tel.MeterProvider.Meter("t").Int64Counter("deiops.test.things")
	c.Add(ctx, 3)
	rr := httptest.NewRecorder()
	tel.MetricsHandler.ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rr.Body)
	if !strings.Contains(string(body), "deiops_test_things_total 3") {
		t.Fatalf("/metrics lacks the counter:\n%s", body)
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestBadSettingsAreReported(t *testing.T) {
	if _, err := telemetry.New(context.Background(), telemetry.Options{LogLevel: "loud", Getenv: func(string) string { return "" }}); err == nil {
		t.Fatal("unknown log level accepted")
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}
	if _, err := telemetry.New(context.Background(), telemetry.Options{LogLevel: "info", Getenv: func(k string) string { return env[k] }}); err == nil {
		t.Fatal("unknown OTLP protocol accepted")
	}
}
