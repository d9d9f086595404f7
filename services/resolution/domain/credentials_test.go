package domain

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestCredentialsRoundTrip(t *testing.T) {
	key, secret, v, err := NewAnonymousCredentials(rand.Reader)
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
	if bytes.Contains(text, []byte(secret)) {
		t.Fatal("verifier text contains the secret")
	}
	var stored Verifier
	if err := stored.UnmarshalText(text); err != nil {
		t.Fatalf("UnmarshalText: %v", err)
	}
	if logN, r, p := stored.Cost(); logN != 15 || r != 8 || p != 1 {
		t.Fatalf("cost = %d,%d,%d", logN, r, p)
	}
	if !stored.Check(secret) {
		t.Fatal("right secret rejected")
	}
	if stored.Check(secret[:len(secret)-1] + "x") {
		t.Fatal("wrong secret accepted")
	}
}

func TestDummyCheckMatchesRealCost(t *testing.T) {
	// The dummy path must run the same derivation as a real verifier; we
	// check the parameters rather than wall-clock time, which is noisy.
	if DummyCheck("anything") {
		t.Fatal("DummyCheck returned true")
	}
	var zero Verifier
	if zero.Check("anything") {
		t.Fatal("zero verifier accepted a secret")
	}
	if len(dummySalt) != saltLen {
		t.Fatalf("dummy salt length %d, want %d", len(dummySalt), saltLen)
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
	for _, s := range []string{"", "bcrypt$x", "scrypt$30$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA", "scrypt$15$8$1$!!$AAAA"} {
		var v Verifier
		if err := v.UnmarshalText([]byte(s)); !errors.Is(err, ErrBadCredential) {
			t.Errorf("UnmarshalText(%q) err = %v", s, err)
		}
	}
}

func TestCredentialsShortRandom(t *testing.T) {
	if _, _, _, err := NewAnonymousCredentials(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("want error on short random source")
	}
}
