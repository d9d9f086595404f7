package crypto

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const canary = "CANARY-restricted-narrative-7f3a"

func mustCodec(t *testing.T, k *Keyring) *Codec {
	t.Helper()
	c, err := NewCodec(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCodecRoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	c := mustCodec(t, k)
	in := []*commonpb.Payload{jsonPayload(t, map[string]string{"narrative": canary}), jsonPayload(t, 42)}
	orig := make([]*commonpb.Payload, len(in))
	for i, p := range in {
		orig[i] = proto.Clone(p).(*commonpb.Payload)
	}

	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range enc {
		if got := string(p.Metadata[converter.MetadataEncoding]); got != EncodingEncrypted {
			t.Errorf("payload %d encoding = %q", i, got)
		}
		if got := string(p.Metadata[MetadataKeyID]); got != "k1" {
			t.Errorf("payload %d key id = %q", i, got)
		}
		wire, _ := proto.Marshal(p)
		if bytes.Contains(wire, []byte(canary)) || bytes.Contains(wire, []byte("json/plain")) {
			t.Errorf("encoded payload %d contains plaintext or original metadata", i)
		}
	}
	for i := range in {
		if !proto.Equal(in[i], orig[i]) {
			t.Fatalf("Encode modified its input %d", i)
		}
	}

	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range orig {
		if !proto.Equal(dec[i], orig[i]) {
			t.Errorf("payload %d: decoded %v, want %v", i, dec[i], orig[i])
		}
	}
}

func TestCodecPassesThroughUnencrypted(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, "k1:"+testKey(1)))
	plain := jsonPayload(t, "written before encryption was enabled")
	dec, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if dec[0] != plain {
		t.Error("unencrypted payload was not passed through")
	}
}

func TestCodecDecodesOldKeyAfterRotation(t *testing.T) {
	before := mustCodec(t, mustKeyring(t, "k1:"+testKey(1)))
	after := mustCodec(t, mustKeyring(t, "k2:"+testKey(2)+",k1:"+testKey(1)))
	p := jsonPayload(t, canary)

	old, err := before.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := after.Decode(old)
	if err != nil {
		t.Fatalf("payload of an old key after rotation: %v", err)
	}
	if !proto.Equal(dec[0], p) {
		t.Errorf("decoded %v, want %v", dec[0], p)
	}
	fresh, _ := after.Encode([]*commonpb.Payload{p})
	if id := string(fresh[0].Metadata[MetadataKeyID]); id != "k2" {
		t.Errorf("new payloads use key %q, want k2", id)
	}
	if _, err := before.Decode(fresh); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("decoding with a ring lacking k2: %v, want ErrUnknownKey", err)
	}
}

func TestCodecDetectsTampering(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, "k1:"+testKey(1)))
	enc, err := c.Encode([]*commonpb.Payload{jsonPayload(t, canary)})
	if err != nil {
		t.Fatal(err)
	}

	flipped := proto.Clone(enc[0]).(*commonpb.Payload)
	flipped.Data[len(flipped.Data)-5] ^= 0x80
	if _, err := c.Decode([]*commonpb.Payload{flipped}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("flipped byte: %v, want ErrDecrypt", err)
	}

	relabelled := proto.Clone(enc[0]).(*commonpb.Payload)
	relabelled.Metadata[MetadataKeyID] = []byte("k0")
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); !errors.Is(err, ErrMalformed) {
		t.Errorf("edited key id metadata: %v, want ErrMalformed", err)
	}

	// A store field ciphertext must not be accepted as a Temporal payload.
	field, _ := c.keys.Seal([]byte("x"), AAD("case", "c-1", "narrative"))
	swapped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: field}
	if _, err := c.Decode([]*commonpb.Payload{swapped}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("field ciphertext as payload: %v, want ErrDecrypt", err)
	}
}

func TestDataConverter(t *testing.T) {
	dc, err := NewDataConverter(mustKeyring(t, "k1:"+testKey(1)))
	if err != nil {
		t.Fatal(err)
	}
	type input struct{ CaseID, Narrative string }
	p, err := dc.ToPayload(input{CaseID: "c-1", Narrative: canary})
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := proto.Marshal(p)
	if bytes.Contains(wire, []byte(canary)) || bytes.Contains(wire, []byte("c-1")) {
		t.Fatal("data converter output contains plaintext")
	}
	var got input
	if err := dc.FromPayload(p, &got); err != nil {
		t.Fatal(err)
	}
	if got.Narrative != canary {
		t.Errorf("round trip = %+v", got)
	}
}

func passAuth(next http.Handler) http.Handler { return next }

func denyAuth(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
}
