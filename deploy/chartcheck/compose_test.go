package chartcheck

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/deiops/deiops/pkg/config"
)

var deiopsTargets = []string{"awareness", "connection", "resolution", "portal"}

func readCompose(t *testing.T) ([]byte, Compose) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCompose(raw)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return raw, c
}

// dotenv reads KEY=VALUE lines (comments and blanks skipped).
func dotenv(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: not KEY=VALUE", path, i+1)
		}
		out[k] = v
	}
	return out
}

var reference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate resolves ${VAR}, ${VAR:-default} and ${VAR:?error} the way
// Compose does, failing on an unset required variable.
func interpolate(s string, vars map[string]string) (string, error) {
	var err error
	out := reference.ReplaceAllStringFunc(s, func(m string) string {
		p := reference.FindStringSubmatch(m)
		v, set := vars[p[1]]
		switch p[2] {
		case ":-":
			if v == "" {
				return p[3]
			}
		case "-":
			if !set {
				return p[3]
			}
		case ":?":
			if v == "" {
				err = fmt.Errorf("%s: %s", p[1], p[3])
			}
		case "?":
			if !set {
				err = fmt.Errorf("%s: %s", p[1], p[3])
			}
		}
		return v
	})
	return strings.ReplaceAll(out, "$$", "$"), err
}

func command(s ComposeService) string {
	switch c := s.Command.(type) {
	case string:
		return c
	case []any:
		parts := make([]string, len(c))
		for i, p := range c {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, " ")
	}
	return ""
}

func TestComposeFile(t *testing.T) {
	_, c := readCompose(t)
	if err := CheckCompose(c, documented(t)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nats", "postgresql", "temporal", "temporal-ui", "redis", "otel-collector", "jaeger", "provision"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no %s service", want)
		}
	}
	// Microservices mode: one container per target, each built from the Dockerfile and
	// started only after provisioning completed.
	for _, target := range deiopsTargets {
		s, ok := c.Services[target]
		if !ok {
			t.Errorf("no %s service", target)
			continue
		}
		if got := command(s); got != "serve --target="+target {
			t.Errorf("%s runs %q, want serve --target=%s", target, got, target)
		}
		b, _ := s.Build.(map[string]any)
		if b["dockerfile"] != "deploy/Dockerfile" || b["context"] != "." {
			t.Errorf("%s is not built from deploy/Dockerfile at the repository root: %v", target, s.Build)
		}
		deps, _ := s.Dependencies()
		if deps["provision"] != "service_completed_successfully" {
			t.Errorf("%s does not wait for provision to complete (%v)", target, deps)
		}
	}
	if got := command(c.Services["provision"]); got != "provision" {
		t.Errorf("provision runs %q", got)
	}
	if cmd := command(c.Services["redis"]); !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis runs %q, want AOF on (--appendonly yes)", cmd)
	}
	// Every file bind-mounted from the repository exists.
	for _, name := range sortedKeys(c.Services) {
		for _, v := range c.Services[name].Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok && !strings.HasPrefix(src, "/") {
				t.Errorf("service %s mounts volume %q, which is not declared", name, src)
			}
		}
	}
	// Host ports are not published twice.
	seen := map[string]string{}
	for _, name := range sortedKeys(c.Services) {
		for _, p := range c.Services[name].Ports {
			host := strings.Split(p, ":")[0]
			if other, dup := seen[host]; dup {
				t.Errorf("host port %s published by %s and %s", host, other, name)
			}
			seen[host] = name
		}
	}
}

// .env.example defines every variable the compose file needs, and with it every deiops
// container's configuration passes the binary's own validation.
func TestComposeConfigurationIsValid(t *testing.T) {
	raw, c := readCompose(t)
	vars := dotenv(t, filepath.Join(repoRoot, ".env.example"))
	docs := documented(t)
	for k := range vars {
		if strings.HasPrefix(k, "DEIOPS_") && !docs[k] {
			t.Errorf(".env.example sets %s, which deiops does not read", k)
		}
	}
	required := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*):?\?`)
	for _, m := range required.FindAllStringSubmatch(string(raw), -1) {
		if vars[m[1]] == "" {
			t.Errorf("docker-compose.yml requires %s, which .env.example does not set", m[1])
		}
	}
	for _, v := range Variables(raw) {
		if _, ok := vars[v]; !ok {
			t.Errorf("docker-compose.yml interpolates %s, which .env.example does not mention", v)
		}
	}
	// The development keys have the documented shape.
	id, key, ok := strings.Cut(vars["DEIOPS_CRYPTO_KEYRING"], ":")
	if b, err := base64.StdEncoding.DecodeString(key); !ok || id == "" || err != nil || len(b) != 32 {
		t.Errorf("DEIOPS_CRYPTO_KEYRING in .env.example is not id:base64(32 bytes)")
	}
	if b, err := base64.StdEncoding.DecodeString(vars["DEIOPS_PRIVACY_HMAC_SECRET"]); err != nil || len(b) < 32 {
		t.Errorf("DEIOPS_PRIVACY_HMAC_SECRET in .env.example is not base64 of at least 32 bytes")
	}

	for _, name := range append([]string{"provision"}, deiopsTargets...) {
		t.Run(name, func(t *testing.T) {
			env, err := c.Services[name].Env()
			if err != nil {
				t.Fatal(err)
			}
			for k := range docs {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			resolved := map[string]string{}
			for k, v := range env {
				if resolved[k], err = interpolate(v, vars); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				if strings.HasPrefix(k, "DEIOPS_") {
					t.Setenv(k, resolved[k])
				}
			}
			cfg, err := config.Load()
			if err != nil {
				t.Fatalf("deiops rejects the compose configuration of %s:\n%v", name, err)
			}
			// Endpoints are the compose services.
			hostOf := func(raw string) string {
				if u, err := url.Parse(raw); err == nil && u.Host != "" {
					return u.Hostname()
				}
				h, _, _ := net.SplitHostPort(raw)
				return h
			}
			for setting, want := range map[string]string{
				cfg.NATS.URL:                            "nats",
				cfg.Temporal.Address:                    "temporal",
				cfg.Redis.URL:                           "redis",
				resolved["OTEL_EXPORTER_OTLP_ENDPOINT"]: "otel-collector",
			} {
				if got := hostOf(setting); got != want {
					t.Errorf("%q points at %q, want the %s service", setting, got, want)
				} else if _, ok := c.Services[want]; !ok {
					t.Errorf("%s is not a service", want)
				}
			}
			if !cfg.Auth.Dev || cfg.Auth.DevKeyFile == "" {
				t.Errorf("compose runs without the development issuer; `deiops token` would not work")
			}
		})
	}
}

func TestComposeChecksCatchMistakes(t *testing.T) {
	docs := map[string]bool{"DEIOPS_NATS_URL": true}
	cases := []struct{ name, compose, want string }{
		{"no healthcheck", `
