package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/deiops/deiops/services/portal/apiclient"
)

// inboxCredentials is what the sealed inbox cookie holds while an
// anonymous reporter's inbox is open. It is never stored server-side,
// never put in a URL and never logged; it expires after the idle time
// (every page of the inbox re-seals it with a new expiry) or when the
// reporter closes the inbox.
type inboxCredentials struct {
	Key    string `json:"k"`
	Secret string `json:"s"`
}

// casePage is the reporter's view of a case, anonymous or named.
type casePage struct {
	Case      apiclient.ReporterView
	Anonymous bool
	// Action is where this case's forms post ("/inbox" or "/my/cases/{id}").
	Action       string
	MessageToken string
	CheckinToken string
	Pending      []apiclient.Checkin
	Sent         bool
	Error        string
	Draft        string
	Stage        string
}

// stages maps the API status to what the reporter reads about it.
func stageOf(status string) string {
	switch status {
	case "submitted", "triaged", "assigned", "acknowledged", "in_progress", "resolved", "closed":
		return status
	}
	return "unknown"
}

func (h *Handler) casePage(c *call, v apiclient.ReporterView, anonymous bool, action, binding string) casePage {
	p := casePage{Case: v, Anonymous: anonymous, Action: action, Stage: stageOf(v.Status),
		MessageToken: h.o.Forms.Issue("message", binding), CheckinToken: h.o.Forms.Issue("checkin", binding)}
	for _, k := range v.Checkins {
		if !k.Answered {
			p.Pending = append(p.Pending, k)
		}
	}
	return p
}

func (h *Handler) inboxBinding(key string) string {
	return "k:" + h.o.Hasher.Hash("portal-inbox-binding", strings.ToUpper(strings.TrimSpace(key)))
}

type inboxOpenPage struct {
	Token, Key, Error string
}

func (h *Handler) inboxOpen(w http.ResponseWriter, r *http.Request, c *call, status int, key, msg string) {
	h.render(w, r, c, status, "inbox_open", c.L.T("inbox.open.title"), "/inbox",
		inboxOpenPage{Token: h.o.Forms.Issue("inbox-open", ""), Key: key, Error: msg})
}

// inboxPage shows the open inbox, or the form to open it.
func (h *Handler) inboxPage(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	var cred inboxCredentials
	if err := h.inbox.Get(r, &cred); err != nil {
		h.inboxOpen(w, r, c, http.StatusOK, "", "")
		return
	}
	who := c.anonymous()
	who.CaseKey, who.CaseSecret = cred.Key, cred.Secret
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	v, err := h.o.API.AnonymousCase(ctx, who)
	if apiclient.StatusOf(err) == http.StatusUnauthorized {
		h.inbox.Clear(w)
		h.inboxOpen(w, r, c, http.StatusOK, "", c.L.T("inbox.open.wrong"))
		return
	}
	if err != nil {
		h.apiFailed(w, r, c, "getAnonymousCase", err)
		return
	}
	// Activity restarts the idle clock.
	if err := h.inbox.Set(w, cred); err != nil {
		h.o.Logger.ErrorContext(r.Context(), "portal inbox cookie", "error", err)
	}
	p := h.casePage(c, v, true, "/inbox", h.inboxBinding(cred.Key))
	p.Sent = r.URL.Query().Has("sent")
	h.render(w, r, c, http.StatusOK, "inbox", c.L.T("inbox.title"), "/inbox", p)
}

