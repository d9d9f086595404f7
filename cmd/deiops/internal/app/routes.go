package app

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/directoryhttp"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/pkg/probe"
)

// APIVersion versions the HTTP contract published in docs/openapi; it
// changes with the API, not with every build.
const APIVersion = "1.0.0"

// CodecPayloads is the body of the codec-server endpoints (Temporal's
// {"payloads": [...]} shape).
type CodecPayloads struct {
	Payloads []json.RawMessage `json:"payloads"`
}

// registerRoutes mounts every HTTP route of a process: the shared platform
// routes once, then each target's. Handlers only use their dependencies
// when called, so the OpenAPI document can be built without infrastructure.
func registerRoutes(r *httpapi.Router, b *bus.Bus, dir *directory.Service, codec http.Handler, targets []platform.Target) {
	probe.Routes(r, b)
	directoryhttp.Routes(r, dir)
	for _, path := range []string{"/v1/codec/encode", "/v1/codec/decode"} {
		r.Handle(httpapi.Operation{
			Method: http.MethodPost, Path: path, ID: "codec" + path[len("/v1/codec/"):], Tags: []string{"platform"},
			Summary:    "Temporal codec server: decrypt or encrypt workflow payloads for the Temporal UI and CLI",
			Roles:      []string{"admin"},
			Restricted: true,
			Request:    CodecPayloads{},
			Responses:  map[int]any{http.StatusOK: CodecPayloads{}},
		}, codec)
	}
	for _, t := range targets {
		t.Routes(r)
	}
}

// OpenAPI builds the API document of a process running the named targets
// ("all" or a list), exactly as that process serves it at /openapi.json.
func OpenAPI(target string) (map[string]any, error) {
	names := config.TargetNames()
	if target != "all" {
		names = []string{target}
	}
	var ts []platform.Target
	for _, n := range names {
		ctor, ok := Targets()[n]
		if !ok {
			return nil, fmt.Errorf("unknown target %q", n)
		}
		t, err := ctor(platform.Deps{})
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	r := httpapi.NewRouter(httpapi.RouterOptions{})
	registerRoutes(r, nil, nil, http.NotFoundHandler(), ts)
	return r.OpenAPI("deiops "+target, APIVersion, ""), nil
}
