package idem

import (
	"context"
	"strings"
	"testing"
)

func TestIDIsDerivedFromTheScopeOnly(t *testing.T) {
	ctx := With(context.Background(), Scope{Key: "k1", Fingerprint: "f"})
	a, b := ID(ctx, "g-", 10), ID(ctx, "g-", 10)
	if a != b || !strings.HasPrefix(a, "g-") || len(a) != 2+20 {
		t.Fatalf("a retry derived %q then %q", a, b)
	}
	if ID(ctx, "r-", 10)[2:] == a[2:] {
		t.Error("two prefixes share an id")
	}
	if ID(With(context.Background(), Scope{Key: "k2"}), "g-", 10) == a {
		t.Error("two scopes share an id")
	}
	plain := context.Background()
	if x, y := ID(plain, "g-", 10), ID(plain, "g-", 10); x == y {
		t.Error("ids without a scope must be random")
	}
	if _, ok := From(With(plain, Scope{})); ok {
		t.Error("an empty scope is no scope")
	}
}
