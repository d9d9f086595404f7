package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/deiops/deiops/pkg/jsonschema"
)

// Schemas returns one standalone JSON Schema document per event type of c,
// keyed by file name <type>.json. Each $id is the type's DataSchema, the
// value events carry in ce-dataschema.
func Schemas(c *Catalog) (map[string][]byte, error) {
	out := make(map[string][]byte, len(c.entries))
	for _, e := range c.entries {
		doc := payloadSchema(e)
		doc["$schema"] = jsonschema.Draft
		doc["$id"] = e.DataSchema()
		b, err := marshalDoc(doc)
		if err != nil {
			return nil, fmt.Errorf("schema of %s: %w", e.Type(), err)
		}
		out[schemaFile(e.Spec)] = b
	}
	return out, nil
}

// schemaFile is the file name of the standalone schema of s.
func schemaFile(s Spec) string { return s.Type() + ".json" }

// payloadSchema is the schema of an event's data as integrators see it.
//
// jsonschema closes every object (additionalProperties: false), which suits
// request bodies. Event schemas stay open instead: adding an optional field
// to a version is the one change the contract allows without a new version,
// and a consumer validating against a closed schema would reject it.
func payloadSchema(e Entry) jsonschema.Schema {
	s := jsonschema.For(e.GoType)
	openObjects(s)
	s["title"] = e.Type()
	s["description"] = e.Summary
	return s
}

func openObjects(v any) {
	switch v := v.(type) {
	case map[string]any:
		if v["additionalProperties"] == false {
			delete(v, "additionalProperties")
		}
		for _, x := range v {
			openObjects(x)
		}
	case []any:
		for _, x := range v {
			openObjects(x)
		}
	}
}

// marshalDoc writes the committed form of a document: two-space indent,
// keys in a fixed order (struct fields as declared, maps sorted), no HTML
// escaping (descriptions contain <service> and &), and a final newline.
func marshalDoc(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// title is a short human name, e.g. "resolution case escalated (v1)".
func title(s Spec) string {
	return strings.ReplaceAll(fmt.Sprintf("%s %s %s (v%d)", s.Service, s.Entity, s.Action, s.Version), "_", " ")
}
