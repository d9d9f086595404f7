package httpapi

import (
	"maps"
	"net/http"
)

// Endpoint is a route's handler together with the body types it decodes
// and answers, so the route's OpenAPI entry is taken from the code that
// serves it. Build one with JSON, JSONOptional or Call and register it with
// Router.Serve.
//
// Handlers built this way hold nothing per request: every call decodes into
// a fresh value, so one caller's fields can never reach another's request,
// and errors are answered through WriteProblem's one mapping of error kinds.
type Endpoint struct {
	Request  any // zero value of the JSON body type; nil without a body
	Status   int // the success status
	Response any // zero value of the success body type
	Handler  http.HandlerFunc
}

// JSON decodes a fresh Req from each request's body (Decode), calls fn and
// answers its result with status, or its error as a problem.
func JSON[Req, Resp any](status int, fn func(r *http.Request, req Req) (Resp, error)) Endpoint {
	var req Req
	var resp Resp
	return Endpoint{Request: req, Status: status, Response: body(status, resp), Handler: func(w http.ResponseWriter, r *http.Request) {
		req, err := Decode[Req](r)
		if err != nil {
			WriteProblem(w, r, err)
			return
		}
		answer(w, r, status, fn, req)
	}}
}

// JSONOptional is JSON for a route whose body may be left out
// (DecodeOptional): no body gives fn the zero Req.
func JSONOptional[Req, Resp any](status int, fn func(r *http.Request, req Req) (Resp, error)) Endpoint {
	var req Req
	var resp Resp
	return Endpoint{Request: req, Status: status, Response: body(status, resp), Handler: func(w http.ResponseWriter, r *http.Request) {
		req, err := DecodeOptional[Req](r)
		if err != nil {
			WriteProblem(w, r, err)
			return
		}
		answer(w, r, status, fn, req)
	}}
}

// Call serves a route without a body: fn's result answered with status, or
// its error as a problem. With status 204 the result is not written.
func Call[Resp any](status int, fn func(r *http.Request) (Resp, error)) Endpoint {
	var resp Resp
	return Endpoint{Status: status, Response: body(status, resp), Handler: func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		if err != nil {
			WriteProblem(w, r, err)
			return
		}
		write(w, r, status, v)
	}}
}

// NoContent is the result type of endpoints that answer 204.
type NoContent struct{}

// Status answers Body with Code instead of the endpoint's status, e.g. 200
// for a create that was already done. The document lists the endpoint's
// status with Body's type.
type Status[T any] struct {
	Code int
	Body T
	// Location, when set, is sent as the Location header (what a 201
	// created).
	Location string
}

func (s Status[T]) reply() (int, any, string) { return s.Code, s.Body, s.Location }
func (s Status[T]) documented() any           { return s.Body }

// Raw registers a handler that reads and writes the request itself (files,
// CSV, bodies of another media type). It must still decode with Decode and
// answer errors with WriteProblem.
func Raw(h http.HandlerFunc) Endpoint { return Endpoint{Handler: h} }

// Serve registers e for op. op.Request and op.Responses[e.Status] come from
// e unless op names them; the other documented statuses stay op's.
func (rt *Router) Serve(op Operation, e Endpoint) {
	if e.Request != nil {
		op.Request = e.Request
	}
	if e.Status != 0 {
		responses := maps.Clone(op.Responses)
		if responses == nil {
			responses = map[int]any{}
		}
		if _, ok := responses[e.Status]; !ok {
			responses[e.Status] = e.Response
		}
		op.Responses = responses
	}
	rt.Handle(op, e.Handler)
}

func answer[Req, Resp any](w http.ResponseWriter, r *http.Request, status int, fn func(*http.Request, Req) (Resp, error), req Req) {
	v, err := fn(r, req)
	if err != nil {
		WriteProblem(w, r, err)
		return
	}
	write(w, r, status, v)
}

func write(w http.ResponseWriter, r *http.Request, status int, v any) {
	if sr, ok := v.(interface{ reply() (int, any, string) }); ok {
		var location string
		status, v, location = sr.reply()
		if location != "" {
			w.Header().Set("Location", location)
		}
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	WriteJSON(w, r, status, v)
}

// body is the documented success body: none for 204 or NoContent.
func body(status int, v any) any {
	if d, ok := v.(interface{ documented() any }); ok {
		v = d.documented()
	}
	if _, none := v.(NoContent); none || status == http.StatusNoContent {
		return nil
	}
	return v
}
