package probe_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/encoding/protojson"

	wf "github.com/deiops/deiops/workflows/probe"
)

// TestRecordProbeHistory refreshes the committed history that the
// workflows module replays: DEIOPS_RECORD_HISTORIES=1 go test -run TestRecordProbeHistory ./probe/
// Without the variable it runs the workflow on a real server and checks it
// completes, so the recording path itself stays tested.
func TestRecordProbeHistory(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	ts.NewWorker("probe-history", func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(wf.Workflow, workflow.RegisterOptions{Name: wf.WorkflowName})
		r.RegisterActivityWithOptions(func(ctx context.Context, in wf.Input) error { return nil }, activity.RegisterOptions{Name: wf.ActivityName})
	})
	c := ts.GetDefaultClient()
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe-history-1", TaskQueue: "probe-history"}, wf.WorkflowName, wf.Input{ProbeID: "p-1", Target: "resolution"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	h := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) < 10 {
		t.Fatalf("history has %d events", len(h.Events))
	}
	if os.Getenv("DEIOPS_RECORD_HISTORIES") == "" {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "workflows", "probe", "testdata", "probe.history.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
