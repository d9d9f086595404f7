package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/devstack"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/testkit"
	"github.com/deiops/deiops/services/resolution/ports"
	"go.temporal.io/server/temporaltest"
)

// TestEmptyBodyCannotCopyAnotherCasesText is the attack a hostile handler
// tried: right after a DEI officer writes on case E, a resolver who is only
// on case A posts {} to A's notes and messages (and {} to triage and legal
// hold). Every one is a 422 naming the missing field, and no text of E ever
// reaches A's notes, A's handler view or A's reporter view.
func TestEmptyBodyCannotCopyAnotherCasesText(t *testing.T) {
	_, a := newStack(t)
	officer := a.token("off1", "dei_officer")
	resolver := a.token("hres", "resolver")
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, slowPolicy())

	caseA := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("case A"))
	caseE := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport("case E"))
	A, E := "/v1/cases/"+caseA.CaseID, "/v1/cases/"+caseE.CaseID
	must[map[string]any](a, http.StatusOK, http.MethodPost, A+"/triage", officer, map[string]any{"category": "racism", "severity": "medium", "route": "med"})
	must[map[string]any](a, http.StatusOK, http.MethodPost, A+"/assign", officer, map[string]any{"assignee_id": "hres"})
	if code, _ := a.call(http.MethodGet, E, resolver, nil); code != http.StatusNotFound {
		t.Fatalf("the resolver must not see case E: %d", code)
	}

	const secretNote, secretMessage = "E-INTERNAL-NOTE-5b1f", "E-MESSAGE-TO-REPORTER-9c2d"
	must[map[string]any](a, http.StatusOK, http.MethodPost, E+"/triage", officer, map[string]any{"category": "harassment", "severity": "critical", "route": "e-route"})
	for round := range 5 {
		must[map[string]any](a, http.StatusOK, http.MethodPost, E+"/notes", officer, map[string]any{"text": fmt.Sprintf("%s-%d", secretNote, round)})
		must[map[string]any](a, http.StatusOK, http.MethodPost, E+"/messages", officer, map[string]any{"text": fmt.Sprintf("%s-%d", secretMessage, round)})
		must[map[string]any](a, http.StatusOK, http.MethodPut, E+"/legal-hold", officer, map[string]any{"on": true})
		for _, probe := range []struct {
			method, path string
			fields       []string
		}{
			{http.MethodPost, A + "/notes", []string{"text"}},
			{http.MethodPost, A + "/messages", []string{"text"}},
			{http.MethodPost, A + "/triage", []string{"category", "severity", "route"}},
			{http.MethodPut, A + "/legal-hold", []string{"on"}},
		} {
			token := resolver
			if probe.method == http.MethodPut {
				token = officer // only officers may set a hold; {} must still say what is missing
			}
			code, body := a.call(probe.method, probe.path, token, "{}")
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("%s %s with {}: status %d, want 422: %s", probe.method, probe.path, code, body)
			}
			var prob struct {
				Errors []struct{ Field, Reason string } `json:"errors"`
			}
			if err := json.Unmarshal(body, &prob); err != nil {
				t.Fatal(err)
			}
			for _, f := range probe.fields {
				named := false
				for _, e := range prob.Errors {
					named = named || e.Field == f
				}
				if !named {
					t.Errorf("%s %s with {}: the problem does not name %q: %s", probe.method, probe.path, f, body)
				}
			}
		}
	}

	// Nothing of E's on A, wherever A is read.
	anonHeaders := []string{ports.HeaderCaseKey, caseA.CaseKey, ports.HeaderCaseSecret, caseA.Secret}
	for _, read := range []struct {
		name, path, token string
		hdr               []string
	}{
		{"A's notes", A + "/notes", resolver, nil},
		{"A's handler view", A, officer, nil},
		{"A's reporter view", "/v1/anonymous/case", "", anonHeaders},
	} {
		code, body := a.call(http.MethodGet, read.path, read.token, nil, read.hdr...)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", read.name, code, body)
		}
		for _, leak := range []string{secretNote, secretMessage, "e-route", "critical", "harassment", `"legal_hold":true`} {
			if strings.Contains(string(body), leak) {
				t.Errorf("%s holds %q from case E: %s", read.name, leak, body)
			}
		}
	}
	view := must[struct {
		LegalHold bool   `json:"legal_hold"`
		Severity  string `json:"severity"`
	}](a, http.StatusOK, http.MethodGet, A, officer, nil)
	if view.LegalHold || view.Severity != "medium" {
		t.Fatalf("case A took E's hold or triage: %+v", view)
	}
}

