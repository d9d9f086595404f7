package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/store"
	"github.com/deiops/deiops/pkg/versioned"
	"github.com/deiops/deiops/services/awareness/contract"
	"github.com/deiops/deiops/services/awareness/domain"
)

// StatementView is a statement with one version's document.
type StatementView struct {
	Statement *domain.Statement
	Version   versioned.Version[domain.StatementDoc]
	History   []versioned.VersionInfo
}

// CreateStatement creates a statement and publishes its version 1.
func (s *Service) CreateStatement(ctx context.Context, a caller.Actor, doc domain.StatementDoc) (StatementView, error) {
	if !manages(a) {
		return StatementView{}, ErrForbidden
	}
	if err := doc.Validate(); err != nil {
		return StatementView{}, err
	}
	st, err := domain.NewStatement(NewID(ctx, "stmt"), a.ID, s.now())
	if err != nil {
		return StatementView{}, err
	}
	if err := s.checkAudience(ctx, doc.Audience); err != nil {
		return StatementView{}, err
	}
	stored, err := store.CreateOnce(ctx, s.o.Statements, Key(st.ID()), st)
	if err != nil {
		return StatementView{}, err
	}
	if stored != st && stored.Current() > 0 {
		// The retry of a request whose first attempt published version 1.
		return s.Statement(ctx, a, stored.ID(), stored.Current())
	}
	return s.PublishStatementVersion(ctx, a, stored.ID(), doc)
}

func (s *Service) checkAudience(ctx context.Context, au domain.Audience) error {
	d, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	if len(au.Resolve(d)) == 0 {
		return unprocessable("the audience resolves to nobody in the directory", "audience", "no active person matches these criteria")
	}
	return nil
}

// PublishStatementVersion publishes the next version. When it requires
// attestation everyone in its audience owes it, whatever they attested
// before; earlier attestations stay in the history.
func (s *Service) PublishStatementVersion(ctx context.Context, a caller.Actor, id string, doc domain.StatementDoc) (StatementView, error) {
	if !manages(a) {
		return StatementView{}, ErrForbidden
	}
	if err := doc.Validate(); err != nil {
		return StatementView{}, err
	}
	if _, err := s.o.Statements.Get(ctx, Key(id)); err != nil {
		return StatementView{}, notFound(err)
	}
	if err := s.checkAudience(ctx, doc.Audience); err != nil {
		return StatementView{}, err
	}
	v, err := s.o.Versions.Publish(ctx, id, doc, a.ID)
	if err != nil {
		return StatementView{}, err
	}
	var st *domain.Statement
	err = s.o.Statements.Update(ctx, Key(id), func(cur *domain.Statement) ([]events.Event, error) {
		st = cur
		cur.Published(v.Version, v.Doc, v.PublishedAt)
		return nil, nil
	})
	if err != nil {
		return StatementView{}, err
	}
	return StatementView{Statement: st, Version: v}, nil
}

// current brings the index in line with the versions store (a publish
// that died between the two writes) and returns it.
func (s *Service) current(ctx context.Context, id string) (*domain.Statement, error) {
	st, err := s.o.Statements.Get(ctx, Key(id))
	if err != nil {
		return nil, notFound(err)
	}
	hist, err := s.o.Versions.History(ctx, id)
	if err != nil && !errors.Is(err, versioned.ErrNotFound) {
		return nil, err
	}
	if n := len(hist); n > 0 && hist[n-1].Version > st.Current() {
		v, err := s.o.Versions.Get(ctx, id, hist[n-1].Version)
		if err != nil {
			return nil, err
		}
		st.Published(v.Version, v.Doc, v.PublishedAt)
		_ = s.o.Statements.Update(ctx, Key(id), func(cur *domain.Statement) ([]events.Event, error) {
			cur.Published(v.Version, v.Doc, v.PublishedAt)
			return nil, nil
		})
	}
	return st, nil
}

