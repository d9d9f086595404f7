// Package ports are the awareness service's entry points: HTTP routes, the
// directory consumer, and the follow-up workflow's activities and starter.
package ports

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/page"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
)

// Role groups of the routes. Integrators send completions and read
// nothing; finer rules (a supervisor sees only their reports) are the app's.
var (
	managers    = app.Managers
	people      = caller.People()
	supervisors = []caller.Role{caller.Supervisor, caller.DepartmentLead, caller.ProgramDirector, caller.DEIOfficer}
	ingesters   = []caller.Role{caller.DEIOfficer, caller.ProgramDirector, caller.Coordinator, caller.Integrator}
)

// MaxCSVBytes bounds an import file.
const MaxCSVBytes = 16 << 20

// HTTP is the awareness API.
type HTTP struct {
	App    *app.Service
	Hasher app.Hasher
	Now    func() time.Time
}

func (h *HTTP) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// statusNames are the training statuses a list filters by.
var statusNames = app.TrainingStatusNames()

// Routes registers the API.
func (h *HTTP) Routes(rt *httpapi.Router) {
	camp, stmt, train, ingest, rep := []string{"campaigns"}, []string{"statements"}, []string{"training"}, []string{"completions"}, []string{"awareness reports"}
	ok := func(v any) map[int]any {
		return map[int]any{http.StatusOK: v, http.StatusUnprocessableEntity: nil, http.StatusNotFound: nil}
	}
	created := func(v any) map[int]any {
		return map[int]any{http.StatusCreated: v, http.StatusUnprocessableEntity: nil}
	}

	// Campaigns.
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/campaigns", ID: "createCampaign", Idempotent: true, Tags: camp, Roles: managers,
		Summary: "Create a campaign draft", Request: CampaignRequest{}, Responses: created(CampaignView{})}, h.createCampaign())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/campaigns", ID: "listCampaigns", Tags: camp, Roles: managers,
		Summary: "Every campaign", Responses: ok(CampaignList{})}, h.listCampaigns())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/campaigns/{id}", ID: "getCampaign", Tags: camp, Roles: people,
		Summary: "A campaign: managers see any, others a live one that reached them", Responses: ok(CampaignView{})}, h.getCampaign())
	rt.Serve(httpapi.Operation{Method: http.MethodPut, Path: "/v1/campaigns/{id}", ID: "editCampaign", Tags: camp, Roles: managers,
		Summary: "Edit a draft or scheduled campaign", Request: CampaignRequest{}, Responses: map[int]any{http.StatusOK: CampaignView{},
			http.StatusConflict: nil, http.StatusUnprocessableEntity: nil, http.StatusNotFound: nil}}, h.editCampaign())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/campaigns/{id}/publish", ID: "publishCampaign", Tags: camp, Roles: managers,
		Summary:     "Publish a campaign now or schedule it",
		Description: "Publication resolves the audience against the directory at that moment and records who was reached; people who join the audience later are reached too. An audience that resolves to nobody is refused (422).",
		Request:     PublishRequest{}, Responses: map[int]any{http.StatusOK: CampaignView{}, http.StatusConflict: nil, http.StatusUnprocessableEntity: nil, http.StatusNotFound: nil}}, h.publishCampaign())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/campaigns/{id}/reached", ID: "listCampaignReach", Tags: camp, Roles: managers,
		Summary: "Who a campaign reached, at publication and since (joiners)", Responses: ok(ReachList{})}, h.reached())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/my/campaigns", ID: "listMyCampaigns", Tags: camp, Roles: people,
		Summary: "Live campaigns that reached the caller", Responses: ok(CampaignList{})}, h.myCampaigns())

	// Statements.
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/statements", ID: "createStatement", Idempotent: true, Tags: stmt, Roles: managers,
		Summary: "Create an expectation statement and publish its version 1", Request: StatementRequest{}, Responses: created(StatementView{})}, h.createStatement())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/statements", ID: "listStatements", Tags: stmt, Roles: managers,
		Summary: "Every statement", Responses: ok(StatementList{})}, h.listStatements())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/statements/{id}", ID: "getStatement", Tags: stmt, Roles: people,
		Summary: "A statement's current version (people in its audience, managers)", Responses: ok(StatementView{})}, h.getStatement(false))
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/statements/{id}/versions/{version}", ID: "getStatementVersion", Tags: stmt, Roles: managers,
		Summary: "One version of a statement", Responses: ok(StatementView{})}, h.getStatement(true))
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/statements/{id}/versions", ID: "publishStatementVersion", Tags: stmt, Roles: managers,
		Summary:     "Publish the next version of a statement",
		Description: "A version that requires attestation is owed again by everyone in its audience; attestations of earlier versions stay in the history.",
		Request:     StatementRequest{}, Responses: created(StatementView{})}, h.publishVersion())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/statements/{id}/attestations", ID: "attestStatement", Tags: stmt, Roles: people,
		Summary: "Attest the current version of a statement (idempotent)", Request: AttestRequest{},
		Responses: map[int]any{http.StatusCreated: AttestationView{}, http.StatusOK: AttestationView{}, http.StatusUnprocessableEntity: nil, http.StatusNotFound: nil}}, h.attest())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/my/attestations", ID: "listMyAttestations", Tags: stmt, Roles: people,
		Summary: "What the caller still owes and every attestation they made", Responses: ok(MyAttestations{})}, h.myAttestations())

	// Training catalog and assignments.
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/training/modules", ID: "createTrainingModule", Idempotent: true, Tags: train, Roles: managers,
		Summary: "Add a module to the catalog", Request: ModuleRequest{}, Responses: map[int]any{http.StatusCreated: ModuleView{}, http.StatusConflict: nil, http.StatusUnprocessableEntity: nil}}, h.createModule())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/training/modules", ID: "listTrainingModules", Tags: train, Roles: people,
		Summary: "The training catalog", Responses: ok(ModuleList{})}, h.listModules())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/training/modules/{id}", ID: "getTrainingModule", Tags: train, Roles: people,
		Summary: "A catalog module", Responses: ok(ModuleView{})}, h.getModule())
	rt.Serve(httpapi.Operation{Method: http.MethodPut, Path: "/v1/training/modules/{id}", ID: "editTrainingModule", Tags: train, Roles: managers,
		Summary: "Edit a catalog module", Request: ModuleRequest{}, Responses: ok(ModuleView{})}, h.editModule())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/training/assignments", ID: "createTrainingAssignment", Idempotent: true, Tags: train, Roles: managers,
		Summary:     "Assign a module to an audience with a due date",
		Description: "The audience is resolved against the directory now; every member gets a record and one follow-up workflow runs for the cohort. A due date in the past or an audience that resolves to nobody is refused (422).",
		Request:     AssignmentRequest{}, Responses: created(AssignmentView{})}, h.assign())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/training/assignments", ID: "listTrainingAssignments", Tags: train, Roles: managers,
		Summary: "Every assignment", Responses: ok(AssignmentList{})}, h.listAssignments())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/training/assignments/{id}", ID: "getTrainingAssignment", Tags: train, Roles: managers,
		Summary: "An assignment", Responses: ok(AssignmentView{})}, h.getAssignment())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/training/assignments/{id}/cancel", ID: "cancelTrainingAssignment", Tags: train, Roles: managers,
		Summary:   "Cancel an assignment: its follow-up notifies nobody any more and no new cycle starts",
		Responses: map[int]any{http.StatusOK: AssignmentView{}, http.StatusConflict: nil, http.StatusNotFound: nil}}, h.cancelAssignment())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/training/assignments/{id}/people", ID: "listTrainingAssignmentPeople", Tags: train, Roles: managers,
		Summary:   "One page of an assignment's people, by person id, each with their status and history",
		Query:     append([]httpapi.QueryParam{{Name: "status", Description: "Only records whose status as people see it is this", Enum: statusNames}}, httpapi.PageParams...),
		Responses: ok(TrainingList{})}, h.assignmentPeople())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/training/assignments/{id}/exemptions", ID: "exemptFromTraining", Tags: train, Roles: managers,
		Summary: "Exempt a person from the current cycle, with a reason", Request: ExemptionRequest{}, Responses: ok(TrainingView{})}, h.exempt())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/my/trainings", ID: "listMyTrainings", Tags: train, Roles: people,
		Summary: "The caller's trainings and their status", Responses: ok(TrainingList{})}, h.myTrainings())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/my/trainings/{assignment}/start", ID: "startMyTraining", Tags: train, Roles: people,
		Summary: "Mark the caller's training in progress", Responses: ok(TrainingView{})}, h.startTraining())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/team/trainings", ID: "listTeamTrainings", Tags: train, Roles: supervisors,
		Summary:     "One page, by due date, of the trainings of the active people who report to the caller (from the directory's chain)",
		Description: "Answered from the read model of training records, so a page costs the same for a lead of ten and for the head of a 300,000-person system.",
		Query:       httpapi.PageParams, Responses: ok(TrainingList{})}, h.teamTrainings())

	// Completion ingest.
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/training/completions", ID: "recordTrainingCompletion", Tags: ingest, Roles: ingesters,
		Summary: "Record one completion (idempotent)", Request: CompletionRequest{}, Responses: ok(CompletionReceipt{})}, h.complete())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/training/completions/import", ID: "importTrainingCompletions", Tags: ingest, Roles: ingesters,
		Summary:     "Import completions from a CSV file (all or nothing)",
		Description: "Content-Type text/csv; header person_id,module_id,completed_at[,external_id]. One bad row and nothing is applied: the 422 lists every bad line as \"line N: field\".",
		Responses:   ok(ImportReceipt{})}, h.importCSV())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/training/completions/webhook", ID: "receiveTrainingCompletionWebhook", Tags: ingest, Roles: ingesters,
		Summary: "Generic completion webhook (all or nothing, idempotent by external_id)", Request: WebhookRequest{}, Responses: ok(ImportReceipt{})}, h.webhook())
	rt.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/xapi/statements", ID: "postXAPIStatements", Tags: ingest, Roles: ingesters,
		Summary:     "Receive xAPI statements from an LMS (one statement or an array)",
		Description: "completed and passed statements complete the module whose lms_activity_id is the object id; the actor is matched by mbox (the directory email) or account name (the person id). Unknown activities or actors are kept as unmatched with the reason. Idempotent by statement id.",
		Responses:   ok(XAPIReceipt{})}, h.xapi())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/training/completions/unmatched", ID: "listUnmatchedCompletions", Tags: ingest, Roles: managers,
		Summary: "xAPI statements that matched no module or person", Responses: ok(UnmatchedList{})}, h.unmatched())

	// Reports.
	csvNote := " Groups below the minimum cell size are suppressed. ?by=department|role|cohort; ?format=csv for a CSV export."
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/reports/training/{id}", ID: "getTrainingReport", Tags: rep, Roles: managers,
		Summary: "Completion rates of an assignment by department, role or cohort", Description: csvNote, Responses: ok(ReportView{})}, h.trainingReport())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/reports/attestations/{id}", ID: "getAttestationReport", Tags: rep, Roles: managers,
		Summary: "Attestation rates of a statement's current version by department, role or cohort", Description: csvNote, Responses: ok(ReportView{})}, h.attestationReport())
	rt.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/team/overdue", ID: "listTeamOverdue", Tags: rep, Roles: supervisors,
		Summary:     "One page, by due date, of the overdue items of the people who report to the caller",
		Description: "?format=csv exports every item (limit and after are then ignored).",
		Query:       append([]httpapi.QueryParam{{Name: "format", Description: "csv for an export of every item", Enum: []string{"csv"}}}, httpapi.PageParams...),
		Responses:   ok(OverdueList{})}, h.teamOverdue())
}

