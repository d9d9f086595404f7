package httpapi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"sync"

	"github.com/deiops/deiops/pkg/jsonschema"
)

// shapes caches, per request type, which members must be present. It holds
// facts about Go types only (never request data), computed once per type.
var shapes sync.Map // reflect.Type → *shape

// shape is what presence checking needs to know about one type.
type shape struct {
	kind    reflect.Kind
	members []member // structs
	elem    *shape   // slices, arrays, maps
	// check is false when nothing below this type is required, so the body
	// need not be walked at all.
	check bool
}

type member struct {
	name     string
	required bool
	nullable bool // a slice or map: null is a legal value
	shape    *shape
}

func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := buildShape(t, map[reflect.Type]*shape{})
	actual, _ := shapes.LoadOrStore(t, s)
	return actual.(*shape)
}

func buildShape(t reflect.Type, seen map[reflect.Type]*shape) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := seen[t]; ok {
		return s // recursive type: its check flag is settled by the outer call
	}
	s := &shape{kind: t.Kind()}
	seen[t] = s
	switch t.Kind() {
	case reflect.Struct:
		for _, m := range jsonschema.Members(t) {
			mm := member{name: m.Name, required: m.Required}
			ft := m.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			mm.nullable = ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map || ft.Kind() == reflect.Interface
			if !m.Custom {
				mm.shape = buildShape(m.Type, seen)
			}
			s.check = s.check || mm.required || (mm.shape != nil && mm.shape.check)
			s.members = append(s.members, mm)
		}
	case reflect.Slice, reflect.Array, reflect.Map:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			break // base64 string
		}
		s.elem = buildShape(t.Elem(), seen)
		s.check = s.elem.check
	}
	return s
}

// missingMembers names every required member absent (or null) in body,
// which has already decoded into a value of type t.
func missingMembers(t reflect.Type, body []byte) []FieldError {
	s := shapeOf(t)
	if !s.check {
		return nil
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil // cannot happen: the body decoded strictly already
	}
	if doc == nil && s.kind == reflect.Struct {
		return []FieldError{{Field: "(root)", Reason: "must be an object"}}
	}
	var out []FieldError
	s.walk(doc, "", &out)
	return out
}

func (s *shape) walk(v any, path string, out *[]FieldError) {
	if s == nil || !s.check || v == nil {
		return
	}
	switch s.kind {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, m := range s.members {
			name := join(path, m.name)
			mv, present := obj[m.name]
			if m.required && (!present || (mv == nil && !m.nullable)) {
				*out = append(*out, FieldError{Field: name, Reason: "is required"})
				continue
			}
			if m.shape != nil {
				m.shape.walk(mv, name, out)
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := v.([]any)
		for i, e := range arr {
			s.elem.walk(e, path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for k, e := range obj {
			s.elem.walk(e, join(path, k), out)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
