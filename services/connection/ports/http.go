// Package ports adapts the connection use cases to HTTP.
package ports

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/deiops/deiops/pkg/auth"
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
	coord := []string{app.RoleCoordinator}
	r.HandleFunc(httpapi.Operation{Method: http.MethodPut, Path: "/v1/connection/profiles/{person}", ID: "putConnectionProfile",
		Summary: "Opt in to connection, or update your profile", Tags: []string{tagProfiles},
		Description: "Only the person may write their profile. Affinities are optional, restricted and only ever shown back to the person.",
		Request:     ProfileRequest{}, Responses: map[int]any{200: ProfileResponse{}, 403: nil, 422: nil}, Restricted: true}, h.putProfile)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/profiles/{person}", ID: "getConnectionProfile",
		Summary: "Read a profile (your own in full; coordinators without restricted fields)", Tags: []string{tagProfiles},
		Responses: map[int]any{200: ProfileResponse{}, 403: nil, 404: nil}, Restricted: true}, h.getProfile)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/profiles/{person}/withdraw", ID: "withdrawConnectionConsent",
		Summary: "Withdraw consent: erase the profile, leave matching, end pending proposals", Tags: []string{tagProfiles},
		Responses: map[int]any{204: nil, 403: nil, 404: nil}}, h.withdraw)

	r.HandleFunc(httpapi.Operation{Method: http.MethodPut, Path: "/v1/connection/programs/{program}", ID: "putMentoringProgram",
		Summary: "Set a mentoring program's round defaults (weights...) and check-in cadence", Tags: []string{tagMatching}, Roles: coord,
		Request: ProgramRequest{}, Responses: map[int]any{200: ProgramResponse{}, 422: nil}}, h.putProgram)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/programs/{program}", ID: "getMentoringProgram",
		Summary: "Read a mentoring program's settings", Tags: []string{tagMatching}, Roles: coord,
		Responses: map[int]any{200: ProgramResponse{}, 404: nil}}, h.getProgram)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds", ID: "createMatchingRound",
		Summary: "Run a matching round (draft for review)", Tags: []string{tagMatching}, Roles: coord,
		Description: "Assigns opted-in mentees to mentors maximising total compatibility (exact weighted b-matching) under capacities, supervisory chains, avoid lists and the affinity load cap.",
		Request:     RoundRequest{}, Responses: map[int]any{201: RoundResponse{}, 422: nil}, Restricted: true}, h.createRound)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/rounds/{round}", ID: "getMatchingRound",
		Summary: "Review a matching round", Tags: []string{tagMatching}, Roles: coord,
		Responses: map[int]any{200: RoundResponse{}, 404: nil}, Restricted: true}, h.getRound)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds/{round}/publish", ID: "publishMatchingRound",
		Summary: "Publish a reviewed round: proposals go to the mentors", Tags: []string{tagMatching}, Roles: coord,
		Responses: map[int]any{200: RoundResponse{}, 404: nil, 409: nil}, Restricted: true}, h.publishRound)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/proposals", ID: "listMyProposals",
		Summary: "Proposals addressed to you as mentor", Tags: []string{tagMatching},
		Responses: map[int]any{200: ProposalList{}}, Restricted: true}, h.myProposals)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds/{round}/proposals/{proposal}/accept", ID: "acceptProposal",
		Summary: "Accept a proposal (its mentor)", Tags: []string{tagMatching},
		Responses: map[int]any{200: ProposalResponse{}, 403: nil, 404: nil, 409: nil}}, h.decide(true))
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/rounds/{round}/proposals/{proposal}/decline", ID: "declineProposal",
		Summary: "Decline a proposal (its mentor); the mentee falls back to the next best mentor", Tags: []string{tagMatching},
		Responses: map[int]any{200: ProposalResponse{}, 403: nil, 404: nil, 409: nil}}, h.decide(false))

	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/mentorships/{mentorship}", ID: "getMentorship",
		Summary: "Read a mentorship (its two participants)", Tags: []string{tagMentorship},
		Responses: map[int]any{200: MentorshipResponse{}, 404: nil}}, h.getMentorship)
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
		switch s.action {
		case "fit":
			op.Request = FitRequest{}
		case "feedback":
			op.Request = FeedbackRequest{}
		}
		r.HandleFunc(op, h.mentorshipSignal(s.action))
	}

	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings", ID: "scheduleGathering",
		Summary: "Schedule a gathering or story circle", Tags: []string{tagGatherings}, Roles: app.Organizers,
		Request: GatheringRequest{}, Responses: map[int]any{201: GatheringResponse{}, 422: nil}}, h.schedule)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/gatherings", ID: "listGatherings",
		Summary: "List gatherings", Tags: []string{tagGatherings}, Responses: map[int]any{200: GatheringList{}}}, h.listGatherings)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/gatherings/{gathering}", ID: "getGathering",
		Summary: "Read a gathering", Tags: []string{tagGatherings}, Responses: map[int]any{200: GatheringResponse{}, 404: nil}}, h.getGathering)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings/{gathering}/rsvp", ID: "rsvpGathering",
		Summary: "RSVP: confirmed while places remain, else waitlisted", Tags: []string{tagGatherings},
		Responses: map[int]any{200: RSVPResponse{}, 404: nil, 409: nil}}, h.rsvp)
	r.HandleFunc(httpapi.Operation{Method: http.MethodDelete, Path: "/v1/connection/gatherings/{gathering}/rsvp", ID: "cancelRsvp",
		Summary: "Cancel your RSVP; a freed place promotes the first waitlisted person", Tags: []string{tagGatherings},
		Responses: map[int]any{204: nil, 404: nil, 409: nil}}, h.cancelRSVP)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings/{gathering}/cancel", ID: "cancelGathering",
		Summary: "Cancel a gathering and notify its attendees", Tags: []string{tagGatherings},
		Responses: map[int]any{204: nil, 403: nil, 404: nil}}, h.cancelGathering)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/gatherings/{gathering}/topics", ID: "suggestStoryCircleTopic",
		Summary: "Suggest a story-circle topic, optionally anonymously", Tags: []string{tagGatherings},
		Request: TopicRequest{}, Responses: map[int]any{201: nil, 404: nil, 409: nil, 422: nil}}, h.suggestTopic)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/gatherings/{gathering}/topics", ID: "listStoryCircleTopics",
		Summary: "Topic suggestions (the facilitator)", Tags: []string{tagGatherings},
		Responses: map[int]any{200: TopicList{}, 403: nil, 404: nil}, Restricted: true}, h.topics)

	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups", ID: "createGroup",
		Summary: "Create an affinity or interest group with its leaders", Tags: []string{tagGroups}, Roles: app.GroupCreators,
		Request: GroupRequest{}, Responses: map[int]any{201: GroupResponse{}, 422: nil}}, h.createGroup)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/groups", ID: "listGroups",
		Summary: "List groups", Tags: []string{tagGroups}, Responses: map[int]any{200: GroupList{}}, Restricted: true}, h.listGroups)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/groups/{group}", ID: "getGroup",
		Summary: "Read a group (members listed if public, or to members)", Tags: []string{tagGroups},
		Responses: map[int]any{200: GroupResponse{}, 404: nil}, Restricted: true}, h.getGroup)
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups/{group}/join", ID: "joinGroup",
		Summary: "Join a group", Tags: []string{tagGroups}, Responses: map[int]any{204: nil, 404: nil}}, h.groupMembership(true))
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups/{group}/leave", ID: "leaveGroup",
		Summary: "Leave a group", Tags: []string{tagGroups}, Responses: map[int]any{204: nil, 404: nil, 409: nil}}, h.groupMembership(false))
	r.HandleFunc(httpapi.Operation{Method: http.MethodPost, Path: "/v1/connection/groups/{group}/announcements", ID: "postGroupAnnouncement",
		Summary: "Post an announcement (group leaders)", Tags: []string{tagGroups},
		Request: AnnouncementRequest{}, Responses: map[int]any{201: AnnouncementBody{}, 403: nil, 404: nil, 422: nil}}, h.announce)
	r.HandleFunc(httpapi.Operation{Method: http.MethodGet, Path: "/v1/connection/groups/{group}/announcements", ID: "listGroupAnnouncements",
		Summary: "A group's announcements (members; everyone for public groups)", Tags: []string{tagGroups},
		Responses: map[int]any{200: AnnouncementList{}, 403: nil, 404: nil}}, h.announcements)
}

