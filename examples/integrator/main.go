// Command integrator is a worked example of a deiops integrator: it reads
// the platform's public CloudEvents from a durable JetStream pull consumer
// in the INTEGRATOR account and appends each event, once, as a JSON line to
// a file — the shape an HRIS or data-warehouse loader starts from.
//
//	integrator setup   create (or update) the stream on dei.> and the durable consumer
//	integrator run     receive events into the output file until SIGINT/SIGTERM
//
// Every setting is a flag with an environment default; see -h and
// README.md. The program never creates or deletes consumers while it
// runs: it binds to the durable one that setup (or the nats CLI) made.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublicSubjects is where deiops publishes its public events.
const PublicSubjects = "dei.>"

// Config is every setting of the program.
type Config struct {
	URL       string
	User      string
	Password  string
	CredsFile string
	Stream    string
	Consumer  string
	Output    string

	// setup only
	MaxAge     time.Duration
	Duplicates time.Duration
	AckWait    time.Duration
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// parseConfig reads flags over environment defaults.
func parseConfig(cmd string, args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("integrator "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.URL, "url", env("INTEGRATOR_NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL(s), comma-separated (env INTEGRATOR_NATS_URL)")
	fs.StringVar(&c.User, "user", env("INTEGRATOR_NATS_USER", ""), "NATS user, e.g. integrator (env INTEGRATOR_NATS_USER)")
	fs.StringVar(&c.Password, "password", env("INTEGRATOR_NATS_PASSWORD", ""), "NATS password; prefer the environment variable (env INTEGRATOR_NATS_PASSWORD)")
	fs.StringVar(&c.CredsFile, "creds", env("INTEGRATOR_NATS_CREDS", ""), "NATS .creds file instead of user and password (env INTEGRATOR_NATS_CREDS)")
	fs.StringVar(&c.Stream, "stream", env("INTEGRATOR_STREAM", "HOSPITAL_DEI"), "stream on dei.> in the integrator account (env INTEGRATOR_STREAM)")
	fs.StringVar(&c.Consumer, "consumer", env("INTEGRATOR_CONSUMER", "hris"), "durable pull consumer on that stream (env INTEGRATOR_CONSUMER)")
	if cmd == "run" {
		fs.StringVar(&c.Output, "out", env("INTEGRATOR_OUTPUT", "events.jsonl"), "output file, one JSON line per event (env INTEGRATOR_OUTPUT)")
	}
	if cmd == "setup" {
		fs.DurationVar(&c.MaxAge, "max-age", envDuration("INTEGRATOR_MAX_AGE", 30*24*time.Hour), "how long the stream keeps events (env INTEGRATOR_MAX_AGE)")
		fs.DurationVar(&c.Duplicates, "duplicate-window", envDuration("INTEGRATOR_DUPLICATE_WINDOW", 2*time.Minute), "the stream drops a second copy of a Nats-Msg-Id within this window (env INTEGRATOR_DUPLICATE_WINDOW)")
		fs.DurationVar(&c.AckWait, "ack-wait", envDuration("INTEGRATOR_ACK_WAIT", 30*time.Second), "an unacknowledged event is redelivered after this (env INTEGRATOR_ACK_WAIT)")
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.Stream == "" || c.Consumer == "" {
		return c, errors.New("-stream and -consumer are required")
	}
	if cmd == "run" && c.Output == "" {
		return c, errors.New("-out is required")
	}
	return c, nil
}

func connect(c Config, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("deiops-integrator-example"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn("nats error", "error", err) }),
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	return nats.Connect(c.URL, opts...)
}

// setup creates or updates the stream and the durable consumer. Running
// it again is harmless: it keeps the consumer's position.
func setup(ctx context.Context, c Config, log *slog.Logger) error {
	nc, err := connect(c, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       c.Stream,
		Subjects:   []string{PublicSubjects},
		Storage:    jetstream.FileStorage,
		MaxAge:     c.MaxAge,
		Duplicates: c.Duplicates,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", c.Stream, err)
	}
	if _, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       c.Consumer,
		Description:   "deiops integrator example",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 1000,
	}); err != nil {
		return fmt.Errorf("consumer %s on %s: %w", c.Consumer, c.Stream, err)
	}
	log.Info("stream and durable consumer ready", "stream", c.Stream, "subjects", PublicSubjects, "consumer", c.Consumer)
	return nil
}