// TestEveryJSONRouteDecodesAFreshValue sends every route that takes a JSON
// body — whatever service registered it, now or later — two different
// bodies at once, over and over: a full one and one with only its required
// members. Every request must decode through httpapi.Decode exactly once,
// into a value that holds only what that request sent; and no answer to
// one body may carry the other's values. Run under -race, a handler that
// shares a request value between calls also fails as a data race.
func TestEveryJSONRouteDecodesAFreshValue(t *testing.T) {
	unlimited(t)
	_, cfg, dev := newInfra(t)
	p := start(t, cfg, dev)
	token, err := dev.Mint("everyone", caller.Names(caller.Roles()...), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rt := p.app.Router()

	const markA, markB = "AAA7f3", "BBB2c9"
	tested := 0
	for _, op := range rt.Operations() {
		if op.Request == nil {
			continue
		}
		tested++
		typ := reflect.TypeOf(op.Request)
		full, err := json.Marshal(sample(typ, markA, false, "").Interface())
		if err != nil {
			t.Fatal(err)
		}
		minimal, err := json.Marshal(sample(typ, markB, true, "").Interface())
		if err != nil {
			t.Fatal(err)
		}
		path := strings.NewReplacer("{id}", "x1", "{department}", "med", "{version}", "1", "{number}", "1").Replace(op.Path)
		for i := strings.Index(path, "{"); i >= 0; i = strings.Index(path, "{") {
			j := strings.Index(path[i:], "}")
			path = path[:i] + "x1" + path[i+j+1:]
		}

		var wg sync.WaitGroup
		for n := range 8 {
			body, mine, other := full, markA, markB
			if n%2 == 1 {
				body, mine, other = minimal, markB, markA
			}
			wg.Go(func() {
				for range 3 {
					var mu sync.Mutex
					var seen []any
					ctx := httpapi.WithDecodeObserver(context.Background(), func(v any) {
						mu.Lock()
						seen = append(seen, v)
						mu.Unlock()
					})
					req := httptest.NewRequestWithContext(ctx, op.Method, path, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+token)
					rec := httptest.NewRecorder()
					rt.ServeHTTP(rec, req)
					mu.Lock()
					decoded := seen
					mu.Unlock()
					if len(decoded) != 1 {
						t.Errorf("%s %s declares a JSON body but decoded it %d times through httpapi.Decode (status %d: %s)",
							op.Method, op.Path, len(decoded), rec.Code, rec.Body.String())
						return
					}
					got, _ := json.Marshal(decoded[0])
					if strings.Contains(string(body), mine) != strings.Contains(string(got), mine) || strings.Contains(string(got), other) {
						t.Errorf("%s %s: the value decoded for one body holds another's fields: %s", op.Method, op.Path, got)
					}
					if strings.Contains(rec.Body.String(), other) {
						t.Errorf("%s %s: the answer to one body carries another's values: %s", op.Method, op.Path, rec.Body.String())
					}
				}
			})
		}
		wg.Wait()
	}
	if tested < 30 {
		t.Fatalf("only %d routes with JSON bodies found; the route table was not read", tested)
	}
}

// unlimited lifts the per-client rate limit: these tests send hundreds of
// requests as one caller on purpose.
func unlimited(t *testing.T) {
	t.Setenv("DEIOPS_HTTP_RATE_LIMIT", "1000000")
	t.Setenv("DEIOPS_HTTP_RATE_BURST", "1000000")
}

var timeType = reflect.TypeFor[time.Time]()

// sample builds a value of t with every member set (requiredOnly: only the
// members the schema requires), strings carrying mark and their path.
func sample(t reflect.Type, mark string, requiredOnly bool, path string) reflect.Value {
	v := reflect.New(t).Elem()
	fill(v, mark, requiredOnly, path)
	return v
}

func fill(v reflect.Value, mark string, requiredOnly bool, path string) {
	t := v.Type()
	if t == timeType {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)))
		return
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return // its own encoding: the zero value round-trips
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(mark + "-" + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		v.Set(reflect.New(t.Elem()))
		fill(v.Elem(), mark, requiredOnly, path)
	case reflect.Slice:
		s := reflect.MakeSlice(t, 1, 1)
		fill(s.Index(0), mark, requiredOnly, path+"[0]")
		v.Set(s)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return
		}
		m := reflect.MakeMap(t)
		e := reflect.New(t.Elem()).Elem()
		fill(e, mark, requiredOnly, path+".k")
		m.SetMapIndex(reflect.ValueOf(mark+"-key").Convert(t.Key()), e)
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf(mark + "-" + path))
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if !f.IsExported() || tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") || f.Type.Kind() == reflect.Pointer
			if requiredOnly && optional {
				continue
			}
			fill(v.Field(i), mark, requiredOnly, strings.TrimPrefix(path+"."+name, "."))
		}
	}
}

