package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/deiops/deiops/cmd/deiops/internal/app"
	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
)

// contractVersion versions the published event catalog; it changes when
// the catalog changes, not on every build, so the committed docs stay put.
const contractVersion = "1.0.0"

func cmdServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	target := fs.String("target", "", "service targets to run (overrides DEIOPS_TARGET): all, or a comma-separated list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target != "" {
		os.Setenv("DEIOPS_TARGET", *target)
	}
	cfg, err := config.Load()
	if err != nil {
		return fmt.Errorf("configuration:\n%w\n(run `deiops config` for every setting)", err)
	}
	a, err := app.New(ctx, app.Options{Config: cfg, Version: version, LogOutput: stdout})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func cmdConfig(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	md := fs.Bool("markdown", false, "print the README's Markdown table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *md {
		return config.WriteMarkdown(stdout)
	}
	return config.WriteTable(stdout)
}

// DocsInfo describes the published event catalog.
func docsInfo() events.Info {
	return events.Info{
		Title:   "deiops events",
		Version: contractVersion,
		Host:    "nats.example.org:4222",
		Description: "Subscribe with credentials that allow dei.> only; create a durable JetStream consumer " +
			"on the DEI_<SERVICE> streams for at-least-once delivery and de-duplicate by ce-id.",
	}
}

func cmdAsyncAPI(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("asyncapi", flag.ContinueOnError)
	out := fs.String("out", filepath.Join("docs", "events"), "directory for asyncapi.json, schemas/ and events.md")
	check := fs.Bool("check", false, "verify the directory matches the code instead of writing it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cat, err := app.Catalog()
	if err != nil {
		return err
	}
	if *check {
		if err := events.CheckDocs(*out, cat, docsInfo()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s matches the event declarations\n", *out)
		return nil
	}
	if err := events.WriteDocs(*out, cat, docsInfo()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (asyncapi.json, schemas/, events.md)\n", *out)
	return nil
}

func cmdToken(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "", "subject (user id) of the token")
	roles := fs.String("role", "", "role or comma-separated roles")
	ttl := fs.Duration("ttl", 8*time.Hour, "lifetime")
	data := fs.String("data", defaultDataDir(), "data directory of `deiops dev`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return fmt.Errorf("--sub is required")
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			if !caller.Role(r).Known() {
				return fmt.Errorf("unknown role %q", r)
			}
			rs = append(rs, r)
		}
	}
	keyFile := os.Getenv("DEIOPS_AUTH_DEV_KEY_FILE")
	if keyFile == "" {
		keyFile = filepath.Join(*data, "dev-issuer.pem")
	}
	dev, err := auth.NewDevIssuer(keyFile, auth.DevIssuerOptions{})
	if err != nil {
		return err
	}
	tok, err := dev.Mint(*sub, rs, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func defaultDataDir() string {
	if d := os.Getenv("DEIOPS_DEV_DATA"); d != "" {
		return d
	}
	return ".deiops"
}

// cmdTail prints every event on the filter as it arrives: the integrator's
// first look at the stream.
func cmdTail(ctx context.Context, args []string, stdout io.Writer) error {
	filter := events.PublicPrefix + ".>"
	if len(args) > 0 {
		filter = args[0]
	}
	url := os.Getenv("DEIOPS_NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	opts := []nats.Option{nats.Name("deiops-events-tail"), nats.MaxReconnects(-1)}
	if creds := os.Getenv("DEIOPS_NATS_CREDS_FILE"); creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connect nats: %w", err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 1024)
	sub, err := nc.ChanSubscribe(filter, msgs)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	defer sub.Unsubscribe()
	fmt.Fprintf(stdout, "tailing %s on %s (Ctrl-C to stop)\n", filter, nc.ConnectedUrlRedacted())
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			printEvent(stdout, m)
		}
	}
}

func printEvent(w io.Writer, m *nats.Msg) {
	env, err := events.Decode(m.Header, m.Data, m.Subject)
	if err != nil {
		fmt.Fprintf(w, "── %s (not a valid CloudEvent: %v)\n", m.Subject, err)
		return
	}
	var pretty any
	_ = json.Unmarshal(env.Data, &pretty)
	body, _ := json.MarshalIndent(pretty, "   ", "  ")
	fmt.Fprintf(w, "── %s  %s\n   type: %s\n   id: %s  subject: %s  source: %s\n   data: %s\n",
		env.Time.Format(time.RFC3339), m.Subject, env.Type, env.ID, env.Subject, env.Source, body)
}

func cmdOpenAPI(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	out := fs.String("out", filepath.Join("docs", "openapi"), "directory for <target>.json")
	check := fs.Bool("check", false, "verify the committed documents instead of writing them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var problems []error
	for _, target := range []string{"all", "awareness", "connection", "resolution"} { // committed under docs/openapi
		doc, err := app.OpenAPI(target)
		if err != nil {
			return err
		}
		path := filepath.Join(*out, target+".json")
		if *check {
			committed, err := os.ReadFile(path)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", path, err))
				continue
			}
			if err := httpapi.CheckDocument(doc, committed); err != nil {
				problems = append(problems, fmt.Errorf("%s drifted from the routes (run `deiops openapi`): %w", path, err))
			}
			continue
		}
		b, err := httpapi.MarshalDocument(doc)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	return errors.Join(problems...)
}
