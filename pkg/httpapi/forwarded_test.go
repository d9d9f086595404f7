package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestForwardedForTrustsOnlyConfiguredProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")}
	var got string
	h := ForwardedFor(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = RemoteIP(r) }))
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"trusted peer names the client", "127.0.0.1:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"untrusted peer cannot pick its bucket", "198.51.100.2:5000", []string{"203.0.113.7"}, "198.51.100.2"},
		{"rightmost untrusted hop wins over a spoofed left part", "127.0.0.1:5000", []string{"6.6.6.6, 203.0.113.7, 10.1.2.3"}, "203.0.113.7"},
		{"several headers are one list", "127.0.0.1:5000", []string{"6.6.6.6", "203.0.113.9"}, "203.0.113.9"},
		{"a malformed hop ends the walk", "127.0.0.1:5000", []string{"203.0.113.7, garbage"}, "127.0.0.1"},
		{"IPv6 client", "127.0.0.1:5000", []string{"2001:db8::1"}, "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add(HeaderForwardedFor, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNotFoundPageAnswersBrowsersOutsideTheAPI(t *testing.T) {
	rt := NewRouter(RouterOptions{})
	rt.NotFoundPage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
	}))
	for _, tc := range []struct {
		path, accept, want string
	}{
		{"/no/such/page", "text/html,application/xhtml+xml", "text/html"},
		{"/no/such/page", "application/json", ProblemContentType},
		{"/v1/nothing", "text/html", ProblemContentType},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		r.Header.Set("Accept", tc.accept)
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		if w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != tc.want {
			t.Errorf("GET %s (Accept %s): %d %s, want 404 %s", tc.path, tc.accept, w.Code, w.Header().Get("Content-Type"), tc.want)
		}
	}
}
