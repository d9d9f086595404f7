package policies

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/versioned"
	"github.com/deiops/deiops/pkg/versioned/versionedhttp"
	"github.com/deiops/deiops/workflows/escalation"
)

// PublishRequest is the body of PUT /v1/escalation-policies/{department}:
// either a whole policy (the fields of escalation.Policy), or
// {"template": name} alone to adopt a template as it is. id, version and
// department are accepted, so that a policy read from the API can be sent
// back, and ignored: the server sets them.
//
// It lists the policy's fields itself rather than embedding
// escalation.Policy, because encoding/json names a mistyped field of an
// embedded struct with the Go type's name ("Policy.levels"), and problems
// must name JSON paths; a test keeps the two field lists equal.
type PublishRequest struct {
	Template    string                         `json:"template,omitempty" desc:"Adopt this template as it is; send no policy fields with it" enum:"eu_directive_2019_1937,residency_program_default"`
	ID          string                         `json:"id,omitempty" desc:"Ignored: the server sets the department id (hospital for the default)"`
	Version     int                            `json:"version,omitempty" desc:"Ignored: the server sets the next version"`
	Department  string                         `json:"department,omitempty" desc:"Ignored: the server sets the department of the path (empty for hospital)"`
	Calendar    escalation.BusinessCalendar    `json:"calendar,omitzero" desc:"When the department works; business durations count only this time"`
	Levels      []escalation.Level             `json:"levels,omitempty" desc:"The escalation levels, in order"`
	Delegations escalation.Delegations         `json:"delegations,omitempty" desc:"Out-of-office entries"`
	Checkins    escalation.RetaliationCheckins `json:"checkins,omitzero" desc:"Contacts with the reporter after closure"`
}

// Validate checks the request with the escalation package's validation;
// problems name JSON paths such as levels[1].delay.
func (r PublishRequest) Validate() []httpapi.FieldError {
	if r.Template != "" {
		var errs []httpapi.FieldError
		if _, ok := TemplateNamed(r.Template); !ok {
			errs = append(errs, httpapi.FieldError{Field: "template", Reason: "unknown template; one of " + strings.Join(templateNames(), ", ")})
		}
		if hasPolicyFields(r.asPolicy()) {
			errs = append(errs, httpapi.FieldError{Field: "template", Reason: "send a template name or a policy, not both"})
		}
		return errs
	}
	// The department is not known here; any valid id stands in for it
	// (Publish validates again with the real one).
	return validate("department", r.asPolicy())
}

// Policy is what the request publishes: the template's policy, or the
// policy sent.
func (r PublishRequest) Policy() escalation.Policy {
	if r.Template != "" {
		if t, ok := TemplateNamed(r.Template); ok {
			return t.Policy
		}
	}
	return r.asPolicy()
}

func (r PublishRequest) asPolicy() escalation.Policy {
	return escalation.Policy{ID: r.ID, Version: r.Version, Department: r.Department, Calendar: r.Calendar,
		Levels: r.Levels, Delegations: r.Delegations, Checkins: r.Checkins}
}

func hasPolicyFields(p escalation.Policy) bool {
	c := p.Calendar
	return c.TimeZone != "" || len(c.Workdays) > 0 || c.Start != "" || c.End != "" || len(c.Holidays) > 0 ||
		len(p.Levels) > 0 || len(p.Delegations) > 0 || len(p.Checkins.Offsets) > 0 || !p.Checkins.ResponseWindow.IsZero()
}

func templateNames() []string {
	var names []string
	for _, t := range Templates() {
		names = append(names, t.Name)
	}
	return names
}

// Response is a policy version as the API answers it.
type Response struct {
	Department  string            `json:"department" desc:"The department asked for (hospital: the hospital-wide default)"`
	Version     int               `json:"version" desc:"Version of the source scope's policy; 0 for the built-in policy"`
	SourceScope string            `json:"source_scope" desc:"Whose policy this is: the department itself, hospital (the department has none of its own) or builtin (nothing was published yet: the residency program template)"`
	PublishedAt time.Time         `json:"published_at,omitzero" desc:"When the version was published; absent for the built-in policy"`
	PublishedBy string            `json:"published_by,omitempty" desc:"Subject id of the publisher; absent for the built-in policy"`
	Policy      escalation.Policy `json:"policy" desc:"The whole policy, as a case opened under it keeps it"`
}

// VersionsResponse is a department's version history.
type VersionsResponse struct {
	Department string        `json:"department" desc:"The department asked for"`
	Versions   []VersionInfo `json:"versions" desc:"The department's own versions, oldest first; empty when it has published none"`
}

// VersionInfo describes one version without its policy.
type VersionInfo struct {
	Version     int       `json:"version" desc:"Version number, from 1"`
	PublishedAt time.Time `json:"published_at" desc:"When the version was published"`
	PublishedBy string    `json:"published_by" desc:"Subject id of the publisher"`
}

// TemplatesResponse lists the built-in templates.
type TemplatesResponse struct {
	Templates []Template `json:"templates" desc:"Ready policies to adopt or start from"`
}

const tag = "escalation-policies"

