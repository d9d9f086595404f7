package ports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/awareness/app"
	"github.com/deiops/deiops/services/awareness/domain"
)

// Request and response bodies of the awareness API, separate from the
// domain so the API can stay put while the domain moves.

// AudienceBody selects people from the directory.
type AudienceBody struct {
	Departments           []string `json:"departments,omitempty" desc:"Department ids"`
	IncludeSubdepartments bool     `json:"include_subdepartments,omitempty" desc:"Also every department below those listed"`
	Roles                 []string `json:"roles,omitempty" desc:"Roles, e.g. resident, attending, nurse"`
	TrainingLevels        []string `json:"training_levels,omitempty" desc:"Training levels, e.g. PGY-1"`
	Cohorts               []string `json:"cohorts,omitempty" desc:"Cohorts, e.g. 2026"`
	Sites                 []string `json:"sites,omitempty" desc:"Sites"`
	People                []string `json:"people,omitempty" desc:"Explicit person ids, always included"`
}

func (a AudienceBody) domain() domain.Audience {
	return domain.Audience{Departments: a.Departments, IncludeSubdepartments: a.IncludeSubdepartments, Roles: a.Roles,
		TrainingLevels: a.TrainingLevels, Cohorts: a.Cohorts, Sites: a.Sites, People: a.People}
}

func audienceBody(a domain.Audience) AudienceBody {
	return AudienceBody{Departments: a.Departments, IncludeSubdepartments: a.IncludeSubdepartments, Roles: a.Roles,
		TrainingLevels: a.TrainingLevels, Cohorts: a.Cohorts, Sites: a.Sites, People: a.People}
}

// CampaignRequest creates or edits a campaign.
type CampaignRequest struct {
	Title     string       `json:"title" desc:"Title (at most 200 characters)"`
	Body      string       `json:"body" desc:"Markdown body (at most 50,000 characters)"`
	Audience  AudienceBody `json:"audience" desc:"Who the campaign is for"`
	PublishAt *time.Time   `json:"publish_at,omitempty" desc:"When to publish; set by the publish action when absent"`
	ExpiresAt *time.Time   `json:"expires_at,omitempty" desc:"When the campaign stops showing; never when absent"`
}

func (r CampaignRequest) input() domain.CampaignInput {
	in := domain.CampaignInput{Title: r.Title, Body: r.Body, Audience: r.Audience.domain()}
	if r.PublishAt != nil {
		in.PublishAt = r.PublishAt.UTC()
	}
	if r.ExpiresAt != nil {
		in.ExpiresAt = r.ExpiresAt.UTC()
	}
	return in
}

// PublishRequest publishes a campaign now or at a time.
type PublishRequest struct {
	PublishAt *time.Time `json:"publish_at,omitempty" desc:"When to publish; now when absent"`
}

// CampaignView is a campaign.
type CampaignView struct {
	ID          string       `json:"id" desc:"Campaign id"`
	Title       string       `json:"title" desc:"Title"`
	Body        string       `json:"body" desc:"Markdown body"`
	Audience    AudienceBody `json:"audience" desc:"Audience criteria"`
	Status      string       `json:"status" desc:"draft, scheduled or published"`
	PublishAt   *time.Time   `json:"publish_at,omitempty" desc:"Scheduled publication"`
	ExpiresAt   *time.Time   `json:"expires_at,omitempty" desc:"Expiry"`
	PublishedAt *time.Time   `json:"published_at,omitempty" desc:"Actual publication"`
	Reached     int          `json:"reached" desc:"People reached so far (joiners included)"`
}

