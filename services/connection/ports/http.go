// Package ports adapts the connection use cases to HTTP.
package ports

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/fault"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/connection/app"
	"github.com/deiops/deiops/services/connection/domain"
	"github.com/deiops/deiops/workflows/mentorship"
)

// HTTP serves the connection API. App is set by the target's Start; routes
// register without it (the OpenAPI document is built that way).
type HTTP struct {
	App         *app.Service
	Mentorships *Mentorships
	Logger      *slog.Logger
}

const (
	tagProfiles   = "connection: profiles"
	tagMatching   = "connection: matching"
	tagGatherings = "connection: gatherings"
	tagGroups     = "connection: groups"
	tagMentorship = "connection: mentorships"
)

// Routes registers the API.
func (h *HTTP) Routes(r *httpapi.Router) {
	coord := []caller.Role{caller.Coordinator}
	r.Serve(httpapi.Operation{Method: http.MethodPut, Path: "/v1/connection/profiles/{person}", ID: "putConnectionProfile",
		Summary: "Opt in to connection, or update your profile", Tags: []string{tagProfiles},
		Description: "Only the person may write their profile. Affinities are optional, restricted and only ever shown back to the person.",
		Request:     ProfileRequest{}, Responses: map[int]any{200: ProfileResponse{}, 403: nil, 422: nil}, Restricted: true}, h.putProfile())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/profiles/{person}", ID: "getConnectionProfile",
		Summary: "Read a profile (your own in full; coordinators without restricted fields)", Tags: []string{tagProfiles},
		Responses: map[int]any{200: ProfileResponse{}, 403: nil, 404: nil}, Restricted: true}, h.getProfile())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/profiles/{person}/withdraw", ID: "withdrawConnectionConsent",
		Summary: "Withdraw consent: erase the profile, leave matching, end pending proposals", Tags: []string{tagProfiles},
		Responses: map[int]any{204: nil, 403: nil, 404: nil}}, h.withdraw())

	r.Serve(httpapi.Operation{Method: http.MethodPut, Path: "/v1/connection/programs/{program}", ID: "putMentoringProgram",
		Summary: "Set a mentoring program's round defaults (weights...) and check-in cadence", Tags: []string{tagMatching}, Roles: coord,
		Request: ProgramRequest{}, Responses: map[int]any{200: ProgramResponse{}, 422: nil}}, h.putProgram())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/programs/{program}", ID: "getMentoringProgram",
		Summary: "Read a mentoring program's settings", Tags: []string{tagMatching}, Roles: coord,
		Responses: map[int]any{200: ProgramResponse{}, 404: nil}}, h.getProgram())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds", ID: "createMatchingRound", Idempotent: true,
		Summary: "Run a matching round (draft for review)", Tags: []string{tagMatching}, Roles: coord,
		Description: "Assigns opted-in mentees to mentors maximising total compatibility (exact weighted b-matching) under capacities, supervisory chains, avoid lists and the affinity load cap.",
		Request:     RoundRequest{}, Responses: map[int]any{201: RoundResponse{}, 422: nil}, Restricted: true}, h.createRound())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/rounds/{round}", ID: "getMatchingRound",
		Summary: "Review a matching round", Tags: []string{tagMatching}, Roles: coord,
		Responses: map[int]any{200: RoundResponse{}, 404: nil}, Restricted: true}, h.getRound())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds/{round}/publish", ID: "publishMatchingRound",
		Summary: "Publish a reviewed round: proposals go to the mentors", Tags: []string{tagMatching}, Roles: coord,
		Responses: map[int]any{200: RoundResponse{}, 404: nil, 409: nil}, Restricted: true}, h.publishRound())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/proposals", ID: "listMyProposals",
		Summary: "Proposals addressed to you as mentor", Tags: []string{tagMatching},
		Responses: map[int]any{200: ProposalList{}}, Restricted: true}, h.myProposals())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds/{round}/proposals/{proposal}/accept", ID: "acceptProposal",
		Summary: "Accept a proposal (its mentor)", Tags: []string{tagMatching},
		Responses: map[int]any{200: ProposalResponse{}, 403: nil, 404: nil, 409: nil}}, h.decide(true))
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds/{round}/proposals/{proposal}/decline", ID: "declineProposal",
		Summary: "Decline a proposal (its mentor); the mentee falls back to the next best mentor", Tags: []string{tagMatching},
		Responses: map[int]any{200: ProposalResponse{}, 403: nil, 404: nil, 409: nil}}, h.decide(false))

	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/mentorships/{mentorship}", ID: "getMentorship",
		Summary: "Read a mentorship (its two participants)", Tags: []string{tagMentorship},
		Responses: map[int]any{200: MentorshipResponse{}, 404: nil}}, h.getMentorship())
	for _, s := range []struct{ action, summary string }{
		{"met", "Report the first meeting"},
		{"fit", "Answer the fit check: good, still_deciding or not_a_fit (re-match)"},
		{"activity", "Report activity (keeps the mentorship from ending for inactivity)"},
		{"end", "End the mentorship (completed)"},
		{"feedback", "Rate an ended mentorship (1..5)"},
	} {
		op := httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/mentorships/{mentorship}/" + s.action,
			ID: "mentorship" + strings.ToUpper(s.action[:1]) + s.action[1:], Summary: s.summary, Tags: []string{tagMentorship},
			Responses: map[int]any{204: nil, 404: nil, 409: nil, 422: nil}}
		e := h.mentorshipSignal(s.action)
		switch s.action {
		case "fit":
			e = h.mentorshipFit()
		case "feedback":
			e = h.mentorshipFeedback()
		}
		r.Serve(op, e)
	}

	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings", ID: "scheduleGathering", Idempotent: true,
		Summary: "Schedule a gathering or story circle", Tags: []string{tagGatherings}, Roles: app.Organizers,
		Request: GatheringRequest{}, Responses: map[int]any{201: GatheringResponse{}, 422: nil}}, h.schedule())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/gatherings", ID: "listGatherings",
		Summary: "List gatherings", Tags: []string{tagGatherings}, Responses: map[int]any{200: GatheringList{}}}, h.listGatherings())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/gatherings/{gathering}", ID: "getGathering",
		Summary: "Read a gathering", Tags: []string{tagGatherings}, Responses: map[int]any{200: GatheringResponse{}, 404: nil}}, h.getGathering())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings/{gathering}/rsvp", ID: "rsvpGathering",
		Summary: "RSVP: confirmed while places remain, else waitlisted", Tags: []string{tagGatherings},
		Responses: map[int]any{200: RSVPResponse{}, 404: nil, 409: nil}}, h.rsvp())
	r.Serve(httpapi.Operation{Method: http.MethodDelete, Path: "/v1/connection/gatherings/{gathering}/rsvp", ID: "cancelRsvp",
		Summary: "Cancel your RSVP; a freed place promotes the first waitlisted person", Tags: []string{tagGatherings},
		Responses: map[int]any{204: nil, 404: nil, 409: nil}}, h.cancelRSVP())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings/{gathering}/cancel", ID: "cancelGathering",
		Summary: "Cancel a gathering and notify its attendees", Tags: []string{tagGatherings},
		Responses: map[int]any{204: nil, 403: nil, 404: nil}}, h.cancelGathering())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings/{gathering}/topics", ID: "suggestStoryCircleTopic", Idempotent: true,
		Summary: "Suggest a story-circle topic, optionally anonymously", Tags: []string{tagGatherings},
		Request: TopicRequest{}, Responses: map[int]any{201: nil, 404: nil, 409: nil, 422: nil}}, h.suggestTopic())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/gatherings/{gathering}/topics", ID: "listStoryCircleTopics",
		Summary: "Topic suggestions (the facilitator)", Tags: []string{tagGatherings},
		Responses: map[int]any{200: TopicList{}, 403: nil, 404: nil}, Restricted: true}, h.topics())

	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups", ID: "createGroup", Idempotent: true,
		Summary: "Create an affinity or interest group with its leaders", Tags: []string{tagGroups}, Roles: app.GroupCreators,
		Request: GroupRequest{}, Responses: map[int]any{201: GroupResponse{}, 422: nil}}, h.createGroup())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/groups", ID: "listGroups",
		Summary: "List groups", Tags: []string{tagGroups}, Responses: map[int]any{200: GroupList{}}, Restricted: true}, h.listGroups())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/groups/{group}", ID: "getGroup",
		Summary: "Read a group (members listed if public, or to members)", Tags: []string{tagGroups},
		Responses: map[int]any{200: GroupResponse{}, 404: nil}, Restricted: true}, h.getGroup())
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups/{group}/join", ID: "joinGroup",
		Summary: "Join a group", Tags: []string{tagGroups}, Responses: map[int]any{204: nil, 404: nil}}, h.groupMembership(true))
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups/{group}/leave", ID: "leaveGroup",
		Summary: "Leave a group", Tags: []string{tagGroups}, Responses: map[int]any{204: nil, 404: nil, 409: nil}}, h.groupMembership(false))
	r.Serve(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups/{group}/announcements", ID: "postGroupAnnouncement", Idempotent: true,
		Summary: "Post an announcement (group leaders)", Tags: []string{tagGroups},
		Request: AnnouncementRequest{}, Responses: map[int]any{201: AnnouncementBody{}, 403: nil, 404: nil, 422: nil}}, h.announce())
	r.Serve(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/groups/{group}/announcements", ID: "listGroupAnnouncements",
		Summary: "A group's announcements (members; everyone for public groups)", Tags: []string{tagGroups},
		Responses: map[int]any{200: AnnouncementList{}, 403: nil, 404: nil}}, h.announcements())
}

