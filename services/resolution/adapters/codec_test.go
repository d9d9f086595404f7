package adapters

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
	"github.com/deiops/deiops/services/resolution/app"
	"github.com/deiops/deiops/services/resolution/domain"
)

const secret = "CANARY-codec-3b9f"

func testRecord(t *testing.T, anonymous bool) *app.Record {
	t.Helper()
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	in := domain.ReportInput{
		Category: domain.CategoryRacism, Narrative: domain.Restrict("narrative " + secret), OccurredAt: now.Add(-time.Hour),
		DepartmentID: "med", Site: "north", DesiredOutcome: domain.OutcomeFormalResolution, Anonymous: anonymous,
		Involved:  []domain.PartyInput{{Role: domain.RoleAttending, PersonID: domain.Restrict("att"), Name: domain.Restrict("Dr " + secret)}},
		Witnesses: []domain.Restricted{domain.Restrict("witness " + secret)},
	}
	if !anonymous {
		in.ReporterID = "res1"
	}
	rep, err := domain.NewReport(in, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.NewCase("c-1", rep, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Triage("off1", domain.CategoryRacism, domain.SeverityHigh, "med", now); err != nil {
		t.Fatal(err)
	}
	if err := c.Assign("off1", "hres", func(string) bool { return false }, now); err != nil {
		t.Fatal(err)
	}
	if err := c.AddNote("hres", domain.Restrict("note "+secret), now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PostMessage(domain.SenderReporter, in.ReporterID, domain.Restrict("message "+secret), now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RequestCheckin(1, 1, 3, now, now); err != nil {
		t.Fatal(err)
	}
	c.PullEvents()
	r := &app.Record{Case: c, ExcludedHashes: []string{"h1"}, Intake: "fp1", Applied: []app.Applied{{Key: "k1", Fingerprint: "fp2", Ref: 1}}, Escalations: []app.Escalation{{NotificationID: "n1", Round: 1, Level: "l1", Attempt: 1, Recipients: []string{"hres"}, At: now}}}
	if anonymous {
		r.CaseKey = "ABCD-EFGH-JKMN"
	} else {
		r.ReporterHash = "rh"
	}
	return r
}

func keyring(t *testing.T) *crypto.Keyring {
	t.Helper()
	k, _, err := crypto.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCaseCodecSealsEveryRestrictedField stores a case whose restricted
// fields carry a canary: the stored bytes hold neither the canary nor the
// named reporter's id, and decoding gives back the same case.
func TestCaseCodecSealsEveryRestrictedField(t *testing.T) {
	for _, anonymous := range []bool{false, true} {
		codec := CaseCodec{Keys: keyring(t)}
		r := testRecord(t, anonymous)
		data, err := codec.Marshal("c-1", r)
		if err != nil {
			t.Fatal(err)
		}
		for _, clear := range []string{secret, "res1", "ABCD-EFGH-JKMN", `"att"`} {
			if bytes.Contains(data, []byte(clear)) {
				t.Errorf("anonymous=%t: %q stored in clear: %s", anonymous, clear, data)
			}
		}
		back, err := codec.Unmarshal("c-1", data)
		if err != nil {
			t.Fatal(err)
		}
		again, err := codec.Marshal("c-1", back)
		if err != nil {
			t.Fatal(err)
		}
		// Ciphertexts differ (fresh nonce); everything else is equal.
		if strip(t, again) != strip(t, data) {
			t.Errorf("round trip changed the record:\n%s\n%s", strip(t, again), strip(t, data))
		}
		got := back.Case
		if got.Report().Narrative().Reveal() != "narrative "+secret || got.Notes()[0].Text.Reveal() != "note "+secret ||
			got.Messages()[0].Text.Reveal() != "message "+secret || got.Report().Involved()[0].PersonID.Reveal() != "att" ||
			got.Report().ReporterID() != r.Case.Report().ReporterID() || back.CaseKey != r.CaseKey {
			t.Errorf("restricted fields did not survive the round trip")
		}
		if got.Messages()[0].By != r.Case.Report().ReporterID() {
			t.Errorf("message author %q", got.Messages()[0].By)
		}
	}
}

func strip(t *testing.T, data []byte) string {
	t.Helper()
	s := string(data)
	i := strings.Index(s, `"sealed":"`)
	if i < 0 {
		t.Fatalf("no sealed part in %s", s)
	}
	j := strings.Index(s[i+10:], `"`)
	return s[:i] + s[i+10+j:]
}

// TestCaseCodecRefusesAMovedRecord shows the seal is bound to the case
// id: a record copied under another id does not open.
func TestCaseCodecRefusesAMovedRecord(t *testing.T) {
	codec := CaseCodec{Keys: keyring(t)}
	data, err := codec.Marshal("c-1", testRecord(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := codec.Unmarshal("c-2", data); err == nil {
		t.Fatal("a record opened under another case id")
	}
	if _, err := (CaseCodec{Keys: keyring(t)}).Unmarshal("c-1", data); err == nil {
		t.Fatal("a record opened with another keyring")
	}
}

// TestSummaryReadsOnlyTheClearPart decodes the index's view without keys.
func TestSummaryReadsOnlyTheClearPart(t *testing.T) {
	codec := CaseCodec{Keys: keyring(t)}
	data, err := codec.Marshal("c-1", testRecord(t, true))
	if err != nil {
		t.Fatal(err)
	}
	s, err := summaryOf(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "c-1" || s.State != domain.StateAssigned || s.Assignee != "hres" || s.Department != "med" ||
		!s.Anonymous || len(s.Notified) != 1 || s.Notified[0] != "hres" {
		t.Errorf("summary %+v", s)
	}
}
