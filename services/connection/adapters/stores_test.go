package adapters_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deiops/deiops/services/connection/domain"
	"github.com/deiops/deiops/services/connection/internal/testenv"
	"github.com/deiops/deiops/services/connection/matching"
)

// TestLargeRoundFitsOneRecord stores a round of 5,000 proposals with
// explanations (sealed and deflated) and reads it back.
func TestLargeRoundFitsOneRecord(t *testing.T) {
	e := testenv.New(t)
	var res matching.Result
	for i := range 5000 {
		res.Pairs = append(res.Pairs, matching.Pair{Mentee: fmt.Sprintf("mentee-%05d", i), Mentor: fmt.Sprintf("mentor-%04d", i/5),
			Score: 40 + i%50, AffinityPoints: i % 2 * 25, Factors: []matching.Factor{
				{Kind: "interests", Points: 30, Shared: []string{"research", "quality improvement", "global health"}},
				{Kind: "specialty", Points: 20, Shared: []string{"internal medicine"}},
				{Kind: "languages", Points: 10, Shared: []string{"spanish"}}}})
	}
	r := domain.NewRound("r-big", "cora", domain.RoundSettings{Program: "gme"}, res, time.Now())
	ctx := context.Background()
	if err := e.Stores.Rounds.Create(ctx, r.ID(), r); err != nil {
		t.Fatal(err)
	}
	raw, err := e.Stores.Rounds.KV().Get(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round of 5,000 proposals: %d bytes stored", len(raw.Value()))
	if strings.Contains(string(raw.Value()), "mentee-00042") || strings.Contains(string(raw.Value()), "affinity_points") {
		t.Fatal("proposals stored in clear")
	}
	back, err := e.Stores.Rounds.Get(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Proposals(); len(got) != 5000 || got[4999].Mentee != "mentee-04999" || got[1].AffinityPoints != 25 {
		t.Fatalf("read back %d proposals", len(got))
	}
}
