package events_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/events"
)

func asyncAPIDoc(t *testing.T, c *events.Catalog, info events.Info) (raw []byte, doc map[string]any) {
	t.Helper()
	raw, err := events.AsyncAPI(c, info)
	if err != nil {
		t.Fatalf("AsyncAPI: %v", err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("AsyncAPI output is not JSON: %v", err)
	}
	return raw, doc
}

// resolve follows a local JSON pointer such as #/components/schemas/x.
func resolve(doc map[string]any, ref string) (any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// refs collects every $ref in v.
func refs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["$ref"].(string); ok {
			*out = append(*out, r)
		}
		for _, x := range v {
			refs(x, out)
		}
	case []any:
		for _, x := range v {
			refs(x, out)
		}
	}
}

func obj(t *testing.T, v any, path string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", path, v)
	}
	return m
}

func TestAsyncAPIDocument(t *testing.T) {
	c := testCatalog(t)
	_, doc := asyncAPIDoc(t, c, testInfo())

	if doc["asyncapi"] != "3.0.0" {
		t.Fatalf("asyncapi = %v, want 3.0.0", doc["asyncapi"])
	}
	info := obj(t, doc["info"], "info")
	if info["title"] != "deiops events" || info["version"] != "1.0.0" {
		t.Errorf("info = %v", info)
	}
	desc, _ := info["description"].(string)
	for _, want := range []string{"binary content mode", "dei.<service>.<entity>.<action>", ".v2", "deiops.internal", "DEI_<SERVICE>", "ce-id"} {
		if !strings.Contains(desc, want) {
			t.Errorf("info.description does not explain %q", want)
		}
	}
	server := obj(t, obj(t, doc["servers"], "servers")["nats"], "servers.nats")
	if server["host"] != "nats.example.org:4222" || server["protocol"] != "nats" {
		t.Errorf("server = %v", server)
	}

	channels := obj(t, doc["channels"], "channels")
	operations := obj(t, doc["operations"], "operations")
	public := c.Public().Entries()
	if len(channels) != len(public) || len(operations) != len(public) {
		t.Fatalf("%d channels and %d operations for %d public events", len(channels), len(operations), len(public))
	}
	for _, e := range public {
		ch := obj(t, channels[e.Type()], "channel "+e.Type())
		if ch["address"] != e.Subject() {
			t.Errorf("channel %s address = %v, want %s", e.Type(), ch["address"], e.Subject())
		}
		js := obj(t, ch["x-jetstream"], "x-jetstream")
		if js["stream"] != e.Stream() || js["subjects"] != e.StreamSubjects() {
			t.Errorf("channel %s x-jetstream = %v", e.Type(), js)
		}
		if _, internal := ch["x-internal"]; internal {
			t.Errorf("public channel %s is marked x-internal", e.Type())
		}
		op := obj(t, operations["send."+e.Type()], "operation")
		if op["action"] != "send" {
			t.Errorf("operation of %s: action = %v, want send", e.Type(), op["action"])
		}
		if ref := obj(t, op["channel"], "operation channel")["$ref"]; ref != "#/channels/"+e.Type() {
			t.Errorf("operation of %s: channel = %v", e.Type(), ref)
		}

		msg := obj(t, obj(t, obj(t, doc["components"], "components")["messages"], "messages")[e.Type()], "message")
		if ref := obj(t, msg["payload"], "payload")["$ref"]; ref != "#/components/schemas/"+e.Type() {
			t.Errorf("message %s payload = %v", e.Type(), ref)
		}
		headers := obj(t, obj(t, msg["headers"], "headers")["properties"], "headers.properties")
		for k, want := range map[string]string{
			"ce-type":               e.Type(),
			"ce-specversion":        "1.0",
			"ce-dataschema":         e.DataSchema(),
			"ce-dataclassification": "public",
			"content-type":          "application/json",
		} {
			if got := obj(t, headers[k], k)["const"]; got != want {
				t.Errorf("message %s header %s const = %v, want %s", e.Type(), k, got, want)
			}
		}
		for _, k := range []string{"ce-id", "ce-source", "ce-time", "ce-subject", "traceparent"} {
			if _, ok := headers[k]; !ok {
				t.Errorf("message %s does not list header %s", e.Type(), k)
			}
		}
	}
	if _, ok := channels["org.deiops.resolution.case.routed.v1"]; ok {
		t.Error("internal event published in the integrators' document")
	}
}

