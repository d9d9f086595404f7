package ports_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/services/connection/ports"
)

func TestProgramSettingsDriveRounds(t *testing.T) {
	e := matchingEnv(t)
	if rec := e.Do(t, http.MethodPut, "/v1/connection/programs/gme", "sam", staff, ports.ProgramRequest{}); rec.Code != 403 {
		t.Fatalf("staff set a program: %d", rec.Code)
	}
	rec := e.Do(t, http.MethodPut, "/v1/connection/programs/gme", "cora", coord,
		ports.ProgramRequest{Weights: &ports.WeightsBody{Interest: 500}, CheckinEveryDays: 1})
	if rec.Code != 422 {
		t.Fatalf("absurd program: %d", rec.Code)
	}
	if got := strings.Join(problemFields(t, rec.Body.String()), ","); got != "weights.interest,checkin_every_days" {
		t.Fatalf("fields %s", got)
	}
	var prog ports.ProgramResponse
	e.Must(t, 200, http.MethodPut, "/v1/connection/programs/gme", "cora", coord,
		ports.ProgramRequest{Weights: &ports.WeightsBody{Interest: 5, Specialty: 1}, ResponseWindowHours: 24, CheckinEveryDays: 14}, &prog)
	e.Must(t, 200, http.MethodGet, "/v1/connection/programs/gme", "cora", coord, nil, &prog)
	if prog.CheckinEveryDays != 14 || prog.Weights.Interest != 5 {
		t.Fatalf("program %+v", prog)
	}
	var round ports.RoundResponse
	e.Must(t, 201, http.MethodPost, "/v1/connection/rounds", "cora", coord, ports.RoundRequest{Program: "gme"}, &round)
	if p := byMentee(round)["m1"]; p.MentorID != "o1" || p.Score != 11 {
		t.Fatalf("m1's pair under the program's weights: %+v", p)
	}
	e.Must(t, 200, http.MethodPost, "/v1/connection/rounds/"+round.ID+"/publish", "cora", coord, nil, &round)
	if p := byMentee(round)["m1"]; !p.RespondBy.Equal(e.Clock.Now().Add(24 * time.Hour)) {
		t.Fatalf("response window: %s", p.RespondBy)
	}
	if every, err := e.App.CheckinEvery(context.Background(), round.ID); err != nil || every != 14*24*time.Hour {
		t.Fatalf("cadence %v, %v", every, err)
	}
}
