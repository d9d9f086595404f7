package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type noteRequest struct {
	Title string   `json:"title"`
	Count int      `json:"count"`
	Tags  []string `json:"tags,omitempty"`
	Meta  *struct {
		Level int `json:"level"`
	} `json:"meta,omitempty"`
}

func (n noteRequest) Validate() []FieldError {
	var errs []FieldError
	if n.Title == "" {
		errs = append(errs, FieldError{Field: "title", Reason: "required"})
	}
	if n.Count < 0 {
		errs = append(errs, FieldError{Field: "count", Reason: "must not be negative"})
	}
	return errs
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		limit       int64
		wantStatus  int // 0 = success
		wantField   string
		wantDetail  string
	}{
		{name: "valid", body: `{"title":"t","count":2}`},
		{name: "valid with charset", contentType: "application/json; charset=UTF-8", body: `{"title":"t","count":1}`},
		{name: "trailing whitespace is fine", body: "{\"title\":\"t\",\"count\":1}\n  "},
		{name: "no content type", contentType: "-", body: `{"title":"t"}`, wantStatus: 415},
		{name: "wrong content type", contentType: "text/plain", body: `{"title":"t"}`, wantStatus: 415},
		{name: "json suffix type", contentType: "application/merge-patch+json", body: `{"title":"t"}`, wantStatus: 415},
		{name: "other charset", contentType: "application/json; charset=latin1", body: `{"title":"t"}`, wantStatus: 415},
		{name: "empty body", body: "", wantStatus: 400, wantDetail: "empty"},
		{name: "unknown field", body: `{"title":"t","secret":"x"}`, wantStatus: 400, wantField: "secret"},
		{name: "syntax error with offset", body: `{"title":"t",}`, wantStatus: 400, wantDetail: "offset 14"},
		{name: "truncated", body: `{"title":"t"`, wantStatus: 400, wantDetail: "truncated"},
		{name: "trailing value", body: `{"title":"t","count":1}{"title":"u"}`, wantStatus: 400, wantDetail: "after the JSON value"},
		{name: "trailing garbage", body: `{"title":"t","count":1} x`, wantStatus: 400, wantDetail: "after the JSON value"},
		{name: "wrong type", body: `{"title":5}`, wantStatus: 422, wantField: "title"},
		{name: "wrong nested type", body: `{"title":"t","meta":{"level":"high"}}`, wantStatus: 422, wantField: "meta.level"},
		{name: "number out of range", body: `{"title":"t","count":1e40}`, wantStatus: 422, wantField: "count"},
		{name: "wrong root type", body: `[1,2]`, wantStatus: 422, wantField: "(root)"},
		{name: "too large", body: `{"title":"` + strings.Repeat("a", 100) + `"}`, limit: 64, wantStatus: 413},
		{name: "too large in trailing data", body: `{"title":"t","count":1}` + strings.Repeat(" ", 100) + "x", limit: 64, wantStatus: 413},
		{name: "validation lists every field", body: `{"title":"","count":-1}`, wantStatus: 422, wantField: "count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			switch tc.contentType {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", tc.contentType)
			}
			if tc.limit > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.limit)
			}
			var dst noteRequest
			err := Decode(r, &dst)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("error %v is not a *Problem", err)
			}
			if p.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", p.Status, tc.wantStatus, p)
			}
			if tc.wantField != "" && !hasField(p, tc.wantField) {
				t.Errorf("problem %v does not name field %q", p, tc.wantField)
			}
			if tc.wantDetail != "" && !strings.Contains(p.Detail, tc.wantDetail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tc.wantDetail)
			}
		})
	}
}

func hasField(p *Problem, field string) bool {
	for _, fe := range p.Errors {
		if fe.Field == field {
			return true
		}
	}
	return false
}

func TestDecodeValidationListsEveryField(t *testing.T) {
	var dst noteRequest
	err := Decode(jsonRequest(http.MethodPost, "/", `{"title":"","count":-1}`), &dst)
	var p *Problem
	if !errors.As(err, &p) || len(p.Errors) != 2 || !hasField(p, "title") || !hasField(p, "count") {
		t.Fatalf("want both fields reported, got %v", err)
	}
}

func TestDecodeDoesNotEchoValues(t *testing.T) {
	var dst noteRequest
	err := Decode(jsonRequest(http.MethodPost, "/", `{"title":{"narrative":"RESTRICTED"}}`), &dst)
	if err == nil || strings.Contains(err.Error(), "RESTRICTED") {
		t.Fatalf("error must exist and not echo the value: %v", err)
	}
}

func TestDecodeRejectsNonPointer(t *testing.T) {
	err := Decode(jsonRequest(http.MethodPost, "/", `{}`), noteRequest{})
	var p *Problem
	if err == nil || errors.As(err, &p) {
		t.Fatalf("want a plain programming error, got %v", err)
	}
}

func TestLimitBodyAndDecode(t *testing.T) {
	h := LimitBody(32)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dst noteRequest
		if err := Decode(r, &dst); err != nil {
			WriteProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	big := `{"title":"` + strings.Repeat("a", 64) + `"}`
	tests := []struct {
		name       string
		body       string
		chunked    bool
		wantStatus int
	}{
		{"small", `{"title":"t"}`, false, 204},
		{"declared too large", big, false, 413},
		{"streamed too large", big, true, 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonRequest(http.MethodPost, "/", tc.body)
			if tc.chunked {
				r.ContentLength = -1
			}
			w := serve(h, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.wantStatus, w.Body.String())
			}
		})
	}
}
