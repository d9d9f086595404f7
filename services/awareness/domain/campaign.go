package domain

import (
	"encoding/json"
	"time"
)

// Limits of campaign fields.
const (
	MaxTitle = 200
	MaxBody  = 50000 // Markdown
)

// CampaignStatus is where a campaign is in its life.
type CampaignStatus string

// Campaign statuses: a draft is edited; a scheduled campaign publishes at
// its publish time; a published one has reached its audience.
const (
	CampaignDraft     CampaignStatus = "draft"
	CampaignScheduled CampaignStatus = "scheduled"
	CampaignPublished CampaignStatus = "published"
)

// CampaignInput creates or edits a campaign.
type CampaignInput struct {
	Title     string
	Body      string // Markdown
	Audience  Audience
	PublishAt time.Time // zero: publish when asked
	ExpiresAt time.Time // zero: never
}

func (in CampaignInput) validate() error {
	var p problems
	p.text("title", in.Title, MaxTitle, true)
	p.text("body", in.Body, MaxBody, true)
	p = append(p, in.Audience.Validate("audience")...)
	if !in.ExpiresAt.IsZero() && !in.PublishAt.IsZero() && !in.ExpiresAt.After(in.PublishAt) {
		p.add("expires_at", "must be after publish_at")
	}
	return p.err("invalid campaign")
}

// Campaign is a level-setting communication to an audience.
type Campaign struct {
	id          string
	in          CampaignInput
	status      CampaignStatus
	createdBy   string
	createdAt   time.Time
	updatedAt   time.Time
	publishedAt time.Time
	reached     int
}

// NewCampaign returns a draft.
func NewCampaign(id, by string, in CampaignInput, now time.Time) (*Campaign, error) {
	var p problems
	p.id("id", id)
	if err := p.err("invalid campaign"); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	return &Campaign{id: id, in: in, status: CampaignDraft, createdBy: by, createdAt: now, updatedAt: now}, nil
}

func (c *Campaign) ID() string             { return c.id }
func (c *Campaign) Title() string          { return c.in.Title }
func (c *Campaign) Body() string           { return c.in.Body }
func (c *Campaign) Audience() Audience     { return c.in.Audience }
func (c *Campaign) PublishAt() time.Time   { return c.in.PublishAt }
func (c *Campaign) ExpiresAt() time.Time   { return c.in.ExpiresAt }
func (c *Campaign) Status() CampaignStatus { return c.status }
func (c *Campaign) CreatedBy() string      { return c.createdBy }
func (c *Campaign) PublishedAt() time.Time { return c.publishedAt }
func (c *Campaign) Reached() int           { return c.reached }
func (c *Campaign) UpdatedAt() time.Time   { return c.updatedAt }

// Edit replaces the content of a draft or scheduled campaign.
func (c *Campaign) Edit(in CampaignInput, now time.Time) error {
	if c.status == CampaignPublished {
		return ErrState
	}
	if err := in.validate(); err != nil {
		return err
	}
	c.in, c.updatedAt = in, now
	return nil
}

// Schedule sets the campaign to publish at at (now or later).
func (c *Campaign) Schedule(at, now time.Time) error {
	if c.status == CampaignPublished {
		return ErrState
	}
	if at.IsZero() {
		at = now
	}
	if !c.in.ExpiresAt.IsZero() && !c.in.ExpiresAt.After(at) {
		return (&problems{{Field: "publish_at", Reason: "must be before expires_at"}}).err("invalid schedule")
	}
	c.in.PublishAt, c.status, c.updatedAt = at, CampaignScheduled, now
	return nil
}

// Due reports whether a scheduled campaign should publish now.
func (c *Campaign) Due(now time.Time) bool {
	return c.status == CampaignScheduled && !c.in.PublishAt.After(now)
}

// Publish records that the campaign reached reached people.
func (c *Campaign) Publish(reached int, now time.Time) error {
	if c.status == CampaignPublished {
		return ErrState
	}
	c.status, c.publishedAt, c.reached, c.updatedAt = CampaignPublished, now, reached, now
	return nil
}

// Reach counts people reached after publication (joiners).
func (c *Campaign) Reach(n int) { c.reached += n }

// Live reports whether people still see the campaign.
func (c *Campaign) Live(now time.Time) bool {
	return c.status == CampaignPublished && (c.in.ExpiresAt.IsZero() || now.Before(c.in.ExpiresAt))
}

type campaignJSON struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Body        string         `json:"body"`
	Audience    Audience       `json:"audience"`
	PublishAt   time.Time      `json:"publish_at"`
	ExpiresAt   time.Time      `json:"expires_at"`
	Status      CampaignStatus `json:"status"`
	CreatedBy   string         `json:"created_by"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	PublishedAt time.Time      `json:"published_at"`
	Reached     int            `json:"reached"`
}

// MarshalJSON is the stored form.
func (c *Campaign) MarshalJSON() ([]byte, error) {
	return json.Marshal(campaignJSON{c.id, c.in.Title, c.in.Body, c.in.Audience, c.in.PublishAt, c.in.ExpiresAt, c.status,
		c.createdBy, c.createdAt, c.updatedAt, c.publishedAt, c.reached})
}

// UnmarshalJSON restores the stored form.
func (c *Campaign) UnmarshalJSON(b []byte) error {
	var j campaignJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Campaign{id: j.ID, in: CampaignInput{Title: j.Title, Body: j.Body, Audience: j.Audience, PublishAt: j.PublishAt, ExpiresAt: j.ExpiresAt},
		status: j.Status, createdBy: j.CreatedBy, createdAt: j.CreatedAt, updatedAt: j.UpdatedAt, publishedAt: j.PublishedAt, reached: j.Reached}
	return nil
}
