package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/deiops/deiops/pkg/jsonschema"
)

// Markdown renders c as a human catalog: a table of every event type, then
// for each one its routing and the fields of its data. The fields come from
// the same schema as the published JSON Schema, so the two cannot disagree.
func Markdown(c *Catalog) []byte {
	var b bytes.Buffer
	b.WriteString("# deiops event catalog\n\n")
	b.WriteString("Generated from the event declarations; do not edit. ")
	b.WriteString("The machine-readable contract is [" + AsyncAPIFile + "](" + AsyncAPIFile + ") (AsyncAPI " +
		AsyncAPIVersion + ") with one JSON Schema per event type in [" + SchemaDir + "/](" + SchemaDir + "/).\n\n")
	b.WriteString(conventions(hasInternal(c)))
	b.WriteString("\n\n## Events\n\n")
	if len(c.entries) == 0 {
		b.WriteString("No event types are declared.\n")
		return b.Bytes()
	}
	b.WriteString("| Type | Subject | Stream | Classification | Summary |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, e := range c.entries {
		fmt.Fprintf(&b, "| [`%s`](#%s) | `%s` | `%s` | %s | %s |\n",
			e.Type(), anchor(e.Type()), e.Subject(), e.Stream(), e.Classification(), cell(e.Summary))
	}
	for _, e := range c.entries {
		s := payloadSchema(e)
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", e.Type(), oneLine(e.Summary))
		fmt.Fprintf(&b, "- Subject: `%s`\n", e.Subject())
		fmt.Fprintf(&b, "- Stream: `%s` (subjects `%s`)\n", e.Stream(), e.StreamSubjects())
		fmt.Fprintf(&b, "- Classification: %s\n", e.Classification())
		fmt.Fprintf(&b, "- Schema: [%s/%s](%s/%s), `$id` `%s`\n\n",
			SchemaDir, schemaFile(e.Spec), SchemaDir, schemaFile(e.Spec), e.DataSchema())
		var rows []fieldRow
		fieldRows("", s, &rows)
		if len(rows) == 0 {
			b.WriteString("The data has no fields.\n")
			continue
		}
		b.WriteString("| Field | Type | Required | Description |\n")
		b.WriteString("|---|---|---|---|\n")
		for _, r := range rows {
			req := "no"
			if r.required {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", cell(r.path), cell(r.typ), req, cell(r.desc))
		}
	}
	return b.Bytes()
}

func hasInternal(c *Catalog) bool {
	for _, e := range c.entries {
		if e.Internal {
			return true
		}
	}
	return false
}

type fieldRow struct {
	path, typ, desc string
	required        bool
}

// fieldRows flattens the properties of s, depth first in name order:
// nested objects as parent.child, array items as parent[].child and map
// values as parent.*.child.
func fieldRows(prefix string, s jsonschema.Schema, rows *[]fieldRow) {
	props, _ := s["properties"].(jsonschema.Schema)
	required := map[string]bool{}
	switch req := s["required"].(type) {
	case []string:
		for _, name := range req {
			required[name] = true
		}
	case []any: // from a Describer
		for _, name := range req {
			if n, ok := name.(string); ok {
				required[n] = true
			}
		}
	}
	for _, name := range sortedKeys(props) {
		ps, _ := props[name].(jsonschema.Schema)
		path := prefix + name
		*rows = append(*rows, fieldRow{path: path, typ: typeName(ps), desc: fieldDesc(ps), required: required[name]})
		nested(path, ps, rows)
	}
}

func nested(path string, s jsonschema.Schema, rows *[]fieldRow) {
	switch typ, _ := jsonschema.BaseType(s); typ {
	case "object":
		if _, ok := s["properties"]; ok {
			fieldRows(path+".", s, rows)
		} else if ap, ok := s["additionalProperties"].(jsonschema.Schema); ok {
			nested(path+".*", ap, rows)
		}
	case "array":
		if items, ok := s["items"].(jsonschema.Schema); ok {
			nested(path+"[]", items, rows)
		}
	}
}

func typeName(s jsonschema.Schema) string {
	typ, null := jsonschema.BaseType(s)
	var name string
	switch typ {
	case "":
		name = "any"
	case "array":
		items, _ := s["items"].(jsonschema.Schema)
		name = "array of " + typeName(items)
	case "object":
		name = "object"
		if ap, ok := s["additionalProperties"].(jsonschema.Schema); ok {
			name = "map of " + typeName(ap)
		}
	default:
		name = typ
		if f, ok := s["format"].(string); ok {
			name += " (" + f + ")"
		} else if enc, ok := s["contentEncoding"].(string); ok {
			name += " (" + enc + ")"
		}
	}
	if null {
		if strings.Contains(name, " of ") {
			name += "," // "map of string, or null": the map may be null, not its values
		}
		name += " or null"
	}
	return name
}

func fieldDesc(s jsonschema.Schema) string {
	var parts []string
	if d, ok := s["description"].(string); ok && d != "" {
		parts = append(parts, strings.TrimRight(oneLine(d), ".")+".")
	}
	if enum, ok := s["enum"].([]any); ok {
		vals := make([]string, len(enum))
		for i, v := range enum {
			vals[i] = "`" + literal(v) + "`"
		}
		parts = append(parts, "One of "+strings.Join(vals, ", ")+".")
	}
	if p, ok := s["pattern"].(string); ok {
		parts = append(parts, "Pattern `"+p+"`.")
	}
	for _, k := range []string{"minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"} {
		if v, ok := s[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %s.", k, literal(v)))
		}
	}
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
		parts = append(parts, "Example `"+literal(ex[0])+"`.")
	}
	return strings.Join(parts, " ")
}

// literal shows a schema value as it would appear in JSON, strings bare.
func literal(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// cell makes text safe inside a table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// anchor is the id GitHub gives a heading: lowercase, punctuation other than
// '-' and '_' dropped, spaces as '-'.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
