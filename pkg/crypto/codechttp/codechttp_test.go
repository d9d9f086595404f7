package codechttp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/crypto/codechttp"
	"github.com/deiops/deiops/pkg/httpapi"
)

const canary = "CANARY-codec-3d1e"

func codec(t *testing.T) *crypto.Codec {
	t.Helper()
	k, err := crypto.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := crypto.NewCodec(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func post(t *testing.T, h http.Handler, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// What the Temporal CLI sends (protobuf's JSON mapping) round-trips:
// encode hides the plaintext, decode brings it back.
func TestEncodeThenDecodeTemporalJSON(t *testing.T) {
	rt := httpapi.NewRouter(httpapi.RouterOptions{})
	codechttp.Routes(rt, codec(t))
	plain, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + canary + `"`)}}})
	if err != nil {
		t.Fatal(err)
	}
	enc := post(t, rt, "/v1/codec/encode", string(plain))
	if enc.Code != http.StatusOK || strings.Contains(enc.Body.String(), base64.StdEncoding.EncodeToString([]byte(`"`+canary+`"`))) {
		t.Fatalf("encode: %d %s", enc.Code, enc.Body)
	}
	var sealed commonpb.Payloads
	if err := protojson.Unmarshal(enc.Body.Bytes(), &sealed); err != nil || len(sealed.Payloads) != 1 {
		t.Fatalf("the answer is not Temporal's JSON: %v %s", err, enc.Body)
	}
	dec := post(t, rt, "/v1/codec/decode", enc.Body.String())
	var out codechttp.Payloads
	if err := json.Unmarshal(dec.Body.Bytes(), &out); err != nil || dec.Code != http.StatusOK {
		t.Fatalf("decode: %d %s", dec.Code, dec.Body)
	}
	if len(out.Payloads) != 1 || string(out.Payloads[0].Data) != `"`+canary+`"` {
		t.Fatalf("decoded %s", dec.Body)
	}
}

// Errors are problem documents naming the field, never text/plain.
func TestBadBodiesAreProblems(t *testing.T) {
	rt := httpapi.NewRouter(httpapi.RouterOptions{})
	codechttp.Routes(rt, codec(t))
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"payloads":`, http.StatusBadRequest},
		{`{}`, http.StatusUnprocessableEntity},
		{`{"payloads":[{"metadata":{"encoding":"YmluYXJ5L2VuY3J5cHRlZA=="},"data":"AAAA"}]}`, http.StatusUnprocessableEntity},
	} {
		rec := post(t, rt, "/v1/codec/decode", tc.body)
		if rec.Code != tc.status || rec.Header().Get("Content-Type") != httpapi.ProblemContentType {
			t.Errorf("%s: %d %s %s", tc.body, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}