// The handlers translate: decode a fresh request value, call the use case
// with the caller, answer its result. Errors are answered by httpapi's one
// mapping of error kinds.

func (h *HTTP) createCampaign() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req CampaignRequest) (CampaignView, error) {
		c, err := h.App.CreateCampaign(r.Context(), auth.ActorOf(r), req.input())
		if err != nil {
			return CampaignView{}, err
		}
		return campaignView(c), nil
	})
}

func (h *HTTP) listCampaigns() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (CampaignList, error) {
		cs, err := h.App.Campaigns(r.Context(), auth.ActorOf(r))
		out := CampaignList{Campaigns: []CampaignView{}}
		for _, c := range cs {
			out.Campaigns = append(out.Campaigns, campaignView(c))
		}
		return out, err
	})
}

func (h *HTTP) getCampaign() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (CampaignView, error) {
		c, err := h.App.Campaign(r.Context(), auth.ActorOf(r), r.PathValue("id"))
		if err != nil {
			return CampaignView{}, err
		}
		return campaignView(c), nil
	})
}

func (h *HTTP) editCampaign() httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req CampaignRequest) (CampaignView, error) {
		c, err := h.App.EditCampaign(r.Context(), auth.ActorOf(r), r.PathValue("id"), req.input())
		if err != nil {
			return CampaignView{}, err
		}
		return campaignView(c), nil
	})
}

