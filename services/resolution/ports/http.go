package ports

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"go.temporal.io/sdk/client"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/httpapi"
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

func actorOf(r *http.Request) (app.Actor, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return app.Actor{}, false
	}
	a := app.Actor{ID: p.Subject}
	for _, role := range p.Roles {
		a.Roles = append(a.Roles, string(role))
	}
	return a, true
}

// Routes registers the API.
func (h *HTTP) Routes(rt *httpapi.Router) {
	reports := []string{"reports"}
	cases := []string{"cases"}
	creds := "Anonymous reporters send the case key and secret in the " + HeaderCaseKey + " and " + HeaderCaseSecret +
		" headers. A wrong key and a wrong secret are answered alike (401), and attempts are rate-limited per client (429)."

	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/reports", ID: "submitReport", Tags: reports, Public: true, Restricted: true,
		Summary: "Submit a speak-up report, named (with a token) or anonymous",
		Description: "A named report needs a bearer token; an anonymous report (anonymous: true) keeps no identity, " +
			"even when a token is sent, and answers with a case key and a secret shown only once. " +
			"The escalation starts asynchronously; intake never waits for it.",
		Request: ReportRequest{},
		Responses: map[int]any{http.StatusCreated: ReportReceipt{}, http.StatusUnauthorized: nil,
			http.StatusUnprocessableEntity: nil, http.StatusRequestEntityTooLarge: nil},
	}, h.submit)

	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/my/cases", ID: "listMyCases", Tags: reports,
		Summary: "The signed-in reporter's own named reports", Responses: map[int]any{http.StatusOK: CaseList{}},
	}, h.myCases)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/my/cases/{id}", ID: "getMyCase", Tags: reports, Restricted: true,
		Summary:   "A named reporter's view of their case: status, timeline, messages, check-ins",
		Responses: map[int]any{http.StatusOK: ReporterView{}, http.StatusNotFound: nil},
	}, h.reporter(func(w http.ResponseWriter, r *http.Request, rec *app.Record) {
		httpapi.WriteJSON(w, r, http.StatusOK, reporterView(rec))
	}))
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/my/cases/{id}/messages", ID: "postMyCaseMessage", Tags: reports, Restricted: true,
		Summary: "Send a message to the case's handlers", Request: TextRequest{},
		Responses: map[int]any{http.StatusCreated: ReporterView{}, http.StatusNotFound: nil, http.StatusUnprocessableEntity: nil},
	}, h.reporterMessage)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/my/cases/{id}/checkins/{number}", ID: "answerMyCheckin", Tags: reports, Restricted: true,
		Summary: "Answer a retaliation check-in", Request: CheckinAnswer{},
		Responses: map[int]any{http.StatusOK: ReporterView{}, http.StatusNotFound: nil, http.StatusConflict: nil},
	}, h.answerCheckin)

	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/anonymous/case", ID: "getAnonymousCase", Tags: reports, Public: true, Restricted: true,
		Summary: "An anonymous reporter's view of their case", Description: creds,
		Responses: map[int]any{http.StatusOK: ReporterView{}, http.StatusUnauthorized: nil, http.StatusTooManyRequests: nil},
	}, h.reporter(func(w http.ResponseWriter, r *http.Request, rec *app.Record) {
		httpapi.WriteJSON(w, r, http.StatusOK, reporterView(rec))
	}))
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/anonymous/case/messages", ID: "postAnonymousCaseMessage", Tags: reports, Public: true, Restricted: true,
		Summary: "Send a message to the case's handlers (anonymous)", Description: creds, Request: TextRequest{},
		Responses: map[int]any{http.StatusCreated: ReporterView{}, http.StatusUnauthorized: nil, http.StatusTooManyRequests: nil},
	}, h.reporterMessage)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/anonymous/case/checkins/{number}", ID: "answerAnonymousCheckin", Tags: reports, Public: true, Restricted: true,
		Summary: "Answer a retaliation check-in (anonymous)", Description: creds, Request: CheckinAnswer{},
		Responses: map[int]any{http.StatusOK: ReporterView{}, http.StatusUnauthorized: nil, http.StatusConflict: nil, http.StatusTooManyRequests: nil},
	}, h.answerCheckin)

	access := "Only people on the case see it: DEI officers, its assignee, and whoever its escalation notified — " +
		"never anyone named in the report, anyone in a named person's supervisory chain, anyone who recused, or the reporter. " +
		"Everyone else gets 404, as for a case that does not exist. Every read and write is audited."
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases", ID: "listCases", Tags: cases,
		Summary: "Cases the caller is on (no content)", Description: access, Responses: map[int]any{http.StatusOK: CaseList{}},
	}, h.list)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}", ID: "getCase", Tags: cases, Restricted: true,
		Summary: "A case with its report, conversation, check-ins and timeline", Description: access,
		Responses: map[int]any{http.StatusOK: CaseView{}, http.StatusNotFound: nil},
	}, h.get)

	type action struct {
		path, id, summary string
		op                app.Op
		body              any
		parse             func(*http.Request) (app.Action, error)
	}
	decode := func(dst any, build func() app.Action) func(*http.Request) (app.Action, error) {
		return func(r *http.Request) (app.Action, error) {
			if err := httpapi.Decode(r, dst); err != nil {
				return app.Action{}, err
			}
			return build(), nil
		}
	}
	none := func(op app.Op) func(*http.Request) (app.Action, error) {
		return func(*http.Request) (app.Action, error) { return app.Action{Op: op}, nil }
	}
	var (
		triage TriageRequest
		assign AssignRequest
		res    ResolveRequest
		reopen ReopenRequest
		note   TextRequest
		msg    TextRequest
	)
	actions := []action{
		{"triage", "triageCase", "Triage: set category, severity and route", app.OpTriage, TriageRequest{},
			decode(&triage, func() app.Action {
				return app.Action{Op: app.OpTriage, Category: domain.Category(triage.Category), Severity: domain.Severity(triage.Severity), Route: triage.Route}
			})},
		{"assign", "assignCase", "Assign (or reassign) a handler; without assignee_id the routing rules pick one", app.OpAssign, AssignRequest{},
			decode(&assign, func() app.Action { return app.Action{Op: app.OpAssign, Assignee: assign.AssigneeID} })},
		{"acknowledge", "acknowledgeCase", "Acknowledge the report to the reporter (stops the acknowledgment clock)", app.OpAcknowledge, nil, none(app.OpAcknowledge)},
		{"start", "startCase", "Start work on an acknowledged case", app.OpStart, nil, none(app.OpStart)},
		{"resolve", "resolveCase", "Resolve with an outcome code", app.OpResolve, ResolveRequest{},
			decode(&res, func() app.Action { return app.Action{Op: app.OpResolve, Outcome: res.Outcome} })},
		{"close", "closeCase", "Close a resolved case", app.OpClose, nil, none(app.OpClose)},
		{"reopen", "reopenCase", "Reopen a resolved or closed case", app.OpReopen, ReopenRequest{},
			decode(&reopen, func() app.Action { return app.Action{Op: app.OpReopen, Reason: reopen.Reason} })},
		{"recuse", "recuseFromCase", "Recuse yourself from a case you are assigned (for good)", app.OpRecuse, nil, none(app.OpRecuse)},
		{"notes", "addCaseNote", "Add an internal note (never shown to the reporter)", app.OpAddNote, TextRequest{},
			decode(&note, func() app.Action { return app.Action{Op: app.OpAddNote, Text: domain.Restrict(note.Text)} })},
		{"messages", "postCaseMessage", "Send a message to the reporter", app.OpMessage, TextRequest{},
			decode(&msg, func() app.Action { return app.Action{Op: app.OpMessage, Text: domain.Restrict(msg.Text)} })},
	}
	for _, a := range actions {
		rt.HandleFunc(httpapi.Operation{
			Method: http.MethodPost, Path: "/v1/cases/{id}/" + a.path, ID: a.id, Tags: cases, Restricted: true,
			Summary: a.summary, Description: "409 with the current state when the case is not in a state that allows it. " + access,
			Request: a.body,
			Responses: map[int]any{http.StatusOK: CaseView{}, http.StatusForbidden: nil, http.StatusNotFound: nil,
				http.StatusConflict: nil, http.StatusUnprocessableEntity: nil},
		}, h.act(a.parse))
	}
	var hold LegalHoldRequest
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodPut, Path: "/v1/cases/{id}/legal-hold", ID: "setCaseLegalHold", Tags: cases, Restricted: true,
		Summary: "Set or clear the legal hold (DEI officers); a held case is never deleted by retention", Request: LegalHoldRequest{},
		Responses: map[int]any{http.StatusOK: CaseView{}, http.StatusForbidden: nil, http.StatusNotFound: nil},
	}, h.act(decode(&hold, func() app.Action { return app.Action{Op: app.OpLegalHold, Hold: hold.On} })))

	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}/notes", ID: "listCaseNotes", Tags: cases, Restricted: true,
		Summary: "Internal notes of a case", Responses: map[int]any{http.StatusOK: []Note{}, http.StatusNotFound: nil},
	}, h.notes)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}/escalation", ID: "getCaseEscalation", Tags: cases,
		Summary:   "The case's escalation: state and timeline of levels, notices, signals and check-ins (workflow queries)",
		Responses: map[int]any{http.StatusOK: EscalationView{}, http.StatusNotFound: nil, http.StatusServiceUnavailable: nil},
	}, h.escalation)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/cases/{id}/audit", ID: "getCaseAudit", Tags: cases,
		Summary:   "Audit trail of every read and write of a case: who, when, what (DEI officers)",
		Roles:     []string{string(auth.RoleDEIOfficer)},
		Responses: map[int]any{http.StatusOK: AuditTrail{}, http.StatusNotFound: nil},
	}, h.auditTrail)
}

