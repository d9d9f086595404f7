package codechttp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/deiops/deiops/pkg/config"
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

// Through the server's whole chain (body limit included) and over the
// wire, input the codec cannot take is a problem document on both routes:
// a malformed body, a wrong content type, and a body over the limit whether
// its length is declared or not.
func TestBadInputThroughTheServerIsProblem(t *testing.T) {
	const limit = 1 << 10
	s, err := httpapi.NewServer(httpapi.Options{Logger: slog.New(slog.DiscardHandler), Config: config.HTTP{MaxBodyBytes: limit}})
	if err != nil {
		t.Fatal(err)
	}
	codechttp.Routes(s.Router(), codec(t))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	big := `{"payloads":[{"data":"` + strings.Repeat("A", 2*limit) + `"}]}`
	for _, tc := range []struct {
		name, contentType, body string
		chunked                 bool // no declared length: cut while read
		status                  int
	}{
		{"malformed JSON", "application/json", `{"payloads":`, false, http.StatusBadRequest},
		{"wrong content type", "text/plain", `{"payloads":[]}`, false, http.StatusUnsupportedMediaType},
		{"declared too large", "application/json", big, false, http.StatusRequestEntityTooLarge},
		{"undeclared too large", "application/json", big, true, http.StatusRequestEntityTooLarge},
	} {
		for _, path := range []string{"/v1/codec/encode", "/v1/codec/decode"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				var body io.Reader = strings.NewReader(tc.body)
				if tc.chunked {
					body = io.MultiReader(body) // hides the length from the client
				}
				resp, err := http.Post(srv.URL+path, tc.contentType, body)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != httpapi.ProblemContentType {
					t.Fatalf("%d %s %s, want %d as %s", resp.StatusCode, resp.Header.Get("Content-Type"), got, tc.status, httpapi.ProblemContentType)
				}
				var p httpapi.Problem
				if err := json.Unmarshal(got, &p); err != nil || p.Status != tc.status {
					t.Fatalf("not a problem document: %v %s", err, got)
				}
			})
		}
	}
}
