// Package jsonschema derives JSON Schema (draft 2020-12) documents from Go
// types by reflection, so that event payloads and HTTP bodies are declared
// once, as structs, and their published schemas cannot drift from the code.
//
// Struct tags read besides `json`:
//
//	desc:"..."      description
//	enum:"a,b,c"    allowed values
//	format:"..."    JSON Schema format (date-time is implied for time.Time)
//	pattern:"..."   regular expression for strings
//	minimum/maximum numeric bounds; minLength/maxLength string bounds
//	example:"..."   one example value (as a string)
package jsonschema

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Schema is a JSON Schema object. Maps marshal with sorted keys, so the
// output is stable and can be committed and diffed.
type Schema = map[string]any

// Draft is the $schema URI of generated documents.
const Draft = "https://json-schema.org/draft/2020-12/schema"

var (
	timeType    = reflect.TypeOf(time.Time{})
	durType     = reflect.TypeOf(time.Duration(0))
	rawType     = reflect.TypeOf(json.RawMessage(nil))
	marshalType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
)

// Describer lets a type supply its own schema (for custom JSON encodings).
type Describer interface {
	JSONSchema() Schema
}

var describerType = reflect.TypeOf((*Describer)(nil)).Elem()

// For returns the schema of t with every nested type inlined.
func For(t reflect.Type) Schema {
	return forType(t, map[reflect.Type]bool{})
}

// Of returns the schema of v's type.
func Of(v any) Schema { return For(reflect.TypeOf(v)) }

// Document returns a standalone schema with $schema, $id and title set.
func Document(t reflect.Type, id, title, description string) Schema {
	s := For(t)
	s["$schema"] = Draft
	if id != "" {
		s["$id"] = id
	}
	if title != "" {
		s["title"] = title
	}
	if description != "" {
		s["description"] = description
	}
	return s
}

func forType(t reflect.Type, visiting map[reflect.Type]bool) Schema {
	if t.Implements(describerType) {
		return reflect.Zero(t).Interface().(Describer).JSONSchema()
	}
	switch t {
	case timeType:
		return Schema{"type": "string", "format": "date-time"}
	case durType:
		return Schema{"type": "string", "description": "Go duration, e.g. 72h or 30m"}
	case rawType:
		return Schema{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return forType(t.Elem(), visiting)
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return Schema{"type": "array", "items": forType(t.Elem(), visiting)}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": forType(t.Elem(), visiting)}
	case reflect.Interface:
		return Schema{}
	case reflect.Struct:
		if t.Implements(marshalType) || reflect.PointerTo(t).Implements(marshalType) {
			return Schema{} // custom encoding without a Describer: any value
		}
		if visiting[t] {
			return Schema{"type": "object"} // recursive type: stop here
		}
		visiting[t] = true
		defer delete(visiting, t)
		return structSchema(t, visiting)
	}
	return Schema{}
}

func structSchema(t reflect.Type, visiting map[reflect.Type]bool) Schema {
	props := Schema{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			s := forType(f.Type, visiting)
			applyTags(s, f.Tag)
			props[name] = s
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
	}
	walk(t)
	s := Schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func applyTags(s Schema, tag reflect.StructTag) {
	if d := tag.Get("desc"); d != "" {
		s["description"] = d
	}
	if e := tag.Get("enum"); e != "" {
		vals := strings.Split(e, ",")
		target := s
		if s["type"] == "array" {
			if items, ok := s["items"].(Schema); ok {
				target = items
			}
		}
		target["enum"] = vals
	}
	if f := tag.Get("format"); f != "" {
		s["format"] = f
	}
	if p := tag.Get("pattern"); p != "" {
		s["pattern"] = p
	}
	for _, k := range []string{"minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"} {
		if v := tag.Get(k); v != "" {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				s[k] = n
			}
		}
	}
	if ex := tag.Get("example"); ex != "" {
		s["examples"] = []any{ex}
	}
}
