package ports

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/deiops/deiops/workflows/escalation"
)

// Anonymous reporters present their credentials in these headers (never
// in the URL, which proxies log).
const (
	HeaderCaseKey    = "Deiops-Case-Key"
	HeaderCaseSecret = "Deiops-Case-Secret"
)

// HTTP is the resolution service's HTTP API.
type HTTP struct {
	App        *app.Service
	Temporal   client.Client
	Candidates app.Candidates
	Guesses    GuessLimiter
	ClientIP   func(*http.Request) string
	Logger     *slog.Logger
}

// Routes registers the API.
func (h *HTTP) Routes(rt *httpapi.Router) {
	reports := []string{"reports"}
	cases := []string{"cases"}
	creds := "Anonymous reporters send the case key and secret in the " + HeaderCaseKey + " and " + HeaderCaseSecret +
		" headers. A wrong key and a wrong secret are answered alike (401), and attempts are rate-limited per client (429)."

	rt.Serve(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/reports", ID: "submitReport", Tags: reports, Public: true, Restricted: true, Idempotent: true,
		Summary: "Submit a speak-up report, named (with a token) or anonymous",
		Description: "A named report needs a bearer token; an anonymous report (anonymous: true) keeps no identity, " +
			"even when a token is sent, and answers with a case key and a secret shown only once. " +
			"The escalation starts asynchronously; intake never waits for it.",
		Responses: map[int]any{http.StatusUnauthorized: nil, http.StatusUnprocessableEntity: nil, http.StatusRequestEntityTooLarge: nil},
	}, httpapi.JSON(http.StatusCreated, h.submit))

	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/my/cases", ID: "listMyCases", Tags: reports,
		Summary: "The signed-in reporter's own named reports",
	}, httpapi.Call(http.StatusOK, h.myCases))
	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/my/cases/{id}", ID: "getMyCase", Tags: reports, Restricted: true,
		Summary:   "A named reporter's view of their case: status, timeline, messages, check-ins",
		Responses: map[int]any{http.StatusNotFound: nil},
	}, httpapi.Call(http.StatusOK, h.reporterCase))
	rt.Serve(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/my/cases/{id}/messages", ID: "postMyCaseMessage", Tags: reports, Restricted: true, Idempotent: true,
		Summary:   "Send a message to the case's handlers",
		Responses: map[int]any{http.StatusNotFound: nil, http.StatusUnprocessableEntity: nil},
	}, httpapi.JSON(http.StatusCreated, h.reporterMessage))
	rt.Serve(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/my/cases/{id}/checkins/{number}", ID: "answerMyCheckin", Tags: reports, Restricted: true,
		Summary:   "Answer a retaliation check-in",
		Responses: map[int]any{http.StatusNotFound: nil, http.StatusConflict: nil},
	}, httpapi.JSON(http.StatusOK, h.answerCheckin))

	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/anonymous/case", ID: "getAnonymousCase", Tags: reports, Public: true, Restricted: true,
		Summary: "An anonymous reporter's view of their case", Description: creds,
		Responses: map[int]any{http.StatusUnauthorized: nil, http.StatusTooManyRequests: nil},
	}, httpapi.Call(http.StatusOK, h.reporterCase))
	rt.Serve(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/anonymous/case/messages", ID: "postAnonymousCaseMessage", Tags: reports, Public: true, Restricted: true, Idempotent: true,
		Summary: "Send a message to the case's handlers (anonymous)", Description: creds,
		Responses: map[int]any{http.StatusUnauthorized: nil, http.StatusTooManyRequests: nil},
	}, httpapi.JSON(http.StatusCreated, h.reporterMessage))
	rt.Serve(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/anonymous/case/checkins/{number}", ID: "answerAnonymousCheckin", Tags: reports, Public: true, Restricted: true,
		Summary: "Answer a retaliation check-in (anonymous)", Description: creds,
		Responses: map[int]any{http.StatusUnauthorized: nil, http.StatusConflict: nil, http.StatusTooManyRequests: nil},
	}, httpapi.JSON(http.StatusOK, h.answerCheckin))

	access := "Only people on the case see it: DEI officers, its assignee, and whoever its escalation notified — " +
		"never anyone named in the report, anyone in a named person's supervisory chain, anyone who recused, or the reporter. " +
		"Everyone else gets 404, as for a case that does not exist. Every read and write is audited."
	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases", ID: "listCases", Tags: cases,
		Summary: "The queue: one page of the cases the caller is on (no content), with each one's escalation clock",
		Description: "Query: state (repeatable or comma-separated: submitted, triaged, assigned, acknowledged, in_progress, " +
			"resolved, closed), category, department, overdue=true (a deadline of the department's escalation policy has " +
			"passed and its condition still holds), sort (opened — oldest first, the default —, -opened, or due — the " +
			"nearest clock first), limit (1..200, default 50) and after (the previous page's next). total counts every " +
			"case the query selects. Clocks follow the department's current policy. " + access,
		Responses: map[int]any{http.StatusUnprocessableEntity: nil},
	}, httpapi.Call(http.StatusOK, h.list))
	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}", ID: "getCase", Tags: cases, Restricted: true,
		Summary: "A case with its report, conversation, check-ins and timeline", Description: access,
		Responses: map[int]any{http.StatusNotFound: nil},
	}, httpapi.Call(http.StatusOK, h.get))

	// Every action decodes its own fresh body (httpapi.JSON), so nothing one
	// caller sent can reach another caller's action.
	actions := []struct {
		path, id, summary string
		serve             httpapi.Endpoint
	}{
		{"triage", "triageCase", "Triage: set category, severity and route", actionWith(h, func(t TriageRequest) app.Action {
			return app.Action{Op: app.OpTriage, Category: domain.Category(t.Category), Severity: domain.Severity(t.Severity), Route: t.Route}
		})},
		{"assign", "assignCase", "Assign (or reassign) a handler; without assignee_id the routing rules pick one", actionWith(h, func(a AssignRequest) app.Action {
			return app.Action{Op: app.OpAssign, Assignee: a.AssigneeID}
		})},
		{"acknowledge", "acknowledgeCase", "Acknowledge the report to the reporter (stops the acknowledgment clock)", actionOnly(h, app.OpAcknowledge)},
		{"start", "startCase", "Start work on an acknowledged case", actionOnly(h, app.OpStart)},
		{"resolve", "resolveCase", "Resolve with an outcome code", actionWith(h, func(r ResolveRequest) app.Action {
			return app.Action{Op: app.OpResolve, Outcome: r.Outcome}
		})},
		{"close", "closeCase", "Close a resolved case", actionOnly(h, app.OpClose)},
		{"reopen", "reopenCase", "Reopen a resolved or closed case", actionWith(h, func(r ReopenRequest) app.Action {
			return app.Action{Op: app.OpReopen, Reason: r.Reason}
		})},
		{"recuse", "recuseFromCase", "Recuse yourself from a case you are assigned (for good)", actionOnly(h, app.OpRecuse)},
		{"notes", "addCaseNote", "Add an internal note (never shown to the reporter)", actionWith(h, func(t TextRequest) app.Action {
			return app.Action{Op: app.OpAddNote, Text: domain.Restrict(t.Text)}
		})},
		{"messages", "postCaseMessage", "Send a message to the reporter", actionWith(h, func(t TextRequest) app.Action {
			return app.Action{Op: app.OpMessage, Text: domain.Restrict(t.Text)}
		})},
	}
	for _, a := range actions {
		rt.Serve(httpapi.Operation{
			Method: http.MethodPost, Path: "/v1/cases/{id}/" + a.path, ID: a.id, Tags: cases, Restricted: true,
			// Notes and messages are entries, made once per Idempotency-Key.
			Idempotent: a.path == "notes" || a.path == "messages",
			Summary:    a.summary, Description: "409 with the current state when the case is not in a state that allows it. " + access,
			Responses: map[int]any{http.StatusForbidden: nil, http.StatusNotFound: nil,
				http.StatusConflict: nil, http.StatusUnprocessableEntity: nil},
		}, a.serve)
	}
	rt.Serve(httpapi.Operation{
		Method: http.MethodPut, Path: "/v1/cases/{id}/legal-hold", ID: "setCaseLegalHold", Tags: cases, Restricted: true,
		Summary:   "Set or clear the legal hold (DEI officers); a held case is never deleted by retention",
		Responses: map[int]any{http.StatusForbidden: nil, http.StatusNotFound: nil},
	}, actionWith(h, func(l LegalHoldRequest) app.Action { return app.Action{Op: app.OpLegalHold, Hold: l.On} }))

	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}/assignees", ID: "listCaseAssignees", Tags: cases, Restricted: true,
		Summary: "Who the caller may assign the case to (routing candidates without conflicts of interest)",
		Description: "The people the department's escalation policy routes to, in policy order, less anyone named in the " +
			"report or in a named person's supervisory chain, anyone who recused and the current assignee. Only for " +
			"callers who may assign the case.",
		Responses: map[int]any{http.StatusForbidden: nil, http.StatusNotFound: nil},
	}, httpapi.Call(http.StatusOK, h.assignees))
	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}/notes", ID: "listCaseNotes", Tags: cases, Restricted: true,
		Summary: "Internal notes of a case", Responses: map[int]any{http.StatusNotFound: nil},
	}, httpapi.Call(http.StatusOK, h.notes))
	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}/escalation", ID: "getCaseEscalation", Tags: cases,
		Summary:   "The case's escalation: state and timeline of levels, notices, signals and check-ins (workflow queries)",
		Responses: map[int]any{http.StatusNotFound: nil, http.StatusServiceUnavailable: nil},
	}, httpapi.Call(http.StatusOK, h.escalation))
	rt.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}/audit", ID: "getCaseAudit", Tags: cases,
		Summary:   "Audit trail of every read and write of a case: who, when, what (DEI officers)",
		Roles:     []caller.Role{caller.DEIOfficer},
		Responses: map[int]any{http.StatusNotFound: nil},
	}, httpapi.Call(http.StatusOK, h.auditTrail))
}

