package app

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/services/resolution/contract"
	"github.com/deiops/deiops/services/resolution/domain"
	"github.com/deiops/deiops/workflows/escalation"
)

// Directory is the platform's view of people.
type Directory interface {
	Snapshot(ctx context.Context) (*directory.Directory, error)
}

// Notification describes a generic notice; NotificationEvent turns it into
// the platform's notification request event.
type Notification struct {
	ID         string
	Recipients []string
	Fallback   bool
	Template   string
	Link       string
	Reference  string
}

// Options builds a Service.
type Options struct {
	Cases       Cases
	Credentials Credentials
	Audit       Audit
	Index       Index
	Starts      Starts
	Directory   Directory
	// Policy returns a department's current escalation policy (the queue's
	// clocks); nil shows no clock.
	Policy func(ctx context.Context, department string) (escalation.Policy, error)
	// PolicyVersion returns the policy a case's escalation started with,
	// by the id and version Starts recorded (nil: the queue and the
	// reporter's promise follow the current policy).
	PolicyVersion func(ctx context.Context, id string, version int) (escalation.Policy, error)
	Hasher        *crypto.Hasher
	// NotificationEvent builds the notification request event.
	NotificationEvent func(Notification) events.Event
	// PublicURL is the base of links in notifications.
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
	Rand      io.Reader
}

