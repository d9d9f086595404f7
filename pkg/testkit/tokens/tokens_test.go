package tokens_test

import (
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/testkit/tokens"
)

func TestTokenIsASignedJWT(t *testing.T) {
	iss := tokens.DevIssuer(t, "deiops")
	tok := iss.Token("alice", "resolver")
	if parts := strings.Split(tok, "."); len(parts) != 3 || parts[2] == "" {
		t.Fatalf("token %q is not a signed compact JWS", tok)
	}
}