func (h *HTTP) publishCampaign() httpapi.Endpoint {
	return httpapi.JSONOptional(http.StatusOK, func(r *http.Request, req PublishRequest) (CampaignView, error) {
		var at time.Time
		if req.PublishAt != nil {
			at = req.PublishAt.UTC()
		}
		c, err := h.App.PublishCampaign(r.Context(), auth.ActorOf(r), r.PathValue("id"), at)
		if err != nil {
			return CampaignView{}, err
		}
		return campaignView(c), nil
	})
}

func (h *HTTP) reached() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (ReachList, error) {
		rs, err := h.App.Reached(r.Context(), auth.ActorOf(r), r.PathValue("id"))
		out := ReachList{Reached: []ReachView{}}
		for _, x := range rs {
			out.Reached = append(out.Reached, ReachView{PersonID: x.PersonID, At: x.At, Late: x.Late})
		}
		return out, err
	})
}

func (h *HTTP) myCampaigns() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (CampaignList, error) {
		cs, err := h.App.MyCampaigns(r.Context(), auth.ActorOf(r))
		out := CampaignList{Campaigns: []CampaignView{}}
		for _, c := range cs {
			v := campaignView(c)
			v.Audience, v.Reached = AudienceBody{}, 0 // people see the message, not the targeting
			out.Campaigns = append(out.Campaigns, v)
		}
		return out, err
	})
}

