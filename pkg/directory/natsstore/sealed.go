package natsstore

// People at rest. A person's display name and e-mail address are
// restricted, so the people bucket keeps them sealed under the keyring
// (AES-256-GCM, bound to the person's id and the field, so a sealed name
// cannot be moved onto another person or into the e-mail member). The rest
// of the record (department, role, supervisor, active) stays readable to
// operators, as it is in the directory's events; nothing looks people up
// by name or e-mail in the store, so no keyed hash is needed beside them.
//
// Records written before sealing hold both in clear. They are still read,
// and the first process that starts on the bucket rewrites each of them
// sealed (sealClear); the bucket keeps one revision per key, so the clear
// value is gone from the stream once its replacement is written.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
)

// storedPerson is a people-bucket value. Its DisplayName and Email shadow
// the record's: they hold a value only in records written before sealing.
type storedPerson struct {
	directory.PersonRecord
	DisplayName string        `json:"display_name,omitempty"`
	Email       string        `json:"email,omitempty"`
	SealedName  crypto.Sealed `json:"display_name_sealed,omitzero"`
	SealedEmail crypto.Sealed `json:"email_sealed,omitzero"`
}

func personAAD(id, field string) []byte { return crypto.AAD("directory_person", id, field) }

// peopleCodec is the people repository's codec: it seals on the way in and
// opens on the way out.
type peopleCodec struct{ sealer crypto.Sealer }

func (c peopleCodec) Marshal(_ string, r *directory.PersonRecord) ([]byte, error) {
	v := storedPerson{PersonRecord: *r}
	var err error
	if v.SealedName, err = crypto.SealValue(c.sealer, []byte(r.DisplayName), personAAD(r.ID, "display_name")); err != nil {
		return nil, fmt.Errorf("seal person %s: %w", r.ID, err)
	}
	if r.Email != "" {
		if v.SealedEmail, err = crypto.SealValue(c.sealer, []byte(r.Email), personAAD(r.ID, "email")); err != nil {
			return nil, fmt.Errorf("seal person %s: %w", r.ID, err)
		}
	}
	return json.Marshal(v)
}

func (c peopleCodec) Unmarshal(_ string, data []byte) (*directory.PersonRecord, error) {
	r, _, err := c.open(data)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// open decodes a stored person; clear reports a record written before
// sealing.
func (c peopleCodec) open(data []byte) (r directory.PersonRecord, clear bool, err error) {
	var v storedPerson
	if err := json.Unmarshal(data, &v); err != nil {
		return r, false, fmt.Errorf("decode person: %w", err)
	}
	r = v.PersonRecord
	if v.SealedName.IsZero() {
		if v.DisplayName == "" {
			return r, false, errors.New("decode person: no display name")
		}
		r.DisplayName, r.Email = v.DisplayName, v.Email
		return r, true, nil
	}
	if v.DisplayName != "" || v.Email != "" {
		return r, false, fmt.Errorf("person %s: clear and sealed members together", r.ID)
	}
	name, err := v.SealedName.Open(c.sealer, personAAD(r.ID, "display_name"))
	if err != nil {
		return r, false, fmt.Errorf("open person %s display name: %w", r.ID, err)
	}
	r.DisplayName = string(name)
	if !v.SealedEmail.IsZero() {
		mail, err := v.SealedEmail.Open(c.sealer, personAAD(r.ID, "email"))
		if err != nil {
			return r, false, fmt.Errorf("open person %s e-mail: %w", r.ID, err)
		}
		r.Email = string(mail)
	}
	return r, false, nil
}

// clearKeys collects the keys of people read in clear, for sealClear.
type clearKeys struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (c *clearKeys) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = map[string]bool{}
	}
	c.keys[key] = true
}

func (c *clearKeys) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.keys))
	for k := range c.keys {
		out = append(out, k)
	}
	c.keys = nil
	return out
}

// sealClear rewrites, sealed, every person the first load of the bucket
// found in clear. Each rewrite is a compare-and-set of the same content, so
// a concurrent import or another process sealing the same person is never
// overwritten; it carries no event, because nothing about the person
// changed.
func (s *Store) sealClear(ctx context.Context) {
	s.startViews()
	if err := s.peopleView.waitFor(ctx, 0); err != nil {
		return // shutting down before the first load
	}
	keys := s.clear.take()
	if len(keys) == 0 {
		return
	}
	sealed := 0
	for _, key := range keys {
		err := s.people.Update(ctx, key, func(*directory.PersonRecord) ([]events.Event, error) { return nil, nil })
		if err != nil && ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.WarnContext(ctx, "sealing a person stored in clear failed; the next start tries again", "key", key, "error", err)
			continue
		}
		sealed++
	}
	s.log.InfoContext(ctx, "sealed people stored in clear", "people", sealed, "of", len(keys))
}
