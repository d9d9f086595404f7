package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"net"
	"net/http"
)

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