// Statement returns a statement at version (0: current): managers see any,
// people in its current audience see it too.
func (s *Service) Statement(ctx context.Context, a caller.Actor, id string, version int) (StatementView, error) {
	st, err := s.current(ctx, id)
	if err != nil {
		return StatementView{}, err
	}
	if st.Current() == 0 {
		return StatementView{}, ErrNotFound
	}
	if !manages(a) {
		d, err := s.snapshot(ctx)
		if err != nil {
			return StatementView{}, err
		}
		if !st.Doc().Audience.Includes(d, a.ID) || (version != 0 && version != st.Current()) {
			return StatementView{}, ErrNotFound
		}
	}
	if version == 0 {
		version = st.Current()
	}
	v, err := s.o.Versions.Get(ctx, id, version)
	if errors.Is(err, versioned.ErrNotFound) {
		return StatementView{}, ErrNotFound
	}
	if err != nil {
		return StatementView{}, err
	}
	view := StatementView{Statement: st, Version: v}
	if manages(a) {
		view.History, _ = s.o.Versions.History(ctx, id)
	}
	return view, nil
}

// Statements lists statements (managers).
func (s *Service) Statements(ctx context.Context, a caller.Actor) ([]*domain.Statement, error) {
	if !manages(a) {
		return nil, ErrForbidden
	}
	var out []*domain.Statement
	err := s.o.Statements.Scan(ctx, ">", func(_ string, st *domain.Statement) error { out = append(out, st); return nil })
	return out, err
}

// Attest records the actor's attestation of a statement's current
// version. Attesting twice returns the first attestation.
func (s *Service) Attest(ctx context.Context, a caller.Actor, id string, version int) (*domain.Attestation, bool, error) {
	st, err := s.current(ctx, id)
	if err != nil {
		return nil, false, err
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, false, err
	}
	in := st.Doc().Audience.Includes(d, a.ID)
	if !in && !manages(a) {
		return nil, false, ErrNotFound
	}
	key := Key(id, fmt.Sprint(version), a.ID)
	if prev, err := s.o.Attestations.Get(ctx, key); err == nil {
		return prev, false, nil
	}
	att, err := st.Attest(version, a.ID, in, s.now())
	switch {
	case errors.Is(err, domain.ErrState):
		return nil, false, unprocessable("only the current version of a statement that asks for attestation can be attested", "version",
			fmt.Sprintf("the current version is %d", st.Current()))
	case errors.Is(err, domain.ErrNotInAudience):
		return nil, false, unprocessable("you are not in this statement's audience", "statement_id", "not in the audience")
	case err != nil:
		return nil, false, err
	}
	err = s.o.Attestations.Create(ctx, key, att, contract.AttestationRecorded{StatementID: id, Version: version, PersonID: a.ID, At: att.At()})
	if errors.Is(err, store.ErrExists) {
		prev, err := s.o.Attestations.Get(ctx, key)
		return prev, false, err
	}
	return att, err == nil, err
}

// Owed is a statement version a person has yet to attest.
type Owed struct {
	StatementID string
	Version     int
	Title       string
	Since       time.Time
}

// MyAttestations returns what the actor still owes and what they attested.
func (s *Service) MyAttestations(ctx context.Context, a caller.Actor) ([]Owed, []*domain.Attestation, error) {
	var done []*domain.Attestation
	attested := map[string]bool{}
	if err := s.o.Attestations.Scan(ctx, "*.*."+Key(a.ID), func(_ string, at *domain.Attestation) error {
		done = append(done, at)
		attested[fmt.Sprint(at.StatementID(), "@", at.Version())] = true
		return nil
	}); err != nil {
		return nil, nil, err
	}
	d, err := s.snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	var owed []Owed
	err = s.o.Statements.Scan(ctx, ">", func(_ string, st *domain.Statement) error {
		if st.RequiresAttestation() && !attested[fmt.Sprint(st.ID(), "@", st.Current())] && st.Doc().Audience.Includes(d, a.ID) {
			owed = append(owed, Owed{StatementID: st.ID(), Version: st.Current(), Title: st.Doc().Title, Since: st.UpdatedAt()})
		}
		return nil
	})
	return owed, done, err
}
