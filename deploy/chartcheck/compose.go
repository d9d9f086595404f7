package chartcheck

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Compose is the part of a Compose file the checks read. YAML anchors and
// merge keys are resolved while decoding.
type Compose struct {
	Services map[string]ComposeService `json:"services"`
	Volumes  map[string]any            `json:"volumes"`
}

// ComposeService is one service of a Compose file.
type ComposeService struct {
	Image       string         `json:"image"`
	Build       any            `json:"build"`
	Command     any            `json:"command"`
	Environment any            `json:"environment"`
	DependsOn   any            `json:"depends_on"`
	Healthcheck *ComposeHealth `json:"healthcheck"`
	Restart     string         `json:"restart"`
	Volumes     []string       `json:"volumes"`
	Ports       []string       `json:"ports"`
}

// ComposeHealth is a service healthcheck.
type ComposeHealth struct {
	Test    any  `json:"test"`
	Disable bool `json:"disable"`
}

// ParseCompose decodes a Compose file.
func ParseCompose(data []byte) (Compose, error) {
	var c Compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		return Compose{}, err
	}
	if len(c.Services) == 0 {
		return Compose{}, errors.New("no services")
	}
	return c, nil
}

// Env is the service's environment as a map (Compose allows a map or a
// list of KEY=VALUE).
func (s ComposeService) Env() (map[string]string, error) {
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range e {
			if v == nil {
				out[k] = ""
			} else {
				out[k] = fmt.Sprint(v)
			}
		}
	case []any:
		for _, item := range e {
			kv, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("environment entry %v is not a string", item)
			}
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
	default:
		return nil, fmt.Errorf("environment is a %T", e)
	}
	return out, nil
}

// Dependencies maps each service this one depends on to its condition
// (service_started for the short list form).
func (s ComposeService) Dependencies() (map[string]string, error) {
	out := map[string]string{}
	switch d := s.DependsOn.(type) {
	case nil:
	case []any:
		for _, n := range d {
			out[fmt.Sprint(n)] = "service_started"
		}
	case map[string]any:
		for n, v := range d {
			cond := "service_started"
			if m, ok := v.(map[string]any); ok {
				if c, ok := m["condition"].(string); ok {
					cond = c
				}
			}
			out[n] = cond
		}
	default:
		return nil, fmt.Errorf("depends_on is a %T", d)
	}
	return out, nil
}

// HasHealthcheck: a test that is not disabled.
func (s ComposeService) HasHealthcheck() bool {
	if s.Healthcheck == nil || s.Healthcheck.Disable {
		return false
	}
	switch t := s.Healthcheck.Test.(type) {
	case string:
		return t != "" && t != "NONE"
	case []any:
		return len(t) > 1 && t[0] != "NONE"
	}
	return false
}

// OneShot: a service that runs to completion and is never restarted.
func (s ComposeService) OneShot() bool { return s.Restart == "no" }

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// Variables lists every ${NAME...} the file interpolates ($$ escapes excluded).
func Variables(data []byte) []string {
	text := strings.ReplaceAll(string(data), "$$", "")
	var out []string
	for _, m := range interpolation.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// CheckCompose: every service has a healthcheck or is a one-shot; every
// dependency names a service and a condition that service can meet; every
// DEIOPS_* variable set is one deiops reads.
func CheckCompose(c Compose, documented map[string]bool) error {
	var errs []error
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if !s.HasHealthcheck() && !s.OneShot() {
			errs = append(errs, fmt.Errorf("service %s: no healthcheck and not a one-shot (restart: \"no\")", name))
		}
		if s.OneShot() && s.HasHealthcheck() {
			errs = append(errs, fmt.Errorf("service %s: a one-shot with a healthcheck never becomes healthy before it exits", name))
		}
		deps, err := s.Dependencies()
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", name, err))
		}
		for _, dep := range sortedKeys(deps) {
			cond := deps[dep]
			target, ok := c.Services[dep]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("service %s depends on %s, which is not a service", name, dep))
			case cond == "service_healthy" && !target.HasHealthcheck():
				errs = append(errs, fmt.Errorf("service %s waits for %s to be healthy, but it has no healthcheck", name, dep))
			case cond == "service_completed_successfully" && !target.OneShot():
				errs = append(errs, fmt.Errorf("service %s waits for %s to complete, but it is not a one-shot", name, dep))
			case cond != "service_healthy" && cond != "service_completed_successfully" && cond != "service_started":
				errs = append(errs, fmt.Errorf("service %s: unknown depends_on condition %q", name, cond))
			}
		}
		env, err := s.Env()
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", name, err))
		}
		for _, k := range sortedKeys(env) {
			if strings.HasPrefix(k, "DEIOPS_") && !documented[k] {
				errs = append(errs, fmt.Errorf("service %s sets %s, which deiops does not read", name, k))
			}
		}
	}
	if cyc := dependencyCycle(c); cyc != "" {
		errs = append(errs, fmt.Errorf("depends_on cycle: %s", cyc))
	}
	return errors.Join(errs...)
}

func dependencyCycle(c Compose) string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(string) string
	visit = func(n string) string {
		switch state[n] {
		case active:
			return strings.Join(append(path, n), " -> ")
		case done:
			return ""
		}
		state[n] = active
		path = append(path, n)
		deps, _ := c.Services[n].Dependencies()
		for _, d := range sortedKeys(deps) {
			if _, ok := c.Services[d]; ok {
				if cyc := visit(d); cyc != "" {
					return cyc
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return ""
	}
	for _, n := range sortedKeys(c.Services) {
		if cyc := visit(n); cyc != "" {
			return cyc
		}
	}
	return ""
}
