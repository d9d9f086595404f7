// Package versionedhttp is the HTTP API of a kind of versioned document
// kept per department with a fallback (versioned.Documents): read the one
// in force, list and read versions, publish the next. Each kind supplies
// its paths, wording, roles and body types; the behaviour is one.
package versionedhttp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/versioned"
)

// VersionsResponse is a department's version history.
type VersionsResponse struct {
	Department string        `json:"department" desc:"The department asked for"`
	Versions   []VersionInfo `json:"versions" desc:"The department's own versions, oldest first; empty when it has published none (it then reads the hospital-wide default)"`
}

// VersionInfo describes one version without its document.
type VersionInfo struct {
	Version     int       `json:"version" desc:"Version number, from 1"`
	PublishedAt time.Time `json:"published_at" desc:"When the version was published"`
	PublishedBy string    `json:"published_by,omitempty" desc:"Subject id of the publisher; shown to those who may read who published"`
}

// Texts are the words of the four operations.
type Texts struct {
	CurrentSummary, CurrentDescription string
	VersionsSummary, VersionSummary    string
	PublishSummary, PublishDescription string
	PreviewSummary                     string
}

// Routes is the API of one kind of document.
type Routes[T, Req, Resp any] struct {
	Docs  *versioned.Documents[T]
	Base  string // e.g. /v1/guidance; routes are Base/{department}[...]
	Tag   string
	IDs   [5]string // current, versions, version, publish, preview operation ids
	Texts Texts
	// ReadPublic serves reads without a token; otherwise ReadRoles (nil:
	// any signed-in caller) may read.
	ReadPublic bool
	ReadRoles  []caller.Role
	EditRoles  []caller.Role
	// Restricted marks answers that carry restricted data (never cached).
	Restricted bool
	// Document turns a publish body into the document to publish.
	Document func(Req) T
	// Respond builds an answer for a version of scope's document that
	// came from source; showBy says whether it may name the publisher.
	Respond func(scope, source string, v versioned.Version[T], showBy bool) Resp
	// ShowPublisher says who may see who published; nil: everyone who
	// may read.
	ShowPublisher func(caller.Actor) bool
	// ExtraResponses lists further documented statuses of publish.
	ExtraResponses map[int]any
}

const param = "department"

// Register registers the routes on r.
func (o Routes[T, Req, Resp]) Register(r *httpapi.Router) {
	path := o.Base + "/{" + param + "}"
	invalid := map[int]any{http.StatusUnprocessableEntity: nil}
	r.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: path, ID: o.IDs[0], Tags: []string{o.Tag}, Public: o.ReadPublic, Roles: o.ReadRoles,
		Restricted: o.Restricted, Summary: o.Texts.CurrentSummary, Description: o.Texts.CurrentDescription, Responses: invalid,
	}, httpapi.Call(http.StatusOK, o.current))
	r.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: path + "/versions", ID: o.IDs[1], Tags: []string{o.Tag}, Public: o.ReadPublic, Roles: o.ReadRoles,
		Summary: o.Texts.VersionsSummary, Responses: invalid,
	}, httpapi.Call(http.StatusOK, o.history))
	r.Serve(httpapi.Operation{
		Method: http.MethodGet, Path: path + "/versions/{version}", ID: o.IDs[2], Tags: []string{o.Tag}, Public: o.ReadPublic, Roles: o.ReadRoles,
		Restricted: o.Restricted, Summary: o.Texts.VersionSummary,
		Responses: map[int]any{http.StatusNotFound: nil, http.StatusUnprocessableEntity: nil},
	}, httpapi.Call(http.StatusOK, o.version))
	publish := map[int]any{http.StatusConflict: nil, http.StatusUnprocessableEntity: nil, http.StatusServiceUnavailable: nil}
	for status, body := range o.ExtraResponses {
		publish[status] = body
	}
	r.Serve(httpapi.Operation{
		Method: http.MethodPut, Path: path, ID: o.IDs[3], Tags: []string{o.Tag}, Roles: o.EditRoles, Restricted: o.Restricted,
		Summary: o.Texts.PublishSummary, Description: o.Texts.PublishDescription, Responses: publish,
	}, httpapi.JSON(http.StatusCreated, o.publish))
	r.Serve(httpapi.Operation{
		Method: http.MethodPost, Path: path + "/preview", ID: o.IDs[4], Tags: []string{o.Tag}, Roles: o.EditRoles, Restricted: o.Restricted,
		Summary: o.Texts.PreviewSummary,
		Description: "Takes the body publish takes and checks it as publish would: 422 lists every invalid field; 200 answers the " +
			"document as it would be published (version 0, no publication date). Nothing is stored.",
		Responses: invalid,
	}, httpapi.JSON(http.StatusOK, o.preview))
}

