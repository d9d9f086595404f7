package httpapi

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/deiops/deiops/pkg/jsonschema"
)

// OpenAPIVersion is the version of the documents OpenAPI builds.
const OpenAPIVersion = "3.1.0"

// OpenAPI builds the OpenAPI 3.1 document of every registered operation.
// Schemas come from the Go types via jsonschema, so the document changes
// exactly when the code does; maps marshal with sorted keys, so it is stable
// enough to commit.
func (rt *Router) OpenAPI(title, version, serverURL string) map[string]any {
	paths := map[string]any{}
	for _, op := range rt.Operations() {
		p := openAPIPath(op.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(op.Method)] = openAPIOperation(op)
	}
	doc := map[string]any{
		"openapi": OpenAPIVersion,
		"info":    map[string]any{"title": title, "version": version},
		"paths":   paths,
		"components": map[string]any{
			"schemas": map[string]any{"Problem": problemSchema()},
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
			},
		},
	}
	if serverURL != "" {
		doc["servers"] = []any{map[string]any{"url": serverURL}}
	}
	return doc
}

func openAPIOperation(op Operation) map[string]any {
	o := map[string]any{"operationId": op.ID}
	if op.Summary != "" {
		o["summary"] = op.Summary
	}
	if op.Description != "" {
		o["description"] = op.Description
	}
	if len(op.Tags) > 0 {
		o["tags"] = op.Tags
	}
	if op.Public {
		o["security"] = []any{} // explicitly no authentication
	} else {
		o["security"] = []any{map[string]any{"bearer": []any{}}}
		if len(op.Roles) > 0 {
			o["x-roles"] = op.Roles
		}
	}
	if op.Restricted {
		o["x-restricted"] = true
	}
	var params []any
	for _, name := range pathParams(op.Path) {
		params = append(params, map[string]any{
			"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"},
		})
	}
	for _, q := range op.Query {
		schema := map[string]any{"type": "string"}
		if q.Integer {
			schema = map[string]any{"type": "integer", "minimum": q.Min, "maximum": q.Max}
		}
		if len(q.Enum) > 0 {
			schema["enum"] = q.Enum
		}
		params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false, "description": q.Description, "schema": schema})
	}
	if op.Method == http.MethodPost {
		params = append(params, map[string]any{
			"name": IdempotencyKeyHeader, "in": "header", "required": false,
			"description": "Makes the request safe to retry: the first result is replayed for the same key",
			"schema":      map[string]any{"type": "string", "minLength": 1, "maxLength": maxIdempotencyKeyLen},
		})
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if op.Request != nil {
		o["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{"application/json": map[string]any{"schema": jsonschema.For(reflect.TypeOf(op.Request))}},
		}
	}
	responses := map[string]any{"default": problemResponse("Error")}
	for status, body := range op.Responses {
		if status >= 400 {
			responses[strconv.Itoa(status)] = problemResponse(http.StatusText(status))
			continue
		}
		resp := map[string]any{"description": http.StatusText(status)}
		if body != nil {
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": jsonschema.For(reflect.TypeOf(body))}}
		}
		responses[strconv.Itoa(status)] = resp
	}
	for status, resp := range accessResponses(op) {
		if _, declared := responses[strconv.Itoa(status)]; !declared {
			responses[strconv.Itoa(status)] = resp
		}
	}
	o["responses"] = responses
	return o
}

// accessResponses are the answers of the operation's access rule, which the
// route middleware (pkg/auth) gives before the handler runs, so every
// operation documents them: a route needing a token answers 401 without a
// valid one and, when it has roles, 403 to a token holding none of them; a
// public route accepts no token or a valid one, and answers 401 to a token
// that is not valid. A status the operation declares itself keeps its own
// entry.
func accessResponses(op Operation) map[int]map[string]any {
	challenge := map[string]any{"WWW-Authenticate": map[string]any{
		"description": "The Bearer challenge (RFC 6750)",
		"schema":      map[string]any{"type": "string"},
	}}
	withChallenge := func(description string) map[string]any {
		r := problemResponse(description)
		r["headers"] = challenge
		return r
	}
	if op.Public {
		return map[int]map[string]any{
			http.StatusUnauthorized: withChallenge("Unauthorized: an Authorization header was sent and its bearer token is not valid"),
		}
	}
	out := map[int]map[string]any{
		http.StatusUnauthorized: withChallenge("Unauthorized: a valid bearer token is required"),
	}
	if len(op.Roles) > 0 {
		out[http.StatusForbidden] = withChallenge("Forbidden: the bearer token holds none of the roles listed in x-roles")
	}
	return out
}

func problemResponse(description string) map[string]any {
	return map[string]any{
		"description": description,
		"content": map[string]any{
			ProblemContentType: map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}},
		},
	}
}

// problemSchema is Problem's schema, open to extension members as RFC 9457
// allows.
func problemSchema() map[string]any {
	s := jsonschema.For(reflect.TypeOf(Problem{}))
	delete(s, "additionalProperties")
	return s
}

// openAPIPath turns a ServeMux path into an OpenAPI one: {rest...} becomes
// {rest} and the exact-match marker {$} goes.
func openAPIPath(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	return strings.ReplaceAll(p, "...}", "}")
}

// pathParams lists the {name} wildcards of a ServeMux path in order.
func pathParams(p string) []string {
	var names []string
	for _, seg := range strings.Split(p, "/") {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' && seg != "{$}" {
			names = append(names, strings.TrimSuffix(seg[1:len(seg)-1], "..."))
		}
	}
	return names
}
