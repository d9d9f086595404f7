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
// The secret is 256 random bits, shown once. The stored verifier is scrypt
// with N=2^15, r=8, p=1 (32 MiB, tens of milliseconds per check), the
// parameters RFC 7914 and OWASP list for interactive logins. scrypt rather
// than argon2id because its parameters are three small integers that the
// library validates, and p=1 keeps one check on one core, which matters on a
// two-core host where guessing is also rate-limited. With a 256-bit secret
// the slow hash is defence in depth for a leaked store, not the main barrier.
const (
	ScryptLogN   = 15
	ScryptR      = 8
	ScryptP      = 1
	saltLen      = 16
	hashLen      = 32
	secretLen    = 32
	caseKeyLen   = 12
	caseKeyGroup = 4
	// crockford omits I, L, O and U so keys survive being read aloud or retyped.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// dummySalt is a fixed salt for DummyCheck; its output is never compared
	// against anything a caller controls.
	dummySalt = "deiops-dummy-sal"
	// Bounds accepted when parsing a stored verifier, so a corrupt record
	// cannot make a check allocate gigabytes.
	minLogN, maxLogN = 10, 20
	maxR, maxP       = 32, 4
)

// Verifier is the stored form of an anonymous reporter's secret.
type Verifier struct {
	logN, r, p int
	salt, hash []byte
}

// NewAnonymousCredentials draws a case key and a secret from rand and
// returns them with the verifier to store. The key and secret go to the
// reporter once; only the verifier is kept.
func NewAnonymousCredentials(rand io.Reader) (key, secret string, v Verifier, err error) {
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
	secret = base64.RawURLEncoding.EncodeToString(sb)
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", "", Verifier{}, fmt.Errorf("draw salt: %w", err)
	}
	v = Verifier{logN: ScryptLogN, r: ScryptR, p: ScryptP, salt: salt}
	if v.hash, err = v.derive(secret); err != nil {
		return "", "", Verifier{}, fmt.Errorf("hash secret: %w", err)
	}
	return k.String(), secret, v, nil
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

// Check reports whether secret matches, comparing in constant time. A zero
// or corrupt verifier still spends one default-cost derivation, so it is
// not distinguishable by timing from a wrong secret.
func (v Verifier) Check(secret string) bool {
	if !v.valid() {
		DummyCheck(secret)
		return false
	}
	got, err := v.derive(secret)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, v.hash) == 1
}

// DummyCheck spends the same work as checking a verifier with the default
// parameters and always returns false. Call it when a case key is unknown so
// that a wrong key and a wrong secret cost the same.
func DummyCheck(secret string) bool {
	v := Verifier{logN: ScryptLogN, r: ScryptR, p: ScryptP, salt: []byte(dummySalt)}
	got, err := v.derive(secret)
	if err != nil {
		return false
	}
	// Compare against a zero hash so the comparison step matches Check too.
	_ = subtle.ConstantTimeCompare(got, make([]byte, hashLen))
	return false
}

// Cost reports the scrypt parameters, so a store can find verifiers older
// than the current defaults and rehash them on the next successful check.
func (v Verifier) Cost() (logN, r, p int) { return v.logN, v.r, v.p }

func (v Verifier) derive(secret string) ([]byte, error) {
	out, err := scrypt.Key([]byte(secret), v.salt, 1<<v.logN, v.r, v.p, hashLen)
	if err != nil {
		return nil, fmt.Errorf("scrypt: %w", err)
	}
	return out, nil
}

func (v Verifier) valid() bool {
	return v.logN >= minLogN && v.logN <= maxLogN && v.r >= 1 && v.r <= maxR &&
		v.p >= 1 && v.p <= maxP && len(v.salt) == saltLen && len(v.hash) == hashLen
}

// MarshalText encodes the verifier for storage as
// "scrypt$<logN>$<r>$<p>$<salt>$<hash>" (unpadded standard base64). It holds
// no secret, but prints nothing else via String to keep logs clean.
func (v Verifier) MarshalText() ([]byte, error) {
	if !v.valid() {
		return nil, fmt.Errorf("marshal verifier: %w", ErrBadCredential)
	}
	enc := base64.RawStdEncoding
	return []byte("scrypt$" + strconv.Itoa(v.logN) + "$" + strconv.Itoa(v.r) + "$" + strconv.Itoa(v.p) +
		"$" + enc.EncodeToString(v.salt) + "$" + enc.EncodeToString(v.hash)), nil
}

// UnmarshalText parses the MarshalText form, rejecting out-of-bounds costs.
func (v *Verifier) UnmarshalText(text []byte) error {
	parts := strings.Split(string(text), "$")
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
	enc := base64.RawStdEncoding
	if w.salt, err = enc.DecodeString(parts[4]); err != nil {
		return fmt.Errorf("parse verifier salt: %w", ErrBadCredential)
	}
	if w.hash, err = enc.DecodeString(parts[5]); err != nil {
		return fmt.Errorf("parse verifier hash: %w", ErrBadCredential)
	}
	if !w.valid() {
		return fmt.Errorf("parse verifier: %w", ErrBadCredential)
	}
	*v = w
	return nil
}

// String keeps hashes and salts out of logs.
func (v Verifier) String() string { return "domain.Verifier{scrypt}" }
