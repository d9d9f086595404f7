package domain

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/scrypt"
)

// testKeyed is the platform's keyed MAC with a fixed test key.
type testKeyed []byte

func (k testKeyed) MAC(kind string, parts ...string) []byte {
	m := hmac.New(sha256.New, k)
	for _, p := range append([]string{kind}, parts...) {
		m.Write([]byte{byte(len(p) >> 8), byte(len(p))})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

var keyed = testKeyed("0123456789abcdef0123456789abcdef")

func TestCredentialsRoundTrip(t *testing.T) {
	key, secret, v, err := NewAnonymousCredentials(rand.Reader, keyed)
	if err != nil {
		t.Fatalf("NewAnonymousCredentials: %v", err)
	}
	if len(key) != 14 || strings.Count(key, "-") != 2 {
		t.Fatalf("key %q: want XXXX-XXXX-XXXX", key)
	}
	if len(secret) < 43 {
		t.Fatalf("secret too short: %d", len(secret))
	}
	if n, err := NormalizeCaseKey(" " + strings.ToLower(strings.ReplaceAll(key, "-", "")) + " "); err != nil || n != key {
		t.Fatalf("NormalizeCaseKey = %q, %v; want %q", n, err, key)
	}
	// Through the store encoding, as an adapter would.
	text, err := v.MarshalText()
	if err != nil {
		t.Fatalf("MarshalText: %v", err)
	}
	if bytes.Contains(text, []byte(secret)) || !bytes.HasPrefix(text, []byte("hmac$")) {
		t.Fatalf("verifier text %q", text)
	}
	var stored Verifier
	if err := stored.UnmarshalText(text); err != nil {
		t.Fatalf("UnmarshalText: %v", err)
	}
	if stored.Legacy() {
		t.Fatal("a new verifier is not legacy")
	}
	if !stored.Check(keyed, key, secret) {
		t.Fatal("right secret rejected")
	}
	if stored.Check(keyed, key, secret[:len(secret)-1]+"x") {
		t.Fatal("wrong secret accepted")
	}
	other, _, _, _ := NewAnonymousCredentials(rand.Reader, keyed)
	if stored.Check(keyed, other, secret) {
		t.Fatal("the verifier is bound to its case key")
	}
	if stored.Check(testKeyed("another key entirely, 32 bytes.."), key, secret) {
		t.Fatal("a verifier checks only under the platform key it was made with")
	}
}

// Verifiers written by earlier builds (scrypt) still check.
func TestLegacyScryptVerifierStillChecks(t *testing.T) {
	salt := []byte("0123456789abcdef")
	const secret = "legacy-secret-of-an-earlier-build"
	hash, err := scrypt.Key([]byte(secret), salt, 1<<10, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawStdEncoding
	text := "scrypt$10$8$1$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(hash)
	var v Verifier
	if err := v.UnmarshalText([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if !v.Legacy() || !v.Check(keyed, "ANY-KEY", secret) || v.Check(keyed, "ANY-KEY", secret+"x") {
		t.Fatal("legacy verifier does not check as before")
	}
	if back, err := v.MarshalText(); err != nil || string(back) != text {
		t.Fatalf("legacy round trip %q %v", back, err)
	}
}

func TestDummyAndZeroVerifiersNeverMatch(t *testing.T) {
	if DummyCheck(keyed, "anything") {
		t.Fatal("DummyCheck returned true")
	}
	var zero Verifier
	if zero.Check(keyed, "K", "anything") {
		t.Fatal("zero verifier accepted a secret")
	}
	if _, err := zero.MarshalText(); !errors.Is(err, ErrBadCredential) {
		t.Fatal("a zero verifier must not be stored")
	}
}

func TestNormalizeCaseKeyRejects(t *testing.T) {
	for _, s := range []string{"", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKU0", "ÄBCD-EFGH-JKMN"} {
		if _, err := NormalizeCaseKey(s); !errors.Is(err, ErrBadCredential) {
			t.Errorf("NormalizeCaseKey(%q) err = %v", s, err)
		}
	}
	if k, err := NormalizeCaseKey("abcd efgh jkoi"); err != nil || k != "ABCD-EFGH-JK01" {
		t.Errorf("confusables: %q %v", k, err)
	}
}

func TestVerifierUnmarshalRejects(t *testing.T) {
	for _, s := range []string{"", "bcrypt$x", "hmac$", "hmac$AAAA", "scrypt$30$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA", "scrypt$15$8$1$!!$AAAA"} {
		var v Verifier
		if err := v.UnmarshalText([]byte(s)); !errors.Is(err, ErrBadCredential) {
			t.Errorf("UnmarshalText(%q) err = %v", s, err)
		}
	}
}

func TestCredentialsShortRandom(t *testing.T) {
	if _, _, _, err := NewAnonymousCredentials(bytes.NewReader(make([]byte, 5)), keyed); err == nil {
		t.Fatal("want error on short random source")
	}
}
