package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution/ports"
	"github.com/deiops/deiops/workflows/escalation"
)

// benchStack is one process with the hospital directory and a policy
// that never escalates during a benchmark.
type benchStack struct {
	p     *process
	a     api
	nats  string
	ts    *temporaltest.TestServer
	token string
}

// With withTemporal false the process points at a Temporal that is not
// there: intake does not wait on Temporal, so this measures intake alone,
// as when Temporal runs on other machines (the escalation starts are
// measured by BenchmarkEscalationStartLag).
func newBenchStack(b *testing.B, withTemporal bool) *benchStack {
	b.Helper()
	ns := testkit.NATS(b)
	rd := testkit.Redis(b)
	b.Setenv("DEIOPS_LOG_LEVEL", "error")
	b.Setenv("DEIOPS_HTTP_RATE_LIMIT", "10000000")
	b.Setenv("DEIOPS_HTTP_RATE_BURST", "1000000")
	var ts *temporaltest.TestServer
	addr, namespace := "127.0.0.1:1", "default"
	if withTemporal {
		ts = temporaltest.NewServer()
		b.Cleanup(ts.Stop)
		addr, namespace = ts.GetFrontendHostPort(), ts.GetDefaultNamespace()
	}
	cfg, dev := testConfig(b, ns.URL(), addr, namespace, rd.URL)
	p := start(b, cfg, dev)
	a := api{t: b, base: p.base, dev: dev}
	importHospital(b, a)
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", a.token("off1", "dei_officer"), slowPolicy())
	return &benchStack{p: p, a: a, nats: ns.URL(), ts: ts, token: a.token("res2", "resident")}
}

// namedReport is the intake body the benchmarks send (no slow hash: the
// anonymous path adds a deliberate scrypt of tens of milliseconds).
func namedReport() map[string]any {
	r := anonymousReport("benchmark narrative with enough words to look like a real account of what happened on the ward")
	r["anonymous"] = false
	return r
}

// parallel runs n calls of fn on workers goroutines and returns the elapsed time.
func parallel(n, workers int, fn func()) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				fn()
			}
		}()
	}
	wg.Wait()
	return time.Since(began)
}