// EscalationView answers GET /v1/cases/{id}/escalation.
type EscalationView struct {
	State    escalation.State  `json:"state"`
	Timeline []escalation.Step `json:"timeline"`
}

func (h *HTTP) submit(r *http.Request, req ReportRequest) (ReportReceipt, error) {
	reporter := ""
	if !req.Anonymous {
		a := auth.ActorOf(r)
		if a.Anonymous() {
			return ReportReceipt{}, fault.New(fault.Unauthenticated, "a named report needs a bearer token; set anonymous to report without one")
		}
		reporter = a.ID
	}
	rc, err := h.App.Submit(r.Context(), req.input(reporter), once(r))
	if err != nil {
		return ReportReceipt{}, err
	}
	next := "/v1/my/cases/" + rc.CaseID
	if req.Anonymous {
		next = "/v1/anonymous/case"
	}
	return ReportReceipt{CaseID: rc.CaseID, Status: string(domain.StateSubmitted), CaseKey: rc.Key, Secret: rc.Secret, Next: next}, nil
}

func (h *HTTP) myCases(r *http.Request) (MyCaseList, error) {
	return MyCaseList{Cases: h.App.MyCases(r.Context(), auth.ActorOf(r))}, nil
}

// openAsReporter reads who the reporter is — a token on /v1/my routes, the
// anonymous headers otherwise — and opens their case. Anonymous failures
// are counted per client, and a client that failed too often is refused.
func (h *HTTP) openAsReporter(r *http.Request) (*app.Record, error) {
	rp := app.Reporter{ID: auth.ActorOf(r).ID, CaseID: r.PathValue("id")}
	if rp.CaseID != "" {
		if rp.ID == "" {
			return nil, fault.New(fault.Unauthenticated, "sign in")
		}
		return h.App.OpenAsReporter(r.Context(), rp)
	}
	rp = app.Reporter{Key: r.Header.Get(HeaderCaseKey), Secret: r.Header.Get(HeaderCaseSecret)}
	if h.Guesses != nil {
		if blocked, after := h.Guesses.Blocked(r.Context(), h.client(r)); blocked {
			return nil, fault.TooMany("too many failed attempts; retry after the time in Retry-After", after)
		}
	}
	rec, err := h.App.OpenAsReporter(r.Context(), rp)
	if errors.Is(err, app.ErrBadCredentials) && h.Guesses != nil {
		h.Guesses.Failed(r.Context(), h.client(r))
	}
	return rec, err
}