// CampaignList lists campaigns.
type CampaignList struct {
	Campaigns []CampaignView `json:"campaigns" desc:"Campaigns"`
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func campaignView(c *domain.Campaign) CampaignView {
	return CampaignView{ID: c.ID(), Title: c.Title(), Body: c.Body(), Audience: audienceBody(c.Audience()), Status: string(c.Status()),
		PublishAt: tp(c.PublishAt()), ExpiresAt: tp(c.ExpiresAt()), PublishedAt: tp(c.PublishedAt()), Reached: c.Reached()}
}

// ReachView is one person a campaign reached.
type ReachView struct {
	PersonID string    `json:"person_id" desc:"Person id"`
	At       time.Time `json:"at" desc:"When"`
	Late     bool      `json:"late" desc:"Joined the audience after publication"`
}

// ReachList lists who a campaign reached.
type ReachList struct {
	Reached []ReachView `json:"reached" desc:"People reached"`
}

// StatementRequest creates a statement or publishes its next version.
type StatementRequest struct {
	Title               string       `json:"title" desc:"Title"`
	Body                string       `json:"body" desc:"Markdown body: the program's expectations, what is not OK"`
	Audience            AudienceBody `json:"audience" desc:"Who the statement applies to"`
	RequiresAttestation bool         `json:"requires_attestation" desc:"Everyone in the audience must attest this version"`
}

func (r StatementRequest) doc() domain.StatementDoc {
	return domain.StatementDoc{Title: r.Title, Body: r.Body, Audience: r.Audience.domain(), RequiresAttestation: r.RequiresAttestation}
}

// VersionInfo describes one version.
type VersionInfo struct {
	Version     int       `json:"version" desc:"Version number"`
	PublishedAt time.Time `json:"published_at" desc:"When"`
	PublishedBy string    `json:"published_by" desc:"Publisher's subject"`
}

// StatementView is a statement at one version.
type StatementView struct {
	ID                  string        `json:"id" desc:"Statement id"`
	CurrentVersion      int           `json:"current_version" desc:"Latest version"`
	Version             int           `json:"version" desc:"Version shown"`
	Title               string        `json:"title" desc:"Title"`
	Body                string        `json:"body" desc:"Markdown body"`
	Audience            AudienceBody  `json:"audience" desc:"Audience"`
	RequiresAttestation bool          `json:"requires_attestation" desc:"This version asks for attestation"`
	PublishedAt         time.Time     `json:"published_at" desc:"When this version was published"`
	History             []VersionInfo `json:"history,omitempty" desc:"Every version (managers)"`
}

func statementView(v app.StatementView) StatementView {
	out := StatementView{ID: v.Statement.ID(), CurrentVersion: v.Statement.Current(), Version: v.Version.Version, Title: v.Version.Doc.Title,
		Body: v.Version.Doc.Body, Audience: audienceBody(v.Version.Doc.Audience), RequiresAttestation: v.Version.Doc.RequiresAttestation,
		PublishedAt: v.Version.PublishedAt}
	for _, h := range v.History {
		out.History = append(out.History, VersionInfo{Version: h.Version, PublishedAt: h.PublishedAt, PublishedBy: h.PublishedBy})
	}
	return out
}

// StatementSummary is a statement in a list.
type StatementSummary struct {
	ID                  string `json:"id" desc:"Statement id"`
	CurrentVersion      int    `json:"current_version" desc:"Latest version"`
	Title               string `json:"title" desc:"Title of the latest version"`
	RequiresAttestation bool   `json:"requires_attestation" desc:"The latest version asks for attestation"`
}

// StatementList lists statements.
type StatementList struct {
	Statements []StatementSummary `json:"statements" desc:"Statements"`
}

// AttestRequest attests a version.
type AttestRequest struct {
	Version int `json:"version" desc:"The version read and attested (must be the current one)"`
}

// Validate implements httpapi.Validator.
func (r AttestRequest) Validate() []httpapi.FieldError {
	if r.Version < 1 {
		return []httpapi.FieldError{{Field: "version", Reason: "must be at least 1"}}
	}
	return nil
}

// AttestationView is one attestation.
type AttestationView struct {
	StatementID string    `json:"statement_id" desc:"Statement id"`
	Version     int       `json:"version" desc:"Version attested"`
	PersonID    string    `json:"person_id" desc:"Who"`
	At          time.Time `json:"at" desc:"When"`
}

func attestationView(a *domain.Attestation) AttestationView {
	return AttestationView{StatementID: a.StatementID(), Version: a.Version(), PersonID: a.PersonID(), At: a.At()}
}

// OwedView is a version the caller still has to attest.
type OwedView struct {
	StatementID string    `json:"statement_id" desc:"Statement id"`
	Version     int       `json:"version" desc:"Version owed"`
	Title       string    `json:"title" desc:"Title"`
	Since       time.Time `json:"since" desc:"When it became owed"`
}

// MyAttestations is what the caller owes and has attested.
type MyAttestations struct {
	Owed     []OwedView        `json:"owed" desc:"Versions still to attest"`
	Attested []AttestationView `json:"attested" desc:"Every attestation, all versions"`
}

// ModuleRequest creates or edits a catalog module.
type ModuleRequest struct {
	ID              string  `json:"id,omitempty" desc:"Module id (creation only; generated when absent)"`
	Title           string  `json:"title" desc:"Title"`
	Description     string  `json:"description,omitempty" desc:"Description"`
	DurationMinutes int     `json:"duration_minutes" desc:"Expected duration"`
	Credits         float64 `json:"credits" desc:"Credits earned"`
	LMSURL          string  `json:"lms_url,omitempty" desc:"Link into the LMS"`
	LMSActivityID   string  `json:"lms_activity_id,omitempty" desc:"xAPI activity id (IRI) whose completion completes the module"`
}

func (r ModuleRequest) input() domain.ModuleInput {
	return domain.ModuleInput{Title: r.Title, Description: r.Description, DurationMinutes: r.DurationMinutes, Credits: r.Credits,
		LMSURL: r.LMSURL, LMSActivityID: r.LMSActivityID}
}

// ModuleView is a catalog module.
type ModuleView struct {
	ID              string  `json:"id" desc:"Module id"`
	Title           string  `json:"title" desc:"Title"`
	Description     string  `json:"description" desc:"Description"`
	DurationMinutes int     `json:"duration_minutes" desc:"Expected duration"`
	Credits         float64 `json:"credits" desc:"Credits"`
	LMSURL          string  `json:"lms_url,omitempty" desc:"Link into the LMS"`
	LMSActivityID   string  `json:"lms_activity_id,omitempty" desc:"xAPI activity id"`
}

func moduleView(m *domain.Module) ModuleView {
	in := m.Input()
	return ModuleView{ID: m.ID(), Title: in.Title, Description: in.Description, DurationMinutes: in.DurationMinutes, Credits: in.Credits,
		LMSURL: in.LMSURL, LMSActivityID: in.LMSActivityID}
}

// ModuleList is the catalog.
type ModuleList struct {
	Modules []ModuleView `json:"modules" desc:"Modules"`
}

// FollowUpBody configures the follow-up. Durations are Go durations
// with an optional d for days: "-30d", "36h", "90s".
type FollowUpBody struct {
	ReminderOffsets []string `json:"reminder_offsets,omitempty" desc:"Reminder offsets from the due date, negative before (default -30d, -14d, -1d, 1d; offsets at or after the due date are overdue notices)"`
	DigestEvery     string   `json:"digest_every,omitempty" desc:"Supervisor digest period after the due date (default 7d)"`
	EscalateAfter   string   `json:"escalate_after,omitempty" desc:"Time overdue before the program director is told (default 14d)"`
	EscalateTo      []string `json:"escalate_to,omitempty" desc:"Program director ids; default the directory's program directors of the overdue people's departments"`
}

// AssignmentRequest assigns a module to an audience.
type AssignmentRequest struct {
	ModuleID   string       `json:"module_id" desc:"Catalog module id"`
	Audience   AudienceBody `json:"audience" desc:"Who must take it"`
	DueAt      time.Time    `json:"due_at" desc:"Due date (future)"`
	Recurrence string       `json:"recurrence,omitempty" desc:"annual for yearly recertification; empty for once"`
	JoinerDays int          `json:"joiner_days,omitempty" desc:"Days a joiner has after joining the audience mid-cycle, never due before the cohort (default 30)"`
	FollowUp   FollowUpBody `json:"follow_up,omitempty" desc:"Follow-up schedule"`
}

// ParseDuration reads a Go duration, with d for days ("-30d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	rest := strings.TrimPrefix(s, "-")
	var days time.Duration
	if i := strings.Index(rest, "d"); i > 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 16)
		if err != nil {
			return 0, err
		}
		days, rest = time.Duration(n)*24*time.Hour, rest[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, err
		}
	}
	d += days
	if neg {
		d = -d
	}
	return d, nil
}

