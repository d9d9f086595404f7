package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// Validator is implemented by request bodies that check their own values.
// Validate returns every problem at once so a client can fix them together.
type Validator interface {
	Validate() []FieldError
}

// Decode reads r's JSON body into dst strictly. Every failure is a *Problem:
//
//	415 the content type is not application/json (charset, if any, utf-8)
//	400 empty body, malformed JSON (with the byte offset), an unknown field,
//	    or anything after the first JSON value
//	413 the body exceeds the limit set by LimitBody (http.MaxBytesReader)
//	422 a value has the wrong JSON type, or dst.Validate reports problems
//
// dst must be a non-nil pointer; anything else is a programming error and is
// returned as a plain error (a 500 through WriteProblem).
func Decode(r *http.Request, dst any) error {
	if rv := reflect.ValueOf(dst); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode request body: destination must be a non-nil pointer, got %T", dst)
	}
	if p := checkJSONContentType(r.Header.Get("Content-Type")); p != nil {
		return p
	}
	if r.Body == nil || r.Body == http.NoBody {
		return BadRequest("request body is empty")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	// A second value, or garbage, after the first is a malformed request.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return PayloadTooLarge(tooLarge.Limit)
		}
		return BadRequest("request body has data after the JSON value")
	}
	if v, ok := dst.(Validator); ok {
		if errs := v.Validate(); len(errs) > 0 {
			return Unprocessable("the request has invalid fields", errs...)
		}
	}
	return nil
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
