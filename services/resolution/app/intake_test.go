package app_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/config"
	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/notify"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution/adapters"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/contract"
	"github.com/deiops/deiops/services/resolution/domain"
)

// errCrash stands for a process that died or an answer that was lost.
var errCrash = errors.New("crash")

// step names where intake fails: before or after a store's write.
type step struct {
	store string // "credentials" or "case"
	after bool   // the write happened, its answer was lost
}

// crashing wraps the real stores and fails once at one step.
type crashing struct {
	cases *adapters.Cases
	creds *adapters.Credentials
	at    atomic.Pointer[step]
}

func (c *crashing) fail(store string, write func() error) error {
	s := c.at.Load()
	if s == nil || s.store != store {
		return write()
	}
	c.at.Store(nil)
	if s.after {
		if err := write(); err != nil {
			return err
		}
	}
	return errCrash
}

type crashingCases struct{ *crashing }

func (c crashingCases) Create(ctx context.Context, r *app.Record, extra ...events.Event) error {
	return c.fail("case", func() error { return c.cases.Create(ctx, r, extra...) })
}
func (c crashingCases) Get(ctx context.Context, id string) (*app.Record, error) {
	return c.cases.Get(ctx, id)
}
func (c crashingCases) Update(ctx context.Context, id string, fn func(*app.Record) ([]events.Event, error)) error {
	return c.fail("update", func() error { return c.cases.Update(ctx, id, fn) })
}

type crashingCredentials struct{ *crashing }

func (c crashingCredentials) Create(ctx context.Context, key string, cr app.Credential) error {
	return c.fail("credentials", func() error { return c.creds.Create(ctx, key, cr) })
}
func (c crashingCredentials) Get(ctx context.Context, key string) (app.Credential, error) {
	return c.creds.Get(ctx, key)
}
func (c crashingCredentials) Replace(ctx context.Context, key string, cr app.Credential) error {
	return c.creds.Replace(ctx, key, cr)
}

type intake struct {
	svc    *app.Service
	crash  *crashing
	cases  *adapters.Cases
	hasher *crypto.Hasher
	nats   string // the server's URL
}

func newIntake(t *testing.T) *intake { t.Helper(); return newIntakeWith(t, nil) }