func (h *HTTP) createStatement() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req StatementRequest) (StatementView, error) {
		v, err := h.App.CreateStatement(r.Context(), auth.ActorOf(r), req.doc())
		if err != nil {
			return StatementView{}, err
		}
		return statementView(v), nil
	})
}

func (h *HTTP) publishVersion() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req StatementRequest) (StatementView, error) {
		v, err := h.App.PublishStatementVersion(r.Context(), auth.ActorOf(r), r.PathValue("id"), req.doc())
		if err != nil {
			return StatementView{}, err
		}
		return statementView(v), nil
	})
}

func (h *HTTP) listStatements() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (StatementList, error) {
		sts, err := h.App.Statements(r.Context(), auth.ActorOf(r))
		out := StatementList{Statements: []StatementSummary{}}
		for _, s := range sts {
			out.Statements = append(out.Statements, StatementSummary{ID: s.ID(), CurrentVersion: s.Current(), Title: s.Doc().Title, RequiresAttestation: s.RequiresAttestation()})
		}
		return out, err
	})
}

func (h *HTTP) getStatement(versioned bool) httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (StatementView, error) {
		version := 0
		if versioned {
			n, err := strconv.Atoi(r.PathValue("version"))
			if err != nil || n < 1 {
				return StatementView{}, app.ErrNotFound
			}
			version = n
		}
		v, err := h.App.Statement(r.Context(), auth.ActorOf(r), r.PathValue("id"), version)
		if err != nil {
			return StatementView{}, err
		}
		return statementView(v), nil
	})
}

func (h *HTTP) attest() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req AttestRequest) (httpapi.Status[AttestationView], error) {
		a, created, err := h.App.Attest(r.Context(), auth.ActorOf(r), r.PathValue("id"), req.Version)
		if err != nil {
			return httpapi.Status[AttestationView]{}, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return httpapi.Status[AttestationView]{Code: status, Body: attestationView(a)}, nil
	})
}

func (h *HTTP) myAttestations() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (MyAttestations, error) {
		owed, done, err := h.App.MyAttestations(r.Context(), auth.ActorOf(r))
		out := MyAttestations{Owed: []OwedView{}, Attested: []AttestationView{}}
		for _, o := range owed {
			out.Owed = append(out.Owed, OwedView{StatementID: o.StatementID, Version: o.Version, Title: o.Title, Since: o.Since})
		}
		for _, a := range done {
			out.Attested = append(out.Attested, attestationView(a))
		}
		return out, err
	})
}

func (h *HTTP) createModule() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req ModuleRequest) (ModuleView, error) {
		m, err := h.App.CreateModule(r.Context(), auth.ActorOf(r), req.ID, req.input())
		if err != nil {
			return ModuleView{}, err
		}
		return moduleView(m), nil
	})
}

