package app_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"go.temporal.io/server/temporaltest"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/auth/devoidc"
	"github.com/deiops/deiops/pkg/testkit"
)

// The portal's browser tests drive Debian's Chromium with chromedp against
// a real stack (NATS, Temporal, Redis, the API and the portal in one
// process) and the development OpenID provider, and run axe-core on every
// page in both languages. They fail — never skip — when Chromium or
// axe-core is missing: `scripts/portal-test-deps.sh` installs axe-core
// (make test runs it) and .ci/run installs Chromium.
//
// DEIOPS_PORTAL_SCREENSHOTS=DIR also writes a desktop and a phone
// screenshot of every page to DIR (docs/portal is committed).

const portalClientSecret = "portal-test-client-secret-0123456789"

func chromiumPath(t *testing.T) string {
	p := os.Getenv("DEIOPS_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Chromium is required for the portal's browser tests and is not at %s: install it with `apt-get install -y chromium` (or set DEIOPS_CHROMIUM)", p)
	}
	return p
}

func axeSource(t *testing.T) string {
	p := os.Getenv("DEIOPS_AXE_JS")
	if p == "" {
		p = filepath.Join("..", "..", "..", "..", ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("axe-core is required for the portal's accessibility checks: run scripts/portal-test-deps.sh (make test does): %v", err)
	}
	return string(b)
}

// portalStack is one process running the resolution API and the portal,
// and the development OpenID provider beside it.
type portalStack struct {
	base string
	api  api
	op   *httptest.Server
}

func startPortalStack(t *testing.T) portalStack {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	return newPortalStack(t, ts.GetFrontendHostPort(), ts.GetDefaultNamespace())
}

// newPortalStack starts the stack against the Temporal at temporalAddr.
func newPortalStack(t testing.TB, temporalAddr, namespace string) portalStack {
	t.Helper()
	ns := testkit.NATS(t)
	rd := testkit.Redis(t)
	cfg, _ := testConfig(t, ns.URL(), temporalAddr, namespace, rd.URL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()

	var opHandler http.Handler
	op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { opHandler.ServeHTTP(w, r) }))
	t.Cleanup(op.Close)
	dev, err := auth.NewDevIssuer(cfg.Auth.DevKeyFile, auth.DevIssuerOptions{Audience: cfg.Auth.Audience, RoleClaim: cfg.Auth.RoleClaim, Aliases: []string{op.URL}})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := dev.As(op.URL)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := devoidc.New(devoidc.Options{Issuer: iss,
		Clients: []devoidc.Client{{ID: cfg.Portal.ClientID, Secret: portalClientSecret,
			RedirectURIs: []string{base + "/auth/callback"}, PostLogoutRedirectURIs: []string{base + "/?signed_out=1"}}},
		Personas: func(context.Context) ([]devoidc.Persona, error) {
			return []devoidc.Persona{{Subject: "res1", Name: "Mei Chen", About: "Resident (PGY-1), Medicine", Roles: []string{"resident", "staff"}},
				{Subject: "off1", Name: "Noor Haddad", About: "DEI officer", Roles: []string{"dei_officer", "staff"}},
				{Subject: "hres", Name: "Sam Rivera", About: "Resolver, Medicine", Roles: []string{"resolver", "staff"}}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	opHandler = provider.Handler()

	cfg.Target = "resolution,portal"
	cfg.HTTP.PublicURL = base
	cfg.Portal.IssuerURL = op.URL
	cfg.Portal.ClientSecret = portalClientSecret
	// The race detector and a shared two-core machine slow every call.
	cfg.Portal.APITimeout = 30 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := startWith(t, cfg, dev, ln)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	return portalStack{base: base, api: a, op: op}
}

// browserCtx starts Chromium and returns a function that opens a fresh,
// isolated browser context (its own cookies) for one visitor.
func browserCtx(t *testing.T) func() context.Context {
	t.Helper()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	t.Cleanup(cancel)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return func() context.Context {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first run opens the tab, which lives as long as the context of
		// that run: it must be ctx itself, not one with a timeout.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("open a browser context: %v", err)
		}
		return ctx
	}
}

// visitor is one browser context driving the portal.
type visitor struct {
	t      *testing.T
	ctx    context.Context
	base   string
	axe    string
	shots  string
	name   string
	js     bool
	audits *int
	// heaviest is the largest page weight seen, and its page.
	heaviest *pageWeight
}

type pageWeight struct {
	page  string
	bytes int
}

// maxPageBytes is the bound on a page's HTML, CSS and script.
const maxPageBytes = 100 << 10

func (v visitor) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		lctx, lcancel := v.bounded()
		defer lcancel()
		loc, _ := chromedp.Run(lctx, chromedp.Location())
		// The heading says which page it is; never the page text (it may hold a secret).
		h1, _ := chromedp.Run(lctx, chromedp.Evaluate[string](`(document.querySelector("h1") || {}).textContent || ""`))
		v.t.Fatalf("%s: %s (at %s, page %q): %v", v.name, what, loc, h1, err)
	}
}

// bounded is the visitor's context with a deadline, for one action: long
// enough for a loaded two-core machine running the race detector, short
// enough that a stuck page fails the test with its name.
func (v visitor) bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(v.ctx, 60*time.Second)
}

