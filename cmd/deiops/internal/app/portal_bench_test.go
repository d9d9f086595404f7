package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/testkit"
)

// BenchmarkPortal measures the portal in a real stack (one process with
// the resolution API and the portal, embedded NATS, the machine's Redis
// when REDIS_URL is set) beside the API it calls, in one run:
//
//   - anonymous-report: the report form's POST to its receipt page, paced
//     open-loop at 20 reports/s, against the same report sent straight to
//     POST /v1/reports at the same pace (in-process Temporal starting an
//     escalation per report on the same cores);
//   - queue: the handlers' first page (/cases: open cases, longest overdue
//     first, 50 rows) over 10,000 open cases, against GET /v1/cases with the
//     same parameters, measured once every case's escalation is running (so
//     the starts do not compete for the two cores).
//
// Run it with -benchtime 400x (20 s of reports at 20/s; 400 queue pages).
func BenchmarkPortal(b *testing.B) {
	b.Setenv("DEIOPS_LOG_LEVEL", "error")
	b.Setenv("DEIOPS_HTTP_RATE_LIMIT", "10000000")
	b.Setenv("DEIOPS_HTTP_RATE_BURST", "1000000")
	b.Run("anonymous-report", func(b *testing.B) {
		ts := temporaltest.NewServer()
		b.Cleanup(ts.Stop)
		s := newPortalStack(b, ts.GetFrontendHostPort(), ts.GetDefaultNamespace())
		b.Run("api", func(b *testing.B) {
			lat := paced(b.N, 20, func() {
				if code, body := s.api.call(http.MethodPost, "/v1/reports", "", anonymousReport("benchmark at twenty a second")); code != http.StatusCreated {
					b.Errorf("intake: %d %s", code, body)
				}
			})
			reportLatency(b, lat)
		})
		b.Run("portal", func(b *testing.B) {
			c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var failed atomic.Int64
			lat := pacedWithSetup(b.N, 20, func() func() {
				// Each report fetches its own form (its token names one report).
				tok := formTokenOf(b, c, s.base+"/report?mode=anonymous", "/report/receipt")
				return func() {
					resp, err := c.PostForm(s.base+"/report/receipt", portalReport(tok))
					if err != nil {
						failed.Add(1)
						return
					}
					page, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="case-secret"`) {
						failed.Add(1)
					}
				}
			})
			if n := failed.Load(); n > 0 {
				b.Errorf("%d of %d portal reports did not reach their receipt", n, b.N)
			}
			reportLatency(b, lat)
		})
	})

	b.Run("queue", func(b *testing.B) {
		ts := temporaltest.NewServer()
		b.Cleanup(ts.Stop)
		s := newPortalStack(b, ts.GetFrontendHostPort(), ts.GetDefaultNamespace())
		const open = 10_000
		token := s.api.token("res2", "resident")
		body := namedReport()
		began := time.Now()
		parallel(open, benchWorkers, func() {
			if code, data := s.api.call(http.MethodPost, "/v1/reports", token, body); code != http.StatusCreated {
				b.Errorf("intake: %d %s", code, data)
			}
		})
		officer := s.api.token("off1", "dei_officer")
		query := "/v1/cases?state=submitted,triaged,assigned,acknowledged,in_progress&sort=due&limit=50"
		testkit.Eventually(b, 5*time.Minute, "the queue lists every case", func() bool {
			page := must[struct {
				Total int `json:"total"`
			}](s.api, http.StatusOK, http.MethodGet, query, officer, nil)
			return page.Total >= open
		})
		filled := time.Since(began)
		tc := ts.GetDefaultClient()
		testkit.Eventually(b, 15*time.Minute, "every case's escalation running", func() bool {
			n, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Namespace: ts.GetDefaultNamespace()})
			return err == nil && n.GetCount() >= open
		})
		b.Logf("filled %d open cases in %s; every escalation running after %s", open, filled.Round(time.Second), time.Since(began).Round(time.Second))
		b.Run("api", func(b *testing.B) {
			lat := make([]time.Duration, b.N)
			for i := range b.N {
				t0 := time.Now()
				if code, _ := s.api.call(http.MethodGet, query, officer, nil); code != http.StatusOK {
					b.Fatalf("queue API: %d", code)
				}
				lat[i] = time.Since(t0)
			}
			reportLatency(b, lat)
		})
		b.Run("portal", func(b *testing.B) {
			c := signedInClient(b, s, "off1")
			lat := make([]time.Duration, b.N)
			var size int
			for i := range b.N {
				t0 := time.Now()
				resp, err := c.Get(s.base + "/cases")
				if err != nil {
					b.Fatal(err)
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK || strings.Count(string(page), `<a href="/cases/c`) < 50 {
					b.Fatalf("queue page: %d with %d case links", resp.StatusCode, strings.Count(string(page), `<a href="/cases/c`))
				}
				size = len(page)
			}
			reportLatency(b, lat)
			b.ReportMetric(float64(size), "html-bytes")
		})
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99(lat).Microseconds())/1000, "p99-ms")
}

// pacedWithSetup is paced with an untimed step before each timed call.
func pacedWithSetup(n int, rate float64, setup func() func()) []time.Duration {
	calls := make([]func(), n)
	for i := range calls {
		calls[i] = setup()
	}
	var next atomic.Int64
	return paced(n, rate, func() { calls[next.Add(1)-1]() })
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func formTokenOf(b *testing.B, c *http.Client, page, action string) string {
	resp, err := c.Get(page)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	i := strings.Index(string(body), `action="`+action+`"`)
	m := csrfField.FindStringSubmatch(string(body[max(i, 0):]))
	if i < 0 || m == nil {
		b.Fatalf("%s has no form for %s (%d)", page, action, resp.StatusCode)
	}
	return m[1]
}

func portalReport(tok string) url.Values {
	return url.Values{"csrf": {tok}, "mode": {"anonymous"}, "category": {"racism"},
		"narrative":     {"Benchmark through the portal: a comment about my accent at handover."},
		"occurred_date": {time.Now().AddDate(0, 0, -2).Format("2006-01-02")}, "department": {"med"}, "site": {"north"},
		"desired_outcome": {"formal_resolution"}, "involved_role_0": {"attending"}, "involved_name_0": {"Dr Fernandez"}}
}

var personaForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// signedInClient signs in through the development identity provider as
// a plain HTTP client would: the portal's real login path.
func signedInClient(b *testing.B, s portalStack, persona string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(s.base + "/auth/login?next=/cases")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := personaForm.FindStringSubmatch(string(page))
	if m == nil {
		b.Fatalf("sign-in: no persona form at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	form := url.Values{"persona": {persona}}
	for _, h := range hiddenInput.FindAllStringSubmatch(m[2], -1) {
		form.Set(h[1], unescape(h[2]))
	}
	action, err := resp.Request.URL.Parse(unescape(m[1]))
	if err != nil {
		b.Fatal(err)
	}
	resp, err = c.PostForm(action.String(), form)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/cases" {
		b.Fatalf("sign-in ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	return c
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}
