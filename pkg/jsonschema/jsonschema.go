// Package jsonschema derives JSON Schema (draft 2020-12) documents from Go
// types by reflection, so that event payloads and HTTP bodies are declared
// once, as structs, and their published schemas cannot drift from the code.
//
// The schema describes what encoding/json produces for the type: field names
// and promotion rules of embedded structs, null for nil pointers, slices and
// maps, base64 for []byte, strings for encoding.TextMarshaler types, and
// integer nanoseconds for time.Duration.
//
// Struct tags read besides `json`:
//
//	desc:"..."      description
//	enum:"a,b,c"    allowed values (typed like the field: enum:"1,2" on an int is [1,2])
//	format:"..."    JSON Schema format (date-time is implied for time.Time)
//	pattern:"..."   regular expression for strings
//	minimum/maximum numeric bounds; minLength/maxLength string bounds;
//	minItems/maxItems array bounds
//	example:"..."   one example value (typed like enum)
package jsonschema

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Schema is a JSON Schema object. Maps marshal with sorted keys, so the
// output is stable and can be committed and diffed.
type Schema = map[string]any

// Draft is the $schema URI of generated documents.
const Draft = "https://json-schema.org/draft/2020-12/schema"

var (
	timeType      = reflect.TypeFor[time.Time]()
	durType       = reflect.TypeFor[time.Duration]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalType   = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	describerType = reflect.TypeFor[Describer]()
)

// Describer lets a type supply its own schema (for custom JSON encodings).
// The returned schema is copied, so an implementation may return a shared
// value.
type Describer interface {
	JSONSchema() Schema
}

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
	// encoding/json follows pointers; whether nil (null) is possible is
	// decided by the caller, which knows about omitempty.
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := described(t); ok {
		return s
	}
	switch t {
	case timeType:
		return Schema{"type": "string", "format": "date-time"}
	case durType:
		// time.Duration has no JSON methods: encoding/json writes int64 nanoseconds.
		return Schema{"type": "integer", "description": "duration in nanoseconds"}
	case rawType:
		return Schema{}
	}
	if implements(t, marshalType) {
		return Schema{} // custom encoding without a Describer: any value
	}
	if implements(t, textType) {
		return Schema{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Slice:
		// Only slices of bytes are base64; byte arrays are arrays of numbers.
		if t.Elem().Kind() == reflect.Uint8 && !custom(t.Elem()) {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		return Schema{"type": "array", "items": element(t.Elem(), visiting)}
	case reflect.Array:
		return Schema{"type": "array", "items": element(t.Elem(), visiting),
			"minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": element(t.Elem(), visiting)}
	case reflect.Interface:
		return Schema{}
	case reflect.Struct:
		if visiting[t] {
			return Schema{"type": "object"} // recursive type: stop here
		}
		visiting[t] = true
		defer delete(visiting, t)
		return structSchema(t, visiting)
	}
	return Schema{}
}

// element is the schema of a slice item or map value, which encoding/json
// writes as null when it is a nil pointer, slice or map.
func element(t reflect.Type, visiting map[reflect.Type]bool) Schema {
	s := forType(t, visiting)
	if canBeNull(t) {
		allowNull(s)
	}
	return s
}

// described calls a Describer on a usable value: a nil pointer would make
// value-receiver methods panic, and a nil interface has no method at all.
func described(t reflect.Type) (Schema, bool) {
	var v reflect.Value
	switch {
	case t.Kind() == reflect.Interface:
		return nil, false
	case t.Implements(describerType):
		v = reflect.Zero(t)
	case reflect.PointerTo(t).Implements(describerType):
		v = reflect.New(t)
	default:
		return nil, false
	}
	s, _ := clone(v.Interface().(Describer).JSONSchema()).(Schema)
	if s == nil {
		s = Schema{}
	}
	return s, true
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// custom reports a type whose encoding its own methods decide.
func custom(t reflect.Type) bool {
	return t.Kind() != reflect.Interface &&
		(implements(t, marshalType) || implements(t, textType) || implements(t, describerType))
}

// canBeNull reports whether encoding/json may write null for a value of t.
// Custom encoders are called even for nil slices and maps; only nil
// pointers and interfaces short-circuit to null.
func canBeNull(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		return true
	case reflect.Slice, reflect.Map:
		return !custom(t)
	}
	return false
}

// allowNull widens s to accept null. A schema without a type accepts it
// already.
func allowNull(s Schema) {
	typ, ok := s["type"].(string)
	if !ok || typ == "null" {
		return
	}
	s["type"] = []any{typ, "null"}
	if e, ok := s["enum"].([]any); ok {
		s["enum"] = append(e, nil)
	}
}

func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = clone(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = clone(x)
		}
		return out
	case []string:
		return append([]string(nil), v...)
	}
	return v
}

// field is one JSON member found while walking a struct and the structs it
// embeds.
type field struct {
	name     string
	depth    int
	tagged   bool
	order    int
	typ      reflect.Type
	schema   Schema
	required bool
}

