package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/deiops/deiops/pkg/bus"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/events"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/resolution/contract"
	"github.com/deiops/deiops/services/resolution/patterns"
)

// Patterns keeps the pattern engine fed and publishes its detections.
//
// The engine lives in memory and is rebuilt on every start by replaying
// the pattern.observed events of the internal stream from the beginning
// (an ordered consumer): JetStream is the only storage, so nothing can
// drift, and replicas converge on the same aggregates. The stream's
// retention bounds how far back patterns look.
type Patterns struct {
	Engine *patterns.Engine
	Bus    *bus.Bus
	Logger *slog.Logger
	Now    func() time.Time
	// Every is how often detection runs (default one minute).
	Every time.Duration

	mu        sync.Mutex
	published map[string]bool
	caughtUp  chan struct{}
	once      sync.Once
}

// Run replays and follows the observations until ctx ends.
func (p *Patterns) Run(ctx context.Context) error {
	p.init()
	spec := contract.PatternObserved{}.EventSpec()
	cons, err := p.Bus.JetStream().OrderedConsumer(ctx, spec.Stream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{spec.Subject()}, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("pattern replay: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("pattern replay: %w", err)
	}
	if info.NumPending == 0 {
		p.once.Do(func() { close(p.caughtUp) })
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("pattern replay: %w", err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	go p.detectLoop(ctx)
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			p.Logger.WarnContext(ctx, "pattern replay", "error", err)
			continue
		}
		p.observe(ctx, m)
		if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
			p.once.Do(func() { close(p.caughtUp) })
			p.detect(ctx)
		}
	}
}

func (p *Patterns) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.caughtUp == nil {
		p.caughtUp = make(chan struct{})
		p.published = map[string]bool{}
	}
}

func (p *Patterns) observe(ctx context.Context, m jetstream.Msg) {
	env, err := events.Decode(events.Header(m.Headers()), m.Data(), m.Subject())
	if err != nil {
		p.Logger.WarnContext(ctx, "pattern replay: undecodable event skipped", "subject", m.Subject(), "error", err)
		return
	}
	o, err := events.Unmarshal[contract.PatternObserved](env)
	if err != nil {
		p.Logger.WarnContext(ctx, "pattern replay: bad observation skipped", "event_id", env.ID, "error", err)
		return
	}
	p.Engine.Observe(patterns.Observation{EventID: env.ID, CaseID: o.CaseID, Department: o.Department, Category: o.Category,
		Roles: o.Roles, At: o.OccurredAt, Reporter: o.Reporter, Subjects: o.Subjects})
}

// CaughtUp waits until the replay reached the end of the stream.
func (p *Patterns) CaughtUp(ctx context.Context) error {
	p.init()
	select {
	case <-p.caughtUp:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Patterns) detectLoop(ctx context.Context) {
	every := p.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.detect(ctx)
		}
	}
}

// detect publishes detections not published by this process yet. The
// event id is the detection id, so replicas and restarts publishing the
// same finding are deduplicated by JetStream and by consumers.
func (p *Patterns) detect(ctx context.Context) {
	for _, d := range p.Engine.Detect(p.Now()) {
		p.mu.Lock()
		done := p.published[d.ID]
		p.mu.Unlock()
		if done {
			continue
		}
		env, err := events.New(p.detected(d), p.Bus.Source(), d.ID, p.Now())
		if err != nil {
			p.Logger.ErrorContext(ctx, "pattern detected: build event", "error", err)
			continue
		}
		env.ID = d.ID
		if err := p.Bus.PublishEnvelope(ctx, env, nil); err != nil {
			p.Logger.WarnContext(ctx, "pattern detected: publish failed; will retry", "detection_id", d.ID, "error", err)
			continue
		}
		p.mu.Lock()
		p.published[d.ID] = true
		p.mu.Unlock()
	}
}