// Validate implements httpapi.Validator.
func (r AssignmentRequest) Validate() []httpapi.FieldError {
	_, errs := r.followUp()
	return errs
}

func (r AssignmentRequest) followUp() (domain.FollowUp, []httpapi.FieldError) {
	f := domain.FollowUp{EscalateTo: r.FollowUp.EscalateTo}
	var errs []httpapi.FieldError
	parse := func(field, v string) time.Duration {
		if v == "" {
			return 0
		}
		d, err := ParseDuration(v)
		if err != nil {
			errs = append(errs, httpapi.FieldError{Field: field, Reason: "must be a duration such as -30d, 36h or 90s"})
		}
		return d
	}
	for i, o := range r.FollowUp.ReminderOffsets {
		f.ReminderOffsets = append(f.ReminderOffsets, parse(fmt.Sprintf("follow_up.reminder_offsets[%d]", i), o))
	}
	f.DigestEvery = parse("follow_up.digest_every", r.FollowUp.DigestEvery)
	f.EscalateAfter = parse("follow_up.escalate_after", r.FollowUp.EscalateAfter)
	return f, errs
}

func (r AssignmentRequest) input() domain.AssignmentInput {
	f, _ := r.followUp()
	return domain.AssignmentInput{ModuleID: r.ModuleID, Audience: r.Audience.domain(), DueAt: r.DueAt.UTC(), Recurrence: domain.Recurrence(r.Recurrence),
		JoinerDays: r.JoinerDays, FollowUp: f}
}