func TestAsyncAPIRefsResolve(t *testing.T) {
	for _, internal := range []bool{false, true} {
		info := testInfo()
		info.IncludeInternal = internal
		_, doc := asyncAPIDoc(t, testCatalog(t), info)
		var all []string
		refs(doc, &all)
		if len(all) == 0 {
			t.Fatal("document has no $ref")
		}
		for _, r := range all {
			target, ok := resolve(doc, r)
			if !ok {
				t.Errorf("$ref %s does not resolve", r)
				continue
			}
			if strings.HasPrefix(r, "#/components/schemas/") {
				s := obj(t, target, r)
				if s["type"] != "object" || s["properties"] == nil {
					t.Errorf("$ref %s is not an object schema: %v", r, s)
				}
			}
		}
	}
}

func TestAsyncAPIIncludeInternal(t *testing.T) {
	info := testInfo()
	info.IncludeInternal = true
	_, doc := asyncAPIDoc(t, testCatalog(t), info)
	typ := "org.deiops.resolution.case.routed.v1"
	ch := obj(t, obj(t, doc["channels"], "channels")[typ], "internal channel")
	if ch["address"] != "deiops.internal.resolution.case.routed" || ch["x-internal"] != true {
		t.Errorf("internal channel = %v", ch)
	}
	op := obj(t, obj(t, doc["operations"], "operations")["send."+typ], "internal operation")
	if op["x-internal"] != true {
		t.Errorf("internal operation not marked: %v", op)
	}
	msg := obj(t, obj(t, obj(t, doc["components"], "components")["messages"], "messages")[typ], "message")
	headers := obj(t, obj(t, msg["headers"], "headers")["properties"], "headers.properties")
	if c := obj(t, headers["ce-dataclassification"], "classification")["const"]; c != "internal" {
		t.Errorf("internal message classification const = %v", c)
	}
	if len(obj(t, doc["channels"], "channels")) != 4 {
		t.Errorf("want all 4 events with IncludeInternal")
	}
}

func TestAsyncAPIDeterministic(t *testing.T) {
	first, err := events.AsyncAPI(testCatalog(t), testInfo())
	if err != nil {
		t.Fatal(err)
	}
	// Declaration order must not matter either.
	evs := sampleEvents()
	slices.Reverse(evs)
	reversed, err := events.NewCatalog(evs...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		c := testCatalog(t)
		if i%2 == 1 {
			c = reversed
		}
		again, err := events.AsyncAPI(c, testInfo())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("run %d differs from the first run", i)
		}
	}
}

func TestAsyncAPIFormatting(t *testing.T) {
	raw, _ := asyncAPIDoc(t, testCatalog(t), testInfo())
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	if !bytes.Equal(raw, indented.Bytes()) {
		t.Error("output is not 2-space indented JSON ending in a newline")
	}
	if bytes.Contains(raw, []byte(`\u003c`)) || bytes.Contains(raw, []byte(`\u0026`)) {
		t.Error("output escapes < or & (unreadable descriptions)")
	}
	// Keys follow the specification's order, not the alphabet.
	order := []string{`"asyncapi"`, `"info"`, `"servers"`, `"channels"`, `"operations"`, `"components"`}
	last := -1
	for _, k := range order {
		i := bytes.Index(raw, []byte(k))
		if i < last {
			t.Errorf("%s comes before the key preceding it in %v", k, order)
		}
		last = i
	}
}

func TestAsyncAPIRequiresInfo(t *testing.T) {
	_, err := events.AsyncAPI(testCatalog(t), events.Info{})
	if err == nil || !strings.Contains(err.Error(), "version required") || !strings.Contains(err.Error(), "host required") {
		t.Fatalf("AsyncAPI with empty info = %v, want version and host errors", err)
	}
}

