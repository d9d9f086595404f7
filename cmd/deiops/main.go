// Command deiops runs the deiops platform.
//
//	deiops serve [--target=all|awareness,connection,resolution,portal]
//	deiops dev [--data=.deiops]
//	deiops provision
//	deiops config
//	deiops asyncapi [--out=docs/events]
//	deiops token --sub=alice --role=resolver
//	deiops events tail [subject-filter]
//	deiops version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/deiops/deiops/cmd/deiops/internal/app"
	"github.com/deiops/deiops/pkg/config"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deiops:", err)
		os.Exit(1)
	}
}

const usage = `deiops — diversity, equity and inclusion operations for hospitals and training programs

Usage:
  deiops serve [--target=all|awareness,connection,resolution,portal]  run service targets (config from DEIOPS_* env)
  deiops dev [--data=DIR]                                        run everything with embedded NATS, Temporal and Redis
  deiops provision                                               create or update streams (idempotent), then exit
  deiops config [--markdown]                                     print every setting with its default
  deiops asyncapi [--out=DIR] [--check]                          write (or verify) the event catalog documents
  deiops openapi [--out=DIR] [--check]                           write (or verify) the OpenAPI document of each target
  deiops token --sub=ID --role=ROLE[,ROLE] [--data=DIR]          mint a development token (dev issuer)
  deiops events tail [SUBJECT-FILTER]                            pretty-print CloudEvents as they arrive
  deiops version                                                 print the version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout)
	case "dev":
		return cmdDev(ctx, rest, stdout)
	case "provision":
		// Provisioning needs NATS only; it must not require secrets it never uses.
		cfg, err := config.Read()
		if err == nil {
			err = cfg.ValidateNATS()
		}
		if err != nil {
			return fmt.Errorf("configuration:\n%w", err)
		}
		return app.Provision(ctx, cfg, stdout)
	case "config":
		return cmdConfig(rest, stdout)
	case "asyncapi":
		return cmdAsyncAPI(rest, stdout)
	case "openapi":
		return cmdOpenAPI(rest, stdout)
	case "token":
		return cmdToken(rest, stdout)
	case "events":
		if len(rest) == 0 || rest[0] != "tail" {
			return fmt.Errorf("usage: deiops events tail [subject-filter]")
		}
		return cmdTail(ctx, rest[1:], stdout)
	case "version", "--version":
		fmt.Fprintf(stdout, "deiops %s (%s)\n", version, commit)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
