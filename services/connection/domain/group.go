package domain

import (
	"fmt"
	"slices"
	"time"
)

// Group kinds and visibilities.
var (
	GroupKinds        = []string{"affinity", "interest"}
	GroupVisibilities = []string{"public", "private"}
)

// GroupInput describes a group.
type GroupInput struct {
	Name        string
	Description string
	Kind        string
	Visibility  string // of the membership list
	Leaders     []string
}

// Validate checks a group input.
func (in GroupInput) Validate() error {
	var c checker
	c.text("name", in.Name, 120, true)
	c.text("description", in.Description, 2000, false)
	if !slices.Contains(GroupKinds, in.Kind) {
		c.fail("kind", "one of affinity, interest")
	}
	if !slices.Contains(GroupVisibilities, in.Visibility) {
		c.fail("visibility", "one of public, private")
	}
	if len(in.Leaders) == 0 || len(in.Leaders) > 10 {
		c.fail("leaders", "1..10 person ids")
	}
	for i, l := range in.Leaders {
		if !ValidID(l) {
			c.fail(fmt.Sprintf("leaders[%d]", i), "not a person id")
		}
	}
	return c.err()
}

// Announcement is a leader's message to the group.
type Announcement struct {
	ID   string    `json:"id"`
	By   string    `json:"by"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// GroupState is a group's stored form.
type GroupState struct {
	ID            string         `json:"id"`
	Input         GroupInput     `json:"input"`
	Members       []string       `json:"members"`
	Announcements []Announcement `json:"announcements,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
}

// Group is an affinity or interest group. Leaders are members.
type Group struct{ st GroupState }

// NewGroup creates a group with its leaders as first members.
func NewGroup(id string, in GroupInput, now time.Time) (*Group, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return &Group{st: GroupState{ID: id, Input: in, Members: slices.Clone(in.Leaders), CreatedAt: now}}, nil
}

// RestoreGroup rebuilds a group.
func RestoreGroup(s GroupState) *Group { return &Group{st: s} }

// State returns the stored form.
func (g *Group) State() GroupState { return g.st }

// IsLeader reports leadership.
func (g *Group) IsLeader(p string) bool { return slices.Contains(g.st.Input.Leaders, p) }

// IsMember reports membership.
func (g *Group) IsMember(p string) bool { return slices.Contains(g.st.Members, p) }

// Join adds a member; false when already one.
func (g *Group) Join(p string) bool {
	if g.IsMember(p) {
		return false
	}
	g.st.Members = append(g.st.Members, p)
	return true
}

// Leave removes a member; false when not one. The last leader cannot leave.
func (g *Group) Leave(p string) (bool, error) {
	if !g.IsMember(p) {
		return false, nil
	}
	if g.IsLeader(p) && len(g.st.Input.Leaders) == 1 {
		return false, fmt.Errorf("the last leader cannot leave group %s: %w", g.st.ID, ErrConflict)
	}
	g.st.Members = slices.DeleteFunc(g.st.Members, func(m string) bool { return m == p })
	g.st.Input.Leaders = slices.DeleteFunc(g.st.Input.Leaders, func(m string) bool { return m == p })
	return true, nil
}

// Announcement returns the announcement with id, if there is one.
func (g *Group) Announcement(id string) (Announcement, bool) {
	for _, a := range g.st.Announcements {
		if a.ID == id {
			return a, true
		}
	}
	return Announcement{}, false
}

// Announce posts a leader's announcement.
func (g *Group) Announce(id, by, text string, now time.Time) (Announcement, error) {
	if !g.IsLeader(by) {
		return Announcement{}, fmt.Errorf("%s does not lead group %s: %w", by, g.st.ID, ErrForbidden)
	}
	var c checker
	c.text("text", text, 4000, true)
	if err := c.err(); err != nil {
		return Announcement{}, err
	}
	a := Announcement{ID: id, By: by, Text: text, At: now}
	g.st.Announcements = append(g.st.Announcements, a)
	return a, nil
}

// MembersVisibleTo returns the membership list as viewer may see it:
// everyone for public groups, members only for private ones (nil = hidden).
func (g *Group) MembersVisibleTo(viewer string) []string {
	if g.st.Input.Visibility == "public" || g.IsMember(viewer) {
		return slices.Clone(g.st.Members)
	}
	return nil
}
