package ports

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"-30d": -30 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second, "-1h30m": -90 * time.Minute, "7d": 7 * 24 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "x3d", "3days", "--1d"} {
		if _, err := ParseDuration(bad); err == nil && bad != "" {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseXAPINamesEveryBadField(t *testing.T) {
	_, errs := parseXAPI([]byte(`[{"id":"nope","actor":{"name":"x"},"verb":{},"object":{}},
		{"id":"00000000-0000-4000-8000-000000000001","actor":{"mbox":"mailto:a@example.org"},"verb":{"id":"v"},"object":{"id":"o"},"timestamp":"2026-03-01T00:00:00Z"}]`))
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if got := strings.Join(fields, ","); got != "[0].id,[0].verb.id,[0].object.id,[0].actor,[0].timestamp" {
		t.Fatalf("fields %s", got)
	}
	sts, errs := parseXAPI([]byte(`{"id":"00000000-0000-4000-8000-000000000001","actor":{"account":{"homePage":"h","name":"r1"}},"verb":{"id":"v"},"object":{"id":"o"},"timestamp":"2026-03-01T00:00:00Z"}`))
	if len(errs) != 0 || len(sts) != 1 || sts[0].ActorAccount != "r1" {
		t.Fatalf("single statement: %+v %+v", sts, errs)
	}
	if _, errs := parseXAPI([]byte(`not json`)); len(errs) != 1 || errs[0].Field != "body" {
		t.Fatalf("not json: %+v", errs)
	}
}