// client names the caller for guess counting.
func (h *HTTP) client(r *http.Request) string {
	if h.ClientIP != nil {
		return "anon-case:" + h.ClientIP(r)
	}
	return "anon-case:" + httpapi.RemoteIP(r)
}

func (h *HTTP) reporterCase(r *http.Request) (ReporterView, error) {
	rec, err := h.openAsReporter(r)
	if err != nil {
		return ReporterView{}, err
	}
	return reporterView(rec, h.App.Promise(r.Context(), rec.Case)), nil
}

func (h *HTTP) reporterMessage(r *http.Request, req TextRequest) (ReporterView, error) {
	rec, err := h.openAsReporter(r)
	if err != nil {
		return ReporterView{}, err
	}
	if rec, _, err = h.App.ReporterMessage(r.Context(), rec, domain.Restrict(req.Text), once(r)); err != nil {
		return ReporterView{}, err
	}
	return reporterView(rec, h.App.Promise(r.Context(), rec.Case)), nil
}

func (h *HTTP) answerCheckin(r *http.Request, req CheckinAnswer) (ReporterView, error) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n < 1 {
		return ReporterView{}, fault.InvalidFields("bad check-in number", fault.Field{Field: "number", Reason: "must be a positive integer"})
	}
	rec, err := h.openAsReporter(r)
	if err != nil {
		return ReporterView{}, err
	}
	if rec, err = h.App.AnswerCheckin(r.Context(), rec, n, req.Retaliation); err != nil {
		return ReporterView{}, err
	}
	return reporterView(rec, h.App.Promise(r.Context(), rec.Case)), nil
}