func actor(r *http.Request) app.Actor {
	p, ok := auth.FromContext(r.Context())
	if !ok || p == nil {
		return app.Actor{}
	}
	a := app.Actor{ID: p.Subject}
	for _, role := range p.Roles {
		a.Roles = append(a.Roles, string(role))
	}
	return a
}

func (h *HTTP) ready(w http.ResponseWriter, r *http.Request) bool {
	if h.App == nil {
		httpapi.WriteProblem(w, r, httpapi.ServiceUnavailable("the connection service is starting"))
		return false
	}
	return true
}

func (h *HTTP) fail(w http.ResponseWriter, r *http.Request, err error) {
	if v, ok := app.IsValidation(err); ok {
		fields := make([]httpapi.FieldError, len(v.Fields))
		for i, f := range v.Fields {
			fields[i] = httpapi.FieldError{Field: f.Field, Reason: f.Reason}
		}
		httpapi.WriteProblem(w, r, httpapi.Unprocessable("the request has invalid fields", fields...))
		return
	}
	switch {
	case errors.Is(err, domain.ErrNotFound):
		httpapi.WriteProblem(w, r, httpapi.NotFound())
	case errors.Is(err, domain.ErrForbidden):
		httpapi.WriteProblem(w, r, httpapi.Forbidden("you may not do this"))
	case errors.Is(err, domain.ErrConflict):
		httpapi.WriteProblem(w, r, httpapi.Conflict("not possible in the current state"))
	default:
		httpapi.WriteProblem(w, r, err)
	}
}