// TestConcurrentNotesAndMessagesLandOnceOnTheirOwnCase has 20 clients post
// 200 internal notes and 200 reporter messages to each of two cases at
// once. No answer is a 500; a 503 carries Retry-After and the client
// retries with the same Idempotency-Key; in the end every text is on its
// own case exactly once and on no other.
func TestConcurrentNotesAndMessagesLandOnceOnTheirOwnCase(t *testing.T) {
	unlimited(t)
	_, a := newStack(t)
	officer := a.token("off1", "dei_officer")
	must[map[string]any](a, http.StatusCreated, http.MethodPut, "/v1/escalation-policies/med", officer, slowPolicy())

	type target struct {
		id   string
		anon []string
	}
	var cases []target
	for _, name := range []string{"one", "two"} {
		rc := must[receipt](a, http.StatusCreated, http.MethodPost, "/v1/reports", "", anonymousReport(name))
		cases = append(cases, target{rc.CaseID, []string{ports.HeaderCaseKey, rc.CaseKey, ports.HeaderCaseSecret, rc.Secret}})
	}

	type post struct {
		c    int
		note bool
		text string
	}
	var work []post
	for c := range cases {
		for i := range 200 {
			work = append(work, post{c: c, note: true, text: fmt.Sprintf("note-%d-%03d", c, i)})
			work = append(work, post{c: c, note: false, text: fmt.Sprintf("msg-%d-%03d", c, i)})
		}
	}
	jobs := make(chan post)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second}
	for range 20 {
		wg.Go(func() {
			for w := range jobs {
				path, tok, hdr := "/v1/cases/"+cases[w.c].id+"/notes", officer, []string(nil)
				if !w.note {
					path, tok, hdr = "/v1/anonymous/case/messages", "", cases[w.c].anon
				}
				for attempt := 0; ; attempt++ {
					body, _ := json.Marshal(map[string]string{"text": w.text})
					req, _ := http.NewRequest(http.MethodPost, a.base+path, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", "k-"+w.text)
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					for i := 0; i+1 < len(hdr); i += 2 {
						req.Header.Set(hdr[i], hdr[i+1])
					}
					resp, err := client.Do(req)
					if err != nil {
						t.Errorf("%s: %v", w.text, err)
						break // the next job still runs: the sender never waits on a worker that left
					}
					resp.Body.Close()
					mu.Lock()
					statuses[resp.StatusCode]++
					mu.Unlock()
					if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusConflict {
						if resp.Header.Get("Retry-After") == "" {
							t.Errorf("%s: %d without Retry-After", w.text, resp.StatusCode)
						}
						if attempt < 20 {
							time.Sleep(50 * time.Millisecond) // what Retry-After asks, scaled down for the test
							continue
						}
					}
					if resp.StatusCode/100 != 2 {
						t.Errorf("%s: status %d", w.text, resp.StatusCode)
					}
					break
				}
			}
		})
	}
	for _, w := range work {
		jobs <- w
	}
	close(jobs)
	wg.Wait()
	t.Logf("answers by status: %v", statuses)
	if statuses[http.StatusInternalServerError] > 0 {
		t.Fatalf("%d answers were 500", statuses[http.StatusInternalServerError])
	}

	for c, tc := range cases {
		notes := must[[]struct{ Text string }](a, http.StatusOK, http.MethodGet, "/v1/cases/"+tc.id+"/notes", officer, nil)
		view := must[reporterView](a, http.StatusOK, http.MethodGet, "/v1/anonymous/case", "", nil, tc.anon...)
		count := map[string]int{}
		for _, n := range notes {
			count[n.Text]++
		}
		for _, m := range view.Messages {
			count[m.Text]++
		}
		for _, w := range work {
			want := 0
			if w.c == c {
				want = 1
			}
			if count[w.text] != want {
				t.Errorf("case %d holds %q %d times, want %d", c, w.text, count[w.text], want)
			}
		}
	}
}

