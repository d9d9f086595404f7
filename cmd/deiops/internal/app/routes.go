package app

import (
	"fmt"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/crypto/codechttp"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/directory/directoryhttp"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/platform"
	"github.com/deiops/deiops/pkg/probe"
)

// APIVersion versions the HTTP contract published in docs/openapi; it
// changes with the API, not with every build.
const APIVersion = "1.0.0"

// registerRoutes mounts every HTTP route of a process: the shared platform
// routes once, then each target's. Handlers only use their dependencies
// when called, so the OpenAPI document can be built without infrastructure.
func registerRoutes(r *httpapi.Router, b *bus.Bus, dir *directory.Service, codec *crypto.Codec, targets []platform.Target) {
	probe.Routes(r, b)
	directoryhttp.Routes(r, dir)
	codechttp.Routes(r, codec)
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
	registerRoutes(r, nil, nil, nil, ts)
	return r.OpenAPI("deiops "+target, APIVersion, ""), nil
}
