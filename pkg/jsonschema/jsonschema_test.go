package jsonschema_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/jsonschema"
)

// check is a small validator for the keywords the package emits (type,
// properties, required, additionalProperties, items, enum, min/maxItems).
// It lets the tests state the package's contract directly: the schema
// accepts what encoding/json writes for the type.
func check(s jsonschema.Schema, v any, path string) []string {
	var errs []string
	if typ, ok := s["type"]; ok && !typeMatches(typ, v) {
		return []string{fmt.Sprintf("%s: %s is not of type %v", path, kind(v), typ)}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) && (e == nil) == (v == nil) {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v not in enum %v", path, v, enum))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(jsonschema.Schema)
		if req, ok := s["required"].([]string); ok {
			for _, r := range req {
				if _, ok := v[r]; !ok {
					errs = append(errs, fmt.Sprintf("%s: required %s missing", path, r))
				}
			}
		}
		for k, x := range v {
			if ps, ok := props[k].(jsonschema.Schema); ok {
				errs = append(errs, check(ps, x, path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: unexpected property %s", path, k))
				}
			case jsonschema.Schema:
				errs = append(errs, check(ap, x, path+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(jsonschema.Schema); ok {
			for i, x := range v {
				errs = append(errs, check(items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
		if n, ok := s["minItems"].(int); ok && len(v) < n {
			errs = append(errs, fmt.Sprintf("%s: fewer than %d items", path, n))
		}
		if n, ok := s["maxItems"].(int); ok && len(v) > n {
			errs = append(errs, fmt.Sprintf("%s: more than %d items", path, n))
		}
	}
	return errs
}

func kind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeMatches(typ, v any) bool {
	switch typ := typ.(type) {
	case string:
		k := kind(v)
		return k == typ || (typ == "number" && k == "integer")
	case []any:
		for _, t := range typ {
			if typeMatches(t, v) {
				return true
			}
		}
	}
	return false
}

// accepts encodes v with encoding/json and checks it against For(v's type).
func accepts(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	s := jsonschema.Of(v)
	if errs := check(s, doc, "$"); len(errs) > 0 {
		sb, _ := json.MarshalIndent(s, "", "  ")
		t.Errorf("schema rejects what encoding/json writes for %T:\n%s\njson: %s\nschema: %s", v, strings.Join(errs, "\n"), b, sb)
	}
}

type level int

type textual struct{ v string }

func (t textual) MarshalText() ([]byte, error) { return []byte(t.v), nil }

// described and pointerDescribed encode themselves as strings and say so.
type described struct{}

func (described) MarshalJSON() ([]byte, error) { return []byte(`"d-1"`), nil }

// JSONSchema returns a shared value on purpose: the package must copy it.
func (described) JSONSchema() jsonschema.Schema { return sharedSchema }

var sharedSchema = jsonschema.Schema{"type": "string", "pattern": "^d-"}

type pointerDescribed struct{}

func (*pointerDescribed) MarshalJSON() ([]byte, error) { return []byte(`"p"`), nil }

func (*pointerDescribed) JSONSchema() jsonschema.Schema {
	return jsonschema.Schema{"type": "string", "format": "pd"}
}

type inner struct {
	Name string `json:"name"`
	Tags []string
}

type base struct {
	ID      string `json:"id"`
	Shadow  string `json:"shadow"`
	Created time.Time
}

type extra struct {
	Note string `json:"note"`
}

type payload struct {
	Text      string            `json:"text" desc:"free text" example:"hello"`
	Count     int               `json:"count" enum:"0,1,2" example:"2"`
	Ratio     float64           `json:"ratio,omitempty" minimum:"0" maximum:"1"`
	Flag      bool              `json:"flag"`
	Level     level             `json:"level"`
	At        time.Time         `json:"at"`
	Wait      time.Duration     `json:"wait"`
	Ptr       *string           `json:"ptr"`
	PtrOmit   *string           `json:"ptr_omit,omitempty"`
	PtrEnum   *string           `json:"ptr_enum" enum:"a,b"`
	List      []string          `json:"list"`
	ListOmit  []string          `json:"list_omit,omitempty"`
	Ptrs      []*inner          `json:"ptrs"`
	Matrix    [][]int           `json:"matrix"`
	Bytes     []byte            `json:"bytes"`
	Fixed     [4]byte           `json:"fixed"`
	Map       map[string]int    `json:"map"`
	MapOfList map[string][]int  `json:"map_of_list"`
	Nested    inner             `json:"nested"`
	NestedPtr *inner            `json:"nested_ptr"`
	Addr      netip.Addr        `json:"addr"`
	Text2     textual           `json:"text2"`
	Any       any               `json:"any"`
	Raw       json.RawMessage   `json:"raw"`
	Desc      described         `json:"desc"`
	DescPtr   *described        `json:"desc_ptr"`
	PDesc     *pointerDescribed `json:"pdesc"`
	Quoted    int               `json:"quoted,string"`
	Labels    map[string]string `json:"labels,omitzero"`
	Ignored   string            `json:"-"`
	Dash      string            `json:"-,"`
	Untagged  string
	private   string //nolint:unused // unexported fields are not encoded
}

func TestSchemaAcceptsEncodedValues(t *testing.T) {
	s, n := "s", "a"
	accepts(t, payload{})
	accepts(t, payload{
		Text: "x", Count: 2, Flag: true, At: time.Now(), Wait: time.Minute, Ptr: &s, PtrOmit: &s, PtrEnum: &n,
		List: []string{"a"}, ListOmit: []string{"b"}, Ptrs: []*inner{nil, {Name: "n"}}, Matrix: [][]int{nil, {1}},
		Bytes: []byte("b"), Map: map[string]int{"k": 1}, MapOfList: map[string][]int{"k": nil},
		NestedPtr: &inner{Tags: []string{"t"}}, Addr: netip.MustParseAddr("10.0.0.1"), Text2: textual{"t"},
		Any: map[string]any{"k": 1}, Raw: json.RawMessage(`[1]`), DescPtr: &described{}, Quoted: 7,
		Labels: map[string]string{"a": "b"},
	})
	accepts(t, struct {
		base
		*extra
		Shadow int `json:"shadow"`
	}{})
	accepts(t, struct {
		base
		*extra
	}{extra: &extra{Note: "n"}})
}

func props(t *testing.T, s jsonschema.Schema) jsonschema.Schema {
	t.Helper()
	p, ok := s["properties"].(jsonschema.Schema)
	if !ok {
		t.Fatalf("no properties in %v", s)
	}
	return p
}

func TestSchemaDetails(t *testing.T) {
	s := jsonschema.Of(payload{})
	p := props(t, s)
	for _, tc := range []struct {
		field string
		key   string
		want  any
	}{
		{"wait", "type", "integer"},
		{"ptr", "type", []any{"string", "null"}},
		{"ptr_omit", "type", "string"},
		{"ptr_enum", "enum", []any{"a", "b", nil}},
		{"list", "type", []any{"array", "null"}},
		{"list_omit", "type", "array"},
		{"bytes", "contentEncoding", "base64"},
		{"fixed", "type", "array"},
		{"fixed", "minItems", 4},
		{"addr", "type", "string"},
		{"text2", "type", "string"},
		{"count", "enum", []any{int64(0), int64(1), int64(2)}},
		{"count", "examples", []any{int64(2)}},
		{"text", "examples", []any{"hello"}},
		{"text", "description", "free text"},
		{"ratio", "maximum", 1.0},
		{"quoted", "type", "string"},
		{"desc", "pattern", "^d-"},
		{"desc_ptr", "type", []any{"string", "null"}}, // a nil pointer is null whatever the Describer says
		{"pdesc", "format", "pd"},
		{"level", "type", "integer"},
		{"-", "type", "string"},
		{"Untagged", "type", "string"},
	} {
		fs, ok := p[tc.field].(jsonschema.Schema)
		if !ok {
			t.Errorf("no property %s", tc.field)
			continue
		}
		if !reflect.DeepEqual(fs[tc.key], tc.want) {
			t.Errorf("%s.%s = %#v, want %#v", tc.field, tc.key, fs[tc.key], tc.want)
		}
	}
	for _, absent := range []string{"Ignored", "private"} {
		if _, ok := p[absent]; ok {
			t.Errorf("property %s should not exist", absent)
		}
	}
	items := p["ptrs"].(jsonschema.Schema)["items"].(jsonschema.Schema)
	if !reflect.DeepEqual(items["type"], []any{"object", "null"}) {
		t.Errorf("items of []*inner = %v, want object or null", items["type"])
	}
	req := s["required"].([]string)
	for _, name := range []string{"text", "count", "list", "nested", "quoted"} {
		if !slices.Contains(req, name) {
			t.Errorf("%s not required", name)
		}
	}
	for _, name := range []string{"ratio", "ptr", "ptr_omit", "list_omit", "labels"} {
		if slices.Contains(req, name) {
			t.Errorf("%s required", name)
		}
	}
}

func TestDescriberSchemaIsCopied(t *testing.T) {
	s := jsonschema.For(reflect.TypeFor[struct {
		D described `json:"d" desc:"changed"`
	}]())
	if props(t, s)["d"].(jsonschema.Schema)["description"] != "changed" {
		t.Fatal("desc tag not applied")
	}
	if _, touched := sharedSchema["description"]; touched {
		t.Fatal("applying tags changed the Describer's shared schema")
	}
}

func TestEmbeddedFieldRules(t *testing.T) {
	// The outer field wins over a promoted one wherever it is declared.
	s := jsonschema.For(reflect.TypeFor[struct {
		Shadow int `json:"shadow"`
		base
		*extra
	}]())
	p := props(t, s)
	if p["shadow"].(jsonschema.Schema)["type"] != "integer" {
		t.Errorf("shadow = %v, want the outer integer", p["shadow"])
	}
	req := s["required"].([]string)
	sorted := slices.Clone(req)
	sort.Strings(sorted)
	if want := []string{"Created", "id", "shadow"}; !slices.Equal(sorted, want) {
		t.Errorf("required = %v, want %v (fields of a nil embedded pointer are absent)", req, want)
	}
	if _, ok := p["note"]; !ok {
		t.Error("field of embedded pointer not promoted")
	}

	// Two untagged fields of one name at the same depth cancel out, as in
	// encoding/json.
	type a struct{ Name string }
	type b struct{ Name string }
	s = jsonschema.For(reflect.TypeFor[struct {
		a
		b
	}]())
	if _, ok := props(t, s)["Name"]; ok {
		t.Error("ambiguous promoted field kept")
	}
}

type node struct {
	Value    int     `json:"value"`
	Children []*node `json:"children"`
}

func TestRecursiveType(t *testing.T) {
	s := jsonschema.Of(node{})
	children := props(t, s)["children"].(jsonschema.Schema)
	if children["items"].(jsonschema.Schema)["type"] == nil {
		t.Fatalf("recursive items = %v", children["items"])
	}
	accepts(t, node{Value: 1, Children: []*node{{Value: 2}, nil}})
}

func TestDocument(t *testing.T) {
	s := jsonschema.Document(reflect.TypeFor[inner](), "urn:x", "Inner", "An inner thing.")
	for k, want := range map[string]any{"$schema": jsonschema.Draft, "$id": "urn:x", "title": "Inner", "description": "An inner thing.", "type": "object"} {
		if s[k] != want {
			t.Errorf("%s = %v, want %v", k, s[k], want)
		}
	}
	a, _ := json.Marshal(jsonschema.Of(payload{}))
	b, _ := json.Marshal(jsonschema.Of(payload{}))
	if string(a) != string(b) {
		t.Error("schema output is not deterministic")
	}
}
