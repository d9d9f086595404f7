package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
)

// Forms issues and checks the signed token every form carries. A token
// is a random nonce, an expiry and an HMAC over both, the form's purpose
// and what it is bound to (a session, an open inbox, or nothing for the
// anonymous report form, which must work before any cookie exists). It
// needs no server-side state and no cookie. The nonce also derives the
// Idempotency-Key sent to the API, so submitting the same rendered form
// twice is one effect.
//
// Go's cross-origin protection (Sec-Fetch-Site / Origin) runs in front of
// every form post as well; the token is the defence that does not depend
// on the browser.
type Forms struct {
	key [32]byte
	ttl time.Duration
	now func() time.Time
}

// NewForms derives the forms' key from the platform's keyed hasher, so
// every replica of the portal agrees on it without a setting of its own.
func NewForms(h *crypto.Hasher, ttl time.Duration) *Forms {
	f := &Forms{ttl: ttl, now: time.Now}
	sum := sha256.Sum256([]byte(h.Hash("portal-form-key", "v1")))
	f.key = sum
	return f
}

func (f *Forms) mac(purpose, binding, nonce string, exp int64) string {
	m := hmac.New(sha256.New, f.key[:])
	var n [8]byte
	for _, part := range []string{purpose, binding, nonce, strconv.FormatInt(exp, 10)} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		m.Write(n[:])
		m.Write([]byte(part))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Issue returns a new token for a form.
func (f *Forms) Issue(purpose, binding string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	exp := f.now().Add(f.ttl).Unix()
	return nonce + "." + strconv.FormatInt(exp, 36) + "." + f.mac(purpose, binding, nonce, exp)
}

// Check verifies a posted token and returns its nonce.
func (f *Forms) Check(token, purpose, binding string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 128 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || f.now().Unix() > exp {
		return "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(f.mac(purpose, binding, parts[0], exp))) {
		return "", false
	}
	return parts[0], true
}

// IdempotencyKey is the API Idempotency-Key of a form's nonce.
func (f *Forms) IdempotencyKey(purpose, nonce string) string {
	return "portal-" + f.mac("idempotency", purpose, nonce, 0)
}