// EscalationView answers GET /v1/cases/{id}/escalation.
type EscalationView struct {
	State    escalation.State  `json:"state"`
	Timeline []escalation.Step `json:"timeline"`
}

func (h *HTTP) submit(w http.ResponseWriter, r *http.Request) {
	var req ReportRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	reporter := ""
	if !req.Anonymous {
		a, ok := actorOf(r)
		if !ok {
			httpapi.WriteProblem(w, r, httpapi.Unauthorized("a named report needs a bearer token; set anonymous to report without one"))
			return
		}
		reporter = a.ID
	}
	rc, err := h.App.Submit(r.Context(), req.input(reporter))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next := "/v1/my/cases/" + rc.CaseID
	if req.Anonymous {
		next = "/v1/anonymous/case"
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, ReportReceipt{CaseID: rc.CaseID, Status: string(domain.StateSubmitted),
		CaseKey: rc.Key, Secret: rc.Secret, Next: next})
}

func (h *HTTP) myCases(w http.ResponseWriter, r *http.Request) {
	a, _ := actorOf(r)
	list := h.App.MyCases(a)
	httpapi.WriteJSON(w, r, http.StatusOK, CaseList{Cases: list})
}

// reporterOf reads who the reporter is: a token on /v1/my routes, the
// anonymous headers otherwise (rate-limited).
func (h *HTTP) reporterOf(w http.ResponseWriter, r *http.Request) (app.Reporter, bool) {
	if id := r.PathValue("id"); id != "" {
		a, ok := actorOf(r)
		if !ok {
			httpapi.WriteProblem(w, r, httpapi.Unauthorized("sign in"))
			return app.Reporter{}, false
		}
		return app.Reporter{ID: a.ID, CaseID: id}, true
	}
	if h.Guesses != nil {
		if blocked, after := h.Guesses.Blocked(r.Context(), h.client(r)); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(after.Seconds()+0.999))))
			httpapi.WriteProblem(w, r, httpapi.TooManyRequests("too many failed attempts; retry after the time in Retry-After"))
			return app.Reporter{}, false
		}
	}
	return app.Reporter{Key: r.Header.Get(HeaderCaseKey), Secret: r.Header.Get(HeaderCaseSecret)}, true
}

