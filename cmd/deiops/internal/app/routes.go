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
// ("all" or a list), as that process serves it at /openapi.json except for
// servers: a process names its DEIOPS_HTTP_PUBLIC_URL there, the document
// built here (and committed in docs/openapi) names that setting's default,
// the address of `deiops dev` (see DocumentServers).
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
	servers, err := DocumentServers()
	if err != nil {
		return nil, err
	}
	doc := r.OpenAPI("deiops "+target, APIVersion, "")
	doc["servers"] = servers
	return doc, nil
}

// DocumentServers is the servers member of the committed documents: the
// default DEIOPS_HTTP_PUBLIC_URL, where `deiops dev` (and a process left
// at its defaults) listens, so that a client generated from a committed
// document works against a local deiops as it is. An installation's own
// URL is in the document its processes serve at /openapi.json.
func DocumentServers() ([]any, error) {
	vars, err := config.Variables()
	if err != nil {
		return nil, err
	}
	for _, v := range vars {
		if v.Name == config.Prefix+"_HTTP_PUBLIC_URL" {
			return []any{map[string]any{
				"url": v.Default,
				"description": "deiops dev, or any process left at the default " + v.Name +
					"; an installation serves its own URL here in /openapi.json",
			}}, nil
		}
	}
	return nil, fmt.Errorf("no %s_HTTP_PUBLIC_URL setting", config.Prefix)
}
