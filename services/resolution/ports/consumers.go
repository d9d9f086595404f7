package ports

import (
	"context"
	"errors"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/contract"
)

func isNotFound(err error) bool { return errors.Is(err, app.ErrNotFound) }

// Consumers returns the service's durable consumers:
//
//   - resolution-escalation-start: a submitted report starts its case's
//     escalation workflow (intake never waits on Temporal);
//   - resolution-escalation-signals: handler and reporter actions become
//     workflow signals, in order;
//   - resolution-directory: a handler who leaves is taken off their cases.
func (e *Escalations) Consumers() []*bus.Consumer {
	start := &bus.Consumer{Name: "resolution-escalation-start", Concurrency: 32}
	bus.On(start, func(ctx context.Context, _ events.Envelope, r contract.ReportSubmitted) error {
		return e.Start(ctx, r.CaseID)
	})
	signals := &bus.Consumer{Name: "resolution-escalation-signals"}
	bus.On(signals, func(ctx context.Context, _ events.Envelope, a contract.CaseActed) error {
		return e.Signal(ctx, a)
	})
	dir := &bus.Consumer{Name: "resolution-directory"}
	bus.On(dir, func(ctx context.Context, _ events.Envelope, p directory.PersonUpdated) error {
		if p.Active {
			return nil
		}
		return e.App.HandlerLeft(ctx, p.PersonID)
	})
	return []*bus.Consumer{start, signals, dir}
}