// client names the caller for guess counting.
func (h *HTTP) client(r *http.Request) string {
	if h.ClientIP != nil {
		return "anon-case:" + h.ClientIP(r)
	}
	return "anon-case:" + httpapi.RemoteIP(r)
}

// openAsReporter checks the reporter's credentials, counting failures.
func (h *HTTP) openAsReporter(r *http.Request, rp app.Reporter) (*app.Record, error) {
	rec, err := h.App.OpenAsReporter(r.Context(), rp)
	if errors.Is(err, app.ErrBadCredentials) && h.Guesses != nil {
		h.Guesses.Failed(r.Context(), h.client(r))
	}
	return rec, err
}

func (h *HTTP) reporter(fn func(http.ResponseWriter, *http.Request, *app.Record)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rp, ok := h.reporterOf(w, r)
		if !ok {
			return
		}
		rec, err := h.openAsReporter(r, rp)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		fn(w, r, rec)
	}
}

func (h *HTTP) reporterMessage(w http.ResponseWriter, r *http.Request) {
	var req TextRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	rp, ok := h.reporterOf(w, r)
	if !ok {
		return
	}
	rec, err := h.openAsReporter(r, rp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rec, _, err = h.App.ReporterMessage(r.Context(), rec, domain.Restrict(req.Text))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, reporterView(rec))
}

func (h *HTTP) answerCheckin(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n < 1 {
		httpapi.WriteProblem(w, r, httpapi.Unprocessable("bad check-in number", httpapi.FieldError{Field: "number", Reason: "must be a positive integer"}))
		return
	}
	var req CheckinAnswer
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	rp, ok := h.reporterOf(w, r)
	if !ok {
		return
	}
	rec, err := h.openAsReporter(r, rp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rec, err = h.App.AnswerCheckin(r.Context(), rec, n, req.Retaliation)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, reporterView(rec))
}

