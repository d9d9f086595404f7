package orchestration_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/proto"

	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/orchestration"
	"github.com/deiops/deiops/pkg/testkit"
)

const canary = "CANARY-7f3a9c-narrative-of-what-happened"

type note struct {
	CaseID string `json:"case_id"`
	Text   string `json:"text"`
}

func echoActivity(ctx context.Context, n note) (note, error) {
	if activity.GetInfo(ctx).Attempt == 1 {
		// A failure whose message quotes the input: it must be encrypted too.
		return note{}, fmt.Errorf("could not process %q", n.Text)
	}
	n.Text += " (seen)"
	return n, nil
}

func echoWorkflow(ctx workflow.Context, n note) (note, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 3},
	})
	var out note
	err := workflow.ExecuteActivity(ctx, "echo", n).Get(ctx, &out)
	return out, err
}

// TestHistoryHoldsNoPlaintext runs a workflow whose input, activity
// arguments and results carry a canary. Through the codec client the
// values round-trip; in the raw history the server stores, the canary
// never appears.
func TestHistoryHoldsNoPlaintext(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	keys, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	codec, err := crypto.NewCodec(keys)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := testkit.Spans(t)
	opts, err := orchestration.ClientOptions(orchestration.Options{
		Config: config.Temporal{Address: ts.GetFrontendHostPort(), Namespace: ts.GetDefaultNamespace()},
		Codec:  codec, TracerProvider: tp,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := orchestration.NewWorker(c, "codec-test", worker.Options{})
	w.RegisterWorkflowWithOptions(echoWorkflow, workflow.RegisterOptions{Name: "echo"})
	w.RegisterActivityWithOptions(echoActivity, activity.RegisterOptions{Name: "echo"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "codec-1", TaskQueue: "codec-test"}, "echo", note{CaseID: "case-1", Text: canary})
	if err != nil {
		t.Fatal(err)
	}
	var out note
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out.Text != canary+" (seen)" {
		t.Fatalf("round trip through the codec: %q", out.Text)
	}

	raw := ts.GetDefaultClient() // no codec: sees what the server stores
	it := raw.GetWorkflowHistory(ctx, "codec-1", run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(canary)) || bytes.Contains(b, []byte("case-1")) {
			t.Fatalf("history event %d (%s) holds plaintext", ev.GetEventId(), ev.GetEventType())
		}
	}
	if events < 5 {
		t.Fatalf("history has %d events; the workflow did not run as expected", events)
	}
	for _, s := range rec.Ended() {
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), canary) {
				t.Fatalf("span %q attribute %s holds the canary", s.Name(), a.Key)
			}
		}
	}
	if len(rec.Ended()) == 0 {
		t.Fatal("no workflow spans recorded: the tracing interceptor is not wired")
	}
}
