package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MinHashSecretSize is the smallest accepted HMAC secret in bytes.
const MinHashSecretSize = 32

// hashDomain separates these hashes from any other use of the same secret
// and lets a future normalisation change be a new version.
const hashDomain = "deiops/identifier-hash/v1"

// Hasher computes keyed hashes of identifiers (names, emails, staff numbers)
// so that reports naming the same person can be matched without storing who
// that person is. Without the secret, a hash cannot be checked against a
// guess, which a plain hash of a name would allow. Safe for concurrent use.
type Hasher struct {
	secret []byte
}

// NewHasher copies secret, which must be at least 32 bytes.
func NewHasher(secret []byte) (*Hasher, error) {
	if len(secret) < MinHashSecretSize {
		return nil, fmt.Errorf("hash secret is %d bytes, want at least %d", len(secret), MinHashSecretSize)
	}
	return &Hasher{secret: append([]byte(nil), secret...)}, nil
}

// ParseHasher reads the base64 secret of DEIOPS_PRIVACY_HMAC_SECRET.
func ParseHasher(b64 string) (*Hasher, error) {
	secret, err := decodeKey(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("hash secret is not valid base64")
	}
	return NewHasher(secret)
}

// Hash returns the keyed hash (unpadded base64url of HMAC-SHA256) of value
// after normalisation, in the namespace kind ("email", "staff-id", "name"):
// equal identifiers of different kinds hash differently. A value that is
// empty after normalisation returns "" so that blank fields never match
// each other.
func (h *Hasher) Hash(kind, value string) string {
	v := Normalize(value)
	if v == "" {
		return ""
	}
	k := strings.ToLower(strings.TrimSpace(kind))
	m := hmac.New(sha256.New, h.secret)
	var lenbuf [4]byte
	for _, part := range []string{hashDomain, k, v} {
		binary.BigEndian.PutUint32(lenbuf[:], uint32(len(part)))
		m.Write(lenbuf[:])
		m.Write([]byte(part))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// MAC returns HMAC-SHA256 over parts, in the namespace kind, without
// normalising anything: for secrets and other exact values (Hash is for
// identifiers people type in different ways).
func (h *Hasher) MAC(kind string, parts ...string) []byte {
	m := hmac.New(sha256.New, h.secret)
	var lenbuf [4]byte
	for _, part := range append([]string{hashDomain + "/mac", kind}, parts...) {
		binary.BigEndian.PutUint32(lenbuf[:], uint32(len(part)))
		m.Write(lenbuf[:])
		m.Write([]byte(part))
	}
	return m.Sum(nil)
}

// Stream returns an endless byte stream determined by the secret, kind and
// parts (HMAC-SHA256 in counter mode): values drawn from it are as
// unguessable as random ones to anyone without the secret, and the same on
// every draw, so a retried request can re-derive what its first attempt
// created.
func (h *Hasher) Stream(kind string, parts ...string) io.Reader {
	return &macStream{h: h, kind: kind, parts: parts}
}

type macStream struct {
	h     *Hasher
	kind  string
	parts []string
	n     uint64
	buf   []byte
}

func (s *macStream) Read(p []byte) (int, error) {
	read := 0
	for read < len(p) {
		if len(s.buf) == 0 {
			s.n++
			s.buf = s.h.MAC(s.kind, append(append([]string(nil), s.parts...), strconv.FormatUint(s.n, 10))...)
		}
		c := copy(p[read:], s.buf)
		s.buf = s.buf[c:]
		read += c
	}
	return read, nil
}

// Equal compares two hashes in constant time.
func (h *Hasher) Equal(a, b string) bool {
	return a != "" && hmac.Equal([]byte(a), []byte(b))
}

// String keeps the secret out of output.
func (h *Hasher) String() string { return "crypto.Hasher{secret: redacted}" }

// GoString keeps %#v from printing the secret.
func (h *Hasher) GoString() string { return h.String() }

// LogValue keeps slog from printing the secret.
func (h *Hasher) LogValue() slog.Value { return slog.StringValue(h.String()) }

// Normalize prepares an identifier for hashing: Unicode NFKC (so full-width
// and compatibility forms match their plain forms), full case folding (so
// "STRASSE" and "straße" match), then trimmed with inner whitespace runs
// collapsed to one space.
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	// A Caser holds state, so one is made per call rather than shared.
	s = cases.Fold().String(s)
	// Folding can produce sequences that are no longer NFKC-normal.
	s = norm.NFKC.String(s)
	return strings.Join(strings.Fields(s), " ")
}