func (h *HTTP) editModule() httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req ModuleRequest) (ModuleView, error) {
		m, err := h.App.EditModule(r.Context(), auth.ActorOf(r), r.PathValue("id"), req.input())
		if err != nil {
			return ModuleView{}, err
		}
		return moduleView(m), nil
	})
}

func (h *HTTP) listModules() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (ModuleList, error) {
		ms, err := h.App.Modules(r.Context())
		out := ModuleList{Modules: []ModuleView{}}
		for _, m := range ms {
			out.Modules = append(out.Modules, moduleView(m))
		}
		return out, err
	})
}

func (h *HTTP) getModule() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (ModuleView, error) {
		m, err := h.App.Module(r.Context(), r.PathValue("id"))
		if err != nil {
			return ModuleView{}, err
		}
		return moduleView(m), nil
	})
}

func (h *HTTP) assign() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req AssignmentRequest) (AssignmentView, error) {
		a, err := h.App.Assign(r.Context(), auth.ActorOf(r), req.input())
		if err != nil {
			return AssignmentView{}, err
		}
		return assignmentView(a), nil
	})
}

func (h *HTTP) listAssignments() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (AssignmentList, error) {
		as, err := h.App.Assignments(r.Context(), auth.ActorOf(r))
		out := AssignmentList{Assignments: []AssignmentView{}}
		for _, a := range as {
			out.Assignments = append(out.Assignments, assignmentView(a))
		}
		return out, err
	})
}

func (h *HTTP) getAssignment() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (AssignmentView, error) {
		a, err := h.App.Assignment(r.Context(), auth.ActorOf(r), r.PathValue("id"))
		if err != nil {
			return AssignmentView{}, err
		}
		return assignmentView(a), nil
	})
}

func (h *HTTP) cancelAssignment() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (AssignmentView, error) {
		a, err := h.App.CancelAssignment(r.Context(), auth.ActorOf(r), r.PathValue("id"))
		if err != nil {
			return AssignmentView{}, err
		}
		return assignmentView(a), nil
	})
}

// trainings answers a list of trainings read by list.
func (h *HTTP) trainings(history bool, list func(r *http.Request) ([]*domain.Training, error)) httpapi.Endpoint {
	return h.trainingPages(history, func(r *http.Request) (page.Page[*domain.Training], error) {
		ts, err := list(r)
		return page.Page[*domain.Training]{Items: ts}, err
	})
}

func (h *HTTP) trainingPages(history bool, list func(r *http.Request) (page.Page[*domain.Training], error)) httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (TrainingList, error) {
		ts, err := list(r)
		out := TrainingList{Trainings: make([]TrainingView, 0, len(ts.Items)), Next: ts.Next}
		now := h.now()
		for _, t := range ts.Items {
			out.Trainings = append(out.Trainings, trainingView(t, now, history))
		}
		return out, err
	})
}

// pageQuery reads a paged list's limit and after.
func pageQuery(r *http.Request) (after string, limit int, err error) {
	q := r.URL.Query()
	if limit, err = page.Limit(q.Get("limit")); err != nil {
		return "", 0, fault.InvalidFields("invalid query", fault.Field{Field: "limit", Reason: err.Error()})
	}
	return q.Get("after"), limit, nil
}

func (h *HTTP) assignmentPeople() httpapi.Endpoint {
	return h.trainingPages(true, func(r *http.Request) (page.Page[*domain.Training], error) {
		after, limit, err := pageQuery(r)
		if err != nil {
			return page.Page[*domain.Training]{}, err
		}
		return h.App.AssignmentPeople(r.Context(), auth.ActorOf(r), r.PathValue("id"),
			app.TrainingPeopleQuery{Status: r.URL.Query().Get("status"), After: after, Limit: limit})
	})
}

func (h *HTTP) myTrainings() httpapi.Endpoint {
	return h.trainings(true, func(r *http.Request) ([]*domain.Training, error) {
		return h.App.MyTrainings(r.Context(), auth.ActorOf(r))
	})
}

func (h *HTTP) teamTrainings() httpapi.Endpoint {
	return h.trainingPages(false, func(r *http.Request) (page.Page[*domain.Training], error) {
		after, limit, err := pageQuery(r)
		if err != nil {
			return page.Page[*domain.Training]{}, err
		}
		return h.App.TeamTrainings(r.Context(), auth.ActorOf(r), app.TeamQuery{After: after, Limit: limit})
	})
}