// run receives events until ctx ends, then finishes the messages already
// pulled and returns.
func run(ctx context.Context, c Config, log *slog.Logger) error {
	sink, err := OpenSink(c.Output)
	if err != nil {
		return err
	}
	defer sink.Close()
	log.Info("output file opened", "path", c.Output, "events", sink.Len())

	nc, err := connect(c, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// Bind to the existing durable consumer: Consumer only looks it up, so
	// this program can never create, change or delete it.
	cons, err := js.Consumer(ctx, c.Stream, c.Consumer)
	if err != nil {
		return fmt.Errorf("consumer %s on stream %s (create both with `integrator setup`): %w", c.Consumer, c.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		return err
	}
	// On SIGINT/SIGTERM stop pulling but process what is already buffered,
	// so nothing waits out its ack wait before the next start receives it.
	stopped := make(chan struct{})
	go func() {
		<-ctx.Done()
		it.Drain()
		close(stopped)
	}()
	log.Info("receiving", "stream", c.Stream, "consumer", c.Consumer)

	var written, duplicates, rejected int
	defer func() {
		log.Info("stopped", "written", written, "duplicates", duplicates, "rejected", rejected)
	}()
	for {
		m, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return nil
		}
		if err != nil {
			// Missed heartbeats while the server is away: keep going, the
			// iterator resumes when the connection comes back.
			log.Warn("receive", "error", err)
			select {
			case <-stopped:
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		switch outcome, err := handle(ctx, sink, m); outcome {
		case outcomeWritten:
			written++
		case outcomeDuplicate:
			duplicates++
		case outcomeRejected:
			rejected++
			log.Error("not a CloudEvent; terminated, it will not be redelivered", "subject", m.Subject(), "error", err)
		case outcomeFailed:
			// The event is not durably written: do not acknowledge it. Stop
			// (the file may end in a torn line, cut off at the next start)
			// and let the redelivery after ack wait bring it back.
			return fmt.Errorf("write %s: %w", c.Output, err)
		}
	}
}

type outcome int

const (
	outcomeWritten outcome = iota
	outcomeDuplicate
	outcomeRejected
	outcomeFailed
)

// handle converts one JetStream message to a CloudEvent, appends it unless
// its id is already in the file, and only then acknowledges it.
func handle(ctx context.Context, sink *Sink, m jetstream.Msg) (outcome, error) {
	// The SDK reads binary-mode CloudEvents (ce-* headers) from a *nats.Msg.
	msg := cejs.NewMessage(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
	ev, err := binding.ToEvent(ctx, msg)
	if err == nil {
		err = ev.Validate()
	}
	if err != nil {
		_ = m.Term()
		return outcomeRejected, err
	}
	// traceparent is a plain NATS header, not a ce- attribute: the SDK
	// does not read it into the event.
	rec := NewRecord(*ev, m.Headers().Get("traceparent"))
	result := outcomeWritten
	switch err := sink.Append(rec); {
	case errors.Is(err, ErrDuplicate):
		// A redelivery (or a second publication) of an event already
		// written: acknowledge it again, write nothing.
		result = outcomeDuplicate
	case err != nil:
		return outcomeFailed, err
	}
	// The SDK's Message.Finish does not acknowledge JetStream messages:
	// ack the underlying message, and wait for the server to confirm, so
	// an event written here is not redelivered after a clean stop.
	ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.DoubleAck(ackCtx); err != nil {
		// Written but not acknowledged: it comes back and is recognised.
		slog.Default().Warn("ack", "id", rec.ID, "error", err)
	}
	return result, nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: integrator setup|run [flags]   (integrator <command> -h for the flags)")
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(log)
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	cmd := os.Args[1]
	if cmd != "run" && cmd != "setup" {
		usage(os.Stderr)
		os.Exit(2)
	}
	c, err := parseConfig(cmd, os.Args[2:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd == "setup" {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err = setup(sctx, c, log)
	} else {
		err = run(ctx, c, log)
	}
	if err != nil {
		log.Error(cmd, "error", err)
		os.Exit(1)
	}
}
