//go:build !nodev

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/deiops/deiops/cmd/deiops/internal/app"
	"github.com/deiops/deiops/cmd/deiops/internal/devenv"
)

// cmdDev runs every target against embedded infrastructure.
func cmdDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	data := fs.String("data", defaultDataDir(), "data directory (kept across restarts)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// A Temporal that cannot start ends the run with its error.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	start := time.Now()
	env, err := devenv.Start(ctx, devenv.Options{DataDir: *data})
	if err != nil {
		return err
	}
	defer env.Stop()
	a, err := app.New(ctx, app.Options{Config: env.Config, Version: version, LogOutput: stdout, DevIssuer: env.DevIssuer})
	if err != nil {
		return err
	}
	token, err := env.DevIssuer.Mint("dev-admin", []string{"admin", "dei_officer", "resolver", "coordinator", "program_director"}, 8*time.Hour)
	if err != nil {
		return err
	}
	redis := env.Config.Redis.URL
	if env.Redis != nil {
		redis += " (in-process)"
	}
	go func() {
		seeded, err := devenv.SeedDirectory(ctx, "http://"+env.HTTPAddr, env.DevIssuer)
		switch {
		case err != nil && ctx.Err() == nil:
			fmt.Fprintf(stdout, "deiops dev: the development directory was not seeded: %v\n", err)
		case seeded:
			fmt.Fprintf(stdout, "deiops dev: seeded the development directory (%d people to sign in as)\n", len(devenv.Personas()))
		}
	}()
	go func() {
		took, err := env.TemporalReady(ctx)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "deiops dev: Temporal ready (started in %s)\n", took.Round(time.Millisecond))
		case ctx.Err() == nil:
			stop(fmt.Errorf("embedded temporal: %w", err))
		}
	}()
	fmt.Fprintf(stdout, `deiops dev is starting (infrastructure up in %s)
  Portal       http://%s/   (report a concern; staff sign in with a persona at the dev identity provider)
  Identity     %s   (development OpenID provider: persona picker, no passwords)
  API          http://%s   (OpenAPI: /openapi.json, health: /readyz, metrics: /metrics)
  NATS         %s
  Temporal     %s (namespace %s)
  Redis        %s
  Data         %s
  Dev token    %s
  Try          curl -H "Authorization: Bearer $TOKEN" -X POST http://%s/v1/probes
               deiops events tail 'deiops.internal.>'    (with DEIOPS_NATS_URL=%s)
`, time.Since(start).Round(time.Millisecond), env.HTTPAddr, env.OIDCURL, env.HTTPAddr, env.NATS.URL(), env.Config.Temporal.Address, env.Config.Temporal.Namespace,
		redis, *data, token, env.HTTPAddr, env.NATS.URL())
	if err := a.Run(ctx); err != nil {
		return err
	}
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
