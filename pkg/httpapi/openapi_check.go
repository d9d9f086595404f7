package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// MarshalDocument renders doc the way it is committed (docs/openapi/<target>.json):
// indented, keys sorted, HTML left unescaped, ending in a newline.
func MarshalDocument(doc map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("marshal openapi document: %w", err)
	}
	return buf.Bytes(), nil
}

// DocumentDiff says how the served API and a committed document disagree.
type DocumentDiff struct {
	Missing []string // served operations the committed document lacks
	Extra   []string // committed operations no longer served
	Changed []string // operations in both whose definitions differ
	Other   []string // top-level members (info, servers, components) that differ
}

func (d *DocumentDiff) empty() bool {
	return len(d.Missing)+len(d.Extra)+len(d.Changed)+len(d.Other) == 0
}

// Error lists every difference and how to fix it.
func (d *DocumentDiff) Error() string {
	var b strings.Builder
	b.WriteString("openapi document is out of date with the routes")
	section := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:", title)
		for _, it := range items {
			b.WriteString("\n  ")
			b.WriteString(it)
		}
	}
	section("missing from the committed document (served but undocumented)", d.Missing)
	section("extra in the committed document (documented but not served)", d.Extra)
	section("changed", d.Changed)
	section("other differences", d.Other)
	b.WriteString("\nregenerate the committed document from the router")
	return b.String()
}

// CheckDocument compares doc (Router.OpenAPI) with a committed document and
// returns a *DocumentDiff naming each operation that is missing, extra or
// changed, or nil when they agree. A service's test calls it with the
// committed docs/openapi/<target>.json so that a route cannot be added,
// removed or changed without the published document following.
func CheckDocument(doc map[string]any, committed []byte) error {
	got, err := normalize(doc)
	if err != nil {
		return err
	}
	var want map[string]any
	if err := json.Unmarshal(committed, &want); err != nil {
		return fmt.Errorf("parse committed openapi document: %w", err)
	}
	d := &DocumentDiff{}
	gotOps, wantOps := operationsOf(got), operationsOf(want)
	for _, k := range sortedKeys(gotOps) {
		w, ok := wantOps[k]
		switch {
		case !ok:
			d.Missing = append(d.Missing, k)
		case !reflect.DeepEqual(gotOps[k], w):
			d.Changed = append(d.Changed, k)
		}
	}
	for _, k := range sortedKeys(wantOps) {
		if _, ok := gotOps[k]; !ok {
			d.Extra = append(d.Extra, k)
		}
	}
	for _, k := range sortedKeys(unionKeys(got, want)) {
		if k != "paths" && !reflect.DeepEqual(got[k], want[k]) {
			d.Other = append(d.Other, k)
		}
	}
	if d.empty() {
		return nil
	}
	return d
}

// normalize round-trips doc through JSON so it compares equal to a parsed file.
func normalize(doc map[string]any) (map[string]any, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal openapi document: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("reparse openapi document: %w", err)
	}
	return out, nil
}

// operationsOf indexes a parsed document's operations as
// "METHOD /path (operationId)".
func operationsOf(doc map[string]any) map[string]any {
	ops := map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		methods, _ := item.(map[string]any)
		for method, op := range methods {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			default:
				continue // path-level members such as parameters or summary
			}
			id := ""
			if m, ok := op.(map[string]any); ok {
				id, _ = m["operationId"].(string)
			}
			ops[fmt.Sprintf("%s %s (%s)", strings.ToUpper(method), path, id)] = op
		}
		if _, ok := methods["parameters"]; ok {
			ops["parameters of "+path] = methods["parameters"]
		}
	}
	return ops
}

func unionKeys(a, b map[string]any) map[string]any {
	u := make(map[string]any, len(a)+len(b))
	for k := range a {
		u[k] = nil
	}
	for k := range b {
		u[k] = nil
	}
	return u
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