// The handlers translate: decode a fresh request value, call the use case
// with the caller, answer its result. Errors are answered by httpapi's one
// mapping of error kinds.

func (h *HTTP) putProfile() httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req ProfileRequest) (ProfileResponse, error) {
		p, err := h.App.PutProfile(r.Context(), auth.ActorOf(r), r.PathValue("person"), req.input())
		if err != nil {
			return ProfileResponse{}, err
		}
		return profileResponse(p, true), nil
	})
}

func (h *HTTP) getProfile() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (ProfileResponse, error) {
		p, full, err := h.App.GetProfile(r.Context(), auth.ActorOf(r), r.PathValue("person"))
		if err != nil {
			return ProfileResponse{}, err
		}
		return profileResponse(p, full), nil
	})
}

func (h *HTTP) withdraw() httpapi.Endpoint {
	return httpapi.Call(http.StatusNoContent, func(r *http.Request) (httpapi.NoContent, error) {
		return httpapi.NoContent{}, h.App.WithdrawProfile(r.Context(), auth.ActorOf(r), r.PathValue("person"))
	})
}

func (h *HTTP) createRound() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req RoundRequest) (RoundResponse, error) {
		round, err := h.App.CreateRound(r.Context(), auth.ActorOf(r), req.settings())
		if err != nil {
			return RoundResponse{}, err
		}
		return roundResponse(round), nil
	})
}