func (h *HTTP) list(w http.ResponseWriter, r *http.Request) {
	a, _ := actorOf(r)
	list := h.App.List(r.Context(), a)
	if list == nil {
		list = []app.Summary{}
	}
	httpapi.WriteJSON(w, r, http.StatusOK, CaseList{Cases: list})
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request) {
	a, _ := actorOf(r)
	rec, err := h.App.Case(r.Context(), a, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, h.view(rec))
}

func (h *HTTP) act(parse func(*http.Request) (app.Action, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		act, err := parse(r)
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		a, _ := actorOf(r)
		rec, _, err := h.App.Act(r.Context(), a, r.PathValue("id"), act, h.Candidates)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		httpapi.WriteJSON(w, r, http.StatusOK, h.view(rec))
	}
}

func (h *HTTP) notes(w http.ResponseWriter, r *http.Request) {
	a, _ := actorOf(r)
	notes, err := h.App.Notes(r.Context(), a, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []Note{}
	for _, n := range notes {
		out = append(out, Note{ID: n.ID, By: n.By, At: n.At, Text: n.Text.Reveal()})
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

func (h *HTTP) escalation(w http.ResponseWriter, r *http.Request) {
	a, _ := actorOf(r)
	id := r.PathValue("id")
	if err := h.App.Authorize(r.Context(), a, id, app.OpTimeline); err != nil {
		h.fail(w, r, err)
		return
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
			h.Logger.WarnContext(r.Context(), "escalation query failed", "case_id", id, "query", q.name, "error", err)
			httpapi.WriteProblem(w, r, httpapi.ServiceUnavailable("the escalation is not available yet; retry shortly"))
			return
		}
	}
	httpapi.WriteJSON(w, r, http.StatusOK, v)
}

func (h *HTTP) auditTrail(w http.ResponseWriter, r *http.Request) {
	a, _ := actorOf(r)
	id := r.PathValue("id")
	entries, err := h.App.AuditTrail(r.Context(), a, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if entries == nil {
		entries = []app.AuditEntry{}
	}
	httpapi.WriteJSON(w, r, http.StatusOK, AuditTrail{CaseID: id, Entries: entries})
}

func (h *HTTP) view(r *app.Record) CaseView {
	id, version, _ := h.App.Started(r.Case.ID())
	return caseView(r, id, version)
}

// fail maps use-case errors to problems. Messages never echo content.
func (h *HTTP) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		invalid    *domain.ValidationError
		transition *domain.TransitionError
	)
	switch {
	case errors.As(err, &invalid):
		fields := make([]httpapi.FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			fields[i] = httpapi.FieldError{Field: f.Field, Reason: f.Reason}
		}
		httpapi.WriteProblem(w, r, httpapi.Unprocessable("the report has invalid fields", fields...))
	case errors.Is(err, app.ErrNotFound):
		httpapi.WriteProblem(w, r, httpapi.NotFound())
	case errors.Is(err, app.ErrBadCredentials):
		httpapi.WriteProblem(w, r, httpapi.Unauthorized("invalid case key or secret"))
	case errors.Is(err, app.ErrForbidden):
		httpapi.WriteProblem(w, r, httpapi.Forbidden("you are on this case but may not do this"))
	case errors.As(err, &transition):
		httpapi.WriteProblem(w, r, httpapi.Conflict("the case is "+string(transition.State)+"; "+string(transition.Action)+" is not possible now"))
	case errors.Is(err, domain.ErrConflictOfInterest):
		httpapi.WriteProblem(w, r, httpapi.Unprocessable("conflict of interest",
			httpapi.FieldError{Field: "assignee_id", Reason: "cannot handle this case (named, in a named person's chain, recused, or the reporter)"}))
	case errors.Is(err, domain.ErrNotAssignee):
		httpapi.WriteProblem(w, r, httpapi.Forbidden("only the assigned handler can do this"))
	case errors.Is(err, domain.ErrAlreadyAnswered):
		httpapi.WriteProblem(w, r, httpapi.Conflict("this check-in was already answered"))
	case errors.Is(err, domain.ErrNoSuchCheckin):
		httpapi.WriteProblem(w, r, httpapi.NotFound())
	case errors.Is(err, domain.ErrNotReporter):
		httpapi.WriteProblem(w, r, httpapi.NotFound())
	case errors.Is(err, domain.ErrInvalidArgument):
		httpapi.WriteProblem(w, r, httpapi.Unprocessable(invalidReason(err)))
	default:
		httpapi.WriteProblem(w, r, err)
	}
}

// invalidReason returns the domain's message, which names the field and
// the limit but never the value.
func invalidReason(err error) string { return err.Error() }
