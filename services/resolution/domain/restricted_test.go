package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/deiops/deiops/pkg/fault"
)

const canary = "CANARY-5b1e-restricted"

func TestRestrictedNeverPrints(t *testing.T) {
	in := validInput()
	in.Narrative = Restrict(canary + " narrative")
	in.Involved[0].PersonID = Restrict("CANARY-5b1e-restricted")
	in.Involved[1].Name = Restrict(canary + " name")
	in.Witnesses = []Restricted{Restrict(canary + " witness")}
	r, err := NewReport(in, testNow())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCase("case-1", r, testNow())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Triage("off-1", CategoryRacism, SeverityLow, "r", testNow()); err != nil {
		t.Fatal(err)
	}
	if err := c.AddNote("off-1", Restrict(canary+" note"), testNow()); err != nil {
		t.Fatal(err)
	}
	events := c.PullEvents()
	values := map[string]any{
		"restricted": in.Narrative, "input": in, "input ptr": &in, "report": r, "report value": *r,
		"case": c, "snapshot": c.Snapshot(), "notes": c.Notes(), "events": events,
	}
	for name, v := range values {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
		out = append(out, buf.String())
		if j, err := json.Marshal(v); err == nil {
			out = append(out, string(j))
		}
		for _, o := range out {
			if strings.Contains(o, canary) || strings.Contains(o, fmt.Sprintf("%x", canary)) {
				t.Errorf("%s leaked restricted content: %.200s", name, o)
			}
		}
	}
	if r.Narrative().Reveal() != canary+" narrative" {
		t.Fatal("Reveal lost the content")
	}
	in.Category = "bad"
	if _, err := NewReport(in, testNow()); err == nil || strings.Contains(err.Error(), canary) || fault.KindOf(err) != fault.Invalid {
		t.Fatalf("validation error leaked content or wrong type: %v", err)
	}
}