func TestAsyncAPIEmptyCatalog(t *testing.T) {
	c, err := events.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	_, doc := asyncAPIDoc(t, c, testInfo())
	if len(obj(t, doc["channels"], "channels")) != 0 {
		t.Error("channels of an empty catalog")
	}
}

// The headers deiops actually writes must satisfy the documented headers
// schema: every required header present and every constant equal.
func TestEncodedHeadersMatchDocument(t *testing.T) {
	_, doc := asyncAPIDoc(t, testCatalog(t), testInfo())
	env := sampleEnvelope(t)
	h := events.Header{}
	env.Encode(h)
	msg := obj(t, obj(t, obj(t, doc["components"], "components")["messages"], "messages")[env.Type], "message")
	headers := obj(t, msg["headers"], "headers")
	for _, k := range headers["required"].([]any) {
		if len(h[k.(string)]) != 1 {
			t.Errorf("required header %s not written by Encode", k)
		}
	}
	for k, p := range obj(t, headers["properties"], "properties") {
		if c, ok := obj(t, p, k)["const"]; ok && (len(h[k]) != 1 || h[k][0] != c) {
			t.Errorf("header %s = %v, document says %v", k, h[k], c)
		}
	}
}

func TestSchemas(t *testing.T) {
	c := testCatalog(t)
	files, err := events.Schemas(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(c.Entries()) {
		t.Fatalf("%d schema files for %d events", len(files), len(c.Entries()))
	}
	for _, e := range c.Entries() {
		name := e.Type() + ".json"
		raw, ok := files[name]
		if !ok {
			t.Errorf("no schema file %s", name)
			continue
		}
		var s map[string]any
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s["$id"] != e.DataSchema() || s["title"] != e.Type() || s["description"] != e.Summary ||
			s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s header = $id %v, title %v, description %v, $schema %v", name, s["$id"], s["title"], s["description"], s["$schema"])
		}
		if bytes.Contains(raw, []byte(`"additionalProperties": false`)) {
			t.Errorf("%s forbids additional properties; adding an optional field must stay compatible", name)
		}
	}
	var s map[string]any
	if err := json.Unmarshal(files["org.deiops.resolution.case.escalated.v1.json"], &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	if got := props["routes"].(map[string]any)["type"]; !slices.Equal(toStrings(got), []string{"array", "null"}) {
		t.Errorf("routes type = %v: a nil slice is written as null", got)
	}
	if got := s["required"]; !slices.Equal(toStrings(got), []string{"case_id", "level", "escalated_at", "routes"}) {
		t.Errorf("required = %v", got)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestMarkdown(t *testing.T) {
	md := string(events.Markdown(testCatalog(t).Public()))
	for _, want := range []string{
		"| Type | Subject | Stream | Classification | Summary |",
		"| [`org.deiops.resolution.case.escalated.v2`](#orgdeiopsresolutioncaseescalatedv2) | `dei.resolution.case.escalated.v2` | `DEI_RESOLUTION` | public | A case moved up its escalation policy (named levels). |",
		"### org.deiops.awareness.training.completed.v1",
		"| `case_id` | string (uuid) | yes | Id of the case. |",
		"| `routes` | array of object, or null | yes |  |",
		"| `routes[].role` | string | yes | Role the case is routed to. One of `resolver`, `lead`, `officer`. |",
		"| `routes[].due` | string (date-time) | yes | When the role must act. |",
		"| `department` | string | no | Department id, when the case has one. |",
		"| `level` | integer | yes | Escalation level reached. minimum 1. |",
		"| `person_id` | string | yes | Directory id of the person \\| not a name. |",
		"| `scores` | map of integer | no |  |",
		"- Schema: [schemas/org.deiops.resolution.case.escalated.v1.json](schemas/org.deiops.resolution.case.escalated.v1.json)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks\n%s", want)
		}
	}
	if strings.Contains(md, "case.routed") {
		t.Error("Markdown of the public catalog lists an internal event")
	}
	if !bytes.Equal(events.Markdown(testCatalog(t).Public()), []byte(md)) {
		t.Error("Markdown is not deterministic")
	}
}
