package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
)

// TestReattestation: publishing v2 makes everyone in the audience owe it
// again; v1 attestations stay in the history.
func TestReattestation(t *testing.T) {
	e := newEnv(t)
	e.hospital(3)
	ctx := context.Background()
	doc := domain.StatementDoc{Title: "What is not OK", Body: "Racist remarks, ...", Audience: domain.Audience{Departments: []string{"med"}}, RequiresAttestation: true}
	if _, err := e.app.CreateStatement(ctx, staff("r01"), doc); !errors.Is(err, app.ErrForbidden) {
		t.Fatalf("staff created a statement: %v", err)
	}
	v1 := must(e.app.CreateStatement(ctx, officer, doc))
	id := v1.Statement.ID()
	if v1.Version.Version != 1 {
		t.Fatalf("version %d", v1.Version.Version)
	}
	owed, _ := must2(e.app.MyAttestations(ctx, staff("r01")))
	if len(owed) != 1 || owed[0].Version != 1 {
		t.Fatalf("owed %+v", owed)
	}
	if owed, _ := must2(e.app.MyAttestations(ctx, staff("off1"))); len(owed) != 0 {
		t.Fatalf("off1 (dei dept) owes %+v", owed)
	}
	a, created, err := e.app.Attest(ctx, staff("r01"), id, 1)
	if err != nil || !created || a.Version() != 1 {
		t.Fatalf("attest: %v %v", created, err)
	}
	if _, created, err := e.app.Attest(ctx, staff("r01"), id, 1); err != nil || created {
		t.Fatalf("second attest: created=%v %v", created, err)
	}
	e.waitEvents("dei.awareness.attestation.recorded", 1)
	if owed, _ := must2(e.app.MyAttestations(ctx, staff("r01"))); len(owed) != 0 {
		t.Fatalf("still owes %+v", owed)
	}
	// Outside the audience: not found.
	if _, _, err := e.app.Attest(ctx, staff("off1"), id, 1); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("outsider attests: %v", err)
	}

	doc.Body = "Racist remarks, jokes, ... (revised)"
	v2 := must(e.app.PublishStatementVersion(ctx, director, id, doc))
	if v2.Version.Version != 2 {
		t.Fatalf("v2 is %d", v2.Version.Version)
	}
	e.waitEvents("dei.awareness.statement.version_published", 2)
	owed, done := must2(e.app.MyAttestations(ctx, staff("r01")))
	if len(owed) != 1 || owed[0].Version != 2 || len(done) != 1 || done[0].Version() != 1 {
		t.Fatalf("after v2: owed %+v attested %+v", owed, done)
	}
	// v1 can no longer be attested; v2 can.
	var un *fault.Error
	if _, _, err := e.app.Attest(ctx, staff("r02"), id, 1); !asFault(err, &un) || un.Fields[0].Field != "version" {
		t.Fatalf("attest v1 after v2: %v", err)
	}
	must3(e.app.Attest(ctx, staff("r01"), id, 2))
	owed, done = must2(e.app.MyAttestations(ctx, staff("r01")))
	if len(owed) != 0 || len(done) != 2 {
		t.Fatalf("after attesting v2: owed %+v attested %d", owed, len(done))
	}
	// Staff see the current version only; managers every version.
	if _, err := e.app.Statement(ctx, staff("r01"), id, 1); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("staff read v1: %v", err)
	}
	if v := must(e.app.Statement(ctx, officer, id, 1)); v.Version.Doc.Body != "Racist remarks, ..." || len(v.History) != 2 {
		t.Fatalf("v1 %+v", v)
	}
	// Report: 1 of 3 residents + att1 + chief + pd1 in med attested v2.
	rep := must(e.app.AttestationReport(ctx, officer, id, app.ByRole))
	if rep.Total.People != 6 || rep.Total.Completed != 1 {
		t.Fatalf("report total %+v", rep.Total)
	}
	for _, r := range rep.Rows {
		if r.Group == "resident" && (r.Suppressed || r.People != 3 || r.Completed != 1) {
			t.Errorf("resident row %+v", r)
		}
		if (r.Group == "attending" || r.Group == "program_director") && !r.Suppressed {
			t.Errorf("small cell shown: %+v", r)
		}
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

func must3[A, B any](a A, b B, err error) (A, B) { return must2(a, b, err) }