func (h *HTTP) getRound() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (RoundResponse, error) {
		round, err := h.App.GetRound(r.Context(), auth.ActorOf(r), r.PathValue("round"))
		if err != nil {
			return RoundResponse{}, err
		}
		return roundResponse(round), nil
	})
}

func (h *HTTP) publishRound() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (RoundResponse, error) {
		round, err := h.App.PublishRound(r.Context(), auth.ActorOf(r), r.PathValue("round"))
		if err != nil {
			return RoundResponse{}, err
		}
		return roundResponse(round), nil
	})
}

func (h *HTTP) myProposals() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (ProposalList, error) {
		ps, err := h.App.MyProposals(r.Context(), auth.ActorOf(r))
		if err != nil {
			return ProposalList{}, err
		}
		out := ProposalList{Proposals: []ProposalResponse{}}
		for _, p := range ps {
			out.Proposals = append(out.Proposals, proposalResponse(p.RoundID, p.Proposal))
		}
		return out, nil
	})
}

func (h *HTTP) decide(accept bool) httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (ProposalResponse, error) {
		round := r.PathValue("round")
		p, err := h.App.Decide(r.Context(), auth.ActorOf(r), round, r.PathValue("proposal"), accept)
		if err != nil {
			return ProposalResponse{}, err
		}
		return proposalResponse(round, p), nil
	})
}

func (h *HTTP) schedule() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req GatheringRequest) (GatheringResponse, error) {
		a := auth.ActorOf(r)
		g, err := h.App.ScheduleGathering(r.Context(), a, req.input())
		if err != nil {
			return GatheringResponse{}, err
		}
		return gatheringResponse(g, a.ID), nil
	})
}

func (h *HTTP) listGatherings() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (GatheringList, error) {
		gs, err := h.App.ListGatherings(r.Context())
		if err != nil {
			return GatheringList{}, err
		}
		viewer := auth.ActorOf(r).ID
		out := GatheringList{Gatherings: []GatheringResponse{}}
		for _, g := range gs {
			out.Gatherings = append(out.Gatherings, gatheringResponse(g, viewer))
		}
		return out, nil
	})
}

