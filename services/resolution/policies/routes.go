package policies

import (
	"net/http"
	"strings"
	"time"

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

// TemplatesResponse lists the built-in templates.
type TemplatesResponse struct {
	Templates []Template `json:"templates" desc:"Ready policies to adopt or start from"`
}

const tag = "escalation-policies"

// Routes registers the escalation policy API on r. Roles are enforced by
// the router's route middleware from each Operation.
func Routes(r *httpapi.Router, s *Service) {
	r.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/escalation-policies/templates", ID: "listEscalationPolicyTemplates", Tags: []string{tag},
		Summary: "The ready escalation policies a department can adopt",
	}, httpapi.Call(http.StatusOK, func(*http.Request) (TemplatesResponse, error) {
		return TemplatesResponse{Templates: Templates()}, nil
	}))
	versionedhttp.Routes[escalation.Policy, PublishRequest, Response]{
		Docs: s.Documents, Base: "/v1/escalation-policies", Tag: tag,
		IDs: [5]string{"getEscalationPolicy", "listEscalationPolicyVersions", "getEscalationPolicyVersion", "publishEscalationPolicy", "previewEscalationPolicy"},
		Texts: versionedhttp.Texts{
			CurrentSummary: "The escalation policy a case opened now in a department starts with",
			CurrentDescription: "The department's latest version; when it has published none, the hospital-wide default " +
				"(source_scope hospital); when nothing was published at all, the residency program template " +
				"(source_scope builtin, version 0). Use department hospital to read the hospital-wide default. " +
				"Policies name people (user targets, rotations, delegations with absence dates): responses are not cached.",
			VersionsSummary: "Every version of a department's escalation policy, oldest first, without the policies",
			VersionSummary:  "One version of a department's escalation policy, current or not (cases keep the version they started with)",
			PublishSummary:  "Publish a new version of a department's escalation policy, or adopt a template",
			PreviewSummary:  "Check an escalation policy as publish would, without publishing it",
			PublishDescription: "The body is a whole policy, or {\"template\": name} to adopt a template as it is. It becomes the " +
				"department's next version: cases opened from now on start with it, cases already open keep theirs. " +
				"id, version and department are set by the server (id: the department; department: empty for hospital). " +
				"Department hospital publishes the hospital-wide default. 422 lists every invalid field by its path, " +
				"e.g. levels[1].delay; 409 means the department holds the maximum number of versions; 503 with Retry-After " +
				"means concurrent publishes kept colliding (send it again).",
		},
		ReadRoles:      []caller.Role{caller.DEIOfficer, caller.DepartmentLead, caller.Admin},
		EditRoles:      []caller.Role{caller.DEIOfficer, caller.Admin},
		Restricted:     true,
		ExtraResponses: map[int]any{http.StatusRequestEntityTooLarge: nil},
		Document:       PublishRequest.Policy,
		Respond: func(dept, source string, v versioned.Version[escalation.Policy], _ bool) Response {
			return Response{Department: dept, Version: v.Version, SourceScope: source, PublishedAt: v.PublishedAt,
				PublishedBy: v.PublishedBy, Policy: v.Doc}
		},
	}.Register(r)
}
