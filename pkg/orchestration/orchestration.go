// Package orchestration connects deiops to Temporal: a client whose
// payloads are encrypted by the platform keyring and whose workflows and
// activities join the caller's trace, and workers built from it.
package orchestration

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/tlsfiles"
)

// Options configures a Temporal client.
type Options struct {
	Config config.Temporal
	// Codec encrypts every payload before it leaves the process (required
	// outside tests: workflow inputs may name people).
	Codec          converter.PayloadCodec
	Logger         *slog.Logger
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	// Identity names this client in Temporal's UI (default: host/pid).
	Identity string
}

// ClientOptions builds the SDK options: data converter with the codec,
// OTel tracing interceptor (it also applies to workers made from the
// client), SDK metrics into the meter provider, TLS and API key.
func ClientOptions(o Options) (client.Options, error) {
	co := client.Options{
		HostPort:  o.Config.Address,
		Namespace: o.Config.Namespace,
		Identity:  o.Identity,
	}
	if o.Logger != nil {
		co.Logger = tlog.NewStructuredLogger(o.Logger)
	}
	if o.Codec != nil {
		co.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), o.Codec)
		// Error messages and stack traces can quote what a handler was
		// working on: move them into an encoded payload too.
		co.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter:          co.DataConverter,
			EncodeCommonAttributes: true,
		})
	}
	if o.TracerProvider != nil {
		ti, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
			Tracer:            o.TracerProvider.Tracer("github.com/deiops/deiops/pkg/orchestration"),
			TextMapPropagator: o.Propagator,
		})
		if err != nil {
			return client.Options{}, fmt.Errorf("temporal tracing interceptor: %w", err)
		}
		co.Interceptors = []interceptor.ClientInterceptor{ti}
	}
	if o.MeterProvider != nil {
		co.MetricsHandler = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter:   o.MeterProvider.Meter("github.com/deiops/deiops/pkg/orchestration"),
			OnError: func(err error) { o.logger().Warn("temporal metric", "error", err) },
		})
	}
	if o.Config.TLS || o.Config.TLSCA != "" || o.Config.TLSCert != "" {
		tc, err := tlsfiles.Load(tlsfiles.Files{CA: o.Config.TLSCA, Cert: o.Config.TLSCert, Key: o.Config.TLSKey, ServerName: o.Config.ServerName})
		if err != nil {
			return client.Options{}, fmt.Errorf("temporal tls: %w", err)
		}
		co.ConnectionOptions.TLS = tc
	}
	if o.Config.APIKey != "" {
		co.Credentials = client.NewAPIKeyStaticCredentials(o.Config.APIKey)
	}
	return co, nil
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Dial connects lazily: the process starts (and serves /readyz as not
// ready) while Temporal is unreachable, instead of failing at boot.
func Dial(o Options) (client.Client, error) {
	co, err := ClientOptions(o)
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(co)
	if err != nil {
		return nil, fmt.Errorf("temporal client %s: %w", o.Config.Address, err)
	}
	return c, nil
}

// Check reports whether Temporal answers (readiness).
func Check(ctx context.Context, c client.Client) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal health: %w", err)
	}
	return nil
}

// TaskQueue is the task queue of one service target.
func TaskQueue(prefix, target string) string {
	if prefix == "" {
		prefix = "deiops"
	}
	return prefix + "-" + target
}

// NewWorker creates a worker on the target's task queue; register
// workflows and activities on it, then Start it.
func NewWorker(c client.Client, taskQueue string, o worker.Options) worker.Worker {
	return worker.New(c, taskQueue, o)
}