// Service runs the resolution use cases.
type Service struct {
	o Options
	// slowChecks bounds concurrent checks of earlier builds' scrypt
	// verifiers (32 MiB each) to the number of cores.
	slowChecks chan struct{}
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return &Service{o: o, slowChecks: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newCaseID draws a case id: 80 bits from draw (random, or derived from the
// request's Once), so ids are not guessable and say nothing about order or
// volume.
func newCaseID(draw io.Reader) (string, error) {
	b := make([]byte, 10)
	if _, err := io.ReadFull(draw, b); err != nil {
		return "", fmt.Errorf("draw case id: %w", err)
	}
	return "c-" + idEncoding.EncodeToString(b), nil
}

// Receipt is what a reporter gets back. Key and Secret are set for
// anonymous reports: only a keyed hash (HMAC) of the secret is kept.
type Receipt struct {
	CaseID string
	Key    string
	Secret string
}

// Submit validates a report and opens its case. It never waits on
// Temporal: the escalation starts from the report-submitted event.
//
// A report sent with an Idempotency-Key (once) is one case however often
// it is retried and whatever failed in between: the case id, key and
// secret are derived from once under the server's secret, the credentials
// and the case are created with compare-and-set, and a retry that finds
// them answers the same receipt. The secret is thus shown again, but only
// to the caller that holds the same Idempotency-Key.
func (s *Service) Submit(ctx context.Context, in domain.ReportInput, once Once) (Receipt, error) {
	now := s.o.Now()
	report, err := domain.NewReport(in, now)
	if err != nil {
		return Receipt{}, err
	}
	draw := s.o.Rand
	if once.Key != "" {
		draw = s.o.Hasher.Stream("intake", once.Key)
	}
	id, err := newCaseID(draw)
	if err != nil {
		return Receipt{}, err
	}
	c, err := domain.NewCase(id, report, now)
	if err != nil {
		return Receipt{}, err
	}
	rec := &Record{Case: c, Intake: once.Fingerprint}
	receipt := Receipt{CaseID: id}
	if report.Anonymous() {
		if receipt.Key, receipt.Secret, err = s.issueKey(ctx, id, draw, once.Key != ""); err != nil {
			return Receipt{}, err
		}
		rec.CaseKey = receipt.Key
	} else {
		rec.ReporterHash = s.o.Hasher.Hash("reporter", report.ReporterID())
	}
	rec.ExcludedHashes = s.excludedHashes(ctx, c)
	err = s.create(ctx, rec, report.ReporterID())
	if errors.Is(err, ErrExists) && once.Key != "" {
		return s.resubmitted(ctx, receipt, rec)
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("store case: %w", err)
	}
	return receipt, nil
}

// resubmitted answers a retried report whose case exists: the same
// receipt when it is the same report from the same reporter.
func (s *Service) resubmitted(ctx context.Context, receipt Receipt, sent *Record) (Receipt, error) {
	have, err := s.o.Cases.Get(ctx, receipt.CaseID)
	if err != nil {
		return Receipt{}, fmt.Errorf("find the retried report's case: %w", err)
	}
	if have.Intake != sent.Intake || have.ReporterHash != sent.ReporterHash || have.CaseKey != sent.CaseKey {
		return Receipt{}, errReused
	}
	return receipt, nil
}

// issueKey draws anonymous credentials and stores the key's verifier. With
// derived draws a taken key is this case's own, stored by an earlier try.
func (s *Service) issueKey(ctx context.Context, caseID string, draw io.Reader, derived bool) (key, secret string, err error) {
	for range 3 { // 60-bit keys collide only by astronomical chance
		var v domain.Verifier
		if key, secret, v, err = domain.NewAnonymousCredentials(draw, s.o.Hasher); err != nil {
			return "", "", err
		}
		err = s.o.Credentials.Create(ctx, key, Credential{CaseID: caseID, Verifier: v})
		if errors.Is(err, ErrKeyTaken) && derived {
			have, gerr := s.o.Credentials.Get(ctx, key)
			if gerr == nil && have.CaseID == caseID {
				err = nil
			}
		}
		if !errors.Is(err, ErrKeyTaken) {
			break
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("store case key: %w", err)
	}
	return key, secret, nil
}

// named returns the directory ids of the people a case names.
func named(c *domain.Case) []string {
	var ids []string
	for _, p := range c.Report().Involved() {
		if id := p.PersonID.Reveal(); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// Excluded returns the people who may never be assigned, notified or read
// the case: everyone it names and their supervisory chains in the current
// directory. Names given only as free text cannot be resolved; handlers
// see them and recuse.
func (s *Service) Excluded(ctx context.Context, c *domain.Case) ([]string, error) {
	ids := named(c)
	if len(ids) == 0 {
		return nil, nil
	}
	dir, err := s.o.Directory.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("conflict-of-interest check: %w", err)
	}
	return dir.WithSupervisors(ids...), nil
}

func (s *Service) excludedHashes(ctx context.Context, c *domain.Case) []string {
	ids, err := s.Excluded(ctx, c)
	if err != nil {
		// The named people themselves are still excluded; chains are
		// rechecked on every access and at the workflow's start.
		s.o.Logger.WarnContext(ctx, "intake: directory unavailable for chains", "case_id", c.ID(), "error", err)
		ids = named(c)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.o.Hasher.Hash("person", id))
	}
	return out
}

// observation is the pattern engine's view of a new case.
func (s *Service) observation(r *Record) contract.PatternObserved {
	rep := r.Case.Report()
	o := contract.PatternObserved{CaseID: r.Case.ID(), Department: rep.DepartmentID(), Category: string(rep.Category()),
		OccurredAt: rep.OccurredAt(), Reporter: r.ReporterHash, Roles: []string{}}
	for _, p := range rep.Involved() {
		if !slices.Contains(o.Roles, string(p.Role)) {
			o.Roles = append(o.Roles, string(p.Role))
		}
		if id := p.PersonID.Reveal(); id != "" {
			o.Subjects = append(o.Subjects, s.o.Hasher.Hash("person", id))
		} else if name := p.Name.Reveal(); name != "" {
			o.Subjects = append(o.Subjects, s.o.Hasher.Hash("name", name))
		}
	}
	slices.Sort(o.Subjects)
	o.Subjects = slices.Compact(o.Subjects)
	return o
}

// create stores a new case with the events it recorded (mapped to the
// contract, by actor) and its pattern observation.
func (s *Service) create(ctx context.Context, rec *Record, actor string) error {
	evs := ContractEvents(rec.Case, actor, rec.Case.PullEvents())
	return s.o.Cases.Create(ctx, rec, append(evs, s.observation(rec))...)
}

// change updates a case: fn changes the record and returns the extra
// events it causes; the events the case itself recorded are mapped to the
// contract with actor as their author. Everything is written in one
// compare-and-set write; fn may run more than once.
func (s *Service) change(ctx context.Context, id, actor string, fn func(*Record) ([]events.Event, error)) error {
	return s.o.Cases.Update(ctx, id, func(r *Record) ([]events.Event, error) {
		r.Case.PullEvents() // a fresh load has none; be explicit
		extra, err := fn(r)
		if err != nil {
			return nil, err
		}
		return append(ContractEvents(r.Case, actor, r.Case.PullEvents()), extra...), nil
	})
}

// link builds an absolute link for notifications.
func (s *Service) link(path string) string { return s.o.PublicURL + path }
