// Package codechttp serves the Temporal codec server endpoints (POST
// .../encode and .../decode) that the Temporal UI and CLI call to read
// encrypted workflow payloads. Bodies are Temporal's JSON form of
// Payloads; every error is a problem+json like the rest of the API.
package codechttp

import (
	"net/http"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/httpapi"
)

// Payloads is the body of both endpoints: Temporal's {"payloads": [...]},
// bytes in standard base64 as protobuf's JSON mapping writes them.
type Payloads struct {
	Payloads []Payload `json:"payloads" desc:"Payloads to encode or decode, in order"`
}

// Payload is one Temporal payload.
type Payload struct {
	Metadata map[string][]byte `json:"metadata,omitempty" desc:"Metadata entries (base64), e.g. encoding"`
	Data     []byte            `json:"data,omitempty" desc:"The payload bytes (base64)"`
}

// Routes registers POST /v1/codec/encode and /v1/codec/decode for
// admins. The Temporal CLI calls them with --codec-endpoint and
// --codec-auth; a Temporal UI reaches them through its server (browsers
// are not given CORS access: a codec server decrypts anything it is sent).
// c may be nil when the routes are only documented.
func Routes(r *httpapi.Router, c *crypto.Codec) {
	for _, path := range []string{"/v1/codec/encode", "/v1/codec/decode"} {
		name := path[len("/v1/codec/"):]
		var convert func([]*commonpb.Payload) ([]*commonpb.Payload, error)
		if c != nil {
			convert = c.Decode
			if name == "encode" {
				convert = c.Encode
			}
		}
		r.Serve(httpapi.Operation{
			Method: http.MethodPost, Path: path, ID: "codec" + name, Tags: []string{"platform"},
			Summary:    "Temporal codec server: decrypt or encrypt workflow payloads for the Temporal UI and CLI",
			Roles:      []caller.Role{caller.Admin},
			Restricted: true,
			Responses:  map[int]any{http.StatusUnprocessableEntity: nil},
		}, endpoint(convert))
	}
}

func endpoint(convert func([]*commonpb.Payload) ([]*commonpb.Payload, error)) httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req Payloads) (Payloads, error) {
		in := make([]*commonpb.Payload, len(req.Payloads))
		for i, p := range req.Payloads {
			in[i] = &commonpb.Payload{Metadata: p.Metadata, Data: p.Data}
		}
		out, err := convert(in)
		if err != nil {
			// Payloads sealed under a key this keyring lacks, or tampered
			// with: the client's input, not a server fault.
			return Payloads{}, fault.InvalidFields("the payloads cannot be converted", fault.Field{Field: "payloads", Reason: "not payloads this codec can convert"})
		}
		res := Payloads{Payloads: make([]Payload, len(out))}
		for i, p := range out {
			res.Payloads[i] = Payload{Metadata: p.GetMetadata(), Data: p.GetData()}
		}
		return res, nil
	})
}
