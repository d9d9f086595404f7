// Package probe lets an operator send a synthetic request through the whole
// platform: POST /v1/probes publishes a probe event; every running target
// consumes it, starts a Temporal workflow on its own task queue, and that
// workflow's activity publishes a completion event. One trace covers the
// journey, so a probe also proves tracing works.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/platform"
	wf "github.com/deiops/deiops/workflows/probe"
)

// Requested asks every target to answer a probe.
type Requested struct {
	ProbeID string `json:"probe_id" desc:"Probe identifier"`
}

func (Requested) EventSpec() events.Spec {
	return events.Spec{Service: "platform", Platform: true, Entity: "probe", Action: "requested", Version: 1, Internal: true,
		Summary: "An operator asked every target to answer a synthetic probe."}
}

// Completed reports that one target answered a probe through Temporal.
type Completed struct {
	ProbeID string `json:"probe_id" desc:"Probe identifier"`
	Target  string `json:"target" desc:"The target that answered" enum:"awareness,connection,resolution"`
}

func (Completed) EventSpec() events.Spec {
	return events.Spec{Service: "platform", Platform: true, Entity: "probe", Action: "completed", Version: 1, Internal: true,
		Summary: "A target answered a probe after a full bus and workflow round trip."}
}

// Events lists the probe's event types.
func Events() []events.Event { return []events.Event{Requested{}, Completed{}} }

// Accepted is the answer to POST /v1/probes.
type Accepted struct {
	ProbeID string `json:"probe_id"`
}

// Routes registers POST /v1/probes (administrators only). It is mounted
// once per process, whatever targets run.
func Routes(r *httpapi.Router, b *bus.Bus) {
	r.HandleFunc(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/probes", ID: "createProbe", Tags: []string{"platform"},
		Summary:   "Send a synthetic probe through every running target (HTTP → NATS → Temporal → NATS)",
		Roles:     []caller.Role{caller.Admin},
		Responses: map[int]any{http.StatusAccepted: Accepted{}},
	}, func(w http.ResponseWriter, req *http.Request) {
		id := uuid.NewString()
		if _, err := b.Publish(req.Context(), Requested{ProbeID: id}, id); err != nil {
			httpapi.WriteProblem(w, req, fmt.Errorf("publish probe: %w", err))
			return
		}
		httpapi.WriteJSON(w, req, http.StatusAccepted, Accepted{ProbeID: id})
	})
}

// Target is the probe's part in one service target.
type Target struct {
	name string
	deps platform.Deps
}

// ForTarget returns the probe handling of target name.
func ForTarget(name string, d platform.Deps) *Target { return &Target{name: name, deps: d} }

// Consumer starts one probe workflow per probe request on the target's
// task queue. A redelivered request finds the workflow already started.
func (t *Target) Consumer() *bus.Consumer {
	c := &bus.Consumer{Name: t.name + "-probe"}
	bus.On(c, func(ctx context.Context, env events.Envelope, r Requested) error {
		_, err := t.deps.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:        "probe-" + r.ProbeID + "-" + t.name,
			TaskQueue: t.deps.TaskQueue(t.name),
		}, wf.WorkflowName, wf.Input{ProbeID: r.ProbeID, Target: t.name})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("start probe workflow: %w", err)
		}
		return nil
	})
	return c
}

// Register adds the probe workflow and its activity to the target's worker.
func (t *Target) Register(w worker.Registry) {
	w.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
	w.RegisterActivityWithOptions(t.answer, activity.RegisterOptions{Name: wf.ActivityName})
}

func (t *Target) answer(ctx context.Context, in wf.Input) error {
	_, err := t.deps.Bus.Publish(ctx, Completed{ProbeID: in.ProbeID, Target: in.Target}, in.ProbeID)
	return err
}
