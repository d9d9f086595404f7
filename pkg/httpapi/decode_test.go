package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
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
		{name: "missing required member", body: `{"title":"t"}`, wantStatus: 422, wantField: "count"},
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
			_, err := Decode[noteRequest](r)
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
	_, err := Decode[noteRequest](jsonRequest(http.MethodPost, "/", `{"title":"","count":-1}`))
	var p *Problem
	if !errors.As(err, &p) || len(p.Errors) != 2 || !hasField(p, "title") || !hasField(p, "count") {
		t.Fatalf("want both fields reported, got %v", err)
	}
}

func TestDecodeDoesNotEchoValues(t *testing.T) {
	_, err := Decode[noteRequest](jsonRequest(http.MethodPost, "/", `{"title":{"narrative":"RESTRICTED"}}`))
	if err == nil || strings.Contains(err.Error(), "RESTRICTED") {
		t.Fatalf("error must exist and not echo the value: %v", err)
	}
}

func TestDecodeRequiresEveryRequiredMember(t *testing.T) {
	type party struct {
		Role string `json:"role"`
		Name string `json:"name,omitempty"`
	}
	type report struct {
		Text     string    `json:"text"`
		On       bool      `json:"on"`
		Parties  []party   `json:"parties"`
		Optional []party   `json:"optional,omitempty"`
		When     time.Time `json:"when"`
		Ptr      *party    `json:"ptr"`
	}
	tests := []struct {
		body string
		want []string // fields named, in order
	}{
		{`{}`, []string{"text", "on", "parties", "when"}},
		{`{"text":"a","on":false,"parties":null,"when":"2026-01-02T03:04:05Z"}`, nil},
		{`{"text":null,"on":null,"parties":[],"when":"2026-01-02T03:04:05Z"}`, []string{"text", "on"}},
		{`{"text":"a","on":true,"parties":[{"name":"x"},{"role":"r"}],"optional":[{}],"when":"2026-01-02T03:04:05Z","ptr":{}}`,
			[]string{"parties[0].role", "optional[0].role", "ptr.role"}},
		{`null`, []string{"(root)"}},
	}
	for _, tc := range tests {
		_, err := Decode[report](jsonRequest(http.MethodPost, "/", tc.body))
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.body, err)
			}
			continue
		}
		var p *Problem
		if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: want 422, got %v", tc.body, err)
		}
		var got []string
		for _, f := range p.Errors {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: fields %v, want %v", tc.body, got, tc.want)
		}
	}
}

// Each call returns a value of its own: a field one request set never shows
// up in the next request's value, whatever it leaves out.
func TestDecodeReturnsAFreshValueEveryTime(t *testing.T) {
	type req struct {
		Text  string   `json:"text"`
		Extra string   `json:"extra,omitempty"`
		Tags  []string `json:"tags,omitempty"`
	}
	first, err := Decode[req](jsonRequest(http.MethodPost, "/", `{"text":"A","extra":"A-extra","tags":["A"]}`))
	if err != nil || first.Extra != "A-extra" {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := Decode[req](jsonRequest(http.MethodPost, "/", `{"text":"B"}`))
	if err != nil {
		t.Fatal(err)
	}
	if second.Extra != "" || second.Tags != nil || second.Text != "B" {
		t.Fatalf("second request saw the first's fields: %+v", second)
	}
	if _, err := Decode[req](jsonRequest(http.MethodPost, "/", `{}`)); err == nil {
		t.Fatal("an empty object must not satisfy a required field")
	}
}

func TestDecodeOptionalAcceptsNoBody(t *testing.T) {
	type req struct {
		At string `json:"at,omitempty"`
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	v, err := DecodeOptional[req](r)
	if err != nil || v.At != "" {
		t.Fatalf("no body: %+v %v", v, err)
	}
	v, err = DecodeOptional[req](jsonRequest(http.MethodPost, "/", `{"at":"x"}`))
	if err != nil || v.At != "x" {
		t.Fatalf("body: %+v %v", v, err)
	}
	if _, err := DecodeOptional[req](jsonRequest(http.MethodPost, "/", `{"other":1}`)); err == nil {
		t.Fatal("a body that is sent is decoded strictly")
	}
}

func TestLimitBodyAndDecode(t *testing.T) {
	h := LimitBody(32)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := Decode[noteRequest](r); err != nil {
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
		{"small", `{"title":"t","count":1}`, false, 204},
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
