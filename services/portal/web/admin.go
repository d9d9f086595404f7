package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/services/portal/apiclient"
)

// The editors' pages: /admin/guidance and /admin/policies. Both kinds are
// versioned documents per department with a hospital-wide fallback, so one
// editor serves both: pick a department, start from what is in force, an
// earlier version or (policies) a template, preview the draft as the API
// would publish it, publish it as the next version. The draft is the API's
// own JSON, so nothing the API can express is out of reach; the preview
// shows it in plain words before anything is stored.

// docEditor is one kind of document's editor.
type docEditor struct {
	Kind      string // URL segment and i18n key part
	API       apiclient.DocumentKind
	Templates bool // policies: start from a ready template
}

var docEditors = map[string]docEditor{
	"guidance": {Kind: "guidance", API: apiclient.GuidanceDocs},
	"policies": {Kind: "policies", API: apiclient.PolicyDocs, Templates: true},
}

// editorRoles publish documents (the API decides; the menu follows it).
var editorRoles = []caller.Role{caller.DEIOfficer, caller.Admin}

func edits(roles []string) bool { return holdsAny(roles, editorRoles) }

// maxDraftBytes bounds a draft well under the API's body limit.
const maxDraftBytes = 256 << 10

type adminIndexPage struct {
	Kind, Error, Value string
}

type adminPage struct {
	Kind         string
	Department   string
	Current      apiclient.DocumentVersion
	History      []apiclient.VersionInfo // newest first
	Templates    []apiclient.PolicyTemplate
	Start        string // what the draft started from: current, version:N, template:NAME
	StartTitle   string // the template's title, when it started from one
	StartVersion int    // the version, when it started from one
	Own          int    // the department's own latest version (0: none)
	Base         int    // Own when the draft started
	Draft        string
	Preview      *docPreview
	Previewed    bool // Preview is the API's answer to the draft
	Problems     []apiclient.FieldError
	Error        string
	Published    int
	Token        string
	Action       string
	CanPublish   bool
	BaseChanged  bool
}

// docPreview is a document shown as its readers will read it.
type docPreview struct {
	Guidance *apiclient.GuidanceText
	Policy   *apiclient.Policy
}

func (h *Handler) adminIndex(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	ed, ok := docEditors[r.PathValue("kind")]
	if !ok {
		h.notFound(w, r, c)
		return
	}
	if !h.requireSession(w, r, c) {
		return
	}
	title := c.L.T("admin." + ed.Kind + ".title")
	if d := strings.TrimSpace(r.URL.Query().Get("department")); d != "" {
		if departmentCode.MatchString(d) {
			http.Redirect(w, r, h.local("/admin/"+ed.Kind+"/"+url.PathEscape(d), c), http.StatusSeeOther)
			return
		}
		h.render(w, r, c, http.StatusUnprocessableEntity, "admin_index", title, "/admin/"+ed.Kind,
			adminIndexPage{Kind: ed.Kind, Error: c.L.T("err.field.department"), Value: d})
		return
	}
	h.render(w, r, c, http.StatusOK, "admin_index", title, "/admin/"+ed.Kind, adminIndexPage{Kind: ed.Kind})
}

// adminEditor shows a department's document, its history and a draft to
// edit, started from ?start=current|version:N|template:NAME.
func (h *Handler) adminEditor(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	ed, dept, ok := h.adminTarget(w, r, c)
	if !ok {
		return
	}
	p, err := h.adminLoad(r, c, ed, dept)
	if err != nil {
		h.adminFailed(w, r, c, err)
		return
	}
	p.Start = r.URL.Query().Get("start")
	start, err := h.adminStart(r, c, ed, &p)
	switch {
	case apiclient.StatusOf(err) == http.StatusNotFound || errors.Is(err, errUnknownStart):
		h.notFound(w, r, c)
		return
	case err != nil:
		h.adminFailed(w, r, c, err)
		return
	}
	p.Draft = indent(start)
	p.Preview = previewOf(ed, start)
	if n, err := strconv.Atoi(r.URL.Query().Get("published")); err == nil && n > 0 {
		p.Published = n
	}
	h.renderAdmin(w, r, c, ed, http.StatusOK, p)
}

