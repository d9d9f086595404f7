// Package adapters keeps the connection service's aggregates in JetStream
// KV (pkg/store). Codecs seal what is restricted with the platform
// keyring: a profile's affinity fields (affinities, wanting affinity
// matching, offering affinity mentoring), a round's proposals and unmatched
// list (their scores include affinity points), and story-circle topics.
package adapters

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/services/connection/domain"
)

const wireVersion = 1

func seal(keys *crypto.Keyring, v any, aad []byte) (crypto.Sealed, error) {
	if keys == nil {
		return nil, errors.New("no keyring: restricted fields cannot be stored")
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return crypto.SealValue(keys, data, aad)
}

func open(keys *crypto.Keyring, s crypto.Sealed, aad []byte, v any) error {
	if s.IsZero() {
		return nil
	}
	if keys == nil {
		return errors.New("no keyring: restricted fields cannot be read")
	}
	data, err := s.Open(keys, aad)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// ProfileCodec seals the affinity fields of profiles.
type ProfileCodec struct{ Keys *crypto.Keyring }

type profileWire struct {
	V      int                 `json:"v"`
	State  domain.ProfileState `json:"state"`
	Sealed crypto.Sealed       `json:"sealed,omitempty"`
}

type profileRestricted struct {
	Affinities        []string `json:"affinities,omitempty"`
	WantsAffinity     bool     `json:"wants_affinity,omitempty"`
	AffinityMentoring bool     `json:"affinity_mentoring,omitempty"`
}

func profileAAD(id string) []byte { return crypto.AAD("connection", "profile", id, "affinity") }

// Marshal implements store.Codec.
func (c ProfileCodec) Marshal(id string, p *domain.Profile) ([]byte, error) {
	st := p.State()
	r := profileRestricted{Affinities: st.Input.Affinities, WantsAffinity: st.Input.WantsAffinity, AffinityMentoring: st.Input.AffinityMentoring}
	st.Input.Affinities, st.Input.WantsAffinity, st.Input.AffinityMentoring = nil, false, false
	w := profileWire{V: wireVersion, State: st}
	if len(r.Affinities) > 0 || r.WantsAffinity || r.AffinityMentoring {
		s, err := seal(c.Keys, r, profileAAD(id))
		if err != nil {
			return nil, fmt.Errorf("seal profile %s: %w", id, err)
		}
		w.Sealed = s
	}
	return json.Marshal(w)
}

// Unmarshal implements store.Codec.
func (c ProfileCodec) Unmarshal(id string, data []byte) (*domain.Profile, error) {
	var w profileWire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	var r profileRestricted
	if err := open(c.Keys, w.Sealed, profileAAD(id), &r); err != nil {
		return nil, fmt.Errorf("open profile %s: %w", id, err)
	}
	w.State.Input.Affinities, w.State.Input.WantsAffinity, w.State.Input.AffinityMentoring = r.Affinities, r.WantsAffinity, r.AffinityMentoring
	return domain.RestoreProfile(w.State), nil
}

// RoundCodec seals a round's proposals and unmatched list.
type RoundCodec struct{ Keys *crypto.Keyring }

type roundWire struct {
	V      int               `json:"v"`
	State  domain.RoundState `json:"state"`
	Sealed crypto.Sealed     `json:"sealed"`
	// Deflated: the sealed JSON was compressed first, so a round of
	// thousands of proposals stays well under the NATS payload limit.
	Deflated bool `json:"deflated,omitempty"`
}

type roundRestricted struct {
	Proposals []domain.Proposal  `json:"proposals"`
	Unmatched []domain.Unmatched `json:"unmatched"`
}

func roundAAD(id string) []byte { return crypto.AAD("connection", "round", id, "proposals") }

// Marshal implements store.Codec.
func (c RoundCodec) Marshal(id string, r *domain.Round) ([]byte, error) {
	st := r.State()
	plain, err := json.Marshal(roundRestricted{Proposals: st.Proposals, Unmatched: st.Unmatched})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if _, err := zw.Write(plain); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if c.Keys == nil {
		return nil, errors.New("no keyring: restricted fields cannot be stored")
	}
	s, err := crypto.SealValue(c.Keys, buf.Bytes(), roundAAD(id))
	if err != nil {
		return nil, fmt.Errorf("seal round %s: %w", id, err)
	}
	st.Proposals, st.Unmatched = nil, nil
	return json.Marshal(roundWire{V: wireVersion, State: st, Sealed: s, Deflated: true})
}

// Unmarshal implements store.Codec.
func (c RoundCodec) Unmarshal(id string, data []byte) (*domain.Round, error) {
	var w roundWire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	var r roundRestricted
	if w.Deflated {
		if c.Keys == nil {
			return nil, errors.New("no keyring: restricted fields cannot be read")
		}
		z, err := w.Sealed.Open(c.Keys, roundAAD(id))
		if err != nil {
			return nil, fmt.Errorf("open round %s: %w", id, err)
		}
		if err := json.NewDecoder(flate.NewReader(bytes.NewReader(z))).Decode(&r); err != nil {
			return nil, fmt.Errorf("inflate round %s: %w", id, err)
		}
	} else if err := open(c.Keys, w.Sealed, roundAAD(id), &r); err != nil {
		return nil, fmt.Errorf("open round %s: %w", id, err)
	}
	w.State.Proposals, w.State.Unmatched = r.Proposals, r.Unmatched
	return domain.RestoreRound(w.State), nil
}

// GatheringCodec seals story-circle topics.
type GatheringCodec struct{ Keys *crypto.Keyring }

type gatheringWire struct {
	V      int                   `json:"v"`
	State  domain.GatheringState `json:"state"`
	Sealed crypto.Sealed         `json:"sealed,omitempty"`
}

func gatheringAAD(id string) []byte { return crypto.AAD("connection", "gathering", id, "topics") }

// Marshal implements store.Codec.
func (c GatheringCodec) Marshal(id string, g *domain.Gathering) ([]byte, error) {
	st := g.State()
	w := gatheringWire{V: wireVersion}
	if len(st.Topics) > 0 {
		s, err := seal(c.Keys, st.Topics, gatheringAAD(id))
		if err != nil {
			return nil, fmt.Errorf("seal gathering %s: %w", id, err)
		}
		w.Sealed = s
	}
	st.Topics = nil
	w.State = st
	return json.Marshal(w)
}

// Unmarshal implements store.Codec.
func (c GatheringCodec) Unmarshal(id string, data []byte) (*domain.Gathering, error) {
	var w gatheringWire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	if err := open(c.Keys, w.Sealed, gatheringAAD(id), &w.State.Topics); err != nil {
		return nil, fmt.Errorf("open gathering %s: %w", id, err)
	}
	return domain.RestoreGathering(w.State), nil
}

// GroupCodec stores groups as JSON.
type GroupCodec struct{}

// Marshal implements store.Codec.
func (GroupCodec) Marshal(_ string, g *domain.Group) ([]byte, error) { return json.Marshal(g.State()) }

// Unmarshal implements store.Codec.
func (GroupCodec) Unmarshal(_ string, data []byte) (*domain.Group, error) {
	var st domain.GroupState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	return domain.RestoreGroup(st), nil
}
