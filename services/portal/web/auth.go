package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/deiops/deiops/services/portal/apiclient"
	"github.com/deiops/deiops/services/portal/session"
	"github.com/deiops/deiops/services/portal/signin"
)

// departmentCode is the API's id syntax for departments.
var departmentCode = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

type guidanceIndexPage struct {
	Error string
	Value string
}

// guidanceIndex is the department chooser: a poster's department code,
// or the hospital-wide guidance.
func (h *Handler) guidanceIndex(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if d := strings.TrimSpace(r.URL.Query().Get("department")); d != "" {
		if departmentCode.MatchString(d) {
			http.Redirect(w, r, h.local("/guidance/"+url.PathEscape(d), c), http.StatusSeeOther)
			return
		}
		h.render(w, r, c, http.StatusUnprocessableEntity, "guidance_index", c.L.T("guidance.index.title"), "/guidance",
			guidanceIndexPage{Error: c.L.T("err.field.department"), Value: d})
		return
	}
	h.render(w, r, c, http.StatusOK, "guidance_index", c.L.T("guidance.index.title"), "/guidance", guidanceIndexPage{})
}

type guidancePage struct {
	Department string
	Guidance   *apiclient.Guidance
	// SignInToRead is set when the API shows guidance only to signed-in
	// people and this person is not: the page shows the portal's general
	// guidance instead.
	SignInToRead bool
}

func (h *Handler) guidance(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	dept := r.PathValue("department")
	if !departmentCode.MatchString(dept) {
		h.notFound(w, r, c)
		return
	}
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	g, err := h.o.API.Guidance(ctx, c.caller(), dept)
	p := guidancePage{Department: dept}
	switch status := apiclient.StatusOf(err); {
	case err == nil:
		p.Guidance = &g
	case status == http.StatusUnauthorized && c.sess == nil:
		p.SignInToRead = true
	case status == http.StatusUnprocessableEntity:
		h.notFound(w, r, c)
		return
	default:
		h.apiFailed(w, r, c, "getGuidance", err)
		return
	}
	h.render(w, r, c, http.StatusOK, "guidance", c.L.T("guidance.title"), "/guidance/"+url.PathEscape(dept), p)
}

// safeNext keeps a post-sign-in target on this site: a path, never a
// scheme, a host or a protocol-relative URL.
func safeNext(next string) string {
	// Browsers drop tabs and newlines and read \ as /, so "/\t/evil" would
	// leave the site: no control character and no backslash at all.
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return "/my/cases"
	}
	return next
}

// login sends the person to the identity provider.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if h.o.SignIn == nil {
		h.errorPage(w, r, c, http.StatusNotFound, "error.signin_off.title", "error.signin_off.body")
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if c.sess != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	to, pending, err := h.o.SignIn.Begin(r.Context(), next, c.L.Lang)
	if err != nil {
		h.o.Logger.WarnContext(r.Context(), "portal sign-in unavailable", "error", err)
		h.errorPage(w, r, c, http.StatusBadGateway, "error.signin.title", "error.signin.body")
		return
	}
	if err := h.signinState.Set(w, pending); err != nil {
		h.errorPage(w, r, c, http.StatusInternalServerError, "error.signin.title", "error.signin.body")
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// callback finishes the sign-in and starts a session.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if h.o.SignIn == nil {
		h.notFound(w, r, c)
		return
	}
	var pending signin.Pending
	if err := h.signinState.Get(r, &pending); err != nil {
		h.errorPage(w, r, c, http.StatusBadRequest, "error.signin.title", "error.signin.expired")
		return
	}
	h.signinState.Clear(w)
	id, err := h.o.SignIn.Finish(r.Context(), r.URL.Query(), pending)
	if err != nil {
		if errors.Is(err, signin.ErrDenied) {
			h.o.Logger.InfoContext(r.Context(), "portal sign-in refused", "error", err)
		} else {
			h.o.Logger.WarnContext(r.Context(), "portal sign-in failed", "error", err)
		}
		h.errorPage(w, r, c, http.StatusBadRequest, "error.signin.title", "error.signin.body")
		return
	}
	if c.sess != nil {
		_ = h.o.Sessions.End(r.Context(), w, r)
	}
	d := session.Data{Subject: id.Subject, Name: id.Name, Roles: id.Roles, AccessToken: id.AccessToken,
		IDToken: id.IDToken, TokenExpiry: id.Expiry}
	if c.L.Explicit {
		d.Lang = c.L.Lang
	}
	if err := h.o.Sessions.Start(r.Context(), w, d); err != nil {
		h.o.Logger.ErrorContext(r.Context(), "portal session not saved", "error", err)
		h.errorPage(w, r, c, http.StatusServiceUnavailable, "error.signin.title", "error.signin.body")
		return
	}
	http.Redirect(w, r, safeNext(pending.Next), http.StatusSeeOther)
}

// logout ends the portal session and, when the provider offers it, the
// provider's session too.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if c.sess == nil {
		http.Redirect(w, r, "/?signed_out=1", http.StatusSeeOther)
		return
	}
	if _, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "logout", h.binding(c)); !ok {
		h.forbidden(w, r, c)
		return
	}
	idToken := c.sess.Data.IDToken
	if err := h.o.Sessions.End(r.Context(), w, r); err != nil {
		h.o.Logger.WarnContext(r.Context(), "portal session not deleted", "error", err)
	}
	back := strings.TrimSuffix(h.o.PublicURL.String(), "/") + "/?signed_out=1"
	if h.o.SignIn != nil {
		if to := h.o.SignIn.LogoutURL(r.Context(), idToken, back); to != "" {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
	}
	http.Redirect(w, r, "/?signed_out=1", http.StatusSeeOther)
}