// Routes registers the patterns API. Every aggregate honours the minimum
// cell size with complementary suppression; repeat-subject matches are for
// DEI officers only and carry no identity.
func (p *Patterns) Routes(rt *httpapi.Router) {
	tags := []string{"patterns"}
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/patterns/table", ID: "getPatternTable", Tags: tags,
		Summary: "Report counts cross-tabulated by two of department, category, role, week (small cells suppressed)",
		Description: "Query: rows and cols (department, category, role or week; different), optional from/to (RFC 3339 dates) " +
			"and department. Cells and totals below the minimum cell size are suppressed, and complementary cells are " +
			"suppressed so that no suppressed value can be derived from the totals. A report counts once per distinct " +
			"role it names, so role totals may exceed report totals.",
		Roles:     []caller.Role{caller.DEIOfficer, caller.DepartmentLead, caller.ProgramDirector},
		Responses: map[int]any{http.StatusOK: patterns.Table{}, http.StatusUnprocessableEntity: nil},
	}, p.table)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/patterns/detections", ID: "listPatternDetections", Tags: tags,
		Summary:   "Current detections: counts over threshold and significant rises over a department's own baseline",
		Roles:     []caller.Role{caller.DEIOfficer},
		Responses: map[int]any{http.StatusOK: DetectionList{}},
	}, p.detections)
	rt.HandleFunc(httpapi.Operation{
		Method: http.MethodGet, Path: "/v1/patterns/repeat-subjects", ID: "listRepeatSubjects", Tags: tags,
		Summary:   "People named by at least two distinct reporters (an opaque id per person, never who)",
		Roles:     []caller.Role{caller.DEIOfficer},
		Responses: map[int]any{http.StatusOK: RepeatSubjectList{}},
	}, p.repeatSubjects)
}

// DetectionList answers GET /v1/patterns/detections.
type DetectionList struct {
	Detections []contract.PatternDetected `json:"detections"`
}

// RepeatSubjectList answers GET /v1/patterns/repeat-subjects.
type RepeatSubjectList struct {
	Matches []patterns.SubjectMatch `json:"matches"`
}

func (p *Patterns) table(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := patterns.Query{Rows: patterns.Dimension(q.Get("rows")), Cols: patterns.Dimension(q.Get("cols")), Department: q.Get("department")}
	var errs []httpapi.FieldError
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &query.From}, {"to", &query.To}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				errs = append(errs, httpapi.FieldError{Field: f.name, Reason: "must be a date (2006-01-02) or an RFC 3339 time"})
				continue
			}
		}
		*f.dst = t
	}
	if query.Rows == "" {
		errs = append(errs, httpapi.FieldError{Field: "rows", Reason: "is required: department, category, role or week"})
	}
	if query.Cols == "" {
		errs = append(errs, httpapi.FieldError{Field: "cols", Reason: "is required: department, category, role or week"})
	}
	if len(errs) == 0 {
		if err := query.Validate(); err != nil {
			errs = append(errs, httpapi.FieldError{Field: "rows,cols,from,to", Reason: err.Error()})
		}
	}
	if len(errs) > 0 {
		httpapi.WriteProblem(w, r, httpapi.Unprocessable("invalid table query", errs...))
		return
	}
	t, err := p.Engine.Table(query)
	if err != nil {
		httpapi.WriteProblem(w, r, httpapi.Unprocessable(err.Error()))
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, t)
}

func (p *Patterns) detections(w http.ResponseWriter, r *http.Request) {
	out := DetectionList{Detections: []contract.PatternDetected{}}
	for _, d := range p.Engine.Detect(p.Now()) {
		out.Detections = append(out.Detections, p.detected(d))
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

func (p *Patterns) repeatSubjects(w http.ResponseWriter, r *http.Request) {
	m := p.Engine.RepeatSubjects()
	if m == nil {
		m = []patterns.SubjectMatch{}
	}
	httpapi.WriteJSON(w, r, http.StatusOK, RepeatSubjectList{Matches: m})
}

// detected is the event form of a detection. A count below the minimum
// cell size is left out: the event reaches integrators, and a small count
// in one department and week can point at people.
func (p *Patterns) detected(d patterns.Detection) contract.PatternDetected {
	e := contract.PatternDetected{DetectionID: d.ID, Kind: d.Kind, Department: d.Department, Category: d.Category,
		WindowStart: d.WindowStart, WindowEnd: d.WindowEnd, Count: d.Count, Expected: d.Expected, PValue: d.PValue}
	if d.Count < p.Engine.Options().MinCellSize {
		e.Count, e.Suppressed = 0, true
	}
	return e
}