var errUnknownStart = errors.New("unknown starting point")

// adminStart returns the document a draft starts from.
func (h *Handler) adminStart(r *http.Request, c *call, ed docEditor, p *adminPage) (json.RawMessage, error) {
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	switch kind, arg, _ := strings.Cut(p.Start, ":"); {
	case p.Start == "" || p.Start == "current":
		p.Start = "current"
		return p.Current.Doc, nil
	case kind == "version":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return nil, errUnknownStart
		}
		v, err := h.o.API.Version(ctx, c.caller(), ed.API, p.Department, n)
		return v.Doc, err
	case kind == "template" && ed.Templates:
		for _, t := range p.Templates {
			if t.Name == arg {
				return t.Policy, nil
			}
		}
	}
	return nil, errUnknownStart
}

// adminPost previews or publishes a draft.
func (h *Handler) adminPost(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	ed, dept, ok := h.adminTarget(w, r, c)
	if !ok {
		return
	}
	if _, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "admin", h.adminBinding(c, ed, dept)); !ok {
		h.forbidden(w, r, c)
		return
	}
	p, err := h.adminLoad(r, c, ed, dept)
	if err != nil {
		h.adminFailed(w, r, c, err)
		return
	}
	p.Draft, p.Start = r.PostFormValue("document"), r.PostFormValue("start")
	base, _ := strconv.Atoi(r.PostFormValue("base"))
	publish := r.PostFormValue("intent") == "publish"
	body, problem := draftBody(c, p.Draft)
	if problem != "" {
		p.Error = problem
		p.Base = base
		h.renderAdmin(w, r, c, ed, http.StatusUnprocessableEntity, p)
		return
	}
	// Someone published since this draft began: say so rather than
	// overwrite their version unseen (a second click lands here too).
	if publish && base != p.Own {
		p.BaseChanged = true
		p.Error = c.L.T("admin.error.changed", p.Own)
		h.renderAdmin(w, r, c, ed, http.StatusConflict, p)
		return
	}
	p.Base = base
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	call := h.o.API.Preview
	if publish {
		call = h.o.API.Publish
	}
	v, err := call(ctx, c.caller(), ed.API, dept, body)
	switch status := apiclient.StatusOf(err); {
	case err == nil && publish:
		to := h.local("/admin/"+ed.Kind+"/"+url.PathEscape(dept), c)
		http.Redirect(w, r, to+sepFor(to)+"published="+strconv.Itoa(v.Version)+"#result", http.StatusSeeOther)
	case err == nil:
		p.Preview, p.Previewed = previewOf(ed, v.Doc), true
		h.renderAdmin(w, r, c, ed, http.StatusOK, p)
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		var pr *apiclient.Problem
		errors.As(err, &pr)
		p.Problems = pr.Errors
		p.Error = c.L.T("admin.error.invalid")
		if len(pr.Errors) == 0 && pr.Detail != "" {
			p.Problems = []apiclient.FieldError{{Field: "", Reason: pr.Detail}}
		}
		h.renderAdmin(w, r, c, ed, http.StatusUnprocessableEntity, p)
	case status == http.StatusConflict || status == http.StatusServiceUnavailable:
		p.Error = c.L.T("admin.error.retry")
		h.renderAdmin(w, r, c, ed, status, p)
	default:
		h.adminFailed(w, r, c, err)
	}
}

// adminFailed answers an API error of the editor: a refusal says who may
// edit; anything else is apiFailed's.
func (h *Handler) adminFailed(w http.ResponseWriter, r *http.Request, c *call, err error) {
	if apiclient.StatusOf(err) == http.StatusForbidden {
		h.errorPage(w, r, c, http.StatusForbidden, "admin.forbidden.title", "admin.forbidden.body")
		return
	}
	h.apiFailed(w, r, c, "documentEditor", err)
}