// openInbox checks the key and secret with the API and opens the inbox.
func (h *Handler) openInbox(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if _, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "inbox-open", ""); !ok {
		h.forbidden(w, r, c)
		return
	}
	cred := inboxCredentials{Key: strings.TrimSpace(r.PostFormValue("case_key")), Secret: strings.TrimSpace(r.PostFormValue("secret"))}
	if cred.Key == "" || cred.Secret == "" || len(cred.Key) > 64 || len(cred.Secret) > 256 {
		h.inboxOpen(w, r, c, http.StatusUnprocessableEntity, cred.Key, c.L.T("inbox.open.missing"))
		return
	}
	who := c.anonymous()
	who.CaseKey, who.CaseSecret = cred.Key, cred.Secret
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	_, err := h.o.API.AnonymousCase(ctx, who)
	var p *apiclient.Problem
	switch {
	case err == nil:
	case errors.As(err, &p) && p.Status == http.StatusUnauthorized:
		h.inboxOpen(w, r, c, http.StatusUnauthorized, cred.Key, c.L.T("inbox.open.wrong"))
		return
	case errors.As(err, &p) && p.Status == http.StatusTooManyRequests:
		minutes := max(1, int(p.RetryAfter.Minutes()+0.999))
		h.inboxOpen(w, r, c, http.StatusTooManyRequests, cred.Key, c.L.T("inbox.open.blocked", minutes))
		return
	default:
		h.apiFailed(w, r, c, "getAnonymousCase", err)
		return
	}
	if err := h.inbox.Set(w, cred); err != nil {
		h.o.Logger.ErrorContext(r.Context(), "portal inbox cookie", "error", err)
		h.errorPage(w, r, c, http.StatusInternalServerError, "error.unavailable.title", "error.unavailable.body")
		return
	}
	http.Redirect(w, r, h.local("/inbox", c), http.StatusSeeOther)
}

// local is a redirect target in the request's chosen language.
func (h *Handler) local(p string, c *call) string {
	return view{L: c.L}.Href(p)
}

// withInbox runs fn for a post of the open inbox, checking the form
// token bound to it.
func (h *Handler) withInbox(w http.ResponseWriter, r *http.Request, purpose string, fn func(c *call, who apiclient.Caller, nonce string)) {
	c := h.begin(w, r)
	var cred inboxCredentials
	if err := h.inbox.Get(r, &cred); err != nil {
		// The inbox closed itself (idle) while the page was open.
		h.inboxOpen(w, r, c, http.StatusUnauthorized, "", c.L.T("inbox.open.expired"))
		return
	}
	nonce, ok := h.o.Forms.Check(r.PostFormValue("csrf"), purpose, h.inboxBinding(cred.Key))
	if !ok {
		h.forbidden(w, r, c)
		return
	}
	who := c.anonymous()
	who.CaseKey, who.CaseSecret = cred.Key, cred.Secret
	who.IdempotencyKey = h.o.Forms.IdempotencyKey(purpose, nonce)
	fn(c, who, nonce)
}

// maxMessageRunes matches what the API accepts for a message.
const maxMessageRunes = 20000

func (h *Handler) inboxMessage(w http.ResponseWriter, r *http.Request) {
	h.withInbox(w, r, "message", func(c *call, who apiclient.Caller, _ string) {
		text := strings.TrimSpace(r.PostFormValue("text"))
		ctx, cancel := withTimeout(r.Context())
		defer cancel()
		if text == "" || utf8.RuneCountInString(text) > maxMessageRunes {
			v, err := h.o.API.AnonymousCase(ctx, who)
			if err != nil {
				h.apiFailed(w, r, c, "getAnonymousCase", err)
				return
			}
			p := h.casePage(c, v, true, "/inbox", h.inboxBinding(who.CaseKey))
			p.Error, p.Draft = c.L.T(map[bool]string{true: "err.required", false: "err.too_long"}[text == ""]), text
			h.render(w, r, c, http.StatusUnprocessableEntity, "inbox", c.L.T("inbox.title"), "", p)
			return
		}
		if _, err := h.o.API.AnonymousMessage(ctx, who, text); err != nil {
			h.apiFailed(w, r, c, "postAnonymousCaseMessage", err)
			return
		}
		http.Redirect(w, r, h.local("/inbox?sent=1", c), http.StatusSeeOther)
	})
}

