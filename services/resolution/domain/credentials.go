package domain

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Anonymous reporter credentials.
//
// The case key identifies a case to its anonymous reporter and is meant to be
// typed (12 Crockford base32 characters, 60 bits, grouped XXXX-XXXX-XXXX).
// The secret is 256 random bits, shown once. Because the secret is random
// and that long, nothing can be gained by guessing it offline even from a
// leaked store, so a memory-hard hash buys nothing: the stored verifier is
// an HMAC-SHA256 of the key and the secret under the platform's keyed-hash
// secret (DEIOPS_PRIVACY_HMAC_SECRET, which never sits with the store).
// A check costs microseconds and a few hundred bytes, whatever the load.
//
// Verifiers written by earlier builds are scrypt (N=2^15, r=8, p=1: 32 MiB
// and tens of milliseconds each); they still verify, and the service
// replaces each with an HMAC verifier on its first successful check.
const (
	secretLen    = 32
	caseKeyLen   = 12
	caseKeyGroup = 4
	macLen       = 32
	// crockford omits I, L, O and U so keys survive being read aloud or retyped.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// macKind namespaces the verifier MAC among the platform's keyed hashes.
	macKind = "anonymous-case-secret"

	// Legacy scrypt verifiers.
	scryptSaltLen, scryptHashLen = 16, 32
	// Bounds accepted when parsing a stored scrypt verifier, so a corrupt
	// record cannot make a check allocate gigabytes.
	minLogN, maxLogN = 10, 20
	maxR, maxP       = 32, 4
)

// Keyed computes the platform's keyed MACs (crypto.Hasher.MAC).
type Keyed interface {
	MAC(kind string, parts ...string) []byte
}

// Verifier is the stored form of an anonymous reporter's secret.
type Verifier struct {
	mac []byte // HMAC verifier
	// legacy scrypt verifier
	logN, r, p int
	salt, hash []byte
}

// NewAnonymousCredentials draws a case key and a secret from rand and
// returns them with the verifier to store. The key and secret go to the
// reporter once; only the verifier is kept.
func NewAnonymousCredentials(rand io.Reader, keyed Keyed) (key, secret string, v Verifier, err error) {
	kb := make([]byte, caseKeyLen)
	if _, err := io.ReadFull(rand, kb); err != nil {
		return "", "", Verifier{}, fmt.Errorf("draw case key: %w", err)
	}
	var k strings.Builder
	for i, b := range kb {
		if i > 0 && i%caseKeyGroup == 0 {
			k.WriteByte('-')
		}
		// 256 is a multiple of 32, so masking keeps the draw uniform.
		k.WriteByte(crockford[b&31])
	}
	sb := make([]byte, secretLen)
	if _, err := io.ReadFull(rand, sb); err != nil {
		return "", "", Verifier{}, fmt.Errorf("draw secret: %w", err)
	}
	key, secret = k.String(), base64.RawURLEncoding.EncodeToString(sb)
	return key, secret, NewVerifier(keyed, key, secret), nil
}

// NewVerifier is the verifier of secret for the (canonical) case key.
func NewVerifier(keyed Keyed, key, secret string) Verifier {
	return Verifier{mac: keyed.MAC(macKind, key, secret)}
}

