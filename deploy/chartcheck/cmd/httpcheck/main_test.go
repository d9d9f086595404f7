package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func server(t *testing.T, status int) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(http.StatusText(status)))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func noEnv(string) string { return "" }

func TestExitCodes(t *testing.T) {
	ready := server(t, http.StatusOK) + "/readyz"
	notReady := server(t, http.StatusServiceUnavailable) + "/readyz"
	redirect := httptest.NewServer(http.RedirectHandler(ready, http.StatusFound))
	t.Cleanup(redirect.Close)

	// An address nothing listens on: bind, note it, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/readyz"
	l.Close()

	cases := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"ready", []string{ready}, 0, ""},
		{"every URL ready", []string{ready, ready}, 0, ""},
		{"not ready", []string{notReady}, 1, "status 503: Service Unavailable"},
		{"one of two not ready", []string{ready, notReady}, 1, "status 503"},
		{"redirects are not followed", []string{redirect.URL}, 1, "status 302"},
		{"nothing listening", []string{closed}, 1, "connect"},
		{"bad flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"non-positive timeout", []string{"--timeout=0s", ready}, 2, "--timeout must be positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr strings.Builder
			if got := run(c.args, noEnv, &stderr); got != c.want {
				t.Fatalf("exit code %d, want %d (stderr %q)", got, c.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.msg) {
				t.Fatalf("stderr %q does not contain %q", stderr.String(), c.msg)
			}
			if c.want == 0 && stderr.Len() > 0 {
				t.Fatalf("healthy run wrote %q", stderr.String())
			}
		})
	}
}

func TestDefaultURLFollowsListenAddress(t *testing.T) {
	srv := server(t, http.StatusOK)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "DEIOPS_HTTP_ADDR" {
			return ":" + port
		}
		return ""
	}
	var stderr strings.Builder
	if got := run(nil, env, &stderr); got != 0 {
		t.Fatalf("exit code %d with DEIOPS_HTTP_ADDR=:%s, want 0 (stderr %q)", got, port, stderr.String())
	}

	cases := map[string]string{
		"":               "http://127.0.0.1:8080/readyz",
		":9090":          "http://127.0.0.1:9090/readyz",
		"0.0.0.0:8081":   "http://127.0.0.1:8081/readyz",
		"[::]:8082":      "http://127.0.0.1:8082/readyz",
		"10.1.2.3:8083":  "http://10.1.2.3:8083/readyz",
		"[fd00::1]:8084": "http://[fd00::1]:8084/readyz",
	}
	for addr, want := range cases {
		got, err := defaultURL(addr)
		if err != nil || got != want {
			t.Errorf("defaultURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, bad := range []string{"8080", "host:"} {
		if _, err := defaultURL(bad); err == nil {
			t.Errorf("defaultURL(%q) accepted a listen address without a port", bad)
		}
	}
}