// AssignmentView is an assignment.
type AssignmentView struct {
	ID              string       `json:"id" desc:"Assignment id"`
	ModuleID        string       `json:"module_id" desc:"Module id"`
	Audience        AudienceBody `json:"audience" desc:"Audience"`
	Cycle           int          `json:"cycle" desc:"Current cycle"`
	CycleStart      time.Time    `json:"cycle_start" desc:"Start of the current cycle"`
	DueAt           time.Time    `json:"due_at" desc:"Due date of the current cycle"`
	Recurrence      string       `json:"recurrence,omitempty" desc:"annual or empty"`
	Status          string       `json:"status" desc:"provisioning, active or cancelled"`
	People          int          `json:"people" desc:"People assigned"`
	WorkflowStarted bool         `json:"workflow_started" desc:"The follow-up runs"`
}

func assignmentView(a *domain.Assignment) AssignmentView {
	return AssignmentView{ID: a.ID(), ModuleID: a.ModuleID(), Audience: audienceBody(a.Audience()), Cycle: a.Cycle(), CycleStart: a.CycleStart(),
		DueAt: a.DueAt(), Recurrence: string(a.Recurrence()), Status: string(a.Status()), People: a.People(), WorkflowStarted: a.WorkflowStarted()}
}

// AssignmentList lists assignments.
type AssignmentList struct {
	Assignments []AssignmentView `json:"assignments" desc:"Assignments"`
}

// ChangeView is one history entry.
type ChangeView struct {
	Cycle  int       `json:"cycle" desc:"Cycle"`
	Status string    `json:"status" desc:"Status entered"`
	At     time.Time `json:"at" desc:"When"`
	By     string    `json:"by,omitempty" desc:"Who (person id)"`
	Source string    `json:"source,omitempty" desc:"api, csv, xapi, webhook, roster, follow_up, assignment"`
}

// TrainingView is one person's training.
type TrainingView struct {
	AssignmentID string       `json:"assignment_id" desc:"Assignment id"`
	ModuleID     string       `json:"module_id" desc:"Module id"`
	PersonID     string       `json:"person_id" desc:"Person id"`
	Cycle        int          `json:"cycle" desc:"Cycle"`
	DueAt        time.Time    `json:"due_at" desc:"Due date"`
	Status       string       `json:"status" desc:"assigned, in_progress, completed, exempt, overdue or removed"`
	CompletedAt  *time.Time   `json:"completed_at,omitempty" desc:"When completed"`
	History      []ChangeView `json:"history,omitempty" desc:"Status history"`
}

