package crypto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func testKey(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, KeySize))
}

func mustKeyring(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := ParseKeyring(s)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

func TestParseKeyring(t *testing.T) {
	secret := testKey(7)
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	tests := []struct {
		name    string
		in      string
		wantIDs []string
		wantErr string
	}{
		{name: "one key", in: "k1:" + secret, wantIDs: []string{"k1"}},
		{name: "newest first, spaces tolerated", in: " k2:" + testKey(2) + " , k1:" + secret, wantIDs: []string{"k2", "k1"}},
		{name: "unpadded base64", in: "k1:" + strings.TrimRight(secret, "="), wantIDs: []string{"k1"}},
		{name: "empty", in: "  ", wantErr: "empty"},
		{name: "trailing comma", in: "k1:" + secret + ",", wantErr: "entry 2 is empty"},
		{name: "no colon", in: secret, wantErr: "entry 1 has no ':'"},
		{name: "upper-case id", in: "K1:" + secret, wantErr: "only a-z, 0-9"},
		{name: "id too long", in: strings.Repeat("a", 33) + ":" + secret, wantErr: "longer than 32"},
		{name: "empty id", in: ":" + secret, wantErr: "key id is empty"},
		{name: "not base64", in: "k1:%%%", wantErr: `entry 1 (id "k1"): key is not valid base64`},
		{name: "short key", in: "k1:" + short, wantErr: "key is 16 bytes, want 32"},
		{name: "duplicate id", in: "k1:" + secret + ",k1:" + testKey(3), wantErr: `key id "k1" appears more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyring(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("want error containing %q, got keyring %v", tt.wantErr, k)
				}
				if !errors.Is(err, ErrInvalidKeyring) {
					t.Errorf("error %v is not ErrInvalidKeyring", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), short) {
					t.Errorf("error %q contains key material", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeyring: %v", err)
			}
			if got := k.KeyIDs(); strings.Join(got, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids = %v, want %v", got, tt.wantIDs)
			}
			if k.CurrentKeyID() != tt.wantIDs[0] {
				t.Errorf("current = %q, want %q", k.CurrentKeyID(), tt.wantIDs[0])
			}
		})
	}
}

func TestKeyringNeverPrintsKeyMaterial(t *testing.T) {
	raw := bytes.Repeat([]byte{0xAB}, KeySize)
	k, err := NewKeyring([]string{"k1"}, [][]byte{raw})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("keys", "keyring", k)
	js, _ := json.Marshal(k)
	outputs := []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprintf("%x", k), logged.String(), string(js),
	}
	for _, out := range outputs {
		if strings.Contains(out, "abab") || strings.Contains(out, "ABAB") || strings.Contains(out, base64.StdEncoding.EncodeToString(raw)[:8]) || strings.Contains(out, "171") {
			t.Errorf("output leaks key material: %s", out)
		}
	}
	if !strings.Contains(fmt.Sprint(k), "k1") {
		t.Errorf("String() = %q, want it to name key ids", k)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	aad := AAD("case", "c-123", "narrative")
	for _, pt := range [][]byte{nil, []byte("x"), []byte("The registrar said ... in front of the team."), bytes.Repeat([]byte("z"), 1<<16)} {
		ct, err := k.Seal(pt, aad)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if len(pt) >= 8 && bytes.Contains(ct, pt) { // shorter values can occur by chance
			t.Fatalf("ciphertext contains plaintext")
		}
		got, err := k.Open(ct, aad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
		id, err := KeyID(ct)
		if err != nil || id != "k1" {
			t.Fatalf("KeyID = %q, %v; want k1", id, err)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	a, _ := k.Seal([]byte("same"), nil)
	b, _ := k.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are identical; nonce reused")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	aad := AAD("case", "c-1", "narrative")
	ct, err := k.Seal([]byte("restricted narrative"), aad)
	if err != nil {
		t.Fatal(err)
	}
	// Every single-byte flip after the key id must fail authentication; flips in
	// the header must fail as malformed, unknown key or authentication.
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := k.Open(bad, aad); err == nil {
			t.Fatalf("flipping byte %d was not detected", i)
		} else if i >= 2+len("k1") && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("flipping byte %d: error %v, want ErrDecrypt", i, err)
		}
	}
	if _, err := k.Open(ct[:len(ct)-1], aad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("truncated: %v, want ErrDecrypt", err)
	}
	for _, short := range [][]byte{nil, {formatV1}, {formatV1, 2, 'k', '1'}} {
		if _, err := k.Open(short, aad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open(%x): %v, want ErrMalformed", short, err)
		}
	}
}

func TestOpenRejectsWrongAAD(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	ct, err := k.Seal([]byte("narrative of case 1"), AAD("case", "c-1", "narrative"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{nil, AAD("case", "c-2", "narrative"), AAD("case", "c-1", "summary"), AAD("case", "c-1narrative")} {
		if _, err := k.Open(ct, aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open with aad %q: %v, want ErrDecrypt", aad, err)
		}
	}
}

func TestAADIsUnambiguous(t *testing.T) {
	if bytes.Equal(AAD("a:b", "c"), AAD("a", "b:c")) || bytes.Equal(AAD("ab"), AAD("a", "b")) {
		t.Fatal("different parts produce the same aad")
	}
}

func TestRotation(t *testing.T) {
	old := mustKeyring(t, "k1:"+testKey(1))
	aad := AAD("person", "p-9", "name")
	oldCT, err := old.Seal([]byte("Dr. A"), aad)
	if err != nil {
		t.Fatal(err)
	}

	rotated := mustKeyring(t, "k2:"+testKey(2)+",k1:"+testKey(1))
	got, err := rotated.Open(oldCT, aad)
	if err != nil || string(got) != "Dr. A" {
		t.Fatalf("old ciphertext after rotation: %q, %v", got, err)
	}
	newCT, err := rotated.Seal([]byte("Dr. B"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyID(newCT); id != "k2" {
		t.Fatalf("new writes use key %q, want k2", id)
	}
	if _, err := old.Open(newCT, aad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old ring opening new ciphertext: %v, want ErrUnknownKey", err)
	}

	resealed, changed, err := rotated.Reseal(oldCT, aad)
	if err != nil || !changed {
		t.Fatalf("Reseal: changed=%v err=%v", changed, err)
	}
	retired := mustKeyring(t, "k2:"+testKey(2))
	if got, err := retired.Open(resealed, aad); err != nil || string(got) != "Dr. A" {
		t.Fatalf("resealed value after retiring k1: %q, %v", got, err)
	}
	if _, changed, _ := rotated.Reseal(resealed, aad); changed {
		t.Error("Reseal changed a value already under the current key")
	}
	_, err = retired.Open(oldCT, aad)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("retired key: %v, want ErrUnknownKey naming k1", err)
	}
}

func TestSealString(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	aad := AAD("case", "c-1", "accused_name")
	s, err := k.SealString("Jordan Smith", aad)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "Jordan") {
		t.Fatal("sealed string contains plaintext")
	}
	got, err := k.OpenString(s, aad)
	if err != nil || got != "Jordan Smith" {
		t.Fatalf("OpenString = %q, %v", got, err)
	}
	if _, err := k.OpenString("not base64!", aad); !errors.Is(err, ErrMalformed) {
		t.Errorf("OpenString(garbage): %v, want ErrMalformed", err)
	}
}

func TestSealedFieldJSON(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	type record struct {
		ID        string `json:"id"`
		Narrative Sealed `json:"narrative,omitzero"`
	}
	aad := AAD("case", "c-7", "narrative")
	sealed, err := SealValue(k, []byte("canary-narrative"), aad)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(record{ID: "c-7", Narrative: sealed})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, []byte("canary")) {
		t.Fatalf("record JSON contains plaintext: %s", js)
	}
	var back record
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	pt, err := back.Narrative.Open(k, aad)
	if err != nil || string(pt) != "canary-narrative" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if s := fmt.Sprint(back.Narrative); strings.Contains(s, base64.StdEncoding.EncodeToString(sealed)[:12]) || !strings.Contains(s, "bytes") {
		t.Errorf("Sealed prints %q", s)
	}
	empty, _ := json.Marshal(record{ID: "c-8"})
	if string(empty) != `{"id":"c-8"}` {
		t.Errorf("empty field JSON = %s", empty)
	}
	want, _ := k.SealString("x", nil)
	var viaText Sealed
	if err := viaText.UnmarshalText([]byte(want)); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(viaText, nil); err != nil || string(got) != "x" {
		t.Errorf("SealString text does not unmarshal into Sealed: %q, %v", got, err)
	}
}

func TestGenerateKeyring(t *testing.T) {
	k, cfg, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	parsed := mustKeyring(t, cfg)
	ct, err := k.Seal([]byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := parsed.Open(ct, nil); err != nil || string(got) != "v" {
		t.Fatalf("generated config does not describe the generated keyring: %q, %v", got, err)
	}
	entry, err := GenerateKeyEntry("2026-07")
	if err != nil || !strings.HasPrefix(entry, "2026-07:") {
		t.Fatalf("GenerateKeyEntry = %q, %v", entry, err)
	}
	if _, err := GenerateKeyEntry("Bad"); err == nil {
		t.Error("GenerateKeyEntry accepted an invalid id")
	}
}

func TestNilKeyringErrors(t *testing.T) {
	var k *Keyring
	if _, err := k.Seal([]byte("x"), nil); err == nil {
		t.Error("nil keyring sealed")
	}
	if _, err := k.Open([]byte{1, 1, 'a'}, nil); err == nil {
		t.Error("nil keyring opened")
	}
}

func TestKeyringConcurrentUse(t *testing.T) {
	k := mustKeyring(t, "k2:"+testKey(2)+",k1:"+testKey(1))
	old, _ := mustKeyring(t, "k1:"+testKey(1)).Seal([]byte("old"), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			aad := AAD("record", fmt.Sprint(i))
			for range 200 {
				ct, err := k.Seal([]byte("value"), aad)
				if err == nil {
					_, err = k.Open(ct, aad)
				}
				if err == nil {
					_, err = k.Open(old, nil)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
