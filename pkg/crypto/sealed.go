package crypto

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// AAD builds associated data from parts such as a record type, its id and a
// field name: AAD("case", caseID, "narrative"). Each part is length-prefixed,
// so ("a:b", "c") and ("a", "b:c") never collide.
func AAD(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += 4 + len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

// Sealed is a ciphertext produced by Seal, for use as a field type in store
// records. It marshals to standard base64 text in JSON (the same text as
// SealString) and prints only its size, never its bytes. The zero value means
// "no value".
type Sealed []byte

// SealValue seals plaintext with s into a Sealed.
func SealValue(s Sealer, plaintext, aad []byte) (Sealed, error) {
	ct, err := s.Seal(plaintext, aad)
	if err != nil {
		return nil, err
	}
	return Sealed(ct), nil
}

// Open decrypts the value with s; aad must equal the aad it was sealed with.
func (v Sealed) Open(s Sealer, aad []byte) ([]byte, error) {
	return s.Open(v, aad)
}

// IsZero reports whether there is no value (encoding/json omitzero honours it).
func (v Sealed) IsZero() bool { return len(v) == 0 }

// KeyID names the key the value was sealed with.
func (v Sealed) KeyID() (string, error) { return KeyID(v) }

// String prints a placeholder so ciphertexts do not fill logs.
func (v Sealed) String() string { return fmt.Sprintf("crypto.Sealed(%d bytes)", len(v)) }

// MarshalText encodes standard base64.
func (v Sealed) MarshalText() ([]byte, error) {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(v)))
	base64.StdEncoding.Encode(out, v)
	return out, nil
}

// UnmarshalText decodes standard base64. It does not check the ciphertext;
// Open does.
func (v *Sealed) UnmarshalText(text []byte) error {
	b := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(b, text)
	if err != nil {
		return fmt.Errorf("sealed value: %w: not base64", ErrMalformed)
	}
	*v = b[:n]
	return nil
}