// draftBody checks that a draft is one JSON object of a sane size; the
// API judges its fields.
func draftBody(c *call, draft string) (json.RawMessage, string) {
	draft = strings.TrimSpace(draft)
	switch {
	case draft == "":
		return nil, c.L.T("err.required")
	case len(draft) > maxDraftBytes:
		return nil, c.L.T("err.too_long")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(draft), &obj); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(draft, syn.Offset)
			return nil, c.L.T("admin.error.json_at", line, col)
		}
		return nil, c.L.T("admin.error.json")
	}
	return json.RawMessage(draft), ""
}

// position turns a byte offset into a 1-based line and column.
func position(s string, offset int64) (line, col int) {
	before := s[:min(int(offset), len(s))]
	line = strings.Count(before, "\n") + 1
	return line, len(before) - strings.LastIndex(before, "\n")
}

func (h *Handler) adminTarget(w http.ResponseWriter, r *http.Request, c *call) (docEditor, string, bool) {
	ed, ok := docEditors[r.PathValue("kind")]
	dept := r.PathValue("department")
	if !ok || !departmentCode.MatchString(dept) {
		h.notFound(w, r, c)
		return ed, "", false
	}
	return ed, dept, h.requireSession(w, r, c)
}

// adminLoad reads what the page shows whatever the draft: the version in
// force, the history and the templates.
func (h *Handler) adminLoad(r *http.Request, c *call, ed docEditor, dept string) (adminPage, error) {
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	p := adminPage{Kind: ed.Kind, Department: dept, CanPublish: c.sess != nil && edits(c.sess.Data.Roles)}
	var err error
	if p.Current, err = h.o.API.Current(ctx, c.caller(), ed.API, dept); err != nil {
		return p, fmt.Errorf("current: %w", err)
	}
	if p.Current.SourceScope == dept {
		p.Own = p.Current.Version
	}
	p.Base = p.Own
	if p.History, err = h.o.API.Versions(ctx, c.caller(), ed.API, dept); err != nil {
		return p, fmt.Errorf("versions: %w", err)
	}
	slices.Reverse(p.History)
	if ed.Templates {
		if p.Templates, err = h.o.API.PolicyTemplates(ctx, c.caller()); err != nil {
			return p, fmt.Errorf("templates: %w", err)
		}
	}
	return p, nil
}

func (h *Handler) renderAdmin(w http.ResponseWriter, r *http.Request, c *call, ed docEditor, status int, p adminPage) {
	p.Action = "/admin/" + ed.Kind + "/" + url.PathEscape(p.Department)
	switch kind, arg, _ := strings.Cut(p.Start, ":"); kind {
	case "template":
		for _, t := range p.Templates {
			if t.Name == arg {
				p.StartTitle = t.Title
			}
		}
	case "version":
		p.StartVersion, _ = strconv.Atoi(arg)
	default:
		p.Start = "current"
	}
	p.Token = h.o.Forms.Issue("admin", h.adminBinding(c, ed, p.Department))
	h.render(w, r, c, status, "admin", c.L.T("admin."+ed.Kind+".title"), p.Action, p)
}

// adminBinding ties an editor's form to the session, the kind and the department.
func (h *Handler) adminBinding(c *call, ed docEditor, dept string) string {
	return h.binding(c) + "|admin:" + ed.Kind + ":" + dept
}

// previewOf decodes a document for its plain-words preview; a document the
// portal cannot read is shown as its JSON only.
func previewOf(ed docEditor, doc json.RawMessage) *docPreview {
	if len(doc) == 0 {
		return nil
	}
	switch ed.Kind {
	case "guidance":
		var g apiclient.GuidanceText
		if json.Unmarshal(doc, &g) == nil {
			return &docPreview{Guidance: &g}
		}
	case "policies":
		var p apiclient.Policy
		if json.Unmarshal(doc, &p) == nil {
			return &docPreview{Policy: &p}
		}
	}
	return nil
}

// indent lays a document out for editing; ids, versions and departments
// the server sets are left out, so a draft says only what its author sets.
func indent(doc json.RawMessage) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(doc, &obj) != nil {
		return string(doc)
	}
	for _, k := range []string{"id", "version", "department"} {
		delete(obj, k)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return string(doc)
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}
