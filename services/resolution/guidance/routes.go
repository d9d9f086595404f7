package guidance

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/versioned"
	"github.com/deiops/deiops/pkg/versioned/versionedhttp"
)

// Response is a guidance version as the API answers it.
type Response struct {
	Department  string    `json:"department" desc:"The department asked for (hospital: the hospital-wide default)"`
	Version     int       `json:"version" desc:"Version of the source scope's guidance; 0 for the built-in guidance"`
	SourceScope string    `json:"source_scope" desc:"Whose guidance this is: the department itself, hospital (the department has none of its own) or builtin (nothing was published yet)"`
	PublishedAt time.Time `json:"published_at,omitzero" desc:"When the version was published; absent for the built-in guidance"`
	PublishedBy string    `json:"published_by,omitempty" desc:"Subject id of the publisher; shown to dei_officer and admin callers only"`
	Guidance    Guidance  `json:"guidance"`
}

// VersionsResponse is a department's version history.
type VersionsResponse struct {
	Department string        `json:"department" desc:"The department asked for"`
	Versions   []VersionInfo `json:"versions" desc:"The department's own versions, oldest first; empty when it has published none (it then reads the hospital default)"`
}

// VersionInfo describes one version without its text.
type VersionInfo struct {
	Version     int       `json:"version" desc:"Version number, from 1"`
	PublishedAt time.Time `json:"published_at" desc:"When the version was published"`
	PublishedBy string    `json:"published_by,omitempty" desc:"Subject id of the publisher; shown to dei_officer and admin callers only"`
}

const tag = "guidance"

// Routes registers the guidance API on r. Roles are enforced by the
// router's route middleware from each Operation: reading needs a signed-in
// caller, publishing dei_officer or admin.
func (s *Service) Routes(r *httpapi.Router) {
	editors := []caller.Role{caller.DEIOfficer, caller.Admin}

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/guidance/{department}", ID: "getGuidance", Tags: []string{tag},
		Summary: "What to do if you encounter racism or mistreatment in a department",
		Description: "The department's latest guidance; when it has published none, the hospital-wide default " +
			"(source_scope hospital); when nothing was published at all, the built-in guidance (source_scope builtin, version 0). " +
			"Use department hospital to read the hospital-wide default.",
		Responses: map[int]any{http.StatusOK: Response{}, http.StatusUnprocessableEntity: nil},
	}, s.getCurrent)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/guidance/{department}/versions", ID: "listGuidanceVersions", Tags: []string{tag},
		Summary:   "Every version a department has published, oldest first, without the text",
		Responses: map[int]any{http.StatusOK: VersionsResponse{}, http.StatusUnprocessableEntity: nil},
	}, s.listVersions)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/guidance/{department}/versions/{version}", ID: "getGuidanceVersion", Tags: []string{tag},
		Summary:   "One version of a department's guidance, current or not",
		Responses: map[int]any{http.StatusOK: Response{}, http.StatusNotFound: nil, http.StatusUnprocessableEntity: nil},
	}, s.getVersion)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodPut, Path: "/v1/guidance/{department}", ID: "publishGuidance", Tags: []string{tag},
		Summary: "Publish a new version of a department's guidance",
		Description: "The body is the whole guidance; it becomes the department's next version and earlier versions stay readable. " +
			"Department hospital publishes the hospital-wide default, which applies to every department without guidance of its own. " +
			"Every guidance offers formal_resolution. 422 lists every invalid field; 409 means the department holds the maximum " +
			"number of versions, or concurrent publishes kept colliding (send it again).",
		Roles:   editors,
		Request: Guidance{},
		Responses: map[int]any{
			http.StatusCreated:             Response{},
			http.StatusConflict:            nil,
			http.StatusUnprocessableEntity: nil,
		},
	}, s.publish)
}

func (s *Service) getCurrent(w http.ResponseWriter, r *http.Request) {
	dept, ok := department(w, r)
	if !ok {
		return
	}
	cur, err := s.Current(r.Context(), dept)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, response(dept, cur.Source, cur.Version, mayReadPublisher(r)))
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
	showBy := mayReadPublisher(r)
	out := VersionsResponse{Department: dept, Versions: make([]VersionInfo, len(h))}
	for i, v := range h {
		out.Versions[i] = VersionInfo{Version: v.Version, PublishedAt: v.PublishedAt}
		if showBy {
			out.Versions[i].PublishedBy = v.PublishedBy
		}
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
	httpapi.WriteJSON(w, r, http.StatusOK, response(dept, dept, v, mayReadPublisher(r)))
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
	g, err := httpapi.Decode[Guidance](r)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	v, err := s.Publish(r.Context(), dept, g, p.Subject)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/guidance/"+url.PathEscape(dept)+"/versions/"+strconv.Itoa(v.Version))
	httpapi.WriteJSON(w, r, http.StatusCreated, response(dept, dept, v, true))
}

func response(dept, source string, v versioned.Version[Guidance], showBy bool) Response {
	out := Response{Department: dept, Version: v.Version, SourceScope: source, PublishedAt: v.PublishedAt, Guidance: v.Doc}
	if showBy {
		out.PublishedBy = v.PublishedBy
	}
	return out
}

// mayReadPublisher: who published a version is for the people who
// publish; everyone else reads the text and its date.
func mayReadPublisher(r *http.Request) bool {
	p, ok := auth.FromContext(r.Context())
	return ok && p.HasAnyRole(caller.DEIOfficer, caller.Admin)
}

// department reads and checks the {department} path value; a bad one is
// answered with 422 naming department.
func department(w http.ResponseWriter, r *http.Request) (string, bool) {
	return versionedhttp.Scope(w, r, "department", MaxDepartmentLength, BuiltinScope)
}

// versionNumber reads the {version} path value.
func versionNumber(w http.ResponseWriter, r *http.Request) (int, bool) {
	return versionedhttp.Version(w, r)
}

// fail maps service errors to problems.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	versionedhttp.Errors{Noun: "guidance", NotStarted: ErrNotStarted}.Fail(w, r, err)
}