// NormalizeCaseKey turns what a reporter typed into the canonical
// XXXX-XXXX-XXXX form: case, spaces and dashes are ignored and the letters
// Crockford base32 confuses (O, I, L) are mapped to digits.
func NormalizeCaseKey(s string) (string, error) {
	var b strings.Builder
	n := 0
	for _, c := range strings.ToUpper(s) {
		switch c {
		case ' ', '-':
			continue
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if c > 0x7f || !strings.ContainsRune(crockford, c) || n == caseKeyLen {
			return "", fmt.Errorf("case key: %w", ErrBadCredential)
		}
		if n > 0 && n%caseKeyGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(c)
		n++
	}
	if n != caseKeyLen {
		return "", fmt.Errorf("case key: %w", ErrBadCredential)
	}
	return b.String(), nil
}

// Check reports whether secret matches the verifier of key, comparing in
// constant time. A zero or corrupt verifier costs the same as a wrong
// secret.
func (v Verifier) Check(keyed Keyed, key, secret string) bool {
	if v.Legacy() {
		got, err := v.derive(secret)
		return err == nil && subtle.ConstantTimeCompare(got, v.hash) == 1
	}
	got := keyed.MAC(macKind, key, secret)
	if len(v.mac) != macLen {
		_ = subtle.ConstantTimeCompare(got, make([]byte, macLen))
		return false
	}
	return subtle.ConstantTimeCompare(got, v.mac) == 1
}

// DummyCheck spends the same work as checking an HMAC verifier and
// always returns false. Call it when a case key is unknown so that a wrong
// key and a wrong secret cost the same.
func DummyCheck(keyed Keyed, secret string) bool {
	_ = subtle.ConstantTimeCompare(keyed.MAC(macKind, "", secret), make([]byte, macLen))
	return false
}

// Legacy reports whether this is an earlier build's scrypt verifier, slow
// to check: callers bound how many run at once and replace it after a
// successful check.
func (v Verifier) Legacy() bool { return v.validScrypt() }

func (v Verifier) derive(secret string) ([]byte, error) {
	out, err := scrypt.Key([]byte(secret), v.salt, 1<<v.logN, v.r, v.p, scryptHashLen)
	if err != nil {
		return nil, fmt.Errorf("scrypt: %w", err)
	}
	return out, nil
}

func (v Verifier) validScrypt() bool {
	return v.logN >= minLogN && v.logN <= maxLogN && v.r >= 1 && v.r <= maxR &&
		v.p >= 1 && v.p <= maxP && len(v.salt) == scryptSaltLen && len(v.hash) == scryptHashLen
}

// MarshalText encodes the verifier for storage as "hmac$<mac>", or an
// earlier build's "scrypt$<logN>$<r>$<p>$<salt>$<hash>" (unpadded standard
// base64). It holds no secret, but prints nothing else via String to keep
// logs clean.
func (v Verifier) MarshalText() ([]byte, error) {
	enc := base64.RawStdEncoding
	switch {
	case len(v.mac) == macLen:
		return []byte("hmac$" + enc.EncodeToString(v.mac)), nil
	case v.validScrypt():
		return []byte("scrypt$" + strconv.Itoa(v.logN) + "$" + strconv.Itoa(v.r) + "$" + strconv.Itoa(v.p) +
			"$" + enc.EncodeToString(v.salt) + "$" + enc.EncodeToString(v.hash)), nil
	}
	return nil, fmt.Errorf("marshal verifier: %w", ErrBadCredential)
}

// UnmarshalText parses the MarshalText forms, rejecting out-of-bounds
// costs.
func (v *Verifier) UnmarshalText(text []byte) error {
	parts := strings.Split(string(text), "$")
	enc := base64.RawStdEncoding
	if len(parts) == 2 && parts[0] == "hmac" {
		mac, err := enc.DecodeString(parts[1])
		if err != nil || len(mac) != macLen {
			return fmt.Errorf("parse verifier: %w", ErrBadCredential)
		}
		*v = Verifier{mac: mac}
		return nil
	}
	if len(parts) != 6 || parts[0] != "scrypt" {
		return fmt.Errorf("parse verifier: %w", ErrBadCredential)
	}
	var w Verifier
	var err error
	ints := []*int{&w.logN, &w.r, &w.p}
	for i, dst := range ints {
		if *dst, err = strconv.Atoi(parts[i+1]); err != nil {
			return fmt.Errorf("parse verifier cost: %w", ErrBadCredential)
		}
	}
	if w.salt, err = enc.DecodeString(parts[4]); err != nil {
		return fmt.Errorf("parse verifier salt: %w", ErrBadCredential)
	}
	if w.hash, err = enc.DecodeString(parts[5]); err != nil {
		return fmt.Errorf("parse verifier hash: %w", ErrBadCredential)
	}
	if !w.validScrypt() {
		return fmt.Errorf("parse verifier: %w", ErrBadCredential)
	}
	*v = w
	return nil
}

// String keeps hashes and salts out of logs.
func (v Verifier) String() string { return "domain.Verifier{redacted}" }
