package app

import (
	"context"
	"fmt"
	"io"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
)

// Provision creates or updates every stream the platform needs, then
// exits: the Helm pre-install/pre-upgrade hook and the compose provision
// step run it so that services start against a ready JetStream. Running
// it again converges; it never deletes data.
func Provision(ctx context.Context, cfg config.Config, out io.Writer) error {
	cat, err := Catalog()
	if err != nil {
		return err
	}
	b, err := bus.Connect(ctx, bus.Options{Name: "deiops-provision", NATS: cfg.NATS})
	if err != nil {
		return err
	}
	defer b.Close(context.WithoutCancel(ctx))
	if err := b.Provision(ctx, cat); err != nil {
		return err
	}
	for _, s := range cat.Streams() {
		fmt.Fprintf(out, "stream %s (%v) ready\n", s.Name, s.Subjects)
	}
	fmt.Fprintf(out, "dead-letter and advisory streams ready; KV buckets and consumers are created by each target at start-up\n")
	return nil
}
