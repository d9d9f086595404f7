// Command httpcheck is the health check shipped in the deiops image, which is
// distroless (no shell, no curl): the image's HEALTHCHECK, the compose
// healthchecks and the chart's `helm test` pod run it.
//
//	httpcheck [--timeout=3s] [URL ...]
//
// It GETs every URL and exits 0 only when each answers 2xx; redirects count as
// failures and proxies are never used. Without a URL it checks /readyz on the
// port of DEIOPS_HTTP_ADDR (default :8080) on the loopback interface.
//
// It imports only the standard library, so the Dockerfile builds it from this
// one file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run returns the process exit code: 0 healthy, 1 unhealthy, 2 bad usage.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "time allowed for each request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "httpcheck: --timeout must be positive")
		return 2
	}
	urls := fs.Args()
	if len(urls) == 0 {
		u, err := defaultURL(getenv("DEIOPS_HTTP_ADDR"))
		if err != nil {
			fmt.Fprintf(stderr, "httpcheck: %v\n", err)
			return 2
		}
		urls = []string{u}
	}
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	code := 0
	for _, u := range urls {
		if err := check(client, u, *timeout); err != nil {
			fmt.Fprintf(stderr, "httpcheck: %s: %v\n", u, err)
			code = 1
		}
	}
	return code
}

// check GETs url and fails unless the status is 2xx.
func check(client *http.Client, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// defaultURL is /readyz on the loopback address of the listen address addr.
func defaultURL(addr string) (string, error) {
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("DEIOPS_HTTP_ADDR %q: %w", addr, err)
	}
	if port == "" {
		return "", errors.New("DEIOPS_HTTP_ADDR has no port")
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
