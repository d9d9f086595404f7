package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/directory"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
)

func TestCampaignPublishReachesAudienceAndJoiners(t *testing.T) {
	e := newEnv(t)
	e.hospital(4)
	ctx := context.Background()
	in := domain.CampaignInput{Title: "Racial perspective in medicine", Body: "# Why this matters\n...", Audience: domain.Audience{Cohorts: []string{"2026"}}}
	if _, err := e.app.CreateCampaign(ctx, staff("r01"), in); !errors.Is(err, app.ErrForbidden) {
		t.Fatalf("staff created a campaign: %v", err)
	}
	c := must(e.app.CreateCampaign(ctx, officer, in))
	in.Title = "Racial perspective in medicine (v2)"
	c = must(e.app.EditCampaign(ctx, director, c.ID(), in))
	if c.Title() != in.Title || c.Status() != domain.CampaignDraft {
		t.Fatalf("edit: %+v", c)
	}
	// Drafts reach nobody.
	if got := must(e.app.MyCampaigns(ctx, staff("r01"))); len(got) != 0 {
		t.Fatalf("draft visible: %v", got)
	}
	c = must(e.app.PublishCampaign(ctx, officer, c.ID(), time.Time{}))
	if c.Status() != domain.CampaignPublished || c.Reached() != 4 {
		t.Fatalf("published %s reached %d", c.Status(), c.Reached())
	}
	e.waitEvents("dei.awareness.campaign.published", 1)
	if got := must(e.app.MyCampaigns(ctx, staff("r02"))); len(got) != 1 {
		t.Fatalf("r02 sees %d campaigns", len(got))
	}
	if got := must(e.app.MyCampaigns(ctx, staff("att1"))); len(got) != 0 {
		t.Fatalf("att1 (not in audience) sees %d", len(got))
	}
	if _, err := e.app.Campaign(ctx, staff("att1"), c.ID()); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("att1 reads campaign: %v", err)
	}
	// Published content is frozen.
	if _, err := e.app.EditCampaign(ctx, officer, c.ID(), in); !errors.Is(err, app.ErrConflict) {
		t.Fatalf("edit after publish: %v", err)
	}
	// A joiner is reached too.
	e.dir.put(directory.Person{ID: "r99", Cohort: "2026", SupervisorID: "att1"})
	if err := e.app.PersonChanged(ctx, "r99", true); err != nil {
		t.Fatal(err)
	}
	if got := must(e.app.MyCampaigns(ctx, staff("r99"))); len(got) != 1 {
		t.Fatalf("joiner sees %d campaigns", len(got))
	}
	if c = must(e.app.Campaign(ctx, officer, c.ID())); c.Reached() != 5 {
		t.Fatalf("reached %d after joiner", c.Reached())
	}
	reached := must(e.app.Reached(ctx, officer, c.ID()))
	if len(reached) != 5 || reached[4].PersonID != "r99" || !reached[4].Late || reached[0].Late {
		t.Fatalf("reached %+v", reached)
	}
	if _, err := e.app.Reached(ctx, staff("r01"), c.ID()); !errors.Is(err, app.ErrForbidden) {
		t.Fatalf("staff lists reach: %v", err)
	}
}

func TestCampaignScheduledAndEmptyAudience(t *testing.T) {
	e := newEnv(t)
	e.hospital(2)
	ctx := context.Background()
	nobody := must(e.app.CreateCampaign(ctx, officer, domain.CampaignInput{Title: "t", Body: "b", Audience: domain.Audience{Sites: []string{"mars"}}}))
	_, err := e.app.PublishCampaign(ctx, officer, nobody.ID(), time.Time{})
	var un *fault.Error
	if !asFault(err, &un) || un.Fields[0].Field != "audience" {
		t.Fatalf("empty audience: %v", err)
	}
	_, err = e.app.CreateCampaign(ctx, officer, domain.CampaignInput{Title: "", Body: "b"})
	var inv *fault.Error
	if !asFault(err, &inv) || len(inv.Fields) != 2 || inv.Fields[0].Field != "title" || inv.Fields[1].Field != "audience" {
		t.Fatalf("invalid campaign: %v", err)
	}
	c := must(e.app.CreateCampaign(ctx, officer, domain.CampaignInput{Title: "t", Body: "b", Audience: domain.Audience{People: []string{"r01"}},
		ExpiresAt: e.clock.Now().Add(72 * time.Hour)}))
	c = must(e.app.PublishCampaign(ctx, officer, c.ID(), e.clock.Now().Add(24*time.Hour)))
	if c.Status() != domain.CampaignScheduled {
		t.Fatalf("status %s", c.Status())
	}
	check(t, e.app.PublishDue(ctx))
	if got := must(e.app.MyCampaigns(ctx, staff("r01"))); len(got) != 0 {
		t.Fatal("published early")
	}
	e.clock.add(25 * time.Hour)
	check(t, e.app.PublishDue(ctx))
	if got := must(e.app.MyCampaigns(ctx, staff("r01"))); len(got) != 1 {
		t.Fatal("not published on time")
	}
	e.clock.add(72 * time.Hour)
	if got := must(e.app.MyCampaigns(ctx, staff("r01"))); len(got) != 0 {
		t.Fatal("visible after expiry")
	}
}