func (h *HTTP) exempt() httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req ExemptionRequest) (TrainingView, error) {
		t, err := h.App.Exempt(r.Context(), auth.ActorOf(r), r.PathValue("id"), req.PersonID, req.Reason)
		if err != nil {
			return TrainingView{}, err
		}
		return trainingView(t, h.now(), true), nil
	})
}

func (h *HTTP) startTraining() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (TrainingView, error) {
		t, err := h.App.StartTraining(r.Context(), auth.ActorOf(r), r.PathValue("assignment"))
		if err != nil {
			return TrainingView{}, err
		}
		return trainingView(t, h.now(), true), nil
	})
}

func (h *HTTP) complete() httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req CompletionRequest) (CompletionReceipt, error) {
		rec, dup, err := h.App.RecordCompletion(r.Context(), auth.ActorOf(r), req.input())
		if err != nil {
			return CompletionReceipt{}, err
		}
		return CompletionReceipt{Status: rec.Status, Reason: rec.Reason, Applied: rec.Applied, Duplicate: dup}, nil
	})
}

func importReceipt(res app.ImportResult) ImportReceipt {
	return ImportReceipt{Rows: res.Rows, Applied: res.Applied, Duplicates: res.Duplicates, Unassigned: res.Unassigned}
}

// importCSV reads a text/csv body, which httpapi.Decode does not serve.
func (h *HTTP) importCSV() httpapi.Endpoint {
	return httpapi.Raw(func(w http.ResponseWriter, r *http.Request) {
		ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
		if ct != "text/csv" {
			httpapi.WriteProblem(w, r, httpapi.UnsupportedMediaType("send the file as text/csv"))
			return
		}
		res, err := h.App.ImportCSV(r.Context(), auth.ActorOf(r), http.MaxBytesReader(w, r.Body, MaxCSVBytes))
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		httpapi.WriteJSON(w, r, http.StatusOK, importReceipt(res))
	})
}

func (h *HTTP) webhook() httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req WebhookRequest) (ImportReceipt, error) {
		if len(req.Completions) == 0 || len(req.Completions) > 1000 {
			return ImportReceipt{}, fault.InvalidFields("invalid webhook", fault.Field{Field: "completions", Reason: "must hold 1 to 1000 completions"})
		}
		// The webhook is a CSV import in JSON: the same all-or-nothing checks.
		var b strings.Builder
		cw := csv.NewWriter(&b)
		_ = cw.Write([]string{"person_id", "module_id", "completed_at", "external_id"})
		for _, c := range req.Completions {
			_ = cw.Write([]string{c.PersonID, c.ModuleID, c.CompletedAt.UTC().Format(time.RFC3339), c.ExternalID})
		}
		cw.Flush()
		res, err := h.App.ImportWebhook(r.Context(), auth.ActorOf(r), strings.NewReader(b.String()))
		return importReceipt(res), err
	})
}

// xapi reads one statement or an array of them, which no single Go type
// decodes: parseXAPI reads the body into fresh values per request.
func (h *HTTP) xapi() httpapi.Endpoint {
	return httpapi.Raw(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
		if err != nil {
			httpapi.WriteProblem(w, r, httpapi.PayloadTooLarge(4<<20))
			return
		}
		sts, fields := parseXAPI(body)
		if len(fields) > 0 {
			httpapi.WriteProblem(w, r, httpapi.Unprocessable("invalid xAPI statements", fields...))
			return
		}
		res, err := h.App.IngestXAPI(r.Context(), auth.ActorOf(r), h.Hasher, sts)
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		out := XAPIReceipt{Statements: []XAPIOutcome{}}
		for _, x := range res {
			out.Statements = append(out.Statements, XAPIOutcome{ID: x.ID, Status: x.Status, Reason: x.Reason, Duplicate: x.Duplicate})
		}
		httpapi.WriteJSON(w, r, http.StatusOK, out)
	})
}

func (h *HTTP) unmatched() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (UnmatchedList, error) {
		recs, err := h.App.Unmatched(r.Context(), auth.ActorOf(r))
		out := UnmatchedList{Unmatched: []UnmatchedView{}}
		for _, u := range recs {
			out.Unmatched = append(out.Unmatched, UnmatchedView{Key: u.Key, ActivityID: u.ActivityID, Reason: u.Reason, ReceivedAt: u.ReceivedAt})
		}
		return out, err
	})
}