func (h *HTTP) putProfile(w http.ResponseWriter, r *http.Request) {
	var req ProfileRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !h.ready(w, r) {
		return
	}
	p, err := h.App.PutProfile(r.Context(), actor(r), r.PathValue("person"), req.input())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, profileResponse(p, true))
}

func (h *HTTP) getProfile(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	p, full, err := h.App.GetProfile(r.Context(), actor(r), r.PathValue("person"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, profileResponse(p, full))
}

func (h *HTTP) withdraw(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	if err := h.App.WithdrawProfile(r.Context(), actor(r), r.PathValue("person")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *HTTP) createRound(w http.ResponseWriter, r *http.Request) {
	var req RoundRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !h.ready(w, r) {
		return
	}
	round, err := h.App.CreateRound(r.Context(), actor(r), req.settings())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, roundResponse(round))
}

func (h *HTTP) getRound(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	round, err := h.App.GetRound(r.Context(), actor(r), r.PathValue("round"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, roundResponse(round))
}

func (h *HTTP) publishRound(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	round, err := h.App.PublishRound(r.Context(), actor(r), r.PathValue("round"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, roundResponse(round))
}

func (h *HTTP) myProposals(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	ps, err := h.App.MyProposals(r.Context(), actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := ProposalList{Proposals: []ProposalResponse{}}
	for _, p := range ps {
		out.Proposals = append(out.Proposals, proposalResponse(p.RoundID, p.Proposal))
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

func (h *HTTP) decide(accept bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.ready(w, r) {
			return
		}
		round := r.PathValue("round")
		p, err := h.App.Decide(r.Context(), actor(r), round, r.PathValue("proposal"), accept)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		httpapi.WriteJSON(w, r, http.StatusOK, proposalResponse(round, p))
	}
}

func (h *HTTP) schedule(w http.ResponseWriter, r *http.Request) {
	var req GatheringRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !h.ready(w, r) {
		return
	}
	a := actor(r)
	g, err := h.App.ScheduleGathering(r.Context(), a, req.input())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, gatheringResponse(g, a.ID))
}

func (h *HTTP) listGatherings(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	gs, err := h.App.ListGatherings(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a := actor(r)
	out := GatheringList{Gatherings: []GatheringResponse{}}
	for _, g := range gs {
		out.Gatherings = append(out.Gatherings, gatheringResponse(g, a.ID))
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

func (h *HTTP) getGathering(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	g, err := h.App.GetGathering(r.Context(), r.PathValue("gathering"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, gatheringResponse(g, actor(r).ID))
}

func (h *HTTP) rsvp(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	st, pos, err := h.App.RSVP(r.Context(), actor(r), r.PathValue("gathering"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, RSVPResponse{Status: st, Position: pos})
}

func (h *HTTP) cancelRSVP(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	if _, err := h.App.CancelRSVP(r.Context(), actor(r), r.PathValue("gathering")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *HTTP) cancelGathering(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	if err := h.App.CancelGathering(r.Context(), actor(r), r.PathValue("gathering")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *HTTP) suggestTopic(w http.ResponseWriter, r *http.Request) {
	var req TopicRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !h.ready(w, r) {
		return
	}
	if _, err := h.App.SuggestTopic(r.Context(), actor(r), r.PathValue("gathering"), req.Text, req.Anonymous); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated) // no body: nothing about the suggestion comes back
}

func (h *HTTP) topics(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	ts, err := h.App.Topics(r.Context(), actor(r), r.PathValue("gathering"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := TopicList{Topics: []TopicBody{}}
	for _, t := range ts {
		out.Topics = append(out.Topics, TopicBody{ID: t.ID, Text: t.Text, Submitter: t.Submitter, Day: t.At})
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

func (h *HTTP) createGroup(w http.ResponseWriter, r *http.Request) {
	var req GroupRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !h.ready(w, r) {
		return
	}
	a := actor(r)
	g, err := h.App.CreateGroup(r.Context(), a, req.input())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, groupResponse(g, a.ID))
}

func (h *HTTP) getGroup(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	g, err := h.App.GetGroup(r.Context(), r.PathValue("group"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, groupResponse(g, actor(r).ID))
}

func (h *HTTP) groupMembership(join bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.ready(w, r) {
			return
		}
		var err error
		if join {
			err = h.App.JoinGroup(r.Context(), actor(r), r.PathValue("group"))
		} else {
			err = h.App.LeaveGroup(r.Context(), actor(r), r.PathValue("group"))
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *HTTP) announce(w http.ResponseWriter, r *http.Request) {
	var req AnnouncementRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !h.ready(w, r) {
		return
	}
	a, err := h.App.Announce(r.Context(), actor(r), r.PathValue("group"), req.Text)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, AnnouncementBody{ID: a.ID, By: a.By, Text: a.Text, At: a.At})
}

func (h *HTTP) announcements(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	as, err := h.App.Announcements(r.Context(), actor(r), r.PathValue("group"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := AnnouncementList{Announcements: []AnnouncementBody{}}
	for _, a := range as {
		out.Announcements = append(out.Announcements, AnnouncementBody{ID: a.ID, By: a.By, Text: a.Text, At: a.At})
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}

func (h *HTTP) getMentorship(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	id := r.PathValue("mentorship")
	p, err := h.App.Mentorship(r.Context(), actor(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	round, _ := domain.RoundOfProposal(id)
	httpapi.WriteJSON(w, r, http.StatusOK, MentorshipResponse{ID: p.ID, RoundID: round, MenteeID: p.Mentee, MentorID: p.Mentor,
		Status: map[bool]string{true: "active", false: "ended"}[p.Status == domain.ProposalAccepted], Checkins: p.Checkins,
		EndReason: p.EndReason, StartedAt: p.DecidedAt, EndedAt: p.EndedAt})
}

func (h *HTTP) mentorshipSignal(action string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var fit FitRequest
		var fb FeedbackRequest
		var body any
		switch action {
		case "fit":
			body = &fit
		case "feedback":
			body = &fb
		}
		if body != nil {
			if err := httpapi.Decode(r, body); err != nil {
				httpapi.WriteProblem(w, r, err)
				return
			}
		}
		if !h.ready(w, r) {
			return
		}
		a := actor(r)
		id := r.PathValue("mentorship")
		p, err := h.App.Mentorship(r.Context(), a, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if action == "feedback" {
			// The rating is kept by the service (sealed); the workflow only
			// learns that this participant answered.
			if err := h.App.RecordFeedback(r.Context(), a, id, fb.Rating); err != nil {
				h.fail(w, r, err)
				return
			}
		} else if p.Status != domain.ProposalAccepted {
			h.fail(w, r, domain.ErrConflict)
			return
		}
		if h.Mentorships == nil {
			httpapi.WriteProblem(w, r, httpapi.ServiceUnavailable("mentorship workflows are not available"))
			return
		}
		var name string
		var arg any
		switch action {
		case "met":
			name = mentorship.SignalMet
		case "fit":
			name, arg = mentorship.SignalFit, mentorship.FitSignal{By: a.ID, Answer: fit.Answer}
		case "activity":
			name = mentorship.SignalActivity
		case "end":
			name, arg = mentorship.SignalEnd, mentorship.EndSignal{Reason: mentorship.EndCompleted}
		case "feedback":
			name, arg = mentorship.SignalFeedback, mentorship.FeedbackSignal{By: a.ID}
		}
		if err := h.Mentorships.Signal(r.Context(), id, name, arg); err != nil && !(action == "feedback" && errors.Is(err, domain.ErrConflict)) {
			h.fail(w, r, err) // (feedback after the workflow's window is still recorded)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *HTTP) putProgram(w http.ResponseWriter, r *http.Request) {
	var req ProgramRequest
	if err := httpapi.Decode(r, &req); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !h.ready(w, r) {
		return
	}
	p, err := h.App.PutProgram(r.Context(), actor(r), req.program(r.PathValue("program")))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, programResponse(p))
}

func (h *HTTP) getProgram(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	p, err := h.App.GetProgram(r.Context(), actor(r), r.PathValue("program"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, programResponse(p))
}

func (h *HTTP) listGroups(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	gs, err := h.App.ListGroups(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	viewer := actor(r).ID
	out := GroupList{Groups: []GroupResponse{}}
	for _, g := range gs {
		out.Groups = append(out.Groups, groupResponse(g, viewer))
	}
	httpapi.WriteJSON(w, r, http.StatusOK, out)
}
