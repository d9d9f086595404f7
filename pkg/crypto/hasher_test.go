package crypto

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  Jordan   Smith ", "jordan smith"},
		{"JORDAN\tSMITH\n", "jordan smith"},
		{"Ｊｏｒｄａｎ", "jordan"},      // full-width forms (NFKC)
		{"STRASSE", "strasse"},    // full case folding
		{"Straße", "strasse"},     // ß folds to ss
		{"Zoë", "zoë"},            // composed stays composed
		{"Zoe\u0308", "zoë"},      // decomposed composes (NFKC)
		{"Dr.\u00a0Ng", "dr. ng"}, // no-break space is whitespace
		{"\u2003", ""},            // only whitespace
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHasher(t *testing.T) {
	secret := bytes.Repeat([]byte{9}, 32)
	h, err := NewHasher(secret)
	if err != nil {
		t.Fatal(err)
	}
	a := h.Hash("name", "Jordan Smith")
	if a == "" || strings.Contains(strings.ToLower(a), "jordan") {
		t.Fatalf("Hash = %q", a)
	}
	if b := h.Hash("name", "  JORDAN  smith "); !h.Equal(a, b) {
		t.Errorf("normalised variants hash differently: %q vs %q", a, b)
	}
	if b := h.Hash("NAME ", "jordan smith"); b != a {
		t.Errorf("kind is not normalised: %q vs %q", a, b)
	}
	if b := h.Hash("email", "Jordan Smith"); b == a {
		t.Error("different kinds hash the same")
	}
	if b := h.Hash("name", "Jordan Smyth"); b == a {
		t.Error("different values hash the same")
	}
	other, _ := NewHasher(bytes.Repeat([]byte{8}, 32))
	if other.Hash("name", "Jordan Smith") == a {
		t.Error("different secrets hash the same")
	}
	if h.Hash("name", "   ") != "" || h.Equal("", "") {
		t.Error("blank values must not produce matchable hashes")
	}
	// Kind and value are length-prefixed, so moving a boundary changes the hash.
	if h.Hash("ab", "c") == h.Hash("a", "bc") {
		t.Error("kind/value boundary is ambiguous")
	}
	if s := fmt.Sprintf("%v %+v %#v", h, h, h); strings.Contains(s, "[9 9") || strings.Contains(s, "\\t\\t") {
		t.Errorf("Hasher prints its secret: %s", s)
	}
}

func TestParseHasher(t *testing.T) {
	if _, err := ParseHasher(base64.StdEncoding.EncodeToString(make([]byte, 32))); err != nil {
		t.Errorf("32-byte secret: %v", err)
	}
	if _, err := ParseHasher(base64.StdEncoding.EncodeToString(make([]byte, 16))); err == nil {
		t.Error("16-byte secret accepted")
	}
	if _, err := ParseHasher("%%%"); err == nil || strings.Contains(err.Error(), "%%%") {
		t.Errorf("garbage secret: %v", err)
	}
}

func TestStreamIsTheSameForTheSameInputsOnly(t *testing.T) {
	h, err := NewHasher(bytes.Repeat([]byte{7}, MinHashSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewHasher(bytes.Repeat([]byte{8}, MinHashSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	draw := func(r io.Reader, n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := draw(h.Stream("intake", "k"), 100) // longer than one MAC block
	if !bytes.Equal(a, draw(h.Stream("intake", "k"), 100)) {
		t.Error("the same inputs drew different bytes")
	}
	// Reading in small pieces draws the same bytes as one read.
	s, pieces := h.Stream("intake", "k"), []byte{}
	for range 10 {
		pieces = append(pieces, draw(s, 10)...)
	}
	if !bytes.Equal(a, pieces) {
		t.Error("piecewise reads differ from one read")
	}
	for name, r := range map[string]io.Reader{
		"kind": h.Stream("other", "k"), "part": h.Stream("intake", "k2"), "secret": other.Stream("intake", "k"),
		"split": h.Stream("intake", "", "k"),
	} {
		if bytes.Equal(a[:32], draw(r, 32)) {
			t.Errorf("a different %s drew the same bytes", name)
		}
	}
	if bytes.Equal(a[:32], a[32:64]) {
		t.Error("blocks repeat")
	}
}