func by(r *http.Request) string {
	if b := r.URL.Query().Get("by"); b != "" {
		return b
	}
	return app.ByDepartment
}

func wantsCSV(r *http.Request) bool {
	return r.URL.Query().Get("format") == "csv" || strings.HasPrefix(r.Header.Get("Accept"), "text/csv")
}

// report answers a report as JSON or, when asked, CSV.
func (h *HTTP) report(get func(r *http.Request) (app.Report, error)) httpapi.Endpoint {
	return httpapi.Raw(func(w http.ResponseWriter, r *http.Request) {
		rep, err := get(r)
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		if !wantsCSV(r) {
			httpapi.WriteJSON(w, r, http.StatusOK, reportView(rep))
			return
		}
		rows := [][]string{{rep.By, "suppressed", "people", "completed", "exempt", "overdue", "rate"}}
		for _, row := range append(rep.Rows, rep.Total) {
			if row.Suppressed {
				rows = append(rows, []string{row.Group, "true", "", "", "", "", ""})
				continue
			}
			rows = append(rows, []string{row.Group, "false", strconv.Itoa(row.People), strconv.Itoa(row.Completed), strconv.Itoa(row.Exempt),
				strconv.Itoa(row.Overdue), strconv.FormatFloat(row.Rate, 'f', 4, 64)})
		}
		writeCSV(w, rows)
	})
}

func writeCSV(w http.ResponseWriter, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
}

func (h *HTTP) trainingReport() httpapi.Endpoint {
	return h.report(func(r *http.Request) (app.Report, error) {
		return h.App.TrainingReport(r.Context(), auth.ActorOf(r), r.PathValue("id"), by(r))
	})
}

func (h *HTTP) attestationReport() httpapi.Endpoint {
	return h.report(func(r *http.Request) (app.Report, error) {
		return h.App.AttestationReport(r.Context(), auth.ActorOf(r), r.PathValue("id"), by(r))
	})
}

func (h *HTTP) teamOverdue() httpapi.Endpoint {
	return httpapi.Raw(func(w http.ResponseWriter, r *http.Request) {
		if wantsCSV(r) {
			h.teamOverdueCSV(w, r)
			return
		}
		after, limit, err := pageQuery(r)
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		items, err := h.App.MyReportsOverdue(r.Context(), auth.ActorOf(r), app.TeamQuery{After: after, Limit: limit})
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		out := OverdueList{Overdue: make([]OverdueView, 0, len(items.Items)), Next: items.Next}
		for _, it := range items.Items {
			out.Overdue = append(out.Overdue, OverdueView{PersonID: it.PersonID, AssignmentID: it.AssignmentID, ModuleID: it.ModuleID, Cycle: it.Cycle, DueAt: it.DueAt, DaysOverdue: it.DaysOverdue})
		}
		httpapi.WriteJSON(w, r, http.StatusOK, out)
	})
}

// teamOverdueCSV exports every overdue item, written page by page so the
// export never sits whole in memory. A failure after the first page
// aborts the response, so the client sees a broken transfer rather than
// a short file.
func (h *HTTP) teamOverdueCSV(w http.ResponseWriter, r *http.Request) {
	q := app.TeamQuery{Limit: page.MaxLimit}
	var cw *csv.Writer
	for {
		items, err := h.App.MyReportsOverdue(r.Context(), auth.ActorOf(r), q)
		if err != nil {
			if cw != nil {
				panic(http.ErrAbortHandler)
			}
			httpapi.WriteProblem(w, r, err)
			return
		}
		if cw == nil {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			cw = csv.NewWriter(w)
			_ = cw.Write([]string{"person_id", "assignment_id", "module_id", "cycle", "due_at", "days_overdue"})
		}
		for _, it := range items.Items {
			_ = cw.Write([]string{it.PersonID, it.AssignmentID, it.ModuleID, strconv.Itoa(it.Cycle), it.DueAt.Format(time.RFC3339), strconv.Itoa(it.DaysOverdue)})
		}
		cw.Flush()
		if items.Next == "" || cw.Error() != nil {
			return
		}
		q.After = items.Next
	}
}
