package devenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/deiops/deiops/cmd/deiops/internal/app"
	"github.com/deiops/deiops/cmd/deiops/internal/devenv"
	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/probe"
	"github.com/deiops/deiops/pkg/testkit"
)

// occupy holds the default ports, as another NATS, Temporal, Redis or web
// server on a developer's machine would. Ports already taken stay taken.
func occupy(t *testing.T, ports ...int) {
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Logf("port %d already in use (as it may be on a user's machine)", p)
			continue
		}
		t.Cleanup(func() { l.Close() })
	}
}

type running struct {
	env  *devenv.Env
	stop func() time.Duration
}

func start(t *testing.T, dir string) running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	began := time.Now()
	env, err := devenv.Start(ctx, devenv.Options{DataDir: dir})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	a, err := app.New(ctx, app.Options{Config: env.Config, Version: "test", DevIssuer: env.DevIssuer, LogOutput: os.Stderr})
	if err != nil {
		cancel()
		env.Stop()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if _, err := env.TemporalReady(ctx); err != nil {
		t.Fatalf("embedded temporal: %v", err)
	}
	testkit.Eventually(t, 60*time.Second, "/readyz with every dependency ok", func() bool {
		resp, err := http.Get("http://" + env.HTTPAddr + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && !bytes.Contains(body, []byte(`"degraded"`))
	})
	t.Logf("dev stack ready in %s (api %s, nats %s, temporal %s)", time.Since(began).Round(time.Millisecond), env.HTTPAddr, env.NATS.URL(), env.Config.Temporal.Address)
	var once bool
	r := running{env: env, stop: func() time.Duration {
		if once {
			return 0
		}
		once = true
		t0 := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		env.Stop()
		return time.Since(t0)
	}}
	t.Cleanup(func() { r.stop() })
	return r
}

func TestDevStackStartsOnTakenPortsAndKeepsDataAcrossRestart(t *testing.T) {
	occupy(t, 4222, 7233, 6379, 8080)
	t.Setenv("DEIOPS_REDIS_URL", "")
	t.Setenv("DEIOPS_LOG_LEVEL", "warn")
	dir := t.TempDir()

	first := start(t, dir)
	for _, p := range []string{":4222", ":7233", ":8080"} {
		if first.env.NATS.URL() == "nats://127.0.0.1"+p || first.env.Config.Temporal.Address == "127.0.0.1"+p || first.env.HTTPAddr == "127.0.0.1"+p {
			t.Fatalf("dev stack bound a port the test holds: %s", p)
		}
	}
	token, err := first.env.DevIssuer.Mint("ops", []string{"admin"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+first.env.HTTPAddr+"/v1/probes", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var acc probe.Accepted
	_ = json.NewDecoder(resp.Body).Decode(&acc)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("probe: %d", resp.StatusCode)
	}
	wfID := "probe-" + acc.ProbeID + "-resolution"
	tc, err := client.Dial(client.Options{HostPort: first.env.Config.Temporal.Address, Namespace: first.env.Config.Temporal.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, "probe workflow completed", func() bool {
		d, err := tc.DescribeWorkflowExecution(context.Background(), wfID, "")
		return err == nil && d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	tc.Close()
	// One request and three completions; the other targets' workflows
	// finish on their own time.
	var events uint64
	testkit.Eventually(t, 60*time.Second, "the probe request and three completions stored", func() bool {
		events = streamCount(t, first.env.Config.NATS.URL, "DEI_PLATFORM_INTERNAL")
		return events >= 4
	})
	if took := first.stop(); took > 10*time.Second {
		t.Errorf("stopping took %s, want under 10s", took)
	}

	second := start(t, dir)
	// The defaults are still held; the first run's ports are free again and
	// remembered, so the addresses a developer bookmarked stay the same.
	if second.env.HTTPAddr != first.env.HTTPAddr || second.env.OIDCURL != first.env.OIDCURL || second.env.Config.NATS.URL != first.env.Config.NATS.URL {
		t.Errorf("the restart moved: api %s -> %s, oidc %s -> %s, nats %s -> %s", first.env.HTTPAddr, second.env.HTTPAddr,
			first.env.OIDCURL, second.env.OIDCURL, first.env.Config.NATS.URL, second.env.Config.NATS.URL)
	}
	if got := streamCount(t, second.env.Config.NATS.URL, "DEI_PLATFORM_INTERNAL"); got < events {
		t.Fatalf("after restart the stream holds %d events, had %d", got, events)
	}
	tc, err = client.Dial(client.Options{HostPort: second.env.Config.Temporal.Address, Namespace: second.env.Config.Temporal.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	d, err := tc.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("earlier workflow after restart: %v %v", d, err)
	}
	if second.env.Config.Crypto.Keyring != first.env.Config.Crypto.Keyring {
		t.Fatal("the generated keyring changed across restarts; earlier ciphertexts would be unreadable")
	}
	// The old token is still accepted: the dev issuer key persisted.
	req, _ = http.NewRequest(http.MethodPost, "http://"+second.env.HTTPAddr+"/v1/probes", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("token from the first run: %d", resp.StatusCode)
	}
}

func streamCount(t *testing.T, url, stream string) uint64 {
	t.Helper()
	b, err := bus.Connect(context.Background(), bus.Options{NATS: natsCfg(url)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	n, err := b.StreamMessages(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func natsCfg(url string) config.NATS { return config.NATS{URL: url} }
