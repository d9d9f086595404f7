package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/caller"
)

type createNote struct {
	Text string `json:"text" desc:"The note" maxLength:"2000"`
}

type note struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// sampleRouter registers the operations the committed testdata document
// describes.
func sampleRouter(o RouterOptions) *Router {
	rt := NewRouter(o)
	rt.HandleFunc(Operation{
		Method: "POST", Path: "/v1/cases/{id}/notes", ID: "addNote", Summary: "Add a note to a case",
		Tags: []string{"cases"}, Request: createNote{}, Responses: map[int]any{201: note{}, 404: nil},
		Roles: []caller.Role{caller.Resolver}, Restricted: true,
	}, func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, r, http.StatusCreated, note{ID: r.PathValue("id"), Text: "t"})
	})
	rt.HandleFunc(Operation{
		Method: "GET", Path: "/v1/trainings", ID: "listTrainings", Summary: "List trainings",
		Tags: []string{"awareness"}, Responses: map[int]any{200: []note{}}, Public: true,
	}, func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, r, http.StatusOK, []note{})
	})
	return rt
}

func TestRouterServes(t *testing.T) {
	var seen []string
	rt := sampleRouter(RouterOptions{RouteMiddleware: []RouteMiddleware{
		func(op Operation, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = append(seen, op.ID+":"+strings.Join(caller.Names(op.Roles...), ","))
				next.ServeHTTP(w, r)
			})
		},
	}})
	tests := []struct {
		name        string
		method      string
		target      string
		wantStatus  int
		wantNoStore bool
		wantAllow   string
	}{
		{"restricted route", "POST", "/v1/cases/c1/notes", 201, true, ""},
		{"public route", "GET", "/v1/trainings", 200, false, ""},
		{"unknown path", "GET", "/v1/cases/c1/secrets", 404, false, ""},
		{"wrong method", "DELETE", "/v1/trainings", 405, false, "GET, HEAD"},
		{"openapi document", "GET", "/openapi.json", 200, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(rt, jsonRequest(tc.method, tc.target, `{"text":"x"}`))
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			if got := w.Header().Get("Cache-Control") == "no-store"; got != tc.wantNoStore && w.Code < 400 {
				t.Errorf("no-store = %v, want %v", got, tc.wantNoStore)
			}
			if w.Code >= 400 {
				p := decodeProblemBody(t, w)
				if p.Detail != "" || strings.Contains(w.Body.String(), "c1") || strings.Contains(w.Body.String(), "secrets") {
					t.Errorf("unmatched request revealed something: %s", w.Body)
				}
			}
			if tc.wantAllow != "" && w.Header().Get("Allow") != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", w.Header().Get("Allow"), tc.wantAllow)
			}
		})
	}
	if strings.Join(seen, " ") != "addNote:resolver listTrainings:" {
		t.Errorf("route middleware saw %v", seen)
	}
}

func TestRouterRecordsRoute(t *testing.T) {
	rt := sampleRouter(RouterOptions{})
	var route string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ri := withRouteInfo(r)
		rt.ServeHTTP(w, r)
		route = routePath(ri.pattern)
	})
	serve(h, jsonRequest("POST", "/v1/cases/c1/notes", `{}`))
	if route != "/v1/cases/{id}/notes" {
		t.Errorf("route = %q", route)
	}
}

func TestRouterRejectsBadRegistrations(t *testing.T) {
	ok := func(http.ResponseWriter, *http.Request) {}
	tests := []struct {
		name string
		op   Operation
	}{
		{"no id", Operation{Method: "GET", Path: "/a"}},
		{"bad method", Operation{Method: "get", Path: "/a", ID: "a"}},
		{"relative path", Operation{Method: "GET", Path: "a", ID: "a"}},
		{"duplicate id", Operation{Method: "GET", Path: "/other", ID: "listTrainings"}},
		{"duplicate route", Operation{Method: "GET", Path: "/v1/trainings", ID: "again"}},
		{"bad status", Operation{Method: "GET", Path: "/b", ID: "b", Responses: map[int]any{42: nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := sampleRouter(RouterOptions{})
			defer func() {
				if recover() == nil {
					t.Error("want a panic")
				}
			}()
			rt.HandleFunc(tc.op, ok)
		})
	}
}

func TestOpenAPIDocument(t *testing.T) {
	doc := sampleRouter(RouterOptions{}).OpenAPI("deiops resolution", "1.0.0", "https://deiops.example")
	raw, err := MarshalDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string           `json:"operationId"`
			Security    []map[string]any `json:"security"`
			Roles       []string         `json:"x-roles"`
			Restricted  bool             `json:"x-restricted"`
			Parameters  []struct {
				Name     string `json:"name"`
				In       string `json:"in"`
				Required bool   `json:"required"`
			} `json:"parameters"`
			RequestBody struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas         map[string]any `json:"schemas"`
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", d.OpenAPI)
	}
	add := d.Paths["/v1/cases/{id}/notes"]["post"]
	if add.OperationID != "addNote" || !add.Restricted || len(add.Roles) != 1 || len(add.Security) != 1 {
		t.Errorf("addNote = %+v", add)
	}
	if len(add.Parameters) != 2 || add.Parameters[0].Name != "id" || add.Parameters[0].In != "path" || !add.Parameters[0].Required ||
		add.Parameters[1].Name != IdempotencyKeyHeader || add.Parameters[1].In != "header" {
		t.Errorf("parameters = %+v", add.Parameters)
	}
	if props, _ := add.RequestBody.Content["application/json"].Schema["properties"].(map[string]any); props["text"] == nil {
		t.Errorf("request schema = %v", add.RequestBody.Content)
	}
	if add.Responses["201"].Content["application/json"].Schema["type"] != "object" {
		t.Errorf("201 schema = %v", add.Responses["201"])
	}
	for _, status := range []string{"404", "default"} {
		if ref := add.Responses[status].Content[ProblemContentType].Schema["$ref"]; ref != "#/components/schemas/Problem" {
			t.Errorf("%s response schema = %v", status, add.Responses[status])
		}
	}
	list := d.Paths["/v1/trainings"]["get"]
	if len(list.Security) != 0 || list.Restricted || len(list.Parameters) != 0 {
		t.Errorf("listTrainings = %+v", list)
	}
	if d.Components.Schemas["Problem"] == nil || d.Components.SecuritySchemes["bearer"] == nil {
		t.Errorf("components = %+v", d.Components)
	}
}

