// Package crypto protects restricted data at rest: AES-256-GCM field
// encryption under a keyring of identified keys (rotation without downtime),
// keyed hashes of identifiers for matching without storing them in clear,
// and a Temporal payload codec that uses the same keyring.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
)

// Error is the type of this package's sentinel errors; compare with errors.Is.
type Error string

func (e Error) Error() string { return string(e) }

const (
	// ErrInvalidKeyring means the keyring configuration could not be parsed.
	ErrInvalidKeyring = Error("invalid keyring")
	// ErrMalformed means the input is not a ciphertext this package produced.
	ErrMalformed = Error("malformed ciphertext")
	// ErrUnknownKey means the ciphertext names a key id that is not in the keyring
	// (a key was removed before every record encrypted under it was re-sealed).
	ErrUnknownKey = Error("unknown key id")
	// ErrDecrypt means authentication failed: the ciphertext was altered, or the
	// associated data differs from the data it was sealed with. The two cases
	// are indistinguishable by design.
	ErrDecrypt = Error("decryption failed")
)

const (
	// KeySize is the size of every key in bytes (AES-256).
	KeySize = 32
	// maxKeyIDLen bounds the key id so the one-byte length in the header suffices.
	maxKeyIDLen = 32
	// formatV1 is the first byte of every ciphertext: version 1 is
	// version | len(keyID) | keyID | nonce(12) | AES-GCM(ciphertext || tag).
	formatV1 = 0x01
)

// Sealer encrypts and decrypts values bound to associated data (aad), which
// names the record and field a value belongs to so that it cannot be moved
// to another record or field. *Keyring implements it.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

var _ Sealer = (*Keyring)(nil)

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring holds the encryption keys of a process. The first key encrypts new
// values; every key decrypts values that name it, so a key can be added in
// front, records re-sealed at leisure, and the old key removed afterwards.
// A Keyring is immutable and safe for concurrent use. It never prints its
// key material (String, GoString and LogValue show only key ids).
type Keyring struct {
	keys []key          // keys[0] seals
	byID map[string]int // index into keys
}

// ParseKeyring reads the DEIOPS_CRYPTO_KEYRING format: comma-separated
// "id:base64(32 bytes)" entries, newest first. Ids match [a-z0-9-]{1,32}.
// Errors name the entry and id but never the key material.
func ParseKeyring(s string) (*Keyring, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty; want id:base64(32 bytes)[,id:base64...]", ErrInvalidKeyring)
	}
	entries := strings.Split(s, ",")
	ids := make([]string, 0, len(entries))
	secrets := make([][]byte, 0, len(entries))
	for i, e := range entries {
		n := i + 1
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, fmt.Errorf("%w: entry %d is empty", ErrInvalidKeyring, n)
		}
		id, b64, ok := strings.Cut(e, ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d has no ':' between key id and key", ErrInvalidKeyring, n)
		}
		id = strings.TrimSpace(id)
		if err := validKeyID(id); err != nil {
			// The id may be a pasted key; show it only when it is a well-formed id.
			return nil, fmt.Errorf("%w: entry %d: %v", ErrInvalidKeyring, n, err)
		}
		secret, err := decodeKey(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d (id %q): key is not valid base64", ErrInvalidKeyring, n, id)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("%w: entry %d (id %q): key is %d bytes, want %d", ErrInvalidKeyring, n, id, len(secret), KeySize)
		}
		ids = append(ids, id)
		secrets = append(secrets, secret)
	}
	return newKeyring(ids, secrets)
}

// NewKeyring builds a keyring from ids and 32-byte keys, newest first. The
// keys are copied.
func NewKeyring(ids []string, keys [][]byte) (*Keyring, error) {
	if len(ids) != len(keys) {
		return nil, fmt.Errorf("%w: %d ids for %d keys", ErrInvalidKeyring, len(ids), len(keys))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKeyring)
	}
	for i, id := range ids {
		if err := validKeyID(id); err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrInvalidKeyring, i+1, err)
		}
		if len(keys[i]) != KeySize {
			return nil, fmt.Errorf("%w: key %q is %d bytes, want %d", ErrInvalidKeyring, id, len(keys[i]), KeySize)
		}
	}
	return newKeyring(ids, keys)
}

func newKeyring(ids []string, secrets [][]byte) (*Keyring, error) {
	k := &Keyring{keys: make([]key, 0, len(ids)), byID: make(map[string]int, len(ids))}
	for i, id := range ids {
		if _, dup := k.byID[id]; dup {
			return nil, fmt.Errorf("%w: key id %q appears more than once", ErrInvalidKeyring, id)
		}
		block, err := aes.NewCipher(secrets[i])
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrInvalidKeyring, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrInvalidKeyring, id, err)
		}
		k.byID[id] = len(k.keys)
		k.keys = append(k.keys, key{id: id, aead: aead})
	}
	return k, nil
}

// GenerateKeyring creates a one-key keyring for development and returns it
// with its configuration string (a secret: it contains the key).
func GenerateKeyring() (*Keyring, string, error) {
	entry, err := GenerateKeyEntry("")
	if err != nil {
		return nil, "", err
	}
	k, err := ParseKeyring(entry)
	if err != nil {
		return nil, "", err
	}
	return k, entry, nil
}

// GenerateKeyEntry returns a new keyring entry "id:base64(32 random bytes)"
// to prepend to DEIOPS_CRYPTO_KEYRING when rotating. An empty id gets a
// random one of the form "k-0123abcd".
func GenerateKeyEntry(id string) (string, error) {
	if id == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("generate key id: %w", err)
		}
		id = "k-" + hex.EncodeToString(b[:])
	}
	if err := validKeyID(id); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(secret), nil
}