// Routes registers the escalation policy API on r. Roles are enforced by
// the router's route middleware from each Operation.
func (s *Service) Routes(r *httpapi.Router) {
	readers := []caller.Role{caller.DEIOfficer, caller.DepartmentLead, caller.Admin}
	editors := []caller.Role{caller.DEIOfficer, caller.Admin}

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/escalation-policies/templates", ID: "listEscalationPolicyTemplates", Tags: []string{tag},
		Summary:   "The ready escalation policies a department can adopt",
		Responses: map[int]any{http.StatusOK: TemplatesResponse{}},
	}, s.listTemplates)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/escalation-policies/{department}", ID: "getEscalationPolicy", Tags: []string{tag},
		Summary: "The escalation policy a case opened now in a department starts with",
		Description: "The department's latest version; when it has published none, the hospital-wide default " +
			"(source_scope hospital); when nothing was published at all, the residency program template " +
			"(source_scope builtin, version 0). Use department hospital to read the hospital-wide default. " +
			"Policies name people (user targets, rotations, delegations with absence dates): responses are not cached.",
		Roles:      readers,
		Restricted: true,
		Responses:  map[int]any{http.StatusOK: Response{}, http.StatusUnprocessableEntity: nil},
	}, s.getCurrent)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/escalation-policies/{department}/versions", ID: "listEscalationPolicyVersions", Tags: []string{tag},
		Summary:   "Every version of a department's escalation policy, oldest first, without the policies",
		Roles:     readers,
		Responses: map[int]any{http.StatusOK: VersionsResponse{}, http.StatusUnprocessableEntity: nil},
	}, s.listVersions)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/escalation-policies/{department}/versions/{version}", ID: "getEscalationPolicyVersion", Tags: []string{tag},
		Summary:    "One version of a department's escalation policy, current or not (cases keep the version they started with)",
		Roles:      readers,
		Restricted: true,
		Responses:  map[int]any{http.StatusOK: Response{}, http.StatusNotFound: nil, http.StatusUnprocessableEntity: nil},
	}, s.getVersion)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodPut, Path: "/v1/escalation-policies/{department}", ID: "publishEscalationPolicy", Tags: []string{tag},
		Summary: "Publish a new version of a department's escalation policy, or adopt a template",
		Description: "The body is a whole policy, or {\"template\": name} to adopt a template as it is. It becomes the " +
			"department's next version: cases opened from now on start with it, cases already open keep theirs. " +
			"id, version and department are set by the server (id: the department; department: empty for hospital). " +
			"Department hospital publishes the hospital-wide default. 422 lists every invalid field by its path, " +
			"e.g. levels[1].delay; 409 means the department holds the maximum number of versions, or concurrent " +
			"publishes kept colliding (send it again).",
		Roles:      editors,
		Restricted: true,
		Request:    PublishRequest{},
		Responses: map[int]any{
			http.StatusCreated:               Response{},
			http.StatusConflict:              nil,
			http.StatusRequestEntityTooLarge: nil,
			http.StatusUnprocessableEntity:   nil,
		},
	}, s.publish)
}

func (s *Service) listTemplates(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, r, http.StatusOK, TemplatesResponse{Templates: Templates()})
}

func (s *Service) getCurrent(w http.ResponseWriter, r *http.Request) {
	dept, ok := department(w, r)
	if !ok {
		return
	}
	cur, err := s.Lookup(r.Context(), dept)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, response(dept, cur.Source, cur.Version))
}

func (s *Service) listVersions(w http.ResponseWriter, r *http.Request) {
	dept, ok := department(w, r)
	if !ok {
		return
	}
	h, err := s.History(r.Context(), dept)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := VersionsResponse{Department: dept, Versions: make([]VersionInfo, len(h))}
	for i, v := range h {
		out.Versions[i] = VersionInfo{Version: v.Version, PublishedAt: v.PublishedAt, PublishedBy: v.PublishedBy}
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

func (s *Service) getVersion(w http.ResponseWriter, r *http.Request) {
	dept, ok := department(w, r)
	if !ok {
		return
	}
	n, ok := versionNumber(w, r)
	if !ok {
		return
	}
	v, err := s.Version(r.Context(), dept, n)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, response(dept, dept, v))
}

func (s *Service) publish(w http.ResponseWriter, r *http.Request) {
	dept, ok := department(w, r)
	if !ok {
		return
	}
	p, ok := auth.FromContext(r.Context())
	if !ok || p.Subject == "" {
		httpapi.WriteProblem(w, r, httpapi.Unauthorized("a signed-in publisher is required"))
		return
	}
	req, err := httpapi.Decode[PublishRequest](r)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	v, err := s.Publish(r.Context(), dept, req.Policy(), p.Subject)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/escalation-policies/"+url.PathEscape(dept)+"/versions/"+strconv.Itoa(v.Version))
	httpapi.WriteJSON(w, r, http.StatusCreated, response(dept, dept, v))
}

func response(dept, source string, v versioned.Version[escalation.Policy]) Response {
	return Response{Department: dept, Version: v.Version, SourceScope: source, PublishedAt: v.PublishedAt,
		PublishedBy: v.PublishedBy, Policy: v.Doc}
}

// department reads and checks the {department} path value; a bad one is
// answered with 422 naming department.
func department(w http.ResponseWriter, r *http.Request) (string, bool) {
	return versionedhttp.Scope(w, r, "department", MaxDepartmentLength, BuiltinScope, "templates")
}

// versionNumber reads the {version} path value.
func versionNumber(w http.ResponseWriter, r *http.Request) (int, bool) {
	return versionedhttp.Version(w, r)
}

// fail maps service errors to problems.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	versionedhttp.Errors{Noun: "escalation policy", NotStarted: ErrNotStarted, TooLarge: httpapi.PayloadTooLarge(versioned.DefaultMaxDocBytes)}.Fail(w, r, err)
}