func (h *HTTP) list(r *http.Request) (app.CasePage, error) {
	q, err := caseQuery(r.URL.Query())
	if err != nil {
		return app.CasePage{}, err
	}
	return h.App.Queue(r.Context(), auth.ActorOf(r), q)
}

// caseQuery reads GET /v1/cases's parameters; app.CaseQuery.Validate
// judges their values.
func caseQuery(v url.Values) (app.CaseQuery, error) {
	q := app.CaseQuery{Category: v.Get("category"), Department: v.Get("department"), Sort: v.Get("sort"), After: v.Get("after")}
	var bad []fault.Field
	for _, list := range v["state"] {
		for s := range strings.SplitSeq(list, ",") {
			if s = strings.TrimSpace(s); s != "" {
				q.States = append(q.States, domain.State(s))
			}
		}
	}
	n, err := page.Limit(v.Get("limit"))
	if err != nil {
		bad = append(bad, fault.Field{Field: "limit", Reason: err.Error()})
	}
	q.Limit = n
	switch v.Get("overdue") {
	case "", "false":
	case "true":
		q.Overdue = true
	default:
		bad = append(bad, fault.Field{Field: "overdue", Reason: "must be true or false"})
	}
	if len(bad) > 0 {
		return q, fault.InvalidFields("invalid case query", bad...)
	}
	return q, nil
}

// AssigneeList answers GET /v1/cases/{id}/assignees.
type AssigneeList struct {
	Assignees []app.Assignee `json:"assignees"`
}