func (h *Handler) inboxCheckin(w http.ResponseWriter, r *http.Request) {
	h.withInbox(w, r, "checkin", func(c *call, who apiclient.Caller, _ string) {
		n, err := strconv.Atoi(r.PathValue("number"))
		answer := r.PostFormValue("retaliation")
		if err != nil || n < 1 || (answer != "yes" && answer != "no") {
			http.Redirect(w, r, h.local("/inbox", c), http.StatusSeeOther)
			return
		}
		ctx, cancel := withTimeout(r.Context())
		defer cancel()
		if _, err := h.o.API.AnonymousCheckin(ctx, who, n, answer == "yes"); err != nil && apiclient.StatusOf(err) != http.StatusConflict {
			h.apiFailed(w, r, c, "answerAnonymousCheckin", err)
			return
		}
		http.Redirect(w, r, h.local("/inbox", c), http.StatusSeeOther)
	})
}

func (h *Handler) closeInbox(w http.ResponseWriter, r *http.Request) {
	h.withInbox(w, r, "message", func(c *call, _ apiclient.Caller, _ string) {
		h.inbox.Clear(w)
		http.Redirect(w, r, h.local("/?closed=1", c), http.StatusSeeOther)
	})
}

// requireSession sends people who are not signed in to sign in first.
func (h *Handler) requireSession(w http.ResponseWriter, r *http.Request, c *call) bool {
	if c.sess != nil {
		return true
	}
	http.Redirect(w, r, "/auth/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	return false
}

type myCasesPage struct {
	Cases []apiclient.CaseSummary
}

func (h *Handler) myCases(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	list, err := h.o.API.MyCases(ctx, c.caller())
	if err != nil {
		h.apiFailed(w, r, c, "listMyCases", err)
		return
	}
	h.render(w, r, c, http.StatusOK, "my_cases", c.L.T("mycases.title"), "/my/cases", myCasesPage{Cases: list})
}

func (h *Handler) myCase(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	id := r.PathValue("id")
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	v, err := h.o.API.MyCase(ctx, c.caller(), id)
	if err != nil {
		h.apiFailed(w, r, c, "getMyCase", err)
		return
	}
	p := h.casePage(c, v, false, "/my/cases/"+url.PathEscape(id), h.binding(c))
	p.Sent = r.URL.Query().Has("sent")
	h.render(w, r, c, http.StatusOK, "my_case", c.L.T("mycase.title"), "/my/cases/"+url.PathEscape(id), p)
}

func (h *Handler) myCaseMessage(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	nonce, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "message", h.binding(c))
	if !ok {
		h.forbidden(w, r, c)
		return
	}
	id := r.PathValue("id")
	who := c.caller()
	who.IdempotencyKey = h.o.Forms.IdempotencyKey("message", nonce)
	text := strings.TrimSpace(r.PostFormValue("text"))
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	if text == "" || utf8.RuneCountInString(text) > maxMessageRunes {
		v, err := h.o.API.MyCase(ctx, c.caller(), id)
		if err != nil {
			h.apiFailed(w, r, c, "getMyCase", err)
			return
		}
		p := h.casePage(c, v, false, "/my/cases/"+url.PathEscape(id), h.binding(c))
		p.Error, p.Draft = c.L.T(map[bool]string{true: "err.required", false: "err.too_long"}[text == ""]), text
		h.render(w, r, c, http.StatusUnprocessableEntity, "my_case", c.L.T("mycase.title"), "", p)
		return
	}
	if _, err := h.o.API.MyCaseMessage(ctx, who, id, text); err != nil {
		h.apiFailed(w, r, c, "postMyCaseMessage", err)
		return
	}
	http.Redirect(w, r, "/my/cases/"+url.PathEscape(id)+"?sent=1", http.StatusSeeOther)
}

func (h *Handler) myCaseCheckin(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	nonce, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "checkin", h.binding(c))
	if !ok {
		h.forbidden(w, r, c)
		return
	}
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("number"))
	answer := r.PostFormValue("retaliation")
	back := "/my/cases/" + url.PathEscape(id)
	if err != nil || n < 1 || (answer != "yes" && answer != "no") {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	who := c.caller()
	who.IdempotencyKey = h.o.Forms.IdempotencyKey("checkin", nonce)
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	if _, err := h.o.API.MyCaseCheckin(ctx, who, id, n, answer == "yes"); err != nil && apiclient.StatusOf(err) != http.StatusConflict {
		h.apiFailed(w, r, c, "answerMyCheckin", err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