func (h *HTTP) getGathering() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (GatheringResponse, error) {
		g, err := h.App.GetGathering(r.Context(), r.PathValue("gathering"))
		if err != nil {
			return GatheringResponse{}, err
		}
		return gatheringResponse(g, auth.ActorOf(r).ID), nil
	})
}

func (h *HTTP) rsvp() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (RSVPResponse, error) {
		st, pos, err := h.App.RSVP(r.Context(), auth.ActorOf(r), r.PathValue("gathering"))
		if err != nil {
			return RSVPResponse{}, err
		}
		return RSVPResponse{Status: st, Position: pos}, nil
	})
}

func (h *HTTP) cancelRSVP() httpapi.Endpoint {
	return httpapi.Call(http.StatusNoContent, func(r *http.Request) (httpapi.NoContent, error) {
		_, err := h.App.CancelRSVP(r.Context(), auth.ActorOf(r), r.PathValue("gathering"))
		return httpapi.NoContent{}, err
	})
}

func (h *HTTP) cancelGathering() httpapi.Endpoint {
	return httpapi.Call(http.StatusNoContent, func(r *http.Request) (httpapi.NoContent, error) {
		return httpapi.NoContent{}, h.App.CancelGathering(r.Context(), auth.ActorOf(r), r.PathValue("gathering"))
	})
}

// suggestTopic answers 201 with no body: nothing about the suggestion
// comes back.
func (h *HTTP) suggestTopic() httpapi.Endpoint {
	e := httpapi.JSON(http.StatusCreated, func(r *http.Request, req TopicRequest) (httpapi.NoContent, error) {
		_, err := h.App.SuggestTopic(r.Context(), auth.ActorOf(r), r.PathValue("gathering"), req.Text, req.Anonymous)
		return httpapi.NoContent{}, err
	})
	return e
}

func (h *HTTP) topics() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (TopicList, error) {
		ts, err := h.App.Topics(r.Context(), auth.ActorOf(r), r.PathValue("gathering"))
		if err != nil {
			return TopicList{}, err
		}
		out := TopicList{Topics: []TopicBody{}}
		for _, t := range ts {
			out.Topics = append(out.Topics, TopicBody{ID: t.ID, Text: t.Text, Submitter: t.Submitter, Day: t.At})
		}
		return out, nil
	})
}

func (h *HTTP) createGroup() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req GroupRequest) (GroupResponse, error) {
		a := auth.ActorOf(r)
		g, err := h.App.CreateGroup(r.Context(), a, req.input())
		if err != nil {
			return GroupResponse{}, err
		}
		return groupResponse(g, a.ID), nil
	})
}

func (h *HTTP) getGroup() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (GroupResponse, error) {
		g, err := h.App.GetGroup(r.Context(), r.PathValue("group"))
		if err != nil {
			return GroupResponse{}, err
		}
		return groupResponse(g, auth.ActorOf(r).ID), nil
	})
}

func (h *HTTP) groupMembership(join bool) httpapi.Endpoint {
	return httpapi.Call(http.StatusNoContent, func(r *http.Request) (httpapi.NoContent, error) {
		if join {
			return httpapi.NoContent{}, h.App.JoinGroup(r.Context(), auth.ActorOf(r), r.PathValue("group"))
		}
		return httpapi.NoContent{}, h.App.LeaveGroup(r.Context(), auth.ActorOf(r), r.PathValue("group"))
	})
}

func (h *HTTP) announce() httpapi.Endpoint {
	return httpapi.JSON(http.StatusCreated, func(r *http.Request, req AnnouncementRequest) (AnnouncementBody, error) {
		a, err := h.App.Announce(r.Context(), auth.ActorOf(r), r.PathValue("group"), req.Text)
		if err != nil {
			return AnnouncementBody{}, err
		}
		return AnnouncementBody{ID: a.ID, By: a.By, Text: a.Text, At: a.At}, nil
	})
}

func (h *HTTP) announcements() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (AnnouncementList, error) {
		as, err := h.App.Announcements(r.Context(), auth.ActorOf(r), r.PathValue("group"))
		if err != nil {
			return AnnouncementList{}, err
		}
		out := AnnouncementList{Announcements: []AnnouncementBody{}}
		for _, a := range as {
			out.Announcements = append(out.Announcements, AnnouncementBody{ID: a.ID, By: a.By, Text: a.Text, At: a.At})
		}
		return out, nil
	})
}

