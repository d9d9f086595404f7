package crypto

import (
	"fmt"
	"net/http"
	"strings"

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

// CodecServerOptions configures NewCodecServer.
type CodecServerOptions struct {
	// Authorize wraps the codec endpoints, e.g. with bearer-token
	// authentication and a role check. Required: a codec server decrypts
	// anything it is sent.
	Authorize func(http.Handler) http.Handler
	// AllowedOrigin is the Temporal UI origin allowed to call from a browser,
	// e.g. "https://temporal.example.org". Empty allows no browser origin.
	AllowedOrigin string
	// MaxBodyBytes bounds a request body; 0 means 4 MiB.
	MaxBodyBytes int64
}

// NewCodecServer returns the codec-server http.Handler the Temporal UI and
// CLI call (POST .../encode and .../decode). CORS preflight requests from
// AllowedOrigin are answered before Authorize, because browsers send them
// without credentials; every other request passes through Authorize.
func NewCodecServer(c *Codec, opts CodecServerOptions) (http.Handler, error) {
	if c == nil {
		return nil, fmt.Errorf("codec server: nil codec")
	}
	if opts.Authorize == nil {
		return nil, fmt.Errorf("codec server: Authorize is required; a codec server must not be reachable without authentication")
	}
	if opts.AllowedOrigin != "" && (strings.HasSuffix(opts.AllowedOrigin, "/") || !strings.Contains(opts.AllowedOrigin, "://") || opts.AllowedOrigin == "*") {
		return nil, fmt.Errorf("codec server: allowed origin %q must be scheme://host[:port] without a path", opts.AllowedOrigin)
	}
	limit := opts.MaxBodyBytes
	if limit <= 0 {
		limit = 4 << 20
	}
	codec := converter.NewPayloadCodecHTTPHandler(c)
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		codec.ServeHTTP(w, r)
	})
	return &codecCORS{origin: opts.AllowedOrigin, next: opts.Authorize(limited)}, nil
}

type codecCORS struct {
	origin string
	next   http.Handler
}

func (h *codecCORS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && h.origin != "" && origin == h.origin
	w.Header().Add("Vary", "Origin")
	if allowed {
		// Also on 401/403, so the UI can read the status instead of a CORS error.
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if !allowed {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.next.ServeHTTP(w, r)
}
