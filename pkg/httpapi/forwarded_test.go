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
