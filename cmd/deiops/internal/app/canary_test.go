package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

// canaryPlaces are everywhere restricted data must never appear in clear.
type canaryPlaces struct {
	nats      func() (messages int, leaks []string)
	logs      string
	spans     *tracetest.SpanRecorder
	redisURL  string
	temporal  string
	namespace string
	kv        []byte
	// natsURL, when set, has every message stored in every stream (KV
	// buckets included) read back and checked.
	natsURL string
}

// checkNoCanary fails the test for every place the canary shows up in.
func checkNoCanary(t *testing.T, c canaryPlaces) {
	t.Helper()
	ctx := context.Background()

	n, leaks := c.nats()
	if n == 0 {
		t.Error("canary: the NATS tap saw no messages at all")
	}
	for _, subject := range leaks {
		t.Errorf("canary in a NATS message on %s", subject)
	}
	t.Logf("canary: %d NATS messages checked", n)

	if c.logs == "" {
		t.Error("canary: no log output captured")
	}
	if strings.Contains(c.logs, canary) {
		t.Errorf("canary in the logs")
	}

	spans := c.spans.Ended()
	for _, s := range spans {
		text := s.Name() + s.Status().Description
		for _, kv := range s.Attributes() {
			text += string(kv.Key) + kv.Value.Emit()
		}
		for _, e := range s.Events() {
			text += e.Name
			for _, kv := range e.Attributes {
				text += kv.Value.Emit()
			}
		}
		if strings.Contains(text, canary) {
			t.Errorf("canary in span %q", s.Name())
		}
	}
	t.Logf("canary: %d spans checked", len(spans))

	opt, err := redis.ParseURL(c.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	keys := 0
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		keys++
		var vals []string
		switch rdb.Type(ctx, key).Val() {
		case "string":
			vals = []string{rdb.Get(ctx, key).Val()}
		case "hash":
			for k, v := range rdb.HGetAll(ctx, key).Val() {
				vals = append(vals, k, v)
			}
		case "list":
			vals = rdb.LRange(ctx, key, 0, -1).Val()
		case "set":
			vals = rdb.SMembers(ctx, key).Val()
		case "zset":
			vals = rdb.ZRange(ctx, key, 0, -1).Val()
		}
		if strings.Contains(key+strings.Join(vals, "\x00"), canary) {
			t.Errorf("canary in Redis key %q", key)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("canary: %d Redis keys checked", keys)

	// Temporal histories fetched raw, with the SDK's default converter
	// and no codec: what the server stores.
	tc, err := client.Dial(client.Options{HostPort: c.temporal, Namespace: c.namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	runs, events := 0, 0
	var token []byte
	for {
		page, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: c.namespace, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range page.Executions {
			runs++
			it := tc.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				events++
				raw, _ := proto.Marshal(ev)
				if strings.Contains(string(raw), canary) {
					t.Errorf("canary in Temporal history of %s (event %d %s)", ex.Execution.WorkflowId, ev.EventId, ev.EventType)
				}
			}
		}
		if token = page.NextPageToken; len(token) == 0 {
			break
		}
	}
	if runs == 0 {
		t.Error("canary: no workflow histories found")
	}
	t.Logf("canary: %d workflow runs, %d history events checked", runs, events)

	if c.natsURL != "" {
		stored, leaks := storedMessages(t, c.natsURL)
		if stored == 0 {
			t.Error("canary: no stored stream message to check")
		}
		for _, where := range leaks {
			t.Errorf("canary stored in %s", where)
		}
		t.Logf("canary: %d stored stream messages checked", stored)
	}

	if len(c.kv) == 0 {
		t.Error("canary: no KV value to check")
	}
	if strings.Contains(string(c.kv), canary) {
		t.Error("canary in the stored case (KV value)")
	}
}

// kvValue reads one raw value from a KV bucket.
func kvValue(t *testing.T, url, bucket, key string) []byte {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return e.Value()
}

// storedMessages reads every message every stream on the server holds and
// returns how many there were and where the canary was among them.
func storedMessages(t *testing.T, url string) (n int, leaks []string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		state := st.CachedInfo().State
		for seq := state.FirstSeq; seq <= state.LastSeq && state.Msgs > 0; seq++ {
			m, err := st.GetMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				t.Fatalf("stream %s message %d: %v", name, seq, err)
			}
			n++
			raw := m.Subject + string(m.Data)
			for k, v := range m.Header {
				raw += k + strings.Join(v, ",")
			}
			if strings.Contains(raw, canary) {
				leaks = append(leaks, fmt.Sprintf("stream %s, message %d on %s", name, seq, m.Subject))
			}
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return n, leaks
}
