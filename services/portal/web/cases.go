package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/services/portal/apiclient"
)

// The handlers' pages: the queue (/cases) and a case's workspace
// (/cases/{id}). Everything on them comes from the API as the signed-in
// person, who sees only the cases they are on; the workspace offers only
// the actions the API lists for them now, so a button the service would
// refuse is never shown.

// openStates are the states of a case still being worked.
var openStates = []string{"submitted", "triaged", "assigned", "acknowledged", "in_progress"}

var (
	caseStates = append(slices.Clone(openStates), "resolved", "closed")
	severities = []string{"low", "medium", "high", "critical"}
	// Outcome and reopening codes the workspace offers; the API accepts any code.
	resolutions   = []string{"substantiated", "not_substantiated", "resolved_informally", "withdrawn"}
	reopenReasons = []string{"new_information", "retaliation_reported", "reporter_request"}
	queueSorts    = []string{"opened", "-opened", "due"}
)

// handlerRoles may be on cases; the menu shows them the queue.
var handlerRoles = []caller.Role{caller.DEIOfficer, caller.Resolver, caller.ProgramDirector, caller.DepartmentLead, caller.Supervisor, caller.Admin}

// handles reports whether a signed-in person's roles suggest they work
// cases (the API decides what they see; this only shapes the menu).
func handles(roles []string) bool { return holdsAny(roles, handlerRoles) }

// holdsAny reports whether roles (a session's role claim) include one of want.
func holdsAny(roles []string, want []caller.Role) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(want, caller.Role(r)) })
}

type queueRow struct {
	apiclient.QueueCase
	DaysOpen int
}

type queuePage struct {
	Rows                        []queueRow
	Total                       int
	State, Category, Department string
	Sort                        string
	Overdue                     bool
	Next, First                 string // links
	States, Categories, Sorts   []string
	Error                       string
	Now                         time.Time
	Recused                     bool
}