// Member is one JSON member of a struct type, as encoding/json sees it.
type Member struct {
	Name string
	Type reflect.Type
	// Required is the schema's rule: a member is required unless it is
	// omitempty/omitzero, a pointer, or promoted through an embedded pointer.
	// Request decoding enforces the same rule, so the published schema and
	// the server agree on what may be left out.
	Required bool
	// Custom is set when the type decodes itself (json.Unmarshaler or
	// encoding.TextUnmarshaler): its inside is not a JSON object of members.
	Custom bool
}

// Members lists the JSON members of struct type t (pointers followed) in
// declaration order; nil for any other kind.
func Members(t reflect.Type) []Member {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType {
		return nil
	}
	kept := structFields(t, map[reflect.Type]bool{})
	out := make([]Member, len(kept))
	for i, f := range kept {
		out[i] = Member{Name: f.name, Type: f.typ, Required: f.required, Custom: selfDecoding(f.typ)}
	}
	return out
}

var (
	unmarshalType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// selfDecoding reports whether t (or *t) decodes its own JSON.
func selfDecoding(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	return t == timeType || pt.Implements(unmarshalType) || pt.Implements(textUnmarshalType)
}

func structSchema(t reflect.Type, visiting map[reflect.Type]bool) Schema {
	kept := structFields(t, visiting)
	props := Schema{}
	var required []string
	for _, f := range kept {
		props[f.name] = f.schema
		if f.required {
			required = append(required, f.name)
		}
	}
	s := Schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// structFields returns the members encoding/json keeps for t.
func structFields(t reflect.Type, visiting map[reflect.Type]bool) []field {
	var found []field
	walkFields(t, 0, false, map[reflect.Type]bool{t: true}, visiting, &found)

	// encoding/json's rule for clashing names: the shallowest field wins;
	// at equal depth a single tagged field wins; otherwise all are dropped.
	byName := map[string][]field{}
	for _, f := range found {
		byName[f.name] = append(byName[f.name], f)
	}
	var kept []field
	for _, fs := range byName {
		sort.SliceStable(fs, func(i, j int) bool {
			if fs[i].depth != fs[j].depth {
				return fs[i].depth < fs[j].depth
			}
			return fs[i].tagged && !fs[j].tagged
		})
		if len(fs) > 1 && fs[0].depth == fs[1].depth && fs[0].tagged == fs[1].tagged {
			continue
		}
		kept = append(kept, fs[0])
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].order < kept[j].order })
	return kept
}

// walkFields collects t's JSON members in declaration order. viaPointer is
// set below an embedded pointer: when it is nil, its promoted fields are
// absent, so none of them is required. embedded guards against embedding
// cycles.
func walkFields(t reflect.Type, depth int, viaPointer bool, embedded, visiting map[reflect.Type]bool, out *[]field) {
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if f.Anonymous {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !f.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, optList, _ := strings.Cut(tag, ",")
		if !validName(name) {
			name = ""
		}
		opts := strings.Split(optList, ",")
		has := func(o string) bool { return optList != "" && contains(opts, o) }

		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			if embedded[ft] {
				continue
			}
			embedded[ft] = true
			walkFields(ft, depth+1, viaPointer || f.Type.Kind() == reflect.Pointer, embedded, visiting, out)
			delete(embedded, ft)
			continue
		}

		tagged := name != ""
		if !tagged {
			name = f.Name
		}
		var s Schema
		if has("string") && quotable(f.Type) {
			s = Schema{"type": "string"} // ,string writes the value inside a JSON string
		} else {
			s = forType(f.Type, visiting)
		}
		applyTags(s, f.Tag)
		omitted := has("omitempty") || has("omitzero")
		if canBeNull(f.Type) && !omitted {
			allowNull(s)
		}
		*out = append(*out, field{
			name:     name,
			depth:    depth,
			tagged:   tagged,
			order:    len(*out),
			typ:      f.Type,
			schema:   s,
			required: !omitted && !viaPointer && f.Type.Kind() != reflect.Pointer,
		})
	}
}

func quotable(t reflect.Type) bool {
	if t.Name() == "" && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validName mirrors the names encoding/json accepts in a tag; it falls
// back to the Go field name for any other.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func applyTags(s Schema, tag reflect.StructTag) {
	if d := tag.Get("desc"); d != "" {
		s["description"] = d
	}
	if e := tag.Get("enum"); e != "" {
		target := s
		if s["type"] == "array" {
			if items, ok := s["items"].(Schema); ok {
				target = items
			}
		}
		typ, nullable := BaseType(target)
		var vals []any
		for _, v := range strings.Split(e, ",") {
			vals = append(vals, typed(typ, v))
		}
		if nullable {
			vals = append(vals, nil)
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
		typ, _ := BaseType(s)
		s["examples"] = []any{typed(typ, ex)}
	}
}

// BaseType is the non-null type of s and whether null is allowed too.
func BaseType(s Schema) (string, bool) {
	switch t := s["type"].(type) {
	case string:
		return t, false
	case []any:
		base, null := "", false
		for _, x := range t {
			if x == "null" {
				null = true
			} else if str, ok := x.(string); ok && base == "" {
				base = str
			}
		}
		return base, null
	}
	return "", false
}

// typed converts a tag value to the JSON type of the schema, so that an
// enum or example on a number is a number; a value that does not parse
// stays a string.
func typed(schemaType, v string) any {
	switch schemaType {
	case "integer":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case "number":
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}