// newIntakeWith is newIntake with options changed by opts before the
// service is built.
func newIntakeWith(t *testing.T, opts func(*app.Options)) *intake {
	t.Helper()
	ctx := context.Background()
	srv := testkit.NATS(t)
	b, err := bus.Connect(ctx, bus.Options{Source: "/test/resolution", Logger: slog.New(slog.DiscardHandler), NATS: config.NATS{
		URL: srv.URL(), Replicas: 1, DuplicateWindow: time.Minute, PublishAttempts: 5, AckWait: 5 * time.Second, MaxDeliver: 5}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	catalog, err := events.NewCatalog(append(contract.Events(), notify.Events()...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx, catalog); err != nil {
		t.Fatal(err)
	}
	keys, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	cases, err := adapters.NewCases(ctx, b, keys)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := adapters.NewCredentials(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := adapters.NewAudit(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := crypto.NewHasher(make([]byte, crypto.MinHashSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	c := &crashing{cases: cases, creds: creds}
	o := app.Options{
		Cases: crashingCases{c}, Credentials: crashingCredentials{c}, Audit: audit, Hasher: hasher,
		NotificationEvent: func(n app.Notification) events.Event {
			return notify.NewFallbackRequest(n.ID, "resolution", notify.Template(n.Template), n.Link, n.Reference)
		},
	}
	if opts != nil {
		opts(&o)
	}
	return &intake{svc: app.New(o), crash: c, cases: cases, hasher: hasher, nats: srv.URL()}
}

// count is the number of stored cases.
func (in *intake) count(t *testing.T) int {
	t.Helper()
	n := 0
	if err := in.cases.Repo().Each(context.Background(), func(string, *app.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func report(anonymous bool, narrative string) domain.ReportInput {
	in := domain.ReportInput{
		Category: domain.CategoryRacism, Narrative: domain.Restrict(narrative), OccurredAt: time.Now().Add(-time.Hour),
		DepartmentID: "med", Site: "north", DesiredOutcome: domain.OutcomeFormalResolution, Anonymous: anonymous,
	}
	if !anonymous {
		in.ReporterID = "res1"
	}
	return in
}

// A report retried after a failure at any step of intake — before or after
// each write — is one case, and the retry answers the first receipt; the
// idempotency store plays no part (it may have forgotten everything).
func TestAReportRetriedAfterAFailureAtAnyStepIsOneCase(t *testing.T) {
	in := newIntake(t)
	ctx := context.Background()
	steps := []step{{"credentials", false}, {"credentials", true}, {"case", false}, {"case", true}}
	for i, s := range steps {
		for _, anonymous := range []bool{true, false} {
			if s.store == "credentials" && !anonymous {
				continue // a named report has no credentials
			}
			before := in.count(t)
			once := app.Once{Key: "scope-" + string(rune('a'+i)) + map[bool]string{true: "-anon", false: "-named"}[anonymous], Fingerprint: "fp"}
			in.crash.at.Store(&s)
			if _, err := in.svc.Submit(ctx, report(anonymous, "narrative"), once); !errors.Is(err, errCrash) {
				t.Fatalf("%+v anonymous=%t: the first try answered %v, want the crash", s, anonymous, err)
			}
			got, err := in.svc.Submit(ctx, report(anonymous, "narrative"), once)
			if err != nil {
				t.Fatalf("%+v anonymous=%t: retry: %v", s, anonymous, err)
			}
			again, err := in.svc.Submit(ctx, report(anonymous, "narrative"), once)
			if err != nil || again != got {
				t.Fatalf("%+v anonymous=%t: a second retry answered %+v, %v; want %+v", s, anonymous, again, err, got)
			}
			if n := in.count(t); n != before+1 {
				t.Fatalf("%+v anonymous=%t: %d cases after the retries, want %d", s, anonymous, n, before+1)
			}
			if anonymous {
				// The re-shown secret opens the case.
				rec, err := in.svc.OpenAsReporter(ctx, app.Reporter{Key: got.Key, Secret: got.Secret})
				if err != nil || rec.Case.ID() != got.CaseID {
					t.Fatalf("%+v: the receipt does not open its case: %v", s, err)
				}
			} else if got.Key != "" || got.Secret != "" {
				t.Fatalf("a named report got anonymous credentials")
			}
		}
	}
}

// The same key for a different report is refused, not answered with the
// first report's receipt; without a key every report is its own case.
func TestAKeyUsedForAnotherReportIsRefused(t *testing.T) {
	in := newIntake(t)
	ctx := context.Background()
	first, err := in.svc.Submit(ctx, report(true, "one"), app.Once{Key: "k", Fingerprint: "fp-one"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.svc.Submit(ctx, report(true, "two"), app.Once{Key: "k", Fingerprint: "fp-two"})
	if fault.KindOf(err) != fault.Invalid {
		t.Fatalf("reused key answered %v, want invalid", err)
	}
	other, err := in.svc.Submit(ctx, report(true, "one"), app.Once{Key: "k2", Fingerprint: "fp-one"})
	if err != nil || other.CaseID == first.CaseID || other.Secret == first.Secret {
		t.Fatalf("another key must open another case: %+v %v", other, err)
	}
	a, _ := in.svc.Submit(ctx, report(true, "one"), app.Once{})
	b, _ := in.svc.Submit(ctx, report(true, "one"), app.Once{})
	if a.CaseID == "" || a.CaseID == b.CaseID {
		t.Fatalf("reports without a key share case %q", a.CaseID)
	}
	if n := in.count(t); n != 4 {
		t.Fatalf("%d cases, want 4", n)
	}
}

// A note or message retried after its write lost its answer is one entry;
// the same key with another text is refused.
func TestANoteOrMessageRetriedIsOneEntry(t *testing.T) {
	in := newIntake(t)
	ctx := context.Background()
	rc, err := in.svc.Submit(ctx, report(true, "narrative"), app.Once{})
	if err != nil {
		t.Fatal(err)
	}
	officer := caller.New("off1", string(caller.DEIOfficer))
	var triage app.Action
	triage.Op, triage.Category, triage.Severity, triage.Route = app.OpTriage, domain.CategoryRacism, domain.SeverityHigh, "med"
	if _, _, err := in.svc.Act(ctx, officer, rc.CaseID, triage, nil); err != nil {
		t.Fatal(err)
	}
	for _, op := range []app.Op{app.OpAddNote, app.OpMessage} {
		act := app.Action{Op: op, Text: domain.Restrict("text"), Once: app.Once{Key: "n-" + string(op), Fingerprint: "fp"}}
		in.crash.at.Store(&step{store: "update", after: true})
		if _, _, err := in.svc.Act(ctx, officer, rc.CaseID, act, nil); !errors.Is(err, errCrash) {
			t.Fatalf("%s: first try %v, want the crash", op, err)
		}
		_, ref, err := in.svc.Act(ctx, officer, rc.CaseID, act, nil)
		if err != nil || ref != 1 {
			t.Fatalf("%s: retry answered entry %d, %v; want entry 1", op, ref, err)
		}
		act.Text, act.Once.Fingerprint = domain.Restrict("other"), "fp-other"
		if _, _, err := in.svc.Act(ctx, officer, rc.CaseID, act, nil); fault.KindOf(err) != fault.Invalid {
			t.Fatalf("%s: reused key answered %v, want invalid", op, err)
		}
	}
	rec, err := in.cases.Get(ctx, rc.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if n, m := len(rec.Case.Notes()), len(rec.Case.Messages()); n != 1 || m != 1 {
		t.Fatalf("%d notes and %d messages, want one of each", n, m)
	}
	// The reporter's own message, retried, is one message too.
	reporter, err := in.svc.OpenAsReporter(ctx, app.Reporter{Key: rc.Key, Secret: rc.Secret})
	if err != nil {
		t.Fatal(err)
	}
	once := app.Once{Key: "reporter-msg", Fingerprint: "fp"}
	in.crash.at.Store(&step{store: "update", after: true})
	if _, _, err := in.svc.ReporterMessage(ctx, reporter, domain.Restrict("hello"), once); !errors.Is(err, errCrash) {
		t.Fatalf("first try %v, want the crash", err)
	}
	if _, id, err := in.svc.ReporterMessage(ctx, reporter, domain.Restrict("hello"), once); err != nil || id != 2 {
		t.Fatalf("retry answered message %d, %v; want 2", id, err)
	}
	if rec, _ = in.cases.Get(ctx, rc.CaseID); len(rec.Case.Messages()) != 2 {
		t.Fatalf("%d messages, want 2", len(rec.Case.Messages()))
	}
}

// report.submitted's CloudEvents time is the submitted_at instant, not
// when the case was written after the slow parts of intake (hashing the
// anonymous secret, directory lookups): the service's clock is set well
// behind the bus's so that a write-time envelope could not pass.
func TestReportSubmittedTimeIsItsSubmittedAt(t *testing.T) {
	submitted := time.Now().Add(-90 * time.Second).UTC().Truncate(time.Millisecond)
	in := newIntakeWith(t, func(o *app.Options) { o.Now = func() time.Time { return submitted } })
	nc, err := nats.Connect(in.nats)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 4)
	sub, err := nc.ChanSubscribe(contract.ReportSubmitted{}.EventSpec().Subject(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, anonymous := range []bool{true, false} {
		receipt, err := in.svc.Submit(context.Background(), report(anonymous, "narrative"), app.Once{})
		if err != nil {
			t.Fatal(err)
		}
		var m *nats.Msg
		select {
		case m = <-msgs:
		case <-time.After(30 * time.Second):
			t.Fatalf("anonymous=%t: no report.submitted published", anonymous)
		}
		env, err := events.Decode(m.Header, m.Data, m.Subject)
		if err != nil {
			t.Fatal(err)
		}
		data, err := events.Unmarshal[contract.ReportSubmitted](env)
		if err != nil {
			t.Fatal(err)
		}
		if data.CaseID != receipt.CaseID {
			t.Fatalf("anonymous=%t: event for case %s, want %s", anonymous, data.CaseID, receipt.CaseID)
		}
		if !env.Time.Equal(data.SubmittedAt) || !data.SubmittedAt.Equal(submitted) {
			t.Errorf("anonymous=%t: ce-time %s, submitted_at %s; want both %s", anonymous,
				env.Time.Format(time.RFC3339Nano), data.SubmittedAt.Format(time.RFC3339Nano), submitted.Format(time.RFC3339Nano))
		}
		if got := m.Header.Get(events.HeaderTime); got != submitted.Format(time.RFC3339Nano) {
			t.Errorf("anonymous=%t: ce-time header %q, want %q", anonymous, got, submitted.Format(time.RFC3339Nano))
		}
	}
}
