package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecode checks that no body or content type makes Decode panic, and that
// every failure is a client problem (never a 500 for client input).
func FuzzDecode(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"application/json", `{"title":"t","count":1,"tags":["a"],"meta":{"level":2}}`},
		{"application/json", `{"title":"t","unknown":1}`},
		{"application/json", `{"title":5}`},
		{"application/json", `{"title":"t"} {"title":"u"}`},
		{"application/json", `{"title":"` + strings.Repeat("x", 300) + `"}`},
		{"application/json", ``},
		{"application/json", `null`},
		{"application/json", `[`},
		{"application/json; charset=utf-16", `{}`},
		{"text/plain", `{}`},
		{"application/json; charset=", `{}`},
		{"", `{}`},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	allowed := map[int]bool{400: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 256)
		_, err := Decode[noteRequest](r)
		if err == nil {
			return
		}
		var p *Problem
		if !errors.As(err, &p) {
			t.Fatalf("error %v (%T) is not a *Problem", err, err)
		}
		if !allowed[p.Status] {
			t.Fatalf("status %d not in {400,413,415,422}: %v", p.Status, p)
		}
	})
}