func (h *HTTP) getMentorship() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (MentorshipResponse, error) {
		id := r.PathValue("mentorship")
		p, err := h.App.Mentorship(r.Context(), auth.ActorOf(r), id)
		if err != nil {
			return MentorshipResponse{}, err
		}
		round, _ := domain.RoundOfProposal(id)
		status := "ended"
		if p.Status == domain.ProposalAccepted {
			status = "active"
		}
		return MentorshipResponse{ID: p.ID, RoundID: round, MenteeID: p.Mentee, MentorID: p.Mentor, Status: status,
			Checkins: p.Checkins, EndReason: p.EndReason, StartedAt: p.DecidedAt, EndedAt: p.EndedAt}, nil
	})
}

// mentorshipSignal serves a signal without a body.
func (h *HTTP) mentorshipSignal(action string) httpapi.Endpoint {
	return httpapi.Call(http.StatusNoContent, func(r *http.Request) (httpapi.NoContent, error) {
		return httpapi.NoContent{}, h.signal(r, action, nil)
	})
}

func (h *HTTP) mentorshipFit() httpapi.Endpoint {
	return httpapi.JSON(http.StatusNoContent, func(r *http.Request, req FitRequest) (httpapi.NoContent, error) {
		return httpapi.NoContent{}, h.signal(r, "fit", &req)
	})
}

func (h *HTTP) mentorshipFeedback() httpapi.Endpoint {
	return httpapi.JSON(http.StatusNoContent, func(r *http.Request, req FeedbackRequest) (httpapi.NoContent, error) {
		return httpapi.NoContent{}, h.signal(r, "feedback", &req)
	})
}

// signal checks the caller is on the mentorship and sends the workflow
// the signal for action; body is the request's own decoded value.
func (h *HTTP) signal(r *http.Request, action string, body any) error {
	a := auth.ActorOf(r)
	id := r.PathValue("mentorship")
	p, err := h.App.Mentorship(r.Context(), a, id)
	if err != nil {
		return err
	}
	if fb, ok := body.(*FeedbackRequest); ok {
		// The rating is kept by the service (sealed); the workflow only
		// learns that this participant answered.
		if err := h.App.RecordFeedback(r.Context(), a, id, fb.Rating); err != nil {
			return err
		}
	} else if p.Status != domain.ProposalAccepted {
		return domain.ErrConflict
	}
	if h.Mentorships == nil {
		return fault.Retry("mentorship workflows are not available", 0, nil)
	}
	var name string
	var arg any
	switch action {
	case "met":
		name = mentorship.SignalMet
	case "fit":
		name, arg = mentorship.SignalFit, mentorship.FitSignal{By: a.ID, Answer: body.(*FitRequest).Answer}
	case "activity":
		name = mentorship.SignalActivity
	case "end":
		name, arg = mentorship.SignalEnd, mentorship.EndSignal{Reason: mentorship.EndCompleted}
	case "feedback":
		name, arg = mentorship.SignalFeedback, mentorship.FeedbackSignal{By: a.ID}
	}
	if err := h.Mentorships.Signal(r.Context(), id, name, arg); err != nil && !(action == "feedback" && errors.Is(err, domain.ErrConflict)) {
		return err // (feedback after the workflow's window is still recorded)
	}
	return nil
}

func (h *HTTP) putProgram() httpapi.Endpoint {
	return httpapi.JSON(http.StatusOK, func(r *http.Request, req ProgramRequest) (ProgramResponse, error) {
		p, err := h.App.PutProgram(r.Context(), auth.ActorOf(r), req.program(r.PathValue("program")))
		if err != nil {
			return ProgramResponse{}, err
		}
		return programResponse(p), nil
	})
}

func (h *HTTP) getProgram() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (ProgramResponse, error) {
		p, err := h.App.GetProgram(r.Context(), auth.ActorOf(r), r.PathValue("program"))
		if err != nil {
			return ProgramResponse{}, err
		}
		return programResponse(p), nil
	})
}

func (h *HTTP) listGroups() httpapi.Endpoint {
	return httpapi.Call(http.StatusOK, func(r *http.Request) (GroupList, error) {
		gs, err := h.App.ListGroups(r.Context())
		if err != nil {
			return GroupList{}, err
		}
		viewer := auth.ActorOf(r).ID
		out := GroupList{Groups: []GroupResponse{}}
		for _, g := range gs {
			out.Groups = append(out.Groups, groupResponse(g, viewer))
		}
		return out, nil
	})
}
