package crypto

import (
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the payload "encoding" metadata of encrypted payloads.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the payload metadata entry naming the key, so operators
	// can see which key a history still depends on without decrypting it.
	MetadataKeyID = "encryption-key-id"
	// payloadAAD keeps Temporal payload ciphertexts and store field
	// ciphertexts from being substituted for each other.
	payloadAAD = "deiops/temporal-payload/v1"
)

// Codec is a Temporal converter.PayloadCodec that encrypts every payload with
// a Keyring. Workflow inputs, results, signals, queries, memos and heartbeat
// details then reach the Temporal server and its history only as ciphertext.
type Codec struct {
	keys *Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a codec sealing with keys.
func NewCodec(keys *Keyring) (*Codec, error) {
	if keys == nil {
		return nil, fmt.Errorf("payload codec: nil keyring")
	}
	return &Codec{keys: keys}, nil
}

// Encode seals each whole payload (metadata and data), so the original
// encoding and type are hidden too. The input is not modified.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload %d: marshal: %w", i, err)
		}
		ct, err := c.keys.Seal(plain, []byte(payloadAAD))
		if err != nil {
			return nil, fmt.Errorf("encode payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.keys.CurrentKeyID()),
			},
			Data: ct,
		}
	}
	return out, nil
}

// Decode opens encrypted payloads and passes any other payload through
// unchanged (histories written before encryption was enabled still decode).
// The input is not modified.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		// The key id inside the ciphertext is authenticated; the metadata copy
		// is not, so a disagreement means someone edited the payload.
		id, err := KeyID(p.GetData())
		if err != nil {
			return nil, fmt.Errorf("decode payload %d: %w", i, err)
		}
		if meta, ok := p.GetMetadata()[MetadataKeyID]; ok && string(meta) != id {
			return nil, fmt.Errorf("decode payload %d: %w: metadata key id differs from ciphertext key id", i, ErrMalformed)
		}
		plain, err := c.keys.Open(p.GetData(), []byte(payloadAAD))
		if err != nil {
			return nil, fmt.Errorf("decode payload %d: %w", i, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("decode payload %d: unmarshal: %w", i, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// NewDataConverter wraps Temporal's default data converter with the codec;
// pass it as client.Options.DataConverter in every client and worker.
//
// Failure messages and stack traces are not payloads: to encrypt them as well
// set client.Options.FailureConverter to
// temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
// DataConverter: dc, EncodeCommonAttributes: true}).
func NewDataConverter(keys *Keyring) (converter.DataConverter, error) {
	c, err := NewCodec(keys)
	if err != nil {
		return nil, err
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c), nil
}
