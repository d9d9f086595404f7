package natsstore

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/testkit"
)

const (
	canaryName  = "Canary Q. Nameinclear"
	canaryEmail = "canary.nameinclear@hospital.example"
)

func canaryPerson(id string) directory.Person {
	p := person(id)
	p.DisplayName, p.Email = canaryName, canaryEmail
	return p
}

// rawPeople returns every value of the people bucket, as stored.
func rawPeople(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	kv := s.people.KV()
	keys, err := kv.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k := range keys.Keys() {
		e, err := kv.Get(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = e.Value()
	}
	return out
}

func leaksCanary(b []byte) bool {
	return bytes.Contains(b, []byte("Nameinclear")) || bytes.Contains(b, []byte("nameinclear"))
}

func TestPeopleAreSealedAtRest(t *testing.T) {
	s := newStore(t, connect(t, testkit.NATS(t).URL()), Options{})
	seed(t, s, canaryPerson("a"), person("b"))
	raw := rawPeople(t, s)
	if len(raw) != 2 {
		t.Fatalf("%d stored people, want 2", len(raw))
	}
	for k, v := range raw {
		if leaksCanary(v) {
			t.Errorf("person %s stored with a name or e-mail in clear: %s", k, v)
		}
		if !bytes.Contains(v, []byte(`"display_name_sealed"`)) || bytes.Contains(v, []byte(`"display_name"`)) {
			t.Errorf("person %s: display name not sealed: %s", k, v)
		}
		if !bytes.Contains(v, []byte(`"department":"med"`)) {
			t.Errorf("person %s: the unrestricted members should stay readable: %s", k, v)
		}
	}
	d, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := d.Get("a"); p.DisplayName != canaryName || p.Email != canaryEmail {
		t.Errorf("person a read back as %q <%s>", p.DisplayName, p.Email)
	}

	// Another installation's keyring opens nothing.
	other, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (peopleCodec{other}).open(mustState(t, raw["a"])); err == nil {
		t.Error("a foreign keyring opened a sealed person")
	}
	// A sealed name moved onto another person does not open.
	moved := strings.Replace(string(mustState(t, raw["a"])), `"id":"a"`, `"id":"b"`, 1)
	if _, _, err := (peopleCodec{testSealer}).open([]byte(moved)); err == nil {
		t.Error("person a's sealed name opened as person b's")
	}
}

func mustState(t *testing.T, data []byte) []byte {
	t.Helper()
	state, err := store.StateOf(data)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// TestPeopleStoredInClearAreSealedOnStart: records an earlier version wrote
// in clear are read as before and rewritten sealed, without an event.
func TestPeopleStoredInClearAreSealedOnStart(t *testing.T) {
	b := connect(t, testkit.NATS(t).URL())
	old, err := store.New(t.Context(), b, store.JSONCodec[directory.PersonRecord]{}, store.Options{Bucket: PeopleBucket})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		rec := directory.NewPersonRecord(canaryPerson(id))
		if err := old.Create(t.Context(), id, &rec); err != nil {
			t.Fatal(err)
		}
	}
	stream := directory.PersonUpdated{}.EventSpec().Stream()
	before, err := b.StreamMessages(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}

	s := newStore(t, b, Options{})
	if d, err := s.Snapshot(t.Context()); err != nil || d.Len() != 3 {
		t.Fatalf("snapshot over clear records: %v", err)
	}
	relays, err := s.StartRelay(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, r := range relays {
			_ = r.Stop(context.Background())
		}
	})
	testkit.Eventually(t, 20*time.Second, "every person sealed", func() bool {
		for _, v := range rawPeople(t, s) {
			if leaksCanary(v) {
				return false
			}
		}
		return true
	})
	d, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if p, ok := d.Get(id); !ok || p.DisplayName != canaryName || p.Email != canaryEmail {
			t.Errorf("person %s after sealing: %+v", id, p)
		}
	}
	if after, _ := b.StreamMessages(t.Context(), stream); after != before {
		t.Errorf("sealing published %d events; nothing about the people changed", after-before)
	}
}
