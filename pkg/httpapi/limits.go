package httpapi

import (
	"net/http"
)

// LimitBody caps request bodies at n bytes. Larger declared lengths are
// refused at once; undeclared ones are cut by http.MaxBytesReader, which
// Decode reports as 413.
func LimitBody(n int64) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				WriteProblem(w, r, PayloadTooLarge(n))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// NoStore marks every response of next as uncacheable (by browsers, proxies
// and CDNs). Routes that return restricted data use it.
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetNoStore(w)
		next.ServeHTTP(w, r)
	})
}

// SetNoStore marks one response as uncacheable; Pragma covers HTTP/1.0 caches.
func SetNoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