// paced sends n calls at rate per second (open loop) and returns each
// call's latency.
func paced(n int, rate float64, fn func()) []time.Duration {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	pace := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer pace.Stop()
	for i := range n {
		if i > 0 {
			<-pace.C
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			fn()
			lat[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	return lat
}

func p99(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}

const benchWorkers = 16

// BenchmarkIntake measures report intake over HTTP (validate, seal, durable
// write with its outbox, events) beside a raw baseline doing the same
// durable writes directly — a KV create of a record of the same size and a
// js.Publish of the event — in one run, and then the intake's p99 latency
// at 80 % of the throughput it just reached.
func BenchmarkIntake(b *testing.B) {
	for _, withTemporal := range []bool{false, true} {
		name := "temporal=elsewhere"
		if withTemporal {
			name = "temporal=in-process"
		}
		b.Run(name, func(b *testing.B) { benchmarkIntake(b, withTemporal) })
	}
}

func benchmarkIntake(b *testing.B, withTemporal bool) {
	s := newBenchStack(b, withTemporal)
	body, _ := json.Marshal(namedReport())
	_, js := testkit.Connect(b, s.nats)
	ctx := context.Background()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bench_raw", Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	record := make([]byte, 3*len(body)) // a sealed case record is about three times the body
	event := make([]byte, 400)
	var raw, ours float64

	b.Run("raw", func(b *testing.B) {
		var seq atomic.Int64
		el := parallel(b.N, benchWorkers, func() {
			id := fmt.Sprintf("c-%d-%d", time.Now().UnixNano(), seq.Add(1))
			if _, err := kv.Create(ctx, id, record); err != nil {
				b.Error(err)
			}
			if _, err := js.Publish(ctx, "dei.resolution.report.submitted", event, jetstream.WithMsgID(id)); err != nil {
				b.Error(err)
			}
		})
		raw = float64(b.N) / el.Seconds()
		b.ReportMetric(raw, "reports/s")
	})
	b.Run("http", func(b *testing.B) {
		el := parallel(b.N, benchWorkers, func() {
			if code, data := s.a.call(http.MethodPost, "/v1/reports", s.token, string(body)); code != http.StatusCreated {
				b.Errorf("intake: %d %s", code, data)
			}
		})
		ours = float64(b.N) / el.Seconds()
		b.ReportMetric(ours, "reports/s")
		if raw > 0 {
			b.ReportMetric(ours/raw, "ratio-to-raw")
		}
	})
	b.Run("http-at-80pct", func(b *testing.B) {
		if ours == 0 {
			b.Skip("needs the http sub-benchmark's throughput")
		}
		lat := paced(b.N, 0.8*ours, func() {
			if code, data := s.a.call(http.MethodPost, "/v1/reports", s.token, string(body)); code != http.StatusCreated {
				b.Errorf("intake: %d %s", code, data)
			}
		})
		b.ReportMetric(float64(p99(lat).Microseconds())/1000, "p99-ms")
		b.ReportMetric(0.8*ours, "offered-reports/s")
	})
}

// BenchmarkEscalationStartLag measures how fast the in-process Temporal
// server starts escalation workflows when asked directly (raw
// ExecuteWorkflow, same workflow type and input), then offers reports at
// 80 % of that rate and measures, per report, the time from the intake's
// answer to the escalation workflow's start.
func BenchmarkEscalationStartLag(b *testing.B) {
	s := newBenchStack(b, true)
	body, _ := json.Marshal(namedReport())
	tc, err := client.Dial(client.Options{HostPort: s.ts.GetFrontendHostPort(), Namespace: s.ts.GetDefaultNamespace()})
	if err != nil {
		b.Fatal(err)
	}
	defer tc.Close()
	ctx := context.Background()
	var rawRate float64
	b.Run("raw-execute-workflow", func(b *testing.B) {
		in := escalation.Input{CaseID: "c-bench", Department: "med", Policy: escalation.ResidencyProgramDefault(), Excluded: []string{"att", "chief"}}
		var seq atomic.Int64
		el := parallel(b.N, benchWorkers, func() {
			id := fmt.Sprintf("raw-%d-%d", time.Now().UnixNano(), seq.Add(1))
			in := in
			in.CaseID = id
			if _, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "bench-no-worker"}, escalation.WorkflowName, in); err != nil {
				b.Error(err)
			}
		})
		rawRate = float64(b.N) / el.Seconds()
		b.ReportMetric(rawRate, "starts/s")
	})
	b.Run("report-to-workflow", func(b *testing.B) {
		if rawRate == 0 {
			b.Skip("needs the raw rate")
		}
		type accepted struct {
			id string
			at time.Time
		}
		var mu sync.Mutex
		var got []accepted
		paced(b.N, 0.8*rawRate, func() {
			code, data := s.a.call(http.MethodPost, "/v1/reports", s.token, string(body))
			at := time.Now()
			if code != http.StatusCreated {
				b.Errorf("intake: %d %s", code, data)
				return
			}
			var rc receipt
			_ = json.Unmarshal(data, &rc)
			mu.Lock()
			got = append(got, accepted{rc.CaseID, at})
			mu.Unlock()
		})
		// The start time is read from the server once every workflow ran.
		lags := make([]time.Duration, 0, len(got))
		for _, r := range got {
			var d *workflowservice.DescribeWorkflowExecutionResponse
			testkit.Eventuallyf(b, 2*time.Minute, func() bool {
				var err error
				d, err = tc.DescribeWorkflowExecution(ctx, ports.WorkflowID(r.id), "")
				return err == nil
			}, "workflow of %s started", r.id)
			lags = append(lags, max(0, d.WorkflowExecutionInfo.StartTime.AsTime().Sub(r.at)))
		}
		b.ReportMetric(float64(p99(lags).Microseconds())/1000, "p99-lag-ms")
		b.ReportMetric(0.8*rawRate, "offered-reports/s")
	})
}