services:
  app:
    image: x
`, "service app: no healthcheck and not a one-shot"},
		{"unknown dependency", `
services:
  app:
    image: x
    restart: "no"
    depends_on:
      db:
        condition: service_healthy
`, "depends on db, which is not a service"},
		{"healthy without healthcheck", `
services:
  db:
    image: x
    restart: "no"
  app:
    image: x
    restart: "no"
    depends_on:
      db:
        condition: service_healthy
`, "waits for db to be healthy, but it has no healthcheck"},
		{"completion of a long-running service", `
services:
  db:
    image: x
    healthcheck:
      test: ["CMD", "true"]
  app:
    image: x
    restart: "no"
    depends_on:
      db:
        condition: service_completed_successfully
`, "waits for db to complete, but it is not a one-shot"},
		{"undocumented variable", `
services:
  app:
    image: x
    restart: "no"
    environment:
      - DEIOPS_NATS_URL=nats://nats:4222
      - DEIOPS_NATS_SERVER=nats://nats:4222
`, "sets DEIOPS_NATS_SERVER, which deiops does not read"},
		{"disabled healthcheck", `
services:
  app:
    image: x
    healthcheck:
      disable: true
`, "service app: no healthcheck"},
		{"cycle", `
services:
  a:
    image: x
    restart: "no"
    depends_on: [b]
  b:
    image: x
    restart: "no"
    depends_on: [a]
`, "depends_on cycle: a -> b -> a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parsed, err := ParseCompose([]byte(c.compose))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckCompose(parsed, docs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// The collector's pipelines use only components it defines, and its health
// endpoint is the one compose checks.
func TestOtelCollectorConfig(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "otel-collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Extensions map[string]map[string]any `json:"extensions"`
		Receivers  map[string]any            `json:"receivers"`
		Processors map[string]any            `json:"processors"`
		Exporters  map[string]any            `json:"exporters"`
		Service    struct {
			Extensions []string `json:"extensions"`
			Pipelines  map[string]struct {
				Receivers  []string `json:"receivers"`
				Processors []string `json:"processors"`
				Exporters  []string `json:"exporters"`
			} `json:"pipelines"`
		} `json:"service"`
	}
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Service.Pipelines["traces"]; !ok {
		t.Fatal("no traces pipeline")
	}
	for name, p := range cfg.Service.Pipelines {
		for kind, list := range map[string][]string{"receiver": p.Receivers, "processor": p.Processors, "exporter": p.Exporters} {
			defined := map[string]map[string]any{"receiver": cfg.Receivers, "processor": cfg.Processors, "exporter": cfg.Exporters}[kind]
			if len(list) == 0 && kind != "processor" {
				t.Errorf("pipeline %s has no %s", name, kind)
			}
			for _, id := range list {
				if _, ok := defined[id]; !ok {
					t.Errorf("pipeline %s uses %s %s, which is not defined", name, kind, id)
				}
			}
		}
	}
	if !slices.Contains(cfg.Service.Extensions, "health_check") {
		t.Fatal("the health_check extension is not enabled")
	}
	_, port, err := net.SplitHostPort(fmt.Sprint(cfg.Extensions["health_check"]["endpoint"]))
	if err != nil {
		t.Fatal(err)
	}
	_, c := readCompose(t)
	if hc := fmt.Sprint(c.Services["otel-collector"].Healthcheck.Test); !strings.Contains(hc, ":"+port+"/") {
		t.Errorf("compose checks the collector with %s, but its health endpoint listens on %s", hc, port)
	}
	exp, _ := cfg.Exporters["otlp/jaeger"].(map[string]any)
	if host, _, _ := net.SplitHostPort(fmt.Sprint(exp["endpoint"])); host != "jaeger" {
		t.Errorf("traces go to %v, want the jaeger service", exp["endpoint"])
	} else if _, ok := c.Services["jaeger"]; !ok {
		t.Error("no jaeger service")
	}
}
