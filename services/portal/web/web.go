// Package web is the portal's pages: server-rendered HTML that works with
// JavaScript off, in English and Spanish, with the security headers,
// sessions and form tokens every page needs. Handlers keep no state between
// requests; everything a page shows comes from the public API, called as
// the person in front of it.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/portal/apiclient"
	"github.com/deiops/deiops/services/portal/i18n"
	"github.com/deiops/deiops/services/portal/session"
	"github.com/deiops/deiops/services/portal/signin"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/*
var staticFiles embed.FS

// Options configures the pages.
type Options struct {
	API      *apiclient.Client
	Sessions *session.Manager
	// SignIn is nil when staff sign-in is not configured: the anonymous
	// pages still work.
	SignIn  *signin.Client
	Catalog *i18n.Catalog
	Forms   *Forms
	Sealer  *crypto.Keyring
	Hasher  *crypto.Hasher
	// PublicURL is the portal's external base URL.
	PublicURL *url.URL
	TZ        *time.Location
	Logger    *slog.Logger
	// Now is the clock of sealed cookies and token expiry (default time.Now).
	Now func() time.Time
}

// Handler serves every page.
type Handler struct {
	o      Options
	pages  map[string]*template.Template
	assets map[string]string // file name → URL with a content hash
	csp    string
	// inbox holds an anonymous reporter's key and secret, sealed, while
	// their inbox is open; signinState survives the trip to the provider.
	inbox, signinState session.SealedCookie
}

// pageNames are the templates; each is parsed with the layout.
var pageNames = []string{"home", "guidance_index", "guidance", "report_choose", "report_form", "receipt",
	"inbox_open", "inbox", "my_cases", "my_case", "cases", "case", "patterns", "admin_index", "admin", "error"}

// New parses the templates and prepares the assets.
func New(o Options) (*Handler, error) {
	if o.API == nil || o.Sessions == nil || o.Catalog == nil || o.Forms == nil || o.Sealer == nil || o.Hasher == nil || o.PublicURL == nil {
		return nil, errors.New("web: API, sessions, catalog, forms, sealer, hasher and public URL are required")
	}
	if o.TZ == nil {
		o.TZ = time.UTC
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o, pages: map[string]*template.Template{}, assets: map[string]string{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static: %w", err)
	}
	for _, e := range entries {
		b, _ := staticFiles.ReadFile("static/" + e.Name())
		sum := sha256.Sum256(b)
		h.assets[e.Name()] = "/static/" + e.Name() + "?v=" + hex.EncodeToString(sum[:6])
	}
	formAction := "'self'"
	if o.SignIn != nil {
		// Sign-out redirects to the provider's end-session endpoint, and
		// browsers hold redirects after a form post to form-action.
		formAction += " " + o.SignIn.IssuerOrigin()
	}
	h.csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action " + formAction
	secure := o.Sessions.Secure()
	h.inbox = session.SealedCookie{Name: secureName("deiops-inbox", secure), Purpose: "inbox", Path: "/inbox",
		SameSite: http.SameSiteStrictMode, Secure: secure, TTL: o.Sessions.Idle(), Sealer: o.Sealer, Now: o.Now}
	h.signinState = session.SealedCookie{Name: secureName("deiops-signin", secure), Purpose: "signin", Path: "/auth",
		SameSite: http.SameSiteLaxMode, Secure: secure, TTL: 10 * time.Minute, Sealer: o.Sealer, Now: o.Now}
	return h, nil
}

// secureName uses the __Secure- prefix for cookies scoped to a path
// (__Host- needs Path=/).
func secureName(name string, secure bool) string {
	if secure {
		return "__Secure-" + name
	}
	return name
}

var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"seq": func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	},
	"lines":         func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") },
	"handles":       handles,
	"readsPatterns": readsPatterns,
	"edits":         edits,
	"list":          func(s ...string) []string { return s },
	"deref":         func(n *int) int { return *n },
	// cellOf is one pattern-table cell with the page's language and k.
	"cellOf": func(l i18n.Localizer, n *int, suppressed bool, k int) patternCell {
		return patternCell{L: l, Count: n, Suppressed: suppressed, K: k}
	},
	// withFor hands a sub-template the page and the form it is for.
	"withFor": func(v view, action string) forForm { return forForm{view: v, For: action} },
	"docArgs": func(l i18n.Localizer, v any, h int) docArgs { return docArgs{L: l, V: v, H: h} },
}

// Mount registers every page with page (httpapi.Router.Page).
func (h *Handler) Mount(page func(pattern string, handler http.Handler)) {
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(h.o.PublicURL.Scheme + "://" + h.o.PublicURL.Host); err != nil {
		h.o.Logger.Warn("portal public URL is not a valid origin", "error", err)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.forbidden(w, r, h.begin(w, r))
	}))
	get := func(pattern string, fn http.HandlerFunc) { page("GET "+pattern, h.secure(fn)) }
	post := func(pattern string, fn http.HandlerFunc) { page("POST "+pattern, h.secure(cop.Handler(fn))) }

	get("/{$}", h.home)
	get("/guidance", h.guidanceIndex)
	get("/guidance/{department}", h.guidance)
	get("/report", h.report)
	get("/report/receipt", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/report", http.StatusSeeOther) })
	post("/report/receipt", h.submitReport)
	post("/report/receipt/download", h.downloadReceipt)
	get("/inbox", h.inboxPage)
	post("/inbox", h.openInbox)
	post("/inbox/messages", h.inboxMessage)
	post("/inbox/checkins/{number}", h.inboxCheckin)
	post("/inbox/close", h.closeInbox)
	get("/my/cases", h.myCases)
	get("/my/cases/{id}", h.myCase)
	post("/my/cases/{id}/messages", h.myCaseMessage)
	post("/my/cases/{id}/checkins/{number}", h.myCaseCheckin)
	get("/cases", h.queue)
	get("/cases/{id}", h.workspace)
	post("/cases/{id}/act/{action}", h.act)
	get("/patterns", h.patterns)
	get("/admin/{kind}", h.adminIndex)
	get("/admin/{kind}/{department}", h.adminEditor)
	post("/admin/{kind}/{department}", h.adminPost)
	get("/auth/login", h.login)
	get("/auth/callback", h.callback)
	post("/auth/logout", h.logout)
	page("GET /static/{file}", http.HandlerFunc(h.static))
}

// NotFound is the portal's "page not found" for paths nothing serves.
func (h *Handler) NotFound() http.Handler {
	return h.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.notFound(w, r, h.begin(w, r)) }))
}

// secure sets the headers every page carries. Every page may show
// restricted data or a form that leads to it, so none is cached or
// referred.
func (h *Handler) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("Cache-Control", "no-store")
		hd.Set("Pragma", "no-cache")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := staticFiles.ReadFile("static/" + path.Base(name))
	if err != nil || name != path.Base(name) {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	// Asset URLs carry a content hash, so they can be kept for good.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(b)
}

// call is what one request knows about its person.
type call struct {
	L    i18n.Localizer
	sess *session.Session
	ip   string
	rid  string
}

// caller is the API identity of the request: the signed-in person's token
// (or none), their address and the request id.
func (c *call) caller() apiclient.Caller {
	who := apiclient.Caller{ClientIP: c.ip, RequestID: c.rid}
	if c.sess != nil {
		who.Token = c.sess.Data.AccessToken
	}
	return who
}

// anonymous is the API identity of an anonymous act: never a token, even
// when the person is also signed in.
func (c *call) anonymous() apiclient.Caller {
	return apiclient.Caller{ClientIP: c.ip, RequestID: c.rid}
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request) *call {
	c := &call{ip: httpapi.RemoteIP(r), rid: httpapi.RequestIDFrom(r.Context())}
	sess, err := h.o.Sessions.Load(r)
	if err != nil {
		h.o.Logger.WarnContext(r.Context(), "portal session unavailable", "error", err)
	}
	if sess != nil && !sess.Data.TokenExpiry.IsZero() && h.o.Now().After(sess.Data.TokenExpiry) {
		// The API would refuse the token; the person signs in again.
		_ = h.o.Sessions.End(r.Context(), w, r)
		sess = nil
	}
	c.sess = sess
	explicit := r.FormValue("lang")
	if !i18n.Supported(explicit) && sess != nil {
		explicit = sess.Data.Lang
	}
	lang, chosen := h.o.Catalog.Pick(explicit, r)
	if sess != nil && chosen && sess.Data.Lang != lang {
		sess.Data.Lang = lang
		_ = h.o.Sessions.Update(r.Context(), sess)
	}
	// Signed-in people keep their choice in the session; links carry it
	// only for people without one (no cookie remembers it for them).
	c.L = h.o.Catalog.For(lang, chosen && sess == nil, h.o.TZ)
	return c
}

// view is what the layout needs; Data is the page's own.
type view struct {
	L           i18n.Localizer
	Title       string
	User        *session.Data
	SignIn      bool
	LogoutToken string
	Langs       []langLink
	Data        any
	assets      map[string]string
}

// patternCell is what the cell template needs.
type patternCell struct {
	L          i18n.Localizer
	Count      *int
	Suppressed bool
	K          int
}

// forForm is the page seen from one of its forms.
// docArgs hands a partial the localizer, a value and a heading level.
type docArgs struct {
	L i18n.Localizer
	V any
	H int
}

type forForm struct {
	view
	For string
}

type langLink struct {
	Lang, Name, Href string
	Current          bool
}

// Href is path in the page's language: a chosen language travels in links.
func (v view) Href(p string) string {
	if !v.L.Explicit {
		return p
	}
	sep := "?"
	if strings.Contains(p, "?") {
		sep = "&"
	}
	return p + sep + "lang=" + v.L.Lang
}

// Asset is the URL of a static file.
func (v view) Asset(name string) string { return v.assets[name] }

// render writes page name. langPath is the GET path the language switcher
// links to ("" hides it: a page reached by a post cannot be re-fetched).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, c *call, status int, name, title, langPath string, data any) {
	v := view{L: c.L, Title: title, SignIn: h.o.SignIn != nil, Data: data, assets: h.assets}
	if c.sess != nil {
		v.User = &c.sess.Data
		v.LogoutToken = h.o.Forms.Issue("logout", h.binding(c))
	}
	if langPath != "" {
		for _, l := range i18n.Languages {
			v.Langs = append(v.Langs, langLink{Lang: l, Name: c.L.T("lang." + l), Current: l == c.L.Lang,
				Href: langPath + sepFor(langPath) + "lang=" + l})
		}
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.o.Logger.ErrorContext(r.Context(), "portal template failed", "page", name, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func sepFor(p string) string {
	if strings.Contains(p, "?") {
		return "&"
	}
	return "?"
}

// binding ties a form to the signed-in session ("" without one).
func (h *Handler) binding(c *call) string {
	if c.sess == nil {
		return ""
	}
	return "s:" + h.o.Hasher.Hash("portal-form-binding", c.sess.ID)
}

type errorPage struct {
	Heading, Message string
	Retry            bool
	Back             string
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, c *call, status int, heading, message string) {
	h.render(w, r, c, status, "error", c.L.T(heading), "", errorPage{Heading: c.L.T(heading), Message: c.L.T(message)})
}

// forbidden answers a form post without a valid token (or from another
// site): nothing is done, and the person is told what to do.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, c *call) {
	h.errorPage(w, r, c, http.StatusForbidden, "error.form.title", "error.form.body")
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, c *call) {
	h.errorPage(w, r, c, http.StatusNotFound, "error.notfound.title", "error.notfound.body")
}

// apiFailed answers an API error the page cannot handle itself. It logs
// the status and the operation, never what was sent.
func (h *Handler) apiFailed(w http.ResponseWriter, r *http.Request, c *call, op string, err error) {
	status := apiclient.StatusOf(err)
	switch {
	case status == http.StatusNotFound:
		h.notFound(w, r, c)
	case status == http.StatusTooManyRequests:
		h.errorPage(w, r, c, http.StatusTooManyRequests, "error.busy.title", "error.busy.body")
	case status == http.StatusUnauthorized && c.sess != nil:
		_ = h.o.Sessions.End(r.Context(), w, r)
		http.Redirect(w, r, "/auth/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	default:
		h.o.Logger.WarnContext(r.Context(), "portal api call failed", "op", op, "status", status, "error", err)
		h.errorPage(w, r, c, http.StatusBadGateway, "error.unavailable.title", "error.unavailable.body")
	}
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	h.render(w, r, c, http.StatusOK, "home", c.L.T("home.title"), "/", struct {
		SignedOut, InboxClosed bool
	}{r.URL.Query().Has("signed_out"), r.URL.Query().Has("closed")})
}

// withTimeout bounds a page's API work.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 20*time.Second)
}