func (v visitor) eval(js string) string {
	v.t.Helper()
	ctx, cancel := v.bounded()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		v.t.Fatalf("%s: evaluate %s: %v", v.name, js, err)
	}
	return s
}

func (v visitor) open(path string) {
	v.t.Helper()
	v.do("open "+path, chromedp.Navigate(v.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

func (v visitor) text(sel string) string {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, 60*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		v.t.Fatalf("%s: read %s: %v", v.name, sel, err)
	}
	return s
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// audit runs axe-core (WCAG 2.0/2.1 A and AA rules) on the current page and
// fails on any violation. DevTools evaluation is not subject to the page's
// CSP, so the page itself still runs no inline script.
func (v visitor) audit(page string) {
	v.t.Helper()
	ctx, cancel := v.bounded()
	defer cancel()
	// The page's weight: its HTML as sent, uncompressed, plus every
	// stylesheet and script it links (read again, so a cached one counts).
	weight, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Promise.all([...document.querySelectorAll("link[rel=stylesheet],script[src]")]
  .map(e => fetch(e.href || e.src).then(r => r.arrayBuffer()).then(b => b.byteLength)))
  .then(sizes => sizes.reduce((a, b) => a + b, performance.getEntriesByType("navigation")[0].decodedBodySize))`, chromedp.EvalAwaitPromise))
	if err != nil {
		v.t.Fatalf("%s: page weight of %s: %v", v.name, page, err)
	}
	if weight > maxPageBytes {
		v.t.Errorf("%s: %s weighs %d bytes of HTML, CSS and script, more than %d", v.name, page, weight, maxPageBytes)
	}
	if v.heaviest != nil && weight > v.heaviest.bytes {
		*v.heaviest = pageWeight{page: page, bytes: weight}
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](v.axe+";true")); err != nil {
		v.t.Fatalf("%s: inject axe-core on %s: %v", v.name, page, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a","wcag2aa","wcag21a","wcag21aa"]}})
  .then(r => JSON.stringify(r.violations.map(x => ({id: x.id, impact: x.impact, help: x.help, nodes: x.nodes.map(n => n.target.join(" "))}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		v.t.Fatalf("%s: axe on %s: %v", v.name, page, err)
	}
	var vs []axeViolation
	_ = json.Unmarshal([]byte(out), &vs)
	for _, x := range vs {
		v.t.Errorf("%s: axe on %s: %s (%s): %s at %v", v.name, page, x.ID, x.Impact, x.Help, x.Nodes)
	}
	*v.audits++
	v.shot(page)
}

// shot writes desktop and phone screenshots when asked to.
func (v visitor) shot(page string) {
	// Of the Spanish pages, the landing and the guidance editor stand for the rest.
	if v.shots == "" || strings.Contains(page, "-es") && page != "home-es" && page != "admin-guidance-published-es" {
		return
	}
	for _, vp := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		sctx, cancel := v.bounded()
		b, err := chromedp.Run(sctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
			if _, err := chromedp.EmulateViewport(vp.w, vp.h, opts...)(ctx, t); err != nil {
				return nil, err
			}
			return chromedp.CaptureScreenshot()(ctx, t)
		})
		cancel()
		if err != nil {
			v.t.Fatalf("screenshot %s: %v", page, err)
		}
		_ = os.MkdirAll(v.shots, 0o755)
		if err := os.WriteFile(filepath.Join(v.shots, page+"-"+vp.suffix+".png"), b, 0o644); err != nil {
			v.t.Fatal(err)
		}
	}
	_, _ = chromedp.Run(v.ctx, chromedp.EmulateViewport(1280, 900))
}

func (v visitor) cookies() []*network.Cookie {
	v.t.Helper()
	bctx, cancel := v.bounded()
	defer cancel()
	c, err := chromedp.Run(bctx, func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		r, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{v.base + "/", v.base + "/inbox", v.base + "/auth"}})
		return r.Cookies, err
	})
	if err != nil {
		v.t.Fatal(err)
	}
	return c
}

// fillReport types a complete anonymous report into the open form.
func fillReport(narrative string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SetValue(chromedp.CSS("#category"), "racism"),
		chromedp.SendKeys(chromedp.CSS("#narrative"), narrative),
		chromedp.SetValue(chromedp.CSS("#occurred_date"), time.Now().AddDate(0, 0, -2).Format("2006-01-02")),
		chromedp.SendKeys(chromedp.CSS("#department"), "med"),
		chromedp.SendKeys(chromedp.CSS("#site"), "north"),
		chromedp.SetValue(chromedp.CSS("#involved_role_0"), "attending"),
		chromedp.SendKeys(chromedp.CSS("#involved_name_0"), "Dr Fernandez"),
		chromedp.Click(chromedp.CSS("#outcome-formal_resolution")),
	)
}

func TestPortalInAHeadlessBrowser(t *testing.T) {
	axe := axeSource(t)
	newVisitor := browserCtx(t)
	stack := startPortalStack(t)
	audits := 0
	heaviest := &pageWeight{}
	shots := os.Getenv("DEIOPS_PORTAL_SCREENSHOTS")
	visit := func(name string) visitor {
		return visitor{t: t, ctx: newVisitor(), base: stack.base, axe: axe, shots: shots, name: name, js: true, audits: &audits, heaviest: heaviest}
	}
	officer := stack.api.token("off1", "dei_officer")

	for _, lang := range []string{"en", "es"} {
		q, sfx := "?lang="+lang, "-"+lang
		if lang == "en" {
			q, sfx = "", ""
		}
		t.Run("anonymous journey "+lang, func(t *testing.T) {
			v := visit("anonymous " + lang)
			v.t = t
			v.open("/" + q)
			v.audit("home" + sfx)
			v.do("follow the guidance link", chromedp.Click(chromedp.CSS(`main a[href^="/guidance"]`)), chromedp.WaitVisible(chromedp.CSS("#department")))
			v.audit("guidance-chooser" + sfx)
			v.do("choose a department", chromedp.SendKeys(chromedp.CSS("#department"), "med"), chromedp.Submit(chromedp.CSS("#department")),
				chromedp.WaitVisible(chromedp.CSS("ol.steps")))
			v.audit("guidance" + sfx)
			v.do("go to the report", chromedp.Click(chromedp.CSS(`a.button[href^="/report"]`)), chromedp.WaitVisible(chromedp.CSS(`a[href*="mode=anonymous"]`)))
			v.audit("report-choose" + sfx)
			v.do("choose anonymous", chromedp.Click(chromedp.CSS(`a[href*="mode=anonymous"]`)), chromedp.WaitVisible(chromedp.CSS("#narrative")))
			v.audit("report-form" + sfx)
			// An empty send comes back with every problem, announced.
			v.do("send it empty", chromedp.Click(chromedp.CSS("button.primary")), chromedp.WaitVisible(chromedp.CSS("#error-summary")))
			if got := v.eval(`document.activeElement.id`); got != "error-summary" {
				t.Errorf("focus after a failed send is on %q, want the error summary", got)
			}
			if n := v.eval(`String(document.querySelectorAll("[aria-invalid=true]").length)`); n == "0" {
				t.Error("no field is marked aria-invalid")
			}
			v.audit("report-errors" + sfx)
			if c := v.cookies(); len(c) > 0 {
				t.Fatalf("cookies before the receipt: %v", c[0].Name)
			}
			narrative := "Browser journey " + lang + ": a comment about my accent at handover."
			v.do("fill and send", fillReport(narrative), chromedp.Click(chromedp.CSS("button.primary")), chromedp.WaitVisible(chromedp.CSS("#case-secret")))
			key, secret := v.text("#case-key"), v.text("#case-secret")
			if len(key) != 14 || len(secret) < 40 {
				t.Fatalf("receipt shows a key of %d and a secret of %d characters", len(key), len(secret))
			}
			if hidden := v.eval(`String(document.querySelector("button.copy").hidden)`); hidden != "false" {
				t.Error("the copy button stays hidden with JavaScript on")
			}
			if u := v.eval(`location.href`); strings.Contains(u, secret) || strings.Contains(u, key) {
				t.Fatal("the receipt's URL carries the credentials")
			}
			v.audit("receipt" + sfx)
			if c := v.cookies(); len(c) > 0 {
				t.Fatalf("the receipt set a cookie: %s", c[0].Name)
			}
			v.do("go to the inbox", chromedp.Click(chromedp.CSS(`a[href^="/inbox"]`)), chromedp.WaitVisible(chromedp.CSS("#case_key")))
			v.audit("inbox-open" + sfx)
			v.do("open the inbox", chromedp.SendKeys(chromedp.CSS("#case_key"), key), chromedp.SendKeys(chromedp.CSS("#secret"), secret),
				chromedp.Click(chromedp.CSS("button.primary")), chromedp.WaitVisible(chromedp.CSS("#text")))
			v.do("write to the team", chromedp.SendKeys(chromedp.CSS("#text"), "Reporter "+lang+": it happened again today."),
				chromedp.Submit(chromedp.CSS("#text")), chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)))

			// A handler on the case answers through the API.
			var list struct {
				Cases []struct {
					ID string `json:"id"`
				} `json:"cases"`
			}
			testkit.Eventually(t, 20*time.Second, "the case is listed for the DEI officer", func() bool {
				list = must[struct {
					Cases []struct {
						ID string `json:"id"`
					} `json:"cases"`
				}](stack.api, http.StatusOK, http.MethodGet, "/v1/cases", officer, nil)
				return len(list.Cases) > 0
			})
			reply := "Handler reply " + lang + ": thank you, we are on it."
			for _, c := range list.Cases {
				code, _ := stack.api.call(http.MethodPost, "/v1/cases/"+c.ID+"/messages", officer, map[string]any{"text": reply})
				if code != http.StatusOK {
					t.Fatalf("handler message: %d", code)
				}
			}
			v.open("/inbox" + q)
			if !strings.Contains(v.text(".messages"), reply) {
				t.Fatal("the reporter does not see the handler's reply")
			}
			promised := map[string]string{"en": "Acknowledgment due by", "es": "Acuse de recibo a más tardar el"}[lang]
			if !strings.Contains(v.text("#status-h + .stage + p + .facts"), promised) {
				t.Errorf("the inbox does not say when the acknowledgment is due (%q)", promised)
			}
			v.audit("inbox" + sfx)
			for _, c := range v.cookies() {
				if !c.HTTPOnly || c.Path != "/inbox" || strings.Contains(c.Value, secret) {
					t.Fatalf("inbox cookie %s: httponly %v path %q", c.Name, c.HTTPOnly, c.Path)
				}
			}
			v.do("close the inbox", chromedp.Click(chromedp.CSS(`form[action="/inbox/close"] button`)), chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)))
			if c := v.cookies(); len(c) > 0 {
				t.Fatalf("closing the inbox left cookie %s", c[0].Name)
			}
			v.open("/no/such/page" + q)
			v.open("/guidance/unknown%3Cdept" + q)
			v.audit("not-found" + sfx)
		})

		t.Run("named journey through OIDC "+lang, func(t *testing.T) {
			v := visit("named " + lang)
			v.t = t
			v.open("/" + q)
			v.do("sign in", chromedp.Click(chromedp.CSS(`.account a[href="/auth/login"]`)), chromedp.WaitVisible(chromedp.CSS(`button[name=persona]`)))
			if !strings.HasPrefix(v.eval(`location.href`), stack.op.URL) {
				t.Fatal("sign-in did not go to the identity provider")
			}
			v.do("pick a persona", chromedp.Click(chromedp.CSS(`button[value=res1]`)), chromedp.WaitVisible(chromedp.CSS(`.account .who`)))
			if who := v.text(".account .who"); !strings.Contains(who, "Mei Chen") {
				t.Fatalf("signed in as %q", who)
			}
			v.open("/report?mode=named" + strings.Replace(q, "?", "&", 1))
			v.audit("report-form-named" + sfx)
			v.do("fill and send", fillReport("Named journey "+lang+": excluded from rounds again."), chromedp.Click(chromedp.CSS("button.primary")),
				chromedp.WaitVisible(chromedp.CSS(`a.button[href^="/my/cases/"]`)))
			v.audit("receipt-named" + sfx)
			v.do("follow the report", chromedp.Click(chromedp.CSS(`a.button[href^="/my/cases/"]`)), chromedp.WaitVisible(chromedp.CSS("#text")))
			v.audit("my-case" + sfx)
			v.open("/my/cases" + q)
			if !strings.Contains(v.text("table.cases"), map[string]string{"en": "Racism", "es": "Racismo"}[lang]) {
				t.Fatal("my reports does not list the report")
			}
			if !strings.Contains(v.text("table.cases"), map[string]string{"en": "Acknowledgment due by", "es": "Acuse de recibo a más tardar el"}[lang]) {
				t.Error("my reports does not say when the acknowledgment is due")
			}
			v.audit("my-cases" + sfx)
			v.do("sign out", chromedp.Click(chromedp.CSS(`form[action="/auth/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)))
			v.open("/my/cases")
			if !strings.HasPrefix(v.eval(`location.href`), stack.op.URL) {
				t.Fatal("after signing out, my reports did not ask to sign in again")
			}
		})
	}

	t.Run("handlers work a case through every action", func(t *testing.T) {
		rc := must[receipt](stack.api, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("handler journey"))
		caseLink := `a[href="/cases/` + rc.CaseID + `"]`
		// act posts one workspace form and waits for the page that says it was done.
		act := func(v visitor, action string, fill ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			// The old page is marked, so the wait is for the page the post led to.
			v.eval(`document.body.dataset.stale = "1"; ""`)
			steps := append(fill, chromedp.Click(chromedp.CSS(`form[action="/cases/`+rc.CaseID+`/act/`+action+`"] button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) p.notice#result`)))
			v.do(action, steps...)
			if u := v.eval(`location.search`); !strings.Contains(u, "done="+action) {
				t.Fatalf("%s: the workspace came back at %q", action, u)
			}
		}
		can := func(v visitor, action string) bool {
			return v.eval(`String(!!document.querySelector('form[action="/cases/`+rc.CaseID+`/act/`+action+`"]'))`) == "true"
		}

		officer := visit("officer")
		officer.t = t
		officer.open("/cases")
		officer.do("sign in as the DEI officer", chromedp.Click(chromedp.CSS(`button[value=off1]`)), chromedp.WaitVisible(chromedp.CSS(`table.queue`)))
		officer.audit("queue")
		officer.do("open the case", chromedp.Click(chromedp.CSS(caseLink)), chromedp.WaitVisible(chromedp.CSS(`#summary-h`)))
		officer.audit("workspace-new")
		for _, a := range []string{"acknowledge", "start", "resolve", "recuse"} {
			if can(officer, a) {
				t.Errorf("the officer is offered %s, which only the assignee may do", a)
			}
		}
		act(officer, "triage", chromedp.SetValue(chromedp.CSS("#triage-severity"), "high"))
		if n := officer.eval(`String(document.querySelectorAll('#assign-to option[value="att"], #assign-to option[value="chief"]').length)`); n != "0" {
			t.Fatal("the named attending or their chief is offered as an assignee")
		}
		act(officer, "assign", chromedp.SetValue(chromedp.CSS("#assign-to"), "hres"))
		note := "Internal: spoke with the charge nurse " + rc.CaseID
		act(officer, "notes", chromedp.SendKeys(chromedp.CSS("#note-text"), note))
		reply := "We have your report and are looking into it."
		act(officer, "messages", chromedp.SendKeys(chromedp.CSS("#message-text"), reply))
		act(officer, "legal-hold")
		if !strings.Contains(officer.text(".internal"), note) || !strings.Contains(officer.text(".thread"), reply) {
			t.Fatal("the note or the message is not where it belongs")
		}

		handler := visit("resolver")
		handler.t = t
		handler.open("/cases")
		handler.do("sign in as the resolver", chromedp.Click(chromedp.CSS(`button[value=hres]`)), chromedp.WaitVisible(chromedp.CSS(caseLink)))
		handler.do("open the case", chromedp.Click(chromedp.CSS(caseLink)), chromedp.WaitVisible(chromedp.CSS(`#summary-h`)))
		if can(handler, "legal-hold") || can(handler, "triage") {
			t.Error("the resolver is offered an officer's action")
		}
		act(handler, "acknowledge")
		act(handler, "start")
		act(handler, "resolve", chromedp.SetValue(chromedp.CSS("#resolve-outcome"), "substantiated"))
		handler.audit("workspace-resolved")

		officer.open("/cases/" + rc.CaseID)
		act(officer, "close")
		act(officer, "reopen", chromedp.SetValue(chromedp.CSS("#reopen-reason"), "new_information"))
		handler.open("/cases/" + rc.CaseID)
		handler.eval(`document.body.dataset.stale = "1"; ""`)
		handler.do("recuse", chromedp.Click(chromedp.CSS(`form[action="/cases/`+rc.CaseID+`/act/recuse"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) p.notice#result`)))
		if u := handler.eval(`location.pathname`); u != "/cases" {
			t.Fatalf("after recusing the resolver is at %s, want their queue", u)
		}
		if handler.eval(`String(!!document.querySelector('`+caseLink+`'))`) != "false" {
			t.Error("after recusing, the case is still in the resolver's queue")
		}
		handler.open("/cases/" + rc.CaseID)
		if h := handler.text("h1"); !strings.Contains(h, "not found") {
			t.Errorf("after recusing, the resolver opens the case and reads %q, want page not found", h)
		}
		officer.open("/cases/" + rc.CaseID)
		officer.audit("workspace-officer")
		if !strings.Contains(officer.text("#audit-h + .scroll"), "hres") {
			t.Error("the audit trail does not show the resolver's actions")
		}

		officer.open("/cases?lang=es")
		officer.audit("queue-es")
		officer.open("/cases/" + rc.CaseID + "?lang=es")
		officer.audit("workspace-es")

		officer.open("/patterns")
		if officer.eval(`String(!!document.querySelector("svg.chart") && !!document.querySelector("table.crosstab"))`) != "true" {
			t.Fatal("the patterns page has no chart or table")
		}
		officer.audit("patterns")
		officer.open("/patterns?lang=es")
		officer.audit("patterns-es")

		// The reporter sees the reply and the outcome steps, never the note.
		code, seen := stack.api.call(http.MethodGet, "/v1/anonymous/case", "", nil, "Deiops-Case-Key", rc.CaseKey, "Deiops-Case-Secret", rc.Secret)
		if code != http.StatusOK || !strings.Contains(string(seen), reply) || strings.Contains(string(seen), note) || strings.Contains(string(seen), "hres") {
			t.Fatalf("the reporter's view (%d): must show the reply and neither the note nor the handler's id", code)
		}
		// Acknowledged, then reopened: what is promised now is feedback.
		if !strings.Contains(string(seen), `"awaiting":"feedback"`) {
			t.Errorf("the reopened, acknowledged case promises its reporter: %s", seen)
		}
	})

	t.Run("officers publish a policy from a template and edit guidance", func(t *testing.T) {
		v := visit("editor")
		v.t = t
		v.open("/admin/policies")
		v.do("sign in as the DEI officer", chromedp.Click(chromedp.CSS(`button[value=off1]`)), chromedp.WaitVisible(chromedp.CSS(`#department`)))
		v.audit("admin-policies")
		v.do("choose a department", chromedp.SendKeys(chromedp.CSS("#department"), "surg"), chromedp.Submit(chromedp.CSS("#department")),
			chromedp.WaitVisible(chromedp.CSS("#document")))
		v.eval(`document.body.dataset.stale = "1"; ""`)
		v.do("start from the EU template", chromedp.Click(chromedp.CSS(`a[href*="start=template:eu_directive_2019_1937"]`)),
			chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) #document`)))
		if n := v.eval(`String(document.querySelectorAll('input[name=start][value="template:eu_directive_2019_1937"]').length)`); n != "1" {
			t.Fatal("the draft did not start from the EU template")
		}
		v.audit("admin-policy")
		// Every editor page previews its draft, so the wait is for the page the post led to.
		v.eval(`document.body.dataset.stale = "1"; ""`)
		v.do("preview", chromedp.Click(chromedp.CSS(`button[value=preview]`)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) #preview ol.levels`)))
		if h := v.text("#preview-h"); !strings.Contains(h, "checked") {
			t.Fatalf("the preview says %q", h)
		}
		v.audit("admin-policy-preview")
		v.eval(`document.body.dataset.stale = "1"; ""`)
		v.do("publish", chromedp.Click(chromedp.CSS(`button[value=publish]`)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) p.notice#result`)))
		got := must[struct {
			Version int `json:"version"`
			Policy  struct {
				Calendar struct {
					TimeZone string `json:"time_zone"`
				} `json:"calendar"`
			} `json:"policy"`
		}](stack.api, http.StatusOK, http.MethodGet, "/v1/escalation-policies/surg", officer, nil)
		if got.Version != 1 || got.Policy.Calendar.TimeZone != "Europe/Brussels" {
			t.Fatalf("published policy: %+v", got)
		}
		v.open("/admin/guidance/surg?lang=es")
		v.audit("admin-guidance-es")
		v.eval(`(() => { const d = document.querySelector("#document"); const g = JSON.parse(d.value); g.title = "Si sufre racismo en Cirugía"; d.value = JSON.stringify(g, null, 2); document.body.dataset.stale = "1"; return ""; })()`)
		v.do("publish the new title", chromedp.Click(chromedp.CSS(`button[value=publish]`)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) p.notice#result`)))
		v.audit("admin-guidance-published-es")
		v.open("/guidance/surg")
		if h := v.text("h1"); h != "Si sufre racismo en Cirugía" {
			t.Fatalf("the published guidance reads %q", h)
		}
		v.open("/admin/policies?lang=es")
		v.audit("admin-policies-es")
		v.open("/admin/policies/surg?lang=es")
		v.audit("admin-policy-es")
	})

	t.Run("handlers work with JavaScript disabled", func(t *testing.T) {
		rc := must[receipt](stack.api, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("no-JS handler journey"))
		v := visit("no-js handler")
		v.t = t
		if _, err := chromedp.Run(v.ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
			return cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		}); err != nil {
			t.Fatal(err)
		}
		v.open("/cases")
		v.do("sign in as the DEI officer", chromedp.Click(chromedp.CSS(`button[value=off1]`)), chromedp.WaitVisible(chromedp.CSS(`table.queue`)))
		v.do("filter the queue", chromedp.SetValue(chromedp.CSS("#f-category"), "racism"), chromedp.Submit(chromedp.CSS("#f-category")),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/cases/`+rc.CaseID+`"]`)))
		v.do("open the case", chromedp.Click(chromedp.CSS(`a[href="/cases/`+rc.CaseID+`"]`)), chromedp.WaitVisible(chromedp.CSS(`#summary-h`)))
		v.eval(`document.body.dataset.stale = "1"; ""`)
		v.do("triage", chromedp.SetValue(chromedp.CSS("#triage-severity"), "medium"),
			chromedp.Click(chromedp.CSS(`form[action="/cases/`+rc.CaseID+`/act/triage"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) p.notice#result`)))
		note := "No-JS note " + rc.CaseID
		v.eval(`document.body.dataset.stale = "1"; ""`)
		v.do("write a note", chromedp.SendKeys(chromedp.CSS("#note-text"), note),
			chromedp.Click(chromedp.CSS(`form[action="/cases/`+rc.CaseID+`/act/notes"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) p.notice#result`)))
		if !strings.Contains(v.text(".internal"), note) {
			t.Fatal("the note written without JavaScript is not on the case")
		}
	})

	t.Run("report with JavaScript disabled", func(t *testing.T) {
		v := visit("no-js")
		v.t = t
		if _, err := chromedp.Run(v.ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
			return cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		}); err != nil {
			t.Fatal(err)
		}
		v.open("/report?mode=anonymous")
		v.do("fill and send", fillReport("No-JS journey: a slur in the break room."), chromedp.Click(chromedp.CSS("button.primary")),
			chromedp.WaitVisible(chromedp.CSS("#case-secret")))
		if hidden := v.eval(`String(document.querySelector("button.copy").hidden)`); hidden != "true" {
			t.Error("without JavaScript the copy button must stay hidden (it could not work)")
		}
		if n := v.eval(`String(document.querySelectorAll('form[action="/report/receipt/download"][method=post] button').length)`); n != "1" {
			t.Error("the download form is missing")
		}
	})

	t.Run("report by keyboard alone", func(t *testing.T) {
		v := visit("keyboard")
		v.t = t
		v.open("/report?mode=anonymous")
		// tabTo presses Tab until the field has focus: it must be reachable.
		tabTo := func(id string) {
			t.Helper()
			for range 60 {
				if v.eval(`document.activeElement.id`) == id {
					return
				}
				v.do("tab", chromedp.KeyEvent(kb.Tab))
			}
			t.Fatalf("Tab never reaches #%s", id)
		}
		key := func(what, keys string) { v.do(what, chromedp.KeyEvent(keys)) }
		tabTo("category")
		key("choose a category", "R")
		tabTo("narrative")
		key("type the narrative", "Keyboard journey: mocked in front of a patient.")
		tabTo("occurred_date")
		d := time.Now().AddDate(0, 0, -1)
		key("type the date", d.Format("01")+d.Format("02")+d.Format("2006"))
		tabTo("department")
		key("type the department", "med")
		tabTo("site")
		key("type the site", "north")
		tabTo("outcome-record_only")
		key("pick an outcome", " ")
		for range 10 {
			if v.eval(`document.activeElement.className`) == "primary" {
				break
			}
			key("tab", kb.Tab)
		}
		key("send", kb.Enter)
		v.do("receipt", chromedp.WaitVisible(chromedp.CSS("#case-secret")))
		if got := v.eval(`document.querySelector("#case-key").textContent`); len(got) != 14 {
			t.Fatalf("keyboard report: receipt key %q", got)
		}
	})

	t.Run("right-to-left layout", func(t *testing.T) {
		v := visit("rtl")
		v.t = t
		v.open("/report?mode=anonymous")
		v.eval(`document.documentElement.dir = "rtl"; ""`)
		// Logical properties flip: the brand starts at the right edge, and a
		// field's label starts where its input starts.
		pos := v.eval(`(() => { const b = document.querySelector(".brand").getBoundingClientRect(), m = document.querySelector(".menu").getBoundingClientRect();
		  const l = document.querySelector("label[for=narrative]").getBoundingClientRect(), i = document.querySelector("#narrative").getBoundingClientRect();
		  return [b.right > m.right, Math.abs(l.right - i.right) < 2].join(","); })()`)
		if pos != "true,true" {
			t.Fatalf("right-to-left layout does not follow (brand right of menu, label aligned right): %s", pos)
		}
		v.audit("report-form-rtl")
	})

	if audits < 20 {
		t.Fatalf("axe ran on %d pages, want every page in both languages", audits)
	}
	t.Logf("axe-core: %d pages audited; the heaviest, %s, is %d bytes of HTML, CSS and script (at most %d)", audits, heaviest.page, heaviest.bytes, maxPageBytes)
}