func (o Routes[T, Req, Resp]) preview(r *http.Request, req Req) (Resp, error) {
	var zero Resp
	scope, err := o.scope(r)
	if err != nil {
		return zero, err
	}
	doc, err := o.Docs.Check(scope, o.Document(req))
	if err != nil {
		return zero, err
	}
	return o.Respond(scope, scope, o.Docs.Stamped(scope, versioned.Version[T]{Doc: doc}), true), nil
}

// scope reads and checks the {department} path value.
func (o Routes[T, Req, Resp]) scope(r *http.Request) (string, error) {
	id := r.PathValue(param)
	if o.Docs.ValidScope(id) {
		return id, nil
	}
	reason := fmt.Sprintf("must be 1 to %d letters, digits and . _ : -", o.Docs.MaxScopeLength())
	if slices.Contains(o.Docs.Reserved(), id) {
		reason = id + " is reserved"
	}
	return "", fault.InvalidFields("invalid path", fault.Field{Field: param, Reason: reason})
}

func (o Routes[T, Req, Resp]) showBy(r *http.Request) bool {
	return o.ShowPublisher == nil || o.ShowPublisher(auth.ActorOf(r))
}

func (o Routes[T, Req, Resp]) current(r *http.Request) (Resp, error) {
	var zero Resp
	scope, err := o.scope(r)
	if err != nil {
		return zero, err
	}
	cur, err := o.Docs.Current(r.Context(), scope)
	if err != nil {
		return zero, err
	}
	return o.Respond(scope, cur.Source, cur.Version, o.showBy(r)), nil
}

func (o Routes[T, Req, Resp]) history(r *http.Request) (VersionsResponse, error) {
	scope, err := o.scope(r)
	if err != nil {
		return VersionsResponse{}, err
	}
	h, err := o.Docs.History(r.Context(), scope)
	if err != nil {
		return VersionsResponse{}, err
	}
	showBy := o.showBy(r)
	out := VersionsResponse{Department: scope, Versions: make([]VersionInfo, len(h))}
	for i, v := range h {
		out.Versions[i] = VersionInfo{Version: v.Version, PublishedAt: v.PublishedAt}
		if showBy {
			out.Versions[i].PublishedBy = v.PublishedBy
		}
	}
	return out, nil
}

func (o Routes[T, Req, Resp]) version(r *http.Request) (Resp, error) {
	var zero Resp
	scope, err := o.scope(r)
	if err != nil {
		return zero, err
	}
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return zero, fault.InvalidFields("invalid path", fault.Field{Field: "version", Reason: "must be a positive integer"})
	}
	v, err := o.Docs.Version(r.Context(), scope, n)
	if err != nil {
		return zero, err
	}
	return o.Respond(scope, scope, v, o.showBy(r)), nil
}

func (o Routes[T, Req, Resp]) publish(r *http.Request, req Req) (httpapi.Status[Resp], error) {
	scope, err := o.scope(r)
	if err != nil {
		return httpapi.Status[Resp]{}, err
	}
	a := auth.ActorOf(r)
	if a.Anonymous() {
		return httpapi.Status[Resp]{}, fault.New(fault.Unauthenticated, "a signed-in publisher is required")
	}
	v, err := o.Docs.Publish(r.Context(), scope, o.Document(req), a.ID)
	if err != nil {
		return httpapi.Status[Resp]{}, err
	}
	return httpapi.Status[Resp]{Code: http.StatusCreated, Body: o.Respond(scope, scope, v, true),
		Location: o.Base + "/" + url.PathEscape(scope) + "/versions/" + strconv.Itoa(v.Version)}, nil
}
