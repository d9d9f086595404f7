// Package directoryhttp is the directory's HTTP API: file imports and
// person lookups. Request and response bodies are types of this package,
// separate from the domain, so the API can stay put while the domain moves.
package directoryhttp

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/httpapi"
)

// Content types of POST /v1/directory/imports.
const (
	ContentTypeCSV  = "text/csv"
	ContentTypeJSON = "application/json"
	ContentTypeFHIR = "application/fhir+json"
)

// Routes registers the directory API on r. Roles are enforced by the
// router's route middleware from each Operation.
func Routes(r *httpapi.Router, svc *directory.Service) {
	h := handlers{svc: svc}
	readers := []caller.Role{caller.Admin, caller.DEIOfficer, caller.ProgramDirector, caller.Supervisor}

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodPost, Path: "/v1/directory/imports", ID: "importDirectory", Tags: []string{"directory"},
		Summary: "Import people and departments from a CSV file, a JSON document or a FHIR R4 Bundle",
		Description: "The body is the file itself; Content-Type picks the format: " + ContentTypeCSV + ", " +
			ContentTypeJSON + " or " + ContentTypeFHIR + " (charset, if given, utf-8). An import is all or " +
			"nothing: a file with problems is answered with 422 listing every problem and nothing is applied. " +
			"Only rows that differ from the directory are written; importing the same file again changes nothing. " +
			"409 means the directory changed while the file was being applied: send the same file again.",
		Roles: []caller.Role{caller.Admin, caller.DEIOfficer},
		Responses: map[int]any{
			http.StatusOK:                    ImportResponse{},
			http.StatusConflict:              nil,
			http.StatusRequestEntityTooLarge: nil,
			http.StatusUnsupportedMediaType:  nil,
			http.StatusUnprocessableEntity:   nil,
		},
	}, h.importFile)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/directory/people/{id}", ID: "getDirectoryPerson", Tags: []string{"directory"},
		Summary:     "One person of the directory",
		Description: "The e-mail address is included for admin and dei_officer callers only.",
		Roles:       readers,
		Restricted:  true, // names and e-mail addresses
		Responses:   map[int]any{http.StatusOK: Person{}, http.StatusNotFound: nil},
	}, h.getPerson)

	r.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/directory/people/{id}/chain", ID: "getDirectorySupervisorChain", Tags: []string{"directory"},
		Summary:   "Ids of the supervisors above a person, nearest first, including inactive people",
		Roles:     readers,
		Responses: map[int]any{http.StatusOK: SupervisorChain{}, http.StatusNotFound: nil},
	}, h.getChain)
}

type handlers struct {
	svc *directory.Service
}

func (h handlers) importFile(w http.ResponseWriter, r *http.Request) {
	source, p := sourceOf(r.Header.Get("Content-Type"))
	if p != nil {
		httpapi.WriteProblem(w, r, p)
		return
	}
	res, err := h.svc.Import(r.Context(), source, r.Body)
	var (
		rejected *directory.ImportError
		tooLarge *http.MaxBytesError
	)
	switch {
	case err == nil:
		httpapi.WriteJSON(w, r, http.StatusOK, importResponse(res))
	case errors.As(err, &rejected):
		httpapi.WriteProblem(w, r, rejection(rejected))
	case errors.As(err, &tooLarge):
		httpapi.WriteProblem(w, r, httpapi.PayloadTooLarge(tooLarge.Limit))
	case errors.Is(err, directory.ErrConflict):
		httpapi.WriteProblem(w, r, httpapi.Conflict("the directory changed while the file was being applied; "+
			"part of it may be in. Send the same file again: rows already applied count as unchanged"))
	default:
		httpapi.WriteProblem(w, r, fmt.Errorf("directory import: %w", err))
	}
}

// sourceOf maps a Content-Type to an import format.
func sourceOf(contentType string) (directory.ImportSource, *httpapi.Problem) {
	unsupported := httpapi.UnsupportedMediaType("Content-Type must be " + ContentTypeCSV + ", " + ContentTypeJSON + " or " + ContentTypeFHIR)
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", httpapi.UnsupportedMediaType("imports must be UTF-8")
	}
	switch mt {
	case ContentTypeCSV:
		return directory.SourceCSV, nil
	case ContentTypeJSON:
		return directory.SourceJSON, nil
	case ContentTypeFHIR:
		return directory.SourceFHIR, nil
	}
	return "", unsupported
}

// rejection lists every problem of a rejected file, each located the way
// the format counts ("line 7: email", "people[3]: role",
// "entry[4] Practitioner/p-1: Practitioner.telecom").
func rejection(e *directory.ImportError) *httpapi.Problem {
	errs := make([]httpapi.FieldError, len(e.Rows))
	for i, row := range e.Rows {
		errs[i] = httpapi.FieldError{Field: whereIs(row), Reason: row.Reason}
	}
	noun := "problems"
	if len(errs) == 1 {
		noun = "problem"
	}
	return httpapi.Unprocessable(fmt.Sprintf("%s import rejected with %d %s; nothing was applied", e.Source, len(errs), noun), errs...)
}

// whereIs is the row's location and field: its text form without the reason.
func whereIs(row directory.RowError) string {
	row.Reason = ""
	if s := strings.TrimSuffix(row.String(), ": "); s != "" {
		return s
	}
	return "file"
}

func (h handlers) getPerson(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !directory.ValidID(id) {
		httpapi.WriteProblem(w, r, httpapi.NotFound())
		return
	}
	p, err := h.svc.Person(r.Context(), id)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		httpapi.WriteProblem(w, r, httpapi.NotFound())
	case err != nil:
		unavailable(w, r, err)
	default:
		httpapi.WriteJSON(w, r, http.StatusOK, personResponse(p, mayReadEmail(r)))
	}
}

func (h handlers) getChain(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !directory.ValidID(id) {
		httpapi.WriteProblem(w, r, httpapi.NotFound())
		return
	}
	d, err := h.svc.Directory(r.Context())
	if err != nil {
		unavailable(w, r, err)
		return
	}
	if _, ok := d.Get(id); !ok {
		httpapi.WriteProblem(w, r, httpapi.NotFound())
		return
	}
	chain := d.SupervisorChain(id)
	out := SupervisorChain{PersonID: id, SupervisorIDs: make([]string, len(chain))}
	for i, p := range chain {
		out.SupervisorIDs[i] = p.ID
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

// mayReadEmail: e-mail addresses are contact data the directory's owners
// (who upload the files) already hold; supervisors and program directors
// need to recognise people, not to contact them outside the platform.
func mayReadEmail(r *http.Request) bool {
	p, ok := auth.FromContext(r.Context())
	return ok && p.HasAnyRole(caller.Admin, caller.DEIOfficer)
}

// unavailable answers a directory that cannot be read (the store is down
// or still loading) with 503, so clients retry instead of reporting a bug.
func unavailable(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	if ctx.Err() != nil {
		httpapi.WriteProblem(w, r, err) // the client went away
		return
	}
	httpapi.LoggerFrom(ctx).ErrorContext(ctx, "directory unavailable", "request_id", httpapi.RequestIDFrom(ctx), "error", err)
	httpapi.WriteProblem(w, r, httpapi.ServiceUnavailable("the directory cannot be read right now; retry shortly"))
}