func (h *HTTP) assignees(r *http.Request) (AssigneeList, error) {
	list, err := h.App.Assignees(r.Context(), auth.ActorOf(r), r.PathValue("id"), h.Candidates)
	return AssigneeList{Assignees: list}, err
}

func (h *HTTP) get(r *http.Request) (CaseView, error) {
	rec, err := h.App.Case(r.Context(), auth.ActorOf(r), r.PathValue("id"))
	if err != nil {
		return CaseView{}, err
	}
	return h.view(r, rec), nil
}

// actionWith serves an action whose body T the request carries.
func actionWith[T any](h *HTTP, build func(T) app.Action) httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req T) (CaseView, error) { return h.act(r, build(req)) })
}

// actionOnly serves an action without a body.
func actionOnly(h *HTTP, op app.Op) httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (CaseView, error) { return h.act(r, app.Action{Op: op}) })
}

func (h *HTTP) act(r *http.Request, act app.Action) (CaseView, error) {
	act.Once = once(r)
	rec, _, err := h.App.Act(r.Context(), auth.ActorOf(r), r.PathValue("id"), act, h.Candidates)
	if err != nil {
		return CaseView{}, err
	}
	return h.view(r, rec), nil
}

func (h *HTTP) notes(r *http.Request) ([]Note, error) {
	notes, err := h.App.Notes(r.Context(), auth.ActorOf(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	out := []Note{}
	for _, n := range notes {
		out = append(out, Note{ID: n.ID, By: n.By, At: n.At, Text: n.Text.Reveal()})
	}
	return out, nil
}

func (h *HTTP) escalation(r *http.Request) (EscalationView, error) {
	id := r.PathValue("id")
	if err := h.App.Authorize(r.Context(), auth.ActorOf(r), id, app.OpTimeline); err != nil {
		return EscalationView{}, err
	}
	var v EscalationView
	for _, q := range []struct {
		name string
		dst  any
	}{{escalation.QueryState, &v.State}, {escalation.QueryTimeline, &v.Timeline}} {
		res, err := h.Temporal.QueryWorkflow(r.Context(), WorkflowID(id), "", q.name)
		if err == nil {
			err = res.Get(q.dst)
		}
		if err != nil {
			return EscalationView{}, fault.Retry("the escalation is not available yet; retry shortly", 0,
				fmt.Errorf("query %s of case %s: %w", q.name, id, err))
		}
	}
	return v, nil
}

func (h *HTTP) auditTrail(r *http.Request) (AuditTrail, error) {
	id := r.PathValue("id")
	entries, err := h.App.AuditTrail(r.Context(), auth.ActorOf(r), id)
	if err != nil {
		return AuditTrail{}, err
	}
	if entries == nil {
		entries = []app.AuditEntry{}
	}
	return AuditTrail{CaseID: id, Entries: entries}, nil
}

func (h *HTTP) view(req *http.Request, r *app.Record) CaseView {
	id, version, _ := h.App.Started(r.Case.ID())
	v := caseView(r, id, version)
	for _, op := range h.App.Actions(req.Context(), auth.ActorOf(req), r) {
		v.Actions = append(v.Actions, actionPaths[op])
	}
	return v
}

// actionPaths names each action by the last segment of its route.
var actionPaths = map[app.Op]string{
	app.OpTriage: "triage", app.OpAssign: "assign", app.OpAcknowledge: "acknowledge", app.OpStart: "start",
	app.OpResolve: "resolve", app.OpClose: "close", app.OpReopen: "reopen", app.OpRecuse: "recuse",
	app.OpAddNote: "notes", app.OpMessage: "messages", app.OpLegalHold: "legal-hold",
}

// once is the request's idempotency scope in the app's terms.
func once(r *http.Request) app.Once {
	s, _ := httpapi.IdempotencyScopeFrom(r.Context())
	return app.Once{Key: s.Key, Fingerprint: s.Fingerprint}
}