// CurrentKeyID is the id of the key that seals new values.
func (k *Keyring) CurrentKeyID() string { return k.keys[0].id }

// KeyIDs lists the key ids, newest first.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, kk := range k.keys {
		ids[i] = kk.id
	}
	return ids
}

// Seal encrypts plaintext under the current key, bound to aad. Each call uses
// a fresh random nonce, so sealing the same value twice gives different
// ciphertexts.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, fmt.Errorf("seal: %w: no keys", ErrInvalidKeyring)
	}
	cur := k.keys[0]
	nonceSize := cur.aead.NonceSize()
	hdrLen := 2 + len(cur.id)
	out := make([]byte, hdrLen+nonceSize, hdrLen+nonceSize+len(plaintext)+cur.aead.Overhead())
	out[0] = formatV1
	out[1] = byte(len(cur.id))
	copy(out[2:], cur.id)
	nonce := out[hdrLen : hdrLen+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	return cur.aead.Seal(out, nonce, plaintext, additionalData(out[:hdrLen], aad)), nil
}

// Open decrypts a value produced by Seal with any key still in the ring. It
// fails with ErrDecrypt when the ciphertext was altered or aad differs, with
// ErrUnknownKey when its key has left the ring, and with ErrMalformed when
// the input is not a ciphertext at all.
func (k *Keyring) Open(ciphertext, aad []byte) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, fmt.Errorf("open: %w: no keys", ErrInvalidKeyring)
	}
	id, hdrLen, err := parseHeader(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	i, ok := k.byID[id]
	if !ok {
		return nil, fmt.Errorf("open: %w %q (keyring has %s)", ErrUnknownKey, id, strings.Join(k.KeyIDs(), ", "))
	}
	kk := k.keys[i]
	nonceSize := kk.aead.NonceSize()
	if len(ciphertext) < hdrLen+nonceSize+kk.aead.Overhead() {
		return nil, fmt.Errorf("open: %w: too short", ErrMalformed)
	}
	nonce := ciphertext[hdrLen : hdrLen+nonceSize]
	plaintext, err := kk.aead.Open(nil, nonce, ciphertext[hdrLen+nonceSize:], additionalData(ciphertext[:hdrLen], aad))
	if err != nil {
		return nil, fmt.Errorf("open with key %q: %w", id, ErrDecrypt)
	}
	return plaintext, nil
}

// Reseal re-encrypts a ciphertext under the current key, for the background
// job that retires an old key. It returns the input unchanged (and false)
// when it is already sealed with the current key.
func (k *Keyring) Reseal(ciphertext, aad []byte) ([]byte, bool, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, false, fmt.Errorf("reseal: %w: no keys", ErrInvalidKeyring)
	}
	id, err := KeyID(ciphertext)
	if err != nil {
		return nil, false, fmt.Errorf("reseal: %w", err)
	}
	if id == k.CurrentKeyID() {
		return ciphertext, false, nil
	}
	plaintext, err := k.Open(ciphertext, aad)
	if err != nil {
		return nil, false, fmt.Errorf("reseal: %w", err)
	}
	out, err := k.Seal(plaintext, aad)
	if err != nil {
		return nil, false, fmt.Errorf("reseal: %w", err)
	}
	return out, true, nil
}

// SealString seals a string field and returns standard base64 text, for
// stores that keep text.
func (k *Keyring) SealString(plaintext string, aad []byte) (string, error) {
	ct, err := k.Seal([]byte(plaintext), aad)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// OpenString reverses SealString.
func (k *Keyring) OpenString(ciphertext string, aad []byte) (string, error) {
	ct, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return "", fmt.Errorf("open: %w: not base64", ErrMalformed)
	}
	pt, err := k.Open(ct, aad)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// String shows key ids only.
func (k *Keyring) String() string {
	if k == nil {
		return "crypto.Keyring(nil)"
	}
	return "crypto.Keyring{" + strings.Join(k.KeyIDs(), ",") + "}"
}

// GoString keeps %#v from printing key material.
func (k *Keyring) GoString() string { return k.String() }

// LogValue keeps slog from printing key material.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// KeyID returns the id of the key a ciphertext was sealed with, without
// decrypting it (useful to find records that still need re-sealing).
func KeyID(ciphertext []byte) (string, error) {
	id, _, err := parseHeader(ciphertext)
	return id, err
}

func parseHeader(ct []byte) (id string, hdrLen int, err error) {
	if len(ct) < 2 {
		return "", 0, fmt.Errorf("%w: too short", ErrMalformed)
	}
	if ct[0] != formatV1 {
		return "", 0, fmt.Errorf("%w: unknown format version %d", ErrMalformed, ct[0])
	}
	n := int(ct[1])
	if n == 0 || n > maxKeyIDLen || len(ct) < 2+n {
		return "", 0, fmt.Errorf("%w: bad key id length", ErrMalformed)
	}
	id = string(ct[2 : 2+n])
	if validKeyID(id) != nil {
		return "", 0, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	return id, 2 + n, nil
}

// additionalData authenticates the header together with the caller's aad, so
// neither the version nor the key id can be changed without detection. The
// header is self-delimiting, so the concatenation is unambiguous.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}

func validKeyID(id string) error {
	if id == "" {
		return fmt.Errorf("key id is empty")
	}
	if len(id) > maxKeyIDLen {
		return fmt.Errorf("key id is longer than %d characters", maxKeyIDLen)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("key id may contain only a-z, 0-9 and '-'")
		}
	}
	return nil
}

func decodeKey(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