// queue is the handlers' queue: filters and sort travel in the URL (a GET
// form, so it works without JavaScript and can be bookmarked).
func (h *Handler) queue(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	in := r.URL.Query()
	p := queuePage{State: in.Get("state"), Category: in.Get("category"), Department: strings.TrimSpace(in.Get("department")),
		Sort: in.Get("sort"), Overdue: in.Get("overdue") == "true", States: caseStates, Categories: categories, Sorts: queueSorts,
		Now: h.o.Now(), Recused: in.Get("done") == "recuse"}
	q := url.Values{}
	switch {
	case p.State == "all":
	case slices.Contains(caseStates, p.State):
		q.Set("state", p.State)
	default:
		p.State = "open"
		q.Set("state", strings.Join(openStates, ","))
	}
	if slices.Contains(categories, p.Category) {
		q.Set("category", p.Category)
	} else {
		p.Category = ""
	}
	if p.Department != "" && departmentCode.MatchString(p.Department) {
		q.Set("department", p.Department)
	} else {
		p.Department = ""
	}
	if slices.Contains(queueSorts, p.Sort) {
		q.Set("sort", p.Sort)
	} else {
		p.Sort = "due"
		q.Set("sort", "due")
	}
	if p.Overdue {
		q.Set("overdue", "true")
	}
	q.Set("limit", "50")
	// The filters without the cursor: the link back to the first page.
	filters := url.Values{"state": {p.State}, "sort": {p.Sort}}
	for k, v := range map[string]string{"category": p.Category, "department": p.Department} {
		if v != "" {
			filters.Set(k, v)
		}
	}
	if p.Overdue {
		filters.Set("overdue", "true")
	}
	if after := in.Get("after"); after != "" {
		q.Set("after", after)
		p.First = "/cases?" + filters.Encode()
	}
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	list, err := h.o.API.Cases(ctx, c.caller(), q)
	if apiclient.StatusOf(err) == http.StatusUnprocessableEntity {
		// A stale or edited cursor: start again from the first page.
		http.Redirect(w, r, "/cases?"+filters.Encode(), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.apiFailed(w, r, c, "listCases", err)
		return
	}
	p.Total = list.Total
	for _, k := range list.Cases {
		p.Rows = append(p.Rows, queueRow{QueueCase: k, DaysOpen: int(p.Now.Sub(k.OpenedAt).Hours() / 24)})
	}
	if list.Next != "" {
		next := url.Values{}
		for k, v := range filters {
			next[k] = v
		}
		next.Set("after", list.Next)
		p.Next = "/cases?" + next.Encode()
	}
	h.render(w, r, c, http.StatusOK, "cases", c.L.T("queue.title"), "/cases?"+filters.Encode(), p)
}

// workspacePage is the workspace.
type workspacePage struct {
	Case       apiclient.HandlerCase
	Notes      []apiclient.Note
	Escalation *apiclient.Escalation
	Audit      []apiclient.AuditEntry
	Assignees  []apiclient.Assignee
	Can        map[string]bool
	Token      string
	// Done names the action just taken; Error and ErrorFor a refusal shown
	// next to its form; Draft keeps what was typed.
	Done, Error, ErrorFor, Draft string
	Categories, Severities       []string
	Resolutions, ReopenReasons   []string
	// EscalationDown says the escalation's timeline could not be read now.
	EscalationDown bool
}

func (h *Handler) workspace(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	h.renderCase(w, r, c, http.StatusOK, r.PathValue("id"), workspacePage{Done: r.URL.Query().Get("done")})
}

// renderCase reads everything the workspace shows and renders it with p's
// notice or error.
func (h *Handler) renderCase(w http.ResponseWriter, r *http.Request, c *call, status int, id string, p workspacePage) {
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	who := c.caller()
	k, err := h.o.API.Case(ctx, who, id)
	if err != nil {
		h.apiFailed(w, r, c, "getCase", err)
		return
	}
	p.Case, p.Can = k, map[string]bool{}
	for _, a := range k.Actions {
		p.Can[a] = true
	}
	if p.Notes, err = h.o.API.Notes(ctx, who, id); err != nil {
		h.apiFailed(w, r, c, "listCaseNotes", err)
		return
	}
	if e, err := h.o.API.Escalation(ctx, who, id); err == nil {
		p.Escalation = &e
	} else {
		// Temporal may be catching up: the rest of the case still works.
		p.EscalationDown = true
		h.o.Logger.InfoContext(r.Context(), "portal: escalation timeline unavailable", "status", apiclient.StatusOf(err))
	}
	if p.Can["legal-hold"] { // DEI officers: the audit trail too
		if p.Audit, err = h.o.API.Audit(ctx, who, id); err != nil && apiclient.StatusOf(err) != http.StatusForbidden {
			h.apiFailed(w, r, c, "getCaseAudit", err)
			return
		}
	}
	if p.Can["assign"] {
		if p.Assignees, err = h.o.API.Assignees(ctx, who, id); err != nil {
			h.apiFailed(w, r, c, "listCaseAssignees", err)
			return
		}
	}
	p.Token = h.o.Forms.Issue("case-action", h.caseBinding(c, id))
	p.Categories, p.Severities, p.Resolutions, p.ReopenReasons = categories, severities, resolutions, reopenReasons
	h.render(w, r, c, status, "case", c.L.T("workspace.title"), "/cases/"+url.PathEscape(id), p)
}

// caseBinding ties a workspace form to the session and the case.
func (h *Handler) caseBinding(c *call, id string) string { return h.binding(c) + "|case:" + id }

// caseActions are the workspace's forms, by the API's action name.
var caseActions = map[string]func(r *http.Request) (body any, field string){
	"triage": func(r *http.Request) (any, string) {
		return map[string]string{"category": r.PostFormValue("category"), "severity": r.PostFormValue("severity"),
			"route": strings.TrimSpace(r.PostFormValue("route"))}, ""
	},
	"assign": func(r *http.Request) (any, string) {
		return map[string]string{"assignee_id": r.PostFormValue("assignee_id")}, ""
	},
	"acknowledge": noBody, "start": noBody, "close": noBody, "recuse": noBody,
	"resolve": func(r *http.Request) (any, string) {
		return map[string]string{"outcome": r.PostFormValue("outcome")}, ""
	},
	"reopen": func(r *http.Request) (any, string) { return map[string]string{"reason": r.PostFormValue("reason")}, "" },
	"notes":  textBody, "messages": textBody,
	"legal-hold": func(r *http.Request) (any, string) {
		return map[string]bool{"on": r.PostFormValue("on") == "true"}, ""
	},
}

func noBody(*http.Request) (any, string) { return nil, "" }

// textBody is a note or a message; "" in field means it is fit to send.
func textBody(r *http.Request) (any, string) {
	text := strings.TrimSpace(r.PostFormValue("text"))
	switch {
	case text == "":
		return nil, "err.required"
	case utf8.RuneCountInString(text) > maxMessageRunes:
		return nil, "err.too_long"
	}
	return map[string]string{"text": text}, ""
}

// act takes one workspace action through the API and comes back to the
// case: on success with a notice, on a refusal with the reason next to the
// form and what was typed kept.
func (h *Handler) act(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	build, known := caseActions[action]
	nonce, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "case-action", h.caseBinding(c, id))
	if !ok {
		h.forbidden(w, r, c)
		return
	}
	if !known {
		h.notFound(w, r, c)
		return
	}
	body, problem := build(r)
	p := workspacePage{ErrorFor: action, Draft: r.PostFormValue("text")}
	if problem != "" {
		p.Error = c.L.T(problem)
		h.renderCase(w, r, c, http.StatusUnprocessableEntity, id, p)
		return
	}
	who := c.caller()
	who.IdempotencyKey = h.o.Forms.IdempotencyKey("case-action:"+action, nonce)
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	err := h.o.API.Act(ctx, who, id, action, body)
	switch status := apiclient.StatusOf(err); {
	case err == nil && action == "recuse":
		// Whoever recused is no longer on the case: back to their queue.
		http.Redirect(w, r, "/cases?done=recuse", http.StatusSeeOther)
	case err == nil:
		http.Redirect(w, r, "/cases/"+url.PathEscape(id)+"?done="+url.QueryEscape(action)+"#result", http.StatusSeeOther)
	case status == http.StatusConflict:
		p.Error = c.L.T("workspace.error.conflict")
		h.renderCase(w, r, c, http.StatusConflict, id, p)
	case status == http.StatusUnprocessableEntity || status == http.StatusForbidden:
		p.Error = c.L.T(map[bool]string{true: "workspace.error.invalid", false: "workspace.error.forbidden"}[status == http.StatusUnprocessableEntity])
		h.renderCase(w, r, c, status, id, p)
	default:
		h.apiFailed(w, r, c, "caseAction", err)
	}
}