func TestOpenAPIPaths(t *testing.T) {
	tests := []struct {
		in, want string
		params   []string
	}{
		{"/v1/cases/{id}/notes/{note}", "/v1/cases/{id}/notes/{note}", []string{"id", "note"}},
		{"/files/{path...}", "/files/{path}", []string{"path"}},
		{"/v1/{$}", "/v1/", nil},
	}
	for _, tc := range tests {
		if got := openAPIPath(tc.in); got != tc.want {
			t.Errorf("openAPIPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := pathParams(tc.in); strings.Join(got, ",") != strings.Join(tc.params, ",") {
			t.Errorf("pathParams(%q) = %v, want %v", tc.in, got, tc.params)
		}
	}
}

// The access rule's answers are documented on every operation it guards:
// 401 (and 403 with roles) for a secured route, 401 for a bad token on a
// public one; a status the operation declares keeps its own entry.
func TestOpenAPIDocumentsAccessResponses(t *testing.T) {
	rt := NewRouter(RouterOptions{})
	ok := func(w http.ResponseWriter, r *http.Request) {}
	rt.HandleFunc(Operation{Method: "GET", Path: "/roles", ID: "roles", Roles: []caller.Role{caller.Resolver}}, ok)
	rt.HandleFunc(Operation{Method: "GET", Path: "/signed-in", ID: "signedIn"}, ok)
	rt.HandleFunc(Operation{Method: "GET", Path: "/public", ID: "public", Public: true}, ok)
	rt.HandleFunc(Operation{Method: "GET", Path: "/secret", ID: "secret", Public: true,
		Responses: map[int]any{http.StatusUnauthorized: nil}}, ok)
	raw, err := MarshalDocument(rt.OpenAPI("t", "1", ""))
	if err != nil {
		t.Fatal(err)
	}
	type response struct {
		Description string `json:"description"`
		Content     map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
		Headers map[string]any `json:"headers"`
	}
	var d struct {
		Paths map[string]map[string]struct {
			Responses map[string]response `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path      string
		want      []string
		wantNot   []string
		challenge bool
	}{
		{"/roles", []string{"401", "403"}, nil, true},
		{"/signed-in", []string{"401"}, []string{"403"}, true},
		{"/public", []string{"401"}, []string{"403"}, true},
		{"/secret", []string{"401"}, []string{"403"}, false},
	}
	for _, tc := range tests {
		responses := d.Paths[tc.path]["get"].Responses
		for _, status := range tc.want {
			r, ok := responses[status]
			if !ok {
				t.Errorf("%s: no %s response in %v", tc.path, status, responses)
				continue
			}
			if ref := r.Content[ProblemContentType].Schema["$ref"]; ref != "#/components/schemas/Problem" {
				t.Errorf("%s %s: schema = %v", tc.path, status, r.Content)
			}
			if _, has := r.Headers["WWW-Authenticate"]; has != tc.challenge {
				t.Errorf("%s %s: WWW-Authenticate documented = %v, want %v", tc.path, status, has, tc.challenge)
			}
		}
		for _, status := range tc.wantNot {
			if _, ok := responses[status]; ok {
				t.Errorf("%s: unexpected %s response", tc.path, status)
			}
		}
	}
	if got := d.Paths["/secret"]["get"].Responses["401"].Description; got != "Unauthorized" {
		t.Errorf("declared 401 description = %q, want the declared entry kept", got)
	}
}
