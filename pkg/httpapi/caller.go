package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// HeaderForwardedFor carries the client address through proxies (and from
// the portal to the API).
const HeaderForwardedFor = "X-Forwarded-For"

// RemoteIP is the address of the TCP peer. Behind a proxy pass a ClientIP
// function that reads the proxy's header instead; trusting such headers by
// default would let any client pick its own rate-limit bucket.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ForwardedFor makes the client address behind trusted proxies the
// request's RemoteAddr, so every limit keyed on RemoteIP (the API rate
// limit, the anonymous case-guess limit) counts the person, not the proxy.
// Only a peer inside trusted may speak for someone else: its
// X-Forwarded-For is read right to left, skipping trusted hops, and the
// first address that is not trusted is the client. A peer outside trusted,
// or a request without the header, is left as it is, so a client cannot
// pick its own bucket. The address is never logged (see AccessLog).
func ForwardedFor(trusted []netip.Prefix) Middleware {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		if len(trusted) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer, err := netip.ParseAddr(RemoteIP(r))
			values := r.Header.Values(HeaderForwardedFor)
			if err != nil || len(values) == 0 || !isTrusted(peer.Unmap()) {
				next.ServeHTTP(w, r)
				return
			}
			var hops []string
			for _, v := range values {
				hops = append(hops, strings.Split(v, ",")...)
			}
			client := peer.Unmap()
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break // a malformed hop ends what can be believed
				}
				client = a.Unmap()
				if !isTrusted(client) {
					break
				}
			}
			r2 := r.WithContext(r.Context())
			r2.RemoteAddr = net.JoinHostPort(client.String(), "0")
			next.ServeHTTP(w, r2)
		})
	}
}

// callerOf names who is calling, for rate-limit and idempotency scopes: the
// authenticated identity when there is one, else the client address. The
// prefixes keep an identity from colliding with an address.
func callerOf(r *http.Request, identity, clientIP func(*http.Request) string) string {
	if identity != nil {
		if id := identity(r); id != "" {
			return "id:" + id
		}
	}
	if clientIP == nil {
		clientIP = RemoteIP
	}
	return "ip:" + clientIP(r)
}

// keyHasher derives Redis key names and fingerprints from caller data. It is
// keyed (HMAC-SHA-256) because plain hashes of low-entropy inputs such as IPv4
// addresses or short JSON bodies can be reversed by enumeration.
type keyHasher struct {
	secret []byte
}

// sum hashes purpose and parts, length-prefixed so no two different part
// lists can produce the same input.
func (k keyHasher) sum(purpose string, parts ...[]byte) string {
	m := hmac.New(sha256.New, k.secret)
	writePart(m, []byte(purpose))
	for _, p := range parts {
		writePart(m, p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func writePart(h hash.Hash, p []byte) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
	h.Write(p)
}