func trainingView(t *domain.Training, now time.Time, history bool) TrainingView {
	v := TrainingView{AssignmentID: t.AssignmentID(), ModuleID: t.ModuleID(), PersonID: t.PersonID(), Cycle: t.Cycle(), DueAt: t.DueAt(),
		Status: string(t.Effective(now)), CompletedAt: tp(t.CompletedAt())}
	if history {
		for _, c := range t.History() {
			v.History = append(v.History, ChangeView{Cycle: c.Cycle, Status: string(c.Status), At: c.At, By: c.By, Source: c.Source})
		}
	}
	return v
}

// TrainingList lists training records.
type TrainingList struct {
	Trainings []TrainingView `json:"trainings" desc:"Training records"`
	Next      string         `json:"next,omitempty" desc:"Cursor of the next page (the after parameter); absent on the last page"`
}

// ExemptionRequest exempts a person.
type ExemptionRequest struct {
	PersonID string `json:"person_id" desc:"Person id"`
	Reason   string `json:"reason" desc:"Reason (kept encrypted, never in events)"`
}

// Validate implements httpapi.Validator.
func (r ExemptionRequest) Validate() []httpapi.FieldError {
	var errs []httpapi.FieldError
	if r.PersonID == "" {
		errs = append(errs, httpapi.FieldError{Field: "person_id", Reason: "is required"})
	}
	if r.Reason == "" {
		errs = append(errs, httpapi.FieldError{Field: "reason", Reason: "is required"})
	}
	return errs
}

// CompletionRequest is one completion.
type CompletionRequest struct {
	PersonID    string    `json:"person_id" desc:"Person id"`
	ModuleID    string    `json:"module_id" desc:"Module id"`
	CompletedAt time.Time `json:"completed_at" desc:"When the person completed it"`
	ExternalID  string    `json:"external_id,omitempty" desc:"Id at the source; duplicates with the same id are ignored"`
}

func (r CompletionRequest) input() app.CompletionInput {
	return app.CompletionInput{PersonID: r.PersonID, ModuleID: r.ModuleID, CompletedAt: r.CompletedAt, ExternalID: r.ExternalID}
}

// CompletionReceipt answers a completion.
type CompletionReceipt struct {
	Status    string `json:"status" desc:"applied or unassigned"`
	Reason    string `json:"reason,omitempty" desc:"Why nothing was applied"`
	Applied   int    `json:"applied" desc:"Training records completed"`
	Duplicate bool   `json:"duplicate" desc:"Already received; nothing changed"`
}

// WebhookRequest is the generic completion webhook.
type WebhookRequest struct {
	Completions []CompletionRequest `json:"completions" desc:"Completions (at most 1000); all or nothing"`
}

// ImportReceipt answers a CSV import or a webhook.
type ImportReceipt struct {
	Rows       int `json:"rows" desc:"Rows read"`
	Applied    int `json:"applied" desc:"Rows that completed a training"`
	Duplicates int `json:"duplicates" desc:"Rows already received"`
	Unassigned int `json:"unassigned" desc:"Valid rows for people without an open assignment of the module"`
}

// XAPIActor is an xAPI agent.
type XAPIActor struct {
	ObjectType string `json:"objectType,omitempty" desc:"Agent"`
	Name       string `json:"name,omitempty" desc:"Ignored (restricted, never stored)"`
	Mbox       string `json:"mbox,omitempty" desc:"mailto: address of the person's directory email"`
	Account    *struct {
		HomePage string `json:"homePage" desc:"LMS home page"`
		Name     string `json:"name" desc:"Directory person id"`
	} `json:"account,omitempty" desc:"Account whose name is the directory person id"`
}

// XAPIStatement is an xAPI statement (the fields read; others ignored).
type XAPIStatement struct {
	ID    string    `json:"id" desc:"Statement id (UUID); the idempotency key"`
	Actor XAPIActor `json:"actor" desc:"Who"`
	Verb  struct {
		ID string `json:"id" desc:"Verb IRI; http://adlnet.gov/expapi/verbs/completed or /passed complete a module"`
	} `json:"verb" desc:"Verb"`
	Object struct {
		ID         string `json:"id" desc:"Activity id mapped to a module by its lms_activity_id"`
		ObjectType string `json:"objectType,omitempty" desc:"Activity"`
	} `json:"object" desc:"Activity"`
	Timestamp time.Time `json:"timestamp,omitempty" desc:"When"`
	Result    *struct {
		Completion *bool `json:"completion,omitempty" desc:"Completion flag"`
		Success    *bool `json:"success,omitempty" desc:"Success flag"`
	} `json:"result,omitempty" desc:"Result"`
}