// A report sent with an Idempotency-Key is one case whatever the
// idempotency store remembers: after Redis forgot every key (a restart of
// the dev stack's in-process Redis, an eviction), the retry answers the
// first receipt — the same case, key and secret — and the same key with
// another report is refused.
func TestAReportIsOneCaseWhenTheIdempotencyStoreForgets(t *testing.T) {
	in, cfg, dev := newInfra(t)
	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	officer := a.token("off1", "dei_officer")

	reports := map[string]map[string]any{"once": anonymousReport("once"), "another": anonymousReport("another")}
	send := func(text string) (int, receipt) {
		t.Helper()
		code, body := a.call(http.MethodPost, "/v1/reports", "", reports[text], "Idempotency-Key", "report-1")
		var rc receipt
		if code == http.StatusCreated {
			if err := json.Unmarshal(body, &rc); err != nil {
				t.Fatal(err)
			}
		}
		return code, rc
	}
	forget := func() {
		t.Helper()
		ctx := context.Background()
		iter := in.redis.Client.Scan(ctx, 0, "deiops:http:idem:*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := in.redis.Client.Del(ctx, iter.Val()).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}
	code, first := send("once")
	if code != http.StatusCreated || first.Secret == "" {
		t.Fatalf("first report: status %d", code)
	}
	forget()
	code, again := send("once")
	if code != http.StatusCreated || again != first {
		t.Fatalf("retry after the store forgot: status %d, receipt %+v; want 201 and %+v", code, again, first)
	}
	forget()
	if code, _ := send("another"); code != http.StatusUnprocessableEntity {
		t.Fatalf("the same key for another report: status %d, want 422", code)
	}
	list := must[struct {
		Cases []struct{ ID string } `json:"cases"`
	}](a, http.StatusOK, http.MethodGet, "/v1/cases", officer, nil)
	if len(list.Cases) != 1 || list.Cases[0].ID != first.CaseID {
		t.Fatalf("cases %+v, want only %s", list.Cases, first.CaseID)
	}
}

// While Redis is unreachable, intake keeps accepting: a report with an
// Idempotency-Key is still one case (its retry answers the first receipt
// from the case store), rate limits fail open, readiness reports Redis as
// degraded without making the process unready, and a POST that needs the
// idempotency store is refused with 503 and Retry-After. When Redis comes
// back, everything is as before. (The outage here lasts seconds; nothing
// in the behaviour depends on its length.)
func TestIntakeKeepsAcceptingWhileRedisIsDown(t *testing.T) {
	redisSrv, err := devstack.StartRedis("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redisSrv.Stop() })
	port := redisSrv.Port()
	natsSrv, temporalSrv := testkit.NATS(t), temporaltest.NewServer(temporaltest.WithT(t))
	cfg, dev := testConfig(t, natsSrv.URL(), temporalSrv.GetFrontendHostPort(), temporalSrv.GetDefaultNamespace(), redisSrv.URL())
	p := start(t, cfg, dev)
	a := api{t: t, base: p.base, dev: dev}
	importHospital(t, a)
	officer := a.token("off1", "dei_officer")

	redisSrv.Stop()
	body := anonymousReport("during the outage")
	code, data := a.call(http.MethodPost, "/v1/reports", "", body, "Idempotency-Key", "outage-1")
	if code != http.StatusCreated {
		t.Fatalf("report while Redis is down: status %d: %s", code, data)
	}
	var first, again receipt
	if err := json.Unmarshal(data, &first); err != nil {
		t.Fatal(err)
	}
	code, data = a.call(http.MethodPost, "/v1/reports", "", body, "Idempotency-Key", "outage-1")
	if err := json.Unmarshal(data, &again); err != nil || code != http.StatusCreated || again != first {
		t.Fatalf("retry while Redis is down: status %d, %+v; want 201 and %+v", code, again, first)
	}
	code, data = a.call(http.MethodPost, "/v1/cases/"+first.CaseID+"/triage", officer,
		map[string]any{"category": "racism", "severity": "medium", "route": "med"}, "Idempotency-Key", "triage-1")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("a POST that needs the idempotency store: status %d, want 503: %s", code, data)
	}
	code, data = a.call(http.MethodGet, "/readyz", "", nil)
	if code != http.StatusOK || !strings.Contains(string(data), `"degraded"`) {
		t.Fatalf("readiness while Redis is down: %d %s; want 200 with redis degraded", code, data)
	}

	back, err := devstack.StartRedis("127.0.0.1", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Stop() })
	testkit.Eventually(t, 30*time.Second, "triage once Redis is back", func() bool {
		code, _ := a.call(http.MethodPost, "/v1/cases/"+first.CaseID+"/triage", officer,
			map[string]any{"category": "racism", "severity": "medium", "route": "med"}, "Idempotency-Key", "triage-1")
		return code == http.StatusOK
	})
	list := must[struct {
		Cases []struct{ ID string } `json:"cases"`
	}](a, http.StatusOK, http.MethodGet, "/v1/cases", officer, nil)
	if len(list.Cases) != 1 {
		t.Fatalf("%d cases, want 1", len(list.Cases))
	}
}
