package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Validator is implemented by request bodies that check their own values.
// Validate returns every problem at once so a client can fix them together.
type Validator interface {
	Validate() []FieldError
}

// Decode reads r's JSON body strictly into a fresh T and returns it: every
// request gets a value of its own, so nothing one caller sent can leak into
// another's request. Every failure is a *Problem:
//
//	415 the content type is not application/json (charset, if any, utf-8)
//	400 empty body, malformed JSON (with the byte offset), an unknown field,
//	    or anything after the first JSON value
//	413 the body exceeds the limit set by LimitBody (http.MaxBytesReader)
//	422 a required member is missing or null, a value has the wrong JSON
//	    type, or T's Validate reports problems — every field named
//
// Required members follow the published schema's rule (pkg/jsonschema): a
// member without omitempty/omitzero that is not a pointer must be sent; a
// member left out takes its documented default, which is its zero value.
func Decode[T any](r *http.Request) (T, error) {
	var v T
	if err := decodeInto(r, &v, false); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// DecodeOptional is Decode for a route whose body may be left out: no body
// (Content-Length 0 and no content type) gives the zero T, every member at
// its default. A body that is sent is decoded as strictly as by Decode.
func DecodeOptional[T any](r *http.Request) (T, error) {
	var v T
	if err := decodeInto(r, &v, true); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func decodeInto(r *http.Request, dst any, optional bool) error {
	if optional && (r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0) && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if p := checkJSONContentType(r.Header.Get("Content-Type")); p != nil {
		return p
	}
	if r.Body == nil || r.Body == http.NoBody {
		return BadRequest("request body is empty")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return PayloadTooLarge(tooLarge.Limit)
		}
		return BadRequest("request body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	// A second value, or garbage, after the first is a malformed request.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("request body has data after the JSON value")
	}
	if see, ok := r.Context().Value(observerKey{}).(func(any)); ok {
		see(reflect.ValueOf(dst).Elem().Interface())
	}
	// Every problem at once: missing members, then the type's own rules
	// for the fields that were sent.
	errs := missingMembers(reflect.TypeOf(dst).Elem(), body)
	if v, ok := dst.(Validator); ok {
		for _, e := range v.Validate() {
			if !slices.ContainsFunc(errs, func(m FieldError) bool { return m.Field == e.Field }) {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return Unprocessable("the request has invalid fields", errs...)
	}
	return nil
}

type observerKey struct{}

// WithDecodeObserver returns a context whose requests report every body
// Decode produced to see, before validation. Tests use it to prove that a
// route decodes its body through Decode, into a value of its own; nothing
// in production sets it.
func WithDecodeObserver(ctx context.Context, see func(v any)) context.Context {
	return context.WithValue(ctx, observerKey{}, see)
}

func checkJSONContentType(ct string) *Problem {
	if ct == "" {
		return UnsupportedMediaType("Content-Type must be application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return UnsupportedMediaType("Content-Type must be application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return UnsupportedMediaType("application/json must be utf-8")
	}
	return nil
}

// decodeProblem maps an encoding/json error to the problem a client can act
// on. Messages name fields and offsets but never echo values, which may be
// restricted.
func decodeProblem(err error) *Problem {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return PayloadTooLarge(tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return BadRequest("request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("request body is truncated JSON")
	case errors.As(err, &syntax):
		return BadRequest("request body is malformed JSON at byte offset " + strconv.FormatInt(syntax.Offset, 10))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(root)"
		}
		return Unprocessable("a field has the wrong type",
			FieldError{Field: field, Reason: "must be " + jsonKind(typeErr.Type)})
	}
	if name, ok := unknownField(err); ok {
		return BadRequest("request body has an unknown field",
			FieldError{Field: name, Reason: "unknown field"})
	}
	return BadRequest("request body could not be read")
}

// unknownField extracts the name from encoding/json's DisallowUnknownFields
// error, which has no type of its own.
func unknownField(err error) (string, bool) {
	const prefix = "json: unknown field "
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		return "", false
	}
	name, uerr := strconv.Unquote(strings.TrimPrefix(msg, prefix))
	if uerr != nil {
		return "", false
	}
	return name, true
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a different type"
}