// XAPIOutcome is one statement's outcome.
type XAPIOutcome struct {
	ID        string `json:"id" desc:"Statement id"`
	Status    string `json:"status" desc:"applied, unassigned, unmatched or ignored"`
	Reason    string `json:"reason,omitempty" desc:"Why not applied"`
	Duplicate bool   `json:"duplicate" desc:"Already received"`
}

// XAPIReceipt answers the statements endpoint.
type XAPIReceipt struct {
	Statements []XAPIOutcome `json:"statements" desc:"One outcome per statement, in order"`
}

// UnmatchedView is an xAPI statement kept unmatched.
type UnmatchedView struct {
	Key        string    `json:"key" desc:"Record key (from the statement id)"`
	ActivityID string    `json:"activity_id" desc:"Activity id"`
	Reason     string    `json:"reason" desc:"Why it matched nothing"`
	ReceivedAt time.Time `json:"received_at" desc:"When"`
}

// UnmatchedList lists unmatched statements.
type UnmatchedList struct {
	Unmatched []UnmatchedView `json:"unmatched" desc:"Unmatched statements"`
}

// ReportRowView is one row of a report.
type ReportRowView struct {
	Group      string   `json:"group" desc:"Department, role or cohort"`
	Suppressed bool     `json:"suppressed" desc:"Fewer people than the minimum cell size: no numbers shown"`
	People     *int     `json:"people,omitempty" desc:"People"`
	Completed  *int     `json:"completed,omitempty" desc:"Completed (or attested)"`
	Exempt     *int     `json:"exempt,omitempty" desc:"Exempt"`
	Overdue    *int     `json:"overdue,omitempty" desc:"Overdue"`
	Rate       *float64 `json:"rate,omitempty" desc:"Completed / (people - exempt)"`
}

// ReportView is a rate report.
type ReportView struct {
	Subject     string          `json:"subject" desc:"Assignment id, or statement id@version"`
	By          string          `json:"by" desc:"department, role or cohort"`
	MinCellSize int             `json:"min_cell_size" desc:"Smallest group shown"`
	Rows        []ReportRowView `json:"rows" desc:"Groups"`
	Total       ReportRowView   `json:"total" desc:"All groups"`
}

func rowView(r app.ReportRow) ReportRowView {
	if r.Suppressed {
		return ReportRowView{Group: r.Group, Suppressed: true}
	}
	return ReportRowView{Group: r.Group, People: &r.People, Completed: &r.Completed, Exempt: &r.Exempt, Overdue: &r.Overdue, Rate: &r.Rate}
}

func reportView(r app.Report) ReportView {
	v := ReportView{Subject: r.Subject, By: r.By, MinCellSize: r.MinCellSize, Total: rowView(r.Total), Rows: []ReportRowView{}}
	for _, row := range r.Rows {
		v.Rows = append(v.Rows, rowView(row))
	}
	return v
}

// OverdueView is one overdue item of a supervisor's report.
type OverdueView struct {
	PersonID     string    `json:"person_id" desc:"Person id"`
	AssignmentID string    `json:"assignment_id" desc:"Assignment id"`
	ModuleID     string    `json:"module_id" desc:"Module id"`
	Cycle        int       `json:"cycle" desc:"Cycle"`
	DueAt        time.Time `json:"due_at" desc:"Due date"`
	DaysOverdue  int       `json:"days_overdue" desc:"Whole days past the due date"`
}

// OverdueList lists overdue items.
type OverdueList struct {
	Overdue []OverdueView `json:"overdue" desc:"Overdue items"`
	Next    string        `json:"next,omitempty" desc:"Cursor of the next page (the after parameter); absent on the last page"`
}
